"""require_offsite_copy: a local purge keeps what is not yet copied, with its chain, and says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from backup_keeper.alerts.events import EventKind, events_for
from backup_keeper.catalog.manifest import (
    RemoteCopy,
    read_manifest,
    sidecar_path,
    with_copy,
    write_manifest,
)
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import Checksum
from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.kinds import BackupKind
from backup_keeper.purge.offsite_holds import holds
from backup_keeper.report import JobReport
from backup_keeper.retention.plan import Action, Decision
from backup_keeper.settings import PurgeSettings
from tests.builders import T0, names, record
from tests.copy_builders import local_backup, local_chain

URL = "s3://bucket/prefix"
NOW = T0 + timedelta(days=30)


def mark_copied(directory: Path, name: str, destination: str = URL + "/PROD/") -> None:
    manifest = read_manifest(sidecar_path(directory / name), expected_file=name)
    copy = RemoteCopy(
        destination=destination,
        object=name,
        size=manifest.size,
        checksum=manifest.checksum or Checksum(algorithm="blake3", hex="0" * 64),
        verified=NOW,
        how="read-back",
    )
    write_manifest(directory / name, with_copy(manifest, copy))


def purge(directory: Path, *required: str) -> JobReport:
    settings = PurgeSettings.model_validate(
        {
            "directories": [directory],
            "timezone": "UTC",
            "retention": {"keep_last": 1},
            "require_offsite_copy": list(required),
        }
    )
    return run_purge(settings, clock=fixed_clock(NOW))


def deleted(report: JobReport) -> list[str]:
    return names([e.path for e in report.delete])


def test_backups_not_yet_copied_are_kept_with_a_warning_and_an_alert(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FIIFII")
    report = purge(tmp_path, URL)
    assert deleted(report) == []
    assert all((tmp_path / name).exists() for name in chain)
    kept = {Path(e.path).name: e.reasons for e in report.keep}
    assert f"not yet copied to {URL}" in kept[chain[2]]
    assert report.warnings == [
        f"3 backup(s) kept, not yet copied to {URL} (require_offsite_copy): " + ", ".join(chain[:3])
    ]
    assert [e.kind for e in events_for(report, "PROD", NOW)] == [EventKind.NOT_COPIED]


def test_copied_backups_go_as_the_policy_says(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FIIFII")
    for name in chain[:3]:
        mark_copied(tmp_path, name)
    report = purge(tmp_path, URL)
    assert deleted(report) == sorted(chain[:3])
    assert report.warnings == []


def test_an_uncopied_incremental_keeps_its_copied_full_locally(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FIIFII")
    mark_copied(tmp_path, chain[0])
    mark_copied(tmp_path, chain[1])
    report = purge(tmp_path, URL)
    assert deleted(report) == []  # the full and the first incremental are needed by the second
    kept = {Path(e.path).name: e.reasons for e in report.keep}
    assert any(r.startswith("chain: needed to restore kept") for r in kept[chain[0]])


def test_every_required_destination_must_have_its_copy(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FF")
    mark_copied(tmp_path, chain[0])
    report = purge(tmp_path, URL, "sftp://keeper@host/backups")
    assert deleted(report) == []
    kept = {Path(e.path).name: e.reasons for e in report.keep}
    assert "not yet copied to sftp://keeper@host/backups" in kept[chain[0]]


def test_without_the_setting_nothing_is_held(tmp_path: Path) -> None:
    chain = local_chain(tmp_path, "FF")
    assert deleted(purge(tmp_path)) == [chain[0]]


def test_a_failed_backup_is_not_held_for_a_copy_it_will_never_get(tmp_path: Path) -> None:
    local_backup(tmp_path, "keeper_X.cbk", BackupKind.FULL, T0, status=BackupStatus.FAILED)
    decisions = [
        Decision(
            record("keeper_X.cbk", "full", T0, BackupStatus.FAILED, directory=str(tmp_path)),
            Action.DELETE,
            (),
        )
    ]
    assert holds(decisions, [URL]) == {}


def test_the_same_place_spelled_differently_counts_as_copied(tmp_path: Path) -> None:
    local_chain(tmp_path, "F")
    name = "keeper_F_000.cbk"
    mark_copied(tmp_path, name, "sftp://keeper@Host.example/backups/PROD")
    decision = Decision(record(name, "full", T0, directory=str(tmp_path)), Action.DELETE, ())
    assert holds([decision], ["sftp://host.example:22/backups/"]) == {}
    assert holds([decision], ["sftp://host.example:2222/backups"]) != {}


def test_a_backup_known_only_by_its_iris_name_is_held_and_the_reason_says_why(
    tmp_path: Path,
) -> None:
    from backup_keeper.catalog.record import RecordSource

    decision = Decision(
        record("FullDBList_20261101_001.cbk", "full", T0, source=RecordSource.FILE_NAME),
        Action.DELETE,
        (),
    )
    [why] = holds([decision], [URL]).values()
    assert why.startswith(f"not yet copied to {URL} (no sidecar describes it")
