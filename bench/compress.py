"""Benchmark: the job's zstd compression against the zstd command-line tool, same level and
threads, same run, on a synthetic database-like file (8 KiB blocks: half repetitive records,
a quarter zeroed free blocks, a quarter random). Prints the throughput ratio (target >= 0.9)
and the compression ratio.

Run: ``.venv/bin/python bench/compress.py [--mib N] [--level L]``
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from backup_keeper.compression import compress_file

BLOCK = 8192


def database_like(path: Path, mib: int) -> None:
    rng = random.Random(42)
    records = [
        f'^Patient({i})=$lb("Name{i}","{1940 + i % 80}-01-01","Ward {i % 40}")'.encode()
        for i in range(500)
    ]
    with path.open("wb") as out:
        for n in range(mib * 1024 * 1024 // BLOCK):
            kind = n % 4
            if kind in (0, 1):
                block = b"".join(rng.choice(records) for _ in range(120))[:BLOCK].ljust(
                    BLOCK, b"\0"
                )
            elif kind == 2:
                block = b"\0" * BLOCK
            else:
                block = os.urandom(BLOCK)
            out.write(block)


def timed(action: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    zstd = shutil.which("zstd")
    if zstd is None:
        raise SystemExit("the zstd command-line tool is needed for the baseline")
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bk-compress-") as raw:
        root = Path(raw)
        source = root / "volume.cbk"
        database_like(source, args.mib)
        ours, theirs = root / "ours.zst", root / "theirs.zst"

        def with_tool() -> None:
            theirs.unlink(missing_ok=True)
            subprocess.run(
                [zstd, f"-{args.level}", f"-T{threads}", "-q", "-o", str(theirs), str(source)],
                check=True,
            )

        def with_job() -> None:
            ours.unlink(missing_ok=True)
            compress_file(source, ours, level=args.level, threads=threads)

        with_tool()  # warm the page cache for both
        t_tool = timed(with_tool, args.repeats)
        t_job = timed(with_job, args.repeats)
        size = source.stat().st_size
        print(f"file: {args.mib} MiB database-like, level {args.level}, {threads} threads")
        for label, seconds, out in (
            ("zstd command line", t_tool, theirs),
            ("backup-keeper", t_job, ours),
        ):
            speed = size / seconds / 2**20
            ratio = size / out.stat().st_size
            print(f"{label:22s} : {seconds * 1000:8.1f} ms  {speed:7.0f} MiB/s  ratio {ratio:5.2f}")
        print(f"throughput ratio (target >= 0.9): {t_tool / t_job:5.2f}")


if __name__ == "__main__":
    main()
