"""Bad input as an adversary or a careless user types it: exit 2, the flag named, nothing done.

Every case runs the real command in a subprocess; ``cli`` fails the test on any traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import directory_state, write_iris_backup
from tests.unit.cli.test_app import cli


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    """A directory with two fulls and an incremental, also the working directory of the runs."""
    directory = tmp_path / "backups"
    directory.mkdir()
    write_iris_backup(directory, "FullDBList", "20261101", 1)
    write_iris_backup(directory, "IncrementalDBList", "20261102", 2)
    write_iris_backup(directory, "FullDBList", "20261108", 3)
    return directory


def assert_refused(done: object, flag: str, directory: Path, before: object) -> None:
    assert getattr(done, "returncode", None) == 2, getattr(done, "stderr", "")
    assert flag in getattr(done, "stderr", ""), getattr(done, "stderr", "")
    assert directory_state(directory) == before


EMPTY_PATHS = [
    (["catalog", ""], "DIRECTORIES"),
    (["purge", "", "--keep-last", "1"], "DIRECTORIES"),
    (["purge", "   ", "--keep-last", "1"], "DIRECTORIES"),
    (["purge", ".", "--keep-last", "1", "--config", ""], "--config"),
    (["verify", ""], "DIRECTORIES"),
    (["restore-plan", ""], "DIRECTORIES"),
    (["restore", "", "--confirm", "--map", "/a/=/b/", "--iris", "fake"], "DIRECTORIES"),
    (["check-freshness", "--dir", "", "--max-age", "1d"], "--dir"),
    (["backup", "--kind", "full", "--dir", "", "--iris", "fake"], "--dir"),
    (["backup", "--kind", "full", "--dir", " ", "--iris", "fake"], "--dir"),
    (["snapshot", "--dir", "", "--iris", "fake", "--", "true"], "--dir"),
    (["freeze", "--dir", "", "--iris", "fake"], "--dir"),
    (["thaw", "--dir", "", "--iris", "fake"], "--dir"),
    (["doctor", "--dir", "", "--iris", "fake"], "--dir"),
    (["alert-test", "--config", ""], "--config"),
]


@pytest.mark.parametrize(("args", "flag"), EMPTY_PATHS)
def test_an_empty_path_is_bad_input_never_the_current_directory(
    backups: Path, args: list[str], flag: str
) -> None:
    before = directory_state(backups)
    done = cli(*args, cwd=backups)
    assert_refused(done, flag, backups, before)
    assert "empty" in done.stderr


MISSING = [
    ["catalog", "{missing}"],
    ["verify", "{missing}"],
    ["restore-plan", "{missing}"],
    ["check-freshness", "--dir", "{missing}", "--max-age", "1d"],
    ["backup", "--kind", "full", "--dir", "{missing}", "--iris", "fake"],
    ["snapshot", "--dir", "{missing}", "--iris", "fake", "--", "true"],
    ["freeze", "--dir", "{missing}", "--iris", "fake"],
    ["thaw", "--dir", "{missing}", "--iris", "fake"],
    ["doctor", "--dir", "{missing}", "--iris", "fake"],
]


@pytest.mark.parametrize("args", MISSING)
@pytest.mark.parametrize(("name", "why"), [("gone", "no such directory"), ("file", "not a dir")])
def test_a_missing_directory_or_a_file_is_bad_input_and_nothing_is_created(
    tmp_path: Path, args: list[str], name: str, why: str
) -> None:
    (tmp_path / "file").write_text("not a directory")
    before = directory_state(tmp_path)
    argv = [a.format(missing=tmp_path / name) for a in args]
    argv.insert(argv.index("--") if "--" in argv else len(argv), "--json")
    done = cli(*argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert why in done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and any(why in e for e in report["errors"])
    assert directory_state(tmp_path) == before
    assert not (tmp_path / name).is_dir()


OUT_OF_RANGE = [
    (["freeze", "--dir", "{d}", "--iris", "fake", "--freeze-timeout", "1201"], "--freeze-timeout"),
    (["freeze", "--dir", "{d}", "--iris", "fake", "--wd-suspend-limit", "0"], "--wd-suspend-limit"),
    (
        ["snapshot", "--dir", "{d}", "--iris", "fake", "--freeze-timeout", "5000", "--", "true"],
        "--freeze-timeout",
    ),
    (
        ["snapshot", "--dir", "{d}", "--iris", "fake", "--wd-suspend-limit", "900", "--", "true"],
        "--wd-suspend-limit",
    ),
    (["purge", "{d}", "--keep-last", "1", "--now", "0001-01-01T00:00:00+14:00"], "--now"),
    (["purge", "{d}", "--keep-last", "1", "--now", "9999-12-31T23:59:59-12:00"], "--now"),
    (["purge", "{d}", "--keep-within", "99999999999999999999w"], "--keep-within"),
    (["purge", "{d}", "--keep-within", "6000w"], "--keep-within"),
    (["purge", "{d}", "--keep-last", "1", "--failed-older-than", "99999999999d"], "--failed"),
    (["check-freshness", "--dir", "{d}", "--max-age", "99999999999d"], "--max-age"),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "inf"],
        "--timeout",
    ),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "nan"],
        "--timeout",
    ),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "1e400"],
        "--timeout",
    ),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "1e12"],
        "--timeout",
    ),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "-5"],
        "--timeout",
    ),
    (
        [
            "backup",
            "--kind",
            "full",
            "--dir",
            "{d}",
            "--iris",
            "fake",
            "--free-space-margin",
            "nan",
        ],
        "--free-space-margin",
    ),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--keep-within", "9999w"],
        "--keep-within",
    ),
    (
        ["snapshot", "--dir", "{d}", "--iris", "fake", "--command-timeout", "1e300", "--", "true"],
        "--command-timeout",
    ),
    (
        [
            "snapshot",
            "--dir",
            "{d}",
            "--iris",
            "fake",
            "--wd-suspend-limit",
            "9" * 25,
            "--",
            "true",
        ],
        "--wd-suspend-limit",
    ),
    (
        ["freeze", "--dir", "{d}", "--iris", "fake", "--freeze-timeout", "9" * 15],
        "--freeze-timeout",
    ),
    (["freeze", "--dir", "{d}", "--iris", "fake", "--freeze-timeout", "-1"], "--freeze-timeout"),
    (["restore-plan", "{d}", "--at", "0001-01-01T00:00:00+14:00"], "--at"),
    (["verify", "{d}", "--sample", "-3"], "--sample"),
]


@pytest.mark.parametrize(("args", "flag"), OUT_OF_RANGE)
def test_an_out_of_range_value_exits_2_naming_its_flag(
    backups: Path, args: list[str], flag: str
) -> None:
    before = directory_state(backups)
    done = cli(*(a.format(d=backups) for a in args))
    assert_refused(done, flag, backups, before)


NON_ASCII_NUMBERS = [
    (["purge", "{d}", "--keep-last", "١٢"], "--keep-last"),
    (["purge", "{d}", "--keep-daily", "３"], "--keep-daily"),
    (["purge", "{d}", "--keep-within", "١٤d"], "--keep-within"),
    (["purge", "{d}", "--keep-last", "1", "--now", "２０２６-11-20T00:00:00Z"], "--now"),
    (
        ["backup", "--kind", "full", "--dir", "{d}", "--iris", "fake", "--timeout", "１０"],
        "--timeout",
    ),
    (
        [
            "backup",
            "--kind",
            "full",
            "--dir",
            "{d}",
            "--iris",
            "fake",
            "--free-space-margin",
            "١.٥",
        ],
        "--free-space-margin",
    ),
    (
        ["freeze", "--dir", "{d}", "--iris", "fake", "--wd-suspend-limit", "٣٠٠"],
        "--wd-suspend-limit",
    ),
    (["verify", "{d}", "--sample", "١"], "--sample"),
    (["check-freshness", "--dir", "{d}", "--max-age", "２６h"], "--max-age"),
]


@pytest.mark.parametrize(("args", "flag"), NON_ASCII_NUMBERS)
def test_numbers_in_flags_are_ascii_digits_only(backups: Path, args: list[str], flag: str) -> None:
    before = directory_state(backups)
    done = cli(*(a.format(d=backups) for a in args))
    assert_refused(done, flag, backups, before)


@pytest.mark.parametrize("entry", ["=", "a=", "=b", "", "no-equals"])
def test_an_empty_or_malformed_map_entry_is_refused_naming_map(backups: Path, entry: str) -> None:
    before = directory_state(backups)
    done = cli("restore", backups, "--confirm", "--iris", "fake", "--map", entry)
    assert_refused(done, "--map", backups, before)


def test_a_restore_without_a_map_is_bad_input_naming_map(backups: Path) -> None:
    before = directory_state(backups)
    done = cli("restore", backups, "--confirm", "--iris", "fake")
    assert_refused(done, "--map", backups, before)


def test_an_unknown_kind_names_the_kind_flag(backups: Path) -> None:
    done = cli("check-freshness", "--dir", backups, "--max-age", "1d", "--kind", "bogus")
    assert done.returncode == 2
    assert "--kind: " in done.stderr and "kinds" not in done.stderr


def test_a_bad_keep_flag_in_backup_is_refused_before_the_backup_starts(tmp_path: Path) -> None:
    done = cli(
        "backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--keep-within", "0d"
    )
    assert done.returncode == 2 and "--keep-within" in done.stderr
    assert list(tmp_path.iterdir()) == []


USAGE_ERRORS = [
    (["purge", "{d}", "--keep-lastt", "1"], "--keep-lastt"),
    (["purge"], "DIRECTORIES"),
    (["purge", "{d}", "--keep-last", "many"], "--keep-last"),
    (["backup", "--dir", "{d}"], "--kind"),
    (["backup", "--kind", "weekly", "--dir", "{d}"], "--kind"),
    (["verify", "{d}", "--iris", "mystery"], "--iris"),
    (["no-such-command"], "no-such-command"),
]


@pytest.mark.parametrize(("args", "named"), USAGE_ERRORS)
def test_with_json_a_usage_error_is_one_failed_report(
    backups: Path, args: list[str], named: str
) -> None:
    before = directory_state(backups)
    done = cli(*(a.format(d=backups) for a in args), "--json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "failed"
    assert any(named.lower() in e.lower() for e in report["errors"]), report["errors"]
    assert report["summary"] == "bad input: nothing was done"
    assert directory_state(backups) == before


@pytest.mark.parametrize(("args", "named"), USAGE_ERRORS)
def test_without_json_a_usage_error_is_text_on_stderr_and_nothing_on_stdout(
    backups: Path, args: list[str], named: str
) -> None:
    done = cli(*(a.format(d=backups) for a in args))
    assert done.returncode == 2
    assert done.stdout == ""
    assert named.lower() in done.stderr.lower()


def test_json_after_double_dash_belongs_to_the_snapshot_command(tmp_path: Path) -> None:
    done = cli("snapshot", "--dir", tmp_path, "--iris", "fake", "--", "echo", "--json")
    assert done.returncode == 0, done.stderr
    assert not done.stdout.lstrip().startswith("{")
