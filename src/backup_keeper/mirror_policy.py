"""Which mirror member a job runs on. After a failover the schedule follows the role, because the
role is read at run time, never configured per machine."""

from __future__ import annotations

from backup_keeper.iris.port import MirrorState
from backup_keeper.settings import RunOn


def role_refusal(run_on: RunOn, mirror: MirrorState) -> str | None:
    """Why this member must not run the job, or None when it may."""
    role = mirror.role
    if run_on == "any":
        return None
    if run_on == "primary" and role not in ("primary", "none"):
        return f"run_on=primary but this member is {role}"
    if run_on == "backup" and role not in ("backup", "none"):
        return f"run_on=backup but this member is {role}"
    if run_on == "not-primary" and role == "primary":
        return "run_on=not-primary but this member is the primary"
    return None
