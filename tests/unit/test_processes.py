"""Telling a live owner from a dead one by pid."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backup_keeper.processes import alive


def test_this_process_is_alive() -> None:
    assert alive(os.getpid())


def test_a_process_that_has_exited_is_not() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert not alive(int(child.stdout))


@pytest.mark.parametrize("pid", [0, -1, 2**62])
def test_nonsense_pids_read_from_disk_are_not_alive(pid: int) -> None:
    assert not alive(pid)
