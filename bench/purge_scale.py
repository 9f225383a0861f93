"""Benchmark: catalog + plan + dry-run purge of 100,000 backup files, against ``find``.

Half the files have sidecar manifests, half are IRIS-named with their ``.log`` (as IRIS's own
tasks leave them), all in one directory. The baseline, measured in the same run on the same
directory, is ``find DIR -name '*.cbk' -mtime +7``: the one-liner most sites purge with today.
The ratio to it is printed as information; the target is at most 2x the floor the benchmark
also measures (the reading no purge can skip). Second part: linking and planning 1,000,000
in-memory records, target under 1 s on the project's machine size (2 cores).

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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.manifest import MAX_MANIFEST_BYTES, Manifest, parse_manifest
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource
from backup_keeper.clock import fixed_clock
from backup_keeper.gc_pause import gc_paused
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER
from backup_keeper.jobs import run_purge
from backup_keeper.kinds import BackupKind
from backup_keeper.retention.plan import plan
from backup_keeper.settings import PurgeSettings, RetentionPolicy
from backup_keeper.small_files import read_small, read_tail

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


def timed(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each action, run in turns so a noisy neighbour hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def list_and_stat(directory: str) -> None:
    """What find does: one pass over the names, one lstat per .cbk."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(".cbk"):
                entry.stat(follow_symlinks=False)


def list_and_stat_all(directory: str) -> None:
    """What a catalog cache would still have to do to know its entries are current."""
    with os.scandir(directory) as entries:
        for entry in entries:
            entry.stat(follow_symlinks=False)


def read_companions(directory: str, names: list[str]) -> list[tuple[str, bytes]]:
    """Every sidecar and log read once, as the catalog must: the I/O no planning can avoid."""
    read: list[tuple[str, bytes]] = []
    for name in names:
        if name.endswith(".cbk.json"):
            read.append((name, read_small(f"{directory}/{name}", limit=MAX_MANIFEST_BYTES)))
        elif name.endswith(".log"):
            read_tail(f"{directory}/{name}", size=64 * 1024)
    return read


def validate_sidecars(sidecars: list[tuple[str, bytes]]) -> None:
    for name, raw in sidecars:
        parse_manifest(raw, expected_file=name.removesuffix(".json"))


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

        names = [entry.name for entry in os.scandir(directory)]
        sidecars = read_companions(str(directory), names)
        with gc_paused():
            times = timed(
                {
                    "find": baseline,
                    "ours": ours,
                    "list": lambda: list_and_stat(str(directory)),
                    "stat_all": lambda: list_and_stat_all(str(directory)),
                    "read": lambda: read_companions(str(directory), names),
                    "validate": lambda: validate_sidecars(sidecars),
                },
                repeats + 1,  # the first turn warms the page cache and imports for all
            )
        base = times["find"]
        floor = times["list"] + times["read"] + times["validate"]
        print(f"find -name '*.cbk' -mtime +7      : {base * 1000:8.1f} ms")
        print(f"catalog + plan + dry-run purge     : {times['ours'] * 1000:8.1f} ms")
        print(f"ratio to find (information)        : {times['ours'] / base:8.2f}x")
        print("floor: the reading no purge can skip, without any planning or report:")
        for key, label in (
            ("list", "list names, lstat each .cbk"),
            ("read", "read each sidecar and IRIS log"),
            ("validate", "validate each sidecar (pydantic)"),
        ):
            print(f"  {label:<33}: {times[key] * 1000:8.1f} ms ({times[key] / base:4.2f}x)")
        print(f"  {'floor total':<33}: {floor * 1000:8.1f} ms ({floor / base:4.2f}x)")
        print(f"ours / floor (target <= 2.0)       : {times['ours'] / floor:8.2f}x")
        cached = times["stat_all"]
        print(
            f"  {'with a stat-checked cache instead':<33}: {cached * 1000:8.1f} ms "
            f"({cached / base:4.2f}x): list, lstat every file"
        )


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
        result = plan(linked, policy, NOW, ZoneInfo("UTC"), ordered=True)
        t2 = time.perf_counter()
    print(f"link chains, {count:,} records       : {(t1 - t0) * 1000:8.1f} ms")
    print(f"plan, {count:,} records              : {(t2 - t1) * 1000:8.1f} ms")
    print(f"link + plan (target < 1000 ms)       : {(t2 - t0) * 1000:8.1f} ms")
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
