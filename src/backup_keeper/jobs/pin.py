"""The pin and unpin jobs: record in a backup's sidecar why no purge may remove it, and until
when; or take that record away. Reads as its steps: check the reason and the moment, find the
backup in the catalog, decide what the sidecar becomes, lock the directory against a purge,
re-read the sidecar, write it atomically.

Nothing else changes: no backup, no log, no network (``copy`` sends a changed sidecar on its
next run). A refusal changes nothing on disk and is marked ``options["refused"]`` so a door
answers "bad input" (exit 2) rather than "failed": a reason that is not one printable line, a
moment already past, a file the catalog does not manage (never deleted by a rule: a pin would
promise nothing; a sidecar that does not parse makes its backup unmanaged, and is never
overwritten).

A backup known only from IRIS's file name and log has no sidecar: pinning it writes one, built
from the catalog's facts (kind, day, status, size, chain parent, IRIS log) and the file's
checksum (as a backup job records it, so ``copy`` and ``verify`` can prove it), with the pin.
It then reads as a sidecar-described backup whose moment is the start of its day; the job first
checks that this changes no chain in the directory (a same-day sibling taken before it would
otherwise be ordered after it) and refuses when it would.
"""

from __future__ import annotations

import copy
import dataclasses
import getpass
import os
import stat
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path, PurePath

from pydantic import ValidationError

from backup_keeper import __version__
from backup_keeper.catalog.chains import link_chains
from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import Manifest, read_manifest, sidecar_path, write_manifest
from backup_keeper.catalog.pin import Pin, one_printable_line
from backup_keeper.catalog.record import BackupRecord, BackupStatus, RecordSource, TimePrecision
from backup_keeper.checksum import Checksum, file_checksum
from backup_keeper.clock import Clock, system_clock
from backup_keeper.integrity import sidecar_of
from backup_keeper.jobs import lifecycle
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.purge.lock import LockError, take_purge_locks
from backup_keeper.report import JobReport
from backup_keeper.safe_files import UnsafeName, check_bare_name
from backup_keeper.settings import PinSettings
from backup_keeper.timezones import format_moment, resolve_zone

REFUSED = "refused"
"""The key of ``options`` a refused run sets: bad input, nothing was done."""


