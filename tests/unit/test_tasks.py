"""The Task Manager door: the task's settings as JSON in, one job, ok/summary/report out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backup_keeper.iris.embedded import NotInsideIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.tasks import run_task, run_task_with


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
