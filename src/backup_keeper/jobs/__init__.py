"""One module per job, one entry point each: ``run_<job>(settings, ...) -> JobReport``.

Doors (CLI, Task Manager, Interoperability) call these and nothing else. Importing this package
imports no job: ``from backup_keeper.jobs import run_purge`` loads ``jobs/purge.py`` (and what it
needs) on first use (PEP 562), so a door or a test that runs one job never pays for, or breaks
on, the others. ``_HOME`` and the ``TYPE_CHECKING`` imports name the same functions
(tests/unit/jobs/test_entry_points.py holds them together): the first for the interpreter, the
second for the type checker.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backup_keeper.jobs.catalog import run_catalog
    from backup_keeper.jobs.copy import run_copy
    from backup_keeper.jobs.doctor import run_doctor
    from backup_keeper.jobs.external_backup import run_external_backup
    from backup_keeper.jobs.freeze_hooks import run_freeze, run_thaw
    from backup_keeper.jobs.freshness import run_freshness_check
    from backup_keeper.jobs.metrics import run_metrics
    from backup_keeper.jobs.online_backup import run_online_backup
    from backup_keeper.jobs.pin import run_pin, run_unpin
    from backup_keeper.jobs.purge import run_purge
    from backup_keeper.jobs.remote_catalog import run_remote_catalog
    from backup_keeper.jobs.remote_purge import run_remote_purge
    from backup_keeper.jobs.remote_restore import run_remote_restore
    from backup_keeper.jobs.remote_restore_plan import run_remote_restore_plan
    from backup_keeper.jobs.remote_verify import run_remote_verify
    from backup_keeper.jobs.restore import run_restore
    from backup_keeper.jobs.restore_plan import run_restore_plan
    from backup_keeper.jobs.timeline import run_timeline
    from backup_keeper.jobs.verify import run_verify

_HOME = {
    "run_catalog": "catalog",
    "run_copy": "copy",
    "run_doctor": "doctor",
    "run_external_backup": "external_backup",
    "run_freeze": "freeze_hooks",
    "run_freshness_check": "freshness",
    "run_metrics": "metrics",
    "run_online_backup": "online_backup",
    "run_pin": "pin",
    "run_purge": "purge",
    "run_remote_catalog": "remote_catalog",
    "run_remote_purge": "remote_purge",
    "run_remote_restore": "remote_restore",
    "run_remote_restore_plan": "remote_restore_plan",
    "run_remote_verify": "remote_verify",
    "run_restore": "restore",
    "run_restore_plan": "restore_plan",
    "run_thaw": "freeze_hooks",
    "run_timeline": "timeline",
    "run_unpin": "pin",
    "run_verify": "verify",
}
"""Each entry point and the module (under ``backup_keeper.jobs``) that defines it."""

__all__ = [
    "run_catalog",
    "run_copy",
    "run_doctor",
    "run_external_backup",
    "run_freeze",
    "run_freshness_check",
    "run_metrics",
    "run_online_backup",
    "run_pin",
    "run_purge",
    "run_remote_catalog",
    "run_remote_purge",
    "run_remote_restore",
    "run_remote_restore_plan",
    "run_remote_verify",
    "run_restore",
    "run_restore_plan",
    "run_thaw",
    "run_timeline",
    "run_unpin",
    "run_verify",
]


def __getattr__(name: str) -> object:
    """Load the one job module that defines ``name``; anything else is no attribute here."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    function: object = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = function
    return function
