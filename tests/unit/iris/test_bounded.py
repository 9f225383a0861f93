"""BoundedIris: every call answers, fails, or times out within its bound, naming the call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from backup_keeper.iris.bounded import (
    DEFAULT_CALL_TIMEOUT,
    TIMEOUT_ENV,
    BoundedIris,
    bounded,
    call_timeout_from_environment,
    parse_call_timeout,
)
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout, SensorValue, Severity
from backup_keeper.kinds import BackupKind
from tests.hang_guard import fails_if_blocked

BOUND = 0.3


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    fake = FakeIris(tmp_path / "iris")
    fake.configure(hang_seconds=2.0)
    return fake


def test_a_bounded_port_is_an_iris_port_named_as_its_adapter(fake: FakeIris) -> None:
    port = BoundedIris(fake, BOUND)
    assert isinstance(port, IrisPort)
    assert port.adapter_name == "fake"


def test_answers_and_iris_errors_pass_through_unchanged(fake: FakeIris, tmp_path: Path) -> None:
    port = BoundedIris(fake, 5)
    assert port.instance().name == "IRIS"
    assert [d.name for d in port.databases()] == ["USER", "IRISAPP"]
    port.set_backup_database_list(["USER"])
    assert port.backup_database_list() == ["USER"]
    assert port.size_estimate(BackupKind.FULL).directories == 1
    assert port.mirror().role == "none"
    assert port.mirror_qos_timeout_ms() is None
    port.write_console_log("hello", Severity.INFO)
    assert fake.snapshot().console_log == [(0, "hello")]
    port.publish_metrics([SensorValue("unmanaged_files", 3, {"directory": "/b"})])
    assert [(m.sensor, m.value, m.labels) for m in fake.snapshot().metrics] == [
        ("unmanaged_files", 3.0, {"directory": "/b"})
    ]
    port.set_freeze_marker("mine")
    assert port.freeze_marker() == "mine"
    frozen = port.external_freeze(log_file="", text="t", freeze_timeout=10, wd_suspend_limit=0)
    assert frozen.required_journal and port.is_frozen()
    port.external_thaw(log_file="")
    assert not port.is_frozen()
    port.external_set_history(log_file="", description="snap")
    assert port.journal_files().current == fake.journal_files().current
    assert port.journal_settings() == fake.journal_settings()
    assert port.backup_history()[0].description == "snap"
    port.abort_backup()
    assert fake.snapshot().abort_requests == 1
    fake.configure(credentials={"mail": "pw"})
    assert port.credentials_password("mail") == "pw"
    with pytest.raises(IrisError, match="no credentials") as raised:
        port.credentials_password("none")
    assert not isinstance(raised.value, IrisTimeout)
    with pytest.raises(IrisError, match="not a backup volume"):
        port.volume_info(str(tmp_path / "x.cbk"))


@pytest.mark.parametrize(
    ("step", "call"),
    [
        ("instance", lambda p: p.instance()),
        ("databases", lambda p: p.databases()),
        ("size_estimate", lambda p: p.size_estimate(BackupKind.FULL)),
        ("mirror", lambda p: p.mirror()),
        ("backup_history", lambda p: p.backup_history()),
        ("is_frozen", lambda p: p.is_frozen()),
        ("freeze_marker", lambda p: p.freeze_marker()),
        ("set_freeze_marker", lambda p: p.set_freeze_marker(None)),
        ("publish_metrics", lambda p: p.publish_metrics([])),
        ("write_console_log", lambda p: p.write_console_log("x", Severity.INFO)),
        ("external_thaw", lambda p: p.external_thaw(log_file="")),
        ("abort_backup", lambda p: p.abort_backup()),
        ("credentials_password", lambda p: p.credentials_password("x")),
        ("journal_files", lambda p: p.journal_files()),
        ("journal_settings", lambda p: p.journal_settings()),
    ],
)
def test_a_hung_call_fails_within_about_its_bound_naming_the_call(
    fake: FakeIris, step: str, call: object
) -> None:
    fake.fail(step, "hang")
    port = BoundedIris(fake, BOUND)
    started = time.monotonic()
    with fails_if_blocked(5), pytest.raises(IrisTimeout) as raised:
        call(port)  # type: ignore[operator]
    took = time.monotonic() - started
    assert BOUND <= took < BOUND + 1.0
    assert raised.value.call == step
    assert f"{step} did not return within 0.3 s" in str(raised.value)
    assert isinstance(raised.value, IrisError)  # so every job's `except IrisError` catches it


def test_the_port_still_answers_after_a_call_timed_out(fake: FakeIris) -> None:
    """No call waits for an earlier hung one: the thaw after a hung call must get through."""
    fake.fail("instance", "hang")
    port = BoundedIris(fake, BOUND)
    with fails_if_blocked(5):
        with pytest.raises(IrisTimeout):
            port.instance()
        assert port.is_frozen() is False


def test_a_lock_wait_gets_its_wait_plus_the_bound(fake: FakeIris, tmp_path: Path) -> None:
    holder = FakeIris(fake.state_dir)
    assert holder.acquire_lock("job", 0)
    port = BoundedIris(fake, BOUND)
    started = time.monotonic()
    with fails_if_blocked(5):
        assert port.acquire_lock("job", 0.6) is False  # waited 0.6 s > the bound: no timeout
    assert time.monotonic() - started >= 0.6
    holder.release_lock("job")
    assert port.acquire_lock("job", 0)
    port.release_lock("job")
    assert holder.acquire_lock("job", 0)


def test_the_backup_and_restores_are_not_cut_short_by_the_call_bound(
    fake: FakeIris, tmp_path: Path
) -> None:
    """The backup has the job's --timeout watchdog; a restore may take hours, and reporting it
    failed while ^DBREST goes on writing would be worse than waiting."""
    fake.configure(hang_seconds=0.8)
    port = BoundedIris(fake, BOUND)
    for step in ("online_backup", "restore_backup", "restore_journals"):
        fake.fail(step, "hang")
    with fails_if_blocked(10):
        started = time.monotonic()
        outcome = port.online_backup(
            BackupKind.FULL,
            description="d",
            file=str(tmp_path / "f.cbk"),
            log_file=str(tmp_path / "f.log"),
            quiet_timeout=60,
        )
        assert outcome.result.value == "completed"
        with pytest.raises(IrisError, match="cannot open the input device") as raised:
            port.restore_backup(str(tmp_path / "none.cbk"), {})
        assert not isinstance(raised.value, IrisTimeout)
        first = "/usr/irissys/mgr/journal/20261122.001"
        port.restore_journals(first, select=["/usr/irissys/mgr/user/"], redirect={})
    assert time.monotonic() - started >= 3 * 0.8
    assert fake.snapshot().journals_restored_from == first


def test_bounded_wraps_once(fake: FakeIris) -> None:
    once = bounded(fake, 5)
    assert isinstance(once, BoundedIris)
    assert bounded(once, 1) is once


@pytest.mark.parametrize(
    "text", ["0", "-1", "inf", "nan", "1e3", "١٢٠", "１２", "", "abc", "86401"]
)
def test_a_call_timeout_that_is_no_usable_bound_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="seconds"):
        parse_call_timeout(text)


def test_call_timeouts_are_ascii_seconds_up_to_a_day() -> None:
    assert parse_call_timeout("120") == 120
    assert parse_call_timeout(" 0.25 ") == 0.25
    assert parse_call_timeout("86400") == 86400
    with pytest.raises(ValueError, match="above 0"):
        BoundedIris(FakeIris(), float("inf"))


def test_the_doors_bound_comes_from_the_environment_and_a_bad_one_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    assert call_timeout_from_environment() == DEFAULT_CALL_TIMEOUT == 120
    monkeypatch.setenv(TIMEOUT_ENV, "7.5")
    assert call_timeout_from_environment() == 7.5
    port = bounded(FakeIris())
    assert isinstance(port, BoundedIris) and port.timeout == 7.5
    monkeypatch.setenv(TIMEOUT_ENV, "forever")
    assert call_timeout_from_environment() == DEFAULT_CALL_TIMEOUT
    assert f"{TIMEOUT_ENV} must be a number of seconds" in caplog.text
