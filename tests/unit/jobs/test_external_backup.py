"""External backups on FakeIris with real snapshot subprocesses: after every scenario the fake
instance is thawed (or a critical error was raised), and nothing was recorded as a good backup
that was not."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import read_manifest
from backup_keeper.clock import Stopwatch, fixed_clock, system_stopwatch
from backup_keeper.freeze_marker import MARKER_NAME
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_external_backup, run_thaw
from backup_keeper.jobs.locking import INSTANCE_LOCK
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import ExternalBackupSettings, FreezeHookSettings
from tests.hang_guard import fails_if_blocked

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    return FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    path = tmp_path / "catalog"
    path.mkdir()
    return path


def snapshot(
    fake: FakeIris,
    catalog_dir: Path,
    *command: str,
    stopwatch: Stopwatch = system_stopwatch,
    **settings: object,
) -> JobReport:
    return run_external_backup(
        ExternalBackupSettings.model_validate(
            {"directory": catalog_dir, "command": list(command), **settings}
        ),
        iris=fake,
        clock=fixed_clock(NOW),
        stopwatch=stopwatch,
    )


def frozen_for(seconds: float) -> Stopwatch:
    """A stopwatch on which the freeze lasts ``seconds``, however long the test takes."""
    readings = iter([1000.0, 1000.0 + seconds])
    return lambda: next(readings)


def records(catalog_dir: Path) -> list[str]:
    return sorted(p.name for p in catalog_dir.glob("*.snapshot.json"))


def assert_thawed_and_clean(fake: FakeIris, catalog_dir: Path) -> None:
    assert not fake.is_frozen()
    assert not (catalog_dir / MARKER_NAME).exists()
    assert fake.freeze_marker() is None


def test_snapshot_runs_frozen_gets_its_environment_and_is_recorded(
    fake: FakeIris, catalog_dir: Path, tmp_path: Path
) -> None:
    seen = tmp_path / "seen.txt"
    script = (
        "import os, sys; from pathlib import Path; from backup_keeper.iris.fake import FakeIris; "
        f"frozen = FakeIris(Path({str(fake.state_dir)!r})).is_frozen(); "
        f"Path({str(seen)!r}).write_text(f\"{{frozen}} {{os.environ['BACKUP_KEEPER_INSTANCE']}} "
        "{os.environ['BACKUP_KEEPER_JOURNAL']} {os.environ['BACKUP_KEEPER_LABEL']}\"); "
        "print('working...'); print('snap-0042')"
    )
    report = snapshot(fake, catalog_dir, sys.executable, "-c", script, label="nightly")
    assert report.status is JobStatus.OK, report.errors
    frozen, instance, journal, label = seen.read_text().split()
    assert (frozen, instance, label) == ("True", "IRIS", "nightly")
    assert report.backup is not None
    assert report.backup.snapshot_id == "snap-0042"
    assert report.backup.journal_required == journal
    assert report.backup.freeze_window_ms is not None and report.backup.freeze_window_ms >= 0
    assert_thawed_and_clean(fake, catalog_dir)
    assert fake.backup_history()[0].kind is BackupKind.EXTERNAL
    (record,) = discover([catalog_dir], UTC).records
    assert record.kind is BackupKind.EXTERNAL and record.restorable
    assert "snap-0042" in (record.note or "")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["sh", "-c", "echo disk busy >&2; exit 3"], "the snapshot command exited 3"),
        (["/nonexistent/snapshot-tool"], "the snapshot command exited 127"),
    ],
)
def test_a_failing_snapshot_command_thaws_and_records_nothing(
    fake: FakeIris, catalog_dir: Path, command: list[str], message: str
) -> None:
    report = snapshot(fake, catalog_dir, *command)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith(message)
    assert_thawed_and_clean(fake, catalog_dir)
    assert records(catalog_dir) == []
    assert all(h.kind is not BackupKind.EXTERNAL for h in fake.backup_history())


def test_a_snapshot_command_that_hangs_is_killed_with_its_children_and_the_instance_thawed(
    fake: FakeIris, catalog_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    start = time.monotonic()
    report = snapshot(
        fake, catalog_dir, "sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait", command_timeout=0.5
    )
    assert time.monotonic() - start < 10
    assert report.status is JobStatus.FAILED
    assert "timed out after 0.5 s and was killed" in report.errors[0]
    assert_thawed_and_clean(fake, catalog_dir)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5  # killed already; reaped by init when it gets to it
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running(child)


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that runs (a zombie has ended)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except FileNotFoundError:
        return False


def test_freeze_failure_leaves_the_instance_running_and_runs_no_command(
    fake: FakeIris, catalog_dir: Path, tmp_path: Path
) -> None:
    fake.fail("external_freeze")
    ran = tmp_path / "ran"
    report = snapshot(fake, catalog_dir, "touch", str(ran))
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("ExternalFreeze failed, the instance is not frozen")
    assert not ran.exists()
    assert_thawed_and_clean(fake, catalog_dir)


@pytest.mark.parametrize("mode", ["raise", "stay_frozen"])
def test_thaw_failure_is_critical_keeps_the_marker_and_thaw_recovers(
    fake: FakeIris, catalog_dir: Path, mode: str
) -> None:
    fake.fail("external_thaw", mode)  # type: ignore[arg-type]
    report = snapshot(fake, catalog_dir, "true")
    assert report.status is JobStatus.FAILED
    assert report.errors[-1].startswith("CRITICAL: the instance may still be frozen")
    assert fake.is_frozen()
    assert (catalog_dir / MARKER_NAME).exists()
    assert records(catalog_dir) == []
    assert any(sev == 3 and "CRITICAL" in msg for sev, msg in fake.snapshot().console_log)
    fake.heal("external_thaw")
    thawed = run_thaw(FreezeHookSettings(directory=catalog_dir), iris=fake)
    assert thawed.status is JobStatus.OK
    assert_thawed_and_clean(fake, catalog_dir)


def test_an_instance_frozen_by_someone_else_is_refused(fake: FakeIris, catalog_dir: Path) -> None:
    fake.configure(frozen=True)
    report = snapshot(fake, catalog_dir, "true")
    assert report.status is JobStatus.FAILED
    assert "already frozen" in report.errors[0]
    assert fake.is_frozen()  # not ours to thaw


def test_concurrent_runs_are_refused(fake: FakeIris, catalog_dir: Path) -> None:
    other = FakeIris(fake.state_dir)
    assert other.acquire_lock(INSTANCE_LOCK, 1)
    try:
        report = snapshot(fake, catalog_dir, "true")
    finally:
        other.release_lock(INSTANCE_LOCK)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("another backup-keeper backup is running")
    assert not fake.is_frozen()


def test_the_mirror_qos_timeout_is_information_not_a_warning(
    fake: FakeIris, catalog_dir: Path
) -> None:
    fake.configure(mirror_member=1, mirror_primary=True, mirror_name="M", mirror_qos_timeout_ms=100)
    report = snapshot(fake, catalog_dir, "true", stopwatch=frozen_for(0.2))
    assert report.status is JobStatus.OK
    assert not any("QoS" in w for w in report.warnings), report.warnings
    assert any("mirror QoS timeout 100 ms" in c for c in report.checked), report.checked


def test_a_freeze_outliving_externalfreezetimeout_on_the_primary_is_warned_about(
    fake: FakeIris, catalog_dir: Path
) -> None:
    fake.configure(mirror_member=1, mirror_primary=True, mirror_name="M")
    # the shortest thawable freeze (WDSuspendLimit must end it first: settings refuse 0), held
    # past both on the job's stopwatch
    report = snapshot(
        fake, catalog_dir, "true", stopwatch=frozen_for(2.3), freeze_timeout=2, wd_suspend_limit=1
    )
    (warning,) = [w for w in report.warnings if "ExternalFreezeTimeOut" in w]
    assert "outlived ExternalFreezeTimeOut (2 s)" in warning
    assert "primary failover member" in warning and "fail over" in warning


def test_a_freeze_outliving_externalfreezetimeout_elsewhere_says_writers_blocked(
    fake: FakeIris, catalog_dir: Path
) -> None:
    report = snapshot(
        fake, catalog_dir, "true", stopwatch=frozen_for(2.3), freeze_timeout=2, wd_suspend_limit=1
    )
    (warning,) = [w for w in report.warnings if "ExternalFreezeTimeOut" in w]
    assert "processes updating the databases were blocked" in warning
    assert "fail over" not in warning


def test_a_freeze_timeout_of_zero_is_judged_as_irises_600_seconds(
    fake: FakeIris, catalog_dir: Path
) -> None:
    fake.configure(mirror_member=1, mirror_primary=True, mirror_name="M")
    report = snapshot(fake, catalog_dir, "true", freeze_timeout=0, wd_suspend_limit=1)
    assert not any("ExternalFreezeTimeOut" in w for w in report.warnings), report.warnings


def test_a_freeze_that_ends_by_wdsuspendlimit_during_the_snapshot_fails_it(
    fake: FakeIris, catalog_dir: Path
) -> None:
    report = snapshot(fake, catalog_dir, "sleep", "1.5", wd_suspend_limit=1)
    assert report.status is JobStatus.FAILED
    assert "resumed before the snapshot command ended" in report.errors[0]
    assert any("near WDSuspendLimit" in w for w in report.warnings)
    assert records(catalog_dir) == []
    assert_thawed_and_clean(fake, catalog_dir)


def test_not_journaled_databases_are_warned_about(fake: FakeIris, catalog_dir: Path) -> None:
    state = fake.snapshot()
    state.databases[1].journaled = False
    fake.configure(databases=[d.model_dump() for d in state.databases])
    report = snapshot(fake, catalog_dir, "true")
    assert any(w.startswith("not journaled") and "irisapp" in w for w in report.warnings)


def test_sharded_freeze_records_the_checkpoint_number_and_each_nodes_journal(
    fake: FakeIris, catalog_dir: Path
) -> None:
    report = snapshot(fake, catalog_dir, "echo", "snap-9", sharded_namespace="MASTER")
    assert report.status is JobStatus.OK
    assert report.backup is not None and report.backup.checkpoint is not None
    checkpoint = report.backup.checkpoint
    assert checkpoint["number"] == "1"
    journal = report.backup.journal_required
    assert checkpoint["journals"] == [{"host": "localhost", "port": "1972", "file": journal}]
    assert {"subscripts": ["localhost", "1972"], "value": journal} in checkpoint["raw"]  # type: ignore[operator]
    (record,) = records(catalog_dir)
    manifest = read_manifest(catalog_dir / record, expected_file=record.removesuffix(".json"))
    assert manifest.checkpoint == checkpoint
    assert fake.snapshot().checkpoints[-1]["namespace"] == "MASTER"


def test_wrong_mirror_role_is_skipped_without_freezing(fake: FakeIris, catalog_dir: Path) -> None:
    fake.configure(mirror_member=1, mirror_primary=True)
    report = snapshot(fake, catalog_dir, "true", run_on="not-primary")
    assert report.status is JobStatus.SKIPPED
    assert fake.snapshot().journal_sequence == 1  # never frozen


def test_a_snapshot_command_killed_by_a_signal_fails_and_thaws(
    fake: FakeIris, catalog_dir: Path
) -> None:
    report = snapshot(fake, catalog_dir, "sh", "-c", "kill -9 $$")
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("the snapshot command exited -9")
    assert_thawed_and_clean(fake, catalog_dir)
    assert records(catalog_dir) == []


def test_old_snapshot_records_are_purged_as_records_only(fake: FakeIris, catalog_dir: Path) -> None:
    from datetime import timedelta

    from backup_keeper.jobs import run_purge
    from backup_keeper.settings import PurgeSettings

    for days in (3, 2, 1):
        run_external_backup(
            ExternalBackupSettings(directory=catalog_dir, command=["echo", f"snap-{days}"]),
            iris=fake,
            clock=fixed_clock(NOW - timedelta(days=days)),
        )
    assert len(records(catalog_dir)) == 3
    purged = run_purge(
        PurgeSettings(directories=[catalog_dir], retention={"keep_last": 1}),
        clock=fixed_clock(NOW),
    )
    assert purged.status is JobStatus.OK, purged.errors
    assert len(records(catalog_dir)) == 1
    assert all(
        "purging removes this record, not the snapshot itself" in e.reasons[-1]
        for e in purged.delete
    )


def test_an_instance_frozen_by_a_live_backup_keeper_hook_is_refused_naming_it(
    fake: FakeIris, catalog_dir: Path
) -> None:
    from backup_keeper.jobs import run_freeze

    hook = FreezeHookSettings(directory=catalog_dir, label="vmware")
    assert run_freeze(hook, iris=fake).status is JobStatus.OK
    report = snapshot(fake, catalog_dir, "true")
    assert report.errors[0].startswith("the instance is already frozen, by the freeze hook on ")
    assert "(label vmware)" in report.errors[0]
    assert fake.is_frozen()


def test_an_async_member_is_not_warned_about_the_qos_timeout(
    fake: FakeIris, catalog_dir: Path
) -> None:
    fake.configure(mirror_member=2, mirror_name="M", mirror_qos_timeout_ms=100)
    report = snapshot(fake, catalog_dir, "true", stopwatch=frozen_for(0.2))
    assert report.status is JobStatus.OK
    assert not any("QoS" in w for w in report.warnings)


class Recorder:
    def __init__(self) -> None:
        self.reports: list[JobReport] = []

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
@pytest.mark.parametrize("step", ["write_marker", "run_snapshot_command", "write_manifest"])
def test_an_os_error_at_any_step_is_a_failed_report_an_alert_and_a_thawed_instance(
    fake: FakeIris, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, step: str, code: int
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(catalog_dir / "x"))

    monkeypatch.setattr(f"backup_keeper.jobs.external_backup.{step}", broken)
    recorder = Recorder()
    report = run_external_backup(
        ExternalBackupSettings(directory=catalog_dir, command=["echo", "snap-1"]),
        iris=fake,
        clock=fixed_clock(NOW),
        notifier=recorder,
    )
    assert report.status is JobStatus.FAILED
    assert any(os.strerror(code) in e for e in report.errors), report.errors
    assert recorder.reports == [report]
    assert_thawed_and_clean(fake, catalog_dir)
    assert records(catalog_dir) == []


def test_an_interrupt_during_the_snapshot_still_thaws(
    fake: FakeIris, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thaw is in a ``finally``: a BaseException (Ctrl-C, SystemExit) passes through the
    job, but never with the instance frozen."""

    def interrupted(*args: object, **kwargs: object) -> None:
        assert fake.is_frozen()
        raise KeyboardInterrupt

    monkeypatch.setattr("backup_keeper.jobs.external_backup.run_snapshot_command", interrupted)
    with pytest.raises(KeyboardInterrupt):
        snapshot(fake, catalog_dir, "true")
    assert_thawed_and_clean(fake, catalog_dir)


