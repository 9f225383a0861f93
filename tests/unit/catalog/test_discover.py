"""Discovery on real directories: symlinks, subdirectories, near-miss names, broken sidecars."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from backup_keeper.catalog.discover import Catalog, discover
from backup_keeper.catalog.record import (
    BackupKind,
    BackupRecord,
    BackupStatus,
    RecordSource,
    TimePrecision,
)
from tests.builders import T0, write_iris_backup, write_managed_backup
from tests.hang_guard import fails_if_blocked

PARIS = ZoneInfo("Europe/Paris")


def find(catalog: Catalog, name: str) -> BackupRecord:
    (match,) = [r for r in catalog.records if r.path.endswith("/" + name)]
    return match


def test_iris_named_files_get_kind_local_day_and_status_from_their_log(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    write_iris_backup(tmp_path, "IncrementalDBList", "20261101", 2, finished=False)
    write_iris_backup(tmp_path, "CumuIncrDBList", "20261102", 3, log=False)
    catalog = discover([tmp_path], PARIS)
    full = find(catalog, "FullDBList_20261101_001.cbk")
    assert (full.kind, full.status, full.source) == (
        BackupKind.FULL,
        BackupStatus.COMPLETED,
        RecordSource.FILE_NAME,
    )
    assert full.precision is TimePrecision.DAY
    assert full.time == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # midnight in Paris
    assert full.companions == (str(tmp_path / "FullDBList_20261101_001.log"),)
    failed = find(catalog, "IncrementalDBList_20261101_002.cbk")
    assert failed.status is BackupStatus.FAILED
    assert "no ***FINISHED BACKUP*** line" in (failed.note or "")
    unknown = find(catalog, "CumuIncrDBList_20261102_003.cbk")
    assert unknown.status is BackupStatus.UNKNOWN
    assert unknown.chain == (full.path,)


def test_same_day_iris_files_are_ordered_by_journal_suffix(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "IncrementalDBList", "20261101", 9)
    write_iris_backup(tmp_path, "FullDBList", "20261101", 4)
    catalog = discover([tmp_path], PARIS)
    incr = find(catalog, "IncrementalDBList_20261101_009.cbk")
    assert incr.chain == (str(tmp_path / "FullDBList_20261101_004.cbk"),)


def test_sidecar_wins_over_the_file_name(tmp_path: Path) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    (tmp_path / (cbk.name + ".json")).unlink(missing_ok=True)
    write_managed_backup(tmp_path, cbk.name, BackupKind.CUMULATIVE, T0, size=10)
    record = find(discover([tmp_path], PARIS), cbk.name)
    assert (record.source, record.kind, record.time) == (
        RecordSource.SIDECAR,
        BackupKind.CUMULATIVE,
        T0,
    )
    assert record.instance == "IRIS"
    assert sorted(Path(c).name for c in record.companions) == [
        "FullDBList_20261101_001.cbk.json",
        "FullDBList_20261101_001.log",
    ]


def test_broken_sidecar_makes_the_file_unmanaged_with_a_warning(tmp_path: Path) -> None:
    write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    (tmp_path / "FullDBList_20261101_001.cbk.json").write_text('{"format": "backup-keeper/1", "fi')
    (tmp_path / "empty.cbk").write_bytes(b"x")
    (tmp_path / "empty.cbk.json").write_bytes(b"")
    catalog = discover([tmp_path], PARIS)
    for name in ("FullDBList_20261101_001.cbk", "empty.cbk"):
        record = find(catalog, name)
        assert record.source is RecordSource.UNMANAGED
        assert not record.managed
    assert any(
        "empty.cbk: sidecar is empty; the file is treated as unmanaged" in w
        for w in catalog.warnings
    )
    assert any("sidecar does not parse" in w for w in catalog.warnings)


def test_size_disagreeing_with_manifest_is_warned_about(tmp_path: Path) -> None:
    cbk = write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0, size=100)
    with cbk.open("r+b") as handle:
        handle.truncate(50)
    catalog = discover([tmp_path], PARIS)
    assert find(catalog, "b.cbk").note == "size on disk 50 differs from the manifest's 100"
    assert len(catalog.warnings) == 1


def test_unknown_names_are_unmanaged(tmp_path: Path) -> None:
    for name in ("mystery.cbk", "FullDBList_2026110_001.cbk", "fulldblist_20261101_001.cbk"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "FullDBList_20261101_001.cbk.bak").write_text("ignored")
    catalog = discover([tmp_path], PARIS)
    assert sorted(Path(r.path).name for r in catalog.records) == [
        "FullDBList_2026110_001.cbk",
        "fulldblist_20261101_001.cbk",
        "mystery.cbk",
    ]
    assert all(r.source is RecordSource.UNMANAGED for r in catalog.records)


def test_symlinks_are_never_followed_in_or_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    inside = tmp_path / "backups"
    outside.mkdir()
    inside.mkdir()
    real = write_iris_backup(outside, "FullDBList", "20261101", 1)
    (inside / real.name).symlink_to(real)
    (inside / "dangling.cbk").symlink_to(tmp_path / "nowhere.cbk")
    catalog = discover([inside], PARIS)
    assert {Path(r.path).name: r.source for r in catalog.records} == {
        real.name: RecordSource.UNMANAGED,
        "dangling.cbk": RecordSource.UNMANAGED,
    }
    assert all("symbolic link" in (r.note or "") for r in catalog.records)


def test_subdirectories_are_not_entered(tmp_path: Path) -> None:
    sub = tmp_path / "old"
    sub.mkdir()
    write_iris_backup(sub, "FullDBList", "20261101", 1)
    (tmp_path / "dir.cbk").mkdir()
    catalog = discover([tmp_path], PARIS)
    assert [(Path(r.path).name, r.note) for r in catalog.records] == [
        ("dir.cbk", "not a regular file")
    ]


def test_sidecar_without_its_backup_is_a_warning(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    (tmp_path / "b.cbk").unlink()
    catalog = discover([tmp_path], PARIS)
    assert catalog.records == []
    assert catalog.warnings == [f"{tmp_path / 'b.cbk.json'}: sidecar without its backup file"]


def test_several_directories_make_one_catalog_with_one_chain_per_instance(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    write_iris_backup(one, "FullDBList", "20261101", 1)
    write_iris_backup(two, "IncrementalDBList", "20261102", 1)
    catalog = discover([one, two], PARIS)
    incr = find(catalog, "IncrementalDBList_20261102_001.cbk")
    assert incr.chain == (str(one / "FullDBList_20261101_001.cbk"),)


def test_log_that_is_a_symlink_is_not_read(tmp_path: Path) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261101", 1, log=False)
    target = tmp_path / "elsewhere.txt"
    target.write_text("***FINISHED BACKUP***")
    cbk.with_suffix(".log").symlink_to(target)
    record = find(discover([tmp_path], PARIS), cbk.name)
    assert record.status is BackupStatus.UNKNOWN
    assert record.companions == ()


def test_a_fifo_under_a_sidecar_or_log_name_never_hangs_the_catalog(tmp_path: Path) -> None:
    """A FIFO opened for reading blocks until a writer comes; the catalog must not wait."""
    (tmp_path / "planted.cbk").write_bytes(b"x")
    os.mkfifo(tmp_path / "planted.cbk.json")
    log = write_iris_backup(tmp_path, "FullDBList", "20261101", 1).with_suffix(".log")
    log.unlink()
    os.mkfifo(log)
    with fails_if_blocked():
        catalog = discover([tmp_path], PARIS)
    assert find(catalog, "planted.cbk").source is RecordSource.UNMANAGED
    assert any("planted.cbk: sidecar is empty" in w for w in catalog.warnings)
    assert find(catalog, "FullDBList_20261101_001.cbk").status is BackupStatus.UNKNOWN
