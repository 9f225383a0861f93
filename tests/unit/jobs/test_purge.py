"""The purge job end to end on real directories, with an injected clock."""

from __future__ import annotations

import errno
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.record import BackupKind, BackupStatus
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.purge.executor import PurgeTarget
from backup_keeper.purge.intent import INTENT_NAME, PurgeIntent, write_intent
from backup_keeper.report import FileOutcome, JobReport, JobStatus
from backup_keeper.settings import PurgeSettings
from tests.builders import T0, directory_state, names, write_iris_backup, write_managed_backup

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iris_week(directory: Path) -> None:
    """Two weeks of IRIS's own tasks: a full each Sunday, incrementals on other days."""
    for day in range(1, 15):
        task = "FullDBList" if day in (1, 8) else "IncrementalDBList"
        write_iris_backup(directory, task, f"202611{day:02d}", day)


def purge(directory: Path | list[Path], *, dry_run: bool = False, **retention: object) -> JobReport:
    dirs = directory if isinstance(directory, list) else [directory]
    settings = PurgeSettings.model_validate(
        {"directories": dirs, "timezone": "UTC", "dry_run": dry_run, "retention": retention}
    )
    return run_purge(settings, clock=fixed_clock(NOW))


def test_dry_run_plans_chain_safe_deletions_and_changes_nothing(tmp_path: Path) -> None:
    iris_week(tmp_path)
    before = directory_state(tmp_path)
    report = purge(tmp_path, dry_run=True, keep_last=1)
    assert directory_state(tmp_path) == before
    assert report.status is JobStatus.OK and report.dry_run
    assert names([e.path for e in report.delete]) == [
        "FullDBList_20261101_001.cbk",
        *[f"IncrementalDBList_202611{d:02d}_{d:03d}.cbk" for d in range(2, 8)],
    ]
    assert {a.outcome for a in report.actions} == {FileOutcome.WOULD_DELETE}
    assert len(report.actions) == 14  # seven .cbk and their seven .log
    assert report.summary.startswith("dry run: would delete 7 backup(s)")


def test_purge_deletes_backup_with_its_log_and_sidecar_and_keeps_the_rest(tmp_path: Path) -> None:
    iris_week(tmp_path)
    old = write_managed_backup(
        tmp_path, "manual_old.cbk", BackupKind.FULL, T0 - timedelta(days=30), instance=None
    )
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.OK, report.errors
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        [f"FullDBList_20261108_008.{s}" for s in ("cbk", "log")]
        + [
            f"IncrementalDBList_202611{d:02d}_{d:03d}.{s}"
            for d in range(9, 15)
            for s in ("cbk", "log")
        ]
    )
    assert not old.exists() and not (tmp_path / "manual_old.log").exists()
    assert not (tmp_path / INTENT_NAME).exists()


def test_sidecar_goes_before_its_backup(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    report = purge(tmp_path, keep_last=1)
    assert [Path(a.path).name for a in report.actions] == ["a.cbk.json", "a.cbk", "a.log"]


def test_unmanaged_files_are_reported_and_never_touched(tmp_path: Path) -> None:
    iris_week(tmp_path)
    (tmp_path / "hand-made.cbk").write_bytes(b"x")
    os.utime(tmp_path / "hand-made.cbk", (0, 0))
    report = purge(tmp_path, keep_last=1)
    assert (tmp_path / "hand-made.cbk").exists()
    assert names([e.path for e in report.unmanaged]) == ["hand-made.cbk"]
    assert report.unmanaged[0].reasons[0] == "unmanaged: never deleted by a rule"


def test_file_that_changed_between_plan_and_delete_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backup_keeper.purge import executor

    iris_week(tmp_path)
    victim = tmp_path / "FullDBList_20261101_001.cbk"
    original = executor.delete_targets

    def grow_then_delete(targets: list[PurgeTarget], **kwargs: object) -> executor.Outcome:
        with victim.open("ab") as handle:
            handle.write(b"appended by someone else")
        (tmp_path / "IncrementalDBList_20261102_002.cbk").unlink()
        return original(targets, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("backup_keeper.jobs.purge.delete_targets", grow_then_delete)
    report = purge(tmp_path, keep_last=1)
    assert victim.exists()
    assert any(
        "FullDBList_20261101_001.cbk: not deleted: changed since it was planned" in w
        for w in report.warnings
    )
    assert any(
        "IncrementalDBList_20261102_002.cbk: not deleted: vanished" in w for w in report.warnings
    )
    assert not (tmp_path / "IncrementalDBList_20261103_003.cbk").exists()
    assert report.status is JobStatus.OK


def test_a_file_that_cannot_be_deleted_is_an_error_and_the_rest_still_goes(tmp_path: Path) -> None:
    iris_week(tmp_path)

    def remove(name: str, dir_fd: int) -> None:
        if name == "IncrementalDBList_20261103_003.cbk":
            raise OSError(errno.EROFS, "Read-only file system")
        os.unlink(name, dir_fd=dir_fd)

    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path], "timezone": "UTC", "retention": {"keep_last": 1}}
    )
    report = run_purge(settings, clock=fixed_clock(NOW), remove=remove)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"{tmp_path / 'IncrementalDBList_20261103_003.cbk'}: cannot delete: Read-only file system"
    ]
    assert (tmp_path / "IncrementalDBList_20261103_003.cbk").exists()
    assert not (tmp_path / "FullDBList_20261101_001.cbk").exists()
    # what failed is left in the intent, so the next run tries again
    intent = PurgeIntent.model_validate_json((tmp_path / INTENT_NAME).read_text())
    assert [e.name for e in intent.entries] == ["IncrementalDBList_20261103_003.cbk"]
    again = purge(tmp_path, keep_last=1)
    assert again.status is JobStatus.OK
    assert not (tmp_path / "IncrementalDBList_20261103_003.cbk").exists()
    assert not (tmp_path / INTENT_NAME).exists()


