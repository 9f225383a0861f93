"""The executor's own locks: it refuses what the planner should never propose."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.catalog.record import BackupRecord, RecordSource
from backup_keeper.kinds import BackupKind
from backup_keeper.purge.executor import (
    RECOVERED,
    PurgeTarget,
    Targets,
    _deletable,
    as_targets,
    delete_leftovers,
    delete_targets,
    targets_from_plan,
)
from backup_keeper.purge.intent import check_backup_name, own_companions
from backup_keeper.report import FileOutcome
from backup_keeper.retention.plan import Action, Decision
from tests.builders import T0, record

NOTE = f"{RECOVERED} 2026-11-20T12:00:00+00:00"


def deletion(rec: BackupRecord) -> Decision:
    return Decision(rec, Action.DELETE, ("test",))


def listed(targets: Targets) -> list[PurgeTarget]:
    """The targets as the deletion acts on them, directory by directory."""
    return [t for directory, records in targets.items() for t in as_targets(directory, records)]


def planned(directory: Path, name: str = "a.cbk", *companions: str) -> Targets:
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
    assert [(t.name, t.companions) for t in listed(targets)] == [
        ("e.cbk", ("e.cbk.json",)),
        ("a.cbk", ()),
    ]
    assert len(refused) == 6
    assert any("unmanaged" in r for r in refused)
    assert any(r.startswith("/etc/passwd: refused") for r in refused)


def test_targets_are_deleted_newest_first_so_dependents_go_before_their_base(
    tmp_path: Path,
) -> None:
    old = record("full.cbk", "full", T0, directory=str(tmp_path))
    new = record("incr.cbk", "incremental", T0 + timedelta(hours=1), directory=str(tmp_path))
    targets, _ = targets_from_plan([deletion(old), deletion(new)], [tmp_path])
    assert [t.name for t in listed(targets)] == ["incr.cbk", "full.cbk"]


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


def test_a_backup_rewritten_to_the_same_size_after_planning_is_not_deleted(
    tmp_path: Path,
) -> None:
    cbk = tmp_path / "a.cbk"
    cbk.write_bytes(b"x")
    targets = planned(tmp_path)
    cbk.write_bytes(b"y")  # a new backup under the old name: same size, another mtime
    planned_ns = targets[tmp_path][0].mtime_ns
    os.utime(cbk, ns=(planned_ns + 1_000_000_000, planned_ns + 1_000_000_000))
    outcome = delete_targets(targets, dry_run=False)
    assert cbk.read_bytes() == b"y"
    assert [a.outcome for a in outcome.actions] == [FileOutcome.SKIPPED]
    assert outcome.warnings[0].startswith(f"{cbk}: not deleted: changed since it was planned")


def test_a_directory_swapped_for_a_symlink_after_planning_is_never_entered(
    tmp_path: Path,
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    targets = planned(backups)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    twin = elsewhere / "a.cbk"  # what the symlink leads to looks just like the planned backup
    twin.write_bytes(b"x")
    planned_ns = targets[backups][0].mtime_ns
    os.utime(twin, ns=(planned_ns, planned_ns))
    backups.rename(tmp_path / "backups.old")
    backups.symlink_to(elsewhere)
    outcome = delete_targets(targets, dry_run=False)
    assert twin.exists() and (tmp_path / "backups.old" / "a.cbk").exists()
    assert outcome.actions == []
    (error,) = outcome.errors  # ENOTDIR on Linux (O_DIRECTORY | O_NOFOLLOW), ELOOP elsewhere
    assert error.startswith(f"{backups}: cannot open directory: ")
    assert outcome.failed == listed(targets)


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
    assert outcome.failed == listed(targets)


def test_read_only_directory_is_an_error_for_an_unprivileged_user(tmp_path: Path) -> None:
    """As root the kernel ignores the mode, so the denial is injected where it would happen."""
    cbk = tmp_path / "a.cbk"
    targets = planned(tmp_path)

    def denied(name: str, dir_fd: int) -> None:
        raise PermissionError(13, "Permission denied")

    outcome = delete_targets(targets, dry_run=False, remove=denied)
    assert outcome.errors == [f"{cbk}: cannot delete: Permission denied"]
    assert cbk.exists() and os.access(cbk, os.F_OK)


def test_a_companion_is_only_the_backups_own_sidecar_or_stem_log(tmp_path: Path) -> None:
    """A manifest naming another backup's log must never make that log a target."""
    rec = record("a.cbk", "full", T0, directory=str(tmp_path))
    rec.companions = tuple(str(tmp_path / c) for c in ("a.cbk.json", "b.log", "a.log"))
    zst = record("z.cbk.zst", "full", T0, directory=str(tmp_path))
    zst.companions = tuple(str(tmp_path / c) for c in ("z.cbk.json", "z.log", "z.cbk.zst.json"))
    snap = record("s.snapshot.json", "external", T0, directory=str(tmp_path))
    snap.companions = (str(tmp_path / "s.log"),)
    targets, refused = targets_from_plan([deletion(r) for r in (rec, zst, snap)], [tmp_path])
    assert [(t.name, t.companions) for t in listed(targets)] == [
        ("s.snapshot.json", ()),
        ("z.cbk.zst", ("z.cbk.json", "z.log")),
        ("a.cbk", ("a.cbk.json", "a.log")),
    ]
    assert refused == [
        f"{tmp_path}/s.log: refused: not the sidecar or log of s.snapshot.json",
        f"{tmp_path}/z.cbk.zst.json: refused: not the sidecar or log of z.cbk.zst",
        f"{tmp_path}/b.log: refused: not the sidecar or log of a.cbk",
    ]


