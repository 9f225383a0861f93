"""The Task Manager door: the task's settings as JSON in, one job, ok/summary/report out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backup_keeper.iris.embedded import NotInsideIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.tasks import run_task, run_task_with
from tests.copy_builders import local_chain


def copy_task_settings(directories: str, url: str, **overrides: object) -> dict[str, object]:
    """The JSON BackupKeeper.Task.Copy's OnTask builds, its settings left at their defaults:
    empty strings for what is not set, the retention table empty."""
    destination = {"url": url, "endpoint": "", "region": "", "path_style": False}
    destination |= {"allow_http": False, "known_hosts": "", "identity_file": "", "password_env": ""}
    target: dict[str, object] = {"destination": destination, "instance": ""}
    target |= {"encrypt_to": [], "retention": {}}
    target |= overrides
    return {"directories": directories.split(","), "to": target, "dry_run": False}


def test_a_backup_task_runs_the_job_and_reports_ok(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    settings = {
        "directory": str(tmp_path),
        "kind": "full",
        "retention": {"keep_last": 2, "keep_within": ""},
    }
    answer = json.loads(run_task_with("backup", json.dumps(settings), "", iris=fake))
    assert answer["ok"] is True
    assert answer["summary"].startswith("full backup completed")
    assert answer["report"]["iris"] == "fake"
    assert len(list(tmp_path.glob("*.cbk"))) == 1


def test_a_metrics_task_publishes_the_snapshot_the_monitor_shows(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "backups"
    backups.mkdir()
    settings = {"directories": [str(backups)], "timezone": ""}

    answer = json.loads(run_task_with("metrics", json.dumps(settings), "", iris=fake))

    assert answer["ok"] is True, answer["summary"]
    assert answer["report"]["job"] == "metrics"
    assert "restorable_chains" in {row.sensor for row in fake.snapshot().metrics}


def test_the_metrics_task_reads_the_alert_state_its_alerts_config_names(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    backups = tmp_path / "backups"
    backups.mkdir()
    state = tmp_path / "state.json"
    state.write_text('{"failing": {"IRIS/purge": "2026-11-01T02:00:00Z"}}')
    config = tmp_path / "alerts.toml"
    config.write_text(f'[alerts]\nstate_file = "{state}"\n')
    settings = {"directories": [str(backups)]}

    answer = json.loads(run_task_with("metrics", json.dumps(settings), str(config), iris=fake))

    assert answer["ok"] is True, answer["summary"]
    failing = [r for r in fake.snapshot().metrics if r.sensor.startswith("job_failing")]
    assert [r.labels["job"] for r in failing] == ["purge"]


def test_after_a_backup_task_the_snapshot_already_shows_it(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    settings = {"directory": str(tmp_path), "kind": "full"}

    answer = json.loads(run_task_with("backup", json.dumps(settings), "", iris=fake))

    assert answer["ok"] is True, answer["summary"]
    rows = {(r.sensor, r.labels.get("kind", "")) for r in fake.snapshot().metrics}
    assert ("last_backup_timestamp_seconds", "full") in rows


def test_a_snapshot_that_cannot_be_refreshed_is_a_warning_not_the_jobs_failure(
    tmp_path: Path,
) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.fail("publish_metrics")
    settings = {"directory": str(tmp_path), "kind": "full"}

    answer = json.loads(run_task_with("backup", json.dumps(settings), "", iris=fake))

    assert answer["ok"] is True, answer["summary"]
    assert any(
        w.startswith("metrics snapshot not refreshed: metrics failed: IRIS: ")
        for w in answer["report"]["warnings"]
    )


def test_a_failing_job_is_not_ok_and_its_summary_is_the_status_text(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    fake.fail("online_backup", "return0")
    answer = json.loads(
        run_task_with(
            "backup", json.dumps({"directory": str(tmp_path), "kind": "full"}), "", iris=fake
        )
    )
    assert answer["ok"] is False
    assert answer["summary"].startswith("backup failed: IRIS reported the backup failed")


def test_bad_task_settings_name_every_problem(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    answer = json.loads(
        run_task_with(
            "backup",
            json.dumps({"directory": str(tmp_path), "kind": "weekly", "bogus": 1}),
            "",
            iris=fake,
        )
    )
    assert answer["ok"] is False
    assert "kind" in answer["summary"] and "bogus" in answer["summary"]
    assert json.loads(run_task_with("nope", "{}", "", iris=fake))["summary"].startswith(
        "bad settings"
    )
    assert json.loads(run_task_with("backup", "{not json", "", iris=fake))["summary"].startswith(
        "bad task settings"
    )
    missing = json.loads(run_task_with("backup", "{}", str(tmp_path / "missing.toml"), iris=fake))
    assert missing["ok"] is False and "missing.toml" in missing["summary"]


def test_outside_iris_the_task_door_refuses_clearly(tmp_path: Path) -> None:
    import sys

    guard = sys.modules.pop("iris")
    try:
        with pytest.raises(NotInsideIris, match="not running inside IRIS"):
            run_task("backup", json.dumps({"directory": str(tmp_path), "kind": "full"}))
    finally:
        for name in [m for m in sys.modules if m == "iris" or m.startswith("iris.")]:
            del sys.modules[name]
        sys.modules["iris"] = guard


def test_a_copy_task_with_its_defaults_copies_and_purges_nothing_at_the_destination(
    tmp_path: Path,
) -> None:
    backups, share = tmp_path / "backups", tmp_path / "share"
    backups.mkdir()
    share.mkdir()
    local_chain(backups, "FIIFII", size=512)
    settings = copy_task_settings(str(backups), f"file://{share}")
    answer = json.loads(run_task_with("copy", json.dumps(settings), "", iris=FakeIris()))
    assert answer["ok"] is True, answer["summary"]
    assert answer["report"]["job"] == "copy"
    assert len(list((share / "PROD").glob("*.cbk"))) == 6
    settings = copy_task_settings(str(backups), f"file://{share}", retention={"keep_last": 1})
    again = json.loads(run_task_with("copy", json.dumps(settings), "", iris=FakeIris()))
    assert again["summary"].endswith("6 already there; purged 3 there")


def test_a_copy_task_with_a_password_in_its_url_is_refused_without_repeating_it(
    tmp_path: Path,
) -> None:
    settings = copy_task_settings(str(tmp_path), "sftp://keeper:hunter2-secret@host/offsite")
    answer = json.loads(run_task_with("copy", json.dumps(settings), "", iris=FakeIris()))
    assert answer["ok"] is False and "nothing was done" in answer["summary"]
    assert "hunter2" not in json.dumps(answer)
    assert list(tmp_path.iterdir()) == []