def test_sidecar_that_cannot_be_deleted_keeps_its_backup(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))

    def remove(name: str, dir_fd: int) -> None:
        if name.endswith(".json"):
            raise OSError(errno.EACCES, "Permission denied")
        os.unlink(name, dir_fd=dir_fd)

    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path], "retention": {"keep_last": 1}}
    )
    report = run_purge(settings, clock=fixed_clock(NOW), remove=remove)
    assert report.status is JobStatus.FAILED
    assert (tmp_path / "a.cbk").exists() and (tmp_path / "a.cbk.json").exists()


def test_interrupted_purge_is_finished_by_the_next_run(tmp_path: Path) -> None:
    a = write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    st = a.stat()
    write_intent(
        tmp_path,
        PurgeIntent(
            created=NOW - timedelta(hours=1),
            entries=[
                PurgeTarget(
                    tmp_path, "a.cbk", st.st_size, st.st_mtime_ns, ("a.cbk.json", "a.log")
                ).as_intent()
            ],
        ),
    )
    (tmp_path / "a.cbk.json").unlink()  # the crash came after the manifest went
    dry = purge(tmp_path, dry_run=True, keep_within="1000d")
    assert a.exists() and any("was interrupted; it would be finished" in w for w in dry.warnings)
    report = purge(tmp_path, keep_within="1000d")
    assert not a.exists() and not (tmp_path / "a.log").exists()
    assert (tmp_path / "b.cbk").exists()
    assert not (tmp_path / INTENT_NAME).exists()
    assert any("was interrupted; finishing it" in w for w in report.warnings)


def test_interrupted_purge_after_the_backup_went_removes_only_leftovers(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    (tmp_path / "a.log").write_text("left over")
    write_intent(
        tmp_path,
        PurgeIntent(
            created=NOW,
            entries=[PurgeTarget(tmp_path, "a.cbk", 1, 1, ("a.cbk.json", "a.log")).as_intent()],
        ),
    )
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.OK
    assert not (tmp_path / "a.log").exists()
    assert (tmp_path / "b.cbk").exists()


def test_corrupt_intent_stops_the_purge_before_anything_is_deleted(tmp_path: Path) -> None:
    iris_week(tmp_path)
    (tmp_path / INTENT_NAME).write_text("{not json")
    before = directory_state(tmp_path)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert "not a valid purge intent" in report.errors[0]
    assert directory_state(tmp_path) == before


def test_purging_a_purged_directory_deletes_nothing(tmp_path: Path) -> None:
    iris_week(tmp_path)
    purge(tmp_path, keep_last=1, keep_daily=3)
    before = directory_state(tmp_path)
    again = purge(tmp_path, keep_last=1, keep_daily=3)
    assert again.delete == [] and again.actions == []
    assert directory_state(tmp_path) == before


def test_failed_newest_backup_holds_the_purge(tmp_path: Path) -> None:
    iris_week(tmp_path)
    write_iris_backup(tmp_path, "IncrementalDBList", "20261115", 15, finished=False)
    report = purge(tmp_path, keep_last=1)
    assert report.delete == []
    assert any("held back" in w for w in report.warnings)


def test_begin_and_end_lines_are_logged_with_options(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    iris_week(tmp_path)
    with caplog.at_level(logging.INFO):
        purge(tmp_path, dry_run=True, keep_last=1, keep_within="2d")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("[dry run] purge begin 0.1.0: directories=[")
    assert "keep_last=1" in lines[0] and "keep_within=2d" in lines[0]
    assert "[dry run] would delete " + str(tmp_path / "FullDBList_20261101_001.cbk") in lines
    assert lines[-1].startswith("[dry run] purge end: ok: dry run: would delete 7 backup(s)")


def test_report_entries_have_absolute_paths_utc_times_and_reasons(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0, BackupStatus.COMPLETED)
    report = purge(tmp_path, dry_run=True, keep_last=1)
    data = report.model_dump(mode="json")
    (entry,) = data["keep"]
    assert entry["path"] == str(tmp_path / "a.cbk")
    assert entry["time"] == "2026-11-01T02:00:00Z"
    assert entry["reasons"] == [
        "keep_last 1: full #1 newest",
        "safety floor: newest completed full",
    ]
    for key in ("job", "status", "dry_run", "keep", "delete", "unmanaged", "warnings", "errors"):
        assert key in data


def test_unreadable_directory_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iris_week(tmp_path)

    def denied(path: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("backup_keeper.catalog.discover.os.scandir", denied)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("cannot read backups: [Errno 13] Permission denied")


def test_purge_that_cannot_record_its_intent_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iris_week(tmp_path)
    before = directory_state(tmp_path)

    def disk_full(directory: Path, intent: PurgeIntent) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("backup_keeper.jobs.purge.write_intent", disk_full)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        "cannot record what the purge will delete: [Errno 28] No space left on device"
    ]
    assert report.summary == "purge failed before deleting: nothing deleted"
    assert directory_state(tmp_path) == before


def test_intent_that_cannot_be_cleared_is_an_error_after_the_deletions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iris_week(tmp_path)

    def stuck(directory: Path) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("backup_keeper.jobs.purge.clear_intent", stuck)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert report.errors == ["cannot update the purge intent: [Errno 5] Input/output error"]
    assert not (tmp_path / "FullDBList_20261101_001.cbk").exists()
