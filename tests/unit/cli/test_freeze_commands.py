"""freeze / thaw / snapshot / doctor as hook scripts use them, and the kill -9 recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.freeze_marker import MARKER_NAME
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings
from tests.builders import NEVER_ALIVE_PID
from tests.unit.cli.test_app import cli


def fake_of(directory: Path) -> FakeIris:
    """The instance ``--iris fake`` uses (one per test, see conftest), whatever the directory."""
    return FakeIris()


def test_freeze_then_thaw_exit_0_with_one_line_each(tmp_path: Path) -> None:
    frozen = cli("freeze", "--dir", tmp_path, "--iris", "fake", "--wd-suspend-limit", "300")
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stderr.strip().splitlines()[-1].startswith("backup-keeper freeze: ok: frozen;")
    assert fake_of(tmp_path).is_frozen() and (tmp_path / MARKER_NAME).exists()
    again = cli("freeze", "--dir", tmp_path, "--iris", "fake")
    assert again.returncode == 1
    assert "already frozen" in again.stderr
    thawed = cli("thaw", "--dir", tmp_path, "--iris", "fake")
    assert thawed.returncode == 0, thawed.stderr
    assert (
        thawed.stderr.strip().splitlines()[-1]
        == "backup-keeper thaw: ok: thawed; the write daemon is running"
    )
    assert not fake_of(tmp_path).is_frozen() and not (tmp_path / MARKER_NAME).exists()


def test_a_failing_thaw_exits_non_zero_and_says_critical(tmp_path: Path) -> None:
    assert cli("freeze", "--dir", tmp_path, "--iris", "fake").returncode == 0
    fake_of(tmp_path).fail("external_thaw")
    done = cli("thaw", "--dir", tmp_path, "--iris", "fake")
    assert done.returncode == 1
    assert "CRITICAL: the instance may still be frozen" in done.stderr


def test_snapshot_command_after_double_dash(tmp_path: Path) -> None:
    done = cli(
        "snapshot",
        "--dir",
        tmp_path,
        "--iris",
        "fake",
        "--json",
        "--",
        "sh",
        "-c",
        "echo --json; echo snap-7",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backup"]["snapshot_id"] == "snap-7"
    assert report["iris"] == "fake"


def test_killed_while_frozen_the_next_run_thaws_and_raises_a_critical_alert(tmp_path: Path) -> None:
    pid_file = tmp_path / "snapshot.pid"
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backup_keeper",
            "snapshot",
            "--dir",
            str(tmp_path),
            "--iris",
            "fake",
            "--",
            "sh",
            "-c",
            f"echo $$ > {pid_file}; exec sleep 60",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fake = fake_of(tmp_path)
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip() and fake.is_frozen()):
        assert time.monotonic() < deadline, "the snapshot job never froze the instance"
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=10)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the orphaned snapshot command
    assert fake.is_frozen(), "the scenario needs an instance left frozen"
    assert (tmp_path / MARKER_NAME).exists()

    doctor = cli("doctor", "--dir", tmp_path, "--iris", "fake", "--json")
    report = json.loads(doctor.stdout)
    assert any(
        w.startswith(f"CRITICAL: the instance was left frozen by pid {job.pid}")
        for w in report["warnings"]
    )
    assert not fake.is_frozen()
    assert not (tmp_path / MARKER_NAME).exists() and fake.freeze_marker() is None
    assert list(tmp_path.glob("*.snapshot.json")) == []  # nothing recorded as a good backup
    assert any(sev == 2 and "left frozen" in msg for sev, msg in fake.snapshot().console_log)
    assert (
        json.loads(cli("doctor", "--dir", tmp_path, "--iris", "fake", "--json").stdout)["summary"]
        == "all clear"
    )


def test_any_backup_job_recovers_a_stale_freeze_before_its_own_work(tmp_path: Path) -> None:
    from backup_keeper.freeze_marker import FreezeMarker, write_marker

    fake = fake_of(tmp_path)
    fake.configure(frozen=True)
    import socket

    now = datetime.now(UTC)
    write_marker(
        tmp_path,
        FreezeMarker(
            host=socket.gethostname(),
            pid=NEVER_ALIVE_PID,
            started=now,
            expires=now + timedelta(hours=1),
        ),
    )
    done = cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert any("CRITICAL: the instance was left frozen" in w for w in report["warnings"])
    assert not fake.is_frozen()


def test_doctor_reports_a_foreign_freeze_without_touching_it(tmp_path: Path) -> None:
    fake = fake_of(tmp_path)
    fake.configure(frozen=True)
    report = json.loads(cli("doctor", "--dir", tmp_path, "--iris", "fake", "--json").stdout)
    assert report["status"] == "failed"
    assert any("no backup-keeper run froze it" in e for e in report["errors"])
    assert fake.is_frozen() and fake.snapshot().thaw_requests == 0


def test_doctor_under_a_held_instance_lock_reports_the_lock_and_no_foreign_freeze(
    tmp_path: Path,
) -> None:
    """A backup holding the lock may be an online backup in its last pass, which suspends the
    write daemon: that is no foreign freeze, and nothing is thawed."""
    from backup_keeper.jobs.locking import INSTANCE_LOCK

    fake = fake_of(tmp_path)
    fake.configure(frozen=True)
    assert fake.acquire_lock(INSTANCE_LOCK, 1)
    try:
        report = json.loads(cli("doctor", "--dir", tmp_path, "--iris", "fake", "--json").stdout)
    finally:
        fake.release_lock(INSTANCE_LOCK)
    assert report["status"] == "ok" and report["errors"] == []
    assert any("holds the instance lock" in w for w in report["warnings"])
    assert any("not a foreign freeze" in c for c in report["checked"])
    assert fake.is_frozen() and fake.snapshot().thaw_requests == 0


def backup_at(directory: Path, moment: datetime, kind: str = "full") -> None:
    """A backup taken at ``moment`` (the injectable clock), on the instance ``--iris fake`` uses:
    a test that needs time to pass says how much instead of sleeping through it."""
    report = run_online_backup(
        BackupSettings(directory=directory, kind=kind),
        iris=FakeIris(clock=fixed_clock(moment)),
        clock=fixed_clock(moment),
    )
    assert report.status is JobStatus.OK, report.errors


def test_check_freshness_exit_codes(tmp_path: Path) -> None:
    backup_at(tmp_path, datetime.now(UTC) - timedelta(hours=1))
    fresh = cli("check-freshness", "--dir", tmp_path, "--max-age", "26h", "--kind", "full")
    assert fresh.returncode == 0 and "backups are fresh" in fresh.stdout
    stale = cli("check-freshness", "--dir", tmp_path, "--max-age", "1h", "--kind", "full", "--json")
    assert stale.returncode == 1
    assert json.loads(stale.stdout)["errors"][0].startswith("newest completed full backup is")
    bad = cli("check-freshness", "--dir", tmp_path, "--max-age", "1s", "--kind", "weekly")
    assert bad.returncode == 2 and "--kind: " in bad.stderr


def test_alert_test_reports_each_channel(tmp_path: Path) -> None:
    from tests.unit.alerts.servers import smtp_server, webhook_server

    with smtp_server(tmp_path) as smtp, webhook_server() as hook:
        config = tmp_path / "alerts.toml"
        config.write_text(
            f"""
