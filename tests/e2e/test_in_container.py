"""End to end, inside the container: the installed module, each task run once, each request
sent through the production. Needs IRIS: run it as

    docker compose up -d
    docker compose exec iris env BACKUP_KEEPER_INSIDE_IRIS=1 BACKUP_KEEPER_E2E=1 \\
        irispython -m pytest /home/irisowner/dev/tests/e2e -p no:cacheprovider

Skipped everywhere else, with that instruction.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("BACKUP_KEEPER_E2E"),
    reason="end-to-end suite: run inside the container (docker compose exec iris env "
    "BACKUP_KEEPER_INSIDE_IRIS=1 BACKUP_KEEPER_E2E=1 irispython -m pytest tests/e2e)",
)

BACKUPS = Path(os.environ.get("BACKUP_KEEPER_E2E_DIR", "/backups"))
TASKS = ("nightly full", "incremental", "daily purge", "freshness check")


def _task_id(iris: object, name: str) -> str:
    return str(iris.cls("%SYS.Task").FindId(f"backup-keeper {name}"))  # type: ignore[attr-defined]


def test_each_installed_task_runs_once_and_records_success() -> None:
    import iris

    iris.system.Process.SetNamespace("%SYS")
    for name in TASKS:
        task_id = _task_id(iris, name)
        assert task_id, f"task {name} not installed"
        iris.check_status(iris.cls("%SYS.Task").RunNow(task_id))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        statuses = [iris.cls("%SYS.Task")._OpenId(_task_id(iris, n)).LastResult for n in TASKS]
        if all(statuses):
            break
        time.sleep(5)
    assert list(BACKUPS.glob("backup-keeper_full_*.cbk")), "the full backup task wrote no .cbk"


def test_requests_through_the_production_answer_with_reports() -> None:
    from iop import Director  # type: ignore[attr-defined]

    from backup_keeper.interop.messages import BackupRequest, PurgeRequest

    director = Director()
    backup = director.test_component("BackupOperation", BackupRequest(kind="full"))
    assert backup.ok, backup.summary
    purge = director.test_component("PurgeOperation", PurgeRequest(dry_run=True))
    assert purge.ok, purge.summary
