"""The online backup job on FakeIris: every preflight refusal and every failure point, checked
on disk and in the report."""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import read_manifest
from backup_keeper.catalog.record import BackupStatus, RecordSource
from backup_keeper.checksum import file_checksum
from backup_keeper.clock import Clock, fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import BackupOutcome, IrisError
from backup_keeper.jobs.online_backup import LOCK_NAME, run_online_backup
from backup_keeper.kinds import BackupKind
from backup_keeper.report import JobReport, JobStatus
from backup_keeper.settings import BackupSettings, RetentionPolicy
from backup_keeper.timezones import format_moment, machine_zone
from tests.builders import directory_state
from tests.read_only import read_only

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.reports: list[JobReport] = []
        self.fail = fail

    def notify(self, report: JobReport) -> None:
        self.reports.append(report)
        if self.fail:
            raise ConnectionError("smtp server down")


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    return FakeIris(tmp_path / "iris", clock=fixed_clock(NOW))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


def backup(
    fake: FakeIris,
    target: Path,
    kind: str = "full",
    *,
    clock: Clock | None = None,
    notifier: Recorder | None = None,
    **settings: object,
) -> JobReport:
    return run_online_backup(
        BackupSettings.model_validate(
            {"directory": target, "kind": kind, "timezone": "UTC", **settings}
        ),
        iris=fake,
        notifier=notifier,
        clock=clock or fixed_clock(NOW),
    )


def cbks(target: Path) -> list[str]:
    return sorted(p.name for p in target.glob("*.cbk"))


def test_full_incremental_incremental_make_a_right_chain_of_managed_backups(
    fake: FakeIris, target: Path
) -> None:
    reports = [
        backup(fake, target, kind, clock=fixed_clock(NOW + timedelta(hours=4 * i)))
        for i, kind in enumerate(["full", "incremental", "incremental"])
    ]
    assert [r.status for r in reports] == [JobStatus.OK] * 3
    assert all(r.iris == "fake" for r in reports)
    names = cbks(target)
    assert names == [
        "backup-keeper_full_20261122T020000Z.cbk",
        "backup-keeper_incremental_20261122T060000Z.cbk",
        "backup-keeper_incremental_20261122T100000Z.cbk",
    ]
    manifests = [read_manifest(target / (n + ".json"), expected_file=n) for n in names]
    assert [m.chain_parent for m in manifests] == [None, names[0], names[1]]
    assert [m.kind for m in manifests] == [
        BackupKind.FULL,
        BackupKind.INCREMENTAL,
        BackupKind.INCREMENTAL,
    ]
    assert all(m.instance == "IRIS" and m.journal_file_required for m in manifests)
    for m in manifests:
        assert m.checksum is not None
        assert file_checksum(target / m.file, m.checksum.algorithm) == m.checksum
    catalog = discover([target], UTC)
    assert [len(r.chain) for r in catalog.records] == [0, 1, 2]
    assert catalog.records[2].chain == (str(target / names[0]), str(target / names[1]))
    details = reports[0].backup
    assert details is not None and details.result == "completed"
    assert details.checksum is not None and details.checksum.startswith("blake3:")


def test_two_runs_in_the_same_second_get_distinct_names(fake: FakeIris, target: Path) -> None:
    backup(fake, target)
    backup(fake, target)
    assert cbks(target) == [
        "backup-keeper_full_20261122T020000Z.cbk",
        "backup-keeper_full_20261122T020000Z_2.cbk",
    ]


def test_missing_or_unwritable_directory_fails_before_anything(
    fake: FakeIris, target: Path
) -> None:
    gone = target / "nope"
    gone.mkdir()  # settings refuse a missing directory: this one goes after they are checked
    settings = BackupSettings.model_validate({"directory": gone, "kind": "full"})
    gone.rmdir()
    missing = run_online_backup(settings, iris=fake, clock=fixed_clock(NOW))
    assert missing.status is JobStatus.FAILED
    assert missing.errors == [f"{target / 'nope'}: no such directory"]
    recorder = Recorder()
    with read_only(target):
        unwritable = backup(fake, target, notifier=recorder)
    assert unwritable.status is JobStatus.FAILED
    assert "not writable" in unwritable.errors[0]
    assert recorder.reports == [unwritable]
    assert fake.backup_history() == []
    assert directory_state(target) == {}


