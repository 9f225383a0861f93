"""No traceback ever reaches a user: the guard in ``main()``, Ctrl-C, broken configuration
files and a channel-less ``alert-test``. Real subprocesses throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import write_iris_backup
from tests.unit.cli.test_app import cli


def main_with(patch: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The console-script entry point, after ``patch`` (Python source) replaced a job (the
    commands look their job up in ``backup_keeper.jobs`` when they run)."""
    imports = "import backup_keeper.cli.app as cli\nimport backup_keeper.jobs as app\n"
    source = f"import os, signal, time\n{imports}{patch}\ncli.main()\n"
    return subprocess.run(
        [sys.executable, "-c", source, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "TZ": "UTC"},
    )


BOOM = "def boom(*a, **k):\n    raise ZeroDivisionError('no')\napp.run_catalog = boom"


def test_an_unexpected_exception_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = main_with(BOOM, "catalog", tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("backup-keeper: internal error: ZeroDivisionError: no")
    assert done.stdout == ""


def test_with_json_an_unexpected_exception_is_one_failed_report(tmp_path: Path) -> None:
    done = main_with(BOOM, "catalog", tmp_path, "--json")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert (report["job"], report["status"]) == ("catalog", "failed")
    assert report["errors"][0].startswith("internal error: ZeroDivisionError: no")


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_ctrl_c_prints_one_line_and_exits_130(tmp_path: Path, json_flag: list[str]) -> None:
    interrupt = (
        "def interrupted(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(30)\n"
        "app.run_catalog = interrupted"
    )
    done = main_with(interrupt, "catalog", tmp_path, *json_flag)
    assert done.returncode == 130
    assert done.stderr.strip() == "backup-keeper: interrupted"
    if json_flag:
        assert json.loads(done.stdout)["errors"] == ["interrupted"]
    else:
        assert done.stdout == ""


def test_a_config_file_that_is_not_utf8_is_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "alerts.toml"
    config.write_bytes(b'[alerts]\nconsole_min_severity = "caf\xe9"\n')
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    done = cli("purge", tmp_path, "--keep-last", "1", "--config", config, "--json")
    assert done.returncode == 2
    assert "not UTF-8" in done.stderr
    assert "not UTF-8" in json.loads(done.stdout)["errors"][0]
    assert "not UTF-8" in cli("alert-test", "--config", config).stderr


def test_a_config_path_that_is_a_directory_is_bad_input(tmp_path: Path) -> None:
    done = cli("alert-test", "--config", tmp_path)
    assert done.returncode == 2
    assert "--config" in done.stderr and "directory" in done.stderr


def test_alert_test_without_a_channel_says_only_messages_log_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text("[alerts]\n")
    done = cli("alert-test", "--config", config)
    assert done.returncode == 1
    assert "only messages.log is configured" in done.stdout + done.stderr


@pytest.mark.parametrize("field", ["state_file", "email.ca_file"])
def test_an_empty_path_in_the_config_file_is_bad_input(tmp_path: Path, field: str) -> None:
    config = tmp_path / "alerts.toml"
    if field == "state_file":
        config.write_text('[alerts]\nstate_file = " "\n')
    else:
        config.write_text(
            '[alerts.email]\nhost = "h"\nsender = "s@x"\nrecipients = ["r@x"]\nca_file = ""\n'
        )
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    done = cli("purge", tmp_path, "--keep-last", "1", "--config", config)
    assert done.returncode == 2
    assert f"alerts.{field}: " in done.stderr and "empty" in done.stderr


def test_a_missing_config_file_or_a_fifo_is_bad_input_and_never_blocks(tmp_path: Path) -> None:
    missing = cli("alert-test", "--config", tmp_path / "nowhere.toml")
    assert missing.returncode == 2 and "No such file or directory" in missing.stderr
    fifo = tmp_path / "alerts.toml"
    os.mkfifo(fifo)
    done = cli("check-freshness", "--dir", tmp_path, "--max-age", "1d", "--config", fifo)
    assert done.returncode == 2 and "not a regular file" in done.stderr
