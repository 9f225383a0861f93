"""The verify of a destination: every stored backup read back and checked against the copy
record in its stored sidecar. Any finding fails the job (a ``verify-failed`` alert).

Why the copy record and not the backup's own checksum: the record holds the checksum of the
bytes as stored, so an encrypted copy is verified without any key and a compressed one without
decompressing; that is what a restore will prove again before it decrypts. Objects are read as
streams (bounded memory, whatever their size) with the copy job's patience for passing
trouble. Findings carry the local verify's labels: ``missing``, ``corrupt``, ``size
differs``, ``unreadable``, ``no copy record``, ``unreadable sidecar``, ``incomplete chain``.
"""

from __future__ import annotations

from collections import Counter

from backup_keeper.catalog.discover import Catalog
from backup_keeper.catalog.manifest import RemoteCopy
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.open import StoreOpener, open_destination
from backup_keeper.destinations.remote_settings import RemoteVerifySettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.jobs import lifecycle
from backup_keeper.notify import Notifier
from backup_keeper.offsite.pacing import Transfer, retrying
from backup_keeper.offsite.remote_catalog import discover_remote
from backup_keeper.offsite.stored_sidecars import StoredSidecars, object_name
from backup_keeper.offsite.streams import Tap, at_most
from backup_keeper.progress import NO_PROGRESS, Progress, Tally, step
from backup_keeper.report import JobReport, RecordEntry

_ORPHAN = "sidecar without its backup object"
_UNTRUSTED = "; its backup is treated as unmanaged"
"""How the remote catalog ends the warnings verify turns into findings of its own."""
_HASHED, _PROBLEM = "hashed", "problem"


def run_remote_verify(
    settings: RemoteVerifySettings,
    *,
    clock: Clock = system_clock,
    opener: StoreOpener = open_destination,
    notifier: Notifier | None = None,
    progress: Progress = NO_PROGRESS,
    transfer: Transfer | None = None,
) -> JobReport:
    """``progress`` counts the bytes read back: one bar whose total is the stored sizes of the
    backups verified. ``transfer`` paces reads and retries passing trouble (default: the copy
    job's)."""
    where = settings.where
    report = lifecycle.begin(
        "verify",
        clock=clock,
        directories=[where],
        options=settings.model_dump(mode="json", exclude={"destination", "instance"}),
    )
    return lifecycle.conclude(
        report,
        lambda: _reach(settings, report, opener, progress, transfer or Transfer()),
        clock=clock,
        notifier=notifier,
        what="verify",
    )


def _reach(
    settings: RemoteVerifySettings,
    report: JobReport,
    opener: StoreOpener,
    progress: Progress,
    transfer: Transfer,
) -> str:
    where = report.directories[0]
    try:
        store = opener(settings.destination, settings.instance)
    except DestinationError as exc:
        report.errors.append(f"{where}: {exc}")
        return "verify failed: destination not reached"
    try:
        return _verify(store, settings, report, progress, transfer)
    finally:
        store.close()


def _verify(
    store: RemoteStore,
    settings: RemoteVerifySettings,
    report: JobReport,
    progress: Progress,
    transfer: Transfer,
) -> str:
    where = report.directories[0]
    try:
        catalog = discover_remote(store, now=report.started)
    except DestinationError as exc:
        report.errors.append(f"{where}: cannot list the backups: {exc}")
        return "verify failed: destination not read"
    _catalog_findings(catalog, report)
    chosen = _sample([r for r in catalog.records if r.managed], settings.sample)
    reader = _Reader(store, StoredSidecars(store), transfer, report)
    tally: Counter[str] = Counter()
    with step(progress, "verify", sum(r.size for r in chosen), "bytes"):
        for record in chosen:
            hashed = Tally(progress)
            tally[reader.verify(record, hashed)] += 1
            hashed.top_up(record.size)
    unmanaged = [r for r in catalog.records if not r.managed]
    report.records += [RecordEntry.of(r, ("unmanaged, not verified",)) for r in unmanaged]
    return _summary(tally, len(unmanaged), len(report.errors))