def test_the_writability_check_writes_nothing_a_planted_symlink_could_redirect(
    fake: FakeIris, target: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.write_bytes(b"precious")
    (target / f".backup-keeper-probe-{os.getpid()}").symlink_to(precious)
    report = backup(fake, target)
    assert report.status is JobStatus.OK, report.errors
    assert precious.read_bytes() == b"precious"


def test_not_enough_free_space_fails_before_the_backup(fake: FakeIris, target: Path) -> None:
    fake.configure(backup_bytes=10**17)
    report = backup(fake, target)
    assert report.status is JobStatus.FAILED
    assert "bytes free" in report.errors[0] and "nothing written" in report.errors[0]
    assert cbks(target) == [] and fake.backup_history() == []


@pytest.mark.parametrize(
    ("run_on", "member", "primary", "backup_member", "runs"),
    [
        ("primary", 1, False, True, False),
        ("backup", 1, True, False, False),
        ("not-primary", 1, True, False, False),
        ("not-primary", 2, False, False, True),
        ("backup", 1, False, True, True),
        ("any", 1, True, False, True),
        ("primary", 0, False, False, True),
    ],
)
def test_mirror_role_policy(
    fake: FakeIris,
    target: Path,
    run_on: str,
    member: int,
    primary: bool,
    backup_member: bool,
    runs: bool,
) -> None:
    fake.configure(
        mirror_member=member, mirror_primary=primary, mirror_backup=backup_member, mirror_name="M"
    )
    report = backup(fake, target, run_on=run_on)
    if runs:
        assert report.status is JobStatus.OK
    else:
        assert report.status is JobStatus.SKIPPED
        assert report.summary.startswith("backup skipped: run_on=")
        assert cbks(target) == [] and fake.backup_history() == []


def test_incremental_is_promoted_to_full_when_iris_flags_a_database(
    fake: FakeIris, target: Path
) -> None:
    backup(fake, target)
    state = fake.snapshot()
    state.databases[1].needs_full = True
    fake.configure(databases=[d.model_dump() for d in state.databases])
    report = backup(fake, target, "incremental", clock=fixed_clock(NOW + timedelta(hours=1)))
    assert report.status is JobStatus.OK
    assert report.backup is not None and report.backup.kind == "full"
    assert any(
        "promoted to full: IRIS says the next backup of /usr/irissys/mgr/irisapp/" in w
        for w in report.warnings
    )


def test_incremental_with_no_base_in_the_directory_is_promoted_to_full(
    fake: FakeIris, target: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    backup(fake, elsewhere)  # IRIS has a full, but not in this directory
    report = backup(fake, target, "cumulative", clock=fixed_clock(NOW + timedelta(hours=1)))
    assert report.backup is not None and report.backup.kind == "full"
    assert any("no completed backup in" in w for w in report.warnings)


def test_read_only_databases_are_warned_about_or_left_out_and_the_list_restored(
    fake: FakeIris, target: Path
) -> None:
    state = fake.snapshot()
    state.databases[1].read_only = True
    fake.configure(databases=[d.model_dump() for d in state.databases], backup_list=[])
    warned = backup(fake, target)
    assert any("backed up as they are" in w for w in warned.warnings)
    assert warned.backup is not None and warned.backup.result == "warning"
    excluded = backup(
        fake, target, read_only="exclude", clock=fixed_clock(NOW + timedelta(hours=1))
    )
    assert excluded.status is JobStatus.OK and excluded.backup is not None
    assert excluded.backup.result == "completed"
    assert fake.snapshot().history[-1].directories == ["/usr/irissys/mgr/user/"]
    assert fake.backup_database_list() == []  # restored


@pytest.mark.parametrize("read_only", ["warn", "exclude"])
def test_the_read_only_enslib_of_an_interoperability_instance_is_no_news(
    fake: FakeIris, target: Path, read_only: str
) -> None:
    state = fake.snapshot()
    enslib = {"directory": "/usr/irissys/mgr/enslib/", "name": "ENSLIB", "read_only": True}
    fake.configure(databases=[*(d.model_dump() for d in state.databases), enslib])
    report = backup(fake, target, read_only=read_only)
    assert report.status is JobStatus.OK
    assert not [w for w in report.warnings if "read-only database(s)" in w]
    assert fake.backup_database_list() == []  # the instance's list never touched for it


def test_a_second_concurrent_run_is_refused_clearly(fake: FakeIris, target: Path) -> None:
    other_client = FakeIris(fake.state_dir)
    assert other_client.acquire_lock(LOCK_NAME, timeout=1)
    try:
        report = backup(fake, target)
    finally:
        other_client.release_lock(LOCK_NAME)
    assert report.status is JobStatus.FAILED
    assert report.errors[0].startswith("another backup-keeper backup is running on this instance")
    assert cbks(target) == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("return0", "IRIS reported the backup failed (returned '0'): ERROR: backup aborted"),
        ("disk_full", "IRIS reported the backup failed (returned '0'): ERROR: cannot write"),
        ("unfinished_log", "never reached ***FINISHED BACKUP***: treated as failed"),
        ("raise", "IRIS: ERROR #5001: injected failure in online_backup"),
    ],
)
def test_failed_backup_removes_partial_keeps_log_purges_nothing_and_tells(
    fake: FakeIris, target: Path, mode: str, message: str
) -> None:
    old = backup(fake, target, clock=fixed_clock(NOW - timedelta(days=30)))
    assert old.status is JobStatus.OK
    before = cbks(target)
    fake.fail("online_backup", mode)  # type: ignore[arg-type]
    recorder = Recorder()
    report = backup(fake, target, notifier=recorder, retention={"keep_last": 1})
    assert report.status is JobStatus.FAILED
    assert message in report.errors[0], report.errors
    assert cbks(target) == before  # partial removed, old one not purged
    assert report.delete == [] and report.actions == []
    assert report.backup is not None and report.backup.file is None
    if mode != "raise":
        assert report.backup.log is not None and Path(report.backup.log).exists()
    assert recorder.reports == [report]


