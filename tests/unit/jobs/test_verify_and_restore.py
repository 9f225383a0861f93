"""Verify and restore on real backups taken through FakeIris: bit flips, truncation, a deleted
middle incremental, a manifest that disagrees, a restore that fails half way."""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import RestoreOutcome
from backup_keeper.jobs import run_online_backup, run_restore, run_restore_plan, run_verify
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import (
    BackupSettings,
    RestorePlanSettings,
    RestoreSettings,
    VerifySettings,
)
from tests.builders import write_managed_backup

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)

IN_PLACE = {"/usr/irissys/mgr/user/": "/usr/irissys/mgr/user/"}
"""USER restored in place (^DBREST restores only what the map names)."""


@pytest.fixture
def chain(tmp_path: Path) -> tuple[FakeIris, Path, list[Path]]:
    """full, incremental, incremental, four hours apart."""
    fake = FakeIris(tmp_path / "iris")
    target = tmp_path / "backups"
    target.mkdir()
    files = []
    for i, kind in enumerate(["full", "incremental", "incremental"]):
        at = NOW + timedelta(hours=4 * i)
        instance = FakeIris(fake.state_dir, clock=fixed_clock(at))  # IRIS's clock, as the job's
        report = run_online_backup(
            BackupSettings(directory=target, kind=kind), iris=instance, clock=fixed_clock(at)
        )
        assert report.status is JobStatus.OK and report.backup and report.backup.file
        files.append(Path(report.backup.file))
    return fake, target, files


def verify(target: Path, **extra: object) -> list[str]:
    report = run_verify(VerifySettings.model_validate({"directories": [target], **extra}), **{})
    return report.errors


def test_an_intact_repository_verifies(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    fake, target, _ = chain
    report = run_verify(VerifySettings(directories=[target]), iris=fake)
    assert report.status is JobStatus.OK, report.errors
    assert report.summary == "verified 3 backup(s): all intact"


def test_a_bit_flip_is_found(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    _, target, files = chain
    with files[1].open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0x10]))
    assert verify(target) == [f"{files[1]}: modified: blake3 checksum differs from the manifest's"]


