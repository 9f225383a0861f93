"""Secrets never appear in a log line, a report, a manifest or a state file of a run."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backup_keeper.alerts.secrets import RedactingFilter, SecretError, SecretRef, redact
from backup_keeper.catalog.manifest import read_manifest, sidecar_path
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
    files = {
        p.name: p.read_text(errors="replace")
        for p in backups.rglob("*")
        if p.is_file() and p.suffix != ".cbk"
    }
    (cbk,) = backups.glob("*.cbk")  # the second run's backup; the first one failed
    sidecar = sidecar_path(cbk)
    read_manifest(sidecar, expected_file=cbk.name)  # a real manifest, among the files read:
    assert sidecar.name in files, sorted(files)
    outputs = [r.stdout + r.stderr for r in runs]
    outputs += files.values()
    outputs += [mail.as_string() for _, mail in smtp.mailbox.messages]
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


def test_a_password_sent_base64_encoded_is_redacted() -> None:
    """smtplib's debug output shows AUTH LOGIN's exchange: the password, base64-encoded."""
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    assert redact(f"send: '{encoded}\\r\\n'", [PASSWORD]) == "send: '<redacted>\\r\\n'"


def test_a_stack_logged_with_a_record_is_redacted_too() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", None, None)
    record.stack_info = f'Stack (most recent call last):\n  send("{PASSWORD}")'
    RedactingFilter([PASSWORD]).filter(record)
    assert record.stack_info == 'Stack (most recent call last):\n  send("<redacted>")'


USER = "bkuser77"
HOOK_PASSWORD = "Hook-Pa55-4471"
PATH_TOKEN = "PathTok-8812a"
QUERY_TOKEN = "QueryTok-5531b"
DEAD_PATH_TOKEN = "DeadPath-6629c"
DEAD_QUERY_TOKEN = "DeadQuery-7740d"
URL_SECRETS = (USER, HOOK_PASSWORD, PATH_TOKEN, QUERY_TOKEN, DEAD_PATH_TOKEN, DEAD_QUERY_TOKEN)


def hook_url(port: int, path_token: str = PATH_TOKEN, query_token: str = QUERY_TOKEN) -> str:
    """A json:// URL with every kind of secret: credentials, a path token, a query token
    (apprise's ``-name=value`` is a GET parameter of the request it makes)."""
    return f"json://{USER}:{HOOK_PASSWORD}@127.0.0.1:{port}/hook/{path_token}?-token={query_token}"


def backup_keeper(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backup_keeper", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=120,
    )


def apprise_config(tmp_path: Path, *env_names: str) -> Path:
    config = tmp_path / "backup-keeper.toml"
    hooks = "".join(f'[[alerts.apprise]]\nurl = {{ env = "{name}" }}\n' for name in env_names)
    config.write_text(f"[alerts]\nbackoff = 0\nretries = 0\n{hooks}")
    return config


def every_file_under(root: Path) -> list[str]:
    return [p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()]


def test_a_debug_run_shows_no_credential_path_token_or_query_token_of_any_apprise_url(
    tmp_path: Path, fake_state: Path
) -> None:
    """Through the CLI door: apprise and urllib3 log the URLs they use at debug level, rewritten
    (``****`` for the password, the request line without the scheme), so only a redaction that
    knows each part of a URL and scrubs URLs generically keeps them out."""
    from tests.unit.alerts.servers import closed_port

    backups = tmp_path / "backups"
    backups.mkdir()
    FakeIris().fail("online_backup", "return0")  # its messages.log is searched too
    config = apprise_config(tmp_path, "BK_HOOK", "BK_DEAD")
    with webhook_server() as hook, closed_port() as dead:
        env = {
            "BK_HOOK": hook_url(hook.port),
            "BK_DEAD": hook_url(dead, DEAD_PATH_TOKEN, DEAD_QUERY_TOKEN),
        }
        run = backup_keeper(
            "-vv", "backup", "--kind", "full", "--dir", str(backups), "--iris", "fake",
            "--config", str(config), "--json", env=env,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr
        assert len(hook.received) == 1
    assert f"JSON POST URL: http://127.0.0.1:{hook.port}/<redacted>" in run.stderr
    assert '"POST /' in run.stderr  # urllib3's request line was logged, and scrubbed
    assert "alert via apprise json failed" in run.stdout  # the dead hook's failure is reported
    assert any("backup-failed" in text for text in every_file_under(fake_state))
    for text in [
        run.stdout,
        run.stderr,
        *every_file_under(tmp_path),
        *every_file_under(fake_state),
    ]:
        for secret in URL_SECRETS:
            assert secret not in text


def test_an_apprise_url_apprise_rejects_is_named_by_its_scheme_and_host_only(
    tmp_path: Path,
) -> None:
    config = apprise_config(tmp_path, "BK_HOOK")
    rejected = f"foo://{USER}:{HOOK_PASSWORD}@hooks.example.org/{PATH_TOKEN}?key={QUERY_TOKEN}"
    run = backup_keeper(
        "backup", "--kind", "full", "--dir", str(tmp_path), "--iris", "fake",
        "--config", str(config), env={"BK_HOOK": rejected},
    )  # fmt: skip
    assert run.returncode == 2
    assert "apprise #1: apprise cannot use the URL foo://hooks.example.org" in run.stderr
    for secret in (USER, HOOK_PASSWORD, PATH_TOKEN, QUERY_TOKEN):
        assert secret not in run.stdout + run.stderr


def test_a_rejected_slack_url_hides_tokens_in_every_position_including_the_host(
    tmp_path: Path,
) -> None:
    """``slack://TokenA/TokenB/TokenC``: apprise's "host" is a token (as Telegram's or
    Pushbullet's is a bot or access token); a host that is no host name is not shown."""
    config = apprise_config(tmp_path, "BK_HOOK")
    tokens = ("T0A7H5K", "B0SL4CK9", "Malformed%ZZ-Tok3n")
    run = backup_keeper(
        "alert-test", "--config", str(config), env={"BK_HOOK": "slack://" + "/".join(tokens)}
    )
    assert run.returncode == 1
    assert "apprise cannot use the URL slack://<redacted>" in run.stdout
    for token in tokens:
        assert token not in run.stdout + run.stderr


def test_a_value_that_is_no_url_is_not_echoed(tmp_path: Path) -> None:
    config = apprise_config(tmp_path, "BK_HOOK")
    run = backup_keeper(
        "alert-test", "--config", str(config), env={"BK_HOOK": "not-a-url Pw-secret-1234"}
    )
    assert run.returncode == 1
    assert "apprise cannot use the URL (no scheme://; not shown)" in run.stdout
    assert "Pw-secret-1234" not in run.stdout + run.stderr


def test_an_smtp_server_echoing_the_username_and_password_is_redacted(tmp_path: Path) -> None:
    from backup_keeper.alerts.build import build_notifier
    from backup_keeper.alerts.events import alert_test_notice
    from backup_keeper.alerts.settings import AlertSettings

    username, password = "smtp-login-5521", "Smtp-Echo-Pa55-88"
    fake = FakeIris(tmp_path / "iris")
    fake.configure(credentials={"SMTP": password})
    reply = "535 5.7.8 login {login} with password {password} refused"
    with smtp_server(tmp_path, starttls=True, password=password, reject_reply=reply) as smtp:
        settings = AlertSettings.model_validate(
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "ca_file": smtp.ca_file,
                    "username": username,
                    "password": {"iris_credentials": "SMTP"},
                    "sender": "iris@example.org",
                    "recipients": ["ops@example.org"],
                },
                "retries": 0,
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
        outcome = notifier.send(alert_test_notice("IRIS"))["email"]
    assert "535" in outcome and "refused" in outcome
    console = "\n".join(text for _, text in fake.snapshot().console_log)
    assert "alert channel email failed" in console
    for text in (outcome, console):
        assert username not in text and password not in text


def scrubbed(text: str, *secrets: str) -> str:
    from backup_keeper.alerts.secrets import RedactingFilter

    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, "%s", (text,), None)
    RedactingFilter(secrets).filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Loaded JSON URL: json://someone:****@127.0.0.1:9/hook/P...a?-token=Q...b",
            "Loaded JSON URL: json://127.0.0.1:9/<redacted>",
        ),
        (
            "posting to https://hooks.slack.com/services/T000/B000/XXXX (cert_verify=True)",
            "posting to https://hooks.slack.com/<redacted> (cert_verify=True)",
        ),
        (
            "Could not load Slack URL: slack://T000/B000/X...Z",
            "Could not load Slack URL: slack://<redacted>/<redacted>",
        ),
        ("tgram://123456789:AAH-bot-token/4711", "tgram://<redacted>/<redacted>"),
        ("ldap://[::1]:389/dc=x?cn", "ldap://[::1]:389/<redacted>"),
        (
            'http://127.0.0.1:8080 "POST /hook/abc?token=zzz&x=1 HTTP/1.1" 200 2',
            'http://127.0.0.1:8080 "POST /hook/abc?<redacted> HTTP/1.1" 200 2',
        ),
        (
            "just a host: https://example.org/ and mailto:someone",
            "just a host: https://example.org/ and mailto:someone",
        ),
        (
            "no URL here: 2026-11-22T02:00:00+00:00 /backups/FULL_1.cbk",
            "no URL here: 2026-11-22T02:00:00+00:00 /backups/FULL_1.cbk",
        ),
    ],
)
def test_every_url_in_a_log_record_keeps_only_its_scheme_and_host(line: str, expected: str) -> None:
    assert scrubbed(line) == expected
    assert scrubbed(expected) == expected  # scrubbing what was scrubbed changes nothing


