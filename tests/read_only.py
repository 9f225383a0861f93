"""A directory this process cannot write in, for real: mode 0555 for an ordinary user, the
immutable attribute for root (whom modes do not stop)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """``directory`` made unwritable for the block; skips the test where that cannot be done."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield directory
        finally:
            directory.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: no way to make a directory unwritable")
    done = subprocess.run([chattr, "+i", str(directory)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"running as root and chattr +i is refused here: {done.stderr!r}")
    try:
        yield directory
    finally:
        subprocess.run([chattr, "-i", str(directory)], check=True)
