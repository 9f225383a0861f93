"""Secrets never appear in a log line, a report, a manifest or a state file of a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backup_keeper.alerts.secrets import SecretError, SecretRef, redact
from backup_keeper.iris.fake import FakeIris
from tests.unit.alerts.servers import smtp_server, webhook_server

PASSWORD = "Smtp-Pa55word-7781"
TOKEN = "hook-token-ABCDEF987654"


def test_every_output_of_a_run_is_free_of_the_configured_secrets(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    secret_file = tmp_path / "smtp.secret"
    secret_file.write_text(PASSWORD + "\n")
    with smtp_server(tmp_path, starttls=True, password=PASSWORD) as smtp, webhook_server() as hook:
        config = tmp_path / "backup-keeper.toml"
        config.write_text(
            f"""
[alerts]
backoff = 0
[alerts.email]
host = "127.0.0.1"
port = {smtp.port}
security = "starttls"
ca_file = "{smtp.ca_file}"
username = "backup"
password = {{ file = "{secret_file}" }}
sender = "iris@example.org"
recipients = ["ops@example.org"]
min_severity = "info"
[[alerts.apprise]]
url = {{ env = "BK_HOOK" }}
"""
        )
        env = {**os.environ, "BK_HOOK": f"json://backup:{TOKEN}@127.0.0.1:{hook.port}/hook"}
        FakeIris().fail("online_backup", "return0")
        runs = []
        for _ in range(2):
            runs.append(
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "backup_keeper",
                        "-vv",
                        "backup",
                        "--kind",
                        "full",
                        "--dir",
                        str(backups),
                        "--iris",
                        "fake",
                        "--config",
                        str(config),
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                    timeout=120,
                )
            )
            FakeIris().heal("online_backup")
        assert [r.returncode for r in runs] == [1, 0], runs[0].stderr
        assert len(smtp.mailbox.messages) == 2  # the failure and the recovery (email takes info+)
        assert smtp.mailbox.logins == [("backup", "ok"), ("backup", "ok")]
        assert len(hook.received) == 1
    outputs = [r.stdout + r.stderr for r in runs]
    outputs += [
        p.read_text(errors="replace")
        for p in backups.rglob("*")
        if p.is_file() and p.suffix != ".cbk"
    ]
    outputs += [mail.as_string() for _, mail in smtp.mailbox.messages]
    assert any(
        "manifest" in text or "format" in text for text in outputs
    )  # the manifest is among them
    for text in outputs:
        assert PASSWORD not in text
        assert TOKEN not in text


def test_secret_references_read_env_and_file_and_say_where_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BK_SECRET", "from-env")
    assert SecretRef(env="BK_SECRET").read() == "from-env"
    (tmp_path / "s").write_text("from-file\n")
    assert SecretRef(file=tmp_path / "s").read() == "from-file"
    assert SecretRef(iris_credentials="smtp").read(lambda name: f"cred-{name}") == "cred-smtp"
    monkeypatch.delenv("BK_SECRET")
    with pytest.raises(SecretError, match="environment variable BK_SECRET is empty or not set"):
        SecretRef(env="BK_SECRET").read()
    with pytest.raises(SecretError, match="only read inside IRIS"):
        SecretRef(iris_credentials="smtp").read()
    with pytest.raises(ValueError, match="exactly one of"):
        SecretRef(env="A", file=tmp_path / "s")


def test_redact_replaces_longest_secrets_first() -> None:
    assert redact("a abcd-efgh b abcd", ["abcd", "abcd-efgh"]) == "a <redacted> b <redacted>"


def test_the_log_filter_redacts_library_records(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from backup_keeper.alerts.secrets import RedactingFilter

    logger = logging.getLogger("apprise.test")
    caplog.handler.addFilter(RedactingFilter([TOKEN]))
    with caplog.at_level(logging.DEBUG):
        logger.debug("posting to json://backup:%s@127.0.0.1/hook", TOKEN)
    assert caplog.messages == ["posting to json://backup:<redacted>@127.0.0.1/hook"]