def _catalog_findings(catalog: Catalog, report: JobReport) -> None:
    """A sidecar stored without its object, and a sidecar that cannot be trusted, are
    findings (as on disk); what else the catalog found odd stays a warning."""
    for warning in catalog.warnings:
        if warning.endswith(_ORPHAN):
            sidecar = warning.removesuffix(": " + _ORPHAN)
            report.errors.append(f"{sidecar}: missing: its sidecar is stored without its backup")
        elif warning.endswith(_UNTRUSTED):
            sidecar, _, why = warning.removesuffix(_UNTRUSTED).partition(": ")
            report.errors.append(
                f"{sidecar}: unreadable sidecar: {why}; its backup is unmanaged until it is fixed"
            )
        else:
            report.warnings.append(warning)


def _sample(records: list[BackupRecord], chains: int | None) -> list[BackupRecord]:
    """All records, or those of the ``chains`` newest chains (a full and what builds on it)."""
    if chains is None:
        return records
    chosen = set([r.path for r in records if r.kind.starts_chain][-chains:])
    return [r for r in records if r.path in chosen or (r.chain and r.chain[0] in chosen)]


class _Reader:
    """Reads stored objects back and says what is wrong with them."""

    def __init__(
        self, store: RemoteStore, sidecars: StoredSidecars, transfer: Transfer, report: JobReport
    ) -> None:
        self.store, self.sidecars, self.transfer, self.report = store, sidecars, transfer, report

    def verify(self, record: BackupRecord, hashed: Tally) -> str:
        """Check one managed stored backup, record what was found; its outcome for the tally."""
        findings = []
        copy = self.sidecars.copy_of(record)
        if isinstance(copy, str):
            findings.append(copy)
        elif copy.size != record.size:
            findings.append(
                f"size differs: {record.size} bytes stored, its copy record says {copy.size}"
            )
        else:
            problem = self._read_back(record, copy, hashed)
            if problem is not None:
                findings.append(problem)
        if record.status.usable and not record.chain_complete:
            findings.append(f"incomplete chain: {record.note or 'no full backup before it'}")
        self.report.errors += [f"{record.path}: {f}" for f in findings]
        self.report.records.append(RecordEntry.of(record, tuple(findings) or ("verified",)))
        return _PROBLEM if findings else _HASHED

    def _read_back(self, record: BackupRecord, copy: RemoteCopy, hashed: Tally) -> str | None:
        name = object_name(record)

        def attempt() -> Tap:
            tap = Tap(copy.checksum.algorithm)
            for chunk in tap.through(at_most(self.store.get(name), copy.size, name)):
                hashed.advance(len(chunk))
            return tap

        try:
            tap = retrying(attempt, self.transfer, f"reading {name}", self.report.warnings)
        except DestinationError as exc:
            if exc.kind == "not-found":
                return "missing: listed, but the destination no longer holds it"
            if exc.kind == "corrupt":
                return f"corrupt: {exc.message}"
            return f"unreadable: {exc}"
        if tap.size != copy.size:
            return f"corrupt: {tap.size} bytes read back, its copy record says {copy.size}"
        if tap.checksum() != copy.checksum:
            return (
                f"corrupt: the stored bytes' {copy.checksum.algorithm} checksum differs from "
                f"the copy record's (verified {copy.verified:%Y-%m-%d %H:%M} UTC)"
            )
        return None


def _summary(tally: Counter[str], unmanaged: int, problems: int) -> str:
    """Never "all intact" unless every stored backup was read back and matched."""
    checked = sum(tally.values())
    if checked == 0:
        head = "no stored backup verified" if problems or unmanaged else "nothing to verify"
    else:
        head = f"verified {checked} stored backup(s)"
    parts = []
    if problems:
        parts.append(f"{problems} problem(s)")
    elif checked:
        parts.append("all intact")
    elif not unmanaged:
        parts.append("no backup found")
    if unmanaged:
        parts.append(f"{unmanaged} unmanaged object(s), not verified")
    return f"{head}: {'; '.join(parts)}"
