"""freeze, thaw, doctor and the recovery every job runs first, on FakeIris, where it hurts: an
IRIS call failing half way, a marker that cannot be read, a marker that is not ours. Markers are
the only trace of who froze: they go only after a confirmed thaw, only by their owner, and an
unreadable one is an alert, never "no marker"."""

from __future__ import annotations

import errno
import os
import socket
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.freeze_marker import MARKER_NAME, FreezeMarker, read_marker, write_marker
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import FreezeResult, IrisError
from backup_keeper.jobs import run_doctor, run_external_backup, run_freeze, run_thaw
from backup_keeper.jobs.freeze_recovery import recover_frozen
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import BackupSettings, ExternalBackupSettings, FreezeHookSettings
from tests.builders import NEVER_ALIVE_PID
from tests.read_only import read_only

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    return FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


def hook(directory: Path) -> FreezeHookSettings:
    return FreezeHookSettings(directory=directory, wd_suspend_limit=300)


def freeze(fake: FakeIris, directory: Path, notifier: Recorder | None = None) -> JobReport:
    return run_freeze(hook(directory), iris=fake, clock=fixed_clock(NOW), notifier=notifier)


def thaw(fake: FakeIris, directory: Path, notifier: Recorder | None = None) -> JobReport:
    return run_thaw(hook(directory), iris=fake, clock=fixed_clock(NOW), notifier=notifier)


def doctor(fake: FakeIris, directory: Path, notifier: Recorder | None = None) -> JobReport:
    return run_doctor(hook(directory), iris=fake, clock=fixed_clock(NOW), notifier=notifier)


def snapshot(fake: FakeIris, directory: Path, notifier: Recorder | None = None) -> JobReport:
    return run_external_backup(
        ExternalBackupSettings(directory=directory, command=["echo", "snap-1"]),
        iris=fake,
        clock=fixed_clock(NOW),
        notifier=notifier,
    )


def online(fake: FakeIris, directory: Path, notifier: Recorder | None = None) -> JobReport:
    return run_online_backup(
        BackupSettings(directory=directory, kind="full"),
        iris=fake,
        clock=fixed_clock(NOW),
        notifier=notifier,
    )


JOBS: list[Callable[[FakeIris, Path, Recorder | None], JobReport]] = [
    freeze,
    thaw,
    doctor,
    snapshot,
    online,
]


def stale_job_marker(directory: Path, fake: FakeIris) -> FreezeMarker:
    """The markers of a backup-keeper job killed while the instance was frozen."""
    marker = FreezeMarker(
        host=socket.gethostname(),
        pid=NEVER_ALIVE_PID,
        started=NOW - timedelta(minutes=5),
        expires=NOW + timedelta(hours=1),
        run="0123456789abcdef",
    )
    write_marker(directory, marker)
    fake.set_freeze_marker(marker.model_dump_json())
    fake.configure(frozen=True)
    return marker


def markers(directory: Path, fake: FakeIris) -> tuple[bytes | None, str | None]:
    path = directory / MARKER_NAME
    return (path.read_bytes() if path.exists() else None), fake.freeze_marker()


# -- an IRIS call failing during the recovery or the frozen check ---------------------------


def test_a_failing_frozen_check_during_freeze_keeps_the_freezing_runs_markers(
    fake: FakeIris, directory: Path
) -> None:
    assert freeze(fake, directory).status is JobStatus.OK
    before = markers(directory, fake)
    fake.fail("is_frozen")
    second = freeze(fake, directory)
    assert second.status is JobStatus.FAILED
    assert not any("not frozen" in e for e in second.errors), second.errors
    assert "injected failure in is_frozen" in second.summary
    assert markers(directory, fake) == before
    fake.heal("is_frozen")
    assert fake.is_frozen()
    assert thaw(fake, directory).status is JobStatus.OK
    assert markers(directory, fake) == (None, None)


@pytest.mark.parametrize("job", [freeze, doctor, snapshot, online], ids=lambda j: j.__name__)
def test_a_failing_frozen_check_during_recovery_keeps_a_dead_runs_markers(
    fake: FakeIris,
    directory: Path,
    job: Callable[[FakeIris, Path, Recorder | None], JobReport],
) -> None:
    stale_job_marker(directory, fake)
    before = markers(directory, fake)
    fake.fail("is_frozen")
    recorder = Recorder()
    report = job(fake, directory, recorder)
    assert report.status is JobStatus.FAILED
    assert recorder.reports == [report]
    assert not any("not frozen" in e for e in report.errors), report.errors
    assert markers(directory, fake) == before
    fake.heal("is_frozen")
    recovered = doctor(fake, directory)  # the next run can still recover it
    assert any("left frozen by pid" in w for w in recovered.warnings), recovered.warnings
    assert not fake.is_frozen()
    assert markers(directory, fake) == (None, None)


