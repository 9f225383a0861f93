"""Business operations instantiated directly, as IoP itself tests them, with FakeIris for the
instance and, for IoP's runtime, the ``production`` stand-in (tests/unit/interop/production.py):
the Ens alerts they raise and what they log are the real calls, recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from iop.messages.dispatch import create_dispatch, dispatch_message

from backup_keeper.interop.messages import (
    BackupRequest,
    BackupResult,
    CopyRequest,
    CopyResult,
    FreshnessRequest,
    MetricsRequest,
    PurgeRequest,
    PurgeResult,
)
from backup_keeper.interop.operations import (
    AlertOperation,
    BackupOperation,
    CopyOperation,
    ExternalBackupOperation,
    PurgeOperation,
)
from backup_keeper.iris.fake import FakeIris
from tests.copy_builders import copies_of, local_chain
from tests.unit.interop.production import AlertRequest, BusinessHost, ProductionIris, production

__all__ = ["production"]


def make(cls: type[Any], tmp_path: Path, **settings: object) -> tuple[Any, list[str]]:
    """The operation as IRIS makes it (``__new__``, settings copied on), its business host
    recording the Ens alerts it raises; needs the ``production`` fixture."""
    op: Any = object.__new__(cls)  # IRIS never runs __init__
    op._iris_port = FakeIris(tmp_path / "iris")
    op.iris_handle = BusinessHost()
    for key, value in settings.items():
        setattr(op, key, value)
    return op, op.iris_handle.texts


def console(op: Any) -> list[str]:
    """What the operation's instance wrote to its messages.log."""
    return [text for _, text in op._iris_port.snapshot().console_log]


def test_backup_operation_takes_a_backup_and_answers_with_the_report(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory=str(tmp_path))
    result = op.backup(BackupRequest(kind="full"))
    assert isinstance(result, BackupResult)
    assert result.ok and result.report.backup is not None and result.report.backup.kind == "full"
    assert alerts == []


def test_a_failed_backup_answers_not_ok_and_raises_an_ens_alert(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory=str(tmp_path))
    op._iris_port.fail("online_backup", "return0")
    result = op.backup(BackupRequest())
    assert not result.ok
    assert alerts and alerts[0].startswith(
        "backup-keeper backup failed: backup failed: IRIS reported"
    )


def test_bad_settings_are_a_failed_result_not_an_exception(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory="", kind="weekly")
    result = op.backup(BackupRequest())
    assert not result.ok and "kind" in result.summary and "directory" in result.summary
    assert len(alerts) == 1


def test_purge_and_freshness_requests(tmp_path: Path, production: ProductionIris) -> None:
    backup, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    for _ in range(3):
        assert backup.backup(BackupRequest()).ok
    op, alerts = make(PurgeOperation, tmp_path, directory=str(tmp_path), keep_last=1, keep_daily=0)
    dry = op.purge(PurgeRequest(dry_run=True))
    assert isinstance(dry, PurgeResult) and dry.ok and dry.report.dry_run
    assert op.check_freshness(FreshnessRequest(max_age="26h")).ok
    assert alerts == []


