"""Purge invariants on real generated directories (hypothesis)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from backup_keeper.clock import fixed_clock
from backup_keeper.jobs import run_purge
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
        before = directory_state(root)
        again = run_purge(settings, clock=fixed_clock(NOW))
        assert again.actions == []
        assert directory_state(root) == before
