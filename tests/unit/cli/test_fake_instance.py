"""``--iris fake`` as a person tries the tool: one simulated instance for every backup directory,
kept out of them, and ``--iris-call-timeout`` bounding every IRIS call of a real run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_keeper.iris.fake import FakeIris
from tests.unit.cli.test_app import cli

NOBODY = 65534


def test_backups_into_two_directories_share_one_instance_and_its_history(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    full = cli("backup", "--kind", "full", "--dir", first, "--iris", "fake", "--json")
    assert full.returncode == 0, full.stderr
    incremental = cli("backup", "--kind", "incremental", "--dir", second, "--iris", "fake")
    assert incremental.returncode == 0, incremental.stderr
    devices = [Path(h.device).parent for h in FakeIris().backup_history()]
    assert devices == [second, first]  # newest first: one instance saw both


def test_the_fake_keeps_nothing_of_its_own_in_the_backup_directory(tmp_path: Path) -> None:
    done = cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake")
    assert done.returncode == 0, done.stderr
    frozen = cli("freeze", "--dir", tmp_path, "--iris", "fake")
    assert frozen.returncode == 0, frozen.stderr
    assert cli("thaw", "--dir", tmp_path, "--iris", "fake").returncode == 0
    suffixes = sorted({p.name.split(".", 1)[1] for p in tmp_path.iterdir()})
    assert suffixes == ["cbk", "cbk.json", "log"]


def test_an_empty_fake_state_setting_is_bad_input(tmp_path: Path) -> None:
    env = {**os.environ, "BACKUP_KEEPER_FAKE_STATE": ""}
    done = subprocess.run(
        [sys.executable, "-m", "backup_keeper", "doctor", "--dir", str(tmp_path), "--iris", "fake"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "BACKUP_KEEPER_FAKE_STATE is set but empty" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory another user can reach (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="bk-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_unprivileged(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run as a user without write access: ``nobody`` via setpriv when we are root (root writes
    anywhere), or as ourselves otherwise (the test then relies on the directory's mode)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no unprivileged user to test with")
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def test_a_read_only_backup_directory_is_a_failed_report_naming_it(shared_tmp: Path) -> None:
    backups, state = shared_tmp / "backups", shared_tmp / "state"
    backups.mkdir(mode=0o555)
    backups.chmod(0o555)
    state.mkdir()
    if os.geteuid() == 0:
        os.chown(state, NOBODY, NOBODY)
    # nobody cannot write coverage data into the repository: not measured
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    env["BACKUP_KEEPER_FAKE_STATE"] = str(state)
    argv = [sys.executable, "-m", "backup_keeper", "backup", "--kind", "full"]
    done = as_unprivileged([*argv, "--dir", str(backups), "--iris", "fake", "--json"], env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "failed"
    assert report["summary"] == f"backup failed: {backups}: not writable: Permission denied"
    assert list(backups.iterdir()) == []


def hung_cli(
    *args: str | Path, timeout: str = "0.5"
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = cli("--iris-call-timeout", timeout, *args)
    return done, time.monotonic() - started


def test_a_hung_iris_call_fails_the_backup_within_the_call_timeout(tmp_path: Path) -> None:
    fake = FakeIris()
    fake.configure(hang_seconds=30)
    fake.fail("databases", "hang")
    done, took = hung_cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"] == (
        "backup failed: IRIS: databases did not return within 0.5 s (IRIS may still be running it)"
    )
    assert took < 20, "the run waited for the hung call"
    assert list(tmp_path.glob("*.cbk")) == []


def test_the_call_timeout_can_come_from_the_environment(tmp_path: Path) -> None:
    fake = FakeIris()
    fake.configure(hang_seconds=30)
    fake.fail("external_thaw", "hang")
    env = {**os.environ, "BACKUP_KEEPER_IRIS_CALL_TIMEOUT": "0.5"}
    done = subprocess.run(
        [sys.executable, "-m", "backup_keeper", "thaw", "--dir", str(tmp_path), "--iris", "fake"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=25,
    )
    assert done.returncode == 1
    assert "external_thaw did not return within 0.5 s" in done.stderr


@pytest.mark.parametrize("bad", ["0", "inf", "nan", "-3", "١٢٠", "two"])
def test_a_call_timeout_that_is_no_bound_is_bad_input_naming_the_option(
    tmp_path: Path, bad: str
) -> None:
    done = cli("--iris-call-timeout", bad, "doctor", "--dir", tmp_path, "--iris", "fake")
    assert done.returncode == 2
    assert "--iris-call-timeout" in done.stderr
    assert "Traceback" not in done.stderr


def test_alert_test_through_a_hung_instance_says_messages_log_was_not_reached(
    tmp_path: Path,
) -> None:
    fake = FakeIris()
    fake.configure(hang_seconds=30)
    fake.fail("write_console_log", "hang")
    config = tmp_path / "alerts.toml"
    config.write_text("[alerts]\nbackoff = 0\nretries = 0\n")
    done, took = hung_cli("alert-test", "--config", config, "--iris", "fake")
    assert done.returncode == 1, done.stderr
    assert "write_console_log did not return within 0.5 s" in done.stdout
    assert took < 20
