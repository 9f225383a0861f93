"""The verify job: every managed backup re-hashed against its manifest, every chain complete,
and, where IRIS is reachable, every volume label agreeing with its manifest. Any finding fails
the job (a ``verify-failed`` alert).

Every backup file and every sidecar is accounted for: a sidecar that does not parse (or names
another file, or is not a readable regular file) is a finding, as is a sidecar whose backup is
gone; an unmanaged file is listed with why. A backup with no recorded checksum (an IRIS-named
file without a sidecar, a manifest without ``checksum``) is "not verifiable: no checksum": that
alone does not fail the job, as nothing is known to be wrong, but the summary then never says
"all intact" — it says how many were hashed and how many could not be."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta, tzinfo
from pathlib import Path, PurePath

from backup_keeper.catalog.discover import (
    BACKUP_SUFFIX,
    SNAPSHOT_RECORD_SUFFIX,
    dated_after_warnings,
    discover,
)
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.integrity import broken_manifest, check, manifest_of
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.catalog import instance_history
from backup_keeper.last_run import record_verify
from backup_keeper.notify import Notifier, tell
from backup_keeper.progress import NO_PROGRESS, Progress, Tally, step
from backup_keeper.report import JobReport, RecordEntry
from backup_keeper.settings import VerifySettings
from backup_keeper.timezones import format_moment, resolve_zone

LABEL_TIME_TOLERANCE = timedelta(minutes=10)
"""The label holds when IRIS started writing the volume; the manifest, when the job started."""
NO_CHECKSUM = "not verifiable: no checksum"
NOT_HERE = "not verifiable here: a snapshot lives in its storage system"
_ORPHAN = "sidecar without its backup file"
_UNMANAGED_BY_MANIFEST = "treated as unmanaged"
"""How the catalog ends the warnings verify turns into findings of its own."""
_HASHED, _NO_CHECKSUM, _SNAPSHOT, _PROBLEM = "hashed", "no-checksum", "snapshot", "problem"


def run_verify(
    settings: VerifySettings,
    *,
    iris: IrisPort | None = None,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
    progress: Progress = NO_PROGRESS,
) -> JobReport:
    """``progress`` counts the files catalogued, then the bytes re-hashed: one bar for every
    backup verified, whose total is their sizes on disk."""
    report = lifecycle.begin(
        "verify",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name if iris else None,
    )
    zone = resolve_zone(settings.timezone)
    history = instance_history(iris, report)
    try:
        catalog = discover(settings.directories, zone, history=history, progress=progress)
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        report = lifecycle.end(report, clock=clock, summary="verify failed: unreadable directory")
        tell(notifier, report)
        return report
    report.warnings += dated_after_warnings(catalog.records, report.started, zone)
    for warning in catalog.warnings:
        if warning.endswith(_ORPHAN):
            report.errors.append(
                warning.replace(_ORPHAN, "missing from disk, still in the catalog")
            )
        elif not warning.endswith(_UNMANAGED_BY_MANIFEST):  # a finding of its own, below
            report.warnings.append(warning)
    chosen = _sample([r for r in catalog.records if r.managed], settings.sample)
    tally: Counter[str] = Counter()
    with step(progress, "verify", sum(r.size for r in chosen), "bytes"):
        for record in chosen:
            hashed = Tally(progress)
            try:
                tally[_verify_record(record, iris, report, zone, hashed)] += 1
            except IrisTimeout as exc:  # a hung IRIS: fail once, and stop asking it
                report.errors.append(f"IRIS: {exc}; volume labels not checked")
                iris = None
                tally[_verify_record(record, iris, report, zone, hashed)] += 1
            hashed.top_up(record.size)
    unmanaged = [r for r in catalog.records if not r.managed]
    _account_for_unmanaged(unmanaged, report)
    report.warnings += record_verify(settings.directories, report.errors)
    summary = _summary(tally, len(unmanaged), len(report.errors))
    report = lifecycle.end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report


def _verify_record(
    record: BackupRecord, iris: IrisPort | None, report: JobReport, zone: tzinfo, hashed: Tally
) -> str:
    """Check one managed backup, record what was found; return its outcome for the tally."""
    checked = check(record, progress=hashed)
    findings = _findings(record, checked.problem, iris, report, zone)
    report.errors += [f"{record.path}: {f}" for f in findings]
    if findings:
        outcome, reasons = _PROBLEM, tuple(findings)
    elif checked.hashed:
        outcome, reasons = _HASHED, ("verified",)
    elif record.path.endswith(SNAPSHOT_RECORD_SUFFIX):
        outcome, reasons = _SNAPSHOT, (NOT_HERE,)
    else:
        outcome, reasons = _NO_CHECKSUM, (NO_CHECKSUM,)
    report.records.append(RecordEntry.of(record, reasons))
    return outcome


def _account_for_unmanaged(records: list[BackupRecord], report: JobReport) -> None:
    """List each unmanaged file with why; a sidecar beside it that cannot be trusted is a
    finding (once, though a .cbk and its .zst may share it)."""
    broken: set[Path] = set()
    for record in records:
        report.records.append(RecordEntry.of(record, ("unmanaged, not verified",)))
        found = broken_manifest(record)
        if found is not None and found[0] not in broken:
            sidecar, why = found
            broken.add(sidecar)
            name = PurePath(record.path).name
            report.errors.append(
                f"{sidecar}: broken manifest: {why}; {name} is unmanaged until it is fixed"
            )


def _summary(tally: Counter[str], unmanaged: int, problems: int) -> str:
    """Never "all intact" unless every backup was hashed against its checksum."""
    hashed, checked = tally[_HASHED], sum(tally.values())
    unverifiable = tally[_NO_CHECKSUM] + tally[_SNAPSHOT]
    if checked == 0:
        head = "no backup verified" if problems or unmanaged else "nothing to verify"
    elif unverifiable == 0:
        head = f"verified {checked} backup(s)"
    elif hashed == 0:
        head = f"none of {checked} backup(s) verified by checksum"
    else:
        head = f"verified {hashed} of {checked} backup(s) by checksum"
    parts = []
    if problems:
        parts.append(f"{problems} problem(s)")
    elif hashed:
        parts.append("intact" if unverifiable else "all intact")
    elif checked == 0 and not unmanaged:
        parts.append("no backup found")
    if tally[_NO_CHECKSUM]:
        parts.append(f"{tally[_NO_CHECKSUM]} not verifiable (no checksum)")
    if tally[_SNAPSHOT]:
        parts.append(f"{tally[_SNAPSHOT]} snapshot record(s) not verifiable here")
    if unmanaged:
        parts.append(f"{unmanaged} unmanaged file(s), not verified")
    return f"{head}: {'; '.join(parts)}"


def _sample(records: list[BackupRecord], chains: int | None) -> list[BackupRecord]:
    """All records, or those of the ``chains`` newest chains (a full and what builds on it)."""
    if chains is None:
        return records
    fulls = [r.path for r in records if r.kind.starts_chain][-chains:]
    keep = set(fulls)
    return [r for r in records if r.path in keep or (r.chain and r.chain[0] in keep)]


def _findings(
    record: BackupRecord,
    problem: str | None,
    iris: IrisPort | None,
    report: JobReport,
    zone: tzinfo,
) -> list[str]:
    findings: list[str] = []
    if problem is not None:
        findings.append(problem)
    if record.status.usable and not record.chain_complete:
        findings.append(f"incomplete chain: {record.note or 'no full backup before it'}")
    if iris is not None and record.path.endswith(BACKUP_SUFFIX) and problem is None:
        findings += _label_findings(record, iris, report, zone)
    return findings


def _label_findings(
    record: BackupRecord, iris: IrisPort, report: JobReport, zone: tzinfo
) -> list[str]:
    try:
        label = iris.volume_info(record.path)
    except IrisTimeout:
        raise
    except IrisError as exc:
        report.warnings.append(f"{PurePath(record.path).name}: volume label not read: {exc}")
        return []
    findings = []
    if label.kind is not record.kind:
        findings.append(f"the volume label says {label.kind}, the catalog {record.kind}")
    manifest = manifest_of(record)
    if manifest and label.status.lower() in ("failed", "aborted"):
        findings.append(f"IRIS's history says {label.status}, the manifest {manifest.status}")
    if manifest and label.time is None:
        report.warnings.append(
            f"{PurePath(record.path).name}: the volume label's date {label.time_text!r} is in no "
            "form IRIS documents; the label's time was not checked"
        )
    if manifest and label.time is not None:
        started = manifest.started.astimezone(zone)
        label_time = label.time if label.time.tzinfo else label.time.replace(tzinfo=zone)
        if abs(label_time - started) > LABEL_TIME_TOLERANCE:
            findings.append(
                f"the volume label's date {format_moment(label_time, zone)} is not the "
                f"manifest's {format_moment(started, zone)}"
            )
    return findings
