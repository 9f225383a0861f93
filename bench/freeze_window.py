"""Benchmark: how much the external backup job adds to the freeze window.

The job's measured freeze window (ExternalFreeze returned -> ExternalThaw returned) with ``true``
as the snapshot command on FakeIris, against running ``true`` alone, in the same run. The
difference is what the tool itself keeps the instance frozen for. Target: median under 20 ms.

Run: ``.venv/bin/python bench/freeze_window.py [--runs N]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_external_backup
from backup_keeper.settings import ExternalBackupSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    true = shutil.which("true")
    if true is None:
        raise SystemExit("true(1) is needed")
    with tempfile.TemporaryDirectory(prefix="bk-freeze-") as raw:
        root = Path(raw)
        fake = FakeIris(root / "iris")
        settings = ExternalBackupSettings(directory=root, command=[true])
        alone, windows = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([true], check=True)
            alone.append((time.perf_counter() - start) * 1000)
            report = run_external_backup(settings, iris=fake)
            assert report.status == "ok" and report.backup is not None, report.errors
            assert report.backup.freeze_window_ms is not None
            windows.append(report.backup.freeze_window_ms)
        base, window = statistics.median(alone), statistics.median(windows)
        print(f"runs: {args.runs}")
        print(f"`true` alone, median             : {base:7.2f} ms")
        print(f"job freeze window, median        : {window:7.2f} ms")
        print(f"overhead (target < 20 ms)        : {window - base:7.2f} ms")


if __name__ == "__main__":
    main()
