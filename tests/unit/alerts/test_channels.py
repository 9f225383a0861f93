"""Each channel against a real server: STARTTLS with authentication, rejected authentication,
and the events and texts the notifier builds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_keeper.alerts.channels import ChannelError, EmailChannel, EnsAlertChannel, body, subject
from backup_keeper.alerts.events import (
    AlertEvent,
    AlertSeverity,
    EventKind,
    alert_test_notice,
    events_for,
)
from backup_keeper.alerts.settings import EmailSettings
from backup_keeper.report import JobReport, JobStatus
from tests.unit.alerts.servers import smtp_server

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def email_settings(port: int, **extra: object) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "sender": "iris@example.org",
            "recipients": ["ops@example.org"],
            **extra,
        }
    )


def test_starttls_with_authentication_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=True, password="Pa55-word-1") as smtp:
        channel = EmailChannel(
            email_settings(smtp.port, security="starttls", username="backup", ca_file=smtp.ca_file),
            "Pa55-word-1",
        )
        channel.deliver(alert_test_notice("IRIS"))
    assert smtp.mailbox.logins == [("backup", "ok")]
    assert len(smtp.mailbox.messages) == 1


def test_rejected_authentication_is_a_channel_error_without_the_password(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=True, password="right-one") as smtp:
        channel = EmailChannel(
            email_settings(
                smtp.port, security="starttls", username="backup", ca_file=smtp.ca_file, timeout=2
            ),
            "wrong-one-xyz",
        )
        with pytest.raises(ChannelError) as caught:
            channel.deliver(alert_test_notice("IRIS"))
    assert "wrong-one-xyz" not in str(caught.value)
    assert smtp.mailbox.messages == []


def test_starttls_against_an_untrusted_certificate_fails(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=True) as smtp:
        channel = EmailChannel(email_settings(smtp.port, security="starttls"), None)
        with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED"):
            channel.deliver(alert_test_notice("IRIS"))


def test_nothing_listening_fails_within_the_timeout(tmp_path: Path) -> None:
    from tests.unit.alerts.servers import closed_port

    with closed_port() as port:
        channel = EmailChannel(email_settings(port, security="plain", timeout=2), None)
        with pytest.raises(ChannelError, match="Connection refused"):
            channel.deliver(alert_test_notice("IRIS"))


def test_ens_alert_channel_hands_the_text_to_the_production() -> None:
    sent: list[str] = []
    EnsAlertChannel(sent.append, AlertSeverity.ERROR).deliver(alert_test_notice("IRIS"))
    assert sent and sent[0].startswith("[backup-keeper] ERROR test on IRIS")


def report(
    job: str, status: JobStatus, *, errors: Sequence[str] = (), warnings: Sequence[str] = ()
) -> JobReport:
    r = JobReport(job=job, started=NOW, status=status, summary=f"{job} {status}")
    r.errors, r.warnings = list(errors), list(warnings)
    return r


@pytest.mark.parametrize(
    ("job_report", "expected"),
    [
        (
            report("backup", JobStatus.FAILED, errors=["x"]),
            [(EventKind.BACKUP_FAILED, AlertSeverity.ERROR)],
        ),
        (
            report("backup", JobStatus.OK, warnings=["w"]),
            [(EventKind.BACKUP_WARNING, AlertSeverity.WARNING)],
        ),
        (report("backup", JobStatus.OK), []),
        (
            report("purge", JobStatus.FAILED, errors=["x"]),
            [(EventKind.PURGE_FAILED, AlertSeverity.ERROR)],
        ),
        (
            report("check-freshness", JobStatus.FAILED, errors=["x"]),
            [(EventKind.BACKUPS_STALE, AlertSeverity.ERROR)],
        ),
        (
            report(
                "snapshot",
                JobStatus.FAILED,
                errors=["ExternalFreeze failed, the instance is not frozen: x"],
            ),
            [(EventKind.FREEZE_FAILED, AlertSeverity.ERROR)],
        ),
        (
            report(
                "snapshot",
                JobStatus.FAILED,
                errors=["CRITICAL: the instance may still be frozen (x)"],
            ),
            [
                (EventKind.THAW_FAILED, AlertSeverity.CRITICAL),
                (EventKind.BACKUP_FAILED, AlertSeverity.ERROR),
            ],
        ),
        (
            report(
                "thaw", JobStatus.FAILED, errors=["CRITICAL: the instance may still be frozen (x)"]
            ),
            [(EventKind.THAW_FAILED, AlertSeverity.CRITICAL)],
        ),
        (
            report(
                "backup",
                JobStatus.OK,
                warnings=[
                    "CRITICAL: the instance was left frozen by pid 1; it has been thawed now."
                ],
            ),
            [(EventKind.THAW_FAILED, AlertSeverity.CRITICAL)],
        ),
        (
            report("verify", JobStatus.FAILED, errors=["x"]),
            [(EventKind.VERIFY_FAILED, AlertSeverity.ERROR)],
        ),
    ],
)
def test_events_for_reports(
    job_report: JobReport, expected: list[tuple[EventKind, AlertSeverity]]
) -> None:
    assert [(e.kind, e.severity) for e in events_for(job_report, "IRIS", NOW)] == expected


def test_subject_and_body_name_the_instance_the_job_and_what_to_do() -> None:
    event = AlertEvent(
        kind=EventKind.THAW_FAILED,
        severity=AlertSeverity.CRITICAL,
        instance="PROD",
        job="thaw",
        summary="still frozen",
        time=NOW,
    )
    assert subject(event) == "[backup-keeper] CRITICAL thaw-failed on PROD (thaw): still frozen"
    text = body(event)
    assert "Instance: PROD" in text and "backup-keeper thaw" in text


def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with smtp_server(tmp_path, implicit_tls=True) as smtp:
        EmailChannel(email_settings(smtp.port, security="ssl", ca_file=smtp.ca_file), None).deliver(
            alert_test_notice("IRIS")
        )
    assert len(smtp.mailbox.messages) == 1


def test_the_smtp_password_can_come_from_iris_credentials(tmp_path: Path) -> None:
    from backup_keeper.alerts.build import build_notifier
    from backup_keeper.alerts.settings import AlertSettings
    from backup_keeper.iris.fake import FakeIris

    fake = FakeIris(tmp_path / "iris")
    fake.configure(credentials={"BackupKeeperSMTP": "cred-Pa55"})
    with smtp_server(tmp_path, starttls=True, password="cred-Pa55") as smtp:
        settings = AlertSettings.model_validate(
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "ca_file": smtp.ca_file,
                    "username": "u",
                    "password": {"iris_credentials": "BackupKeeperSMTP"},
                    "sender": "iris@example.org",
                    "recipients": ["ops@example.org"],
                }
            }
        )
        notifier, problems = build_notifier(
            settings,
            instance="IRIS",
            iris=fake,
            state_dir=None,
            credentials=fake.credentials_password,
        )
        assert problems == []
        assert notifier.send(alert_test_notice("IRIS"))["email"] == "delivered"
        assert settings.email is not None and settings.email.password is not None
        missing = settings.model_copy(
            update={
                "email": settings.email.model_copy(
                    update={
                        "password": settings.email.password.model_copy(
                            update={"iris_credentials": "nope"}
                        )
                    }
                )
            }
        )
        _, problems = build_notifier(
            missing,
            instance="IRIS",
            iris=fake,
            state_dir=None,
            credentials=fake.credentials_password,
        )
        assert problems and "IRIS credentials nope" in problems[0]
