"""The restore runner (inside IRIS, opt-in): the restore plan carried out through the port,
file by file in order with nothing applied between them, then optionally the journals. Never on
a mirror primary. A failure half way stops there and says exactly which files were restored.

What is restored is what the map names, as ``EXTSELCT^DBREST`` reads it: no map restores
nothing (refused, rather than everything); a map onto IRISSYS, IRISAUDIT or IRISSECURITY is
refused; the journal restore selects exactly the databases every file restored, redirects the
mapped ones, and never touches another (iris-ledger.md sections 4 and 5)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePath

from backup_keeper.clock import Clock, system_clock
from backup_keeper.compression import decompressed_beside
from backup_keeper.iris import dbrest
from backup_keeper.iris.port import IrisPort, RestoreOutcome
from backup_keeper.jobs import lifecycle
from backup_keeper.jobs.catalog import instance_history
from backup_keeper.jobs.faults import describe_fault
from backup_keeper.jobs.restore_plan import make_restore_plan
from backup_keeper.notify import Notifier
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.report import JobReport, RestorePlan
from backup_keeper.settings import RestoreSettings

log = logging.getLogger(__name__)


def run_restore(
    settings: RestoreSettings,
    *,
    iris: IrisPort,
    notifier: Notifier | None = None,
    clock: Clock = system_clock,
    progress: Progress = NO_PROGRESS,
) -> JobReport:
    """``progress`` hears of each file decompressed, then of each wait for ^DBREST."""
    report = lifecycle.begin(
        "restore",
        clock=clock,
        directories=[str(d) for d in settings.directories],
        options=settings.model_dump(mode="json", exclude={"directories"}),
        iris=iris.adapter_name,
    )
    return lifecycle.conclude(
        report,
        lambda: _run(settings, iris, report, progress),
        clock=clock,
        notifier=notifier,
        what="restore",
    )


def _run(settings: RestoreSettings, iris: IrisPort, report: JobReport, progress: Progress) -> str:
    if iris.mirror().role == "primary":
        report.errors.append("refused: this is the mirror primary (restore on a copy instead)")
        return "restore refused on the mirror primary"
    history = instance_history(iris, report)
    if report.errors:  # a chain a foreign backup broke must never be restored unseen
        return "restore not run: the instance's backup history could not be read"
    plan = make_restore_plan(settings, now=report.started, history=history)
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
    problems = _map_problems(settings.directory_map, plan, iris.instance().manager_directory)
    if problems:
        report.errors += problems
        return "restore refused: " + problems[0]
    return _restore_files(settings, iris, report, plan, progress)


def _map_problems(
    directory_map: Mapping[str, str], plan: RestorePlan, manager_directory: str
) -> list[str]:
    """Why this map may not be restored, before any file: ^DBREST restores only what the map
    names, so an empty map would restore nothing; system databases are never overwritten; a
    source the backup does not hold would restore nothing while looking done."""
    if not directory_map:
        return [
            "nothing to restore: no --map given. ^DBREST (EXTSELCT) restores only the databases "
            "the map names: give --map SOURCE=TARGET for each database to restore "
            "(SOURCE=SOURCE restores it in place)"
        ]
    problems = dbrest.in_place_refusals(directory_map, manager_directory)
    held = {dbrest.canonical(d) for d in plan.databases}
    for source in directory_map:
        if held and dbrest.canonical(source) not in held:
            problems.append(
                f"--map {source}: not a database of this backup (it holds "
                f"{', '.join(sorted(held))})"
            )
    return problems


@contextmanager
def _readable_volume(path: Path, progress: Progress) -> Iterator[Path]:
    """The .cbk ^DBREST can read: a compressed one is decompressed to a temporary file beside
    it first (zstd's frame checksum stops a corrupt one), removed afterwards."""
    if not path.name.endswith(".zst"):
        yield path
        return
    with ExitStack() as stack:
        with step(progress, f"decompress {path.name}", path.stat().st_size, "bytes") as counted:
            volume = stack.enter_context(decompressed_beside(path, progress=counted))
        yield volume


def _restore_files(
    settings: RestoreSettings,
    iris: IrisPort,
    report: JobReport,
    plan: RestorePlan,
    progress: Progress,
) -> str:
    """File by file, nothing applied between them (an incremental needs the databases exactly
    as the file before it left them); any failure (IRIS's, the disk's, a corrupt .zst) stops
    there and the report lists what was restored before it."""
    done: list[str] = []
    unread = False
    restored_by_all = {dbrest.canonical(s): t for s, t in settings.directory_map.items()}
    for number, item in enumerate(plan.files, start=1):
        name = PurePath(item.path).name
        try:
            with (
                _readable_volume(Path(item.path), progress) as volume,
                step(progress, f"IRIS restoring {name}", None, "bytes"),
            ):
                outcome = iris.restore_backup(str(volume), settings.directory_map)
        except Exception as exc:  # noqa: BLE001 - reported with what was restored before it
            restored = ", ".join(done) or "none"
            report.errors.append(
                f"restore failed at file {number} of {len(plan.files)} "
                f"({name}): {describe_fault(exc)}; restored before it: "
                f"{restored}. The target databases are in an intermediate state: restore "
                "again from the full."
            )
            return f"restore failed at file {number} of {len(plan.files)}"
        done.append(name)
        unread = unread or not outcome.output_read
        report.checked.append(_describe(number, name, outcome))
        log.info("%s", report.checked[-1])
        missing = _not_restored(outcome, settings.directory_map)
        for source in missing:
            restored_by_all.pop(source, None)
        if missing:
            report.warnings.append(
                f"{name}: ^DBREST did not restore {', '.join(missing)}, which the map names "
                "(on a mirror backup failover member it skips active or newer mirrored "
                "databases); those databases are left out of the journal restore"
            )
    if unread:
        report.warnings.append(
            "^DBREST's output could not be read: which databases it restored is taken from the map"
        )
    if settings.apply_journals and plan.journal_start:
        failed = _apply_journals(plan.journal_start, restored_by_all, iris, report, done)
        if failed:
            return failed
    journals = f"; journals applied from {plan.journal_start}" if settings.apply_journals else ""
    return f"restored {len(done)} file(s){journals}"


def _describe(number: int, name: str, outcome: RestoreOutcome) -> str:
    """The raw reply, kept: ^DBREST's success value is unverified (iris-ledger.md section 4)."""
    into = ", ".join(f"{s} -> {t}" for s, t in outcome.restored.items()) or "none shown"
    skipped = f"; skipped {', '.join(outcome.skipped)}" if outcome.skipped else ""
    return f"file {number} ({name}): ^DBREST returned {outcome.code!r}; restored {into}{skipped}"


def _not_restored(outcome: RestoreOutcome, directory_map: Mapping[str, str]) -> list[str]:
    """Mapped databases ^DBREST's output does not show restored; none when no output came."""
    if not outcome.output_read:
        return []
    shown = {dbrest.canonical(s) for s in outcome.restored}
    return [c for s in directory_map if (c := dbrest.canonical(s)) not in shown]


def _apply_journals(
    first_file: str,
    restored: dict[str, str],
    iris: IrisPort,
    report: JobReport,
    done: list[str],
) -> str | None:
    """Journal.Restore selecting exactly the databases every file restored (canonical) and
    redirecting each mapped elsewhere: never run with nothing selected, which would replay
    every database of the files into its original directory."""
    if not restored:
        report.errors.append(
            f"every file was restored ({', '.join(done)}), but no database was restored by "
            "every file, so no journal was applied (Journal.Restore with nothing selected "
            "replays every database into its original directory)"
        )
        return f"restored {len(done)} file(s); journals not applied"
    select = sorted(restored)
    redirect = {s: dbrest.canonical(t) for s, t in restored.items() if dbrest.canonical(t) != s}
    try:
        outcome = iris.restore_journals(first_file, select=select, redirect=redirect)
    except Exception as exc:  # noqa: BLE001 - reported with what was restored before it
        report.errors.append(
            f"every file was restored ({', '.join(done)}), but applying the journals from "
            f"{first_file} failed: {describe_fault(exc)}"
        )
        return f"restored {len(done)} file(s); applying the journals failed"
    report.checked.append(
        f"journals from {first_file}: selected {', '.join(select)}"
        + "".join(f"; {s} redirected to {t}" for s, t in redirect.items())
    )
    in_files = {dbrest.canonical(d) for d in outcome.journal_databases}
    left = sorted(in_files - set(select))
    if left:
        report.checked.append(
            f"journal updates left unapplied (databases this restore did not restore): "
            f"{', '.join(left)}"
        )
    absent = [s for s in select if outcome.journal_databases and s not in in_files]
    if absent:
        report.warnings.append(
            f"the journal files hold no update for {', '.join(absent)} as IRIS names it "
            f"(it names {', '.join(sorted(in_files))}): nothing was replayed into it"
        )
    return None
