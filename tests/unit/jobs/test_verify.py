"""verify accounts for every backup file and every sidecar: a broken manifest is a finding, an
unmanaged file is listed with why, a backup with no recorded checksum is "not verifiable", and
the summary never says "all intact" of what was not hashed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import VolumeInfo
from backup_keeper.jobs import run_online_backup, run_verify
from backup_keeper.kinds import BackupKind
from backup_keeper.last_run import LastVerify, read_last
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import BackupSettings, VerifySettings
from backup_keeper.timezones import format_moment, machine_zone
from tests.builders import write_iris_backup, write_managed_backup
from tests.unit.jobs.foreign import FOREIGN, FOREIGN_AT, broken_chain

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
NO_CHECKSUM = "not verifiable: no checksum"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """Two fulls taken through FakeIris, a day apart: each with a checksum in its manifest."""
    fake = FakeIris(tmp_path / "iris")
    directory = tmp_path / "backups"
    directory.mkdir()
    for day in range(2):
        at = NOW + timedelta(days=day)
        report = run_online_backup(
            BackupSettings(directory=directory, kind="full"),
            iris=FakeIris(fake.state_dir, clock=fixed_clock(at)),
            clock=fixed_clock(at),
        )
        assert report.status is JobStatus.OK
    return directory


def verify(directory: Path) -> JobReport:
    return run_verify(VerifySettings(directories=[directory]))


def reasons_of(report: JobReport) -> dict[str, tuple[str, ...]]:
    return {Path(entry.path).name: entry.reasons for entry in report.records}


def backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.cbk"))


def test_every_backup_hashed_and_intact_says_all_intact(target: Path) -> None:
    report = verify(target)
    assert report.status is JobStatus.OK
    assert report.summary == "verified 2 backup(s): all intact"
    assert set(reasons_of(report).values()) == {("verified",)}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "sidecar does not parse"),
        (b"", "sidecar is empty"),
        (json.dumps({"format": "backup-keeper/1", "file": "x.cbk"}).encode(), "does not parse"),
    ],
)
def test_a_sidecar_that_does_not_parse_is_a_finding_that_fails_the_job(
    target: Path, content: bytes, why: str
) -> None:
    broken = backups(target)[0]
    sidecar = broken.with_name(broken.name + ".json")
    sidecar.write_bytes(content)
    report = verify(target)
    assert report.status is JobStatus.FAILED
    assert [e for e in report.errors if str(sidecar) in e] == [e for e in report.errors if why in e]
    assert any(e.startswith(f"{sidecar}: broken manifest: ") for e in report.errors)
    assert "all intact" not in report.summary
    assert "1 problem(s)" in report.summary
    assert any("unmanaged" in r for r in reasons_of(report)[broken.name])


def test_a_sidecar_describing_another_file_is_a_finding(target: Path) -> None:
    first, second = backups(target)
    sidecar = first.with_name(first.name + ".json")
    data = json.loads(sidecar.read_text())
    data["file"] = second.name
    sidecar.write_text(json.dumps(data))
    report = verify(target)
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"{sidecar}: broken manifest: sidecar describes {second.name!r}, not {first.name!r}; "
        f"{first.name} is unmanaged until it is fixed"
    ]


def test_a_sidecar_that_is_a_symlink_is_a_finding(target: Path, tmp_path: Path) -> None:
    first = backups(target)[0]
    sidecar = first.with_name(first.name + ".json")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(sidecar.read_bytes())
    sidecar.unlink()
    sidecar.symlink_to(elsewhere)
    report = verify(target)
    assert report.status is JobStatus.FAILED
    assert any(e.startswith(f"{sidecar}: broken manifest: ") for e in report.errors)


def test_a_snapshot_record_that_does_not_parse_is_a_finding(target: Path) -> None:
    record = target / "snap-1.snapshot.json"
    record.write_text("{truncated")
    report = verify(target)
    assert report.status is JobStatus.FAILED
    assert any(e.startswith(f"{record}: broken manifest: ") for e in report.errors)


def test_backups_with_no_checksum_are_not_verifiable_and_never_all_intact(target: Path) -> None:
    for nnn in (1, 2):
        write_iris_backup(target, "FullDBList", "20261120", nnn)
    report = verify(target)
    assert report.status is JobStatus.OK, report.errors
    assert report.summary == (
        "verified 2 of 4 backup(s) by checksum: intact; 2 not verifiable (no checksum)"
    )
    reasons = reasons_of(report)
    assert reasons["FullDBList_20261120_001.cbk"][0] == NO_CHECKSUM
    assert reasons["FullDBList_20261120_002.cbk"][0] == NO_CHECKSUM


def test_a_manifest_without_a_checksum_is_not_verifiable(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, NOW)
    report = verify(tmp_path)
    assert report.status is JobStatus.OK
    assert (
        report.summary == "none of 1 backup(s) verified by checksum: 1 not verifiable (no checksum)"
    )
    assert reasons_of(report)["a.cbk"] == (NO_CHECKSUM,)


def test_a_size_mismatch_without_a_checksum_is_still_a_finding(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "a.cbk", BackupKind.FULL, NOW)
    (tmp_path / "a.cbk").write_bytes(b"short")
    report = verify(tmp_path)
    assert report.status is JobStatus.FAILED
    assert report.errors == [f"{tmp_path}/a.cbk: truncated: 5 bytes, the manifest says 64"]


def test_an_unmanaged_file_is_listed_with_why(target: Path) -> None:
    (target / "copy of something.cbk").write_bytes(b"x")
    report = verify(target)
    assert report.status is JobStatus.OK
    assert report.summary == "verified 2 backup(s): all intact; 1 unmanaged file(s), not verified"
    assert reasons_of(report)["copy of something.cbk"] == (
        "unmanaged, not verified",
        "neither IRIS's default backup name nor described by a sidecar",
    )


def test_an_empty_directory_has_nothing_to_verify_and_says_so(tmp_path: Path) -> None:
    report = verify(tmp_path)
    assert report.status is JobStatus.OK
    assert report.summary == "nothing to verify: no backup found"


def test_the_cli_exits_1_on_a_broken_manifest(target: Path) -> None:
    first = backups(target)[0]
    first.with_name(first.name + ".json").write_text("[]")
    run = subprocess.run(
        [sys.executable, "-m", "backup_keeper", "verify", str(target), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert any("broken manifest" in e for e in report["errors"])


def test_what_the_catalog_warns_about_is_passed_on_and_a_broken_manifest_only_once(
    target: Path,
) -> None:
    first, second = backups(target)
    first.with_name(first.name + ".json").write_text("{")
    first.with_name(first.name + ".zst").write_bytes(b"a leftover sharing the broken sidecar")
    second.write_bytes(second.read_bytes() + b"grown")  # the catalog warns of the size
    report = verify(target)
    assert [w for w in report.warnings if second.name in w] == [
        f"{second}: size on disk {second.stat().st_size} differs from the manifest's "
        f"{second.stat().st_size - 5}"
    ]
    assert not any(first.name in w for w in report.warnings)
    assert len([e for e in report.errors if "broken manifest" in e]) == 1


class LabelWithoutDate(FakeIris):
    """An instance whose labels carry a date in no form IRIS documents."""

    def volume_info(self, file: str) -> VolumeInfo:
        label = super().volume_info(file)
        return dataclasses.replace(label, time=None, time_text="2026-11-22 02:00:05")


def test_the_label_date_is_read_in_the_instances_local_time(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    fake.configure(timezone="Asia/Tokyo")
    directory = tmp_path / "backups"
    directory.mkdir()
    settings = BackupSettings(directory=directory, kind="full", timezone="Asia/Tokyo")
    assert run_online_backup(settings, iris=fake, clock=fixed_clock(NOW)).status is JobStatus.OK
    right = run_verify(VerifySettings(directories=[directory], timezone="Asia/Tokyo"), iris=fake)
    assert right.status is JobStatus.OK, right.errors
    wrong = run_verify(VerifySettings(directories=[directory], timezone="UTC"), iris=fake)
    assert wrong.status is JobStatus.FAILED
    assert any(
        "the volume label's date 2026-11-22 11:00:00 UTC is not the manifest's "
        "2026-11-22 02:00:00 UTC" in e
        for e in wrong.errors
    ), wrong.errors


def test_a_label_date_that_cannot_be_read_is_said_not_skipped(tmp_path: Path) -> None:
    fake = LabelWithoutDate(tmp_path / "iris", clock=fixed_clock(NOW))
    directory = tmp_path / "backups"
    directory.mkdir()
    settings = BackupSettings(directory=directory, kind="full")
    assert run_online_backup(settings, iris=fake, clock=fixed_clock(NOW)).status is JobStatus.OK
    report = run_verify(VerifySettings(directories=[directory]), iris=fake)
    assert any(
        "volume label's date '2026-11-22 02:00:05' is in no form IRIS documents" in w
        for w in report.warnings
    ), report.warnings


def test_with_iris_verify_fails_the_chain_a_full_elsewhere_broke(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))
    backups = tmp_path / "a"
    backups.mkdir()
    _, _, second = broken_chain(fake, backups)
    settings = VerifySettings(directories=[backups])
    assert run_verify(settings, clock=fixed_clock(NOW)).status is JobStatus.OK  # the files alone
    report = run_verify(settings, iris=fake, clock=fixed_clock(NOW))
    assert report.status is JobStatus.FAILED
    assert report.errors == [
        f"{second}: incomplete chain: chain broken by a foreign backup {FOREIGN} at "
        f"{format_moment(FOREIGN_AT, machine_zone())}"
    ]


def test_verify_leaves_the_number_of_its_findings_for_the_metrics(target: Path) -> None:
    verify(target)
    assert read_last(target, LastVerify)[0] == LastVerify(findings=0)

    first = backups(target)[0]
    first.write_bytes(first.read_bytes() + b"rot")
    report = verify(target)

    assert report.status is JobStatus.FAILED
    state, problem = read_last(target, LastVerify)
    assert problem is None and state is not None
    assert state.findings == len(report.errors) > 0
