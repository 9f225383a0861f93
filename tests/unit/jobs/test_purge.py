"""The purge job end to end on real directories, with an injected clock."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.manifest import Manifest, write_manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.cli.render import render_purge
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.kinds import BackupKind
from backup_keeper.last_run import LastPurge, read_last
from backup_keeper.purge.executor import PurgeTarget
from backup_keeper.purge.intent import INTENT_NAME, PurgeIntent, write_intent
from backup_keeper.purge.lock import LOCK_NAME
from backup_keeper.report import FileOutcome, JobReport, JobStatus
from backup_keeper.settings import PurgeSettings
from tests.builders import T0, directory_state, names, write_iris_backup, write_managed_backup
from tests.hang_guard import fails_if_blocked

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iris_week(directory: Path) -> None:
    """Two weeks of IRIS's own tasks: a full each Sunday, incrementals on other days."""
    for day in range(1, 15):
        task = "FullDBList" if day in (1, 8) else "IncrementalDBList"
        write_iris_backup(directory, task, f"202611{day:02d}", day)


def purge(
    directory: Path | list[Path], *, dry_run: bool = False, zone: str = "UTC", **retention: object
) -> JobReport:
    dirs = directory if isinstance(directory, list) else [directory]
    settings = PurgeSettings.model_validate(
        {"directories": dirs, "timezone": zone, "dry_run": dry_run, "retention": retention}
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
    left = sorted(p.name for p in tmp_path.iterdir() if p.name not in (LOCK_NAME, LastPurge.NAME))
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


def test_the_backup_goes_before_its_sidecar_and_log(tmp_path: Path) -> None:
    """So a purge killed in between never leaves a .cbk without its manifest (an unmanaged file
    no rule may delete), only leftovers the next run removes."""
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    report = purge(tmp_path, keep_last=1)
    assert [Path(a.path).name for a in report.actions] == ["a.cbk", "a.cbk.json", "a.log"]


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

    def grow_then_delete(targets: executor.Targets, **kwargs: object) -> executor.Outcome:
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
    # its base is gone now: the plan keeps it until failed_older_than, so the run keeps it too
    kept = purge(tmp_path, keep_last=1)
    assert kept.status is JobStatus.OK
    assert (tmp_path / "IncrementalDBList_20261103_003.cbk").exists()
    assert any("named by an interrupted purge, but the current plan" in w for w in kept.warnings)
    write_intent(tmp_path, intent)
    again = purge(tmp_path, keep_last=1, failed_older_than="1d")
    assert again.status is JobStatus.OK
    assert not (tmp_path / "IncrementalDBList_20261103_003.cbk").exists()
    assert not (tmp_path / "IncrementalDBList_20261103_003.log").exists()
    (finished,) = again.delete
    assert finished.reasons[-1] == "finishes the purge interrupted at 2026-11-20 12:00:00 UTC"
    assert not (tmp_path / INTENT_NAME).exists()


def test_a_backup_that_cannot_be_deleted_keeps_its_sidecar_and_log(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))

    def remove(name: str, dir_fd: int) -> None:
        if name.endswith(".cbk"):
            raise OSError(errno.EACCES, "Permission denied")
        os.unlink(name, dir_fd=dir_fd)

    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path], "retention": {"keep_last": 1}}
    )
    report = run_purge(settings, clock=fixed_clock(NOW), remove=remove)
    assert report.status is JobStatus.FAILED
    assert (tmp_path / "a.cbk").exists() and (tmp_path / "a.cbk.json").exists()
    assert (tmp_path / "a.log").exists()


