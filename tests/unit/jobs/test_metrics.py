"""The metrics job: one call collects the metrics and delivers them (IRIS's snapshot, a
node_exporter textfile, the text); a failure is a failed report, never an exception."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from backup_keeper.alerts.history import AlertHistory, save_history
from backup_keeper.alerts.settings import AlertSettings
from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import lifecycle, run_metrics
from backup_keeper.jobs.metrics import MetricsSettings, run_then_publish
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import SettingsError, validate_settings
from tests.builders import T0, write_managed_backup

NOW = T0 + timedelta(days=2)


def chain(directory: Path) -> Path:
    write_managed_backup(directory, "full.cbk", BackupKind.FULL, T0)
    write_managed_backup(directory, "inc.cbk", BackupKind.INCREMENTAL, T0 + timedelta(days=1))
    return directory


def test_with_a_port_the_snapshot_is_published_and_nothing_else_is_needed(tmp_path: Path) -> None:
    iris = FakeIris(tmp_path / "iris")
    backups = tmp_path / "backups"
    backups.mkdir()

    report = run_metrics(
        MetricsSettings(directories=[chain(backups)]), iris=iris, clock=fixed_clock(NOW)
    )

    assert report.status is JobStatus.OK, report.errors
    assert report.iris == "fake"
    rows = {(m.sensor, m.labels.get("kind", "")): m.value for m in iris.snapshot().metrics}
    assert rows[("restorable_chains", "")] == 1
    assert "published to IRIS's monitor" in report.summary


def test_the_text_and_the_textfile_carry_the_same_samples(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    target = tmp_path / "backup_keeper.prom"
    shown: list[str] = []

    report = run_metrics(
        MetricsSettings(directories=[chain(backups)], format="json", textfile=target),
        show=shown.append,
        clock=fixed_clock(NOW),
    )

    assert report.status is JobStatus.OK, report.errors
    document = json.loads(shown[0])
    assert document["generated"] == report.started.isoformat()
    chains = next(f for f in document["metrics"] if f["name"] == "backupkeeper_restorable_chains")
    assert [s["value"] for s in chains["samples"]] == [1]
    line = f'backupkeeper_restorable_chains{{directory="{backups}",instance="IRIS"}} 1'
    assert line in target.read_text().splitlines()


def test_the_failing_jobs_come_from_the_state_file_the_alert_settings_name(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    state = tmp_path / "alerts-state.json"
    save_history(state, AlertHistory(failing={"IRIS/purge": T0}))
    shown: list[str] = []

    run_metrics(
        MetricsSettings(directories=[backups], alerts=AlertSettings(state_file=state)),
        show=shown.append,
        clock=fixed_clock(NOW),
    )

    assert 'job="purge"' in shown[0]


def test_a_state_file_that_cannot_be_used_is_a_warning_in_the_report(tmp_path: Path) -> None:
    state = tmp_path / "alerts-state.json"
    state.write_text("{")

    report = run_metrics(
        MetricsSettings(directories=[tmp_path], alerts=AlertSettings(state_file=state)),
        show=lambda text: None,
        clock=fixed_clock(NOW),
    )

    assert report.status is JobStatus.OK
    assert report.warnings == [
        f"{state}: not a state file of backup-keeper; "
        "backupkeeper_job_failing_since_timestamp_seconds is left out"
    ]


def test_iris_that_refuses_is_a_failed_report_and_nothing_is_shown(tmp_path: Path) -> None:
    iris = FakeIris(tmp_path / "iris")
    iris.fail("publish_metrics")
    shown: list[str] = []

    report = run_metrics(
        MetricsSettings(directories=[tmp_path]),
        iris=iris,
        show=shown.append,
        clock=fixed_clock(NOW),
    )

    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("metrics failed: IRIS: ")
    assert shown == []


def test_a_directory_that_cannot_be_read_is_a_failed_report(tmp_path: Path) -> None:
    settings = MetricsSettings(directories=[tmp_path])
    tmp_path.rmdir()

    report = run_metrics(settings, show=lambda text: None, clock=fixed_clock(NOW))

    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("metrics failed")


@pytest.mark.parametrize(
    ("textfile", "said"),
    [("metrics.txt", "only *.prom"), ("no/such.prom", "no such directory")],
)
def test_a_textfile_node_exporter_would_not_read_is_bad_settings(
    tmp_path: Path, textfile: str, said: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        validate_settings(
            MetricsSettings, {"directories": [tmp_path], "textfile": str(tmp_path / textfile)}
        )

    assert any(said in problem for problem in raised.value.problems)


def finished(directory: Path, *, dry_run: bool) -> JobReport:
    return lifecycle.begin(
        "purge", clock=fixed_clock(NOW), directories=[str(directory)], options={}, dry_run=dry_run
    )


def test_after_a_job_the_snapshot_is_rebuilt_for_its_directories(tmp_path: Path) -> None:
    iris = FakeIris(tmp_path / "iris")
    (tmp_path / "backups").mkdir()
    backups = chain(tmp_path / "backups")
    report = run_then_publish(
        lambda: finished(backups, dry_run=False), iris=iris, alerts=AlertSettings(), timezone="UTC"
    )
    assert report.warnings == []
    assert any(m.sensor == "restorable_chains" for m in iris.snapshot().metrics)


def test_after_a_dry_run_the_snapshot_is_left_as_it_was(tmp_path: Path) -> None:
    iris = FakeIris(tmp_path / "iris")
    (tmp_path / "backups").mkdir()
    backups = chain(tmp_path / "backups")
    report = run_then_publish(
        lambda: finished(backups, dry_run=True), iris=iris, alerts=AlertSettings(), timezone="UTC"
    )
    assert report.warnings == []
    assert iris.snapshot().metrics == []


def test_a_directory_gone_after_the_job_leaves_a_warning_not_a_failure(tmp_path: Path) -> None:
    iris = FakeIris(tmp_path / "iris")
    report = run_then_publish(
        lambda: finished(tmp_path / "gone", dry_run=False),
        iris=iris,
        alerts=AlertSettings(),
        timezone="UTC",
    )
    assert report.status is JobStatus.OK
    [warning] = report.warnings
    assert warning.startswith("metrics snapshot not refreshed: ")
    assert iris.snapshot().metrics == []
