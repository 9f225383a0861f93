"""What the CLI prints from hostile names and what it says it checked: real subprocesses, a
strict UTF-8 stdout as under any UTF-8 locale."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.builders import write_iris_backup
from tests.unit.cli.test_app import cli

NOW = "2026-11-20T00:00:00Z"


@pytest.fixture
def week(tmp_path: Path) -> Path:
    for day in range(1, 15):
        task = "FullDBList" if day in (1, 8) else "IncrementalDBList"
        write_iris_backup(tmp_path, task, f"202611{day:02d}", day)
    return tmp_path


def plant(directory: Path, raw: bytes) -> str:
    """A file whose name is the raw bytes given, with a sidecar naming it (JSON cannot carry
    such a name, so every job, verify included, warns about it); returns the name as Python
    sees it."""
    name = os.fsdecode(raw)
    sidecar = json.dumps({"file": name, "kind": "full"}).encode()
    orphan = raw.removesuffix(b".cbk") + b"-gone.cbk.json"  # verify names a sidecar left alone
    for name_bytes, data in ((raw, b"planted"), (raw + b".json", sidecar), (orphan, sidecar)):
        (directory / os.fsdecode(name_bytes)).write_bytes(data)
    return name


def strings(value: object) -> list[str]:
    """Every string in a parsed JSON document, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    return []


@pytest.mark.parametrize(
    "args",
    [
        ["catalog", "{d}", "--json"],
        ["purge", "{d}", "--keep-last", "1", "--now", NOW, "--json"],
        ["purge", "{d}", "--keep-last", "1", "--now", NOW, "--dry-run", "--json"],
        ["verify", "{d}", "--json"],
    ],
)
def test_a_name_that_is_not_utf8_is_reported_escaped_in_json(week: Path, args: list[str]) -> None:
    plant(week, b"caf\xe9-\xff.cbk")
    done = cli(*(a.format(d=week) for a in args))
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert any("caf\\xe9-\\xff" in s for s in strings(report)), report["warnings"]
    assert "\udce9" not in done.stdout


def test_a_purge_with_a_name_that_is_not_utf8_reports_what_it_deleted(week: Path) -> None:
    plant(week, b"\xff\xfe.cbk")
    done = cli("purge", week, "--keep-last", "1", "--now", NOW, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    deleted = [a for a in report["actions"] if a["outcome"] == "deleted"]
    assert len([a for a in deleted if a["path"].endswith(".cbk")]) == 7
    assert not (week / "FullDBList_20261101_001.cbk").exists()


@pytest.mark.parametrize("command", ["catalog", "verify"])
def test_text_output_escapes_a_name_that_is_not_utf8(week: Path, command: str) -> None:
    plant(week, b"caf\xe9.cbk")
    done = cli(command, week)
    assert done.returncode in (0, 1), done.stderr
    assert "caf\\xe9" in done.stdout


def test_text_purge_escapes_a_name_that_is_not_utf8(week: Path) -> None:
    plant(week, b"caf\xe9.cbk")
    done = cli("purge", week, "--keep-last", "1", "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert "caf\\xe9.cbk" in done.stdout


FORGED = "x.cbk\nkeep    FullDBList_20261101_001.cbk  full  forged\x1b[2J\x85\x7f.cbk"


def test_a_newline_in_a_name_cannot_forge_a_table_row(week: Path) -> None:
    plant(week, os.fsencode(FORGED))
    done = cli("purge", week, "--keep-last", "1", "--now", NOW, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert not re.search(r"^keep\s+FullDBList_20261101_001", done.stdout, re.M)
    assert re.search(r"^would delete\s+FullDBList_20261101_001\.cbk", done.stdout, re.M)
    assert "x.cbk\\nkeep" in done.stdout and "\\x1b[2J\\x85\\x7f.cbk" in done.stdout
    assert not any(c in done.stdout for c in "\x1b\x85\x7f")


@pytest.mark.parametrize("command", ["catalog", "verify"])
def test_every_cell_and_line_escapes_control_characters(week: Path, command: str) -> None:
    plant(week, os.fsencode(FORGED))
    done = cli(command, week)
    assert done.returncode in (0, 1), done.stderr
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr
    forged = [line for line in done.stdout.splitlines() if "forged" in line]
    assert forged and all("\\nkeep    FullDBList_20261101_001" in line for line in forged)


def test_a_directory_name_with_control_characters_is_escaped_in_the_heading(
    tmp_path: Path,
) -> None:
    odd = tmp_path / "new\nline\x1b"
    odd.mkdir()
    write_iris_backup(odd, "FullDBList", "20261101", 1)
    done = cli("catalog", odd)
    assert done.returncode == 0, done.stderr
    assert "new\\nline\\x1b" in done.stdout.splitlines()[0]


def test_check_freshness_prints_what_it_checked(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    write_iris_backup(tmp_path, "IncrementalDBList", "20261102", 2)
    done = cli("check-freshness", "--dir", tmp_path, "--max-age", "100000w", "--kind", "full")
    assert done.returncode == 2  # over 100 years: refused
    done = cli(
        "check-freshness",
        "--dir",
        tmp_path,
        "--max-age",
        "5000w",
        "--kind",
        "full",
        "--kind",
        "incremental",
        "--kind",
        "cumulative",
    )
    assert done.returncode == 0, done.stdout
    out = done.stdout
    assert str(tmp_path) in out
    assert "max age: 5000w" in out
    assert re.search(r"^\s*full: newest completed .*FullDBList_20261101_001\.cbk", out, re.M)
    assert re.search(r"^\s*incremental: newest completed .*IncrementalDBList_20261102", out, re.M)
    assert re.search(r"^\s*cumulative: none found", out, re.M)
    report = json.loads(
        cli("check-freshness", "--dir", tmp_path, "--max-age", "5000w", "--json").stdout
    )
    assert any(line.startswith("full: newest completed") for line in report["checked"])


def test_doctor_prints_the_marker_freeze_and_lock_it_checked(tmp_path: Path) -> None:
    done = cli("doctor", "--dir", tmp_path, "--iris", "fake")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert str(tmp_path) in out
    for expected in ("freeze marker: none", "instance frozen: no", "instance lock: free"):
        assert expected in out, out
    assert "ok: all clear" in out


def test_the_alerts_table_is_named_in_the_config_help() -> None:
    done = cli("purge", "--help")
    assert done.returncode == 0
    assert "[alerts]" in done.stdout
