"""Running the site's snapshot command while the instance is frozen.

An argument list, no shell unless asked; its own process group, so that on timeout the whole
tree (a script and what it started) is killed, not just the parent. The timeout is a bound on
the freeze, whatever the command does: its output is read as it comes, against the deadline, so
a process it leaves behind holding stdout open (``sleep 30 &``, or one that ``setsid``\\ s out of
reach of the group kill) never keeps the instance frozen. Only the last ``TAIL_BYTES`` of each
stream are kept, so a command that prints gigabytes costs no more memory than one that prints a
line; the last non-empty stdout line is taken as the snapshot id.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

TAIL_LINES = 20
TAIL_BYTES = 64 * 1024
"""Kept of each stream: the report's lines and the snapshot id come from this tail."""
READ_SIZE = 64 * 1024
DRAIN_SECONDS = 0.5
"""After the command exits, how long output still in flight is read: a process it left behind
may hold the pipes open for ever, and the instance must be thawed now."""
REAP_SECONDS = 2.0
"""How long a killed command is waited for (one stuck in the kernel may not die at once)."""
POLL_SECONDS = 0.1
"""How often the reader looks whether the command has exited while its pipes stay open."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int | None
    """None when the command was killed for running past its timeout."""
    stdout_tail: tuple[str, ...]
    stderr_tail: tuple[str, ...]
    snapshot_id: str | None
    notes: tuple[str, ...] = field(default=())
    """What the job should warn about: processes left behind, a command that would not die."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class _Tail:
    """The last ``TAIL_BYTES`` of one stream."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.cut = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        excess = len(self.data) - TAIL_BYTES
        if excess > 0:
            del self.data[:excess]
            self.cut = True

    def lines(self) -> list[str]:
        lines = self.data.decode(errors="replace").splitlines()
        if self.cut and len(lines) > 1:
            lines = lines[1:]  # the first line lost its beginning
        return lines


def run_snapshot_command(
    command: Sequence[str], *, shell: bool, timeout: float, env: Mapping[str, str]
) -> CommandResult:
    """Run ``command`` with ``env`` added to this process's environment; back within about
    ``timeout`` seconds whatever it does."""
    argv = ["/bin/sh", "-c", " ".join(command)] if shell else list(command)
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            start_new_session=True,
        )
    except OSError as exc:
        return CommandResult(127, (), (f"cannot start {argv[0]}: {exc.strerror}",), None)
    try:
        return _supervise(process, time.monotonic() + timeout)
    except BaseException:
        _kill_group(process)  # interrupted (Ctrl-C, a signal): the command must not outlive us
        raise
    finally:
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def _supervise(process: subprocess.Popen[bytes], deadline: float) -> CommandResult:
    out, err = _Tail(), _Tail()
    notes: list[str] = []
    finished = _read_until(process, deadline, {_fd(process.stdout): out, _fd(process.stderr): err})
    code: int | None = process.poll()
    if finished and code is None:  # pipes closed, process not yet reaped
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = process.wait(max(0.0, deadline - time.monotonic()))
    if code is None:
        _kill_group(process)
        notes.append("the command ran past its timeout: its process group was killed")
        _reap(process, notes)
    elif not finished:
        notes.append(
            "the command ended but a process it left behind still holds its output open; "
            "its output was read no further"
        )
    stdout = [line for line in out.lines() if line.strip()]
    return CommandResult(
        returncode=code,
        stdout_tail=tuple(stdout[-TAIL_LINES:]),
        stderr_tail=tuple(err.lines()[-TAIL_LINES:]),
        snapshot_id=stdout[-1].strip() if stdout and code == 0 else None,
        notes=tuple(notes),
    )


def _read_until(process: subprocess.Popen[bytes], deadline: float, tails: dict[int, _Tail]) -> bool:
    """Read both streams into their tails until both end (True), or the deadline passes, or the
    command has exited and its output kept coming or staying open for DRAIN_SECONDS (False)."""
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for fd in tails:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now
            if now >= deadline or (exited_at is not None and now - exited_at >= DRAIN_SECONDS):
                return False
            for key, _ in selector.select(min(deadline - now, POLL_SECONDS)):
                chunk = os.read(key.fd, READ_SIZE)
                if chunk:
                    tails[key.fd].add(chunk)
                else:
                    selector.unregister(key.fd)
    return True


def _fd(pipe: IO[bytes] | None) -> int:
    assert pipe is not None  # both streams are PIPE
    return pipe.fileno()


def _reap(process: subprocess.Popen[bytes], notes: list[str]) -> None:
    try:
        process.wait(REAP_SECONDS)
    except subprocess.TimeoutExpired:
        notes.append(
            f"the killed command had not exited {REAP_SECONDS:g} s later (pid {process.pid})"
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