def test_backup_that_hangs_past_the_timeout_fails_and_asks_iris_to_abort(
    fake: FakeIris, target: Path
) -> None:
    fake.configure(hang_seconds=5)
    fake.fail("online_backup", "hang")
    report = backup(fake, target, timeout=0.3)
    assert report.status is JobStatus.FAILED
    assert report.errors == ["the backup did not return within 0.3 s; abort requested"]
    assert fake.snapshot().abort_requests == 1


def test_warning_return_is_a_good_backup_with_its_warnings(fake: FakeIris, target: Path) -> None:
    fake.fail("online_backup", "warn")
    recorder = Recorder()
    report = backup(fake, target, notifier=recorder)
    assert report.status is JobStatus.OK
    assert "IRIS warning: injected warning" in report.warnings
    name = cbks(target)[0]
    assert (
        read_manifest(target / (name + ".json"), expected_file=name).status is BackupStatus.WARNING
    )
    assert recorder.reports == [report]


def test_a_failing_notifier_never_changes_the_outcome(fake: FakeIris, target: Path) -> None:
    fake.fail("online_backup", "return0")
    report = backup(fake, target, notifier=Recorder(fail=True))
    assert report.status is JobStatus.FAILED
    assert report.warnings[-1] == "notifier failed: ConnectionError: smtp server down"


