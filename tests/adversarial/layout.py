"""What a hostile directory holds: honest backups, and hostile things added beside them.

An example is a :class:`Scene`: the honest backups (described by :class:`Honest`), a list of
hostile elements, and the flags. :func:`build` makes it real under a base directory::

    base/
      backups/      the directory under attack: honest backups + hostile elements
      honest/       the same honest backups alone: ``purge --dry-run`` over it is the expectation
      outside/      files that must never change (victims of ``../`` and absolute paths)
      sibling.txt   one more, right beside the directory under attack

``backups/`` also always holds ``notes.log``, a file of the administrator's that no backup owns.

Each hostile element is a frozen dataclass (hypothesis prints it in a falsifying example) with an
``apply`` that adds it to ``backups/`` and says which of its names must survive any run
(``protected``): never ours to delete, whatever else the directory holds. Hostile elements are
*additive* unless marked ``replaces_honest``: they never take the place of an honest file, so a
plan over the honest files alone stays the right expectation for those files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar, Literal, Protocol

from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.iris_formats.backup_log import FINISHED_MARKER
from backup_keeper.kinds import BackupKind
from backup_keeper.purge.intent import INTENT_NAME
from tests.adversarial.disk import (
    make_directory,
    make_fifo,
    make_symlink,
    pin_mtimes,
    write_file,
)
from tests.builders import write_iris_backup

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW_ARG = NOW.isoformat()
ALERTS_STATE = ".backup-keeper-alerts.json"
TASKS = {"F": "FullDBList", "I": "IncrementalDBList", "C": "CumuIncrDBList"}
KINDS = {"F": BackupKind.FULL, "I": BackupKind.INCREMENTAL, "C": BackupKind.CUMULATIVE}
LOG_DONE = f"Backup pass 1 complete\n{FINISHED_MARKER}\nBackup complete.\n".encode()
LOG_STOPPED = b"Starting backup pass 1\n*** Backup failed: disk full ***\n"
FOREIGN_LOG = "notes.log"
"""In every hostile directory: a log that belongs to no backup (the administrator's)."""
FORGED = "FORGED"
"""Text after a newline in a hostile name; a line of output starting with it is a forged row."""

OUTSIDE_FILES = {
    "victim.txt": b"never to be touched\n",
    "victim.log": LOG_DONE,
    "FullDBList_20261101_001.cbk": b"IRIS backup volume kept in another directory\n",
    "FullDBList_20261101_001.log": LOG_DONE,
    "state.json": b'{"sent": {}, "failing": {}}\n',
}
"""``base/outside``: what ``../outside/...``, absolute paths and symlinks point at."""


# --- the honest directory -------------------------------------------------------------------


@dataclass(frozen=True)
class Honest:
    """One honest backup: IRIS-named with its log, or ours with a sidecar and the log."""

    kind: Literal["F", "I", "C"]
    day: int
    """Day of November 2026 (honest backups are on days 1-17; hostile "newer" ones on 18-19)."""
    completed: bool
    sidecar: bool

    def name(self, index: int) -> str:
        day = f"202611{self.day:02d}"
        if self.sidecar:
            return f"backup-keeper_{day}T02{index:02d}00Z_{KINDS[self.kind].value}.cbk"
        return f"{TASKS[self.kind]}_{day}_{index + 1:03d}.cbk"


def write_honest(directory: Path, backups: tuple[Honest, ...]) -> list[str]:
    names = []
    for index, backup in enumerate(backups):
        name = backup.name(index)
        if backup.sidecar:
            started = datetime(2026, 11, backup.day, 2, index, tzinfo=UTC)
            write_sidecar_backup(
                directory,
                name,
                KINDS[backup.kind],
                started,
                BackupStatus.COMPLETED if backup.completed else BackupStatus.FAILED,
                iris_log=own_log(name),
                log=LOG_DONE if backup.completed else LOG_STOPPED,
            )
        else:
            task, day, nnn = name.removesuffix(".cbk").split("_")
            write_iris_backup(directory, task, day, int(nnn), finished=backup.completed)
        names.append(name)
    pin_mtimes(directory)
    return names


def write_sidecar_backup(
    directory: Path,
    name: str,
    kind: BackupKind,
    started: datetime,
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    iris_log: str | None = None,
    log: bytes | None = None,
    file: str | None = None,
) -> Path:
    """A backup as this tool writes it, with no instance (so it plans with IRIS-named ones);
    ``file`` and ``iris_log`` may name anything, as a crafted sidecar does."""
    content = f"backup volume {name}".encode(errors="surrogateescape")
    write_file(directory / name, content)
    manifest = Manifest(
        file=name if file is None else file,
        kind=kind,
        status=status,
        started=started,
        finished=started + timedelta(minutes=5),
        databases=["/usr/irissys/mgr/user/"],
        size=len(content),
        iris_log=iris_log,
        tool_version="0.1.0",
    )
    write_file(directory / f"{name}.json", manifest.model_dump_json(exclude_none=True).encode())
    if log is not None and iris_log is not None and "/" not in iris_log:
        write_file(directory / iris_log, log)
    return directory / name


def own_log(name: str) -> str:
    return name.removesuffix(".cbk") + ".log"


def own_files(name: str) -> tuple[str, ...]:
    """A backup's own companions: the only files that may go with it."""
    return (name, f"{name}.json", own_log(name))


# --- where a hostile element is put ---------------------------------------------------------


@dataclass
class Site:
    """The directories of one example, and what the hostile elements declared."""

    base: Path
    directory: Path
    honest: list[str]
    protected: set[str] = field(default_factory=set)
    """Names that are no backup of ours: never deleted, whatever else the directory holds."""
    unreadable: set[str] = field(default_factory=set)
    """Backups whose log cannot be read, and those logs: kept, whatever the rules say."""

    @property
    def outside(self) -> Path:
        return self.base / "outside"

    def honest_name(self, index: int) -> str:
        return self.honest[index % len(self.honest)]

    def resolve(self, ref: str) -> str:
        """``honest[i].cbk|.log|.json`` -> that honest backup's file; ``ABS`` -> the base
        directory's absolute path; anything else is taken literally."""
        if ref.startswith("honest[") and "]" in ref:
            index, _, suffix = ref[len("honest[") :].partition("]")
            name = self.honest_name(int(index))
            return {".cbk": name, ".log": own_log(name), ".json": f"{name}.json"}[suffix]
        if "honest[" in ref:
            head, _, tail = ref.partition("honest[")
            return head + self.resolve("honest[" + tail)
        return ref.replace("ABS", str(self.base))

    def outside_target(self, name: str) -> Path:
        return self.outside / name if name else self.base / "nowhere" / "dangling"


class Element(Protocol):
    replaces_honest: ClassVar[bool]

    def apply(self, site: Site, number: int) -> None: ...


@dataclass(frozen=True)
class PlantedIntent:
    """``.backup-keeper-purge.json`` as an interrupted purge would leave it, but planted.

    ``target`` is ``honest[i]`` (that backup, with its real size and mtime, so it passes the
    re-check) or ``ghost`` (a backup that is not there: only its companions are acted on).
    """

    entries: tuple[tuple[str, tuple[str, ...]], ...]
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        planted = []
        for target, companions in self.entries:
            if target == "ghost":
                name, size, mtime_ns = "FullDBList_20261005_777.cbk", 0, 0
            else:
                name = site.resolve(f"{target}.cbk")
                st = (site.directory / name).lstat()
                size, mtime_ns = st.st_size, st.st_mtime_ns
            planted.append(
                {
                    "name": name,
                    "size": size,
                    "mtime_ns": mtime_ns,
                    "companions": [site.resolve(c) for c in companions],
                }
            )
        intent = {
            "format": "backup-keeper-purge/1",
            "created": "2026-11-19T03:00:00Z",
            "entries": planted,
        }
        write_file(site.directory / INTENT_NAME, json.dumps(intent, indent=1).encode())


@dataclass(frozen=True)
class ForeignLogSidecar:
    """An old, completed, deletable full whose sidecar's ``iris_log`` names someone else's
    file: another backup's log, a foreign log in the directory, or one outside it."""

    iris_log: str
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        name = f"backup-keeper_20261020T02{number:02d}00Z_full.cbk"
        started = datetime(2026, 10, 20, 2, number, tzinfo=UTC)
        write_sidecar_backup(
            site.directory, name, BackupKind.FULL, started, iris_log=site.resolve(self.iris_log)
        )


@dataclass(frozen=True)
class ForeignFileSidecar:
    """A sidecar whose ``file`` names another file (an honest backup, one outside); beside a
    backup of its own, or alone (an orphan)."""

    file: str
    orphan: bool
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        name = f"backup-keeper_20261021T02{number:02d}00Z_full.cbk"
        started = datetime(2026, 10, 21, 2, number, tzinfo=UTC)
        write_sidecar_backup(
            site.directory, name, BackupKind.FULL, started, file=site.resolve(self.file)
        )
        if self.orphan:
            (site.directory / name).unlink()
            site.protected.add(f"{name}.json")
        else:
            site.protected.add(name)


DIGITS = {
    "fullwidth": "０１２３４５６７８９",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
}


@dataclass(frozen=True)
class OddDigits:
    """An IRIS default name, newer than any honest backup, spelled with non-ASCII digits, and a
    finished log beside it. IRIS writes ASCII: this is nobody's backup."""

    task: Literal["FullDBList", "IncrementalDBList"]
    digits: Literal["fullwidth", "arabic-indic", "devanagari"]
    where: Literal["date", "sequence", "both"]
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        table = str.maketrans("0123456789", DIGITS[self.digits])
        day, nnn = "20261119", f"{900 + number:03d}"
        if self.where in ("date", "both"):
            day = day.translate(table)
        if self.where in ("sequence", "both"):
            nnn = nnn.translate(table)
        name = f"{self.task}_{day}_{nnn}.cbk"
        write_file(site.directory / name, b"not an IRIS backup")
        write_file(site.directory / own_log(name), LOG_DONE)
        site.protected.update((name, own_log(name)))


@dataclass(frozen=True)
class NonUtf8Name:
    """A file whose name is not UTF-8 (carried with surrogate escapes)."""

    raw: bytes
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        name = os.fsdecode(self.raw)
        data = b'{"format": "backup-keeper/1"}' if name.endswith(".json") else LOG_DONE
        write_file(site.directory / name, data)
        site.protected.add(name)


@dataclass(frozen=True)
class ControlName:
    """A file whose name holds control characters; after a newline, text that would read as a
    row of its own."""

    name: str
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        write_file(site.directory / self.name, b"planted")
        site.protected.add(self.name)


@dataclass(frozen=True)
class OddDate:
    """An IRIS default name dated at the ends of the calendar, or on a day that does not exist."""

    name: str
    log: Literal["finished", "stopped", "none"]
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        write_file(site.directory / self.name, b"IRIS backup volume, oddly dated")
        if self.log != "none":
            text = LOG_DONE if self.log == "finished" else LOG_STOPPED
            write_file(site.directory / own_log(self.name), text)
        if "_0001" not in self.name:  # the future and the impossible are never deletable
            site.protected.add(self.name)


@dataclass(frozen=True)
class FutureSidecar:
    """A completed backup whose sidecar says it started in ``year``."""

    year: int
    kind: Literal["F", "I"]
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        name = f"backup-keeper_{self.year}1101T02{number:02d}00Z_{KINDS[self.kind].value}.cbk"
        started = datetime(self.year, 11, 1, 2, number, tzinfo=UTC)
        write_sidecar_backup(
            site.directory, name, KINDS[self.kind], started, iris_log=own_log(name), log=LOG_DONE
        )
        site.protected.add(name)


Thing = Literal["symlink", "fifo", "directory"]


@dataclass(frozen=True)
class NonRegularAt:
    """A symlink (to ``target`` outside, or dangling when empty), a FIFO or a directory, at:

    - ``new-full.log`` / ``new-full.cbk.json``: the log or sidecar of a newer IRIS-named full;
    - ``backup``: a name like an IRIS backup's;
    - the intent, the alert state, or a temporary name this tool writes (``.tmp-1``: the CLI
      runs as pid 1 of a pid namespace, so the name is the one it will pick).
    """

    thing: Thing
    at: str
    target: str = "victim.txt"
    replaces_honest: ClassVar[bool] = False

    def apply(self, site: Site, number: int) -> None:
        name = self.at
        if self.at.startswith("new-full"):
            backup = f"FullDBList_20261119_{950 + number:03d}.cbk"
            write_file(site.directory / backup, b"IRIS backup volume, newest of all")
            site.protected.add(backup)
            name = own_log(backup) if self.at.endswith(".log") else f"{backup}.json"
        elif self.at == "backup":
            name = f"FullDBList_20261118_{950 + number:03d}.cbk"
            site.protected.add(name)
        path = site.directory / name
        if path.exists() or path.is_symlink():
            return
        place(path, self.thing, site.outside_target(self.target))


def place(path: Path, thing: Thing, target: Path) -> None:
    if thing == "symlink":
        make_symlink(path, target)
    elif thing == "fifo":
        make_fifo(path)
    else:
        make_directory(path)


@dataclass(frozen=True)
class AtHonestCompanion:
    """An honest backup's log or sidecar replaced by a symlink, FIFO, directory, or garbage.

    Not additive: the honest plan no longer describes this directory, so only the invariants
    that hold whatever the directory holds are checked where it is used.
    """

    index: int
    companion: Literal["log", "sidecar"]
    thing: Literal["symlink", "fifo", "directory", "garbage", "empty"]
    replaces_honest: ClassVar[bool] = True

    def apply(self, site: Site, number: int) -> None:
        name = site.honest_name(self.index)
        path = site.directory / (own_log(name) if self.companion == "log" else f"{name}.json")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            return  # another element got there first
        path.unlink(missing_ok=True)
        if self.thing == "garbage":
            write_file(path, b"\xff\xfe{not json\x00")
        elif self.thing == "empty":
            write_file(path, b"")
        else:
            place(path, self.thing, site.outside / "victim.log")


FOREIGN_UID = 4242
"""A uid that is neither root nor the second user: the owner of a foreign-owned log."""


@dataclass(frozen=True)
class UnreadableLog:
    """An honest backup's IRIS log that the second user cannot read: mode 000 (its own file),
    or owned by another user with mode 0600. Root reads both, so the CLI must run as the
    second user for this to mean anything (``cli.SECOND_UID``)."""

    index: int
    how: Literal["mode-000", "foreign-owner"]
    replaces_honest: ClassVar[bool] = True

    def apply(self, site: Site, number: int) -> None:
        name = site.honest_name(self.index)
        log = site.directory / own_log(name)
        if self.how == "mode-000":
            log.chmod(0)
        else:
            os.chown(log, FOREIGN_UID, FOREIGN_UID)
            log.chmod(0o600)
        site.unreadable.update((name, own_log(name)))


def hand_over(site: Site, uid: int) -> None:
    """Give the directory under attack and its files to ``uid`` (a foreign-owned log stays
    foreign); everything else under the base stays root's."""
    os.chown(site.directory, uid, uid)
    for path in site.directory.iterdir():
        if path.lstat().st_uid == 0:
            os.chown(path, uid, uid, follow_symlinks=False)


# --- an example, built ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scene:
    honest: tuple[Honest, ...]
    hostile: tuple[Element, ...]
    timezone: str | None = "UTC"
    keep: tuple[str, ...] = ("--keep-last", "1", "--keep-daily", "3")
    directory_name: bytes = b"backups"


def build(base: Path, scene: Scene) -> Site:
    """Make ``scene`` real under ``base`` (see the module docstring for the layout)."""
    outside = base / "outside"
    outside.mkdir()
    for name, data in OUTSIDE_FILES.items():
        write_file(outside / name, data)
    write_file(base / "sibling.txt", b"right beside the directory under attack\n")
    honest_copy = base / "honest"
    honest_copy.mkdir()
    write_honest(honest_copy, scene.honest)
    directory = base / os.fsdecode(scene.directory_name)
    directory.mkdir()
    site = Site(base, directory, write_honest(directory, scene.honest))
    write_file(directory / FOREIGN_LOG, b"the administrator's own notes\n")
    site.protected.add(FOREIGN_LOG)
    for number, element in enumerate(scene.hostile):
        element.apply(site, number)
    return site


@dataclass(frozen=True)
class Expectation:
    """What the plan over the honest files alone decides, by file name."""

    kept: frozenset[str]
    """Backups the honest plan keeps, and their own companions (sidecar, log)."""

    @classmethod
    def from_dry_run(cls, report: dict[str, object], honest: Path) -> Expectation:
        """From ``purge --dry-run --json`` over the honest copy: the CLI's own answer, so the
        expectation follows the planner whatever its insides become."""
        entries = report["keep"]
        assert isinstance(entries, list), report
        kept = {Path(entry["path"]).name for entry in entries}
        present = {p.name for p in honest.iterdir()}
        return cls(frozenset(f for name in kept for f in own_files(name) if f in present))


def is_tool_state(name: str) -> bool:
    """Names the tool itself owns in a backup directory (intent, alert state, locks and their
    temporary files): they may appear, change or go."""
    return name.startswith(".backup-keeper") or name.endswith(".bk-tmp") or ".tmp-" in name