def test_each_part_of_a_configured_url_is_redacted_wherever_it_appears_alone() -> None:
    url = "slack://T0A7H5K/B0SL4CK9/Malformed-Tok3n?key=p%40ss%20word-9#frag-ment"
    line = "An invalid Slack (third) Token (Malformed-Tok3n) was specified; B0SL4CK9, T0A7H5K"
    assert scrubbed(line, url) == (
        "An invalid Slack (third) Token (<redacted>) was specified; <redacted>, <redacted>"
    )
    assert scrubbed("key p@ss word-9 and p%40ss%20word-9 and p%40ss+word-9", url) == (
        "key <redacted> and <redacted> and <redacted>"
    )
    assert scrubbed("frag-ment", url) == "<redacted>"
    assert scrubbed("a webhook, not a token: B0SL4CK9x", url) == "a webhook, not a token: B0SL4CK9x"


def test_a_configured_url_password_and_its_basic_auth_header_are_redacted() -> None:
    import base64

    url = f"json://{USER}:{HOOK_PASSWORD}@hooks.example.org/x"
    header = base64.b64encode(f"{USER}:{HOOK_PASSWORD}".encode()).decode()
    assert scrubbed(f"pw={HOOK_PASSWORD} auth=Basic {header}", url) == (
        "pw=<redacted> auth=Basic <redacted>"
    )
    assert scrubbed(f"the host hooks.example.org and user {USER}", url) == (
        f"the host hooks.example.org and user {USER}"
    )