def test_completed_backup_purges_its_directory_in_the_same_report(
    fake: FakeIris, target: Path
) -> None:
    for day in (3, 2, 1):
        backup(fake, target, clock=fixed_clock(NOW - timedelta(days=day)))
    report = backup(fake, target, retention=RetentionPolicy(keep_last=2).model_dump())
    assert report.status is JobStatus.OK
    assert len(report.delete) == 2 and len(report.keep) == 2
    assert len(cbks(target)) == 2
    assert report.summary.endswith("2 old backup(s) purged")


def test_port_failures_before_the_backup_write_nothing(fake: FakeIris, target: Path) -> None:
    for step in ("mirror", "databases", "size_estimate"):
        fake.fail(step)
        report = backup(fake, target)
        assert report.status is JobStatus.FAILED
        assert report.errors == [f"IRIS: ERROR #5001: injected failure in {step}"]
        fake.heal(step)
    assert directory_state(target) == {}
    assert fake.backup_history() == []


def test_begin_and_end_lines_and_no_console_noise(
    fake: FakeIris, target: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.INFO):
        report = backup(fake, target)
    lines = [r.getMessage() for r in caplog.records]
    assert report.iris == "fake"
    assert lines[0].startswith("backup begin 0.1.0: iris=fake directories=[")
    assert lines[-1].startswith("backup end: ok: full backup completed: backup-keeper_full_")
    # the job itself writes nothing to messages.log: telling people is the notifier's job
    assert fake.snapshot().console_log == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
@pytest.mark.parametrize("step", ["file_checksum", "write_manifest"])
def test_a_completed_backup_that_cannot_be_described_is_kept_and_nothing_purged(
    fake: FakeIris, target: Path, monkeypatch: pytest.MonkeyPatch, step: str, code: int
) -> None:
    backup(fake, target, clock=fixed_clock(NOW - timedelta(days=3)))
    monkeypatch.setattr(f"backup_keeper.jobs.online_backup.{step}", raising(code))
    recorder = Recorder()
    report = backup(fake, target, retention={"keep_last": 1}, notifier=recorder)
    assert report.status is JobStatus.FAILED
    assert "the backup completed but could not be checksummed and described" in report.errors[0]
    assert os.strerror(code) in report.errors[0]
    assert "nothing was purged" in report.errors[0]
    assert len(cbks(target)) == 2  # the new .cbk is kept, the old one not purged
    assert report.delete == []
    assert recorder.reports == [report]


def raising(code: int) -> object:
    """A stand-in for a step that fails as the disk does."""

    def broken(*args: object, **kwargs: object) -> object:
        raise OSError(code, os.strerror(code), "/backups/somewhere")

    return broken


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
@pytest.mark.parametrize(
    "step",
    [
        "backup_keeper.jobs.online_backup.shutil.disk_usage",
        "backup_keeper.jobs.online_backup.os.access",
        "backup_keeper.iris.fake.FakeIris.online_backup",
    ],
    ids=["free-space probe", "writability check", "backup call"],
)
def test_an_os_error_before_or_during_the_backup_is_a_failed_report_and_an_alert(
    fake: FakeIris, target: Path, monkeypatch: pytest.MonkeyPatch, step: str, code: int
) -> None:
    monkeypatch.setattr(step, raising(code))
    recorder = Recorder()
    report = backup(fake, target, "incremental", notifier=recorder)
    assert report.status is JobStatus.FAILED
    assert any(os.strerror(code) in e for e in report.errors), report.errors
    assert recorder.reports == [report]
    assert cbks(target) == []
    assert not fake.is_frozen()


class LogNotReturned(FakeIris):
    """An adapter that cannot hand back the log's text: the job reads the log itself."""

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        outcome = super().online_backup(
            kind, description=description, file=file, log_file=log_file, quiet_timeout=0
        )
        return dataclasses.replace(outcome, log_text=None)


def test_a_log_the_job_reads_itself_is_judged(tmp_path: Path, target: Path) -> None:
    report = backup(LogNotReturned(tmp_path / "iris", clock=fixed_clock(NOW)), target)
    assert report.status is JobStatus.OK, report.errors
    assert report.backup is not None and report.backup.journal_required