class FreezesThenFails(FakeIris):
    """ExternalFreeze that suspends the write daemon and then reports an error."""

    def external_freeze(self, **kwargs: object) -> FreezeResult:
        super().external_freeze(**kwargs)  # type: ignore[arg-type]
        raise IrisError("ERROR #5001: freeze reported an error after suspending")


def test_a_freeze_that_fails_but_froze_is_thawed_and_its_markers_released(
    tmp_path: Path, directory: Path
) -> None:
    fake = FreezesThenFails(tmp_path / "iris", clock=fixed_clock(NOW))
    report = freeze(fake, directory)
    assert report.status is JobStatus.FAILED
    assert "it has been thawed" in report.errors[-1]
    assert not fake.is_frozen()
    assert markers(directory, fake) == (None, None)


class FreezesFailsAndGoesDark(FreezesThenFails):
    """...and, once the freeze has failed, cannot say whether the write daemon is suspended."""

    def is_frozen(self) -> bool:
        if self.snapshot().frozen and self.freeze_marker() is not None:
            raise IrisError("ERROR #5001: injected failure in is_frozen")
        return super().is_frozen()


def test_a_failed_freeze_whose_state_cannot_be_checked_keeps_its_markers(
    tmp_path: Path, directory: Path
) -> None:
    fake = FreezesFailsAndGoesDark(tmp_path / "iris", clock=fixed_clock(NOW))
    report = freeze(fake, directory)
    assert report.status is JobStatus.FAILED
    assert report.errors[-1].startswith("CRITICAL: ExternalFreeze failed")
    assert read_marker(directory) is not None and fake.freeze_marker() is not None
    assert fake.snapshot().frozen
    assert run_thaw(hook(directory), iris=FakeIris(fake.state_dir)).status is JobStatus.OK
    assert markers(directory, fake) == (None, None)


@pytest.mark.parametrize("step", ["set_freeze_marker", "external_freeze"])
def test_a_freeze_refused_by_iris_leaves_no_marker(
    fake: FakeIris, directory: Path, step: str
) -> None:
    fake.fail(step)
    report = freeze(fake, directory)
    assert report.status is JobStatus.FAILED
    assert "the instance is not frozen" in report.errors[-1]
    assert not fake.is_frozen()
    assert markers(directory, fake) == (None, None)


# -- a marker that cannot be read ------------------------------------------------------------


def _symlinked(directory: Path, fake: FakeIris) -> None:
    real = directory.parent / "elsewhere.json"
    real.write_text(stale_job_marker(directory, fake).model_dump_json())
    (directory / MARKER_NAME).unlink()
    (directory / MARKER_NAME).symlink_to(real)
    fake.set_freeze_marker(None)


def _garbage(directory: Path, fake: FakeIris) -> None:
    fake.configure(frozen=True)
    (directory / MARKER_NAME).write_bytes(b"{torn")


def _oversized(directory: Path, fake: FakeIris) -> None:
    stale_job_marker(directory, fake)
    with (directory / MARKER_NAME).open("a") as handle:
        handle.write(" " * (1 << 17))


def _fifo(directory: Path, fake: FakeIris) -> None:
    fake.configure(frozen=True)
    os.mkfifo(directory / MARKER_NAME)


def _garbage_inside_iris(directory: Path, fake: FakeIris) -> None:
    fake.configure(frozen=True)
    fake.set_freeze_marker("not a marker")


PLANTS = [_symlinked, _garbage, _oversized, _fifo, _garbage_inside_iris]


def snapshot_of(directory: Path) -> dict[str, tuple[str, bytes | str]]:
    out: dict[str, tuple[str, bytes | str]] = {}
    for path in directory.iterdir():
        if path.is_symlink():
            out[path.name] = ("link", str(path.readlink()))
        elif path.is_file():
            out[path.name] = ("file", path.read_bytes())
        else:
            out[path.name] = ("other", "")
    return out


