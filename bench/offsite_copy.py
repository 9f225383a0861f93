"""Benchmark: copying a 1 GiB backup to a local S3 server, against obstore's own plain upload.

In the same run, against the same moto server on loopback and the same (page-cached) file:
``obstore.put`` of the file with the same part size and concurrency is the baseline (the
library's own upload, no hashing, no checks); ours is ``upload_backup``: the file streamed and
hashed in one pass, checked against its sidecar, stored multipart with S3 proving each part,
then its log and its sidecar. A second line adds age encryption to one recipient. Target: ours
at least 0.8x the baseline's throughput. Each run is a child process, so the peak memory
(``ru_maxrss``) printed is that upload's alone.

Not ``bench/copy.py``, as issue 16 called it: a script in ``bench/`` puts that directory first on
the import path, where a ``copy.py`` would stand in for the standard library's ``copy`` in every
benchmark there.

Run: ``.venv/bin/python bench/offsite_copy.py [--mib N] [--repeats N]``
"""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # the test servers live in tests/servers

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from tests.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, start_s3_server  # noqa: E402

from backup_keeper.catalog.manifest import Manifest, write_manifest  # noqa: E402
from backup_keeper.catalog.record import BackupStatus  # noqa: E402
from backup_keeper.checksum import file_checksum  # noqa: E402
from backup_keeper.kinds import BackupKind  # noqa: E402

BUCKET = "bench"
NAME = "keeper_full_20261122T020000Z.cbk"
PART = 32 << 20
CONCURRENCY = 4
VARIANTS = ("plain-put", "ours", "ours-encrypted")


def make_backup(directory: Path, mib: int) -> Path:
    """A backup of ``mib`` MiB of incompressible bytes, with its log and sidecar."""
    backup = directory / NAME
    block = os.urandom(16 << 20)
    with backup.open("wb") as handle:
        for _ in range(max(1, mib // 16)):
            handle.write(block)
    (directory / "keeper_full_20261122T020000Z.log").write_text("***FINISHED BACKUP***\n")
    manifest = Manifest(
        file=NAME,
        kind=BackupKind.FULL,
        status=BackupStatus.COMPLETED,
        started=datetime(2026, 11, 22, 2, tzinfo=UTC),
        size=backup.stat().st_size,
        checksum=file_checksum(backup),
        tool_version="bench",
    )
    write_manifest(backup, manifest)
    return backup


def child(variant: str, endpoint: str, backup: Path) -> None:
    """One upload in this process into an empty prefix (an object already there would be
    proved and skipped, not sent), then its objects removed; prints seconds and peak RSS."""
    run = plain_put if variant == "plain-put" else our_copy
    elapsed = run(variant, endpoint, backup)
    print(json.dumps({"seconds": elapsed, "peak": high_water_mark()}))


def plain_put(variant: str, endpoint: str, backup: Path) -> float:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET,
        prefix=f"{variant}/IRIS",
        config={"endpoint": endpoint, "virtual_hosted_style_request": False},
        client_options={"allow_http": True},
    )
    start = time.perf_counter()
    with backup.open("rb") as handle:
        obstore.put(store, NAME, handle, chunk_size=PART, max_concurrency=CONCURRENCY)
    elapsed = time.perf_counter() - start
    obstore.delete(store, NAME)
    return elapsed


def our_copy(variant: str, endpoint: str, backup: Path) -> float:
    from backup_keeper.destination_settings import DestinationSettings
    from backup_keeper.destinations.open import open_store
    from backup_keeper.encryption import Recipient, parse_recipients
    from backup_keeper.offsite.upload import upload_backup

    settings = DestinationSettings(
        url=f"s3://{BUCKET}/{variant}",
        endpoint=endpoint,
        path_style=True,
        allow_http=True,
        part_size=PART,
        concurrency=CONCURRENCY,
    )
    recipients: tuple[Recipient, ...] = ()
    if variant == "ours-encrypted":
        import pyrage

        recipients = parse_recipients([str(pyrage.x25519.Identity.generate().to_public())])
    store = open_store(settings, instance="IRIS")
    start = time.perf_counter()
    upload_backup(backup, store, recipients=recipients)
    elapsed = time.perf_counter() - start
    for stored in list(store.list()):
        store.delete(stored.name)
    store.close()
    return elapsed


def high_water_mark() -> int:
    """This process's peak resident set (VmHWM), in bytes. Not ``ru_maxrss``: that keeps the
    peak of the process before ``exec``, here the parent's, which had the 1 GiB file mapped
    to hash it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc/self/status")


def run_child(variant: str, endpoint: str, backup: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--endpoint", endpoint, str(backup)],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        },
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS)
    parser.add_argument("--endpoint")
    parser.add_argument("backup", nargs="?", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.backup)
        return
    server = start_s3_server()
    try:
        server.create_bucket(BUCKET)
        with tempfile.TemporaryDirectory(prefix="bk-copy-") as raw:
            backup = make_backup(Path(raw), args.mib)
            size = backup.stat().st_size
            print(f"copying {size / (1 << 20):,.0f} MiB to moto's S3 server on {server.endpoint}")
            samples: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
            for _ in range(args.repeats):  # in turns, so a noisy neighbour hits all alike
                for variant in VARIANTS:
                    samples[variant].append(run_child(variant, server.endpoint, backup))
        report(samples, size)
    finally:
        server.stop()


def report(samples: dict[str, list[dict[str, float]]], size: int) -> None:
    rates = {
        v: size / statistics.median(s["seconds"] for s in runs) / (1 << 20)
        for v, runs in samples.items()
    }
    for variant, runs in samples.items():
        peak = max(s["peak"] for s in runs) / (1 << 20)
        print(f"{variant:<16}: {rates[variant]:8.1f} MiB/s, peak RSS {peak:7.1f} MiB")
    base = rates["plain-put"]
    print(f"ours / plain put (target >= 0.8)           : {rates['ours'] / base:6.2f}x")
    print(f"ours encrypted / plain put (information)   : {rates['ours-encrypted'] / base:6.2f}x")


if __name__ == "__main__":
    main()
