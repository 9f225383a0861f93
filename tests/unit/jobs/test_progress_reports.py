"""Every long step of a job reports progress, with totals that add up: a reader's bar ends full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.compression import compress_file, decompress_file
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_catalog, run_online_backup, run_purge, run_restore, run_verify
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobStatus
from backup_keeper.settings import (
    BackupSettings,
    CatalogSettings,
    PurgeSettings,
    RestoreSettings,
    VerifySettings,
)
from tests.builders import write_managed_backup
from tests.progress_recorder import RecordingProgress

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SIZE = 3 << 20


@pytest.fixture
def compressed_backup(tmp_path: Path) -> tuple[FakeIris, Path, RecordingProgress]:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(backup_bytes=SIZE)
    target = tmp_path / "backups"
    target.mkdir()
    recorder = RecordingProgress()
    report = run_online_backup(
        BackupSettings(directory=target, kind="full", compress=True),
        iris=fake,
        clock=fixed_clock(NOW),
        progress=recorder,
    )
    assert report.status is JobStatus.OK, report.errors
    return fake, target, recorder


def test_a_backup_reports_iris_writing_then_checksum_compression_and_checksum_again(
    compressed_backup: tuple[FakeIris, Path, RecordingProgress],
) -> None:
    _, target, recorder = compressed_backup
    (zst,) = target.glob("*.cbk.zst")
    tasks = [s.task.split()[0:2] for s in recorder.steps]
    assert tasks == [
        ["IRIS", "writing"],
        ["checksum", zst.name.removesuffix(".zst")],
        ["compress", zst.name.removesuffix(".zst")],
        ["checksum", zst.name],
    ]
    writing, hashed, compressed, hashed_zst = recorder.steps
    assert writing.done == SIZE and writing.total is not None
    assert (hashed.done, hashed.total) == (SIZE, SIZE)
    assert (compressed.done, compressed.total) == (SIZE, SIZE)
    assert hashed_zst.done == hashed_zst.total == zst.stat().st_size
    assert all(s.finished and s.unit == "bytes" for s in recorder.steps)


def test_verify_reports_one_bar_whose_bytes_are_every_backup_verified(tmp_path: Path) -> None:
    for day in range(3):
        write_managed_backup(
            tmp_path, f"b{day}.cbk", BackupKind.FULL, NOW + timedelta(days=day), size=SIZE
        )
    unhashed = tmp_path / "b1.cbk.json"  # a manifest without checksum: nothing to hash
    assert "checksum" not in unhashed.read_text()
    recorder = RecordingProgress()
    run_verify(VerifySettings(directories=[tmp_path]), progress=recorder)
    (verify,) = recorder.named("verify")
    assert verify.unit == "bytes" and verify.finished
    assert verify.done == verify.total == 3 * SIZE


def test_catalog_and_purge_count_every_file_and_every_deletion(tmp_path: Path) -> None:
    for day in range(5):
        write_managed_backup(tmp_path, f"b{day}.cbk", BackupKind.FULL, NOW - timedelta(days=day))
    recorder = RecordingProgress()
    run_catalog(CatalogSettings(directories=[tmp_path]), progress=recorder)
    (catalog,) = recorder.steps
    assert (catalog.task, catalog.unit) == (f"catalog {tmp_path}", "files")
    assert catalog.done == catalog.total == 5 and catalog.finished

    recorder = RecordingProgress()
    report = run_purge(
        PurgeSettings(directories=[tmp_path], retention={"keep_last": 2}),
        clock=fixed_clock(NOW),
        progress=recorder,
    )
    assert report.status is JobStatus.OK, report.errors
    catalog, delete = recorder.steps
    assert catalog.done == catalog.total == 5
    # three backups go, each with its IRIS log and its sidecar
    assert (delete.task, delete.unit, delete.done, delete.total) == ("delete", "files", 9, 9)


def test_a_dry_run_purge_reports_the_catalog_and_no_deletion(tmp_path: Path) -> None:
    for day in range(3):
        write_managed_backup(tmp_path, f"b{day}.cbk", BackupKind.FULL, NOW - timedelta(days=day))
    recorder = RecordingProgress()
    run_purge(
        PurgeSettings(directories=[tmp_path], retention={"keep_last": 1}, dry_run=True),
        clock=fixed_clock(NOW),
        progress=recorder,
    )
    assert [s.task for s in recorder.steps] == [f"catalog {tmp_path}"]


def test_a_large_directory_is_counted_in_batches_that_add_up(tmp_path: Path) -> None:
    for n in range(1030):
        (tmp_path / f"Full_20260101_{n:03d}.cbk").write_bytes(b"x")
    recorder = RecordingProgress()
    run_catalog(CatalogSettings(directories=[tmp_path]), progress=recorder)
    assert recorder.steps[0].done == recorder.steps[0].total == 1030


def test_compression_and_decompression_advance_by_the_bytes_they_read(tmp_path: Path) -> None:
    source = tmp_path / "a.cbk"
    source.write_bytes(b"volume" * (1 << 20))
    recorder = RecordingProgress()
    recorder.start("compress", source.stat().st_size, "bytes")
    compress_file(source, tmp_path / "a.cbk.zst", progress=recorder)
    recorder.finish()
    recorder.start("decompress", (tmp_path / "a.cbk.zst").stat().st_size, "bytes")
    decompress_file(tmp_path / "a.cbk.zst", tmp_path / "b.cbk", progress=recorder)
    recorder.finish()
    assert [s.done for s in recorder.steps] == [s.total for s in recorder.steps]


def test_a_restore_reports_each_decompression_and_each_wait_for_iris(
    compressed_backup: tuple[FakeIris, Path, RecordingProgress],
) -> None:
    fake, target, _ = compressed_backup
    (zst,) = target.glob("*.cbk.zst")
    recorder = RecordingProgress()
    report = run_restore(
        RestoreSettings(
            directories=[target],
            directory_map={"/usr/irissys/mgr/user/": "/usr/irissys/mgr/user/"},
        ),
        iris=fake,
        progress=recorder,
    )
    assert report.status is JobStatus.OK, report.errors
    assert [(s.task, s.done, s.total) for s in recorder.steps] == [
        (f"decompress {zst.name}", zst.stat().st_size, zst.stat().st_size),
        (f"IRIS restoring {zst.name}", 0, None),
    ]


def test_a_failed_backup_leaves_no_step_unfinished(tmp_path: Path) -> None:
    """A recorder that refuses misuse sees every step finished when IRIS fails."""
    fake = FakeIris(tmp_path / "iris")
    fake.fail("online_backup", "disk_full")
    recorder = RecordingProgress()
    report = run_online_backup(
        BackupSettings(directory=tmp_path, kind="full"), iris=fake, progress=recorder
    )
    assert report.status is JobStatus.FAILED
    (writing,) = recorder.steps  # IRIS stopped part way: nothing was hashed or compressed
    assert writing.task.startswith("IRIS writing") and writing.finished
