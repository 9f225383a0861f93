"""The verify job: every managed backup re-hashed against its manifest, every chain complete,
and, where IRIS is reachable, every volume label agreeing with its manifest. Any finding fails
the job (a ``verify-failed`` alert)."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from pathlib import PurePath

from backup_keeper.catalog.discover import BACKUP_SUFFIX, dated_after_warnings, discover
from backup_keeper.catalog.record import BackupRecord
from backup_keeper.clock import Clock, system_clock
from backup_keeper.integrity import manifest_of, problem_with
from backup_keeper.iris.port import IrisError, IrisPort, IrisTimeout
from backup_keeper.jobs import lifecycle
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import JobReport, RecordEntry
from backup_keeper.settings import VerifySettings
from backup_keeper.timezones import resolve_zone

LABEL_TIME_TOLERANCE = timedelta(minutes=10)
"""The label holds when IRIS started writing the volume; the manifest, when the job started."""


def run_verify(
    settings: VerifySettings,
    *,
    iris: IrisPort | None = None,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
) -> JobReport:
    report = lifecycle.begin(
        "verify",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name if iris else None,
    )
    zone = resolve_zone(settings.timezone)
    try:
        catalog = discover(settings.directories, zone)
    except OSError as exc:
        report.errors.append(f"cannot read backups: {exc}")
        report = lifecycle.end(report, clock=clock, summary="verify failed: unreadable directory")
        tell(notifier, report)
        return report
    report.warnings += dated_after_warnings(catalog.records, report.started)
    report.errors += [
        w.replace("sidecar without its backup file", "missing from disk, still in the catalog")
        for w in catalog.warnings
        if w.endswith("sidecar without its backup file")
    ]
    chosen = _sample([r for r in catalog.records if r.managed], settings.sample)
    for record in chosen:
        try:
            findings = _findings(record, iris, report, zone)
        except IrisTimeout as exc:  # a hung IRIS: fail once, and stop asking it
            report.errors.append(f"IRIS: {exc}; volume labels not checked")
            iris = None
            findings = _findings(record, iris, report, zone)
        report.errors += [f"{record.path}: {f}" for f in findings]
        report.records.append(RecordEntry.of(record, tuple(findings) or ("verified",)))
    summary = f"verified {len(chosen)} backup(s): " + (
        f"{len(report.errors)} problem(s)" if report.errors else "all intact"
    )
    report = lifecycle.end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report


def _sample(records: list[BackupRecord], chains: int | None) -> list[BackupRecord]:
    """All records, or those of the ``chains`` newest chains (a full and what builds on it)."""
    if chains is None:
        return records
    fulls = [r.path for r in records if r.kind.starts_chain][-chains:]
    keep = set(fulls)
    return [r for r in records if r.path in keep or (r.chain and r.chain[0] in keep)]


def _findings(
    record: BackupRecord, iris: IrisPort | None, report: JobReport, zone: tzinfo
) -> list[str]:
    findings: list[str] = []
    problem = problem_with(record)
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
    if manifest and label.time is not None:
        started = manifest.started.astimezone(zone)
        label_time = label.time if label.time.tzinfo else label.time.replace(tzinfo=zone)
        if abs(label_time - started) > LABEL_TIME_TOLERANCE:
            findings.append(
                f"the volume label's date {label_time:%Y-%m-%d %H:%M} is not the manifest's "
                f"{started:%Y-%m-%d %H:%M}"
            )
    return findings
