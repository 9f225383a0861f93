"""The restore runner (inside IRIS, opt-in): the restore plan carried out through the port,
file by file in order, then optionally the journals. Never on a mirror primary. A failure half
way stops there and says exactly which files were restored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath

from backup_keeper.clock import Clock, system_clock
from backup_keeper.compression import decompressed_beside
from backup_keeper.iris.port import IrisPort
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.faults import describe_fault
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
    except Exception as exc:  # noqa: BLE001 - a job never raises: the report says what failed
        report.errors.append(describe_fault(exc))
        summary = f"restore failed: {report.errors[-1]}"
    report = lifecycle.end(report, clock=clock, summary=summary)
    tell(notifier, report)
    return report


def _run(settings: RestoreSettings, iris: IrisPort, report: JobReport) -> str:
    if iris.mirror().role == "primary":
        report.errors.append("refused: this is the mirror primary (restore on a copy instead)")
        return "restore refused on the mirror primary"
    plan = make_restore_plan(settings, now=report.started)
    report.restore = plan
    report.warnings += plan.warnings
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
    with decompressed_beside(path) as volume:
        yield volume


def _restore_files(
    settings: RestoreSettings, iris: IrisPort, report: JobReport, plan: RestorePlan
) -> str:
    """File by file; any failure (IRIS's, the disk's, a corrupt .zst) stops there and the
    report lists what was restored before it."""
    done: list[str] = []
    for number, item in enumerate(plan.files, start=1):
        try:
            with _readable_volume(Path(item.path)) as volume:
                iris.restore_backup(str(volume), settings.directory_map)
        except Exception as exc:  # noqa: BLE001 - reported with what was restored before it
            restored = ", ".join(done) or "none"
            report.errors.append(
                f"restore failed at file {number} of {len(plan.files)} "
                f"({PurePath(item.path).name}): {describe_fault(exc)}; restored before it: "
                f"{restored}. The target databases are in an intermediate state: restore "
                "again from the full."
            )
            return f"restore failed at file {number} of {len(plan.files)}"
        done.append(PurePath(item.path).name)
    if settings.apply_journals and plan.journal_start:
        try:
            iris.restore_journals(plan.journal_start, settings.directory_map)
        except Exception as exc:  # noqa: BLE001 - reported with what was restored before it
            report.errors.append(
                f"every file was restored ({', '.join(done)}), but applying the journals from "
                f"{plan.journal_start} failed: {describe_fault(exc)}"
            )
            return f"restored {len(done)} file(s); applying the journals failed"
    journals = f"; journals applied from {plan.journal_start}" if settings.apply_journals else ""
    return f"restored {len(done)} file(s){journals}"
