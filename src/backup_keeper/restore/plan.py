"""The restore plan for a moment: the full, the latest cumulative after it, each incremental
after that (IRIS's restore order), each checked present and intact; for a snapshot, its id and
the journal file to start from. A damaged or incomplete chain is named, and the plan falls back
to the newest moment that can really be restored. A backup dated after now (a wrong clock or a
forged sidecar) is never a restore point, and a chain that spans a backup whose IRIS log cannot
be read is not trusted: that backup may be one the chain needs.

Given the instance's journal files, the plan says how far the journals take the backup
(journal_coverage.py): to now, or only to its own moment, naming the first missing journal file;
a moment after the journals' reach (past now, or beyond a gap) is refused, never planned. When
the backup's required journal file itself is gone, the plan says that transactions open at
backup time cannot be rolled back: this follows from ExternalFreeze's ``RequiredFile`` ("required
for transaction rollback after the backup is restored") and the online backup's log line, but
was never seen in a transcript (docs/iris-ledger.md section 14: confirmed-with-doubt)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import PurePath

from backup_keeper.catalog.manifest import Manifest
from backup_keeper.catalog.record import ORDER_KEY, BackupRecord, BackupStatus
from backup_keeper.integrity import manifest_of
from backup_keeper.iris.port import JournalFiles
from backup_keeper.journal_coverage import Coverage, Reach, coverage, reach_until, required_journal
from backup_keeper.kinds import BackupKind
from backup_keeper.report import RestoreFile, RestorePlan
from backup_keeper.timezones import format_moment

Check = Callable[[BackupRecord], str | None]
ManifestOf = Callable[[BackupRecord], Manifest | None]
_NAMED_IN_A_PROBLEM = 10


def plan_restore(
    records: Sequence[BackupRecord],
    at: datetime | None,
    check: Check,
    *,
    now: datetime,
    zone: tzinfo = UTC,
    manifests: ManifestOf = manifest_of,
    journals: JournalFiles | None = None,
) -> RestorePlan:
    """Plan the restore of the newest backup at or before ``at`` (default: the newest), never
    one dated after ``now``, the job's clock. What the plan says in words gives its times in
    ``zone``, the instance's. ``manifests`` reads a record's sidecar (a destination's records
    name objects, not files: their sidecars are read through the store, and their IRIS logs
    are not read). ``journals``: the instance's journal files, as listed when ``now`` was
    taken (None: not listed, so how far they reach is unknown)."""
    plan = RestorePlan(requested_at=at)
    future = [r for r in records if r.managed and r.time > now]
    candidates = [
        r
        for r in records
        if r.managed and r.status.usable and r.time <= now and (at is None or r.time <= at)
    ]
    candidates.sort(key=ORDER_KEY, reverse=True)
    by_path = {r.path: r for r in records}
    unreadable = sorted(
        (r for r in records if r.status is BackupStatus.UNREADABLE and r.managed), key=ORDER_KEY
    )
    for index, target in enumerate(candidates):
        problem = _chain_problem(target, by_path, check) or _spans_unreadable(
            target, by_path, unreadable
        )
        if problem is None:
            _fill(plan, target, by_path, manifests, read_logs=manifests is manifest_of)
            cover = coverage(plan.journal_start, journals)
            _roll_forward(plan, cover)
            unreached = _unreached(at, target, cover, now, zone)
            if unreached is not None:
                return RestorePlan(requested_at=at, problems=[*plan.problems, unreached])
            if index:
                plan.fallback = (
                    f"restoring to {format_moment(target.time, zone)}, the newest moment that "
                    "can be "
                    f"restored: {plan.problems[0]}"
                )
            return plan
        plan.problems.append(problem)
    if not candidates:
        nothing = "no completed backup at or before that moment"
        plan.problems.append(nothing + _future(future, now, zone))
    return plan


def _roll_forward(plan: RestorePlan, cover: Coverage) -> None:
    plan.roll_forward = cover.words
    plan.journal_missing = cover.first_missing
    if cover.reach is Reach.BACKUP:
        plan.steps.append(
            f"   the journals cannot roll this backup forward: {cover.words}; the restore "
            "reaches only the backup's own moment"
        )


def _unreached(
    at: datetime | None, target: BackupRecord, cover: Coverage, now: datetime, zone: tzinfo
) -> str | None:
    """Why no journal reaches ``at``, when a roll-forward past the backup is asked for and the
    journals are known to stop before it; None when they reach it or it is unknown."""
    if at is None or at <= target.time:
        return None
    until = reach_until(cover, target.time, now, zone)
    if until is None or at <= until:
        return None
    name = PurePath(target.path).name
    if cover.reach is Reach.NOW:
        why = f"the journals reach only now ({format_moment(now, zone)})"
    else:
        why = f"{name} rolls forward {cover.words}"
        if until > target.time:
            why += f"; the journals surely reach {format_moment(until, zone)}"
    return f"no journal reaches {format_moment(at, zone)}: {why}"


def _future(future: list[BackupRecord], now: datetime, zone: tzinfo) -> str:
    if not future:
        return ""
    listed = ", ".join(PurePath(r.path).name for r in future[:_NAMED_IN_A_PROBLEM])
    more = len(future) - _NAMED_IN_A_PROBLEM
    return (
        f"; {len(future)} backup(s) dated after now ({format_moment(now, zone)}) are never restore "
        f"points: {listed}" + (f" and {more} more" if more > 0 else "")
    )


def _chain_problem(
    target: BackupRecord, by_path: dict[str, BackupRecord], check: Check
) -> str | None:
    name = PurePath(target.path).name
    if not target.chain_complete:
        why = target.note or "its chain has no full backup"
        return f"{name} cannot be restored: {why}"
    for path in (*target.chain, target.path):
        record = by_path.get(path)
        problem = "missing from the catalog" if record is None else check(record)
        if problem is not None:
            return f"{name} needs {PurePath(path).name}, which is {problem}"
    return None


def _spans_unreadable(
    target: BackupRecord, by_path: dict[str, BackupRecord], unreadable: list[BackupRecord]
) -> str | None:
    """A backup between the chain's full and the target whose log cannot be read may have
    completed, and then the target was taken on top of it: the chain is not known."""
    if not target.chain or not unreadable:
        return None
    base = by_path[target.chain[0]]
    after, until = ORDER_KEY(base), ORDER_KEY(target)
    for record in unreadable:
        if record.instance == target.instance and after < ORDER_KEY(record) < until:
            return (
                f"{PurePath(target.path).name} may need {PurePath(record.path).name}, whose "
                "IRIS log cannot be read: whether it completed, and so what a restore needs, "
                "is unknown"
            )
    return None


def _fill(
    plan: RestorePlan,
    target: BackupRecord,
    by_path: dict[str, BackupRecord],
    manifests: ManifestOf,
    *,
    read_logs: bool,
) -> None:
    chain = [by_path[p] for p in (*target.chain, target.path)]
    plan.restores_to = target.time
    for record in chain:
        manifest = manifests(record)
        plan.files.append(
            RestoreFile(
                path=record.path,
                kind=str(record.kind),
                time=record.time,
                snapshot_id=manifest.snapshot_id if manifest else None,
            )
        )
        if read_logs:
            required = required_journal(record, manifest)
        else:
            required = manifest.journal_file_required if manifest is not None else None
        plan.journal_start = required or plan.journal_start
        if manifest is not None:
            plan.databases = manifest.databases or plan.databases
    plan.steps = _steps(plan, chain)


def _steps(plan: RestorePlan, chain: list[BackupRecord]) -> list[str]:
    """The procedure, as the job runs it (iris-ledger.md sections 4 and 5): each file with
    ``EXTSELCT^DBREST`` and a map naming exactly the databases to restore, one after the other
    with nothing applied between them; then ``Journal.Restore`` selecting each restored
    database and redirecting each mapped one."""
    databases = ", ".join(plan.databases) or "the databases of the backup"
    steps = [
        f"0. write <mapfile>: one line SOURCE,TARGET,Y per database to restore ({databases}); "
        "a database not in it is skipped (an empty map restores nothing). Never restore "
        "IRISSYS, IRISAUDIT or IRISSECURITY in place: map them to another directory"
    ]
    for number, record in enumerate(chain, start=1):
        if record.kind is BackupKind.EXTERNAL:
            snapshot = plan.files[number - 1].snapshot_id or "(no id recorded)"
            steps.append(
                f"{number}. restore storage snapshot {snapshot} (instance stopped), then start "
                "IRIS in maintenance mode if journals are to be applied"
            )
        elif record.path.endswith(".zst"):
            steps.append(
                f"{number}. zstd -d {record.path} -o <tmp>.cbk, then in %SYS: "
                'write $$EXTSELCT^DBREST(1,0,"<tmp>.cbk",<mapfile>,4,"","") (1 = done; -2: '
                "the label does not match this instance's backup history)"
            )
        else:
            steps.append(
                f'{number}. in %SYS: write $$EXTSELCT^DBREST(1,0,"{record.path}",<mapfile>,4,"","")'
                " (1 = done; -2: the label does not match this instance's backup history)"
            )
    if len(chain) > 1:
        steps.append(
            "   run these files one after another with nothing updating the target databases "
            "between them: no journal restore and no users until the last file is restored "
            "(^DBREST deletes <mapfile> when it completes: write it again before each file)"
        )
    if plan.journal_start:
        steps.append(
            f"{len(chain) + 1}. after the last file, apply journals from {plan.journal_start}: "
            f'in %SYS set r=##class(Journal.Restore).%New(), r.FirstFile="{plan.journal_start}", '
            "do r.CheckJournalIntegrity(1), then r.SelectUpdates(<source>) for every restored "
            "database (canonical directory, trailing separator) and r.RedirectDatabase(<source>,"
            "<target>) for each one mapped elsewhere, then r.Run(). Never Run with nothing "
            "selected: that replays every database of the journal into its original directory"
        )
    return steps
