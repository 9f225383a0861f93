"""The journal coverage as a person sees it: catalog, restore-plan and doctor with --iris fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup_keeper.clock import fixed_clock
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs.online_backup import run_online_backup
from backup_keeper.report import JobStatus
from backup_keeper.settings import BackupSettings
from tests.unit.cli.test_app import cli

DAY0 = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
FIRST = "/usr/irissys/mgr/journal/20261110.001"


def daily_fulls(directory: Path, days: int) -> None:
    """Fulls a day apart through the instance ``--iris fake`` uses (conftest), whose journal
    purge (IRIS's defaults, 2 days / 2 backups) takes the oldest journals."""
    fake = FakeIris()
    for day in range(days):
        moment = DAY0 + timedelta(days=day)
        fake.clock = fixed_clock(moment)
        settings = BackupSettings.model_validate(
            {"directory": directory, "kind": "full", "timezone": "UTC"}
        )
        assert run_online_backup(settings, iris=fake, clock=fixed_clock(moment)).status is (
            JobStatus.OK
        )


def test_catalog_with_iris_shows_which_backups_roll_forward_to_now(tmp_path: Path) -> None:
    daily_fulls(tmp_path, 4)
    table = cli("catalog", tmp_path, "--iris", "fake", "--timezone", "UTC")
    assert table.returncode == 0, table.stderr
    assert "ROLLS FORWARD" in table.stdout
    assert "own moment only (20261110.001 missing)" in table.stdout
    assert "to now" in table.stdout
    report = json.loads(cli("catalog", tmp_path, "--iris", "fake", "--json").stdout)
    reaches = [report["roll_forward"][r["path"]]["reach"] for r in report["records"]]
    assert reaches == ["backup", "backup", "now", "now"]
    without = cli("catalog", tmp_path, "--timezone", "UTC")
    assert "ROLLS FORWARD" not in without.stdout


def test_restore_plan_names_the_missing_journal_and_refuses_a_moment_past_it(
    tmp_path: Path,
) -> None:
    daily_fulls(tmp_path, 4)
    own = cli("restore-plan", tmp_path, "--iris", "fake", "--at", "2026-11-10T01:00:00Z", "--json")
    assert own.returncode == 0, own.stderr
    plan = json.loads(own.stdout)["restore"]
    assert plan["journal_missing"] == FIRST
    assert f"its required journal file {FIRST} is missing" in plan["roll_forward"]
    text = cli("restore-plan", tmp_path, "--iris", "fake", "--at", "2026-11-10T01:00:00Z").stdout
    assert f"rolls forward: only to its own moment: its required journal file {FIRST}" in text
    past = cli("restore-plan", tmp_path, "--iris", "fake", "--at", "2026-11-10T13:00:00Z")
    assert past.returncode == 1
    assert "no journal reaches 2026-11-10 13:00:00" in past.stdout + past.stderr
    assert FIRST in past.stdout + past.stderr


def test_doctor_warns_that_the_journal_purge_will_strand_a_fourteen_day_policy(
    tmp_path: Path,
) -> None:
    done = cli("doctor", "--dir", tmp_path, "--iris", "fake", "--keep-within", "14d", "--json")
    report = json.loads(done.stdout)
    [warning] = [w for w in report["warnings"] if "journal purge" in w]
    assert "raise DaysBeforePurge to at least 15" in warning
    assert "Journal Settings" in warning
    bad = cli("doctor", "--dir", tmp_path, "--iris", "fake", "--keep-within", "soon")
    assert bad.returncode == 2 and "--keep-within" in bad.stderr
