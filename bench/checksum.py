"""Benchmark: the job's checksum code on a 1 GiB file, against the read limit and sha256sum.

In the same run and on the same (page-cached) file: ``cat FILE > /dev/null`` is the read limit,
``sha256sum FILE`` is what an administrator's script would use. Targets: BLAKE3 at least 0.7 of
the read limit, and never slower than sha256sum.

Run: ``.venv/bin/python bench/checksum.py [--mib N]``
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
from pathlib import Path

from backup_keeper.checksum import file_checksum


def timed(action: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cat, sha256sum = shutil.which("cat"), shutil.which("sha256sum")
    if cat is None or sha256sum is None:
        raise SystemExit("cat and sha256sum are needed for the baselines")
    with tempfile.TemporaryDirectory(prefix="bk-checksum-") as raw:
        path = Path(raw) / "volume.cbk"
        block = os.urandom(1 << 20)
        with path.open("wb") as handle:
            for _ in range(args.mib):
                handle.write(block)
        size = path.stat().st_size

        def read_limit() -> None:
            with Path(os.devnull).open("wb") as sink:
                subprocess.run([cat, str(path)], stdout=sink, check=True)

        def sha_tool() -> None:
            subprocess.run([sha256sum, str(path)], stdout=subprocess.DEVNULL, check=True)

        read_limit()  # warm the page cache for everyone
        t_cat = timed(read_limit, args.repeats)
        t_sha = timed(sha_tool, args.repeats)
        t_b3 = timed(lambda: file_checksum(path, "blake3"), args.repeats)
        t_py_sha = timed(lambda: file_checksum(path, "sha256"), args.repeats)
        mib = size / (1 << 20)
        print(f"file: {mib:.0f} MiB, {os.cpu_count()} cores")
        for label, seconds in (
            ("cat > /dev/null (read limit)", t_cat),
            ("sha256sum", t_sha),
            ("backup-keeper blake3", t_b3),
            ("backup-keeper sha256", t_py_sha),
        ):
            print(f"{label:32s}: {seconds * 1000:8.1f} ms  {mib / seconds:8.0f} MiB/s")
        print(f"blake3 / read limit (target >= 0.7)  : {t_cat / t_b3:6.2f}")
        print(f"blake3 / sha256sum  (target >= 1.0)  : {t_sha / t_b3:6.2f}")


if __name__ == "__main__":
    main()
