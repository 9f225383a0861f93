"""Logs another user cannot read, proven with a real second user: the CLI run as ``nobody``
through ``setpriv`` against logs of mode 0600 owned by root (root itself reads through any mode,
so ``chmod`` alone proves nothing when the suite runs as root)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import write_iris_backup

NOBODY = 65534
SETPRIV = shutil.which("setpriv")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the CLI as another user"),
    pytest.mark.skipif(SETPRIV is None, reason="needs setpriv (util-linux) to switch user"),
]


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory nobody may list and write, outside pytest's root-only tmp_path."""
    base = Path(tempfile.mkdtemp(prefix="bk-nobody-", dir="/tmp"))
    base.chmod(0o755)
    backups = base / "backups"
    backups.mkdir()
    backups.chmod(0o777)
    home = base / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)
    try:
        yield backups
    finally:
        shutil.rmtree(base)


def as_nobody(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    assert SETPRIV is not None
    return subprocess.run(
        [
            SETPRIV,
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-m",
            "backup_keeper",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin"), "HOME": str(home), "LANG": "C.UTF-8"},
        check=False,
    )


def three_fulls_the_newest_failed(directory: Path) -> list[Path]:
    fulls = [
        write_iris_backup(directory, "FullDBList", "20261101", 1),
        write_iris_backup(directory, "FullDBList", "20261102", 2),
        write_iris_backup(directory, "FullDBList", "20261103", 3, finished=False),
    ]
    for full in fulls:
        full.with_suffix(".log").chmod(0o600)  # owned by root, as IRIS's own logs are
        full.chmod(0o644)
    return fulls


def test_a_purge_by_a_user_who_cannot_read_the_logs_deletes_no_good_full(shared: Path) -> None:
    """The incident: the failed newest full counted as completed, became the safety floor, and
    both good fulls were deleted."""
    fulls = three_fulls_the_newest_failed(shared)
    result = as_nobody(
        "purge", str(shared), "--keep-last", "1", "--timezone", "UTC", "--json",
        home=shared.parent / "home",
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert all(full.exists() for full in fulls), report
    assert report["delete"] == []
    assert {e["status"] for e in report["keep"]} == {"unreadable"}
    assert any(
        "3 IRIS log(s) cannot be read (Permission denied)" in w for w in report["warnings"]
    ), report["warnings"]


def test_the_catalog_as_that_user_says_unreadable_not_unknown(shared: Path) -> None:
    three_fulls_the_newest_failed(shared)
    result = as_nobody("catalog", str(shared), "--timezone", "UTC", "--json", home=shared.parent)
    report = json.loads(result.stdout)
    assert [e["status"] for e in report["records"]] == ["unreadable"] * 3
    assert all(
        "cannot be read (Permission denied)" in " ".join(e["reasons"]) for e in report["records"]
    )


def test_root_reads_the_same_logs_and_sees_the_failure(shared: Path) -> None:
    """The control: the logs are readable to their owner, so the difference is the user."""
    three_fulls_the_newest_failed(shared)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backup_keeper",
            "catalog",
            str(shared),
            "--timezone",
            "UTC",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    assert [e["status"] for e in report["records"]] == ["completed", "completed", "failed"]
