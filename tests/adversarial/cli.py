"""The real CLI as a subprocess, and the invariants every single run must keep.

Each broken invariant raises its own subclass of :class:`Broken`, named after the invariant and
the command (``Broken_traceback_in_catalog_json``...): hypothesis keeps one falsifying example
per distinct exception type, so a run of the suite reports each (invariant, command) that fails
with its own minimal hostile directory, instead of the first one it met.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

from tests.adversarial.layout import FORGED

TIMEOUT = 60.0
"""Seconds a single run may take before it counts as hung (a run takes well under one)."""
SECOND_UID = 65534
"""``nobody``: the user who cannot read what root's files keep to themselves."""
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""Control characters, C0 and C1, except the newline that ends each line of output."""


class Broken(AssertionError):
    """An invariant of the tool's promise does not hold; the subclass says which, and where."""


@cache
def _broken_kind(invariant: str, label: str) -> type[Broken]:
    name = "Broken_" + re.sub(r"\W+", "_", f"{invariant} in {label}").strip("_")
    return type(name, (Broken,), {"__module__": __name__})


def broken(invariant: str, label: str, detail: str) -> NoReturn:
    raise _broken_kind(invariant, label)(f"{invariant} [{label}]\n{detail}")


@dataclass(frozen=True)
class Command:
    verb: str
    args: tuple[str, ...]
    json: bool
    second_user: bool = False

    @property
    def action(self) -> str:
        """What the run does to the disk: the verb, and ``--dry-run`` when given."""
        return " ".join([self.verb, *(f for f in ("--dry-run",) if f in self.args)])

    @property
    def label(self) -> str:
        """The action and the output format: what an output invariant is about."""
        return f"{self.action} {'--json' if self.json else 'text'}"


def command(
    verb: str, directory: Path, *extra: str, json: bool, second_user: bool = False
) -> Command:
    args = (verb, str(directory), *extra, *(("--json",) if json else ()))
    return Command(verb, args, json, second_user)


@dataclass(frozen=True)
class Run:
    command: Command
    returncode: int | None
    """None: still running after :data:`TIMEOUT` seconds, then killed."""
    stdout: bytes
    stderr: bytes

    @property
    def label(self) -> str:
        return self.command.label

    @property
    def action(self) -> str:
        return self.command.action

    def show(self) -> str:
        out = self.stdout.decode(errors="backslashreplace")
        err = self.stderr.decode(errors="backslashreplace")
        return (
            f"$ backup-keeper {' '.join(map(repr, self.command.args))}\n"
            f"exit {self.returncode}\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"
        )


@cache
def pid_namespace() -> tuple[str, ...]:
    """``unshare`` arguments that run the CLI as pid 1 of a pid namespace of its own, so the
    temporary names it derives from its pid (``NAME.tmp-<pid>``) are known in advance and a
    planted symlink can wait there; empty when this cannot be done (not root)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return ()
    prefix = ("unshare", "--pid", "--fork", "--kill-child")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False, timeout=30)
    return prefix if probe.returncode == 0 else ()


def second_user_unavailable() -> str | None:
    """Why the CLI cannot be run as a second user here, or None when it can."""
    if os.geteuid() != 0:
        return "running a command as a second user needs root (setpriv --reuid); not root here"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed: cannot run the CLI as a second user"
    return None


def _argv(cmd: Command) -> list[str]:
    as_user = (
        ["setpriv", f"--reuid={SECOND_UID}", f"--regid={SECOND_UID}", "--clear-groups"]
        if cmd.second_user
        else []
    )
    return [*pid_namespace(), *as_user, sys.executable, "-m", "backup_keeper", *cmd.args]


def _env(cmd: Command) -> dict[str, str]:
    env = {**os.environ, "TZ": "UTC"}
    if cmd.second_user:
        # the second user can write neither coverage data nor bytecode caches here
        env = {k: v for k, v in env.items() if not k.startswith(("COV", "PYTHONPATH"))}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_all(commands: Sequence[Command], *, timeout: float = TIMEOUT) -> list[Run]:
    """Start every command at once (they only read, or are the only writer), wait for all.

    A run still going after ``timeout`` seconds is killed with its process group (which this
    function started) and reported as hung.
    """
    started = [
        (
            cmd,
            subprocess.Popen(
                _argv(cmd),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_env(cmd),
                start_new_session=True,
            ),
        )
        for cmd in commands
    ]
    deadline = time.monotonic() + timeout
    runs = []
    for cmd, process in started:
        try:
            out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
            code: int | None = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            code = None
        runs.append(Run(cmd, code, out, err))
    return runs


def run_one(cmd: Command, *, timeout: float = TIMEOUT) -> Run:
    return run_all([cmd], timeout=timeout)[0]


def check_run(run: Run) -> object:
    """Every run: ends, no traceback, exit 0/1/2, one JSON object with ``--json``, and plain
    text that no file name can forge. Returns the parsed report (None for text)."""
    label = run.label
    if run.returncode is None:
        broken("terminates", label, f"still running, killed\n{run.show()}")
    if b"Traceback" in run.stderr or b"Traceback" in run.stdout:
        broken("no traceback", label, run.show())
    if run.returncode not in (0, 1, 2):
        broken("exit code is 0, 1 or 2", label, run.show())
    if run.command.json:
        try:
            report = json.loads(run.stdout)
        except ValueError as exc:
            broken("--json prints exactly one JSON object", label, f"{exc}\n{run.show()}")
        if not isinstance(report, dict):
            broken("--json prints exactly one JSON object", label, run.show())
        return report
    text = run.stdout.decode(errors="replace")
    if _CONTROL.search(text) or any(line.startswith(FORGED) for line in text.splitlines()):
        broken("text output escapes control characters in names", label, run.show())
    return None
