"""FakeIris's own promises: documented semantics, not a yes-machine, failures on demand."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import IrisError, MirrorMember, OnlineResult
from backup_keeper.iris_formats.backup_log import parse_backup_log
from backup_keeper.kinds import BackupKind

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


@pytest.fixture
def fake(tmp_path: Path) -> FakeIris:
    return FakeIris(tmp_path / "state", clock=fixed_clock(NOW))


def backup(
    fake: FakeIris, directory: Path, kind: BackupKind, name: str
) -> tuple[OnlineResult, Path]:
    cbk = directory / name
    outcome = fake.online_backup(
        kind,
        description=name,
        file=str(cbk),
        log_file=str(cbk.with_suffix(".log")),
        quiet_timeout=60,
    )
    return outcome.result, cbk


def test_incremental_or_cumulative_before_any_full_fails_like_iris(
    fake: FakeIris, tmp_path: Path
) -> None:
    for kind in (BackupKind.INCREMENTAL, BackupKind.CUMULATIVE):
        result, cbk = backup(fake, tmp_path, kind, f"{kind}.cbk")
        assert result is OnlineResult.FAILED
        assert not cbk.exists()
        log = parse_backup_log(cbk.with_suffix(".log").read_text())
        assert not log.finished and "needs a full first" in log.errors[0]
    assert [h.status for h in fake.backup_history()] == ["Failed", "Failed"]


def test_full_then_incremental_succeeds_switches_journal_and_records_history(
    fake: FakeIris, tmp_path: Path
) -> None:
    assert backup(fake, tmp_path, BackupKind.FULL, "f.cbk")[0] is OnlineResult.COMPLETED
    assert backup(fake, tmp_path, BackupKind.INCREMENTAL, "i.cbk")[0] is OnlineResult.COMPLETED
    first = parse_backup_log((tmp_path / "f.log").read_text())
    second = parse_backup_log((tmp_path / "i.log").read_text())
    assert first.journal_required != second.journal_required
    assert (tmp_path / "f.cbk").stat().st_size == fake.snapshot().backup_bytes
    assert [h.kind for h in fake.backup_history()] == [BackupKind.INCREMENTAL, BackupKind.FULL]


def test_database_flagged_for_full_makes_the_next_incremental_fail(
    fake: FakeIris, tmp_path: Path
) -> None:
    backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    state = fake.snapshot()
    state.databases[0].needs_full = True
    fake.configure(databases=[d.model_dump() for d in state.databases])
    assert [d.needs_full for d in fake.databases()] == [True, False]
    assert backup(fake, tmp_path, BackupKind.INCREMENTAL, "i.cbk")[0] is OnlineResult.FAILED


def test_read_only_database_gives_the_warning_return(fake: FakeIris, tmp_path: Path) -> None:
    state = fake.snapshot()
    state.databases[1].read_only = True
    fake.configure(databases=[d.model_dump() for d in state.databases])
    cbk = tmp_path / "f.cbk"
    outcome = fake.online_backup(
        BackupKind.FULL, description="", file=str(cbk), log_file="", quiet_timeout=1
    )
    assert outcome.result is OnlineResult.WARNING
    assert outcome.raw == "1,Database /usr/irissys/mgr/irisapp/ is read-only"
    assert fake.backup_history()[0].status == "Warning"


@pytest.mark.parametrize(
    ("mode", "result"), [("return0", OnlineResult.FAILED), ("warn", OnlineResult.WARNING)]
)
def test_injected_return_values(
    fake: FakeIris, tmp_path: Path, mode: str, result: OnlineResult
) -> None:
    fake.fail("online_backup", mode)  # type: ignore[arg-type]
    assert backup(fake, tmp_path, BackupKind.FULL, "f.cbk")[0] is result
    fake.heal("online_backup")
    assert backup(fake, tmp_path, BackupKind.FULL, "g.cbk")[0] is OnlineResult.COMPLETED


def test_injected_raise_is_an_iris_error_for_any_step(fake: FakeIris) -> None:
    for step in ("mirror", "databases", "size_estimate", "instance"):
        fake.fail(step)
    with pytest.raises(IrisError, match="injected failure in mirror"):
        fake.mirror()
    with pytest.raises(IrisError):
        fake.size_estimate(BackupKind.FULL)


def test_disk_full_leaves_a_partial_file_and_a_log_without_finish(
    fake: FakeIris, tmp_path: Path
) -> None:
    fake.configure(backup_bytes=1 << 20, disk_full_after=100_000)
    fake.fail("online_backup", "disk_full")
    result, cbk = backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    assert result is OnlineResult.FAILED
    assert 0 < cbk.stat().st_size < 1 << 20
    log = parse_backup_log(cbk.with_suffix(".log").read_text())
    assert not log.finished
    assert any(os.strerror(errno.ENOSPC) in e for e in log.errors), log.errors


def test_hang_blocks_the_call_for_the_configured_time(fake: FakeIris) -> None:
    fake.configure(hang_seconds=0.3)
    fake.fail("mirror", "hang")
    start = time.monotonic()
    fake.mirror()
    assert time.monotonic() - start >= 0.3


def test_an_existing_file_is_never_overwritten(fake: FakeIris, tmp_path: Path) -> None:
    (tmp_path / "f.cbk").write_bytes(b"precious")
    assert backup(fake, tmp_path, BackupKind.FULL, "f.cbk")[0] is OnlineResult.FAILED
    assert (tmp_path / "f.cbk").read_bytes() == b"precious"


def test_state_is_shared_by_every_client_of_the_directory(fake: FakeIris, tmp_path: Path) -> None:
    fake.configure(mirror_member=1, mirror_backup=True, mirror_name="MIRRORA")
    other = FakeIris(fake.state_dir)
    assert other.mirror().role == "backup"
    assert other.mirror().member is MirrorMember.FAILOVER


def test_backup_list_is_validated_and_scopes_the_backup(fake: FakeIris, tmp_path: Path) -> None:
    with pytest.raises(IrisError, match="TEMP"):
        fake.set_backup_database_list(["IRISTEMP"])
    with pytest.raises(IrisError, match="NOPE does not exist"):
        fake.set_backup_database_list(["NOPE"])
    fake.set_backup_database_list(["USER"])
    assert fake.backup_database_list() == ["USER"]
    assert [d.name for d in fake.databases()] == ["USER"]
    assert fake.size_estimate(BackupKind.FULL).directories == 1


def test_volume_info_of_an_unknown_file_is_an_error(fake: FakeIris) -> None:
    with pytest.raises(IrisError, match="not a backup volume"):
        fake.volume_info("/nowhere.cbk")


def test_console_log_keeps_severity(fake: FakeIris) -> None:
    from backup_keeper.iris.port import Severity

    fake.write_console_log("backup failed", Severity.SEVERE)
    assert fake.snapshot().console_log == [(2, "backup failed")]


def test_lock_is_held_across_processes(fake: FakeIris) -> None:
    assert fake.acquire_lock("job", timeout=1)
    code = (
        "import sys; from pathlib import Path; from backup_keeper.iris.fake import FakeIris; "
        f"sys.exit(0 if FakeIris(Path({str(fake.state_dir)!r})).acquire_lock('job', 0.2) else 3)"
    )
    held = subprocess.run([sys.executable, "-c", code], check=False, timeout=30)
    assert held.returncode == 3
    fake.release_lock("job")
    free = subprocess.run([sys.executable, "-c", code], check=False, timeout=30)
    assert free.returncode == 0


def test_a_lock_taken_again_by_the_same_client_counts_up_as_lock_plus_does(
    fake: FakeIris,
) -> None:
    other = FakeIris(fake.state_dir)
    assert fake.acquire_lock("job", timeout=0)
    assert fake.acquire_lock("job", timeout=0)  # LOCK + by the same process: a second count
    fake.release_lock("job")
    assert not other.acquire_lock("job", timeout=0)  # one count left: still held
    fake.release_lock("job")
    assert other.acquire_lock("job", timeout=0)
    other.release_lock("job")


def test_remote_and_system_databases_are_out_of_the_backup_scope(
    fake: FakeIris, tmp_path: Path
) -> None:
    state = fake.snapshot()
    fake.configure(
        databases=[
            *(d.model_dump() for d in state.databases),
            {"directory": "/usr/irissys/mgr/iristemp/", "name": "IRISTEMP"},
            {"directory": "/usr/irissys/mgr/irislib/", "name": "IRISLIB", "read_only": True},
            {"directory": "/usr/irissys/mgr/irislocaldata/", "name": "IRISLOCALDATA"},
            {"directory": "/data/remote/", "name": "REMOTE", "server": "DATASERVER"},
        ]
    )
    assert [d.name for d in fake.databases()] == ["USER", "IRISAPP"]
    result, _ = backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    assert result is OnlineResult.COMPLETED
    assert fake.snapshot().history[-1].directories == [
        "/usr/irissys/mgr/user/",
        "/usr/irissys/mgr/irisapp/",
    ]


# -- where the simulated instance lives -------------------------------------------------------


def test_the_state_directory_is_the_users_not_a_backup_directorys(tmp_path: Path) -> None:
    from backup_keeper.iris.fake import default_state_dir

    home = Path.home()
    assert default_state_dir({}) == home / ".local/state/backup-keeper/fake-iris"
    assert default_state_dir({"XDG_STATE_HOME": "/var/xdg"}) == Path(
        "/var/xdg/backup-keeper/fake-iris"
    )
    # the XDG specification: an empty or relative XDG_STATE_HOME is ignored
    for ignored in ("", "relative/state"):
        assert default_state_dir({"XDG_STATE_HOME": ignored}) == default_state_dir({})
    chosen = {"BACKUP_KEEPER_FAKE_STATE": str(tmp_path / "mine"), "XDG_STATE_HOME": "/var/xdg"}
    assert default_state_dir(chosen) == tmp_path / "mine"


def test_an_empty_state_setting_never_means_the_current_directory() -> None:
    from backup_keeper.iris.fake import default_state_dir

    for empty in ("", "  "):
        with pytest.raises(IrisError, match="BACKUP_KEEPER_FAKE_STATE is set but empty"):
            default_state_dir({"BACKUP_KEEPER_FAKE_STATE": empty})


def test_without_a_directory_the_fake_uses_the_configured_state(fake_state: Path) -> None:
    FakeIris().configure(instance="SHARED")
    assert FakeIris(fake_state).instance().name == "SHARED"


def test_a_state_directory_that_cannot_be_used_is_an_iris_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(IrisError, match=r"state directory .*file cannot be used"):
        FakeIris(tmp_path / "file")


def test_a_corrupt_state_is_an_error_never_a_fresh_instance(fake: FakeIris) -> None:
    fake.configure(instance="KEEPME")
    (fake.state_dir / "state.json").write_text("{not json")
    with pytest.raises(IrisError, match="is corrupt"):
        fake.instance()
    assert (fake.state_dir / "state.json").read_text() == "{not json"


def test_state_writes_never_follow_a_planted_symlink(fake: FakeIris, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for planted in ("state.tmp", "state.json.tmp"):
        (fake.state_dir / planted).symlink_to(victim)
    fake.configure(instance="CHANGED")
    assert victim.read_text() == "precious"
    assert not (fake.state_dir / "state.json").is_symlink()
    assert FakeIris(fake.state_dir).instance().name == "CHANGED"


def test_the_state_lock_is_never_opened_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    state = tmp_path / "state"
    state.mkdir()
    (state / ".state.lock").symlink_to(victim)
    with pytest.raises(IrisError, match="cannot be used"):
        FakeIris(state)
    assert victim.read_text() == "precious"


def test_a_lock_name_never_leads_outside_the_lock_directory(fake: FakeIris, tmp_path: Path) -> None:
    for name in ("../escape", "/tmp/abs", "", ".hidden", "a/b"):
        with pytest.raises(IrisError, match="not a valid lock name"):
            fake.acquire_lock(name, 0)
    assert not (fake.state_dir / "escape.lock").exists()
    assert sorted(p.name for p in (fake.state_dir / "locks").iterdir()) == []


def test_reading_the_instance_does_not_rewrite_its_state(fake: FakeIris) -> None:
    path = fake.state_dir / "state.json"
    before = path.stat().st_mtime_ns, path.stat().st_ino
    fake.instance()
    fake.databases()
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_in_a_backup_directory_the_fake_writes_only_what_iris_writes(
    fake: FakeIris, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    backup(fake, backups, BackupKind.FULL, "f.cbk")
    fake.external_freeze(
        log_file=str(backups / "x.log"), text="t", freeze_timeout=10, wd_suspend_limit=0
    )
    fake.external_thaw(log_file=str(backups / "x.log"))
    assert sorted(p.name for p in backups.iterdir()) == ["f.cbk", "f.log", "x.log"]


def test_a_log_iris_cannot_write_fails_the_call_and_changes_nothing(
    fake: FakeIris, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir" / "x.log"
    with pytest.raises(IrisError, match="cannot write log file"):
        fake.external_freeze(log_file=str(missing), text="t", freeze_timeout=1, wd_suspend_limit=0)
    assert not fake.is_frozen()
    journal = fake.snapshot().journal_sequence
    with pytest.raises(IrisError, match="cannot open log file"):
        fake.online_backup(
            BackupKind.FULL,
            description="d",
            file=str(tmp_path / "f.cbk"),
            log_file=str(missing),
            quiet_timeout=60,
        )
    assert fake.snapshot().journal_sequence == journal and fake.backup_history() == []


def test_the_log_has_iris_header_description_line_and_local_times(
    fake: FakeIris, tmp_path: Path
) -> None:
    fake.configure(timezone="Asia/Tokyo")  # NOW is 02:00 UTC, 11:00 in Tokyo
    backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    text = (tmp_path / "f.log").read_text()
    assert text.startswith("*** The time is: 2026-11-22 11:00:00 ***\n")
    assert "\nPerforming a Full backup.\n" in text
    assert "\nDescription\nf.cbk\n" in text and "Description:" not in text
    log = parse_backup_log(text)
    assert (log.started, log.kind, log.description) == (datetime(2026, 11, 22, 11), "Full", "f.cbk")
    assert log.passes[0].copies[0].started == datetime(2026, 11, 22, 11)
    assert log.passes[-1].completed_at == datetime(2026, 11, 22, 11)


def test_a_failed_word_in_the_description_is_no_error_in_the_fakes_log(
    fake: FakeIris, tmp_path: Path
) -> None:
    backup(fake, tmp_path, BackupKind.FULL, "failed-yesterday.cbk")
    log = parse_backup_log((tmp_path / "failed-yesterday.log").read_text())
    assert log.finished and log.errors == [] and log.description == "failed-yesterday.cbk"


def test_the_volume_label_date_is_iris_form_in_local_time(fake: FakeIris, tmp_path: Path) -> None:
    fake.configure(timezone="America/New_York")  # NOW is 02:00 UTC, 21:00 the day before
    backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    label = fake.volume_info(str(tmp_path / "f.cbk"))
    assert label.time_text == "NOV 21 2026 09:00PM"
    assert label.time == datetime(2026, 11, 21, 21, 0)  # naive: the instance's local time


def test_the_fake_restores_only_a_volume_with_a_label_its_history_holds(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    not_a_volume = tmp_path / "plain.cbk"
    not_a_volume.write_bytes(b"IRIS-FAKE-VOLUME-LABEL {not json\n")
    for file in (not_a_volume, tmp_path / "absent.cbk"):
        with pytest.raises(IrisError, match="returned -1"):
            fake.restore_backup(str(file), {"/usr/irissys/mgr/user/": "/x/"})
    assert fake.snapshot().restored == []


def test_the_fake_journal_restore_needs_a_journal_file_of_the_instance(tmp_path: Path) -> None:
    fake = FakeIris(tmp_path / "iris")
    with pytest.raises(IrisError, match=r"journal file /j/20261122\.001 not found"):
        fake.restore_journals("/j/20261122.001", select=["/usr/irissys/mgr/user/"], redirect={})
    assert fake.snapshot().journal_restores == []


def test_a_redirection_of_a_database_not_selected_has_no_effect(tmp_path: Path) -> None:
    """CR Journal.Restore: redirection takes effect only for a selected database."""
    fake = FakeIris(tmp_path / "iris")
    user, app = "/usr/irissys/mgr/user/", "/usr/irissys/mgr/irisapp/"
    outcome = fake.restore_journals(
        "/usr/irissys/mgr/journal/20261122.002", select=[app], redirect={user: "/staging/"}
    )
    assert fake.snapshot().journal_restores[0].replayed_into == [app]
    assert outcome.journal_databases == (user, app)


def test_the_required_journal_is_the_file_in_use_before_the_switch_as_iris_can_name_it(
    fake: FakeIris, tmp_path: Path
) -> None:
    """Ledger, "first journal file a restore needs": IRIS may name an earlier file than the one
    it switched to, so the fake does, and code reading the switched file is caught."""
    backup(fake, tmp_path, BackupKind.FULL, "f.cbk")
    log = parse_backup_log((tmp_path / "f.log").read_text())
    switched = fake.snapshot().journal_file
    assert log.journal_required is not None and log.journal_required != switched
    assert log.journal_required.endswith(".001") and switched.endswith(".002")
    frozen = fake.external_freeze(log_file="", text="", freeze_timeout=0, wd_suspend_limit=0)
    assert frozen.required_journal == switched != fake.snapshot().journal_file


def test_the_fake_lists_its_journal_files_newest_first_with_the_current_one(
    fake: FakeIris, tmp_path: Path
) -> None:
    first = fake.journal_files()
    assert first.current == "/usr/irissys/mgr/journal/20261122.001"
    assert [f.path for f in first.files] == [first.current]
    backup(fake, tmp_path, BackupKind.FULL, "a.cbk")
    files = fake.journal_files()
    assert files.current == "/usr/irissys/mgr/journal/20261122.002"
    assert [f.path for f in files.files] == [files.current, first.current]


def test_the_fake_names_journal_files_with_their_prefix(fake: FakeIris, tmp_path: Path) -> None:
    fake.configure(journal_prefix="MIRROR-AUGEST-")
    backup(fake, tmp_path, BackupKind.FULL, "a.cbk")
    assert fake.journal_files().current == "/usr/irissys/mgr/journal/MIRROR-AUGEST-20261122.002"
    assert fake.journal_settings().prefix == "MIRROR-AUGEST-"


def purged_after(
    fake: FakeIris, tmp_path: Path, days: int, count: int, archived: bool = False
) -> list[str]:
    """Three fulls a day apart, then what is left on disk the next day after IRIS's purge."""
    fake.configure(days_before_purge=days, backups_before_purge=count, purge_archived=archived)
    for day in range(3):
        fake.clock = fixed_clock(NOW + timedelta(days=day))
        backup(fake, tmp_path, BackupKind.FULL, f"f{day}.cbk")
    fake.clock = fixed_clock(NOW + timedelta(days=3))
    fake.purge_journals()
    return [f.path.rsplit("/", 1)[-1] for f in reversed(fake.journal_files().files)]


@pytest.mark.parametrize(
    ("days", "count", "archived", "left"),
    [
        (0, 0, False, ["20261122.001", "20261122.002", "20261123.003", "20261124.004"]),
        (2, 0, False, ["20261123.003", "20261124.004"]),
        (0, 2, False, ["20261122.002", "20261123.003", "20261124.004"]),
        (0, 1, False, ["20261123.003", "20261124.004"]),
        (10, 3, False, ["20261122.001", "20261122.002", "20261123.003", "20261124.004"]),
        (1, 10, False, ["20261124.004"]),
        (10, 10, True, ["20261124.004"]),
    ],
)
def test_the_fakes_journal_purge_takes_whichever_criterion_is_shorter(
    fake: FakeIris, tmp_path: Path, days: int, count: int, archived: bool, left: list[str]
) -> None:
    assert purged_after(fake, tmp_path, days, count, archived) == left


def test_the_fakes_journal_calls_fail_on_demand(fake: FakeIris) -> None:
    fake.fail("journal_files")
    fake.fail("journal_settings")
    with pytest.raises(IrisError):
        fake.journal_files()
    with pytest.raises(IrisError):
        fake.journal_settings()