@pytest.mark.parametrize("name", ["a\\b.cbk", "bad\udcff.cbk", "a.cbk.json"])
def test_a_name_an_intent_could_not_hold_is_never_a_target(tmp_path: Path, name: str) -> None:
    targets, refused = targets_from_plan(
        [deletion(record(name, "full", T0, directory=str(tmp_path)))], [tmp_path]
    )
    assert targets == {}
    assert refused == [
        f"{tmp_path}/{name}: refused: not a .cbk or snapshot record directly inside a "
        "configured directory"
    ]


def test_leftovers_of_a_backup_still_on_disk_in_any_form_are_kept(tmp_path: Path) -> None:
    for name in ("a.cbk.zst", "a.cbk.json", "a.log", "b.cbk", "b.cbk.json"):
        (tmp_path / name).write_text("x")
    outcome = delete_leftovers(tmp_path, ["a.cbk", "b.cbk.zst"], note=NOTE, dry_run=False)
    assert outcome.actions == [] and outcome.errors == []
    assert outcome.warnings == [
        f"{tmp_path}/a.cbk.zst: named by an interrupted purge, but the current plan does not "
        "delete it: kept",
        f"{tmp_path}/b.cbk: named by an interrupted purge, but the current plan does not "
        "delete it: kept",
    ]
    assert len(list(tmp_path.iterdir())) == 5


def test_a_backup_that_cannot_be_looked_at_counts_as_present(tmp_path: Path) -> None:
    # a name too long to look at fails with ENAMETOOLONG, not "no such file"
    outcome = delete_leftovers(tmp_path, ["a" * 300 + ".cbk"], note=NOTE, dry_run=False)
    assert outcome.actions == [] and "the current plan does not delete it" in outcome.warnings[0]


def test_leftovers_of_a_gone_backup_go_but_never_through_a_symlink(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.write_text("keep")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "a.cbk.json").symlink_to(precious)
    (backups / "a.log").write_text("left over")
    (backups / "s.snapshot.json.log").write_text("not a companion of a snapshot record")
    outcome = delete_leftovers(backups, ["a.cbk", "s.snapshot.json"], note=NOTE, dry_run=False)
    assert [(Path(a.path).name, a.outcome, a.detail) for a in outcome.actions] == [
        ("a.log", FileOutcome.DELETED, NOTE)
    ]
    assert precious.read_text() == "keep" and (backups / "a.cbk.json").is_symlink()
    assert (backups / "s.snapshot.json.log").exists()


