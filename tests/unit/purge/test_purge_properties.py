"""Purge invariants on real generated directories (hypothesis)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
from backup_keeper.purge.intent import INTENT_NAME, own_companions
from backup_keeper.purge.lock import LOCK_NAME
from backup_keeper.report import FileOutcome
from backup_keeper.settings import PurgeSettings
from tests.builders import directory_state, write_iris_backup

TASKS = [
    "FullDBList",
    "FullAllDatabases",
    "IncrementalDBList",
    "IncrementalDBList",
    "CumuIncrDBList",
]
NOW = datetime(2026, 12, 31, tzinfo=UTC)

backups = st.lists(
    st.tuples(
        st.sampled_from(TASKS), st.integers(1, 60), st.integers(1, 3), st.booleans(), st.booleans()
    ),
    max_size=25,
    unique_by=lambda t: (t[0], t[1], t[2]),
)
policies = st.fixed_dictionaries(
    {},
    optional={
        "keep_last": st.integers(1, 3),
        "keep_daily": st.integers(1, 5),
        "keep_within": st.sampled_from(["1d", "10d"]),
        "failed_older_than": st.sampled_from(["1d", "30d"]),
        "allow_purge_after_failure": st.booleans(),
    },
).filter(lambda p: any(k.startswith("keep") for k in p))


def populate(root: Path, files: list[tuple[str, int, int, bool, bool]]) -> Path:
    backups_dir = root / "backups"
    backups_dir.mkdir()
    sub = backups_dir / "archive"
    sub.mkdir()
    outside = root / "outside"
    outside.mkdir()
    for task, day, nnn, finished, has_log in files:
        date = datetime.fromordinal(datetime(2026, 10, 1).toordinal() + day).strftime("%Y%m%d")
        write_iris_backup(backups_dir, task, date, nnn, finished=finished, log=has_log)
        write_iris_backup(sub, task, date, nnn)
    old_outside = write_iris_backup(outside, "FullDBList", "20200101", 1)
    (backups_dir / "link_out.cbk").symlink_to(old_outside)
    (backups_dir / "FullDBList_2020010_001.cbk").write_bytes(b"near miss")
    (backups_dir / "manual.cbk").write_bytes(b"hand made")
    return backups_dir


@given(backups, policies)
def test_purge_never_touches_what_is_not_a_managed_backup_directly_inside(
    files: list[tuple[str, int, int, bool, bool]], policy: dict[str, object]
) -> None:
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        backups_dir = populate(root, files)
        protected = {
            p: p.lstat().st_mtime_ns
            for p in root.rglob("*")
            if (p != backups_dir and (p.parent != backups_dir or p.is_symlink()))
            or p.name in ("manual.cbk", "FullDBList_2020010_001.cbk")
        }
        settings = PurgeSettings.model_validate(
            {"directories": [backups_dir], "timezone": "UTC", "retention": policy}
        )
        report = run_purge(settings, clock=fixed_clock(NOW))
        assert report.errors == []
        for path, mtime in protected.items():
            assert path.is_symlink() or path.exists(), path
            assert path.lstat().st_mtime_ns == mtime
        for entry in report.delete:
            assert Path(entry.path).parent == backups_dir
        before = without_lock(directory_state(root))
        again = run_purge(settings, clock=fixed_clock(NOW))
        assert again.actions == []
        assert without_lock(directory_state(root)) == before


def without_lock(state: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """A real purge writes its pid into its lock file, and replaces the file that tells the
    metrics what it freed (directory_state leaves that out, but its rename touches the
    directory's own mtime); nothing else may change."""
    return {
        name: facts
        for name, facts in state.items()
        if not name.endswith(LOCK_NAME) and name != "backups"
    }


# --- Planted intents: whatever they name, nothing outside goes, nor anything the plan keeps ---

ABOVE = "{above}"
"""Stands for the absolute path of the directory above the backup directory. It holds files
named like the backup directory's own, so a name that escapes finds something to delete."""
LURES = ("x.log", "x.cbk.json", "FullDBList_20261101_001.log", "FullDBList_20261101_001.cbk.json")
LEFTOVERS = ("x.log", "x.cbk.json")
"""In the backup directory: the leftovers of a gone backup ``x.cbk``, which an intent may name."""

hostile_names = st.one_of(
    st.builds(
        lambda prefix, stem, suffix: prefix + stem + suffix,
        st.sampled_from(["", "../", ABOVE + "/", "sub/../../", "sub/", "/", ".", "\\"]),
        st.sampled_from(["x", "FullDBList_20261101_001"]),
        st.sampled_from([".cbk", ".cbk.zst", ".log", ".snapshot.json", ""]),
    ),
    st.sampled_from([ABOVE, "..", ".", "/", "x.log", "x.cbk.json"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12),
)


def derived_companions(name: str) -> list[str]:
    """What a backup named so would call its sidecar and log, separators and all."""
    if not name.endswith((".cbk", ".cbk.zst")):
        return []
    original = name.removesuffix(".zst")
    return [original + ".json", original.removesuffix(".cbk") + ".log"]


@st.composite
def intent_entry(draw: st.DrawFn) -> dict[str, object]:
    name = draw(hostile_names)
    own = derived_companions(name)
    companion = st.one_of(st.sampled_from(own), hostile_names) if own else hostile_names
    return {
        "name": name,
        "size": draw(st.integers(0, 100)),
        "mtime_ns": draw(st.integers(0, 2**62)),
        "companions": draw(st.lists(companion, max_size=2)),
    }


def hostile_directory(root: Path) -> Path:
    backups = root / "backups"
    backups.mkdir()
    (backups / "sub").mkdir()
    (backups / "sub" / "x.log").write_text("below")
    for day in range(1, 15):
        task = "FullDBList" if day in (1, 8) else "IncrementalDBList"
        write_iris_backup(backups, task, f"202611{day:02d}", day)
    for name in (*LEFTOVERS, "a.txt"):
        (backups / name).write_text("leftover or not")
    for name in LURES:
        (root / name).write_text("not ours")
    return backups


@given(st.lists(intent_entry(), min_size=1, max_size=2))
def test_a_planted_intent_never_deletes_outside_nor_what_the_honest_plan_keeps(
    entries: list[dict[str, object]],
) -> None:
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        backups = hostile_directory(root)
        settings = PurgeSettings.model_validate(
            {"directories": [backups], "timezone": "UTC", "retention": {"keep_last": 1}}
        )
        honest = {e.path for e in run_purge(settings.model_copy(update={"dry_run": True})).delete}
        allowed = {str(backups / c) for b in honest for c in own_companions(Path(b).name)}
        allowed |= honest | {str(backups / name) for name in LEFTOVERS}
        elsewhere = {
            p: p.stat().st_mtime_ns for p in root.rglob("*") if backups not in (p, *p.parents)
        }
        planted = json.dumps({"created": "2026-11-20T00:00:00+00:00", "entries": entries})
        (backups / INTENT_NAME).write_text(planted.replace(ABOVE, str(root)))
        report = run_purge(settings, clock=fixed_clock(NOW))
        assert {p: p.stat().st_mtime_ns for p in elsewhere} == elsewhere
        assert (backups / "sub" / "x.log").exists()
        deleted = {a.path for a in report.actions if a.outcome is FileOutcome.DELETED}
        assert deleted <= allowed
