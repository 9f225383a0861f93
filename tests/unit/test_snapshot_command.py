"""The snapshot command with real subprocesses: the timeout is a bound whatever the command
leaves behind, and its output costs a bounded tail of memory however much it prints."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_keeper.snapshot_command import TAIL_BYTES, CommandResult, run_snapshot_command
from tests.hang_guard import fails_if_blocked

MARGIN = 3.0
"""Seconds over the timeout a run may take: reaping, a loaded 2-core machine."""


@pytest.fixture
def pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where a command records the grandchild it leaves; the grandchild is killed afterwards."""
    path = tmp_path / "grandchild.pid"
    yield path
    if path.exists() and path.read_text().strip():
        pid = int(path.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def grandchild(pid_file: Path, *, own_session: bool) -> str:
    """Python code for a grandchild that keeps the inherited stdout and stderr open for 60 s,
    in the command's process group or in a session of its own (out of reach of killpg)."""
    setsid = "os.setsid(); " if own_session else ""
    return (
        f"import os, time; {setsid}open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "time.sleep(60)"
    )


def spawn_then(pid_file: Path, *, own_session: bool, then: str) -> list[str]:
    """A command that starts the grandchild in the background, waits until it runs, then
    runs ``then`` (shell)."""
    code = grandchild(pid_file, own_session=own_session)
    return [
        "sh",
        "-c",
        f'{sys.executable} -c "{code}" & while [ ! -s {pid_file} ]; do sleep 0.05; done; {then}',
    ]


def run(command: list[str], timeout: float) -> tuple[float, CommandResult]:
    start = time.monotonic()
    with fails_if_blocked(int(timeout + MARGIN + 20)):
        result = run_snapshot_command(command, shell=False, timeout=timeout, env={})
    return time.monotonic() - start, result


@pytest.mark.parametrize("own_session", [False, True])
def test_a_hanging_command_whose_grandchild_holds_its_output_is_bounded_by_the_timeout(
    pid_file: Path, own_session: bool
) -> None:
    command = spawn_then(pid_file, own_session=own_session, then="echo snap-1; sleep 60")
    elapsed, result = run(command, timeout=2)
    assert elapsed < 2 + MARGIN
    assert result.returncode is None
    assert result.snapshot_id is None
    assert "snap-1" in result.stdout_tail


@pytest.mark.parametrize("own_session", [False, True])
def test_a_command_that_ends_leaving_a_grandchild_holding_its_output_is_not_waited_for(
    pid_file: Path, own_session: bool
) -> None:
    command = spawn_then(pid_file, own_session=own_session, then="echo snap-2")
    elapsed, result = run(command, timeout=20)
    assert elapsed < MARGIN
    assert result.returncode == 0
    assert result.snapshot_id == "snap-2"
    assert any("left behind" in note for note in result.notes)


def test_the_grandchild_in_the_commands_group_is_killed_on_timeout(pid_file: Path) -> None:
    command = spawn_then(pid_file, own_session=False, then="sleep 60")
    run(command, timeout=1)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().lower()
    except FileNotFoundError:
        return False


WRITER = """
import sys
block = b"y" * 1023 + b"\\n"
chunk = block * 1024
for _ in range({megabytes}):
    sys.stdout.buffer.write(chunk)
    sys.stderr.buffer.write(block)
sys.stdout.buffer.write(b"snap-big\\n")
"""

READER = """
import json, resource, sys
from backup_keeper.snapshot_command import run_snapshot_command
result = run_snapshot_command(
    [sys.executable, "-c", sys.argv[1]], shell=False, timeout=120, env={}
)
print(json.dumps({
    "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "kept": sum(len(line) for line in result.stdout_tail + result.stderr_tail),
    "snapshot_id": result.snapshot_id,
    "returncode": result.returncode,
}))
"""


def test_hundreds_of_megabytes_of_output_keep_memory_bounded_and_the_id_is_the_last_line() -> None:
    """300 MiB on stdout and 300 KiB on stderr: the reading process stays near its size at
    rest (held whole, the output would cost more than 300 MiB)."""
    baseline = subprocess.run(
        [sys.executable, "-c", READER, "print('snap-small')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    big = subprocess.run(
        [sys.executable, "-c", READER, WRITER.format(megabytes=300)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rest, loaded = json.loads(baseline.stdout), json.loads(big.stdout)
    assert loaded["returncode"] == 0
    assert loaded["snapshot_id"] == "snap-big"
    assert loaded["kept"] <= 2 * TAIL_BYTES
    assert loaded["peak_kib"] - rest["peak_kib"] < 16 * 1024, (rest, loaded)