def test_a_leftover_that_cannot_be_removed_is_an_error_and_stays_in_the_intent(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.cbk.json").write_text("{}")
    (tmp_path / "a.log").write_text("x")

    def denied(name: str, dir_fd: int) -> None:
        if name.endswith(".json"):
            raise PermissionError(13, "Permission denied")
        os.unlink(name, dir_fd=dir_fd)

    outcome = delete_leftovers(tmp_path, ["a.cbk"], note=NOTE, dry_run=False, remove=denied)
    assert [(Path(a.path).name, a.outcome) for a in outcome.actions] == [
        ("a.cbk.json", FileOutcome.FAILED),
        ("a.log", FileOutcome.DELETED),
    ]
    assert outcome.actions[0].detail == f"{NOTE}: Permission denied"
    assert outcome.errors == [f"{tmp_path}/a.cbk.json: cannot delete: Permission denied"]
    assert [t.as_intent().name for t in outcome.failed] == ["a.cbk"]


def test_leftovers_in_a_directory_that_vanished_are_an_error(tmp_path: Path) -> None:
    outcome = delete_leftovers(tmp_path / "gone", ["a.cbk"], note=NOTE, dry_run=False)
    assert outcome.errors == [
        f"{tmp_path / 'gone'}: cannot open directory: No such file or directory"
    ]
    assert [t.name for t in outcome.failed] == ["a.cbk"]


def test_a_name_that_is_not_a_backup_name_is_never_acted_on(tmp_path: Path) -> None:
    (tmp_path.parent / "x.log").write_text("outside")
    outcome = delete_leftovers(tmp_path, ["../x.cbk"], note=NOTE, dry_run=False)
    assert outcome.errors == [f"{tmp_path}: refused to act on '../x.cbk': not a backup name"]
    assert (tmp_path.parent / "x.log").exists()


def test_a_planned_backup_that_cannot_be_examined_is_skipped(tmp_path: Path) -> None:
    targets = planned(tmp_path)
    targets[tmp_path][0].path = f"{tmp_path}/{'a' * 300}.cbk"  # too long to stat: ENAMETOOLONG
    outcome = delete_targets(targets, dry_run=False)
    assert [a.outcome for a in outcome.actions] == [FileOutcome.SKIPPED]
    assert "cannot be examined (File name too long)" in outcome.warnings[0]


@given(
    st.text(alphabet=st.sampled_from("aZ09_.+-/\\\x00é\udcff"), max_size=8),
    st.sampled_from([".cbk", ".cbk.zst", ".snapshot.json", ".cbk.json", ".log", ""]),
)
def test_the_quick_name_check_accepts_only_what_the_full_check_accepts(
    stem: str, suffix: str
) -> None:
    name = stem + suffix
    try:
        check_backup_name(name)
    except ValueError:
        assert not _deletable(name)
    else:
        assert _deletable(name)


@given(
    st.text(alphabet=st.sampled_from("aZ09_.+-"), min_size=1, max_size=6),
    st.sampled_from([".cbk", ".cbk.zst", ".snapshot.json"]),
    st.sampled_from(["", "x", "a"]),
    st.sampled_from([".cbk.json", ".log", ".cbk.zst.json", ".json", ".cbk", "", ".cbk.log"]),
    st.sampled_from(["/backups/d/", "/backups/e/", "/backups/d/sub/", "/backups/d/../"]),
)
def test_a_lone_companion_is_kept_exactly_when_it_is_one_of_the_backups_own_names(
    stem: str, suffix: str, other: str, companion_suffix: str, place: str
) -> None:
    """The usual one-companion case is tested inline for speed; it must agree with
    own_companions, the one definition of a backup's own files, for every name and place
    (beside it, in a sibling directory, below it, or through ``..``)."""
    directory = Path("/backups/d")
    name = stem + suffix
    companion = f"{place}{stem}{other}{companion_suffix}"
    rec = record(name, "full", T0, directory=str(directory))
    rec.companions = (companion,)
    targets, refused = targets_from_plan([deletion(rec)], [directory])
    if not _deletable(name):
        assert targets == {}
        return
    beside = place == f"{directory}/"
    own = beside and companion.rpartition("/")[2] in own_companions(name)
    assert [t.companions for t in listed(targets)] == [
        (companion.rpartition("/")[2],) if own else ()
    ]
    (kept,) = targets[directory]
    assert kept.companions == ((companion,) if own else ())
    assert (kept is rec) is own  # a record goes as it is, or as a copy without the stranger
    assert bool(refused) is not own


def test_a_dry_run_names_the_catalogs_paths_backup_first_and_log_last(tmp_path: Path) -> None:
    rec = record("a.cbk", "full", T0, directory=str(tmp_path))
    rec.companions = (str(tmp_path / "a.log"), str(tmp_path / "a.cbk.json"))
    targets, refused = targets_from_plan([deletion(rec)], [tmp_path])
    outcome = delete_targets(targets, dry_run=True)
    assert refused == []
    assert [(a.path, a.outcome) for a in outcome.actions] == [
        (f"{tmp_path}/a.cbk", FileOutcome.WOULD_DELETE),
        (f"{tmp_path}/a.cbk.json", FileOutcome.WOULD_DELETE),
        (f"{tmp_path}/a.log", FileOutcome.WOULD_DELETE),
    ]
    assert outcome.actions[0].path is rec.path  # the catalog's own string, not joined again


@given(
    st.lists(
        st.sampled_from(["a.cbk.json", "a.log", "b.log", "a.cbk.zst.json", "../a.log"]),
        max_size=4,
        unique=True,
    )
)
def test_a_dry_run_names_the_files_the_real_run_deletes_in_the_order_it_deletes_them(
    companions: list[str],
) -> None:
    """Whatever companions a record carries (its own, a stranger's, one outside), the dry run
    and the deletion act on one list, in one order: backup, manifest, log."""
    with tempfile.TemporaryDirectory() as raw:
        directory = Path(raw)
        (directory / "a.cbk").write_bytes(b"x")
        for name in ("a.cbk.json", "a.log", "b.log", "a.cbk.zst.json"):
            (directory / name).write_text("x")
        rec = record("a.cbk", "full", T0, directory=str(directory))
        st_ = (directory / "a.cbk").stat()
        rec.size, rec.mtime_ns = st_.st_size, st_.st_mtime_ns
        rec.companions = tuple(f"{directory}/{c}" for c in companions)
        targets, _ = targets_from_plan([deletion(rec)], [directory])
        said = [a.path for a in delete_targets(targets, dry_run=True).actions]
        done = delete_targets(targets, dry_run=False).actions
        assert said == [a.path for a in done]
        assert [a.outcome for a in done] == [FileOutcome.DELETED] * len(done)
