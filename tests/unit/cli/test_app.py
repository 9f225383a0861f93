"""The CLI as a person and a script use it: real subprocesses for exit codes and JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backup_keeper.cli.app import app
from backup_keeper.kinds import BackupKind
from tests.builders import T0, directory_state, write_iris_backup, write_managed_backup

RUNNER = CliRunner()


def cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command; its stdout is strict UTF-8, as under any UTF-8 locale."""
    environment = {**os.environ, "TZ": "UTC", "PYTHONIOENCODING": "utf-8", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "backup_keeper", *map(str, args)],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        env=environment,
        check=False,
        timeout=60,
        cwd=cwd,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def week(tmp_path: Path) -> Path:
    for day in range(1, 15):
        task = "FullDBList" if day in (1, 8) else "IncrementalDBList"
        write_iris_backup(tmp_path, task, f"202611{day:02d}", day)
    return tmp_path


def test_purge_dry_run_json_is_one_report_with_reasons_and_changes_nothing(week: Path) -> None:
    before = directory_state(week)
    done = cli(
        "purge", week, "--keep-last", "1", "--dry-run", "--json", "--now", "2026-11-20T00:00:00Z"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert directory_state(week) == before
    assert (report["job"], report["status"], report["dry_run"]) == ("purge", "ok", True)
    assert {e["path"] for e in report["delete"]} == {
        str(week / "FullDBList_20261101_001.cbk"),
        *(str(week / f"IncrementalDBList_202611{d:02d}_{d:03d}.cbk") for d in range(2, 8)),
    }
    first = report["keep"][0]
    assert set(first) >= {"path", "kind", "time", "reasons"}
    assert first["time"].endswith("Z") and first["reasons"]
    assert report["warnings"] == [] and report["errors"] == []


def test_purge_removes_files_and_prints_a_table(week: Path) -> None:
    done = cli("purge", week, "--keep-last", "1", "--now", "2026-11-20T00:00:00Z")
    assert done.returncode == 0, done.stderr
    assert "ACTION" in done.stdout and "WHY" in done.stdout
    assert re.search(r"^deleted\s+FullDBList_20261101_001.cbk\s+full", done.stdout, re.M)
    assert re.search(r"^keep\s+FullDBList_20261108_008.cbk\s+full", done.stdout, re.M)
    assert "ok: deleted 7 of 7 backup(s)" in done.stdout
    assert not (week / "FullDBList_20261101_001.cbk").exists()
    assert (week / "FullDBList_20261108_008.cbk").exists()


def test_catalog_lists_records_with_kind_status_source_and_chain(week: Path) -> None:
    write_managed_backup(week, "manual.cbk", BackupKind.FULL, T0)
    done = cli("catalog", week, "--json")
    assert done.returncode == 0, done.stderr
    records = {Path(r["path"]).name: r for r in json.loads(done.stdout)["records"]}
    assert records["manual.cbk"]["source"] == "sidecar"
    incr = records["IncrementalDBList_20261103_003.cbk"]
    assert (incr["kind"], incr["status"], incr["source"]) == (
        "incremental",
        "completed",
        "file-name",
    )
    assert [Path(p).name for p in incr["chain"]] == [
        "FullDBList_20261101_001.cbk",
        "IncrementalDBList_20261102_002.cbk",
    ]
    table = cli("catalog", week).stdout
    assert "NEEDS FIRST" in table
    assert "FullDBList_20261101_001.cbk -> IncrementalDBList_20261102_002.cbk" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--keep-last", "0"], "--keep-last: Input should be greater than or equal to 1"),
        (["--keep-within", "2 months"], "--keep-within: invalid duration '2 months'"),
        ([], "retention: no keep rule given"),
        (
            ["--keep-last", "1", "--timezone", "Mars/Olympus"],
            "--timezone: unknown time zone 'Mars/Olympus'",
        ),
        (["--keep-last", "1", "--now", "yesterday"], "--now: not an ISO 8601 moment"),
        (
            ["--keep-last", "1", "--now", "2026-11-20T00:00:00"],
            "--now: a timezone-aware moment is needed",
        ),
    ],
)
def test_bad_input_exits_2_names_the_flag_and_changes_nothing(
    week: Path, args: list[str], message: str
) -> None:
    before = directory_state(week)
    done = cli("purge", week, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert directory_state(week) == before


def test_every_bad_setting_is_reported_at_once(tmp_path: Path) -> None:
    done = cli("purge", tmp_path / "missing", "--keep-daily", "-1", "--failed-older-than", "soon")
    assert done.returncode == 2
    for expected in (
        "DIRECTORIES: ",
        "no such directory",
        "--keep-daily: ",
        "--failed-older-than: invalid duration",
    ):
        assert expected in done.stderr


def test_a_directory_that_is_a_file_is_bad_input_in_json_too(tmp_path: Path) -> None:
    file = tmp_path / "file.cbk"
    file.write_bytes(b"x")
    done = cli("catalog", file, "--json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and "not a directory" in report["errors"][0]


def test_a_failed_job_exits_1(week: Path) -> None:
    (week / ".backup-keeper-purge.json").write_text("garbage")
    done = cli("purge", week, "--keep-last", "1", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["status"] == "failed"


def test_verbose_logs_begin_and_end_on_stderr_and_keeps_stdout_json(week: Path) -> None:
    done = cli("-v", "purge", week, "--keep-last", "1", "--dry-run", "--json")
    json.loads(done.stdout)
    assert "purge begin 0.1.0" in done.stderr and "purge end: ok" in done.stderr


def test_version_and_help() -> None:
    assert RUNNER.invoke(app, ["--version"]).output.strip() == "backup-keeper 0.1.0"
    result = RUNNER.invoke(app, ["purge", "--help"])
    assert result.exit_code == 0 and "--keep-within" in result.output


def test_backup_with_the_fake_instance_builds_a_chain_the_catalog_shows(tmp_path: Path) -> None:
    reports = []
    for kind in ("full", "incremental", "incremental"):
        done = cli("backup", "--kind", kind, "--dir", tmp_path, "--iris", "fake", "--json")
        assert done.returncode == 0, done.stderr
        reports.append(json.loads(done.stdout))
    assert [r["iris"] for r in reports] == ["fake"] * 3
    assert [r["backup"]["kind"] for r in reports] == ["full", "incremental", "incremental"]
    records = json.loads(cli("catalog", tmp_path, "--json").stdout)["records"]
    assert [len(r["chain"]) for r in records] == [0, 1, 2]
    assert all(r["source"] == "sidecar" for r in records)


def test_backup_failure_exits_1_and_bad_adapter_exits_2(tmp_path: Path) -> None:
    from backup_keeper.iris.fake import FakeIris

    FakeIris().fail("online_backup", "return0")  # the instance --iris fake uses (conftest)
    failed = cli("backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["status"] == "failed"
    assert list(tmp_path.glob("*.cbk")) == []
    outside = cli("backup", "--kind", "full", "--dir", tmp_path)
    assert outside.returncode == 2
    assert "--iris embedded: not running inside IRIS" in outside.stderr


def test_backup_with_retention_flags_purges_after_success(tmp_path: Path) -> None:
    for _ in range(3):
        done = cli(
            "backup", "--kind", "full", "--dir", tmp_path, "--iris", "fake", "--keep-last", "2"
        )
        assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("*.cbk"))) == 2
    assert "ACTION" in done.stdout and "journal:" in done.stdout


def test_backup_settings_errors_name_their_flags(tmp_path: Path) -> None:
    done = cli(
        "backup",
        "--kind",
        "full",
        "--dir",
        tmp_path,
        "--iris",
        "fake",
        "--free-space-margin",
        "0.5",
        "--prefix",
        "../escape",
        "--keep-within",
        "soon",
    )
    assert done.returncode == 2
    for expected in ("--free-space-margin: ", "--prefix: ", "--keep-within: invalid duration"):
        assert expected in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_catalog_and_restore_plan_with_iris_mark_a_chain_a_foreign_backup_broke(
    tmp_path: Path,
) -> None:
    from backup_keeper.iris.fake import FakeIris
    from tests.unit.jobs.foreign import FOREIGN, broken_chain

    _, first, second = broken_chain(FakeIris(), tmp_path)  # the instance --iris fake sees
    catalog = json.loads(cli("catalog", tmp_path, "--iris", "fake", "--json").stdout)
    assert catalog["iris"] == "fake"
    assert [r["chain_complete"] for r in catalog["records"]] == [True, True, False]
    assert any(FOREIGN in w for w in catalog["warnings"])
    plan = cli("restore-plan", tmp_path, "--iris", "fake", "--json")
    assert plan.returncode == 0, plan.stderr
    files = [f["path"] for f in json.loads(plan.stdout)["restore"]["files"]]
    assert files[-1] == str(first) and str(second) not in files
    assert json.loads(cli("catalog", tmp_path, "--json").stdout)["records"][2]["chain_complete"]
