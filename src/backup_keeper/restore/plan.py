"""The restore plan for a moment: the full, the latest cumulative after it, each incremental
after that (IRIS's restore order), each checked present and intact; for a snapshot, its id and
the journal file to start from. A damaged or incomplete chain is named, and the plan falls back
to the newest moment that can really be restored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import PurePath

from pydantic import AwareDatetime, BaseModel, Field

from backup_keeper.catalog.record import BackupKind, BackupRecord
from backup_keeper.integrity import manifest_of

Check = Callable[[BackupRecord], str | None]


class RestoreFile(BaseModel):
    path: str
    kind: str
    time: AwareDatetime
    snapshot_id: str | None = None


class RestorePlan(BaseModel):
    requested_at: AwareDatetime | None
    restores_to: AwareDatetime | None = Field(default=None, description="The moment restored.")
    files: list[RestoreFile] = Field(default_factory=list, description="In restore order.")
    journal_start: str | None = Field(
        default=None, description="First journal file to apply after the last file."
    )
    databases: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list, description="What to run, in order.")
    fallback: str | None = Field(default=None, description="Why an earlier moment was chosen.")
    problems: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.files)


def plan_restore(records: Sequence[BackupRecord], at: datetime | None, check: Check) -> RestorePlan:
    """Plan the restore of the newest backup at or before ``at`` (default: the newest)."""
    plan = RestorePlan(requested_at=at)
    candidates = [
        r for r in records if r.managed and r.status.usable and (at is None or r.time <= at)
    ]
    candidates.sort(key=lambda r: (r.time, r.sequence, r.path), reverse=True)
    by_path = {r.path: r for r in records}
    for index, target in enumerate(candidates):
        problem = _chain_problem(target, by_path, check)
        if problem is None:
            _fill(plan, target, by_path)
            if index:
                plan.fallback = (
                    f"restoring to {target.time.isoformat()}, the newest moment that can be "
                    f"restored: {plan.problems[0]}"
                )
            return plan
        plan.problems.append(problem)
    if not candidates:
        plan.problems.append("no completed backup at or before that moment")
    return plan


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


def _fill(plan: RestorePlan, target: BackupRecord, by_path: dict[str, BackupRecord]) -> None:
    chain = [by_path[p] for p in (*target.chain, target.path)]
    plan.restores_to = target.time
    for record in chain:
        manifest = manifest_of(record)
        plan.files.append(
            RestoreFile(
                path=record.path,
                kind=str(record.kind),
                time=record.time,
                snapshot_id=manifest.snapshot_id if manifest else None,
            )
        )
        if manifest is not None:
            plan.journal_start = manifest.journal_file_required or plan.journal_start
            plan.databases = manifest.databases or plan.databases
    plan.steps = _steps(plan, chain)


def _steps(plan: RestorePlan, chain: list[BackupRecord]) -> list[str]:
    steps: list[str] = []
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
                'do EXTSELCT^DBREST(1,0,"<tmp>.cbk",<mapfile>,4,"","")'
            )
        else:
            steps.append(
                f'{number}. in %SYS: do EXTSELCT^DBREST(1,0,"{record.path}",<mapfile>,4,"","") '
                "(or ^DBREST interactively)"
            )
    if plan.journal_start:
        steps.append(
            f"{len(chain) + 1}. apply journals from {plan.journal_start}: Journal.Restore with "
            f'FirstFile="{plan.journal_start}" (or ^JRNRESTO)'
        )
    return steps
