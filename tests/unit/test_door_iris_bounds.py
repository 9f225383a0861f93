"""The Task Manager and Interoperability doors hand their jobs a bounded port: a hung IRIS call
is a failed answer naming the call, never a task or an operation that hangs or raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backup_keeper.interop.messages import BackupRequest
from backup_keeper.interop.operations import BackupOperation
from backup_keeper.iris.bounded import TIMEOUT_ENV
from backup_keeper.iris.fake import FakeIris
from backup_keeper.tasks import run_task_with
from tests.hang_guard import fails_if_blocked
from tests.unit.interop.production import BusinessHost, ProductionIris, production

__all__ = ["production"]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIris:
    monkeypatch.setenv(TIMEOUT_ENV, "0.3")
    fake = FakeIris(tmp_path / "iris")
    fake.configure(hang_seconds=3.0)
    return fake


def backup_task(fake: FakeIris, directory: Path) -> dict[str, object]:
    settings = json.dumps({"directory": str(directory), "kind": "full"})
    with fails_if_blocked(3):
        return json.loads(run_task_with("backup", settings, "", iris=fake))  # type: ignore[no-any-return]


def test_a_task_whose_iris_call_hangs_answers_not_ok_naming_the_call(
    fake: FakeIris, tmp_path: Path
) -> None:
    fake.fail("databases", "hang")
    answer = backup_task(fake, tmp_path)
    assert answer["ok"] is False
    assert "databases did not return within 0.3 s" in str(answer["summary"])
    assert list(tmp_path.glob("*.cbk")) == []


def test_a_task_whose_instance_name_hangs_still_runs_and_answers(
    fake: FakeIris, tmp_path: Path
) -> None:
    """The notifier is built before the job, with the instance's name: a hang there must not
    take the task down with it."""
    fake.fail("instance", "hang")
    answer = backup_task(fake, tmp_path)
    assert set(answer) == {"ok", "summary", "report"}
    assert answer["report"]["iris"] == "fake"  # type: ignore[index]


def test_an_operation_whose_iris_call_hangs_answers_not_ok_and_raises_an_ens_alert(
    fake: FakeIris, tmp_path: Path, production: ProductionIris
) -> None:
    op = BackupOperation.__new__(BackupOperation)  # IRIS never runs __init__
    op._iris_port = fake
    op.iris_handle = host = BusinessHost()
    op.directory = str(tmp_path)
    fake.fail("mirror", "hang")
    with fails_if_blocked(3):
        result = op.backup(BackupRequest(kind="full"))
    assert not result.ok
    assert "mirror did not return within 0.3 s" in result.summary
    assert host.texts and "mirror did not return" in host.texts[0]