class _Refusal(Exception):
    """Bad input found by the job: the message says why; nothing was changed."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    backup: Path
    """The path the sidecar is written beside (``X.cbk``; ``X.snapshot`` for a snapshot)."""
    record: BackupRecord
    described: bool
    """Whether a sidecar describes it (the catalog read it); else one is built for it."""


def run_pin(
    settings: PinSettings, *, clock: Clock = system_clock, progress: Progress = NO_PROGRESS
) -> JobReport:
    """Pin ``settings.file`` for ``settings.reason`` until ``settings.until`` (or until
    unpinned); pinning again replaces the reason and the moment. ``progress`` follows the
    checksum of a backup that had no sidecar (its new one describes it fully)."""
    return _run("pin", settings, clock, progress)


def run_unpin(settings: PinSettings, *, clock: Clock = system_clock) -> JobReport:
    """Take the pin off ``settings.file``; a backup that is not pinned is left as it is."""
    return _run("unpin", settings, clock, NO_PROGRESS)


def _run(job: str, settings: PinSettings, clock: Clock, progress: Progress) -> JobReport:
    report = lifecycle.begin(
        job,
        clock=clock,
        directories=[str(Path(settings.file).parent)],
        options={"timezone": settings.timezone, "file": settings.file},
    )
    try:
        summary = _pin(job, settings, report, progress)
    except _Refusal as exc:
        report.options[REFUSED] = True
        report.errors.append(str(exc))
        summary = "bad input: nothing was done"
    except (LockError, OSError, ValueError) as exc:
        report.errors.append(f"{settings.file}: {job} failed, the sidecar is unchanged: {exc}")
        summary = f"{job} failed: nothing was written"
    return lifecycle.end(report, clock=clock, summary=summary)


def _pin(job: str, settings: PinSettings, report: JobReport, progress: Progress) -> str:
    zone = resolve_zone(settings.timezone)
    now = report.started
    pin = _new_pin(settings, zone, now) if job == "pin" else None
    target = _find(Path(settings.file), zone)
    name = target.record.path
    old = target.record.pin
    if pin is None and old is None:
        return f"{name} is not pinned: nothing to do"
    hashed = None if target.described else _hashed(target.backup, progress)
    with take_purge_locks([target.backup.parent], wait=settings.lock_wait, shared=False):
        written, created = _write(target, pin, hashed)
    what = "written (the backup had none; built from the catalog's facts)" if created else "updated"
    report.checked.append(f"{written}: sidecar {what}")
    if pin is None:
        assert old is not None
        return f"unpinned {name} (was: {old.reason}); sidecar {written} rewritten"
    text = f"pinned {name}: {pin.reason}"
    text += f", until {format_moment(pin.until, zone)}" if pin.until else ", until unpinned"
    if old is not None:
        text += f" (replaced the pin: {old.reason})"
    return text + f"; sidecar {written} {what}"


def _new_pin(settings: PinSettings, zone: tzinfo, now: datetime) -> Pin:
    reason = settings.reason
    if reason is None:
        raise _Refusal("--reason is required: say why it must not be purged")
    try:
        one_printable_line(reason)
    except ValueError as exc:
        raise _Refusal(f"--reason: {exc}") from None
    until = _until(settings.until, zone) if settings.until is not None else None
    if until is not None and until <= now:
        raise _Refusal(
            f"--until: {format_moment(until, zone)} is already past "
            f"(now {format_moment(now, zone)}): such a pin would hold nothing"
        )
    try:
        return Pin(reason=reason, pinned=now, until=until, by=_user())
    except ValidationError as exc:
        raise _Refusal(f"pin: {exc.errors()[0]['msg']}") from None


def parse_until(text: str, zone: tzinfo) -> datetime:
    """``--until``: a date holds through that day in ``zone``; a moment without a zone is in
    ``zone``. ValueError for anything else."""
    if not text.isascii():
        raise ValueError(f"not an ISO 8601 date or moment: {text!r}")
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise ValueError(f"not an ISO 8601 date or moment: {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _until(text: str, zone: tzinfo) -> datetime:
    try:
        return parse_until(text, zone)
    except ValueError as exc:
        raise _Refusal(f"--until: {exc}") from None


def _user() -> str | None:
    """Who pinned it, when the OS says so in a name a table can show."""
    try:
        return one_printable_line(getpass.getuser(), 64)
    except (OSError, KeyError, ValueError):
        return None


def _find(file: Path, zone: tzinfo) -> _Target:
    """The backup ``file`` names, as the catalog of its directory sees it."""
    try:
        name = check_bare_name(file.name)
        directory = file.parent.resolve(strict=True)
    except (UnsafeName, OSError) as exc:
        raise _Refusal(f"{file}: not a backup file in a directory: {exc}") from None
    if not directory.is_dir():
        raise _Refusal(f"{file}: not a backup file in a directory")
    catalog = discover([directory], zone)
    paths = {f"{directory}/{name}", f"{directory}/{name}.zst"}
    found = [r for r in catalog.records if r.path in paths]
    if not found:
        raise _Refusal(f"{file}: no backup of that name in {directory}")
    return _target(found[0], catalog.records)


def _target(record: BackupRecord, records: list[BackupRecord]) -> _Target:
    if not record.managed:
        raise _Refusal(
            f"{record.path}: unmanaged ({record.note}): no purge rule ever deletes it, so a "
            "pin would change nothing"
        )
    if record.source is RecordSource.SIDECAR:
        sidecar, expected = sidecar_of(record.path)
        return _Target(sidecar.with_name(expected), record, described=True)
    if record.status is BackupStatus.UNREADABLE:
        raise _Refusal(
            f"{record.path}: its IRIS log cannot be read: no purge rule deletes it, and its "
            "status cannot be recorded"
        )
    _check_same_chains(record, records)
    return _Target(Path(record.path), record, described=False)


def _described(record: BackupRecord) -> BackupRecord:
    """``record`` as it reads once a sidecar built from it is beside it."""
    described = copy.copy(record)
    if record.status is BackupStatus.UNKNOWN:
        described.status = BackupStatus.COMPLETED
    described.source, described.precision = RecordSource.SIDECAR, TimePrecision.EXACT
    described.sequence, described.day = 0, None
    described.parent_name = PurePath(record.chain[-1]).name if record.chain else None
    return described


def _check_same_chains(record: BackupRecord, records: list[BackupRecord]) -> None:
    """Refuse a sidecar that would change what any backup of the directory needs."""
    before = {r.path: (r.chain, r.chain_complete) for r in records}
    again = [_described(r) if r.path == record.path else copy.copy(r) for r in records]
    after = {r.path: (r.chain, r.chain_complete) for r in link_chains(again)}
    if before != after:
        raise _Refusal(
            f"{record.path}: known only by IRIS's file name (day {record.day}): a sidecar "
            "written for it would order it before a backup taken earlier that day and change "
            "a chain; nothing was written"
        )


def _hashed(backup: Path, progress: Progress) -> tuple[Checksum, os.stat_result]:
    """The checksum of a backup that gets its first sidecar, as a backup job records it, and
    the file's state it was taken of. Taken before the purge lock, so a purge is not kept
    waiting while gigabytes are read; the write checks that the file did not change since."""
    before = backup.lstat()
    with step(progress, f"checksum {backup.name}", before.st_size, "bytes") as counted:
        checksum = file_checksum(backup, progress=counted)
    return checksum, before


def _write(
    target: _Target, pin: Pin | None, hashed: tuple[Checksum, os.stat_result] | None
) -> tuple[Path, bool]:
    """Under the purge lock: the sidecar as it is now, with ``pin``; (its path, created)."""
    st = _still_there(target.record.path)
    if hashed is not None:
        checksum, before = hashed
        if _state(st) != _state(before) or st.st_size != target.record.size:
            raise OSError("the backup changed while it was checksummed; run the command again")
        manifest = _built(target.record, pin, checksum)
        if sidecar_path(target.backup).exists():
            raise OSError("a sidecar appeared beside it meanwhile; run the command again")
        return write_manifest(target.backup, manifest), True
    fresh = read_manifest(sidecar_path(target.backup), expected_file=target.backup.name)
    return write_manifest(target.backup, fresh.model_copy(update={"pin": pin})), False


def _state(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _still_there(path: str) -> os.stat_result:
    st = Path(path).lstat()
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path} is no longer a regular file")
    return st


def _built(record: BackupRecord, pin: Pin | None, checksum: Checksum) -> Manifest:
    described = _described(record)
    log = next((PurePath(c).name for c in record.companions if c.endswith(".log")), None)
    return Manifest(
        file=PurePath(record.path).name,
        kind=record.kind,  # an IRIS name: full, incremental or cumulative
        status=described.status,  # never unknown nor unreadable here
        started=record.time,
        size=record.size,
        checksum=checksum,
        iris_log=log,
        instance=record.instance,
        chain_parent=described.parent_name,
        tool_version=__version__,
        pin=pin,
    )
