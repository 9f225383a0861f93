"""IrisPort over the ObjectScript class ``BackupKeeper.Port`` (cls/BackupKeeper/Port.cls).

Both real adapters call the same class methods, each returning JSON, so an IRIS call and any
doubt about it live in one place (the .cls), and this module turns the JSON into typed results
the same way for both. The adapters differ only in how a class method is called.

An online backup runs in an IRIS process of its own (``StartBackup`` JOBs it), polled here with
short calls (``BackupResult``): the caller's IRIS process (embedded) or connection (Native) is
never busy for the hours a backup can take, so the job's watchdog can ask IRIS to abort it with
another short call instead of one made while the backup call is still running in the same process
or on the same connection (no public source says that works; docs/iris-ledger.md, section 1).
The poll and the abort share one guard, so they never overlap either.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from backup_keeper.iris import dbrest
from backup_keeper.iris.checkpoint import parse_checkpoint
from backup_keeper.iris.labels import label_time
from backup_keeper.iris.port import (
    DBACK_TYPES,
    BackupOutcome,
    DatabaseInfo,
    FreezeResult,
    InstanceInfo,
    IrisError,
    JournalFiles,
    JournalOutcome,
    JournalSettings,
    MirrorMember,
    MirrorState,
    RestoreOutcome,
    SensorValue,
    Severity,
    SizeEstimate,
    VolumeInfo,
)
from backup_keeper.iris.replies import (
    parse_backup_return,
    parse_dbsize,
    parse_journal_files,
    parse_journal_settings,
)
from backup_keeper.iris_formats.backup_history import HistoryEntry
from backup_keeper.kinds import BackupKind

log = logging.getLogger(__name__)

PORT_CLASS = "BackupKeeper.Port"
Call = Callable[..., object]
"""``call(method, *args)``: invoke ``BackupKeeper.Port.<method>(*args)``, return its value."""

DBSIZE_CODES = {BackupKind.FULL: 2, BackupKind.INCREMENTAL: 1, BackupKind.CUMULATIVE: 3}
"""``$$INT^DBSIZE`` codes (docs/iris-ledger.md). Unsure: 1 versus 3 (table order only)."""
POLL_SECONDS = 2.0
"""How often a running backup job is asked whether it is done."""
START_GRACE = 60.0
"""Seconds a started backup job may take to begin (to take its run lock) before it is given up."""
JOURNAL_LIST_BOUND = 20000
"""The most journal files ``JournalFilesJSON`` lists (newest first): years of hourly switches."""
ABORT_CODES = {0: "abort requested", 1: "no backup running", 2: "already aborting"}

_KINDS = {
    "full": BackupKind.FULL,
    "0": BackupKind.FULL,
    "incremental": BackupKind.INCREMENTAL,
    "1": BackupKind.INCREMENTAL,
    "cumulative incremental": BackupKind.CUMULATIVE,
    "cumulative": BackupKind.CUMULATIVE,
    "2": BackupKind.CUMULATIVE,
    "external": BackupKind.EXTERNAL,
}


class ClassPort:
    """The shared half of EmbeddedIris and NativeIris."""

    adapter_name = "class-port"

    def __init__(
        self,
        call: Call,
        *,
        poll_seconds: float = POLL_SECONDS,
        start_grace: float = START_GRACE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._call = call
        self._poll_seconds, self._start_grace, self._sleep = poll_seconds, start_grace, sleep
        self._backup_guard = threading.Lock()
        """Held for each poll of a running backup and for the abort: never two at once."""

    def _ask(self, method: str, *args: object) -> dict[str, Any]:
        raw = self._call(method, *args)
        if not isinstance(raw, str):
            raise IrisError(
                f"{PORT_CLASS}.{method} returned {type(raw).__name__}, not a JSON string: "
                "is backup-keeper installed in this namespace, and is this really IRIS?"
            )
        try:
            answer = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise IrisError(f"{PORT_CLASS}.{method} returned invalid JSON: {raw[:200]!r}") from exc
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error", raw) if isinstance(answer, dict) else raw
            raise IrisError(f"{PORT_CLASS}.{method}: {error}")
        return answer

    def instance(self) -> InstanceInfo:
        a = self._ask("InstanceJSON")
        return InstanceInfo(str(a["name"]), str(a["version"]), str(a["managerDirectory"]))

    def online_backup(
        self, kind: BackupKind, *, description: str, file: str, log_file: str, quiet_timeout: int
    ) -> BackupOutcome:
        letter = DBACK_TYPES.get(kind)
        if letter is None:
            raise IrisError(f"{kind} is not an online backup type")
        token = secrets.token_hex(16)
        with self._backup_guard:
            start = self._ask(
                "StartBackup", token, letter, description, file, log_file, quiet_timeout
            )
        if not start.get("started"):
            raise IrisError(f"{PORT_CLASS}.StartBackup could not start the backup job: {start}")
        a = self._wait_for(token, log_file)
        if a.get("error"):
            raise IrisError(f"$$BACKUP^DBACK failed in its job: {a['error']}")
        log_text = a.get("log")
        return parse_backup_return(
            a.get("value", ""), log_text if isinstance(log_text, str) else None
        )

    def _wait_for(self, token: str, log_file: str) -> dict[str, Any]:
        """The ``done`` answer of the run ``token``; IrisError when its job is lost."""
        began_by = time.monotonic() + self._start_grace
        while True:
            with self._backup_guard:
                a = self._ask("BackupResult", token, log_file)
            state = a.get("state")
            if state == "done":
                return a
            if state == "lost":
                raise IrisError(
                    f"the backup job (process {a.get('job') or '?'}) ended without a result"
                )
            if state == "" and time.monotonic() > began_by:
                raise IrisError(f"the backup job did not begin within {self._start_grace:g} s")
            if state not in ("", "running"):
                raise IrisError(f"{PORT_CLASS}.BackupResult answered an unknown state: {a}")
            self._sleep(self._poll_seconds)

    def abort_backup(self) -> None:
        with self._backup_guard:
            code = self._ask("AbortBackup").get("code")
        meaning = ABORT_CODES.get(int(str(code)) if str(code).isdigit() else -1, "unknown code")
        log.info("Backup.General.AbortBackup returned %s (%s)", code, meaning)

    def backup_database_list(self) -> list[str]:
        """Names, as ``AddDatabaseToList`` takes them back: a list that cannot be restored is
        refused before anything changes it."""
        return _database_names(self._ask("BackupListJSON")["databases"], "IRIS's backup list")

    def set_backup_database_list(self, databases: Sequence[str]) -> None:
        names = _database_names(databases, "the backup list to set")
        self._ask("SetBackupList", json.dumps(names))

    def databases(self) -> list[DatabaseInfo]:
        return [
            DatabaseInfo(
                directory=str(d["directory"]),
                name=str(d.get("name", "")),
                read_only=bool(d.get("readOnly")),
                journaled=bool(d.get("journaled", True)),
                needs_full=bool(d.get("needsFull")),
            )
            for d in self._ask("DatabasesJSON")["databases"]
        ]

    def size_estimate(self, kind: BackupKind) -> SizeEstimate:
        return parse_dbsize(self._ask("SizeEstimate", DBSIZE_CODES[kind])["value"])

    def backup_history(self) -> list[HistoryEntry]:
        """``Backup.Task:History``: its columns are known from no public source, so they are
        logged as IRIS names them, and every row that cannot be read is logged raw."""
        answer = self._ask("HistoryJSON")
        log.debug("Backup.Task:History columns: %s", ", ".join(map(str, answer.get("columns", []))))
        entries = []
        for row in answer.get("rows", []):
            entry = history_entry(row) if isinstance(row, dict) else None
            if entry is None:
                log.warning("Backup.Task:History row left out (no readable time or kind): %s", row)
            else:
                entries.append(entry)
        return entries

    def volume_info(self, file: str) -> VolumeInfo:
        a = self._ask("VolumeInfoJSON", file)
        info = a.get("info", {})
        kind = _KINDS.get(str(info.get("BackupType", "")).strip().lower())
        if kind is None:
            raise IrisError(f"{file}: not a backup volume IRIS can read ({a.get('value')!r})")
        date, time = str(info.get("BackupDate", "")), str(info.get("BackupTime", ""))
        return VolumeInfo(
            kind=kind,
            time=label_time(date, time, str(info.get("BackupTimeDH", ""))),
            time_text=f"{date.strip()} {time.strip()}".strip(),
            description=str(info.get("Description", "")),
            status=str(info.get("Status", "")),
            log_file=str(info.get("LogFile", "")),
            journal_file=str(info.get("JournalFile", "")),
            directories=tuple(str(d) for d in a.get("directories", [])),
        )

    def mirror(self) -> MirrorState:
        a = self._ask("MirrorJSON")
        return MirrorState(
            member=MirrorMember(int(a.get("member", 0))),
            primary=bool(a.get("primary")),
            backup=bool(a.get("backup")),
            name=str(a.get("name", "")),
        )

    def write_console_log(self, message: str, severity: Severity) -> None:
        self._ask("ConsoleLog", message, int(severity))

    def acquire_lock(self, name: str, timeout: float) -> bool:
        return bool(self._ask("Lock", name, timeout).get("acquired"))

    def release_lock(self, name: str) -> None:
        self._ask("Unlock", name)

    def external_freeze(
        self,
        *,
        log_file: str,
        text: str,
        freeze_timeout: int,
        wd_suspend_limit: int,
        sharded_namespace: str | None = None,
    ) -> FreezeResult:
        a = self._ask(
            "ExternalFreeze",
            log_file,
            text,
            freeze_timeout,
            wd_suspend_limit,
            sharded_namespace or "",
        )
        return FreezeResult(
            required_journal=str(a.get("requiredFile") or "") or None,
            checkpoint=parse_checkpoint(a.get("checkpoint")),
        )

    def external_thaw(self, *, log_file: str, sharded_namespace: str | None = None) -> None:
        self._ask("ExternalThaw", log_file, sharded_namespace or "")

    def is_frozen(self) -> bool:
        return bool(self._ask("IsFrozen")["frozen"])

    def external_set_history(self, *, log_file: str, description: str) -> None:
        self._ask("SetExternalHistory", log_file, description)

    def mirror_qos_timeout_ms(self) -> int | None:
        value = self._ask("MirrorQoS").get("qosMs")
        return int(value) if value not in (None, "") else None

    def freeze_marker(self) -> str | None:
        value = self._ask("FreezeMarker").get("marker")
        return str(value) if value else None

    def restore_backup(self, file: str, directory_map: Mapping[str, str]) -> RestoreOutcome:
        """EXTSELCT only: an empty map restores nothing, so IRIS is not even called."""
        if not directory_map:
            raise IrisError(f"nothing restored from {file}: the directory map is empty")
        a = self._ask("RestoreBackup", file, json.dumps(dict(directory_map)))
        output = a.get("output")
        outcome = dbrest.parse_output(
            a.get("code", ""), output if isinstance(output, str) else None
        )
        problem = dbrest.failure(outcome.code, file)
        if problem is not None:
            raise IrisError(problem)
        return outcome

    def restore_journals(
        self, first_file: str, *, select: Sequence[str], redirect: Mapping[str, str]
    ) -> JournalOutcome:
        """Refuses an empty selection here and in the class: Journal.Restore would replay every
        database of the files into its original directory."""
        if not select:
            raise IrisError(
                "journal restore refused: no database selected (Journal.Restore would replay "
                "every database in the journal files into its original directory)"
            )
        a = self._ask(
            "RestoreJournals", first_file, json.dumps(list(select)), json.dumps(dict(redirect))
        )
        return JournalOutcome(
            selected=tuple(str(d) for d in a.get("selected", [])),
            redirected={str(k): str(v) for k, v in (a.get("redirected") or {}).items()},
            journal_databases=tuple(str(d) for d in a.get("journalDatabases", [])),
        )

    def credentials_password(self, credentials_id: str) -> str:
        return str(self._ask("CredentialsJSON", credentials_id)["password"])

    def set_freeze_marker(self, marker: str | None) -> None:
        self._ask("SetFreezeMarker", marker or "")

    def journal_files(self) -> JournalFiles:
        """ByTimeReverseOrder's columns are in no source: read by position, their names
        logged (as for the backup history)."""
        answer = self._ask("JournalFilesJSON", JOURNAL_LIST_BOUND)
        columns = answer.get("columns", [])
        log.debug("%%SYS.Journal.File:ByTimeReverseOrder columns: %s", columns)
        return parse_journal_files(answer)

    def journal_settings(self) -> JournalSettings:
        return parse_journal_settings(self._ask("JournalSettingsJSON"))

    def publish_metrics(self, values: Sequence[SensorValue]) -> None:
        rows = [{"sensor": v.sensor, "value": v.value, "labels": dict(v.labels)} for v in values]
        self._ask("PublishMetrics", json.dumps(rows))


_DATABASE_NAME = re.compile(r"[!-~]{1,64}", re.ASCII)
"""A database name as ``AddDatabaseToList`` takes it: printable ASCII, no blank, and (below) no
path separator, so a directory can never pass for a name."""


def _database_names(entries: object, what: str) -> list[str]:
    if not isinstance(entries, list | tuple):
        raise IrisError(f"{what} is not a list: {entries!r}")
    for entry in entries:
        if (
            not isinstance(entry, str)
            or not _DATABASE_NAME.fullmatch(entry)
            or any(c in entry for c in "/\\:")
        ):
            raise IrisError(
                f"{what}: {entry!r} is not a database name (the list is edited by name, "
                "never by directory); nothing was changed"
            )
    return list(entries)


def history_entry(row: dict[str, Any]) -> HistoryEntry | None:
    """One row of ``Backup.Task:History``. Its column names are not documented
    (docs/iris-ledger.md, section 3): columns are matched by what their names contain, a start
    time before any other; a row without a readable time or kind is left out rather than
    guessed."""
    lowered = {str(k).lower(): v for k, v in row.items()}

    def pick(*words: str, avoid: tuple[str, ...] = ()) -> str:
        for key, value in lowered.items():
            if any(w in key for w in words) and not any(a in key for a in avoid):
                return str(value)
        return ""

    kind = _KINDS.get(re.sub(r"\s+backup$", "", pick("type").strip().lower()))
    stamp = pick("start") or pick("date", "time", avoid=("end", "finish", "stop"))
    when = _when(stamp) or _horolog(stamp)
    if kind is None or when is None:
        return None
    return HistoryEntry(
        time=when,
        kind=kind,
        status=pick("status"),
        device=pick("device", "file"),
        log_file=pick("log"),
        description=pick("desc"),
    )


_HOROLOG = re.compile(r"([0-9]{1,6}),([0-9]{1,5})(?:\.[0-9]+)?")
_HOROLOG_DAY_ZERO = datetime(1840, 12, 31)


def _horolog(text: str) -> datetime | None:
    """A ``$H`` value (``days,seconds``, day 1 = 1841-01-01), as IRIS may return a time."""
    m = _HOROLOG.fullmatch(text.strip())
    if m is None or int(m.group(2)) >= 86400:
        return None
    return _HOROLOG_DAY_ZERO + timedelta(days=int(m.group(1)), seconds=int(m.group(2)))


_ODBC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
_US = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _when(text: str) -> datetime | None:
    """An instance-local time as IRIS shows it (ODBC or US format); None when neither."""
    if m := _ODBC.search(text):
        return datetime.fromisoformat(m.group().replace(" ", "T"))
    if m := _US.search(text):
        return datetime.strptime(m.group(), "%m/%d/%Y %H:%M:%S")
    return None
