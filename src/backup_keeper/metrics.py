"""What the backup directories say about backup health, as Prometheus metric families.

One set of names for every place an administrator looks: ``backup-keeper metrics`` (OpenMetrics
text, a node_exporter textfile, JSON) and IRIS's own ``/api/monitor/metrics``, where
``BackupKeeper.Metrics`` (PRODUCT ``backupkeeper``) copies the rows :func:`sensor_rows` gives
from a snapshot global. So one Grafana dashboard serves hosts with and without IRIS.

Building the families is pure (:func:`families`); :func:`collect_metrics` does the reading: the
catalog, the sidecars of the backups it found, the alert state (which jobs are failing and since
when) and what the last purge and verify left in each directory (last_run.py: bytes freed,
findings). A state file that is there but cannot be used leaves its metric out, with a warning
saying why: an unknown number is never shown as 0.

Sits with the effects (it reads the alerts' state file), though it changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from backup_keeper.alerts.history import STATE_NAME, load_history
from backup_keeper.catalog.discover import discover
from backup_keeper.catalog.manifest import SUFFIX, Manifest, ManifestError, read_manifest
from backup_keeper.catalog.record import ORDER_KEY, BackupRecord, BackupStatus, RecordSource
from backup_keeper.iris.port import SensorValue
from backup_keeper.kinds import BackupKind
from backup_keeper.last_run import LastPurge, LastVerify, read_last

PREFIX = "backupkeeper_"
"""IRIS prefixes an application's sensors with its PRODUCT and ``_`` (docs/iris-ledger.md,
SAM rows): the CLI uses the same names, lower case, so no conversion can apply."""
COMPLETED = (BackupStatus.COMPLETED, BackupStatus.WARNING)
"""What counts as "completed" here: IRIS said so. ``unknown`` (an IRIS file with no log) is
kept safe by the purge but is no proof that a backup ran."""
L = TypeVar("L", LastPurge, LastVerify)
KINDS = (BackupKind.FULL, BackupKind.CUMULATIVE, BackupKind.INCREMENTAL, BackupKind.EXTERNAL)


@dataclass(frozen=True, slots=True)
class Sample:
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class Family:
    """One gauge. ``name`` ends with its unit (``_seconds``, ``_bytes``) when it has one, as
    OpenMetrics requires of a family with a UNIT line."""

    name: str
    help: str
    unit: str = ""
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DirectoryFacts:
    """What was read about one directory: its records, the sidecars found for them (by record
    path), from the alert state the jobs failing and since when (by job name), and what the
    last purge and verify there left (None: none ran, or its file could not be used)."""

    directory: str
    records: Sequence[BackupRecord]
    sidecars: Mapping[str, Manifest] = field(default_factory=dict)
    failing: Mapping[str, datetime] = field(default_factory=dict)
    last_purge: LastPurge | None = None
    last_verify: LastVerify | None = None


@dataclass(frozen=True, slots=True)
class Collected:
    """The families, and why any of them lacks what it could have shown."""

    families: list[Family]
    warnings: list[str] = field(default_factory=list)


_SPECS: dict[str, tuple[str, str]] = {
    "last_backup_timestamp_seconds": (
        "seconds",
        "Unix time the newest completed backup of this kind finished (its start when no "
        "sidecar records the end).",
    ),
    "last_backup_size_bytes": ("bytes", "Size of the newest completed backup."),
    "last_backup_duration_seconds": (
        "seconds",
        "How long the newest completed backup took, from its sidecar (started to finished).",
    ),
    "last_freeze_window_seconds": (
        "seconds",
        "How long the instance was frozen for the newest external backup that records it.",
    ),
    "restorable_chains": (
        "",
        "Chains (a full or external backup and what builds on it) a restore can start from.",
    ),
    "unmanaged_files": (
        "",
        "Backup files no sidecar, IRIS log or IRIS file name describes: never purged by a rule.",
    ),
    "offsite_last_verified_timestamp_seconds": (
        "seconds",
        "Unix time the newest copy at this destination was last proved.",
    ),
    "offsite_lag_seconds": (
        "seconds",
        "Seconds the newest completed backup has waited for a copy to this destination when "
        "the metrics were taken (0: it is there).",
    ),
    "job_failing_since_timestamp_seconds": (
        "seconds",
        "Unix time this job began failing, from the alert state; a job not failing has no sample.",
    ),
    "last_purge_freed_bytes": (
        "bytes",
        "Bytes of the backups the last purge deleted in this directory (0: it deleted none).",
    ),
    "last_verify_findings": (
        "",
        "Problems the last verify found with the files of this directory (0: none).",
    ),
}
"""Each family's name (after the prefix), unit and HELP text, in output order."""


