"""End to end, inside the container: after a backup, ``backup-keeper metrics --iris embedded``
writes the snapshot and IRIS's own /api/monitor/metrics shows ``backupkeeper_`` lines, through
BackupKeeper.Metrics, which the installer registered (docs/iris-ledger.md section 13).

Runs only where ``tools/e2e.sh`` runs the suite (see test_in_container.py); skipped elsewhere,
saying so. The scrape needs the /api/monitor web application to hold the role of the
namespace's database (``%DB_BACKUPKEEPER``; README, Metrics): tools/e2e.sh grants it before this
suite runs, as an administrator would, and nothing more, so this test is also what shows that
one role is enough.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not (os.environ.get("BACKUP_KEEPER_E2E") and os.environ.get("BACKUP_KEEPER_INSIDE_IRIS")),
    reason="end-to-end suite: needs IRIS; run tools/e2e.sh (Docker), which runs it inside the "
    "container with BACKUP_KEEPER_E2E=1 and BACKUP_KEEPER_INSIDE_IRIS=1",
)

BACKUPS = Path(os.environ.get("BACKUP_KEEPER_E2E_DIR", "/backups"))
MONITOR = os.environ.get("BACKUP_KEEPER_E2E_MONITOR", "http://localhost:52773/api/monitor/metrics")


def backup_keeper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backup_keeper", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_after_a_backup_the_monitor_shows_backupkeeper_metrics() -> None:
    BACKUPS.mkdir(parents=True, exist_ok=True)
    backed_up = backup_keeper(
        "backup", "--kind", "full", "--dir", str(BACKUPS), "--iris", "embedded"
    )
    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr

    published = backup_keeper("metrics", str(BACKUPS), "--iris", "embedded")
    assert published.returncode == 0, published.stderr

    with urllib.request.urlopen(MONITOR, timeout=30) as answer:
        scraped = answer.read().decode()
    ours = [line for line in scraped.splitlines() if line.startswith("backupkeeper_")]
    assert any(line.startswith("backupkeeper_last_backup_timestamp_seconds") for line in ours), (
        scraped[-2000:]
    )
    assert any(line.startswith("backupkeeper_restorable_chains") for line in ours)
