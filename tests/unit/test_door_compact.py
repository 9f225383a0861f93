"""``compact``: what a portal or a task leaves blank is dropped, so the job's defaults apply;
what was chosen, a zero or a False included, reaches the job as chosen."""

from __future__ import annotations

from pathlib import Path

from backup_keeper.door import compact
from backup_keeper.settings import BackupSettings


def test_blanks_go_and_zeros_and_false_stay_at_every_depth() -> None:
    portal = {
        "directory": "/backups",
        "label": "",
        "quiet_timeout": 0,
        "compress": False,
        "retention": {"keep_last": 0, "keep_within": "", "keep_daily": None},
        "alerts": {"email": {"host": ""}},
    }
    assert compact(portal) == {
        "directory": "/backups",
        "quiet_timeout": 0,
        "compress": False,
        "retention": {"keep_last": 0},
    }


def test_a_zero_chosen_in_a_portal_is_not_replaced_by_the_default(tmp_path: Path) -> None:
    chosen = BackupSettings.model_validate(
        compact({"directory": str(tmp_path), "kind": "full", "quiet_timeout": 0})
    )
    assert chosen.quiet_timeout == 0
    assert BackupSettings.model_fields["quiet_timeout"].default == 60
