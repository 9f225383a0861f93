"""Progress on the CLI: a bar on stderr only when stderr is a terminal and the output is for a
person; never on stdout, never in --json, never with --no-progress. Real subprocesses; the
terminal is a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cli.test_app import cli

ESCAPE = "\x1b["
BAR = "━"


@pytest.fixture
def big_fake(fake_state: Path) -> Path:
    """The fake instance writes a 4 MiB .cbk: every step of a backup has something to count."""
    from backup_keeper.iris.fake import FakeIris

    FakeIris(fake_state).configure(backup_bytes=4 << 20)
    return fake_state


def backup_args(directory: Path, *extra: str) -> list[str]:
    return ["backup", "--iris", "fake", "--kind", "full", "--dir", str(directory), *extra]


def on_a_terminal(*args: str) -> tuple[str, str, int]:
    """Run the CLI with its stderr on a pseudo-terminal: (stdout, what the terminal showed,
    exit code)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TZ": "UTC", "PYTHONIOENCODING": "utf-8", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "backup_keeper", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout, _ = process.communicate(timeout=60)
    return stdout.decode(), shown.decode(errors="replace"), process.returncode


def test_a_terminal_shows_a_bar_on_stderr_and_stdout_stays_plain(
    big_fake: Path, tmp_path: Path
) -> None:
    stdout, shown, code = on_a_terminal(*backup_args(tmp_path, "--compress"))
    assert code == 0, (stdout, shown)
    assert BAR in shown and "checksum" in shown and "compress" in shown and "MiB" in shown
    assert ESCAPE not in stdout and BAR not in stdout
    assert "backup" in stdout


def test_no_progress_draws_no_bar_even_on_a_terminal(big_fake: Path, tmp_path: Path) -> None:
    stdout, shown, code = on_a_terminal("--no-progress", *backup_args(tmp_path, "--compress"))
    assert code == 0, (stdout, shown)
    assert BAR not in shown and "checksum" not in shown


def test_json_on_a_terminal_is_one_object_and_no_bar(big_fake: Path, tmp_path: Path) -> None:
    stdout, shown, code = on_a_terminal("-v", *backup_args(tmp_path, "--compress", "--json"))
    assert code == 0, (stdout, shown)
    assert json.loads(stdout)["job"] == "backup"
    assert BAR not in shown


def test_without_a_terminal_nothing_but_the_report_and_no_escape_codes(
    big_fake: Path, tmp_path: Path
) -> None:
    done = cli("-v", *backup_args(tmp_path, "--compress"))
    assert done.returncode == 0, done.stderr
    assert ESCAPE not in done.stderr + done.stdout and BAR not in done.stderr
    as_json = cli("-v", "verify", str(tmp_path), "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["job"] == "verify"
    assert ESCAPE not in as_json.stderr
