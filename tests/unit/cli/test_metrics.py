"""``backup-keeper metrics``: the real command, its output read back with prometheus-client."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families as classic_families

from backup_keeper.iris.fake import FakeIris
from backup_keeper.kinds import BackupKind
from tests.builders import T0, write_managed_backup
from tests.unit.cli.test_app import cli
from tests.unit.test_metrics import text_string_to_metric_families


def chain(directory: Path) -> Path:
    write_managed_backup(directory, "full.cbk", BackupKind.FULL, T0)
    write_managed_backup(directory, "inc.cbk", BackupKind.INCREMENTAL, T0 + timedelta(days=1))
    return directory


def test_the_command_prints_openmetrics_with_names_units_labels_and_values(tmp_path: Path) -> None:
    done = cli("metrics", chain(tmp_path))

    assert done.returncode == 0, done.stderr
    parsed = {f.name: f for f in text_string_to_metric_families(done.stdout)}
    stamps = parsed["backupkeeper_last_backup_timestamp_seconds"]
    assert (stamps.type, stamps.unit) == ("gauge", "seconds")
    assert {(s.labels["kind"], s.labels["directory"], s.value) for s in stamps.samples} == {
        ("full", str(tmp_path), (T0 + timedelta(minutes=5)).timestamp()),
        ("incremental", str(tmp_path), (T0 + timedelta(days=1, minutes=5)).timestamp()),
    }
    [size] = parsed["backupkeeper_last_backup_size_bytes"].samples
    assert (size.value, size.labels["instance"]) == (64, "IRIS")
    [chains] = parsed["backupkeeper_restorable_chains"].samples
    assert chains.value == 1
    assert done.stdout.endswith("# EOF\n")


def test_json_is_exactly_one_object(tmp_path: Path) -> None:
    done = cli("metrics", chain(tmp_path), "--format", "json")

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    names = {family["name"] for family in document["metrics"]}
    assert "backupkeeper_unmanaged_files" in names


def test_the_textfile_is_written_whole_in_the_classic_format_and_nothing_is_printed(
    tmp_path: Path,
) -> None:
    collector = tmp_path / "textfile"
    collector.mkdir()
    target = collector / "backup_keeper.prom"

    backups = tmp_path / "backups"
    backups.mkdir()

    done = cli("metrics", chain(backups), "--textfile", target)

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    families = {f.name: f for f in classic_families(target.read_text())}
    assert families["backupkeeper_restorable_chains"].type == "gauge"
    assert [s.value for s in families["backupkeeper_restorable_chains"].samples] == [1]
    assert sorted(p.name for p in collector.iterdir()) == ["backup_keeper.prom"]


def test_iris_gets_the_same_numbers_as_the_snapshot_its_monitor_shows(tmp_path: Path) -> None:
    state = tmp_path / "iris"
    state.mkdir()

    done = cli(
        "metrics", chain(tmp_path), "--iris", "fake", env={"BACKUP_KEEPER_FAKE_STATE": str(state)}
    )

    assert done.returncode == 0, done.stderr
    rows = {
        (m.sensor, m.labels.get("kind", "")): m.value for m in FakeIris(state).snapshot().metrics
    }
    assert rows[("restorable_chains", "")] == 1
    assert (
        rows[("last_backup_timestamp_seconds", "full")] == (T0 + timedelta(minutes=5)).timestamp()
    )


def test_a_missing_directory_is_bad_input_and_json_still_one_object(tmp_path: Path) -> None:
    done = cli("metrics", tmp_path / "nope", "--format", "json")

    assert done.returncode == 2
    assert json.loads(done.stdout)["status"] == "failed"


def test_a_textfile_that_node_exporter_would_not_read_is_bad_input(tmp_path: Path) -> None:
    for target in (tmp_path / "metrics.txt", tmp_path / "no" / "such.prom"):
        done = cli("metrics", tmp_path, "--textfile", target)

        assert done.returncode == 2, target
        assert "--textfile" in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_unknown_format_is_bad_input(tmp_path: Path) -> None:
    assert cli("metrics", tmp_path, "--format", "yaml").returncode == 2


def test_a_textfile_that_cannot_be_written_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken.prom").mkdir()

    done = cli("metrics", tmp_path, "--textfile", tmp_path / "taken.prom", "--format", "json")

    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["summary"].startswith("metrics failed")


def test_config_names_the_alert_state_read_and_an_unusable_one_is_a_warning(
    tmp_path: Path,
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    chain(backups)
    state = tmp_path / "state.json"
    config = tmp_path / "alerts.toml"
    config.write_text(f'[alerts]\nstate_file = "{state}"\n')
    state.write_text('{"failing": {"IRIS/backup": "2026-11-01T02:00:00Z"}}')

    done = cli("metrics", backups, "--config", config)

    assert done.returncode == 0, done.stderr
    assert 'job="backup"' in done.stdout
    state.write_text("{")
    broken = cli("metrics", backups, "--config", config)
    assert broken.returncode == 0
    assert 'job="backup"' not in broken.stdout
    assert f"warning: {state}: not a state file of backup-keeper" in broken.stderr