@pytest.mark.parametrize("plant", PLANTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("job", [freeze, doctor, snapshot, online], ids=lambda j: j.__name__)
def test_an_unreadable_marker_is_an_alert_and_nothing_is_thawed_or_cleared(
    fake: FakeIris,
    directory: Path,
    plant: Callable[[Path, FakeIris], None],
    job: Callable[[FakeIris, Path, Recorder | None], JobReport],
) -> None:
    plant(directory, fake)
    before, inside = snapshot_of(directory), fake.freeze_marker()
    recorder = Recorder()
    report = job(fake, directory, recorder)
    assert report.status is JobStatus.FAILED
    assert recorder.reports == [report]
    assert any("cannot be read" in e and "someone unknown" in e for e in report.errors), (
        report.errors
    )
    if job is online:  # it still takes its backup, but its one line must not read as success
        assert "error" in report.summary, report.summary
    assert fake.is_frozen()  # not ours to thaw
    assert {k: v for k, v in snapshot_of(directory).items() if k == MARKER_NAME} == {
        k: v for k, v in before.items() if k == MARKER_NAME
    }
    assert fake.freeze_marker() == inside


@pytest.mark.parametrize("plant", PLANTS, ids=lambda f: f.__name__.strip("_"))
def test_thaw_with_an_unreadable_marker_thaws_says_so_and_leaves_the_marker(
    fake: FakeIris, directory: Path, plant: Callable[[Path, FakeIris], None]
) -> None:
    plant(directory, fake)
    before = {k: v for k, v in snapshot_of(directory).items() if k == MARKER_NAME}
    report = thaw(fake, directory)
    assert not fake.is_frozen()
    assert any("cannot be read" in e for e in report.errors)
    assert {k: v for k, v in snapshot_of(directory).items() if k == MARKER_NAME} == before


def test_a_freeze_with_an_unreadable_marker_freezes_nothing(
    fake: FakeIris, directory: Path
) -> None:
    (directory / MARKER_NAME).write_bytes(b"{torn")
    report = freeze(fake, directory)
    assert report.status is JobStatus.FAILED
    assert not fake.is_frozen()
    assert (directory / MARKER_NAME).read_bytes() == b"{torn"


# -- only the owner clears -------------------------------------------------------------------


def test_a_snapshot_leaves_a_marker_another_run_wrote_meanwhile(
    fake: FakeIris, directory: Path, tmp_path: Path
) -> None:
    other = FreezeMarker(
        host="elsewhere", started=NOW, expires=NOW + timedelta(hours=1), run="fedcba9876543210"
    )
    script = (
        "from pathlib import Path; from backup_keeper.freeze_marker import FreezeMarker, "
        f"write_marker; write_marker(Path({str(directory)!r}), "
        f"FreezeMarker.model_validate_json({other.model_dump_json()!r})); print('snap-1')"
    )
    report = run_external_backup(
        ExternalBackupSettings(directory=directory, command=[sys.executable, "-c", script]),
        iris=fake,
        clock=fixed_clock(NOW),
    )
    assert not fake.is_frozen()
    assert read_marker(directory) == other
    assert any("left in place" in w and "elsewhere" in w for w in report.warnings)
    assert fake.freeze_marker() is None  # the copy inside IRIS was still ours


# -- the disk failing: a failed report, an alert, nothing frozen -----------------------------


def test_a_marker_that_cannot_be_written_fails_the_freeze_before_freezing(
    fake: FakeIris, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(directory / MARKER_NAME))

    monkeypatch.setattr("backup_keeper.jobs.freeze_hooks.write_marker", full)
    recorder = Recorder()
    report = freeze(fake, directory, recorder)
    assert report.status is JobStatus.FAILED
    assert report.errors == [f"{directory / MARKER_NAME}: No space left on device"]
    assert recorder.reports == [report]
    assert not fake.is_frozen()


@pytest.mark.parametrize("job", [thaw, doctor], ids=lambda j: j.__name__)
def test_an_os_error_in_thaw_or_doctor_is_a_failed_report(
    fake: FakeIris,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    job: Callable[[FakeIris, Path, Recorder | None], JobReport],
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    fake.configure(frozen=True)
    module = {"thaw": "freeze_hooks", "doctor": "doctor"}[job.__name__]
    monkeypatch.setattr(f"backup_keeper.jobs.{module}.current_marker", broken)
    recorder = Recorder()
    report = job(fake, directory, recorder)
    assert report.status is JobStatus.FAILED
    assert any("Input/output error" in e for e in report.errors), report.errors
    assert recorder.reports == [report]
    assert fake.is_frozen() is (job is doctor)  # thaw thaws whatever else fails


def test_a_freeze_in_a_read_only_directory_fails_before_freezing(
    fake: FakeIris, directory: Path
) -> None:
    recorder = Recorder()
    with read_only(directory):
        report = freeze(fake, directory, recorder)
    assert report.status is JobStatus.FAILED
    assert recorder.reports == [report]
    assert not fake.is_frozen()
    assert markers(directory, fake) == (None, None)


# -- recovery and release, each way they can end ---------------------------------------------


def test_a_stale_marker_on_a_running_instance_is_cleared_with_a_warning(
    fake: FakeIris, directory: Path
) -> None:
    marker = stale_job_marker(directory, fake)
    fake.configure(frozen=False)
    report = doctor(fake, directory)
    assert report.errors == []
    assert any(
        w.startswith(f"stale freeze marker of {marker.describe()} cleared") for w in report.warnings
    )
    assert markers(directory, fake) == (None, None)


def test_a_stale_marker_is_dated_in_the_instances_zone(fake: FakeIris, directory: Path) -> None:
    stale_job_marker(directory, fake)
    fake.configure(frozen=False)
    settings = ExternalBackupSettings(
        directory=directory, command=["echo", "snap-1"], timezone="Asia/Tokyo"
    )
    report = run_external_backup(settings, iris=fake, clock=fixed_clock(NOW))
    assert any(
        w.startswith(
            f"stale freeze marker of pid {NEVER_ALIVE_PID} on {socket.gethostname()}, "
            "since 2026-11-22 11:55:00 JST (label -) cleared"
        )
        for w in report.warnings
    ), report.warnings


@pytest.mark.parametrize("mode", ["raise", "stay_frozen"])
def test_a_left_frozen_instance_that_will_not_thaw_is_critical_and_keeps_its_markers(
    fake: FakeIris, directory: Path, mode: str
) -> None:
    stale_job_marker(directory, fake)
    before = markers(directory, fake)
    fake.fail("external_thaw", mode)  # type: ignore[arg-type]
    report = doctor(fake, directory)
    assert any(e.startswith("CRITICAL: the instance was left frozen by pid") for e in report.errors)
    assert fake.is_frozen()
    assert markers(directory, fake) == before


def test_a_freeze_whose_process_here_is_alive_is_left_alone_however_old_its_marker(
    fake: FakeIris, directory: Path
) -> None:
    alive_freezer = FreezeMarker(
        host=socket.gethostname(),
        pid=os.getpid(),
        started=NOW - timedelta(days=2),
        expires=NOW - timedelta(days=1),
        run="0123456789abcdef",
    )
    write_marker(directory, alive_freezer)
    fake.set_freeze_marker(alive_freezer.model_dump_json())
    fake.configure(frozen=True)
    report = JobReport(job="doctor", started=NOW)
    recover_frozen(directory, fake, report, NOW)
    assert report.warnings == [f"a freeze by {alive_freezer.describe()} is still in progress"]
    assert report.errors == []
    assert fake.is_frozen() and fake.snapshot().thaw_requests == 0
    assert read_marker(directory) == alive_freezer


@pytest.mark.parametrize("mode", ["raise", "stay_frozen"])
def test_a_thaw_hook_whose_thaw_fails_is_critical_and_keeps_the_freezes_markers(
    fake: FakeIris, directory: Path, mode: str
) -> None:
    assert freeze(fake, directory).status is JobStatus.OK
    before = markers(directory, fake)
    fake.fail("external_thaw", mode)  # type: ignore[arg-type]
    report = thaw(fake, directory)
    assert report.status is JobStatus.FAILED
    assert report.summary.startswith("CRITICAL: the instance may still be frozen")
    assert fake.snapshot().frozen
    assert markers(directory, fake) == before


class ThawsThenGoesDark(FakeIris):
    """ExternalThaw answers; after it, whether the write daemon runs cannot be told."""

    def is_frozen(self) -> bool:
        if self.snapshot().thaw_requests:
            raise IrisError("ERROR #5001: IsWDSuspended did not answer")
        return super().is_frozen()


def test_a_left_frozen_instance_whose_thaw_cannot_be_confirmed_is_critical_and_keeps_its_markers(
    tmp_path: Path, directory: Path
) -> None:
    fake = ThawsThenGoesDark(tmp_path / "iris", clock=fixed_clock(NOW))
    marker = stale_job_marker(directory, fake)
    before = markers(directory, fake)
    report = doctor(fake, directory)
    (critical,) = [e for e in report.errors if e.startswith("CRITICAL")]
    assert critical.startswith(
        f"CRITICAL: the instance was left frozen by {marker.describe()} and could not be thawed "
        "(ExternalThaw returned but the write daemon could not be checked: "
        "ERROR #5001: IsWDSuspended did not answer)"
    )
    assert fake.snapshot().thaw_requests == 1
    assert markers(directory, fake) == before
    assert (3, f"backup-keeper: {critical}") in fake.snapshot().console_log
    assert not any("has been thawed" in w for w in report.warnings)


@pytest.mark.parametrize("job", [thaw, snapshot], ids=lambda j: j.__name__)
def test_a_frozen_check_failing_after_the_thaw_is_reported_as_that_check_not_as_the_thaw(
    tmp_path: Path, directory: Path, job: Callable[[FakeIris, Path, Recorder | None], JobReport]
) -> None:
    fake = ThawsThenGoesDark(tmp_path / "iris", clock=fixed_clock(NOW))
    if job is thaw:
        assert freeze(fake, directory).status is JobStatus.OK
    report = job(fake, directory, None)
    assert report.status is JobStatus.FAILED
    assert fake.snapshot().thaw_requests == 1
    (critical,) = [e for e in report.errors if e.startswith("CRITICAL")]
    assert (
        "(ExternalThaw returned but the write daemon could not be checked: "
        "ERROR #5001: IsWDSuspended did not answer)" in critical
    )
    assert "ExternalThaw failed" not in " ".join(report.errors)


@pytest.mark.parametrize("inside", ["unreadable", "unanswered"])
def test_a_stale_marker_whose_copy_inside_iris_cannot_be_read_goes_only_from_the_directory(
    fake: FakeIris, directory: Path, inside: str
) -> None:
    marker = stale_job_marker(directory, fake)
    fake.configure(frozen=False)
    if inside == "unreadable":
        fake.set_freeze_marker("{torn")
    else:
        fake.fail("freeze_marker")
    report = JobReport(job="doctor", started=NOW)
    recover_frozen(directory, fake, report, NOW)
    assert report.errors == []
    assert not (directory / MARKER_NAME).exists()
    (left,) = [w for w in report.warnings if w.startswith("freeze marker inside IRIS left")]
    assert ("ERROR #5001: injected failure in freeze_marker" in left) is (inside == "unanswered")
    assert any(
        w.startswith(f"stale freeze marker of {marker.describe()} cleared") for w in report.warnings
    )
    fake.heal("freeze_marker")
    assert fake.freeze_marker() == ("{torn" if inside == "unreadable" else marker.model_dump_json())


def test_a_marker_that_cannot_be_removed_after_a_thaw_is_a_warning(
    fake: FakeIris, directory: Path
) -> None:
    assert freeze(fake, directory).status is JobStatus.OK
    with read_only(directory):
        report = thaw(fake, directory)
    assert report.status is JobStatus.OK
    assert not fake.is_frozen()
    assert any("left in place: it cannot be removed" in w for w in report.warnings)
    assert fake.freeze_marker() is None  # the copy inside IRIS was ours and went


def test_a_marker_inside_iris_of_another_run_is_left_after_a_thaw(
    fake: FakeIris, directory: Path
) -> None:
    assert freeze(fake, directory).status is JobStatus.OK
    other = FreezeMarker(
        host="elsewhere", started=NOW, expires=NOW + timedelta(hours=1), run="fedcba9876543210"
    )
    fake.set_freeze_marker(other.model_dump_json())
    report = thaw(fake, directory)
    assert report.status is JobStatus.OK
    assert (directory / MARKER_NAME).exists() is False
    assert any(
        "inside IRIS left in place: it belongs to the freeze hook on elsewhere" in w
        for w in report.warnings
    )
    assert fake.freeze_marker() == other.model_dump_json()


def test_a_thaw_that_cannot_read_the_marker_inside_iris_still_thaws(
    fake: FakeIris, directory: Path
) -> None:
    fake.configure(frozen=True)
    fake.fail("freeze_marker")
    report = thaw(fake, directory)
    assert not fake.is_frozen()
    assert any("could not be read" in w for w in report.warnings)


def test_the_hooks_and_doctor_refuse_a_directory_gone_since_the_settings(
    fake: FakeIris, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    settings = hook(gone)  # the settings refuse a missing directory: it goes after them
    gone.rmdir()
    for job in (run_freeze, run_doctor):
        report = job(settings, iris=fake, clock=fixed_clock(NOW))
        assert report.status is JobStatus.FAILED
        assert report.errors == [f"{gone}: no such directory"]
    assert not fake.is_frozen()


@pytest.mark.parametrize("job", [freeze, doctor], ids=lambda j: j.__name__)
def test_leftover_temporary_files_are_reported_by_the_hooks_too(
    fake: FakeIris,
    directory: Path,
    job: Callable[[FakeIris, Path, Recorder | None], JobReport],
) -> None:
    (directory / ".old.cbk.zst.tmp-999999999").write_bytes(b"half a compression")
    report = job(fake, directory, None)
    assert any(".old.cbk.zst.tmp-999999999" in w for w in report.warnings), report.warnings
    assert (directory / ".old.cbk.zst.tmp-999999999").exists()
