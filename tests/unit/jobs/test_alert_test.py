"""The alert-test job: one test notice per channel, each channel's outcome in ``checked``, and
what is allowed but unsafe said out loud."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_keeper.alerts.settings import AlertSettings, load_alert_settings
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs.alert_test import NO_CHANNEL, AlertTestSettings, run_alert_test
from tests.unit.alerts.redaction import isolated_redaction
from tests.unit.alerts.servers import closed_port
from tests.unit.cli.test_app import cli

PLAIN_WITH_PASSWORD = """
[alerts]
retries = 0
backoff = 0
[alerts.email]
host = "127.0.0.1"
port = {port}
security = "plain"
username = "alerts"
password = {{ env = "BK_SMTP_PASSWORD" }}
sender = "iris@example.org"
recipients = ["ops@example.org"]
"""


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port where no SMTP server listens, held for the test."""
    with closed_port() as port:
        yield port


def alerts_file(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "alerts.toml"
    config.write_text(text)
    return config


class Recorded(logging.Handler):
    """Every message its logger emits, as that logger's own handlers see it: before a root
    handler's filter (one an earlier test in this process left there) rewrites it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_password_over_plain_smtp_is_warned_about_in_the_report_and_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead_port: int
) -> None:
    monkeypatch.setenv("BK_SMTP_PASSWORD", "Smtp-Pa55-9917")
    config = alerts_file(tmp_path, PLAIN_WITH_PASSWORD.format(port=dead_port))
    settings = AlertTestSettings(alerts=load_alert_settings(config))
    recorded, logger = Recorded(), logging.getLogger("backup_keeper.alerts.build")
    logger.addHandler(recorded)
    try:
        with isolated_redaction():  # no earlier test's secrets
            report = run_alert_test(settings, iris=FakeIris(tmp_path / "iris"))
    finally:
        logger.removeHandler(recorded)
    warning = 'alerts.email: security = "plain" with a password'
    assert [w for w in report.warnings if w.startswith(warning)] == report.warnings != []
    assert "unencrypted" in report.warnings[0]
    assert [m for m in recorded.messages if m.startswith(warning)] == [report.warnings[0]]
    assert "Smtp-Pa55-9917" not in "".join(recorded.messages) + report.model_dump_json()


def test_plain_smtp_without_a_password_is_no_warning(tmp_path: Path, dead_port: int) -> None:
    text = PLAIN_WITH_PASSWORD.format(port=dead_port).replace(
        'password = { env = "BK_SMTP_PASSWORD" }\n', ""
    )
    report = run_alert_test(
        AlertTestSettings(alerts=load_alert_settings(alerts_file(tmp_path, text)))
    )
    assert report.warnings == []
    assert report.status == "failed"  # nobody listens on that port
    assert any(line.startswith("email: ") for line in report.errors)


def test_the_alert_test_cli_prints_the_plain_password_warning(
    tmp_path: Path, dead_port: int
) -> None:
    config = alerts_file(tmp_path, PLAIN_WITH_PASSWORD.format(port=dead_port))
    done = cli("alert-test", "--config", config, env={"BK_SMTP_PASSWORD": "Smtp-Pa55-9917"})
    assert done.returncode == 1  # nothing listens: not delivered
    assert 'backup-keeper alert-test: alerts.email: security = "plain" with a password' in (
        done.stderr
    )
    assert "Smtp-Pa55-9917" not in done.stdout + done.stderr


def test_only_messages_log_is_a_failed_test_naming_what_to_add(tmp_path: Path) -> None:
    report = run_alert_test(AlertTestSettings(alerts=AlertSettings()), iris=FakeIris(tmp_path))
    assert report.status == "failed" and report.errors == [NO_CHANNEL]
    assert report.checked == ["messages.log: delivered"]
    assert report.job == "alert-test"


def test_a_channel_that_cannot_be_built_is_a_finding_not_a_refusal(tmp_path: Path) -> None:
    config = alerts_file(tmp_path, '[alerts]\n[[alerts.apprise]]\nurl = { env = "BK_UNSET_X" }\n')
    report = run_alert_test(AlertTestSettings(alerts=load_alert_settings(config)))
    assert report.status == "failed"
    assert report.checked[-1] == (
        "apprise #1: not delivered: environment variable BK_UNSET_X is empty or not set"
    )
