"""Builders for records and real backup files, so tests say what they mean in one line."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.catalog.manifest import Manifest, write_manifest
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER
from backup_keeper.kinds import BackupKind
from backup_keeper.last_run import LastPurge, LastVerify

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
"""A Sunday night at 02:00 UTC: the first backup of most scenarios."""

NEVER_ALIVE_PID = 4_194_304
"""A pid no process ever has: Linux hands out pids below ``pid_max``, which cannot exceed
4194304 (PID_MAX_LIMIT). A child that was spawned and reaped is no such pid: the kernel may give
its number to the next process started."""

KIND_BY_LETTER = {
    "F": BackupKind.FULL,
    "C": BackupKind.CUMULATIVE,
    "I": BackupKind.INCREMENTAL,
    "E": BackupKind.EXTERNAL,
}


def record(
    name: str,
    kind: BackupKind | str,
    time: datetime,
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    directory: str = "/backups",
    instance: str | None = None,
    source: RecordSource = RecordSource.SIDECAR,
) -> BackupRecord:
    return BackupRecord(
        path=f"{directory}/{name}",
        kind=BackupKind(kind) if not isinstance(kind, BackupKind) else kind,
        status=status,
        source=source,
        time=time,
        size=1000,
        mtime_ns=int(time.timestamp() * 1e9),
        instance=instance,
    )


def series(
    pattern: str, *, start: datetime = T0, step: timedelta = timedelta(days=1)
) -> list[BackupRecord]:
    """Records from a pattern like ``"FIIICII"`` (X = failed incremental), one per ``step``."""
    out = []
    for i, letter in enumerate(pattern):
        status = BackupStatus.FAILED if letter == "X" else BackupStatus.COMPLETED
        kind = KIND_BY_LETTER.get(letter, BackupKind.INCREMENTAL)
        out.append(record(f"b{i:03d}_{letter}.cbk", kind, start + i * step, status))
    return out


def write_iris_backup(
    directory: Path, task: str, day: str, nnn: int, *, finished: bool = True, log: bool = True
) -> Path:
    """A backup as IRIS's own tasks leave it: ``<Task>_<yyyymmdd>_<nnn>.cbk`` and its ``.log``."""
    cbk = directory / f"{task}_{day}_{nnn:03d}.cbk"
    cbk.write_bytes(b"IRIS backup volume " + cbk.name.encode())
    if log:
        text = "Starting backup pass 1\nBackup pass 1 complete\n"
        if finished:
            text += f"{FINISHED_MARKER}\nGlobal references are enabled.\nBackup complete.\n"
        cbk.with_suffix(".log").write_text(text)
    return cbk


def write_managed_backup(
    directory: Path,
    name: str,
    kind: BackupKind,
    started: datetime,
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    instance: str | None = "IRIS",
    size: int = 64,
) -> Path:
    """A backup as this tool leaves it: the ``.cbk``, its IRIS log and a sidecar manifest."""
    cbk = directory / name
    cbk.write_bytes(os.urandom(size))
    log_name = cbk.with_suffix(".log").name
    (directory / log_name).write_text(f"{FINISHED_MARKER}\n")
    manifest = Manifest(
        file=name,
        kind=kind,
        status=status,
        started=started,
        finished=started + timedelta(minutes=5),
        databases=["/usr/irissys/mgr/user/"],
        size=size,
        iris_log=log_name,
        instance=instance,
        tool_version="0.1.0",
    )
    write_manifest(cbk, manifest)
    return cbk


def names(paths: list[str] | list[Path]) -> list[str]:
    return sorted(Path(p).name for p in paths)


LAST_RUN_FILES = (LastPurge.NAME, LastVerify.NAME)
"""What a purge or verify leaves for the metrics in every directory it ran in (last_run.py)."""


def directory_state(directory: Path) -> dict[str, tuple[int, int]]:
    """Every entry below ``directory`` with its size and mtime: to prove nothing changed. The
    numbers a purge or verify leaves for the metrics are left out: a purge that deleted nothing
    still records that it freed 0 bytes (tests/unit/test_last_run.py covers those files)."""
    state = {}
    for path in sorted(directory.rglob("*")):
        if path.name in LAST_RUN_FILES:
            continue
        st = path.lstat()
        state[str(path.relative_to(directory))] = (st.st_size, st.st_mtime_ns)
    return state
