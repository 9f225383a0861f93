#!/usr/bin/env python3
"""The one test command: ``python3 tools/check.py``.

On a fresh machine with only Python 3 it creates ``.venv`` beside this repository, installs the
package with its development tools, then runs ruff, mypy (strict) and the whole pytest suite with
its branch-coverage gate. CI runs exactly this. Extra arguments go to pytest
(``python3 tools/check.py -k purge``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("BACKUP_KEEPER_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*argv: str | Path) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    completed = subprocess.run([str(a) for a in argv], cwd=ROOT, check=False)
    if completed.returncode != 0:
        print(f"check failed: {argv[0]} exited {completed.returncode}", file=sys.stderr)
        sys.exit(completed.returncode)


def main(pytest_args: list[str]) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - runs on whatever python3 a machine has
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"+ creating virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    python = BIN / "python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    run(python, "-m", "ruff", "check", ".")
    run(python, "-m", "ruff", "format", "--check", ".")
    run(python, "-m", "mypy")
    run(python, "-m", "pytest", "--cov", "--cov-report=term", *pytest_args)


if __name__ == "__main__":
    main(sys.argv[1:])
