"""Benchmark: start-up of the command line, against the interpreter doing nothing.

Three commands, each a whole process, run in turns (A B C A B C ...) so that a noisy neighbour
hits all alike: ``backup-keeper --help``, ``backup-keeper catalog DIR`` on a small directory
(three backups) and ``python -c pass`` with the same interpreter. Prints each one's median
wall-clock seconds and its ratio to ``python -c pass``, measured in the same run.
Target: both commands under 0.3 s median on the project's machine size (2 cores).

The package's bytecode is compiled first, as pip leaves an installed package: with
``PYTHONDONTWRITEBYTECODE`` set (it is on some machines, this project's among them) an editable
install would otherwise compile every module changed since its last ``.pyc`` from source on
every run, and the benchmark would time the compiler.

Run: ``.venv/bin/python bench/startup.py [--runs N]``
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import backup_keeper
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER

TARGET = 0.3


def small_directory(directory: Path) -> None:
    """Three IRIS-named backups with their logs: a full and two incrementals."""
    for day, task in ((1, "FullDBList"), (2, "IncrementalDBList"), (3, "IncrementalDBList")):
        cbk = directory / f"{task}_202611{day:02d}_{day:03d}.cbk"
        cbk.write_bytes(b"x")
        cbk.with_suffix(".log").write_text(f"{FINISHED_MARKER}\n")


def command_line() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m``: the same code
    either way, the script being what a person types."""
    script = Path(sys.executable).with_name("backup-keeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backup_keeper"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def medians(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median seconds of each command after one warm-up round, run in turns."""
    for command in commands.values():
        wall(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(wall(command))
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds counted (default 15)")
    args = parser.parse_args()
    compileall.compile_dir(Path(backup_keeper.__file__).parent, quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bk-startup-"))
    try:
        small_directory(work)
        cli = command_line()
        commands = {
            "backup-keeper --help": [*cli, "--help"],
            "backup-keeper catalog (3 backups)": [*cli, "catalog", str(work)],
            "python3 -c pass": [sys.executable, "-c", "pass"],
        }
        found = medians(commands, args.runs)
    finally:
        shutil.rmtree(work)
    floor = found["python3 -c pass"]
    print(f"start-up, median of {args.runs} alternating runs (target < {TARGET} s):")
    for name, seconds in found.items():
        verdict = (
            ""
            if name.startswith("python3")
            else ("  ok" if seconds < TARGET else f"  over by {seconds - TARGET:.3f} s")
        )
        print(f"  {name:<36} {seconds:6.3f} s  {seconds / floor:5.1f}x python -c pass{verdict}")


if __name__ == "__main__":
    main()