def test_a_sidecar_left_by_a_failed_deletion_is_removed_by_the_next_run(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))

    def remove(name: str, dir_fd: int) -> None:
        if name.endswith(".json"):
            raise OSError(errno.EIO, "Input/output error")
        os.unlink(name, dir_fd=dir_fd)

    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path], "retention": {"keep_last": 1}}
    )
    first = run_purge(settings, clock=fixed_clock(NOW), remove=remove)
    assert first.status is JobStatus.FAILED
    assert not (tmp_path / "a.cbk").exists() and (tmp_path / "a.cbk.json").exists()
    assert first.summary.startswith("deleted 1 of 1 backup(s)")
    again = run_purge(settings, clock=fixed_clock(NOW))
    assert again.status is JobStatus.OK, again.errors
    assert not (tmp_path / "a.cbk.json").exists()
    assert [Path(a.path).name for a in again.actions] == ["a.cbk.json"]
    assert "finished an interrupted purge of 1 backup(s)" in again.summary
    assert not (tmp_path / INTENT_NAME).exists()


def test_a_backup_left_without_its_manifest_by_an_older_version_is_kept_and_named(
    tmp_path: Path,
) -> None:
    """The old order removed the manifest first: a .cbk left so is unmanaged, and no intent
    can make the purge delete what no rule may."""
    a = write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    plant_intent(tmp_path, entry(a, "a.cbk.json", "a.log"))
    (tmp_path / "a.cbk.json").unlink()  # the crash came after the manifest went
    dry = purge(tmp_path, dry_run=True, keep_within="1000d")
    assert any("was interrupted; it would be finished" in w for w in dry.warnings)
    report = purge(tmp_path, keep_within="1000d")
    assert a.exists() and (tmp_path / "a.log").exists()
    assert names([e.path for e in report.unmanaged]) == ["a.cbk"]
    assert any(
        w == f"{a}: named by an interrupted purge, but the current plan does not delete it: kept"
        for w in report.warnings
    )
    assert any("was interrupted; finishing it" in w for w in report.warnings)
    assert not (tmp_path / INTENT_NAME).exists()


