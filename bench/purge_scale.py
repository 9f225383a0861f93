"""Benchmark: catalog + plan + dry-run purge of 100,000 backup files, against ``find``.

Half the files have sidecar manifests, half are IRIS-named with their ``.log`` (as IRIS's own
tasks leave them), all in one directory. The baseline, measured in the same run on the same
directory, is ``find DIR -name '*.cbk' -mtime +7``: the one-liner most sites purge with today.
Target: at most 3x the baseline. Second part: planning 1,000,000 in-memory records, target
under 2 s on the project's machine size (2 cores).

Run: ``.venv/bin/python bench/purge_scale.py [--files N] [--records N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import BackupKind, BackupRecord, BackupStatus, RecordSource
from backup_keeper.clock import fixed_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.iris.backup_log import FINISHED_MARKER
from backup_keeper.jobs import run_purge
from backup_keeper.retention.plan import plan
from backup_keeper.settings import PurgeSettings, RetentionPolicy

NOW = datetime(2026, 11, 22, tzinfo=UTC)
PER_DAY = 20


def populate(directory: Path, count: int) -> None:
    """``count`` backups: a full and 19 incrementals a day, going back in time."""
    half = count // 2
    for i in range(half):  # IRIS-named with a log
        day, slot = divmod(i, PER_DAY)
        stamp = (NOW - timedelta(days=day + 1)).strftime("%Y%m%d")
        task = "FullDBList" if slot == 0 else "IncrementalDBList"
        cbk = directory / f"{task}_{stamp}_{slot + 1:03d}.cbk"
        cbk.write_bytes(b"x")
        cbk.with_suffix(".log").write_text(f"{FINISHED_MARKER}\n")
        mtime = (NOW - timedelta(days=day + 1)).timestamp()
        os.utime(cbk, (mtime, mtime))
    for i in range(count - half):  # written by this tool, with a sidecar
        started = NOW - timedelta(minutes=72 * (i + 1))
        name = (
            f"keeper_{'full' if i % PER_DAY == 0 else 'incremental'}_{started:%Y%m%dT%H%M%SZ}.cbk"
        )
        cbk = directory / name
        cbk.write_bytes(b"x")
        manifest = Manifest(
            file=name,
            kind=BackupKind.FULL if i % PER_DAY == 0 else BackupKind.INCREMENTAL,
            status=BackupStatus.COMPLETED,
            started=started,
            size=1,
            instance="IRIS",
            tool_version="0.1.0",
        )
        (directory / (name + ".json")).write_text(manifest.model_dump_json())
        os.utime(cbk, (started.timestamp(), started.timestamp()))


def timed(action: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_directory(files: int, repeats: int) -> None:
    find = shutil.which("find")
    if find is None:
        raise SystemExit("find(1) is needed for the baseline")
    with tempfile.TemporaryDirectory(prefix="bk-bench-") as raw:
        directory = Path(raw)
        print(
            f"creating {files:,} backup files (half with sidecars) in {directory} ...", flush=True
        )
        populate(directory, files)
        settings = PurgeSettings.model_validate(
            {
                "directories": [directory],
                "timezone": "UTC",
                "dry_run": True,
                "retention": {"keep_last": 7, "keep_daily": 14, "keep_monthly": 6},
            }
        )

        def ours() -> None:
            report = run_purge(settings, clock=fixed_clock(NOW))
            assert report.status == "ok" and report.delete, report.errors

        def baseline() -> None:
            subprocess.run(
                [find, str(directory), "-name", "*.cbk", "-mtime", "+7"],
                check=True,
                stdout=subprocess.DEVNULL,
            )

        baseline()
        ours()  # warm the page cache and imports for both
        base = timed(baseline, repeats)
        mine = timed(ours, repeats)
        print(f"find -name '*.cbk' -mtime +7      : {base * 1000:8.1f} ms")
        print(f"catalog + plan + dry-run purge     : {mine * 1000:8.1f} ms")
        print(f"ratio (target <= 3.0)              : {mine / base:8.2f}x")


def bench_planning(count: int) -> None:
    start = NOW - timedelta(hours=count)
    records = [
        BackupRecord(
            path=f"/backups/b{i:07d}.cbk",
            kind=BackupKind.FULL if i % 24 == 0 else BackupKind.INCREMENTAL,
            status=BackupStatus.COMPLETED if i % 97 else BackupStatus.FAILED,
            source=RecordSource.SIDECAR,
            time=start + timedelta(hours=i),
            size=1,
            mtime_ns=i,
        )
        for i in range(count)
    ]
    policy = RetentionPolicy(
        keep_last=7, keep_within=timedelta(days=14), keep_daily=30, keep_monthly=12
    )
    with gc_paused():  # as run_purge does around catalog and plan
        t0 = time.perf_counter()
        linked = link_chains(records)
        t1 = time.perf_counter()
        result = plan(linked, policy, NOW, ZoneInfo("UTC"))
        t2 = time.perf_counter()
    print(f"link chains, {count:,} records       : {(t1 - t0) * 1000:8.1f} ms")
    print(f"plan, {count:,} records              : {(t2 - t1) * 1000:8.1f} ms (target < 2000 ms)")
    print(f"  kept {len(result.keep):,}, deleted {len(result.delete):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bench_directory(args.files, args.repeats)
    bench_planning(args.records)


if __name__ == "__main__":
    main()
