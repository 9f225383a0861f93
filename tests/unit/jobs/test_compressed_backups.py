"""Compressed backups (.cbk.zst) through the whole life: taken, catalogued, verified, planned,
restored (decompressed to a temporary file first), purged; a corrupt one is caught."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard

from backup_keeper import compression
from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.record import RecordSource
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import (
    run_online_backup,
    run_purge,
    run_restore,
    run_restore_plan,
    run_verify,
)
from backup_keeper.progress import NO_PROGRESS, Progress
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.safe_files import is_temp_name
from backup_keeper.settings import (
    BackupSettings,
    PurgeSettings,
    RestorePlanSettings,
    RestoreSettings,
    VerifySettings,
)
from tests.read_only import read_only

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

IN_PLACE = {"/usr/irissys/mgr/user/": "/usr/irissys/mgr/user/"}
"""USER restored in place (^DBREST restores only what the map names)."""


@pytest.fixture
def compressed(tmp_path: Path) -> tuple[FakeIris, Path, list[Path]]:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(backup_bytes=1 << 20)
    target = tmp_path / "backups"
    target.mkdir()
    files = []
    for i, kind in enumerate(["full", "incremental"]):
        report = run_online_backup(
            BackupSettings(directory=target, kind=kind, compress=True),
            iris=fake,
            clock=fixed_clock(NOW + timedelta(hours=i)),
        )
        assert report.status is JobStatus.OK, report.errors
        assert report.backup is not None and report.backup.file is not None
        files.append(Path(report.backup.file))
    return fake, target, files


def test_compressed_backups_replace_the_cbk_and_keep_their_chain(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = compressed
    assert all(f.name.endswith(".cbk.zst") for f in files)
    assert list(target.glob("*.cbk")) == []
    assert files[0].stat().st_size < 1 << 20
    records = discover([target], UTC).records
    assert [r.source for r in records] == [RecordSource.SIDECAR, RecordSource.SIDECAR]
    assert records[1].chain == (str(files[0]),) and records[1].chain_complete


def test_verify_and_a_corrupt_compressed_file(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = compressed
    assert run_verify(VerifySettings(directories=[target])).status is JobStatus.OK
    data = bytearray(files[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[1].write_bytes(bytes(data))
    report = run_verify(VerifySettings(directories=[target]))
    assert report.errors == [f"{files[1]}: modified: blake3 checksum differs from the manifest's"]


def test_restore_decompresses_first_and_cleans_up(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, _ = compressed
    plan = run_restore_plan(RestorePlanSettings(directories=[target])).restore
    assert plan is not None and "zstd -d" in plan.steps[1]
    report = run_restore(RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake)
    assert report.status is JobStatus.OK, report.errors
    restored = fake.snapshot().restored
    assert len(restored) == 2 and all(is_temp_name(Path(p).name) for p in restored)
    assert all(Path(p).parent == target and ".restore." in p for p in restored)
    assert not any(is_temp_name(p.name) for p in target.iterdir())


def test_a_corrupt_compressed_file_fails_the_restore_clearly(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = compressed
    data = bytearray(files[0].read_bytes())
    data[100] ^= 0xFF
    files[0].write_bytes(bytes(data))
    report = run_restore(RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake)
    assert report.status is JobStatus.FAILED
    assert report.restore is not None and not report.restore.files  # the plan found it first
    assert fake.snapshot().restored == []


def test_purge_removes_compressed_backups_with_their_manifest(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = compressed
    run_online_backup(
        BackupSettings(directory=target, kind="full", compress=True),
        iris=fake,
        clock=fixed_clock(NOW + timedelta(days=1)),
    )
    report = run_purge(
        PurgeSettings(directories=[target], retention={"keep_last": 1}),
        clock=fixed_clock(NOW + timedelta(days=2)),
    )
    assert report.status is JobStatus.OK, report.errors
    assert not files[0].exists() and not files[1].exists()
    assert not (target / (files[0].name.removesuffix(".zst") + ".json")).exists()
    assert len(list(target.glob("*.cbk.zst"))) == 1


def test_a_zst_no_manifest_describes_is_unmanaged(tmp_path: Path) -> None:
    (tmp_path / "stray.cbk.zst").write_bytes(b"x")
    (record,) = discover([tmp_path], UTC).records
    assert record.source is RecordSource.UNMANAGED


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


@pytest.mark.parametrize(
    "failure",
    [OSError(errno.ENOSPC, "No space left on device"), zstandard.ZstdError("corrupt frame")],
    ids=["ENOSPC", "zstd"],
)
def test_a_decompression_failing_on_file_2_lists_file_1_and_leaves_nothing(
    compressed: tuple[FakeIris, Path, list[Path]],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    fake, target, files = compressed
    real = compression.decompress_file
    calls: list[Path] = []

    def second_fails(source: Path, out: Path, progress: Progress = NO_PROGRESS) -> int:
        calls.append(source)
        if len(calls) == 2:
            raise failure
        return real(source, out, progress=progress)

    monkeypatch.setattr(compression, "decompress_file", second_fails)
    recorder = Recorder()
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake, notifier=recorder
    )
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(f"restore failed at file 2 of 2 ({files[1].name})")
    assert f"restored before it: {files[0].name}" in report.errors[0]
    assert recorder.reports == [report]
    assert len(fake.snapshot().restored) == 1
    assert not any(is_temp_name(p.name) for p in target.iterdir())


def test_a_restore_from_a_read_only_directory_fails_clearly_restoring_nothing(
    compressed: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = compressed
    recorder = Recorder()
    with read_only(target):
        report = run_restore(
            RestoreSettings(directories=[target], directory_map=IN_PLACE),
            iris=fake,
            notifier=recorder,
        )
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(f"restore failed at file 1 of 2 ({files[0].name})")
    assert "restored before it: none" in report.errors[0]
    assert recorder.reports == [report]
    assert fake.snapshot().restored == []


def test_a_symlink_planted_at_the_old_decompression_name_is_never_followed(
    compressed: tuple[FakeIris, Path, list[Path]], tmp_path: Path
) -> None:
    fake, target, files = compressed
    precious = tmp_path / "precious"
    precious.write_bytes(b"precious")
    for f in files:
        (target / f".{f.name.removesuffix('.zst')}.restore-{os.getpid()}").symlink_to(precious)
    report = run_restore(RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake)
    assert report.status is JobStatus.OK, report.errors
    assert precious.read_bytes() == b"precious"