[alerts.email]
host = "127.0.0.1"
port = {smtp.port}
security = "plain"
sender = "iris@example.org"
recipients = ["ops@example.org"]

[[alerts.apprise]]
url = {{ env = "BK_HOOK" }}

[[alerts.apprise]]
url = {{ env = "BK_MISSING_HOOK" }}
"""
        )
        env = {"BK_HOOK": f"json://127.0.0.1:{hook.port}/hook"}
        done = subprocess.run(
            [sys.executable, "-m", "backup_keeper", "alert-test", "--config", str(config)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, **env},
        )
        assert len(smtp.mailbox.messages) == 1 and len(hook.received) == 1
    shown = done.stdout.replace("apprise json", "apprise-json").splitlines()
    assert shown[0].startswith("alert-test of the configured alert channels")
    assert shown[2].split() == ["CHANNEL", "OUTCOME"]
    lines = dict(line.split(None, 1) for line in shown[3 : shown.index("", 3)])
    assert done.returncode == 1  # one channel could not be built
    assert lines["email"].strip() == "delivered"
    assert lines["apprise-json"].strip() == "delivered"
    assert "environment variable BK_MISSING_HOOK is empty or not set" in done.stdout


def test_a_broken_config_file_is_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text("[alerts.email]\nhost = 1\n")
    done = cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--config", config)
    assert done.returncode == 2
    assert "alerts.email.host" in done.stderr and "alerts.email.sender" in done.stderr
    config.write_text("[alerts\n")
    assert "not valid TOML" in cli("alert-test", "--config", config).stderr


def test_restore_plan_on_a_broken_chain_names_the_missing_file_and_falls_back(
    tmp_path: Path,
) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    for hours, kind in enumerate(("full", "incremental", "incremental")):
        backup_at(tmp_path, start + timedelta(hours=hours), kind)
    middle = sorted(tmp_path.glob("*_incremental_*.cbk"))[0]
    middle.unlink()
    middle.with_name(middle.name + ".json").unlink()
    done = cli("restore-plan", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: restoring to " in done.stdout and middle.name in done.stdout
    assert "1. " in done.stdout and "_full_" in done.stdout and "EXTSELCT^DBREST" in done.stdout
    verify = cli("verify", tmp_path, "--json")
    assert verify.returncode == 1
    assert any(middle.name in e for e in json.loads(verify.stdout)["errors"])
    assert cli("restore", tmp_path, "--iris", "fake").returncode == 2  # --confirm is required