def families(facts: Iterable[DirectoryFacts], now: datetime) -> list[Family]:
    """The metric families for these directories at ``now``; a family with no sample (no
    external backup, no copy, no failing job) is left out."""
    out = {name: Family(PREFIX + name, text, unit) for name, (unit, text) in _SPECS.items()}
    for one in facts:
        for name, sample in _directory_samples(one, now):
            out[name].samples.append(sample)
    return [family for family in out.values() if family.samples]


def _directory_samples(facts: DirectoryFacts, now: datetime) -> Iterable[tuple[str, Sample]]:
    records = sorted(facts.records, key=ORDER_KEY)
    done = [r for r in records if r.managed and r.status in COMPLETED]
    base = (("directory", facts.directory), ("instance", _instance(records)))
    for kind in KINDS:
        newest = next((r for r in reversed(done) if r.kind is kind), None)
        if newest is not None:
            when = _finished(newest, facts.sidecars.get(newest.path))
            yield "last_backup_timestamp_seconds", Sample((*base, ("kind", kind.value)), when)
    yield from _last_backup(done, facts.sidecars, base)
    yield from _freeze_window(done, facts.sidecars, base)
    chains = sum(1 for r in records if r.kind.starts_chain and r.restorable)
    yield "restorable_chains", Sample(base, chains)
    yield "unmanaged_files", Sample(base, sum(1 for r in records if not r.managed))
    yield from _offsite(done, facts.sidecars, base, now)
    for job, since in sorted(facts.failing.items()):
        labels = (*base, ("job", job))
        yield "job_failing_since_timestamp_seconds", Sample(labels, since.timestamp())
    if facts.last_purge is not None:
        yield "last_purge_freed_bytes", Sample(base, facts.last_purge.freed_bytes)
    if facts.last_verify is not None:
        yield "last_verify_findings", Sample(base, facts.last_verify.findings)


def _instance(records: Sequence[BackupRecord]) -> str:
    """The instance the newest record names; "" (no label value) when none does."""
    return next((r.instance for r in reversed(records) if r.instance), "")


def _finished(record: BackupRecord, sidecar: Manifest | None) -> float:
    if sidecar is not None and sidecar.finished is not None:
        return sidecar.finished.timestamp()
    return record.time.timestamp()


Labels = tuple[tuple[str, str], ...]


def _last_backup(
    done: Sequence[BackupRecord], sidecars: Mapping[str, Manifest], base: Labels
) -> Iterable[tuple[str, Sample]]:
    if not done:
        return
    newest = done[-1]
    sidecar = sidecars.get(newest.path)
    size = sidecar.size if sidecar is not None else newest.size
    yield "last_backup_size_bytes", Sample(base, size)
    if sidecar is not None and sidecar.finished is not None:
        took = (sidecar.finished - sidecar.started).total_seconds()
        yield "last_backup_duration_seconds", Sample(base, max(took, 0.0))


def _freeze_window(
    done: Sequence[BackupRecord], sidecars: Mapping[str, Manifest], base: Labels
) -> Iterable[tuple[str, Sample]]:
    for record in reversed(done):
        sidecar = sidecars.get(record.path)
        if record.kind is BackupKind.EXTERNAL and sidecar and sidecar.freeze_window_ms is not None:
            yield "last_freeze_window_seconds", Sample(base, sidecar.freeze_window_ms / 1000)
            return


def _offsite(
    done: Sequence[BackupRecord], sidecars: Mapping[str, Manifest], base: Labels, now: datetime
) -> Iterable[tuple[str, Sample]]:
    """Per destination any sidecar here names: when its newest copy was proved, and how long
    the newest completed backup has waited for one."""
    verified: dict[str, datetime] = {}
    for record in done:
        for copy in sidecars[record.path].copies if record.path in sidecars else ():
            seen = verified.get(copy.destination)
            verified[copy.destination] = copy.verified if seen is None else max(seen, copy.verified)
    if not verified:
        return
    newest = done[-1]
    there = (
        {c.destination for c in sidecars[newest.path].copies} if newest.path in sidecars else set()
    )
    waited = max(now.timestamp() - _finished(newest, sidecars.get(newest.path)), 0.0)
    for destination in sorted(verified):
        labels = (*base, ("destination", destination))
        yield (
            "offsite_last_verified_timestamp_seconds",
            Sample(labels, verified[destination].timestamp()),
        )
        yield "offsite_lag_seconds", Sample(labels, 0.0 if destination in there else waited)


