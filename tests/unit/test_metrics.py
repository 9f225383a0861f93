"""Metrics from real backup directories, read back with prometheus-client's own parsers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _openmetrics
from prometheus_client.parser import text_string_to_metric_families as classic_families

from backup_keeper.alerts.history import STATE_NAME, AlertHistory, save_history
from backup_keeper.catalog.manifest import (
    Manifest,
    RemoteCopy,
    read_manifest,
    with_copy,
    write_manifest,
)
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import Checksum
from backup_keeper.kinds import BackupKind
from backup_keeper.last_run import LastPurge, record_purge, record_verify
from backup_keeper.metrics import (
    DirectoryFacts,
    collect_metrics,
    families,
    metrics_json,
    openmetrics_text,
    sensor_rows,
    textfile_text,
)
from backup_keeper.timezones import resolve_zone
from tests.builders import T0, write_managed_backup

NOW = T0 + timedelta(days=3)
DEST = "s3://backups/iris/IRIS"
UTC_ZONE = resolve_zone("UTC")


def known_chain(directory: Path) -> Path:
    """A snapshot, then full, incremental and cumulative; the full copied off-site; one stray
    file; the purge job failing since the second day."""
    snapshot = Manifest(
        file="snap.snapshot",
        kind=BackupKind.EXTERNAL,
        status=BackupStatus.COMPLETED,
        started=T0 - timedelta(days=1),
        finished=T0 - timedelta(days=1) + timedelta(minutes=1),
        size=0,
        instance="IRIS",
        tool_version="0.1.0",
        freeze_window_ms=1500,
    )
    write_manifest(directory / "snap.snapshot", snapshot)
    full = write_managed_backup(directory, "full.cbk", BackupKind.FULL, T0)
    write_managed_backup(directory, "inc.cbk", BackupKind.INCREMENTAL, T0 + timedelta(days=1))
    write_managed_backup(directory, "cum.cbk", BackupKind.CUMULATIVE, T0 + timedelta(days=2))
    copy = RemoteCopy(
        destination=DEST,
        object="full.cbk",
        size=64,
        checksum=Checksum(algorithm="sha256", hex="0" * 64),
        verified=T0 + timedelta(hours=1),
        how="read-back",
    )
    write_manifest(full, with_copy(read_manifest(f"{full}.json", expected_file="full.cbk"), copy))
    (directory / "stray.cbk").write_bytes(b"who knows")
    save_history(directory / STATE_NAME, AlertHistory(failing={"IRIS/purge": T0 + timedelta(2)}))
    return directory


def text_string_to_metric_families(text: str) -> list[Metric]:
    """prometheus-client's OpenMetrics parser, which carries no type hints."""
    return list(_openmetrics(text))  # type: ignore[no-untyped-call]


Parser = Callable[[str], Iterable[Metric]]