def test_a_metrics_request_publishes_the_snapshot_the_monitor_shows(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, alerts = make(PurgeOperation, tmp_path, directory=str(tmp_path))
    result = op.metrics(MetricsRequest())
    assert result.ok, result.summary
    assert result.report.job == "metrics"
    sensors = {row.sensor for row in op._iris_port.snapshot().metrics}
    assert "restorable_chains" in sensors
    assert alerts == []


def test_after_a_purge_the_snapshot_is_already_fresh(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, _ = make(PurgeOperation, tmp_path, directory=str(tmp_path), keep_last=1, keep_daily=0)
    assert op._iris_port.snapshot().metrics == []
    result = op.purge(PurgeRequest())
    assert result.ok, result.summary
    rows = {row.sensor: row.value for row in op._iris_port.snapshot().metrics}
    assert rows["last_purge_freed_bytes"] == 0


def test_external_backup_operation_runs_its_command(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, _ = make(ExternalBackupOperation, tmp_path, directory=str(tmp_path), command="echo snap-1")
    result = op.snapshot(
        __import__("backup_keeper.interop.messages", fromlist=["x"]).ExternalBackupRequest(
            label="t"
        )
    )
    assert (
        result.ok
        and result.report.backup is not None
        and result.report.backup.snapshot_id == "snap-1"
    )


def test_dispatch_routes_each_message_type_to_its_handler(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, _ = make(PurgeOperation, tmp_path, directory=str(tmp_path))
    create_dispatch(op)  # what IoP does in OnInit: fills op.DISPATCH
    keys = dict(op.DISPATCH)
    assert keys["backup_keeper.interop.messages.PurgeRequest"] == "purge"
    assert keys["backup_keeper.interop.messages.FreshnessRequest"] == "check_freshness"
    answer = dispatch_message(op, PurgeRequest(dry_run=True))
    assert isinstance(answer, PurgeResult)


@pytest.mark.parametrize(
    "cls", [BackupOperation, ExternalBackupOperation, PurgeOperation, CopyOperation]
)
def test_portal_settings_have_categories_descriptions_and_no_secrets(cls: type[Any]) -> None:
    props = {p[0]: p for p in cls._get_properties()}
    assert "_iris_port" not in props and "iris_port" not in props
    for name, (_, _, _, _, category, description, _) in props.items():
        assert category and description, name
        assert "password" not in name and "token" not in name
    assert props["alerts_config"][4] == "Alerting"


@pytest.mark.parametrize("keep_last", ["٣", "３", "three"])
def test_a_portal_count_that_is_not_ascii_digits_is_refused_and_nothing_is_purged(
    tmp_path: Path, keep_last: str, production: ProductionIris
) -> None:
    backup, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    for _ in range(3):
        assert backup.backup(BackupRequest()).ok
    before = sorted(p.name for p in tmp_path.iterdir())
    op, alerts = make(PurgeOperation, tmp_path, directory=str(tmp_path), keep_last=keep_last)
    result = op.purge(PurgeRequest())
    assert not result.ok and "keep_last" in result.summary
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert len(alerts) == 1


def test_through_an_operation_library_records_carry_no_secret(
    tmp_path: Path, production: ProductionIris
) -> None:
    """The operation installs the redaction: urllib3's debug lines of the alert it sends, and
    anything a library logs afterwards, through a handler added later, carry no secret."""
    import logging
    import os

    from tests.unit.alerts.redaction import add_root_handler, isolated_redaction
    from tests.unit.alerts.servers import webhook_server
    from tests.unit.alerts.test_secrets import (
        HOOK_PASSWORD,
        PATH_TOKEN,
        QUERY_TOKEN,
        apprise_config,
        hook_url,
    )

    config = apprise_config(tmp_path, "BK_OP_HOOK")
    op, _ = make(BackupOperation, tmp_path, directory=str(tmp_path), alerts_config=str(config))
    op._iris_port.fail("online_backup", "return0")
    with isolated_redaction(), webhook_server() as hook:
        _, before = add_root_handler()
        os.environ["BK_OP_HOOK"] = hook_url(hook.port)
        try:
            result = op.backup(BackupRequest())
        finally:
            del os.environ["BK_OP_HOOK"]
        _, after = add_root_handler()
        logging.getLogger("urllib3").debug("retrying %s", hook_url(hook.port))
        assert not result.ok and len(hook.received) == 1
    assert '"POST /' in before.getvalue()
    assert "retrying json://127.0.0.1" in after.getvalue()
    for text in (before.getvalue(), after.getvalue(), result.model_dump_json()):
        for secret in (HOOK_PASSWORD, PATH_TOKEN, QUERY_TOKEN):
            assert secret not in text


def test_a_failed_job_raises_its_ens_alert_through_the_business_host(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    op._iris_port.fail("online_backup", "return0")
    assert not op.backup(BackupRequest()).ok
    (request,) = op.iris_handle.alerts
    assert request.SourceConfigName == "BackupOperation"
    assert request.AlertText.startswith("backup-keeper backup failed: backup failed: IRIS")


def test_an_ens_alert_the_production_refuses_is_logged_and_the_result_still_answers(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    op.iris_handle.status = "no Ens.Alert"
    op._iris_port.fail("online_backup", "return0")
    result = op.backup(BackupRequest())
    assert not result.ok and result.summary.startswith("backup failed")
    errors = [text for level, host, text in production.log if level == 2]
    assert errors == ["Ens alert not raised: ERROR #5001: no Ens.Alert"]


def test_the_alert_operation_sends_each_ens_alert_request_through_the_channels(
    tmp_path: Path, production: ProductionIris
) -> None:
    import os

    from tests.unit.alerts.servers import webhook_server

    config = tmp_path / "alerts.toml"
    config.write_text(
        "[alerts]\nretries = 0\nbackoff = 0\n[alerts.ens_alert]\n"
        '[[alerts.apprise]]\nurl = { env = "BK_ALERT_OP" }\n'
    )
    with webhook_server() as hook:
        os.environ["BK_ALERT_OP"] = f"json://127.0.0.1:{hook.port}/hook"
        try:
            op, _ = make(AlertOperation, tmp_path, alerts_config=str(config))
            request = AlertRequest(SourceConfigName="SomeService", AlertText="disk full")
            op.on_message(request)
        finally:
            del os.environ["BK_ALERT_OP"]
        assert len(hook.received) == 1
        assert "SomeService" in hook.received[0]["title"]
        assert "disk full" in hook.received[0]["title"]
    assert op.iris_handle.alerts == []  # Ens.Alert never sends to itself
    assert any("disk full" in line for line in console(op))
    assert production.log == []


def test_the_alert_operation_logs_a_channel_that_failed_and_still_writes_messages_log(
    tmp_path: Path, production: ProductionIris
) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text(
        '[alerts]\nretries = 0\nbackoff = 0\n[[alerts.apprise]]\nurl = { env = "BK_DEAD" }\n'
    )
    import os

    from tests.unit.alerts.servers import closed_port

    with closed_port() as dead:
        os.environ["BK_DEAD"] = f"json://127.0.0.1:{dead}/hook"
        try:
            op, _ = make(AlertOperation, tmp_path, alerts_config=str(config))
            op.on_message(AlertRequest(SourceConfigName="", AlertText=""))
        finally:
            del os.environ["BK_DEAD"]
    warnings = [text for level, host, text in production.log if level == 3]
    assert len(warnings) == 1 and warnings[0].startswith("alert via apprise json: ")
    assert any("(no text)" in line for line in console(op))


def test_the_alert_operation_with_a_broken_alerts_file_still_writes_messages_log(
    tmp_path: Path, production: ProductionIris
) -> None:
    config = tmp_path / "alerts.toml"
    config.write_text("[alerts\n")
    op, _ = make(AlertOperation, tmp_path, alerts_config=str(config))
    op.on_message(AlertRequest(SourceConfigName="X", AlertText="queue stuck"))
    assert any("queue stuck" in line for line in console(op))
    errors = [text for level, host, text in production.log if level == 2]
    assert len(errors) == 1 and "not valid TOML" in errors[0]


def test_what_an_operation_answers_is_the_report_json_the_cli_prints(
    tmp_path: Path, production: ProductionIris
) -> None:
    """A file name that is not UTF-8 holds surrogates JSON cannot carry: the answer goes
    through ``report_json`` as ``--json`` does, so IoP can always serialize it."""
    import json
    import os

    from iop.messages.dispatch import dispatch_serializer

    from backup_keeper.report import report_data

    (tmp_path / "keep.txt").write_text("x")
    Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff-old.cbk")).write_bytes(b"x")
    op, _ = make(PurgeOperation, tmp_path, directory=str(tmp_path))
    result = op.purge(PurgeRequest(dry_run=True))
    sent = json.loads(dispatch_serializer(result).json)
    assert sent["report"] == report_data(result.report)
    assert any("\\xff-old.cbk" in entry["path"] for entry in sent["report"]["unmanaged"])


def test_copy_operation_copies_the_directory_to_its_destination_then_purges_there(
    tmp_path: Path, production: ProductionIris
) -> None:
    backups, share = tmp_path / "backups", tmp_path / "share"
    backups.mkdir()
    share.mkdir()
    local_chain(backups, "FIIFII", size=1024)
    url = f"file://{share}"
    op, alerts = make(CopyOperation, tmp_path, directory=str(backups), destination_url=url)
    planned = op.copy(CopyRequest(dry_run=True))
    assert isinstance(planned, CopyResult) and planned.ok, planned.summary
    assert list(share.iterdir()) == []
    op.keep_last = 1
    answer = op.copy(CopyRequest())
    assert answer.ok, answer.summary
    assert answer.summary.startswith("copied 6 backup(s)")
    assert answer.report.options["keep_last"] == 1
    assert copies_of(backups, "keeper_I_005.cbk") == [f"{url}/PROD/"]
    kept = sorted(p.name for p in (share / "PROD").glob("*.cbk"))
    assert kept == ["keeper_F_003.cbk", "keeper_I_004.cbk", "keeper_I_005.cbk"]
    assert alerts == []


def test_copy_operation_without_a_destination_is_refused_and_alerts(
    tmp_path: Path, production: ProductionIris
) -> None:
    op, alerts = make(CopyOperation, tmp_path, directory=str(tmp_path), destination_url="")
    answer = op.copy(CopyRequest())
    assert not answer.ok
    assert "nothing was done" in answer.summary and "to.destination.url" in answer.summary
    assert len(alerts) == 1


def test_copy_operation_refuses_a_url_with_a_password_without_repeating_it(
    tmp_path: Path, production: ProductionIris
) -> None:
    url = "sftp://keeper:hunter2-secret@host/offsite"
    op, alerts = make(CopyOperation, tmp_path, directory=str(tmp_path), destination_url=url)
    answer = op.copy(CopyRequest())
    assert not answer.ok and "password" in answer.summary
    assert "hunter2" not in answer.model_dump_json() + "".join(alerts)
