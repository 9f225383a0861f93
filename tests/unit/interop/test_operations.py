"""Business operations instantiated directly, as IoP itself tests them, with FakeIris."""

from __future__ import annotations

from pathlib import Path

import pytest
from iop.messages.dispatch import create_dispatch, dispatch_message

from backup_keeper.interop.messages import (
    BackupRequest,
    BackupResult,
    FreshnessRequest,
    PurgeRequest,
    PurgeResult,
)
from backup_keeper.interop.operations import (
    BackupOperation,
    ExternalBackupOperation,
    PurgeOperation,
)
from backup_keeper.iris.fake import FakeIris


def make(cls: type, tmp_path: Path, **settings: object) -> tuple[object, list[str]]:
    op = cls.__new__(cls)  # IRIS never runs __init__
    op._iris_port = FakeIris(tmp_path / "iris")
    alerts: list[str] = []
    op._send_alert = alerts.append
    for key, value in settings.items():
        setattr(op, key, value)
    return op, alerts


def test_backup_operation_takes_a_backup_and_answers_with_the_report(tmp_path: Path) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory=str(tmp_path))
    result = op.do_backup(BackupRequest(kind="full"))
    assert isinstance(result, BackupResult)
    assert result.ok and result.report.backup is not None and result.report.backup.kind == "full"
    assert alerts == []


def test_a_failed_backup_answers_not_ok_and_raises_an_ens_alert(tmp_path: Path) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory=str(tmp_path))
    op._iris_port.fail("online_backup", "return0")  # type: ignore[attr-defined]
    result = op.do_backup(BackupRequest())
    assert not result.ok
    assert alerts and alerts[0].startswith(
        "backup-keeper backup failed: backup failed: IRIS reported"
    )


def test_bad_settings_are_a_failed_result_not_an_exception(tmp_path: Path) -> None:
    op, alerts = make(BackupOperation, tmp_path, directory="", kind="weekly")
    result = op.do_backup(BackupRequest())
    assert not result.ok and "kind" in result.summary and "directory" in result.summary
    assert len(alerts) == 1


def test_purge_and_freshness_requests(tmp_path: Path) -> None:
    backup, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    for _ in range(3):
        assert backup.do_backup(BackupRequest()).ok
    op, alerts = make(PurgeOperation, tmp_path, directory=str(tmp_path), keep_last=1, keep_daily=0)
    dry = op.do_purge(PurgeRequest(dry_run=True))
    assert isinstance(dry, PurgeResult) and dry.ok and dry.report.dry_run
    assert op.do_freshness(FreshnessRequest(max_age="26h")).ok
    assert alerts == []


def test_external_backup_operation_runs_its_command(tmp_path: Path) -> None:
    op, _ = make(ExternalBackupOperation, tmp_path, directory=str(tmp_path), command="echo snap-1")
    result = op.do_snapshot(
        __import__("backup_keeper.interop.messages", fromlist=["x"]).ExternalBackupRequest(
            label="t"
        )
    )
    assert (
        result.ok
        and result.report.backup is not None
        and result.report.backup.snapshot_id == "snap-1"
    )


def test_dispatch_routes_each_message_type_to_its_handler(tmp_path: Path) -> None:
    op, _ = make(PurgeOperation, tmp_path, directory=str(tmp_path))
    create_dispatch(op)  # what IoP does in OnInit: fills op.DISPATCH
    keys = dict(op.DISPATCH)
    assert keys["backup_keeper.interop.messages.PurgeRequest"] == "do_purge"
    assert keys["backup_keeper.interop.messages.FreshnessRequest"] == "do_freshness"
    answer = dispatch_message(op, PurgeRequest(dry_run=True))
    assert isinstance(answer, PurgeResult)


@pytest.mark.parametrize("cls", [BackupOperation, ExternalBackupOperation, PurgeOperation])
def test_portal_settings_have_categories_descriptions_and_no_secrets(cls: type) -> None:
    props = {p[0]: p for p in cls._get_properties()}
    assert "_iris_port" not in props and "iris_port" not in props
    for name, (_, _, _, _, category, description, _) in props.items():
        assert category and description, name
        assert "password" not in name and "token" not in name
    assert props["alerts_config"][4] == "Alerting"


@pytest.mark.parametrize("keep_last", ["٣", "３", "three"])
def test_a_portal_count_that_is_not_ascii_digits_is_refused_and_nothing_is_purged(
    tmp_path: Path, keep_last: str
) -> None:
    backup, _ = make(BackupOperation, tmp_path, directory=str(tmp_path))
    for _ in range(3):
        assert backup.do_backup(BackupRequest()).ok
    before = sorted(p.name for p in tmp_path.iterdir())
    op, alerts = make(PurgeOperation, tmp_path, directory=str(tmp_path), keep_last=keep_last)
    result = op.do_purge(PurgeRequest())
    assert not result.ok and "keep_last" in result.summary
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert len(alerts) == 1


def test_through_an_operation_library_records_carry_no_secret(tmp_path: Path) -> None:
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
    op._iris_port.fail("online_backup", "return0")  # type: ignore[attr-defined]
    with isolated_redaction(), webhook_server() as hook:
        _, before = add_root_handler()
        os.environ["BK_OP_HOOK"] = hook_url(hook.port)
        try:
            result = op.do_backup(BackupRequest())
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
