"""End to end, inside the container docker-compose.yml builds: the module IPM installed, the
production running, each Task Manager task run once, each request sent through the production.

Needs IRIS, so it runs only where ``tools/e2e.sh`` (and ``.github/workflows/iris.yml``, which
calls it) runs it: the script installs ``tests/e2e/requirements.txt`` into the container apart
from the instance's packages, then runs ``irispython -m pytest tests/e2e`` with
``BACKUP_KEEPER_E2E=1`` and ``BACKUP_KEEPER_INSIDE_IRIS=1``; the image sets ``IRISNAMESPACE``,
the variable irispython reads to start in BACKUPKEEPER. Skipped everywhere else, saying so.

IRIS facts (sources):
- ``%SYS.Task``: ``RunNow(id)`` starts a task at once and returns a %Status; ``Resume(id)``
  ends a suspension (the installer creates the tasks suspended); both shown run on live
  instances in public code. Tasks are found by SQL on ``%SYS.Task`` by Name and TaskClass, as
  the installer does (names are not unique).
- ``%SYS.Task.History`` (class reference, 2024.1 text in caretdev/docs-intersystems
  ``ref/2024.1/%SYS/Task/History.cls``): one row per event, ``Task`` (the task's ID),
  ``Status`` (the %Status the run returned), ``Error`` ("Untrapped error from User task, or
  Success"), ``LastFinished`` ($H, 0 = never finished). A run is judged by the row it adds.
- IoP 4.1: ``iop.Director.test_component`` is deprecated (a DeprecationWarning, an error under
  this project's pytest settings); ``iop.runtime.director.test_component`` replaces it. It sends
  through ``EnsLib.Testing.Service``, which needs the production's Testing Enabled (IRIS docs,
  "Testing Productions": "testing must be enabled for the production").
  ``iop.runtime.director.status_production`` answers the running production and its state.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    not (os.environ.get("BACKUP_KEEPER_E2E") and os.environ.get("BACKUP_KEEPER_INSIDE_IRIS")),
    reason="end-to-end suite: needs IRIS; run tools/e2e.sh (Docker), which runs it inside the "
    "container with BACKUP_KEEPER_E2E=1 and BACKUP_KEEPER_INSIDE_IRIS=1",
)

PRODUCTION = "BackupKeeper.Production"
BACKUPS = Path(os.environ.get("BACKUP_KEEPER_E2E_DIR", "/backups"))
TASK_DEADLINE_SECONDS = float(os.environ.get("BACKUP_KEEPER_E2E_TASK_DEADLINE", "900"))
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class InstalledTask:
    """A task BackupKeeper.Installer creates, and the file its run must leave (glob)."""

    name: str
    task_class: str
    leaves: str | None


TASKS = (
    InstalledTask("backup-keeper nightly full", "BackupKeeper.Task.OnlineBackup", "*_full_*.cbk"),
    # The job may promote an incremental to a full (the instance's last backup decides): any new
    # .cbk is the incremental's.
    InstalledTask("backup-keeper incremental", "BackupKeeper.Task.OnlineBackup", "*.cbk"),
    InstalledTask("backup-keeper daily purge", "BackupKeeper.Task.Purge", None),
    InstalledTask("backup-keeper freshness check", "BackupKeeper.Task.FreshnessCheck", None),
    InstalledTask("backup-keeper metrics", "BackupKeeper.Task.Metrics", None),
)


@dataclass(frozen=True)
class HistoryRow:
    row_id: int
    status: str
    error: str


def _iris() -> Any:
    import iris

    return iris


def _in_namespace(namespace: str) -> str:
    """Switches the process to ``namespace``; answers the one it left."""
    process = _iris().system.Process
    previous = str(process.NameSpace())
    process.SetNamespace(namespace)
    return previous


def _rows(sql: str, *args: object) -> list[list[Any]]:
    return [list(row) for row in _iris().sql.exec(sql, *args)]


def _task_id(task: InstalledTask) -> str:
    rows = _rows(
        "SELECT ID FROM %SYS.Task WHERE Name = ? AND TaskClass = ?", task.name, task.task_class
    )
    assert len(rows) == 1, (
        f"{task.name}: expected one installed task of {task.task_class}, found {rows}"
    )
    return str(rows[0][0])


def _history_high_water() -> int:
    rows = _rows("SELECT MAX(ID) FROM %SYS_Task.History")
    return int(rows[0][0] or 0)


def _finished_run(task_id: str, after: int) -> HistoryRow | None:
    rows = _rows(
        "SELECT ID, Status, Error FROM %SYS_Task.History "
        "WHERE Task = ? AND ID > ? AND LastFinished <> '0' ORDER BY ID",
        task_id,
        after,
    )
    if not rows:
        return None
    row_id, status, error = rows[-1]
    return HistoryRow(int(row_id), str(status), str(error))


def _run_once(task: InstalledTask) -> HistoryRow:
    """Resumes the task (installed suspended), runs it now, and waits for the history row its run
    adds; fails when none comes before the deadline. Leaves the task suspended again."""
    iris = _iris()
    task_id = _task_id(task)
    iris.check_status(iris.cls("%SYS.Task").Resume(task_id))
    try:
        high_water = _history_high_water()
        iris.check_status(iris.cls("%SYS.Task").RunNow(task_id))
        deadline = time.monotonic() + TASK_DEADLINE_SECONDS
        while (row := _finished_run(task_id, high_water)) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"{task.name}: no run finished within {TASK_DEADLINE_SECONDS:.0f} s")
            time.sleep(POLL_SECONDS)
        return row
    finally:
        iris.cls("%SYS.Task").Suspend(task_id)


def _new_files(pattern: str, before: set[Path]) -> list[Path]:
    return [path for path in BACKUPS.glob(pattern) if path not in before]


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.name)
def test_each_installed_task_runs_once_and_its_history_row_says_success(
    task: InstalledTask,
) -> None:
    """Proves the installer's task exists once (by name and class), that the Task Manager runs it
    when resumed and started, and that the run ended in success (its %Status OK and Error
    "Success") within the deadline, leaving the backup file a backup task must write. Any task
    that does not finish, or finishes failed, fails this test. Runs in the order of TASKS (the
    incremental after the full)."""
    iris = _iris()
    before = set(BACKUPS.glob(task.leaves)) if task.leaves else set()
    home = _in_namespace("%SYS")
    try:
        row = _run_once(task)
        ok = bool(iris.system.Status.IsOK(row.status))
        text = "" if ok else str(iris.system.Status.GetErrorText(row.status))
    finally:
        _in_namespace(home)
    assert ok and row.error == "Success", f"{task.name} failed: {row.error} {text}"
    if task.leaves:
        assert _new_files(task.leaves, before), f"{task.name} succeeded but wrote no {task.leaves}"


def test_the_production_is_running_with_testing_enabled() -> None:
    """Proves the image started BackupKeeper.Production with the instance (auto-start, set by
    iris.script) and that test requests can reach its items (Testing Enabled)."""
    from iop.runtime.director import status_production

    state = status_production()  # type: ignore[no-untyped-call]
    assert (state["Production"], state["Status"]) == (PRODUCTION, "running"), state
    iris = _iris()
    production = iris.cls("Ens.Config.Production")._OpenId(PRODUCTION)
    assert production is not None and production.TestingEnabled, (
        f"{PRODUCTION} has Testing Enabled off: the production definition "
        "(src/backup_keeper/production_definition/) must declare testing_enabled=True for test requests (EnsLib.Testing.Service) to reach its items"
    )


def test_backup_and_purge_requests_through_the_production_answer_with_reports() -> None:
    """Proves the production's BackupOperation takes a full backup and PurgeOperation plans a
    purge when sent IoP messages, each answering a JobResult that says it succeeded."""
    from iop.runtime.director import test_component

    from backup_keeper.interop.messages import BackupRequest, JobResult, PurgeRequest

    before = set(BACKUPS.glob("*_full_*.cbk"))
    backup = test_component("BackupOperation", BackupRequest(kind="full"))  # type: ignore[no-untyped-call]
    assert isinstance(backup, JobResult), backup
    assert backup.ok, backup.summary
    assert _new_files("*_full_*.cbk", before), "BackupOperation answered ok but wrote no full"
    purge = test_component("PurgeOperation", PurgeRequest(dry_run=True))  # type: ignore[no-untyped-call]
    assert isinstance(purge, JobResult), purge
    assert purge.ok, purge.summary