def collect_metrics(
    directories: Sequence[Path], zone: tzinfo, now: datetime, *, alert_state: Path | None = None
) -> Collected:
    """Read the directories (catalog, sidecars, alert state, last runs) and build their
    families. ``alert_state``: the state file the alert settings name; its failing jobs are
    the first directory's, where the notifier would keep them by default. Without it each
    directory's own state file (its default place) is read. OSError when a directory cannot be
    listed, as the catalog raises it."""
    catalog = discover(directories, zone, now=now)
    by_directory: dict[str, list[BackupRecord]] = {str(d): [] for d in directories}
    for record in catalog.records:
        by_directory.setdefault(record.path.rpartition("/")[0], []).append(record)
    warnings: list[str] = []
    facts = [
        DirectoryFacts(
            directory=directory,
            records=records,
            sidecars=read_sidecars(records),
            failing=_failing(Path(directory), alert_state, first=n == 0, warnings=warnings),
            last_purge=_last(Path(directory), LastPurge, "last_purge_freed_bytes", warnings),
            last_verify=_last(Path(directory), LastVerify, "last_verify_findings", warnings),
        )
        for n, (directory, records) in enumerate(by_directory.items())
    ]
    return Collected(families(facts, now), warnings)


def _failing(
    directory: Path, alert_state: Path | None, *, first: bool, warnings: list[str]
) -> dict[str, datetime]:
    if alert_state is None:
        return failing_jobs(directory / STATE_NAME, warnings)
    return failing_jobs(alert_state, warnings) if first else {}


def _last(directory: Path, model: type[L], name: str, warnings: list[str]) -> L | None:
    state, problem = read_last(directory, model)
    if problem is not None:
        warnings.append(f"{directory / model.NAME}: {problem}; {PREFIX}{name} is left out")
    return state


def read_sidecars(records: Iterable[BackupRecord]) -> dict[str, Manifest]:
    """The sidecar of each record the catalog built from one; one that no longer reads (gone
    or changed since) is left out, as the catalog has already warned or will next time."""
    out: dict[str, Manifest] = {}
    for record in records:
        if record.source is not RecordSource.SIDECAR:
            continue
        path, described = _sidecar_of(record.path)
        try:
            out[record.path] = read_manifest(path, expected_file=described)
        except ManifestError:
            continue
    return out


def _sidecar_of(path: str) -> tuple[str, str]:
    """(sidecar path, the file it describes) for a ``.cbk``, a ``.cbk.zst`` or a snapshot
    record (which is its own sidecar)."""
    directory, _, name = path.rpartition("/")
    if name.endswith(SUFFIX):
        return path, name.removesuffix(SUFFIX)
    original = name.removesuffix(".zst")
    return f"{directory}/{original}{SUFFIX}", original


def failing_jobs(state: Path, warnings: list[str]) -> dict[str, datetime]:
    """The jobs the alert state file ``state`` records as failing, by job name. The state keys
    are ``<instance>/<job>``. A file that is there but cannot be used gives none, as it gives
    the notifier a fresh start, and a warning says why."""
    history, problem = load_history(state)
    if problem is not None:
        warnings.append(
            f"{state}: {problem}; {PREFIX}job_failing_since_timestamp_seconds is left out"
        )
    return {key.rpartition("/")[2]: since for key, since in history.failing.items()}


def openmetrics_text(found: Sequence[Family]) -> str:
    """OpenMetrics text exposition, ending with ``# EOF``."""
    lines: list[str] = []
    for family in found:
        lines.append(f"# TYPE {family.name} gauge")
        if family.unit:
            lines.append(f"# UNIT {family.name} {family.unit}")
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines += [_sample_line(family.name, sample) for sample in family.samples]
    return "\n".join([*lines, "# EOF"]) + "\n"


def textfile_text(found: Sequence[Family]) -> str:
    """The classic Prometheus text format node_exporter's textfile collector reads (no UNIT
    line, no ``# EOF``)."""
    lines: list[str] = []
    for family in found:
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} gauge")
        lines += [_sample_line(family.name, sample) for sample in family.samples]
    return "\n".join(lines) + "\n"


def metrics_json(found: Sequence[Family], now: datetime) -> str:
    """One JSON object: when, and each family with its samples."""
    return json.dumps(
        {
            "generated": now.isoformat(),
            "metrics": [_family_dict(family) for family in found],
        },
        indent=2,
    )


def _family_dict(family: Family) -> dict[str, Any]:
    return {
        "name": family.name,
        "type": "gauge",
        "unit": family.unit,
        "help": family.help,
        "samples": [{"labels": dict(s.labels), "value": s.value} for s in family.samples],
    }


def sensor_rows(found: Sequence[Family]) -> list[SensorValue]:
    """The rows IRIS's monitor shows, for the snapshot ``BackupKeeper.Metrics`` reads."""
    return [
        SensorValue(family.name.removeprefix(PREFIX), float(sample.value), dict(sample.labels))
        for family in found
        for sample in family.samples
    ]


def _sample_line(name: str, sample: Sample) -> str:
    labels = ",".join(f'{key}="{_escape_label(value)}"' for key, value in sample.labels)
    return f"{name}{{{labels}}} {_number(sample.value)}"


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value == int(value)):
        return str(int(value))
    return repr(float(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return _escape(text).replace('"', '\\"')
