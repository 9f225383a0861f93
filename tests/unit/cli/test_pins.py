"""``backup-keeper pin`` / ``unpin`` through real subprocesses: exit codes, one JSON object,
bad input that changes nothing, and the pin seen by ``catalog`` and ``purge``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import directory_state
from tests.copy_builders import local_chain
from tests.unit.cli.test_app import cli

FUTURE = "2999-01-01"


def test_pin_then_purge_keeps_the_pinned_chain_and_says_why(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FIF")
    done = cli("pin", tmp_path / chain[1], "--reason", "ticket 42", "--until", FUTURE)
    assert done.returncode == 0, done.stderr
    assert "pinned" in done.stdout and "ticket 42" in done.stdout
    purge = cli("purge", tmp_path, "--keep-last", "1", "--json", "--timezone", "UTC")
    assert purge.returncode == 0, purge.stderr
    report = json.loads(purge.stdout)
    assert report["delete"] == []
    reasons = {Path(e["path"]).name: e["reasons"] for e in report["keep"]}
    assert reasons[chain[1]] == ["pinned: ticket 42"]
    assert all((tmp_path / name).exists() for name in chain)


def test_catalog_shows_the_pin_in_text_and_json(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FF")
    assert cli("pin", tmp_path / chain[0], "--reason", "audit").returncode == 0
    text = cli("catalog", tmp_path)
    assert text.returncode == 0, text.stderr
    [row] = [line for line in text.stdout.splitlines() if line.startswith(chain[0])]
    assert "pinned: audit" in row
    data = json.loads(cli("catalog", tmp_path, "--json").stdout)
    pins = {Path(r["path"]).name: r["pin"] for r in data["records"]}
    assert pins[chain[1]] is None
    assert pins[chain[0]]["reason"] == "audit" and pins[chain[0]]["expired"] is False


def test_pin_json_is_one_object_and_unpin_twice_is_a_no_op(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    done = cli("pin", tmp_path / name, "--reason", "r", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "ok"
    first = cli("unpin", tmp_path / name, "--json")
    assert first.returncode == 0 and "unpinned" in json.loads(first.stdout)["summary"]
    again = cli("unpin", tmp_path / name)
    assert again.returncode == 0
    assert "is not pinned: nothing to do" in again.stdout


def test_bad_input_exits_2_with_one_json_object_and_changes_nothing(tmp_path: Path) -> None:
    [name] = local_chain(tmp_path, "F")
    (tmp_path / "stray.cbk").write_bytes(b"?")
    before = directory_state(tmp_path)
    cases = [
        ("pin", tmp_path / name, "--reason", "past", "--until", "2001-01-01"),
        ("pin", tmp_path / name, "--reason", "bell\x07"),
        ("pin", tmp_path / name, "--reason", "x" * 500),
        ("pin", tmp_path / "stray.cbk", "--reason", "nope"),
        ("pin", tmp_path / "missing.cbk", "--reason", "nope"),
        ("pin", tmp_path / name, "--reason", "r", "--timezone", "Mars/Olympus"),
        ("unpin", tmp_path / "stray.cbk"),
    ]
    for args in cases:
        done = cli(*args, "--json")
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        report = json.loads(done.stdout)
        assert report["status"] == "failed" and report["errors"], args
        assert "bad input" in done.stderr
    assert directory_state(tmp_path) == before
