"""The restore runner (inside IRIS, opt-in): the restore plan carried out through the port,
file by file in order, then optionally the journals. Never on a mirror primary. A failure half
way stops there and says exactly which files were restored."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

import zstandard

from backup_keeper.clock import Clock, system_clock
from backup_keeper.compression import decompress_file
from backup_keeper.iris.port import IrisError, IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.restore_plan import make_restore_plan
from backup_keeper.notify import Notifier, tell
from backup_keeper.report import JobReport
from backup_keeper.restore.plan import RestorePlan
from backup_keeper.settings import RestoreSettings


def run_restore(
    settings: RestoreSettings,
    *,
    iris: IrisPort,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
) -> JobReport:
    report = lifecycle.begin(
        "restore",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name,
    )
    try:
        summary = _run(settings, iris, report)
    except (IrisError, OSError) as exc:
        report.errors.append(str(exc))
        summary = f"restore failed: {exc}"
    report = lifecycle.end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report


def _run(settings: RestoreSettings, iris: IrisPort, report: JobReport) -> str:
    if iris.mirror().role == "primary":
        report.errors.append("refused: this is the mirror primary (restore on a copy instead)")
        return "restore refused on the mirror primary"
    plan = make_restore_plan(settings)
    report.restore = plan
    if not plan.ok:
        report.errors += plan.problems
        return "nothing restorable: " + (plan.problems[0] if plan.problems else "no backups")
    if plan.fallback:
        report.warnings.append(plan.fallback)
    if any(f.kind == "external" for f in plan.files):
        report.errors.append(
            "the chain starts at a storage snapshot: restore it with its own tool (see the steps)"
        )
        return "restore not run: snapshot chain"
    return _restore_files(settings, iris, report, plan)


@contextmanager
def _readable_volume(path: Path) -> Iterator[Path]:
    """The .cbk ^DBREST can read: a compressed one is decompressed to a temporary file beside
    it first (zstd's frame checksum stops a corrupt one), removed afterwards."""
    if not path.name.endswith(".zst"):
        yield path
        return
    temp = path.with_name(f".{path.name.removesuffix('.zst')}.restore-{os.getpid()}")
    try:
        decompress_file(path, temp)
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def _restore_files(
    settings: RestoreSettings, iris: IrisPort, report: JobReport, plan: RestorePlan
) -> str:
    done: list[str] = []
    for number, item in enumerate(plan.files, start=1):
        try:
            with _readable_volume(Path(item.path)) as volume:
                iris.restore_backup(str(volume), settings.directory_map)
        except (IrisError, zstandard.ZstdError) as exc:
            restored = ", ".join(done) or "none"
            report.errors.append(
                f"restore failed at file {number} of {len(plan.files)} "
                f"({PurePath(item.path).name}): {exc}; restored before it: {restored}. The "
                "target databases are in an intermediate state: restore again from the full."
            )
            return f"restore failed at file {number} of {len(plan.files)}"
        done.append(PurePath(item.path).name)
    if settings.apply_journals and plan.journal_start:
        iris.restore_journals(plan.journal_start, settings.directory_map)
    journals = f"; journals applied from {plan.journal_start}" if settings.apply_journals else ""
    return f"restored {len(done)} file(s){journals}"