def test_an_exception_logged_with_a_url_is_redacted() -> None:
    from tests.unit.alerts.redaction import add_root_handler, isolated_redaction

    with isolated_redaction():
        from backup_keeper.alerts.secrets import install_redaction

        _, buffer = add_root_handler()
        install_redaction([PATH_TOKEN])
        try:
            raise ConnectionError(f"Max retries exceeded with url: /hook/{PATH_TOKEN}?token=q1q2q3")
        except ConnectionError:
            logging.getLogger("urllib3").exception("request failed")
        mismatched = "%d: a format its arguments do not fit, with %s"
        logging.getLogger("urllib3").debug(mismatched, f"/p?token={QUERY_TOKEN}")
    text = buffer.getvalue()
    assert "a format its arguments do not fit" in text
    assert QUERY_TOKEN not in text
    assert "request failed" in text and "Traceback" in text and "ConnectionError" in text
    assert PATH_TOKEN not in text and "q1q2q3" not in text


def test_installing_redaction_twice_stacks_nothing_and_covers_handlers_added_later() -> None:
    from tests.unit.alerts.redaction import add_root_handler, isolated_redaction

    with isolated_redaction():
        from backup_keeper.alerts.secrets import RedactingFilter, install_redaction

        early, early_buffer = add_root_handler()
        install_redaction([HOOK_PASSWORD])
        factory = logging.getLogRecordFactory()
        install_redaction([HOOK_PASSWORD, PATH_TOKEN])
        assert logging.getLogRecordFactory() is factory
        assert [type(f) for f in early.filters] == [RedactingFilter]
        _, late_buffer = add_root_handler()
        logging.getLogger("urllib3").debug("sent %s and %s", HOOK_PASSWORD, PATH_TOKEN)
        logging.getLogger("apprise").info(f"posting {PATH_TOKEN}")
    for text in (early_buffer.getvalue(), late_buffer.getvalue()):
        assert text.count("<redacted>") == 3
        assert HOOK_PASSWORD not in text and PATH_TOKEN not in text