def test_truncation_is_found(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    _, target, files = chain
    with files[0].open("r+b") as handle:
        handle.truncate(100)
    errors = verify(target)
    assert errors[0] == f"{files[0]}: truncated: 100 bytes, the manifest says 65536"


def test_a_manifest_whose_checksum_disagrees_is_found(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = chain
    sidecar = files[2].with_name(files[2].name + ".json")
    data = json.loads(sidecar.read_text())
    data["checksum"]["hex"] = "0" * 64
    sidecar.write_text(json.dumps(data))
    assert verify(target) == [f"{files[2]}: modified: blake3 checksum differs from the manifest's"]


def test_a_deleted_middle_incremental_breaks_the_chain_after_it(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = chain
    middle = files[1]
    for path in (middle, middle.with_name(middle.name + ".json"), middle.with_suffix(".log")):
        path.unlink()
    errors = verify(target)
    assert errors == [
        f"{files[2]}: incomplete chain: the backup it was taken on, {middle.name}, is missing"
    ]


def test_a_cbk_gone_but_still_described_is_reported(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = chain
    files[1].unlink()
    errors = verify(target)
    assert any(
        "missing from disk, still in the catalog" in e and files[1].name in e for e in errors
    )


def test_sample_verifies_only_the_newest_chains(
    chain: tuple[FakeIris, Path, list[Path]], tmp_path: Path
) -> None:
    fake, target, files = chain
    run_online_backup(
        BackupSettings(directory=target, kind="full"),
        iris=fake,
        clock=fixed_clock(NOW + timedelta(days=1)),
    )
    with files[1].open("r+b") as handle:
        handle.truncate(10)
    assert verify(target, sample=1) == []
    assert verify(target, sample=2) != []


def test_restore_plan_orders_files_and_names_the_journal_and_steps(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = chain
    report = run_restore_plan(RestorePlanSettings(directories=[target]))
    assert report.status is JobStatus.OK
    plan = report.restore
    assert plan is not None
    assert [f.path for f in plan.files] == [str(f) for f in files]
    assert plan.journal_start and plan.journal_start.startswith("/usr/irissys/mgr/journal/")
    assert "EXTSELCT^DBREST" in plan.steps[1] and "Journal.Restore" in plan.steps[-1]
    earlier = run_restore_plan(
        RestorePlanSettings(directories=[target], at=NOW + timedelta(hours=5))
    )
    assert earlier.restore is not None and [f.path for f in earlier.restore.files] == [
        str(f) for f in files[:2]
    ]


def test_restore_plan_with_a_broken_chain_names_the_missing_file_and_falls_back(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    _, target, files = chain
    for path in (files[1], files[1].with_name(files[1].name + ".json")):
        path.unlink()
    report = run_restore_plan(RestorePlanSettings(directories=[target]))
    plan = report.restore
    assert plan is not None and report.status is JobStatus.OK
    assert [f.path for f in plan.files] == [str(files[0])]
    assert plan.fallback is not None and files[1].name in plan.fallback
    assert report.warnings == [plan.fallback]


def test_restore_plan_skips_a_damaged_newest_file(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    _, target, files = chain
    with files[2].open("r+b") as handle:
        handle.truncate(5)
    plan = run_restore_plan(RestorePlanSettings(directories=[target])).restore
    assert plan is not None and [f.path for f in plan.files] == [str(f) for f in files[:2]]
    assert plan.fallback is not None and "truncated" in plan.fallback


def test_restore_runs_every_file_in_order_then_the_journals(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE, apply_journals=True),
        iris=fake,
    )
    assert report.status is JobStatus.OK, report.errors
    state = fake.snapshot()
    assert state.restored == [str(f) for f in files]
    assert state.journals_restored_from is not None


def test_a_restore_failing_half_way_says_what_was_restored(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    fake.configure(restore_fail_after=1)
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE, apply_journals=True),
        iris=fake,
    )
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(f"restore failed at file 2 of 3 ({files[1].name})")
    assert f"restored before it: {files[0].name}" in report.errors[0]
    assert fake.snapshot().journals_restored_from is None


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


class RestoreDiskFails(FakeIris):
    """^DBREST works for the first ``good`` files, then the disk fails under it."""

    good = 1

    def restore_backup(self, file: str, directory_map: Mapping[str, str]) -> RestoreOutcome:
        if len(self.snapshot().restored) >= self.good:
            raise OSError(errno.EIO, "Input/output error", file)
        return super().restore_backup(file, directory_map)


def test_a_restore_failing_half_way_on_an_os_error_says_what_was_restored_and_alerts(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    recorder = Recorder()
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE, apply_journals=True),
        iris=RestoreDiskFails(fake.state_dir),
        notifier=recorder,
    )
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(f"restore failed at file 2 of 3 ({files[1].name})")
    assert "Input/output error" in report.errors[0]
    assert f"restored before it: {files[0].name}" in report.errors[0]
    assert recorder.reports == [report]
    assert fake.snapshot().journals_restored_from is None


def test_journals_that_fail_after_every_file_say_the_files_were_restored(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    fake.fail("restore_journals")
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE, apply_journals=True),
        iris=fake,
    )
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(
        f"every file was restored ({', '.join(f.name for f in files)}), but applying the journals"
    )
    assert "injected failure in restore_journals" in report.errors[0]


def test_restore_is_refused_on_a_mirror_primary(chain: tuple[FakeIris, Path, list[Path]]) -> None:
    fake, target, _ = chain
    fake.configure(mirror_member=1, mirror_primary=True)
    report = run_restore(RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake)
    assert report.status is JobStatus.FAILED
    assert fake.snapshot().restored == []


def test_volume_labels_that_disagree_with_the_manifest_are_findings(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    state = fake.snapshot()
    for entry in state.history:
        if entry.device == str(files[0]):
            entry.type = "I"
            entry.time = entry.time - timedelta(days=2)
    fake.configure(history=[h.model_dump() for h in state.history])
    report = run_verify(VerifySettings(directories=[target]), iris=fake)
    assert report.status is JobStatus.FAILED
    findings = [e.removeprefix(f"{files[0]}: ") for e in report.errors if str(files[0]) in e]
    assert "the volume label says incremental, the catalog full" in findings
    assert any(f.startswith("the volume label's date") for f in findings)


def test_an_iris_failure_before_any_file_is_a_failed_report_and_an_alert(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, _ = chain
    fake.fail("mirror")
    recorder = Recorder()
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE), iris=fake, notifier=recorder
    )
    assert report.status is JobStatus.FAILED
    assert report.errors == ["IRIS: ERROR #5001: injected failure in mirror"]
    assert recorder.reports == [report]
    assert fake.snapshot().restored == []


def test_verify_warns_about_a_backup_dated_after_now(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "forged.cbk", BackupKind.FULL, datetime(2099, 1, 1, tzinfo=UTC))
    report = run_verify(VerifySettings(directories=[tmp_path]), clock=fixed_clock(NOW))
    assert any(w.startswith(f"{tmp_path / 'forged.cbk'}: dated 2099") for w in report.warnings)


def test_restore_plans_by_the_jobs_clock_and_never_restores_a_backup_dated_after_it(
    chain: tuple[FakeIris, Path, list[Path]],
) -> None:
    fake, target, files = chain
    report = run_restore(
        RestoreSettings(directories=[target], directory_map=IN_PLACE),
        iris=fake,
        clock=fixed_clock(NOW + timedelta(hours=5)),
    )
    assert report.status is JobStatus.OK, report.errors
    assert fake.snapshot().restored == [str(f) for f in files[:2]]
    assert any(f"{files[2]}: dated" in w for w in report.warnings), report.warnings