def test_a_log_that_cannot_be_read_leaves_the_backup_unconfirmed_and_kept(
    tmp_path: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backup_keeper.jobs.online_backup.read_small", raising(errno.EACCES))
    recorder = Recorder()
    fake = LogNotReturned(tmp_path / "iris", clock=fixed_clock(NOW))
    report = backup(fake, target, notifier=recorder)
    assert report.status is JobStatus.FAILED
    assert "cannot be read" in report.errors[0] and "Permission denied" in report.errors[0]
    assert "kept without a manifest" in report.errors[0]
    assert len(cbks(target)) == 1
    assert recorder.reports == [report]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_compression_that_fails_keeps_the_described_cbk_and_says_so(
    fake: FakeIris, target: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr("backup_keeper.jobs.online_backup.compress_file", raising(code))
    recorder = Recorder()
    report = backup(fake, target, compress=True, retention={"keep_last": 1}, notifier=recorder)
    assert report.status is JobStatus.FAILED
    (error,) = report.errors
    assert "its manifest describes backup-keeper_full_20261122T020000Z.cbk" in error
    assert "kept uncompressed and managed" in error and os.strerror(code) in error
    assert "without a manifest" not in error
    (record,) = discover([target], UTC).records
    assert record.source is RecordSource.SIDECAR and record.path.endswith(".cbk")
    assert list(target.glob("*.zst")) == []
    assert recorder.reports == [report]


def test_a_compressed_manifest_that_cannot_be_written_removes_the_zst_it_made(
    fake: FakeIris, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backup_keeper.catalog.manifest import Manifest, write_manifest

    def full_once_compressed(backup_file: Path, manifest: Manifest) -> Path:
        if manifest.compression:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_manifest(backup_file, manifest)

    monkeypatch.setattr("backup_keeper.jobs.online_backup.write_manifest", full_once_compressed)
    report = backup(fake, target, compress=True)
    assert report.status is JobStatus.FAILED
    assert "kept uncompressed and managed" in report.errors[0]
    assert list(target.glob("*.zst")) == [] and len(cbks(target)) == 1
    assert read_manifest(target / (cbks(target)[0] + ".json"), expected_file=cbks(target)[0])


def test_a_symlink_planted_at_the_old_compression_temp_name_is_never_followed(
    fake: FakeIris, target: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious"
    precious.write_bytes(b"precious")
    name = "backup-keeper_full_20261122T020000Z.cbk.zst"
    (target / f".{name}.tmp-{os.getpid()}").symlink_to(precious)
    report = backup(fake, target, compress=True)
    assert report.status is JobStatus.OK, report.errors
    assert precious.read_bytes() == b"precious"
    assert (target / name).is_file()


class ServerSideLog(FakeIris):
    """An instance whose log lands on the server's own disk, as with NativeIris: only the text
    the port hands back can be judged."""

    def __init__(self, state_dir: Path, server_disk: Path) -> None:
        super().__init__(state_dir, clock=fixed_clock(NOW))
        self.server_disk = server_disk

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        server_log = self.server_disk / Path(log_file).name
        return super().online_backup(
            kind,
            description=description,
            file=file,
            log_file=str(server_log),
            quiet_timeout=quiet_timeout,
        )


def test_the_log_text_the_port_returns_is_judged_when_the_log_is_not_on_this_disk(
    tmp_path: Path, target: Path
) -> None:
    server_disk = tmp_path / "server"
    server_disk.mkdir()
    port = ServerSideLog(tmp_path / "iris", server_disk)
    report = run_online_backup(
        BackupSettings(directory=target, kind="full", timezone="UTC"),
        iris=port,
        clock=fixed_clock(NOW),
    )
    assert report.status is JobStatus.OK, report.errors
    assert report.backup is not None and report.backup.journal_required
    assert list(target.glob("*.log")) == []


def test_leftover_temporary_files_of_a_killed_run_are_reported(
    fake: FakeIris, target: Path
) -> None:
    (target / ".old.cbk.zst.tmp-999999999").write_bytes(b"half a compression")
    report = backup(fake, target)
    assert report.status is JobStatus.OK
    (warning,) = [w for w in report.warnings if "a temporary file" in w]
    assert warning.startswith(f"{target.resolve()}/.old.cbk.zst.tmp-999999999:")


def test_the_summary_counts_the_old_backups_really_purged_not_those_planned(
    fake: FakeIris, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backup_keeper.purge.executor import Outcome, Targets, delete_targets

    for day in (3, 2, 1):
        backup(fake, target, clock=fixed_clock(NOW - timedelta(days=day)))
    original = delete_targets

    def grow_one_first(targets: Targets, **kwargs: object) -> Outcome:
        (first, *_), *_ = targets.values()
        with Path(first.path).open("ab") as handle:
            handle.write(b"appended while the purge ran")
        return original(targets, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("backup_keeper.jobs.purge.delete_targets", grow_one_first)
    report = backup(fake, target, retention=RetentionPolicy(keep_last=2).model_dump())
    assert len(report.delete) == 2 and len(cbks(target)) == 3
    assert report.summary.endswith("; 1 of 2 old backup(s) purged")


def with_read_only_irisapp(fake: FakeIris, backup_list: list[str]) -> None:
    state = fake.snapshot()
    state.databases[1].read_only = True
    fake.configure(databases=[d.model_dump() for d in state.databases], backup_list=backup_list)


def test_a_named_backup_list_is_restored_by_name_after_exclude(
    fake: FakeIris, target: Path
) -> None:
    with_read_only_irisapp(fake, ["USER", "IRISAPP"])
    report = backup(fake, target, read_only="exclude")
    assert report.status is JobStatus.OK, report.errors
    assert fake.snapshot().history[-1].directories == ["/usr/irissys/mgr/user/"]
    assert fake.backup_database_list() == ["USER", "IRISAPP"]


def test_when_every_database_is_read_only_exclude_backs_up_nothing_and_changes_nothing(
    fake: FakeIris, target: Path
) -> None:
    state = fake.snapshot()
    for database in state.databases:
        database.read_only = True
    fake.configure(databases=[d.model_dump() for d in state.databases], backup_list=[])
    report = backup(fake, target, read_only="exclude")
    assert report.status is JobStatus.FAILED
    assert "every database in the backup's scope is read-only" in report.errors[0]
    assert fake.backup_history() == [] and cbks(target) == []
    assert fake.backup_database_list() == []


@pytest.mark.parametrize(
    ("step", "mode"),
    [
        ("size_estimate", "raise"),
        ("online_backup", "raise"),
        ("online_backup", "return0"),
        ("online_backup", "disk_full"),
        ("online_backup", "unfinished_log"),
        ("online_backup", "hang"),
    ],
)
def test_a_failure_after_the_list_was_narrowed_leaves_it_as_it_was(
    fake: FakeIris, target: Path, step: str, mode: str
) -> None:
    with_read_only_irisapp(fake, ["USER", "IRISAPP"])
    fake.configure(hang_seconds=2)
    fake.fail(step, mode)  # type: ignore[arg-type]
    report = backup(fake, target, read_only="exclude", timeout=0.3)
    assert report.status is JobStatus.FAILED
    assert fake.backup_database_list() == ["USER", "IRISAPP"]


class ListRefusedAfter(FakeIris):
    """The instance refuses list edits from the ``refuse_from``-th on (1-based), ``times``
    times; ``partial``: the refused edit changes the list first, as a ClearDatabaseList that
    succeeded before an AddDatabaseToList failed would."""

    def __init__(self, state_dir: Path, refuse_from: int, times: int, partial: bool) -> None:
        super().__init__(state_dir, clock=fixed_clock(NOW))
        self.edits, self.refuse_from, self.times, self.partial = 0, refuse_from, times, partial

    def set_backup_database_list(self, databases: Sequence[str]) -> None:
        self.edits += 1
        if self.refuse_from <= self.edits < self.refuse_from + self.times:
            if self.partial:
                super().set_backup_database_list(list(databases)[:1])
            raise IrisError("ERROR #5001: injected failure in AddDatabaseToList")
        super().set_backup_database_list(databases)


def test_a_narrowing_that_fails_half_way_is_undone(tmp_path: Path, target: Path) -> None:
    iris = ListRefusedAfter(tmp_path / "iris", refuse_from=1, times=1, partial=True)
    with_read_only_irisapp(iris, ["IRISAPP", "USER"])
    report = backup(iris, target, read_only="exclude")
    assert report.status is JobStatus.FAILED
    assert iris.backup_database_list() == ["IRISAPP", "USER"]
    assert iris.backup_history() == []


def test_a_restore_of_the_list_that_fails_once_is_tried_again(tmp_path: Path, target: Path) -> None:
    iris = ListRefusedAfter(tmp_path / "iris", refuse_from=2, times=1, partial=True)
    with_read_only_irisapp(iris, ["USER", "IRISAPP"])
    report = backup(iris, target, read_only="exclude")
    assert report.status is JobStatus.OK, report.errors
    assert iris.backup_database_list() == ["USER", "IRISAPP"]
    assert any("restored on attempt 2" in w for w in report.warnings), report.warnings


def test_a_list_that_cannot_be_restored_fails_the_job_and_says_what_it_was(
    tmp_path: Path, target: Path
) -> None:
    iris = ListRefusedAfter(tmp_path / "iris", refuse_from=2, times=99, partial=False)
    with_read_only_irisapp(iris, ["USER", "IRISAPP"])
    report = backup(iris, target, read_only="exclude")
    assert report.status is JobStatus.FAILED
    assert any(
        "backup database list could not be restored" in e and "['USER', 'IRISAPP']" in e
        for e in report.errors
    ), report.errors


def test_a_full_into_another_directory_makes_the_next_incremental_here_a_full_naming_it(
    fake: FakeIris, target: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert backup(fake, target, "full").status is JobStatus.OK
    later = fixed_clock(NOW + timedelta(hours=1))
    assert backup(fake, other, "full", clock=later).status is JobStatus.OK
    foreign = other.resolve() / "backup-keeper_full_20261122T030000Z.cbk"
    report = backup(fake, target, "incremental", clock=fixed_clock(NOW + timedelta(hours=2)))
    assert report.status is JobStatus.OK
    assert report.backup is not None and report.backup.kind == "full"
    assert report.backup.chain_parent is None
    promoted = [w for w in report.warnings if w.startswith("incremental promoted to full")]
    assert promoted == [
        f"incremental promoted to full: the instance's last backup is {foreign} at "
        f"{format_moment(NOW, machine_zone())}, not backup-keeper_full_20261122T020000Z.cbk where this "
        "directory's chain ends: this incremental would rest on a backup this directory does "
        "not hold"
    ]
    again = backup(fake, target, "incremental", clock=fixed_clock(NOW + timedelta(hours=3)))
    assert again.backup is not None and again.backup.kind == "incremental"
    assert again.backup.chain_parent == "backup-keeper_full_20261122T040000Z.cbk"
    assert not any("promoted" in w for w in again.warnings)


def test_a_full_elsewhere_promotes_a_cumulative_and_an_unreadable_history_promotes_too(
    fake: FakeIris, target: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert backup(fake, target, "full").status is JobStatus.OK
    assert backup(fake, other, "full").status is JobStatus.OK
    cumulative = backup(fake, target, "cumulative")
    assert cumulative.backup is not None and cumulative.backup.kind == "full"
    assert "the instance's last full backup is " + str(other.resolve()) in cumulative.warnings[0]
    fake.fail("backup_history")
    blind = backup(fake, target, "incremental")
    assert blind.backup is not None and blind.backup.kind == "full"
    assert blind.warnings[0].startswith(
        "incremental promoted to full: the instance's backup history could not be read"
    )