def test_a_snapshot_command_leaving_a_detached_grandchild_is_bounded_by_its_timeout(
    fake: FakeIris, catalog_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = (
        f"import os, time; os.setsid(); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        "time.sleep(60)"
    )
    command = f'{sys.executable} -c "{code}" & echo snap-3; sleep 60'
    start = time.monotonic()
    try:
        with fails_if_blocked(30):
            report = snapshot(fake, catalog_dir, "sh", "-c", command, command_timeout=2)
    finally:
        if pid_file.exists() and pid_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert time.monotonic() - start < 2 + 3
    assert report.status is JobStatus.FAILED
    assert "timed out after 2 s and was killed" in report.errors[0]
    assert_thawed_and_clean(fake, catalog_dir)
    assert report.backup is not None and report.backup.command_output[:1] == ["snap-3"]


def test_leftover_temporary_files_of_a_killed_run_are_reported(
    fake: FakeIris, catalog_dir: Path
) -> None:
    (catalog_dir / ".s.snapshot.json.0123456789ab.bk-tmp").write_bytes(b"{")
    report = snapshot(fake, catalog_dir, sys.executable, "-c", "print('snap-1')")
    assert report.status is JobStatus.OK, report.errors
    assert any(
        ".s.snapshot.json.0123456789ab.bk-tmp: a temporary file" in w for w in report.warnings
    )