def test_an_interrupted_purge_is_told_in_the_instances_zone(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    (tmp_path / "a.log").write_text("left over")
    target = PurgeTarget(tmp_path, "a.cbk", 1, 1, ("a.cbk.json", "a.log"))
    write_intent(tmp_path, PurgeIntent(created=NOW, entries=[target.as_intent()]))
    report = purge(tmp_path, zone="Asia/Tokyo", keep_last=1)
    assert f"{tmp_path}: a purge started at 2026-11-20 21:00:00 JST was interrupted; " in "".join(
        report.warnings
    ), report.warnings
    assert [a.detail for a in report.actions if "a.log" in a.path] == [
        "left by a purge interrupted at 2026-11-20 21:00:00 JST"
    ]


def test_purge_reasons_and_warnings_give_times_in_the_instances_zone(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, NOW - timedelta(hours=1))
    write_managed_backup(tmp_path, "z.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    report = purge(tmp_path, dry_run=True, zone="Asia/Tokyo", keep_within="1d")
    reasons = {names([e.path])[0]: e.reasons for e in report.keep}
    assert "keep_within 1d: newer than 2026-11-19 21:00:00 JST" in reasons["a.cbk"]
    assert "dated after now (2026-11-20 21:00:00 JST): never removed" in reasons["z.cbk"]
    assert any(
        w.startswith("1 backup(s) dated after now (2026-11-20 21:00:00 JST)")
        for w in (report.warnings)
    ), report.warnings


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
    before = files_state(tmp_path)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert "not a valid purge intent" in report.errors[0]
    assert files_state(tmp_path) == before


@pytest.mark.parametrize("planted", ["symlink", "directory"])
def test_an_intent_that_cannot_be_read_stops_the_purge_and_is_never_taken_for_none(
    tmp_path: Path, planted: str
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    iris_week(backups)
    elsewhere = plant_intent(tmp_path)  # a valid intent, outside the directory
    if planted == "symlink":
        (backups / INTENT_NAME).symlink_to(elsewhere)
    else:
        (backups / INTENT_NAME).mkdir()
    before = files_state(tmp_path)
    report = purge(backups, keep_last=1)
    assert report.status is JobStatus.FAILED
    (error,) = report.errors
    assert error.startswith(f"{backups / INTENT_NAME}: cannot be read (")
    assert f"nothing in {backups} was deleted" in error
    assert files_state(tmp_path) == before


def test_purging_a_purged_directory_deletes_nothing(tmp_path: Path) -> None:
    iris_week(tmp_path)
    purge(tmp_path, keep_last=1, keep_daily=3)
    before = files_state(tmp_path)
    again = purge(tmp_path, keep_last=1, keep_daily=3)
    assert again.delete == [] and again.actions == []
    assert files_state(tmp_path) == before


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
    before = files_state(tmp_path)

    def disk_full(directory: Path, intent: PurgeIntent) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("backup_keeper.jobs.purge.write_intent", disk_full)
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        "cannot record what the purge will delete: [Errno 28] No space left on device"
    ]
    assert report.summary == "purge failed before deleting: nothing deleted"
    assert files_state(tmp_path) == before


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


# --- The intent is hostile ground: checked, never executed blindly ----------------------------


def plant_intent(directory: Path, *entries: dict[str, object]) -> Path:
    """An intent file as anyone could leave it: raw JSON, not through our writer."""
    path = directory / INTENT_NAME
    path.write_text(
        json.dumps(
            {"format": "backup-keeper-purge/1", "created": NOW.isoformat(), "entries": entries}
        )
    )
    return path


def entry(backup: Path, *companions: str) -> dict[str, object]:
    """An intent entry naming ``backup`` with its real size and mtime."""
    st = backup.stat()
    return {
        "name": backup.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "companions": list(companions),
    }


def files_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``root`` but the purge lock (a real purge creates it once and writes its
    pid into it) with its size and mtime: everything else must stay as it was."""
    return {
        name: facts
        for name, facts in directory_state(root).items()
        if not name.endswith(LOCK_NAME) and not (root / name).is_dir()
    }


@pytest.mark.parametrize(
    "foreign",
    [
        "{outside}",  # an absolute path
        "../outside.txt",
        "sub/../../outside.txt",
        "IncrementalDBList_20261109_009.log",  # another backup's log, in the same directory
        "FullDBList_20261101_001.log\u0000",
        "..",
    ],
)
def test_an_intent_naming_a_file_that_is_not_its_backups_own_deletes_nothing_anywhere(
    tmp_path: Path, foreign: str
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    iris_week(backups)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    victim = backups / "FullDBList_20261101_001.cbk"  # one the plan would delete anyway
    intent = plant_intent(backups, entry(victim, foreign.format(outside=outside)))
    before = files_state(tmp_path)
    report = purge(backups, keep_last=1)
    assert outside.read_text() == "not ours"
    assert files_state(tmp_path) == before
    assert report.status is JobStatus.FAILED
    (error,) = report.errors
    assert error.startswith(f"{intent}: not a valid purge intent: ")
    assert f"nothing in {backups} was deleted" in error
    assert f"remove {intent} to let purges of {backups} run again" in error
    assert all(a.outcome is not FileOutcome.DELETED for a in report.actions)


@pytest.mark.parametrize(
    "name", ["../FullDBList_20261101_001.cbk", "/etc/FullDBList_20261101_001.cbk", "a\\b.cbk", ".."]
)
def test_an_intent_whose_backup_name_is_not_a_bare_name_is_refused(
    tmp_path: Path, name: str
) -> None:
    iris_week(tmp_path)
    plant_intent(tmp_path, {"name": name, "size": 1, "mtime_ns": 1, "companions": []})
    before = files_state(tmp_path)
    report = purge(tmp_path, keep_last=1)
    assert files_state(tmp_path) == before
    assert "not a valid purge intent" in report.errors[0]


def test_an_intent_naming_a_backup_the_keep_rules_keep_does_not_delete_it(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, T0)
    kept = write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    plant_intent(tmp_path, entry(kept, "b.cbk.json", "b.log"))
    report = purge(tmp_path, keep_last=2)
    assert kept.exists() and (tmp_path / "b.cbk.json").exists() and (tmp_path / "b.log").exists()
    assert report.status is JobStatus.OK
    assert report.actions == []
    assert any(
        w.startswith(f"{kept}: named by an interrupted purge, but the current plan does not")
        for w in report.warnings
    )
    assert not (tmp_path / INTENT_NAME).exists()


def test_an_intent_entry_whose_backup_is_gone_removes_only_that_backups_own_leftovers(
    tmp_path: Path,
) -> None:
    """Its own sidecar and log go even when the intent does not list them; nothing else does."""
    other = write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0 + timedelta(days=1))
    (tmp_path / "a.cbk.json").write_text("{}")
    (tmp_path / "a.log").write_text("left over")
    (tmp_path / "a.txt").write_text("not a companion")
    plant_intent(tmp_path, {"name": "a.cbk", "size": 1, "mtime_ns": 1, "companions": []})
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.OK, report.errors
    assert not (tmp_path / "a.cbk.json").exists() and not (tmp_path / "a.log").exists()
    assert (tmp_path / "a.txt").exists()
    assert other.exists() and (tmp_path / "b.cbk.json").exists() and (tmp_path / "b.log").exists()


def test_a_stale_intent_never_removes_what_the_compressed_form_of_its_backup_still_needs(
    tmp_path: Path,
) -> None:
    compressed_backup(tmp_path, "a.cbk", T0)
    plant_intent(
        tmp_path,
        {"name": "a.cbk", "size": 64, "mtime_ns": 1, "companions": ["a.cbk.json", "a.log"]},
    )
    report = purge(tmp_path, keep_last=1)
    assert (tmp_path / "a.cbk.zst").exists()
    assert (tmp_path / "a.cbk.json").exists() and (tmp_path / "a.log").exists()
    assert report.actions == []


def compressed_backup(directory: Path, name: str, started: datetime) -> Path:
    """A backup stored compressed, as the online backup leaves it: X.cbk.zst, X.cbk.json, X.log."""
    stored = directory / f"{name}.zst"
    stored.write_bytes(b"zstd frames of " + name.encode())
    log_name = name.removesuffix(".cbk") + ".log"
    (directory / log_name).write_text("done\n")
    manifest = Manifest(
        file=name,
        kind=BackupKind.FULL,
        status=BackupStatus.COMPLETED,
        started=started,
        size=1 << 20,
        iris_log=log_name,
        tool_version="0.1.0",
        compression="zstd",
        stored_size=stored.stat().st_size,
    )
    write_manifest(directory / name, manifest)
    return stored


def snapshot_record(directory: Path, stem: str, started: datetime) -> Path:
    manifest = Manifest(
        file=f"{stem}.snapshot",
        kind=BackupKind.EXTERNAL,
        status=BackupStatus.COMPLETED,
        started=started,
        size=0,
        tool_version="0.1.0",
        snapshot_id=f"snap-{stem}",
    )
    return write_manifest(directory / f"{stem}.snapshot", manifest)


def test_every_kind_of_backup_deleted_is_counted(tmp_path: Path) -> None:
    for day in range(3):
        compressed_backup(tmp_path, f"z{day}.cbk", T0 + timedelta(days=day))
        snapshot_record(tmp_path, f"s{day}", T0 + timedelta(days=day, hours=1))
    report = purge(tmp_path, keep_last=2)
    assert report.status is JobStatus.OK, report.errors
    assert sorted(
        p.name for p in tmp_path.iterdir() if p.name not in (LOCK_NAME, LastPurge.NAME)
    ) == [
        "s2.snapshot.json",
        "z2.cbk.json",
        "z2.cbk.zst",
        "z2.log",
    ]
    assert report.summary.startswith("deleted 4 of 4 backup(s)")


def test_a_backup_that_could_not_be_deleted_is_not_counted_nor_its_size(tmp_path: Path) -> None:
    for day in range(3):
        compressed_backup(tmp_path, f"z{day}.cbk", T0 + timedelta(days=day))

    def remove(name: str, dir_fd: int) -> None:
        if name == "z0.cbk.zst":
            raise OSError(errno.EIO, "Input/output error")
        os.unlink(name, dir_fd=dir_fd)

    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path], "retention": {"keep_last": 1}}
    )
    report = run_purge(settings, clock=fixed_clock(NOW), remove=remove)
    size = (tmp_path / "z2.cbk.zst").stat().st_size
    assert report.summary.startswith(f"deleted 1 of 2 backup(s) ({size} B)")


def test_a_purge_killed_after_recording_its_intent_is_finished_listed_and_counted(
    tmp_path: Path,
) -> None:
    iris_week(tmp_path)
    planned = sorted(tmp_path.glob("*_2026110[1-7]_*.cbk"))
    assert len(planned) == 7
    plant_intent(tmp_path, *(entry(p, p.with_suffix(".log").name) for p in planned))
    report = purge(tmp_path, keep_last=1)
    assert report.status is JobStatus.OK, report.errors
    assert not any(p.exists() for p in planned)
    assert report.summary.startswith("deleted 7 of 7 backup(s)")
    assert "finished an interrupted purge of 7 backup(s)" in report.summary
    for e in report.delete:
        assert e.reasons[-1] == "finishes the purge interrupted at 2026-11-20 12:00:00 UTC"
    table = render_purge(report)
    assert table.count("finishes the purge interrupted") == 7


def test_leftovers_removed_for_an_interrupted_purge_are_listed_in_actions_table_and_summary(
    tmp_path: Path,
) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    (tmp_path / "a.cbk.json").write_text("{}")
    (tmp_path / "a.log").write_text("left over")
    plant_intent(tmp_path, {"name": "a.cbk", "size": 1, "mtime_ns": 1, "companions": []})
    dry = purge(tmp_path, dry_run=True, keep_last=1)
    assert [(Path(a.path).name, a.outcome) for a in dry.actions] == [
        ("a.cbk.json", FileOutcome.WOULD_DELETE),
        ("a.log", FileOutcome.WOULD_DELETE),
    ]
    assert "would finish an interrupted purge of 1 backup(s)" in dry.summary
    assert (tmp_path / "a.log").exists()
    report = purge(tmp_path, keep_last=1)
    assert [(Path(a.path).name, a.outcome) for a in report.actions] == [
        ("a.cbk.json", FileOutcome.DELETED),
        ("a.log", FileOutcome.DELETED),
    ]
    assert all(a.detail.startswith("left by a purge interrupted at ") for a in report.actions)
    assert report.summary.startswith("deleted 0 of 0 backup(s)")
    assert "finished an interrupted purge of 1 backup(s)" in report.summary
    data = json.loads(report.model_dump_json())
    assert [Path(a["path"]).name for a in data["actions"]] == ["a.cbk.json", "a.log"]
    table = render_purge(report)
    assert re.search(
        r"^deleted\s+a\.cbk\.json\s+-\s+-\s+-\s+left by a purge interrupted", table, re.M
    )
    assert re.search(r"^deleted\s+a\.log\s+", table, re.M)


# --- One purge per directory at a time ---------------------------------------------------------

HOLDER = """
import os, sys, time
from datetime import UTC, datetime
from pathlib import Path
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.settings import PurgeSettings

directory, release = Path(sys.argv[1]), Path(sys.argv[2])

def remove(name, dir_fd):
    print("deleting", flush=True)
    while not release.exists():
        time.sleep(0.01)
    os.unlink(name, dir_fd=dir_fd)

settings = PurgeSettings.model_validate(
    {"directories": [directory], "timezone": "UTC", "retention": {"keep_last": 1}}
)
report = run_purge(settings, clock=fixed_clock(datetime(2026, 11, 20, 12, tzinfo=UTC)), remove=remove)
print(report.status, report.summary, flush=True)
"""


@pytest.fixture
def live_purge(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str], Path]]:
    """Another process purging ``backups``, stopped at its first deletion until released."""
    backups = tmp_path / "backups"
    backups.mkdir()
    iris_week(backups)
    release = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(backups), str(release)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        with fails_if_blocked(60):
            assert holder.stdout.readline() == "deleting\n"
        yield backups, holder, release
    finally:
        release.touch()
        holder.communicate(timeout=60)


def test_a_second_purge_of_a_directory_waits_then_refuses_naming_the_first_and_changes_nothing(
    live_purge: tuple[Path, subprocess.Popen[str], Path],
) -> None:
    backups, holder, release = live_purge
    before = files_state(backups)  # the first one's live intent included
    for dry_run in (False, True):
        settings = PurgeSettings.model_validate(
            {
                "directories": [backups],
                "timezone": "UTC",
                "dry_run": dry_run,
                "lock_wait": 0.3,
                "retention": {"keep_last": 1},
            }
        )
        started = time.monotonic()
        second = run_purge(settings, clock=fixed_clock(NOW))
        assert time.monotonic() - started >= 0.3
        assert second.status is JobStatus.FAILED
        assert second.errors == [
            f"another purge of {backups} is running (pid {holder.pid}); waited 0.3 s and "
            "changed nothing"
        ]
        assert second.summary == "purge not run: nothing deleted"
        assert second.actions == [] and second.warnings == []
        assert files_state(backups) == before
    release.touch()
    out, _ = holder.communicate(timeout=60)
    assert out.splitlines()[-1].startswith("ok deleted 7 of 7 backup(s)")


def test_a_second_purge_that_waits_long_enough_runs_after_the_first(
    live_purge: tuple[Path, subprocess.Popen[str], Path],
) -> None:
    backups, _, release = live_purge
    threading.Timer(0.2, release.touch).start()
    settings = PurgeSettings.model_validate(
        {
            "directories": [backups],
            "timezone": "UTC",
            "lock_wait": 60,  # generous: the first one runs on a loaded machine
            "retention": {"keep_last": 1},
        }
    )
    second = run_purge(settings, clock=fixed_clock(NOW))
    assert second.status is JobStatus.OK, second.errors
    assert second.summary.startswith("deleted 0 of 0 backup(s)")
    assert not any("interrupted" in w for w in second.warnings)


def test_the_lock_wait_is_a_bounded_number_of_seconds(tmp_path: Path) -> None:
    for wait in (-1, float("inf"), float("nan"), 3601):
        with pytest.raises(ValueError, match="lock_wait"):
            PurgeSettings.model_validate(
                {"directories": [tmp_path], "retention": {"keep_last": 1}, "lock_wait": wait}
            )


def test_a_purge_leaves_the_bytes_it_freed_for_the_metrics_and_a_dry_run_leaves_nothing(
    tmp_path: Path,
) -> None:
    iris_week(tmp_path)
    purge(tmp_path, dry_run=True, keep_last=1)
    assert read_last(tmp_path, LastPurge) == (None, None)

    report = purge(tmp_path, keep_last=1)

    went = {a.path for a in report.actions if a.outcome is FileOutcome.DELETED}
    freed = sum(e.size for e in report.delete if e.path in went)
    assert freed > 0
    assert read_last(tmp_path, LastPurge)[0] == LastPurge(freed_bytes=freed)


def test_a_directory_whose_purge_was_stopped_records_no_purge(tmp_path: Path) -> None:
    iris_week(tmp_path)
    (tmp_path / INTENT_NAME).write_text("{ not an intent")

    report = purge(tmp_path, keep_last=1)

    assert report.status is JobStatus.FAILED
    assert read_last(tmp_path, LastPurge) == (None, None)
