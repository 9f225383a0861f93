"""Telling a live owner from a dead one by pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backup_keeper.processes import alive
from tests.builders import NEVER_ALIVE_PID


def test_this_process_is_alive() -> None:
    assert alive(os.getpid())


def test_a_pid_no_process_can_have_is_not_alive() -> None:
    """Not a reaped child's pid: the kernel may give it to the next process started."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    assert pid_max <= NEVER_ALIVE_PID
    assert not alive(NEVER_ALIVE_PID)


@pytest.mark.parametrize("pid", [0, -1, 2**62])
def test_nonsense_pids_read_from_disk_are_not_alive(pid: int) -> None:
    assert not alive(pid)
