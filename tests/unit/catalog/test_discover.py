"""Discovery on real directories: symlinks, subdirectories, near-miss names, broken sidecars."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backup_keeper.catalog.discover import Catalog, discover, leftover_temp_warnings
from backup_keeper.catalog.manifest import Manifest, write_manifest
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource, TimePrecision
from backup_keeper.kinds import BackupKind
from tests.builders import NEVER_ALIVE_PID, T0, write_iris_backup, write_managed_backup
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
    assert record.status is BackupStatus.UNREADABLE
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
    assert find(catalog, "FullDBList_20261101_001.cbk").status is BackupStatus.UNREADABLE


# --- a sidecar names only its own files (issue 11, item 3) ---


@pytest.mark.parametrize(
    "named",
    [
        "FullDBList_20261102_002.log",  # another backup's log
        "../outside.log",
        "/etc/passwd",
        "sub/own.log",
        "..",
        "own.cbk.json",
        "own.cbk",
    ],
)
def test_a_sidecar_naming_any_log_but_its_own_makes_nothing_else_a_companion(
    tmp_path: Path, named: str
) -> None:
    """A crafted ``iris_log`` once made a purge delete another backup's log; the failed full it
    belonged to then read as "unknown, kept as completed" and became the safety floor."""
    other = write_iris_backup(tmp_path, "FullDBList", "20261102", 2, finished=False)
    write_managed_backup(tmp_path, "own.cbk", BackupKind.FULL, T0)
    sidecar = tmp_path / "own.cbk.json"
    sidecar.write_text(sidecar.read_text().replace('"own.log"', json.dumps(named)))
    catalog = discover([tmp_path], PARIS)
    own = find(catalog, "own.cbk")
    assert own.source is RecordSource.SIDECAR
    assert own.companions == (str(tmp_path / "own.cbk.json"), str(tmp_path / "own.log"))
    assert find(catalog, other.name).status is BackupStatus.FAILED
    assert any(
        w.startswith(f"{tmp_path / 'own.cbk'}: its manifest names {named!r} as its IRIS log")
        for w in catalog.warnings
    ), catalog.warnings


def test_a_sidecar_naming_its_own_log_is_quiet(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "own.cbk", BackupKind.FULL, T0)
    catalog = discover([tmp_path], PARIS)
    assert find(catalog, "own.cbk").companions == (
        str(tmp_path / "own.cbk.json"),
        str(tmp_path / "own.log"),
    )
    assert catalog.warnings == []


def test_a_compressed_backups_companions_are_its_sidecar_and_its_own_log(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "c.cbk", BackupKind.FULL, T0)
    sidecar = tmp_path / "c.cbk.json"
    data = json.loads(sidecar.read_text())
    data.update(compression="zstd", stored_size=3, iris_log="victim.log")
    sidecar.write_text(json.dumps(data))
    (tmp_path / "c.cbk").rename(tmp_path / "c.cbk.zst")
    (tmp_path / "c.cbk.zst").write_bytes(b"zst")
    (tmp_path / "victim.log").write_text("someone else's")
    record = find(discover([tmp_path], PARIS), "c.cbk.zst")
    assert record.companions == (str(tmp_path / "c.cbk.json"), str(tmp_path / "c.log"))


# --- a log that exists but cannot be read is its own state (issue 11, item 4) ---


def _plant(kind: str, log: Path) -> None:
    if kind == "fifo":
        os.mkfifo(log)
    elif kind == "directory":
        log.mkdir()
    elif kind == "symlink":
        (log.parent / "finished.txt").write_text("***FINISHED BACKUP***\n")
        log.symlink_to(log.parent / "finished.txt")
    else:
        os.mkfifo(log.parent / "elsewhere")  # a dangling-ish odd target
        log.symlink_to(log.parent / "elsewhere")


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink", "symlink-to-fifo"])
def test_a_log_that_is_not_a_regular_file_is_unreadable_never_unknown(
    tmp_path: Path, kind: str
) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261103", 3, log=False)
    _plant(kind, cbk.with_suffix(".log"))
    with fails_if_blocked():
        catalog = discover([tmp_path], PARIS)
    record = find(catalog, cbk.name)
    assert record.status is BackupStatus.UNREADABLE
    assert not record.restorable and not record.status.usable
    assert record.companions == ()
    assert "not a regular file" in (record.note or "")
    assert any(
        cbk.with_suffix(".log").name in w and "cannot be read" in w for w in catalog.warnings
    )


def test_a_log_whose_read_fails_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EIO (a bad sector, a dead NFS server) as the tail is read; EACCES is proven with a second
    user in test_discover_as_another_user.py, since root reads through ``chmod 000``."""
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261103", 3)

    def broken(path: object, *, size: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr("backup_keeper.catalog.discover.read_tail", broken)
    catalog = discover([tmp_path], PARIS)
    record = find(catalog, cbk.name)
    assert record.status is BackupStatus.UNREADABLE
    assert "Input/output error" in (record.note or "")
    assert record.companions == (str(cbk.with_suffix(".log")),)
    assert len(catalog.warnings) == 1 and "Input/output error" in catalog.warnings[0]


def test_chmod_000_on_a_log_as_root_still_reads_it(tmp_path: Path) -> None:
    """Root reads through mode 000, so the status is the log's: the permission case needs a
    second user (test_discover_as_another_user.py)."""
    cbk = write_iris_backup(tmp_path, "FullDBList", "20261103", 3)
    cbk.with_suffix(".log").chmod(0)
    status = find(discover([tmp_path], PARIS), cbk.name).status
    if os.geteuid() == 0:
        assert status is BackupStatus.COMPLETED
    else:
        assert status is BackupStatus.UNREADABLE


def test_an_unreadable_full_is_never_a_chain_base(tmp_path: Path) -> None:
    good = write_iris_backup(tmp_path, "FullDBList", "20261101", 1)
    odd = write_iris_backup(tmp_path, "FullDBList", "20261102", 2, log=False)
    odd.with_suffix(".log").mkdir()
    incr = write_iris_backup(tmp_path, "IncrementalDBList", "20261103", 3)
    catalog = discover([tmp_path], PARIS)
    assert find(catalog, incr.name).chain == (str(good),)
    assert find(catalog, odd.name).chain == ()


def test_many_unreadable_logs_make_one_warning_per_directory(tmp_path: Path) -> None:
    for day in range(1, 26):
        cbk = write_iris_backup(tmp_path, "FullDBList", f"202611{day:02d}", day, log=False)
        os.mkfifo(cbk.with_suffix(".log"))
    catalog = discover([tmp_path], PARIS)
    (warning,) = catalog.warnings
    assert warning.startswith(f"{tmp_path}: 25 IRIS log(s) cannot be read")
    assert "and 15 more" in warning
    assert "kept, and not counted as completed" in warning


# --- non-ASCII digits (issue 11, item 6) ---


def test_names_in_non_ascii_digits_are_unmanaged(tmp_path: Path) -> None:
    for name in ("FullDBList_２０２６１１０１_001.cbk", "FullDBList_٢٠٢٦١١٠١_001.cbk"):
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / name.replace(".cbk", ".log")).write_text("***FINISHED BACKUP***\n")
    catalog = discover([tmp_path], PARIS)
    assert [r.source for r in catalog.records] == [RecordSource.UNMANAGED] * 2


