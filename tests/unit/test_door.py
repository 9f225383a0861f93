"""The three doors (the CLI, a Task Manager task, an Interoperability operation) given the same
settings and the same alerts file do the same thing: the same status, the same files on disk,
the same alerts delivered. The door layer builds the notifier once for all of them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backup_keeper.interop.messages import BackupRequest
from backup_keeper.interop.operations import BackupOperation
from backup_keeper.iris.fake import FakeIris
from backup_keeper.tasks import run_task_with
from tests.unit.alerts.redaction import isolated_redaction
from tests.unit.alerts.servers import WebhookServer, webhook_server
from tests.unit.cli.test_app import cli
from tests.unit.interop.production import BusinessHost, ProductionIris, production

__all__ = ["production"]


@dataclass(frozen=True)
class Outcome:
    status: str
    refused: bool
    on_disk: tuple[str, ...]
    alerts_delivered: int


@dataclass(frozen=True)
class Setup:
    directory: Path
    fake_state: Path
    config: str
    fail_backup: bool


def on_disk(directory: Path) -> tuple[str, ...]:
    """The files a run left, digits (times, sizes) masked: the same run on two doors."""
    if not directory.is_dir():
        return ("(no directory)",)
    return tuple(sorted(re.sub("[0-9]", "0", p.name) for p in directory.iterdir()))


def via_cli(setup: Setup) -> tuple[str, str]:
    args: list[str | Path] = ["backup", "--kind", "full", "--dir", setup.directory]
    args += ["--iris", "fake", "--json"]
    args += ["--keep-last", "7", "--failed-older-than", "7d"]  # the operation's defaults
    args += ["--config", setup.config] if setup.config else []
    done = cli(*args, env={"BACKUP_KEEPER_FAKE_STATE": str(setup.fake_state)})
    report = json.loads(done.stdout)
    assert done.returncode == {"ok": 0, "failed": 1}[report["status"]] or done.returncode == 2
    return report["status"], report["summary"]


def via_task(setup: Setup) -> tuple[str, str]:
    retention = {"keep_last": 7, "failed_older_than": "7d"}  # the operation's defaults
    settings = json.dumps(
        {"directory": str(setup.directory), "kind": "full", "retention": retention}
    )
    answer = json.loads(
        run_task_with("backup", settings, setup.config, iris=FakeIris(setup.fake_state))
    )
    return answer["report"]["status"], answer["summary"]


def via_operation(setup: Setup) -> tuple[str, str]:
    op = BackupOperation.__new__(BackupOperation)  # IRIS never runs __init__
    op._iris_port = FakeIris(setup.fake_state)
    op.iris_handle = BusinessHost()
    op.directory, op.kind, op.alerts_config = str(setup.directory), "full", setup.config
    result = op.backup(BackupRequest())
    assert result.ok is (result.report.status != "failed")
    return result.report.status, result.summary


DOORS: dict[str, Callable[[Setup], tuple[str, str]]] = {
    "cli": via_cli,
    "task": via_task,
    "operation": via_operation,
}


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        yield server


def run_each_door(
    tmp_path: Path, hook: WebhookServer, config_text: str | None, *, fail: bool, directory: str
) -> dict[str, Outcome]:
    outcomes = {}
    os.environ["BK_DOOR_HOOK"] = f"json://127.0.0.1:{hook.port}/hook"
    try:
        for name, door in DOORS.items():
            root = tmp_path / name
            (root / "backups").mkdir(parents=True)
            config = ""
            if config_text is not None:
                (root / "alerts.toml").write_text(config_text)
                config = str(root / "alerts.toml")
            setup = Setup(root / directory, root / "iris", config, fail)
            if fail:
                FakeIris(setup.fake_state).fail("online_backup", "return0")
            before = len(hook.received)
            with isolated_redaction():  # the secrets this door reads stay in this test
                status, summary = door(setup)
            outcomes[name] = Outcome(
                status,
                "nothing was done" in summary,
                on_disk(root / "backups"),
                len(hook.received) - before,
            )
    finally:
        del os.environ["BK_DOOR_HOOK"]
    return outcomes


GOOD = '[alerts]\nretries = 0\nbackoff = 0\n[[alerts.apprise]]\nurl = { env = "BK_DOOR_HOOK" }\n'
UNSET_SECRET = '[alerts]\n[[alerts.apprise]]\nurl = { env = "BK_DOOR_NOT_SET" }\n'
NOT_TOML = "[alerts\n"
WRONG_VALUE = "[alerts.email]\nhost = 1\n"


@pytest.mark.parametrize(
    ("config", "fail", "directory", "expected"),
    [
        (GOOD, False, "backups", ("ok", False, 1, 0)),
        (GOOD, True, "backups", ("failed", False, 0, 1)),
        (None, False, "backups", ("ok", False, 1, 0)),
        (UNSET_SECRET, False, "backups", ("failed", True, 0, 0)),
        (NOT_TOML, False, "backups", ("failed", True, 0, 0)),
        (WRONG_VALUE, True, "backups", ("failed", True, 0, 0)),
        (GOOD, False, "no-such-directory", ("failed", True, 0, 0)),
    ],
    ids=["good", "good-failing", "none", "unset-secret", "not-toml", "wrong-value", "bad-dir"],
)
def test_every_door_does_the_same_with_the_same_settings(
    tmp_path: Path,
    hook: WebhookServer,
    production: ProductionIris,
    config: str | None,
    fail: bool,
    directory: str,
    expected: tuple[str, bool, int, int],
) -> None:
    outcomes = run_each_door(tmp_path, hook, config, fail=fail, directory=directory)
    assert outcomes["task"] == outcomes["cli"], outcomes
    assert outcomes["operation"] == outcomes["cli"], outcomes
    status, refused, backups_taken, delivered = expected
    cli_outcome = outcomes["cli"]
    assert (cli_outcome.status, cli_outcome.refused) == (status, refused)
    assert sum(name.endswith(".cbk") for name in cli_outcome.on_disk) == backups_taken
    assert cli_outcome.alerts_delivered == delivered


def test_every_job_has_one_name_in_the_cli_the_registry_the_operations_and_its_report(
    tmp_path: Path, production: ProductionIris
) -> None:
    from iop.messages.dispatch import create_dispatch

    from backup_keeper.cli.app import app
    from backup_keeper.door import JOBS
    from backup_keeper.interop.operations import (
        CopyOperation,
        ExternalBackupOperation,
        PurgeOperation,
    )

    commands = {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}
    assert set(JOBS) <= commands
    handlers = set()
    for cls in (BackupOperation, ExternalBackupOperation, PurgeOperation, CopyOperation):
        op = cls.__new__(cls)
        create_dispatch(op)
        handlers |= {method for _, method in op.DISPATCH}
    assert {name.replace("-", "_") for name in JOBS} - {"alert_test"} == handlers
    snapshot = json.loads(
        run_task_with(
            "snapshot",
            json.dumps({"directory": str(tmp_path), "command": ["true"]}),
            "",
            iris=FakeIris(tmp_path / "iris"),
        )
    )
    assert snapshot["report"]["job"] == "snapshot", snapshot["summary"]
    fresh = json.loads(
        run_task_with(
            "check-freshness",
            json.dumps({"directories": [str(tmp_path)], "max_age": "1d"}),
            "",
            iris=FakeIris(tmp_path / "iris"),
        )
    )
    assert fresh["report"]["job"] == "check-freshness", fresh["summary"]