def samples_by_name(
    text: str, parse: Parser = text_string_to_metric_families
) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in parse(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def test_openmetrics_output_of_a_known_chain_parses_with_its_names_units_labels_and_values(
    tmp_path: Path,
) -> None:
    text = openmetrics_text(collect_metrics([known_chain(tmp_path)], UTC_ZONE, NOW).families)

    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    base = {"directory": str(tmp_path), "instance": "IRIS"}
    stamp = parsed["backupkeeper_last_backup_timestamp_seconds"]
    assert (stamp.type, stamp.unit) == ("gauge", "seconds")
    assert stamp.documentation.startswith("Unix time the newest completed backup")
    assert {s.labels["kind"]: s.value for s in stamp.samples} == {
        "full": (T0 + timedelta(minutes=5)).timestamp(),
        "incremental": (T0 + timedelta(days=1, minutes=5)).timestamp(),
        "cumulative": (T0 + timedelta(days=2, minutes=5)).timestamp(),
        "external": (T0 - timedelta(days=1) + timedelta(minutes=1)).timestamp(),
    }
    assert all(s.labels.items() >= base.items() for s in stamp.samples)
    values = samples_by_name(text)
    assert values["backupkeeper_last_backup_size_bytes"] == [(base, 64)]
    assert parsed["backupkeeper_last_backup_size_bytes"].unit == "bytes"
    assert values["backupkeeper_last_backup_duration_seconds"] == [(base, 300)]
    assert values["backupkeeper_last_freeze_window_seconds"] == [(base, 1.5)]
    assert values["backupkeeper_restorable_chains"] == [(base, 2)]
    assert values["backupkeeper_unmanaged_files"] == [(base, 1)]
    at_dest = {**base, "destination": DEST}
    assert values["backupkeeper_offsite_last_verified_timestamp_seconds"] == [
        (at_dest, (T0 + timedelta(hours=1)).timestamp())
    ]
    waited = (NOW - (T0 + timedelta(days=2, minutes=5))).total_seconds()
    assert values["backupkeeper_offsite_lag_seconds"] == [(at_dest, waited)]
    assert values["backupkeeper_job_failing_since_timestamp_seconds"] == [
        ({**base, "job": "purge"}, (T0 + timedelta(days=2)).timestamp())
    ]
    assert text.endswith("# EOF\n")


def test_the_textfile_form_parses_with_the_classic_parser_and_has_the_same_samples(
    tmp_path: Path,
) -> None:
    found = collect_metrics([known_chain(tmp_path)], UTC_ZONE, NOW).families

    classic = samples_by_name(textfile_text(found), classic_families)
    modern = samples_by_name(openmetrics_text(found))

    assert classic == modern
    assert "# EOF" not in textfile_text(found)
    assert "# UNIT" not in textfile_text(found)


def test_an_empty_directory_has_no_last_backup_and_counts_nothing(tmp_path: Path) -> None:
    found = collect_metrics([tmp_path], UTC_ZONE, NOW).families

    values = samples_by_name(openmetrics_text(found))
    base = {"directory": str(tmp_path), "instance": ""}
    assert set(values) == {"backupkeeper_restorable_chains", "backupkeeper_unmanaged_files"}
    assert values["backupkeeper_restorable_chains"] == [(base, 0)]


def test_a_failed_backup_is_not_the_last_completed_one(tmp_path: Path) -> None:
    write_managed_backup(tmp_path, "full.cbk", BackupKind.FULL, T0)
    write_managed_backup(
        tmp_path, "inc.cbk", BackupKind.INCREMENTAL, T0 + timedelta(days=1), BackupStatus.FAILED
    )

    values = samples_by_name(openmetrics_text(collect_metrics([tmp_path], UTC_ZONE, NOW).families))

    stamps = values["backupkeeper_last_backup_timestamp_seconds"]
    assert [labels["kind"] for labels, _ in stamps] == ["full"]


def test_a_backup_copied_everywhere_has_no_offsite_lag(tmp_path: Path) -> None:
    full = write_managed_backup(tmp_path, "full.cbk", BackupKind.FULL, T0)
    copy = RemoteCopy(
        destination=DEST,
        object="full.cbk",
        size=64,
        checksum=Checksum(algorithm="sha256", hex="1" * 64),
        verified=T0 + timedelta(hours=2),
        how="provider-checksum",
    )
    write_manifest(full, with_copy(read_manifest(f"{full}.json", expected_file="full.cbk"), copy))

    values = samples_by_name(openmetrics_text(collect_metrics([tmp_path], UTC_ZONE, NOW).families))

    assert [v for _, v in values["backupkeeper_offsite_lag_seconds"]] == [0]


def test_label_values_are_escaped_so_a_strange_directory_name_still_parses(
    tmp_path: Path,
) -> None:
    odd = tmp_path / 'quote"back\\slash'
    odd.mkdir()

    found = families([DirectoryFacts(directory=str(odd), records=[])], NOW)

    values = samples_by_name(openmetrics_text(found))
    assert values["backupkeeper_unmanaged_files"] == [({"directory": str(odd), "instance": ""}, 0)]


def test_json_is_one_object_with_every_family_and_its_samples(tmp_path: Path) -> None:
    found = collect_metrics([known_chain(tmp_path)], UTC_ZONE, NOW).families

    document = json.loads(metrics_json(found, NOW))

    assert document["generated"] == NOW.isoformat()
    names = [family["name"] for family in document["metrics"]]
    assert names == [family.name for family in found]
    chains = next(f for f in document["metrics"] if f["name"] == "backupkeeper_restorable_chains")
    assert chains["samples"] == [
        {"labels": {"directory": str(tmp_path), "instance": "IRIS"}, "value": 2}
    ]


def test_sensor_rows_are_the_names_iris_prefixes_with_its_product(tmp_path: Path) -> None:
    found = collect_metrics([known_chain(tmp_path)], UTC_ZONE, NOW).families

    rows = sensor_rows(found)

    assert {row.sensor for row in rows} == {f.name.removeprefix("backupkeeper_") for f in found}
    chains = next(row for row in rows if row.sensor == "restorable_chains")
    assert (chains.value, chains.labels) == (2.0, {"directory": str(tmp_path), "instance": "IRIS"})


def test_an_unusable_alert_state_means_no_job_is_reported_failing_and_a_warning_says_why(
    tmp_path: Path,
) -> None:
    (tmp_path / STATE_NAME).write_text("not json")

    found = collect_metrics([tmp_path], UTC_ZONE, NOW)

    assert "backupkeeper_job_failing_since_timestamp_seconds" not in samples_by_name(
        openmetrics_text(found.families)
    )
    assert found.warnings == [
        f"{tmp_path / STATE_NAME}: not a state file of backup-keeper; "
        "backupkeeper_job_failing_since_timestamp_seconds is left out"
    ]


def test_bytes_the_last_purge_freed_and_findings_of_the_last_verify_per_directory(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    record_purge([a, b], {a: 4096})
    record_verify([a], [f"{a}/x.cbk: checksum differs", f"{a}/y.cbk: gone"])

    found = collect_metrics([a, b], UTC_ZONE, NOW)

    text = openmetrics_text(found.families)
    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    freed = parsed["backupkeeper_last_purge_freed_bytes"]
    assert (freed.type, freed.unit) == ("gauge", "bytes")
    assert freed.documentation.startswith("Bytes of the backups the last purge deleted")
    assert {s.labels["directory"]: s.value for s in freed.samples} == {str(a): 4096, str(b): 0}
    findings = parsed["backupkeeper_last_verify_findings"]
    assert findings.documentation.startswith("Problems the last verify found")
    assert {s.labels["directory"]: s.value for s in findings.samples} == {str(a): 2}
    assert found.warnings == []


def test_a_last_run_file_that_cannot_be_used_leaves_its_metric_out_with_a_warning(
    tmp_path: Path,
) -> None:
    (tmp_path / LastPurge.NAME).symlink_to(tmp_path / "elsewhere.json")

    found = collect_metrics([tmp_path], UTC_ZONE, NOW)

    assert "backupkeeper_last_purge_freed_bytes" not in samples_by_name(
        openmetrics_text(found.families)
    )
    assert found.warnings == [
        f"{tmp_path / LastPurge.NAME}: a symbolic link, not followed; "
        "backupkeeper_last_purge_freed_bytes is left out"
    ]


def test_the_configured_alert_state_file_is_read_and_the_default_place_is_not(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    configured = tmp_path / "state" / "alerts.json"
    configured.parent.mkdir()
    save_history(configured, AlertHistory(failing={"IRIS/backup": T0}))
    save_history(a / STATE_NAME, AlertHistory(failing={"IRIS/purge": T0}))

    found = collect_metrics([a, b], UTC_ZONE, NOW, alert_state=configured)

    values = samples_by_name(openmetrics_text(found.families))
    assert values["backupkeeper_job_failing_since_timestamp_seconds"] == [
        ({"directory": str(a), "instance": "", "job": "backup"}, T0.timestamp())
    ]
