"""The executor's own locks: it refuses what the planner should never propose."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from backup_keeper.catalog.record import BackupKind, BackupRecord, RecordSource
from backup_keeper.purge.executor import PurgeTarget, delete_targets, targets_from_plan
from backup_keeper.report import FileOutcome
from backup_keeper.retention.plan import Action, Decision
from tests.builders import T0, record


def deletion(rec: BackupRecord) -> Decision:
    return Decision(rec, Action.DELETE, ("test",))


def planned(directory: Path, name: str = "a.cbk", *companions: str) -> list[PurgeTarget]:
    """A real .cbk planned for deletion, with its size and mtime as the catalog saw them."""
    cbk = directory / name
    if not cbk.exists():
        cbk.write_bytes(b"x")
    st = cbk.stat()
    rec = record(name, "full", T0, directory=str(directory))
    rec.size, rec.mtime_ns = st.st_size, st.st_mtime_ns
    rec.companions = tuple(str(directory / c) for c in companions)
    targets, refused = targets_from_plan([deletion(rec)], [directory])
    assert refused == []
    return targets


def test_targets_outside_the_directories_or_unmanaged_are_refused(tmp_path: Path) -> None:
    inside = record("a.cbk", "full", T0, directory=str(tmp_path))
    below = record("a.cbk", "full", T0, directory=str(tmp_path / "sub"))
    elsewhere = record("b.cbk", "full", T0, directory="/etc")
    not_cbk = record("c.dat", "full", T0, directory=str(tmp_path))
    unmanaged = record(
        "d.cbk", BackupKind.UNKNOWN, T0, directory=str(tmp_path), source=RecordSource.UNMANAGED
    )
    bad_companion = record("e.cbk", "full", T0, directory=str(tmp_path))
    bad_companion.companions = (
        "/etc/passwd",
        str(tmp_path / "e.cbk.json"),
        str(tmp_path / "other.txt"),
    )
    targets, refused = targets_from_plan(
        [deletion(r) for r in (inside, below, elsewhere, not_cbk, unmanaged, bad_companion)],
        [tmp_path],
    )
    assert [(t.name, t.companions) for t in targets] == [("e.cbk", ("e.cbk.json",)), ("a.cbk", ())]
    assert len(refused) == 6
    assert any("unmanaged" in r for r in refused)
    assert any(r.startswith("/etc/passwd: refused") for r in refused)


def test_targets_are_deleted_newest_first_so_dependents_go_before_their_base(
    tmp_path: Path,
) -> None:
    old = record("full.cbk", "full", T0, directory=str(tmp_path))
    new = record("incr.cbk", "incremental", T0 + timedelta(hours=1), directory=str(tmp_path))
    targets, _ = targets_from_plan([deletion(old), deletion(new)], [tmp_path])
    assert [t.name for t in targets] == ["incr.cbk", "full.cbk"]


def test_a_backup_swapped_for_a_symlink_after_planning_is_not_deleted_nor_followed(
    tmp_path: Path,
) -> None:
    precious = tmp_path / "precious.cbk"
    precious.write_bytes(b"keep me")
    victim = tmp_path / "backups"
    victim.mkdir()
    cbk = victim / "a.cbk"
    targets = planned(victim)
    cbk.unlink()
    cbk.symlink_to(precious)
    outcome = delete_targets(targets, dry_run=False)
    assert precious.read_bytes() == b"keep me" and cbk.is_symlink()
    assert [a.outcome for a in outcome.actions] == [FileOutcome.SKIPPED]
    assert outcome.warnings == [f"{cbk}: not deleted: no longer a regular file"]


def test_a_companion_that_is_a_symlink_is_left_alone(tmp_path: Path) -> None:
    target_file = tmp_path / "target.txt"
    target_file.write_text("keep")
    (tmp_path / "a.log").symlink_to(target_file)
    targets = planned(tmp_path, "a.cbk", "a.log")
    outcome = delete_targets(targets, dry_run=False)
    assert [Path(a.path).name for a in outcome.actions] == ["a.cbk"]
    assert (tmp_path / "a.log").is_symlink() and target_file.exists()


def test_a_read_only_file_in_a_writable_directory_is_deleted_like_any_other(tmp_path: Path) -> None:
    cbk = tmp_path / "a.cbk"
    cbk.write_bytes(b"x")
    cbk.chmod(0o444)
    targets = planned(tmp_path)
    outcome = delete_targets(targets, dry_run=False)
    assert [a.outcome for a in outcome.actions] == [FileOutcome.DELETED]
    assert not cbk.exists()


def test_a_directory_that_vanished_is_an_error_for_its_targets(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    rec = record("a.cbk", "full", T0, directory=str(gone))
    targets, _ = targets_from_plan([deletion(rec)], [gone])
    outcome = delete_targets(targets, dry_run=False)
    assert outcome.errors == [f"{gone}: cannot open directory: No such file or directory"]
    assert outcome.failed == targets


def test_read_only_directory_is_an_error_for_an_unprivileged_user(tmp_path: Path) -> None:
    """As root the kernel ignores the mode, so the denial is injected where it would happen."""
    cbk = tmp_path / "a.cbk"
    targets = planned(tmp_path)

    def denied(name: str, dir_fd: int) -> None:
        raise PermissionError(13, "Permission denied")

    outcome = delete_targets(targets, dry_run=False, remove=denied)
    assert outcome.errors == [f"{cbk}: cannot delete: Permission denied"]
    assert cbk.exists() and os.access(cbk, os.F_OK)
