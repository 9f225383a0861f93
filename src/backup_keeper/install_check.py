"""What BackupKeeper.Installer asks Python before it touches the instance.

IPM installs requirements.txt with ``pip install -t <mgr>/python`` and, unless told
``-extra-pip-flags "--upgrade"``, pip leaves every file already in that directory in place
(docs/install.md): an older ``typing_extensions`` that IPM or another module put there shadows the
one pydantic needs, and the first ``import pydantic`` inside a task fails at 02:00. The installer
therefore imports every runtime dependency first and refuses to install with a message naming the
stale module and where it was loaded from.

This module imports the standard library only: it must load even when every dependency is broken.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

MIN_PYTHON = (3, 11)
"""pyproject's requires-python and module.xml's PythonVersion agree (a test keeps them so)."""

RUNTIME_IMPORTS: Mapping[str, str] = {
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "typer": "typer",
    "rich": "rich",
    "blake3": "blake3",
    "iris": "iris-embedded-python-wrapper",
    "apprise": "apprise",
    "iop": "iris-pex-embedded-python",
    "zstandard": "zstandard",
    "obstore": "obstore",
    "asyncssh": "asyncssh",
    "pyrage": "pyrage",
}
"""Top-level import name -> the requirements.txt distribution that provides it (pydantic pins its
pydantic-core exactly). A test diffs this against requirements.txt, pyproject and the imports of
src/backup_keeper."""

DIRECTORY_VARIABLE = "BACKUP_KEEPER_BACKUP_DIR"
"""How the installer hands the BackupDir install parameter to the production definition, which
IoP imports by file name and cannot pass arguments to."""

_DEFINITION = Path(__file__).with_name("production_definition") / "backup_keeper_production.py"

FIX_HINT = (
    'reinstall with pip\'s --upgrade: zpm "load <module dir> -extra-pip-flags ""--upgrade""" or '
    'zpm "install iris-backup-keeper -extra-pip-flags ""--upgrade""" (docs/install.md)'
)


def problems(
    imports: Mapping[str, str] = RUNTIME_IMPORTS,
    version: tuple[int, ...] = sys.version_info[:3],
) -> str:
    """Empty when the instance's Python can run backup-keeper; else one message, for a %Status."""
    found = [_python_problem(version), *(_import_problem(name) for name in imports)]
    return "\n".join(problem for problem in found if problem)


def production_definition(directory: str) -> str:
    """The production definition file for ``iop.migration.utils.migrate``, with ``directory``
    (the BackupDir install parameter) set for its enabled operations.

    The file sits alone in its directory because IoP puts that directory first on sys.path while it
    migrates: next to backup_keeper's own modules it would expose ``iris``, ``settings``, ...
    as top-level names.
    """
    os.environ[DIRECTORY_VARIABLE] = directory
    return str(_DEFINITION)


def _python_problem(version: tuple[int, ...]) -> str:
    if version[:2] >= MIN_PYTHON:
        return ""
    wanted = ".".join(map(str, MIN_PYTHON))
    running = ".".join(map(str, version[:3]))
    return (
        f"backup-keeper needs Python >= {wanted}; this instance's embedded Python is {running}. "
        "Use an IRIS whose Python is 3.11 or newer (or configure the Flexible Python Runtime)."
    )


def _import_problem(name: str) -> str:
    try:
        importlib.import_module(name)
    except ImportError as error:
        return _describe(name, error)
    except Exception as error:  # noqa: BLE001 - a stale module breaks an import in any way
        return f"import {name} failed: {type(error).__name__}: {error}. To fix: {FIX_HINT}."
    return ""


def _describe(name: str, error: ImportError) -> str:
    culprit = error.name or name
    where = error.path or _loaded_from(culprit)
    stale = "" if culprit == name else f" {culprit} is older than {name} needs."
    source = f" ({culprit} loaded from {where})" if where else ""
    return f"import {name} failed: {error}{source}.{stale} To fix: {FIX_HINT}."


def _loaded_from(module: str) -> str:
    loaded = sys.modules.get(module)
    return str(getattr(loaded, "__file__", "") or "")
