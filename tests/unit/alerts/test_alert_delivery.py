"""Alerts reach people through real servers on loopback: an SMTP server and a webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.alerts.build import build_notifier
from backup_keeper.alerts.notifier import AlertNotifier
from backup_keeper.alerts.settings import AlertSettings
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_online_backup
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings
from tests.unit.alerts.servers import smtp_server, webhook_server

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def make_notifier(
    tmp_path: Path, fake: FakeIris, smtp_port: int, hook_port: int, at: datetime, **email: object
) -> AlertNotifier:
    settings = AlertSettings.model_validate(
        {
            "email": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "security": "plain",
                "sender": "iris@example.org",
                "recipients": ["ops@example.org", "dba@example.org"],
                **email,
            },
            "apprise": [{"url": {"env": "BK_TEST_HOOK"}}],
            "state_file": tmp_path / "alerts.json",
            "backoff": 0,
        }
    )
    notifier, problems = build_notifier(
        settings, instance="IRIS", iris=fake, state_dir=None, clock=fixed_clock(at)
    )
    assert problems == []
    return notifier


def test_a_failed_backup_sends_one_email_and_one_webhook_and_a_repeat_inside_the_window_sends_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    target = tmp_path / "backups"
    target.mkdir()
    fake.fail("online_backup", "return0")
    with smtp_server(tmp_path) as smtp, webhook_server() as hook:
        monkeypatch.setenv("BK_TEST_HOOK", f"json://127.0.0.1:{hook.port}/alerts")
        for hours in (0, 1):
            at = NOW + timedelta(hours=hours)
            report = run_online_backup(
                BackupSettings(directory=target, kind="full"),
                iris=fake,
                notifier=make_notifier(tmp_path, fake, smtp.port, hook.port, at),
                clock=fixed_clock(at),
            )
            assert report.status is JobStatus.FAILED
        assert len(smtp.mailbox.messages) == 1
        recipients, mail = smtp.mailbox.messages[0]
        assert recipients == ["ops@example.org", "dba@example.org"]
        assert mail["Subject"].startswith("[backup-keeper] ERROR backup-failed on IRIS (backup):")
        payload = mail.get_payload(decode=True)
        assert isinstance(payload, bytes)
        text = payload.decode()
        assert "Instance: IRIS" in text and "What to do next: Read the backup log" in text
        assert "IRIS backup log:" in text
        assert len(hook.received) == 1
        assert hook.received[0]["title"].startswith("[backup-keeper] ERROR backup-failed on IRIS")
        assert "What to do next" in hook.received[0]["message"]
    console = [m for sev, m in fake.snapshot().console_log if "backup-failed" in m]
    assert len(console) == 1


def test_the_first_success_after_a_failure_sends_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    target = tmp_path / "backups"
    target.mkdir()
    with smtp_server(tmp_path) as smtp, webhook_server() as hook:
        monkeypatch.setenv("BK_TEST_HOOK", f"json://127.0.0.1:{hook.port}/alerts")
        fake.fail("online_backup", "return0")
        outcomes = []
        for hours, heal in ((0, False), (1, True), (2, False)):
            if heal:
                fake.heal("online_backup")
            at = NOW + timedelta(hours=hours)
            notifier = make_notifier(tmp_path, fake, smtp.port, hook.port, at, min_severity="info")
            outcomes.append(
                run_online_backup(
                    BackupSettings(directory=target, kind="full", timezone="Asia/Tokyo"),
                    iris=fake,
                    notifier=notifier,
                    clock=fixed_clock(at),
                ).status
            )
        assert outcomes == [JobStatus.FAILED, JobStatus.OK, JobStatus.OK]
        subjects = [mail["Subject"] for _, mail in smtp.mailbox.messages]
        assert len(subjects) == 2
        assert " ".join(subjects[1].split()).startswith(
            "[backup-keeper] INFO recovered on IRIS (backup): backup works again "
            "(failing since 2026-11-22 11:00:00 JST)"
        ), subjects[1]
        assert len(hook.received) == 1  # the webhook only takes errors and worse


def test_a_channel_that_is_down_falls_back_to_messages_log_and_never_changes_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    target = tmp_path / "backups"
    target.mkdir()
    fake.fail("online_backup", "warn")
    with smtp_server(tmp_path) as smtp, webhook_server() as hook:
        monkeypatch.setenv("BK_TEST_HOOK", f"json://127.0.0.1:{hook.port}/alerts")
        smtp.stop()  # the mail relay goes down before the night it is needed
        hook.stop()
        notifier = make_notifier(tmp_path, fake, smtp.port, hook.port, NOW)
        report = run_online_backup(
            BackupSettings(directory=target, kind="full"),
            iris=fake,
            notifier=notifier,
            clock=fixed_clock(NOW),
        )
    assert report.status is JobStatus.OK  # a warning backup stays a good backup
    assert any(w.startswith("alert via email failed: SMTP 127.0.0.1") for w in report.warnings)
    console = [
        (sev, m) for sev, m in fake.snapshot().console_log if "alert channel email failed" in m
    ]
    assert console and console[0][0] == 2