# --- dates that cannot be represented (issue 11, item 12) ---


@pytest.mark.parametrize(
    ("day", "zone"),
    [
        ("00010101", "Asia/Tokyo"),  # east of UTC: the day starts before year 1
        ("00010101", "UTC"),  # representable, but one zone over is not
        ("99991231", "America/New_York"),  # west of UTC: the day starts after year 9999
        ("99991231", "UTC"),  # its end is past the calendar
    ],
)
def test_an_iris_file_whose_date_cannot_be_represented_is_unmanaged_with_a_warning(
    tmp_path: Path, day: str, zone: str
) -> None:
    cbk = write_iris_backup(tmp_path, "FullDBList", day, 1)
    catalog = discover([tmp_path], ZoneInfo(zone))
    record = find(catalog, cbk.name)
    assert record.source is RecordSource.UNMANAGED
    assert "cannot be represented" in (record.note or "")
    assert any(cbk.name in w and "cannot be represented" in w for w in catalog.warnings)


@pytest.mark.parametrize("started", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_sidecar_whose_time_cannot_be_represented_is_unmanaged_with_a_warning(
    tmp_path: Path, started: str
) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    write_managed_backup(tmp_path, "e.cbk", BackupKind.FULL, T0)
    for name in ("b.cbk.json",):
        sidecar = tmp_path / name
        data = json.loads(sidecar.read_text())
        data["started"] = started
        sidecar.write_text(json.dumps(data))
    snapshot = tmp_path / "s.snapshot.json"
    data = json.loads((tmp_path / "e.cbk.json").read_text())
    data.update(file="s.snapshot", kind="external", started=started)
    data.pop("iris_log")
    snapshot.write_text(json.dumps(data))
    catalog = discover([tmp_path], PARIS)
    for name in ("b.cbk", "s.snapshot.json"):
        record = find(catalog, name)
        assert record.source is RecordSource.UNMANAGED, name
        assert "cannot be represented" in (record.note or "")
    assert find(catalog, "e.cbk").source is RecordSource.SIDECAR
    assert sum("cannot be represented" in w for w in catalog.warnings) == 2


# --- backups dated in the future (issue 11, item 20) ---


def test_backups_dated_after_now_are_warned_about_when_now_is_given(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "future.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    write_iris_backup(tmp_path, "FullDBList", "20991231", 1)
    write_managed_backup(tmp_path, "past.cbk", BackupKind.FULL, T0)
    (tmp_path / "unmanaged.cbk").write_bytes(b"x")
    os.utime(tmp_path / "unmanaged.cbk", (4e9, 4e9))
    assert discover([tmp_path], PARIS).warnings == []
    warnings = discover([tmp_path], PARIS, now=T0).warnings
    assert len(warnings) == 2
    assert warnings[0].startswith(
        f"{tmp_path / 'future.cbk'}: dated 2099-01-01 01:00:00 CET, after now (2026-11-01 03:00:00 CET)"
    )
    assert "FullDBList_20991231_001.cbk" in warnings[1]
    assert all("after now" in w and "never counted as fresh" in w for w in warnings)


# --- leftover temporary files (issue 11, item 29) ---


def test_leftover_temporary_files_are_reported_with_what_to_do(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "b.cbk", BackupKind.FULL, T0)
    dead = NEVER_ALIVE_PID
    leftovers = [
        f".b.cbk.zst.tmp-{dead}",  # compression
        f".b.cbk.json.tmp-{os.getpid()}",  # an old hand-written atomic write
        f".b.cbk.restore-{dead}",  # restore's decompressed copy
        ".b.cbk.json.0123456789ab.bk-tmp",  # backup_keeper.safe_files
    ]
    for name in leftovers:
        (tmp_path / name).write_bytes(b"partial")
    for name in (".hidden", ".b.cbk.tmp-", ".b.cbk.tmp-12x", "notes.tmp-1"):
        (tmp_path / name).write_bytes(b"not ours")
    catalog = discover([tmp_path], PARIS)
    assert len(catalog.warnings) == 4, catalog.warnings
    for name, warning in zip(sorted(leftovers), catalog.warnings, strict=True):
        assert warning.startswith(f"{tmp_path / name}: a temporary file of a backup-keeper run")
        assert "delete it once no backup-keeper job is working in this directory" in warning
    by_name = dict(zip(sorted(leftovers), catalog.warnings, strict=True))
    assert f"process {os.getpid()} is running on this host" in by_name[leftovers[1]]
    assert f"no process {dead} on this host" in by_name[leftovers[0]]
    assert all((tmp_path / name).exists() for name in leftovers)  # reported, never removed
    assert leftover_temp_warnings(tmp_path) == catalog.warnings


def test_leftover_temp_files_of_an_unreadable_directory_are_no_warning_and_no_error(
    tmp_path: Path,
) -> None:
    assert leftover_temp_warnings(tmp_path / "missing") == []


def test_every_field_of_a_discovered_record_is_the_one_a_keyword_built_record_has(
    tmp_path: Path,
) -> None:
    """The catalog builds records positionally (once per backup, keywords cost): a field added
    or reordered in ``BackupRecord`` must not shift a value into its neighbour."""
    write_iris_backup(tmp_path, "FullDBList", "20261101", 7)
    full = write_managed_backup(tmp_path, "keeper_full.cbk", BackupKind.FULL, T0)
    child = tmp_path / "keeper_incremental.cbk"
    child.write_bytes(b"an incremental")
    (tmp_path / "keeper_incremental.log").write_text("Backup pass 1 complete\n")
    write_manifest(
        child,
        Manifest(
            file=child.name,
            kind=BackupKind.INCREMENTAL,
            status=BackupStatus.WARNING,
            started=T0 + timedelta(hours=1),
            size=len(b"an incremental") + 1,
            instance="IRIS",
            tool_version="0.1.0",
            chain_parent=full.name,
        ),
    )
    catalog = discover([tmp_path], PARIS)
    iris = find(catalog, "FullDBList_20261101_007.cbk")
    iris_st = os.lstat(iris.path)
    assert iris == BackupRecord(
        path=f"{tmp_path}/FullDBList_20261101_007.cbk",
        kind=BackupKind.FULL,
        status=BackupStatus.COMPLETED,
        source=RecordSource.FILE_NAME,
        time=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        precision=TimePrecision.DAY,
        sequence=7,
        day=date(2026, 11, 1),
        size=iris_st.st_size,
        mtime_ns=iris_st.st_mtime_ns,
        companions=(f"{tmp_path}/FullDBList_20261101_007.log",),
    )
    managed = find(catalog, child.name)
    managed_st = os.lstat(child)
    assert managed == BackupRecord(
        path=str(child),
        kind=BackupKind.INCREMENTAL,
        status=BackupStatus.WARNING,
        source=RecordSource.SIDECAR,
        time=T0 + timedelta(hours=1),
        size=managed_st.st_size,
        mtime_ns=managed_st.st_mtime_ns,
        instance="IRIS",
        note=f"size on disk {managed_st.st_size} differs from the manifest's "
        f"{managed_st.st_size + 1}",
        chain=(str(full),),
        companions=(f"{child}.json", f"{tmp_path}/keeper_incremental.log"),
        parent_name=full.name,
    )
