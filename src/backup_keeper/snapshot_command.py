"""Running the site's snapshot command while the instance is frozen.

An argument list, no shell unless asked; its own process group, so that on timeout the whole
tree (a script and what it started) is killed, not just the parent; stdout and stderr captured
(the last lines go into the report); the last non-empty stdout line is taken as the snapshot id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int | None
    """None when the command was killed for running past its timeout."""
    stdout_tail: tuple[str, ...]
    stderr_tail: tuple[str, ...]
    snapshot_id: str | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_snapshot_command(
    command: Sequence[str], *, shell: bool, timeout: float, env: Mapping[str, str]
) -> CommandResult:
    """Run ``command`` with ``env`` added to this process's environment."""
    argv = ["/bin/sh", "-c", " ".join(command)] if shell else list(command)
    try:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        return CommandResult(127, (), (f"cannot start {argv[0]}: {exc.strerror}",), None)
    try:
        out, err = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        code = None
    stdout = [line for line in out.splitlines() if line.strip()]
    return CommandResult(
        returncode=code,
        stdout_tail=tuple(stdout[-TAIL_LINES:]),
        stderr_tail=tuple(err.splitlines()[-TAIL_LINES:]),
        snapshot_id=stdout[-1].strip() if stdout and code == 0 else None,
    )


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