def test_through_the_task_manager_door_library_records_carry_no_secret(tmp_path: Path) -> None:
    """The door installs the redaction: urllib3's and apprise's debug lines of the alert it
    sends, and anything a library logs afterwards, through any handler, carry no secret."""
    import json

    from backup_keeper.tasks import run_task_with
    from tests.unit.alerts.redaction import add_root_handler, isolated_redaction

    fake = FakeIris(tmp_path / "iris")
    fake.fail("online_backup", "return0")
    (tmp_path / "backups").mkdir()
    config = apprise_config(tmp_path, "BK_TASK_HOOK")
    settings = json.dumps({"directory": str(tmp_path / "backups"), "kind": "full"})
    with isolated_redaction(), webhook_server() as hook:
        _, before = add_root_handler()
        os.environ["BK_TASK_HOOK"] = hook_url(hook.port)
        try:
            answer = json.loads(run_task_with("backup", settings, str(config), iris=fake))
        finally:
            del os.environ["BK_TASK_HOOK"]
        _, after = add_root_handler()
        logging.getLogger("urllib3").debug("retrying %s", hook_url(hook.port))
        assert answer["ok"] is False and len(hook.received) == 1
    assert '"POST /' in before.getvalue()  # urllib3 logged the request line
    assert "retrying json://127.0.0.1" in after.getvalue()
    for text in (before.getvalue(), after.getvalue(), json.dumps(answer)):
        for secret in (HOOK_PASSWORD, PATH_TOKEN, QUERY_TOKEN):
            assert secret not in text


def test_redaction_is_installed_once_even_when_another_library_wraps_the_record_factory() -> None:
    """A library (or IoP's runtime) that wraps the record factory after us must not make the
    next door call wrap it again: one redaction per process, however many messages arrive."""
    from tests.unit.alerts.redaction import isolated_redaction

    with isolated_redaction():
        from backup_keeper.alerts.secrets import install_redaction

        install_redaction([HOOK_PASSWORD])
        ours = logging.getLogRecordFactory()

        def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
            return ours(*args, **kwargs)

        logging.setLogRecordFactory(theirs)
        for _ in range(3):
            install_redaction([PATH_TOKEN])
        assert logging.getLogRecordFactory() is theirs
        record = logging.getLogRecordFactory()("x", logging.INFO, "f", 1, PATH_TOKEN, None, None)
        assert record.getMessage() == "<redacted>"
