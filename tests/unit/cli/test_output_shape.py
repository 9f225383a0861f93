"""Every command's text has one shape: a heading saying what was looked at (directories, adapter,
time zone), the table, one summary line; sizes human-readable, times in the instance's zone;
colour only on a terminal that takes it, never in ``--json``. Real subprocesses, and a real
pseudo-terminal where a terminal is the point."""

from __future__ import annotations

import errno
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backup_keeper.cli.render import human_size
from backup_keeper.kinds import BackupKind
from tests.builders import T0, write_iris_backup, write_managed_backup
from tests.unit.cli.test_app import cli

ESCAPE = "\x1b"


@pytest.fixture
def week(tmp_path: Path) -> Path:
    for day in range(1, 8):
        task = "FullDBList" if day == 1 else "IncrementalDBList"
        write_iris_backup(tmp_path, task, f"202611{day:02d}", day)
    return tmp_path


def assert_shape(text: str, heading: str, header: list[str], summary: str) -> list[str]:
    """Heading, blank, the table (its header first), blank, ..., one summary line last;
    returns the table's rows."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0].startswith(heading), lines[0]
    assert lines[0].endswith("times in UTC)"), lines[0]
    assert lines[1] == ""
    assert lines[2].split() == header, lines[2]
    end = lines.index("", 3)
    assert re.match(summary, lines[-1]), lines[-1]
    return lines[3:end]


def test_human_size_uses_binary_units_with_one_decimal() -> None:
    shown = [human_size(n) for n in (None, 0, 1023, 1536, 5 * 2**30, 3 * 2**50)]
    assert shown == ["-", "0 B", "1023 B", "1.5 KiB", "5.0 GiB", "3.0 PiB"]


def test_catalog_text_is_heading_table_and_one_summary_with_sizes(week: Path) -> None:
    done = cli("catalog", week)
    assert done.returncode == 0, done.stderr
    header = ["FILE", "KIND", "TIME", "STATUS", "SIZE", "SOURCE", "NEEDS", "FIRST"]
    rows = assert_shape(done.stdout, f"catalog of {week} (", header, r"ok: 7 backup file\(s\)")
    assert len(rows) == 7
    assert re.search(r"\b[0-9]+ B\b", rows[0])
    assert done.stdout.rstrip().endswith(" in all")


def test_purge_and_verify_text_have_the_same_shape(week: Path) -> None:
    purge = cli("purge", week, "--keep-last", "1", "--dry-run", "--now", "2026-11-20T00:00:00Z")
    header = ["ACTION", "FILE", "KIND", "TIME", "STATUS", "WHY"]
    assert_shape(purge.stdout, f"purge of {week} (dry run;", header, r"ok: dry run: would delete")
    verify = cli("verify", week)
    header = ["FILE", "KIND", "SIZE", "STATUS", "RESULT"]
    assert_shape(verify.stdout, f"verify of {week} (", header, r"ok: .*in all$")


def test_times_are_shown_in_the_instance_zone_the_heading_names(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "keeper_full.cbk", BackupKind.FULL, T0)  # 02:00 UTC
    done = cli("catalog", tmp_path, "--timezone", "Asia/Tokyo")
    first = done.stdout.splitlines()
    assert first[0].endswith("(times in Asia/Tokyo)")
    assert "2026-11-01 11:00:00" in first[3]  # UTC+9


def test_backup_text_names_the_adapter_and_a_readable_size(tmp_path: Path) -> None:
    done = cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"backup of {tmp_path} (iris fake; times in UTC)")
    assert re.search(r"^size: +[0-9.]+ (B|KiB|MiB)$", done.stdout, re.M)
    assert lines[-1].startswith("ok: ")


def test_check_texts_have_the_same_shape(week: Path) -> None:
    fresh = cli("check-freshness", "--dir", week, "--max-age", "5000w")
    lines = fresh.stdout.splitlines()
    assert lines[0].startswith(f"check-freshness of {week} (") and lines[1] == ""
    assert lines[-1].startswith("ok: ")
    doctor = cli("doctor", "--dir", week, "--iris", "fake").stdout.splitlines()
    assert doctor[0] == f"doctor of {week} (iris fake; times in UTC)"
    assert doctor[-1] == "ok: all clear"


def on_terminal(*args: str | Path, env: dict[str, str]) -> str:
    """The command run with its stdout on a real pseudo-terminal; what the terminal got."""
    parent, child = pty.openpty()
    environment = {**os.environ, "TZ": "UTC", "TERM": "xterm-256color", **env}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        if name not in env:
            environment.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "backup_keeper", *map(str, args)],
        stdout=child,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError as exc:  # EIO: the child closed the terminal
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode()


def test_on_a_terminal_the_summary_is_coloured(week: Path) -> None:
    shown = on_terminal("catalog", week, env={})
    assert f"{ESCAPE}[" in shown
    assert "ok: 7 backup file(s)" in shown


def test_no_color_on_a_terminal_prints_no_escape_at_all(week: Path) -> None:
    shown = on_terminal("catalog", week, env={"NO_COLOR": "1"})
    assert "ok: 7 backup file(s)" in shown
    assert ESCAPE not in shown


def test_json_on_a_terminal_has_no_escape(week: Path) -> None:
    shown = on_terminal("catalog", week, "--json", env={"FORCE_COLOR": "1"})
    assert '"job": "catalog"' in shown
    assert ESCAPE not in shown


def test_a_pipe_gets_plain_text(week: Path) -> None:
    assert ESCAPE not in cli("catalog", week).stdout
