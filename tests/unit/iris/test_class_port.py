"""ClassPort reads BackupKeeper.Port's JSON answers the same way for both real adapters."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime

import pytest

from backup_keeper.iris.class_port import ClassPort, history_entry
from backup_keeper.iris.port import (
    BackupOutcome,
    IrisError,
    OnlineResult,
    SensorValue,
    Severity,
)
from backup_keeper.kinds import BackupKind


class PortClass:
    """Stands in for the ObjectScript class: canned JSON per method (a list: one answer per call,
    the last one repeated), and a record of calls."""

    def __init__(self, **answers: object) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def __call__(self, method: str, *args: object) -> object:
        self.calls.append((method, args))
        answer = self.answers[method]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return answer if not isinstance(answer, dict) else json.dumps(answer)


STARTED = {"ok": 1, "started": True, "job": "4242"}


def quick(port_class: PortClass, **options: float) -> ClassPort:
    """A ClassPort that polls without sleeping."""
    return ClassPort(port_class, poll_seconds=0, sleep=lambda _s: None, **options)


def backup(port: ClassPort, kind: BackupKind = BackupKind.FULL) -> BackupOutcome:
    return port.online_backup(
        kind, description="d", file="/b/x.cbk", log_file="/b/x.log", quiet_timeout=60
    )


def test_online_backup_runs_in_a_job_of_its_own_polled_until_done() -> None:
    port_class = PortClass(
        StartBackup=STARTED,
        BackupResult=[
            {"ok": 1, "state": ""},
            {"ok": 1, "state": "running", "job": "4242"},
            {"ok": 1, "state": "done", "value": "1,warn~warn", "error": "", "log": "L"},
        ],
    )
    outcome = backup(quick(port_class), BackupKind.CUMULATIVE)
    assert outcome.result is OnlineResult.WARNING and outcome.warnings == ("warn", "warn")
    assert outcome.log_text == "L"
    (start, start_args), *polls = port_class.calls
    token = start_args[0]
    assert start == "StartBackup" and re.fullmatch(r"[0-9a-f]{32}", str(token))
    assert start_args[1:] == ("C", "d", "/b/x.cbk", "/b/x.log", 60)
    assert polls == [("BackupResult", (token, "/b/x.log"))] * 3


def test_a_backup_job_that_could_not_start_is_an_iris_error() -> None:
    port = quick(PortClass(StartBackup={"ok": 1, "started": False, "job": ""}))
    with pytest.raises(IrisError, match="could not start the backup job"):
        backup(port)


def test_a_backup_job_that_ended_without_a_result_is_an_iris_error_naming_its_process() -> None:
    port = quick(
        PortClass(StartBackup=STARTED, BackupResult={"ok": 1, "state": "lost", "job": "4242"})
    )
    with pytest.raises(IrisError, match=r"\(process 4242\) ended without a result"):
        backup(port)


def test_a_backup_job_that_never_begins_is_given_up_after_the_start_grace() -> None:
    port = quick(PortClass(StartBackup=STARTED, BackupResult={"ok": 1, "state": ""}), start_grace=0)
    with pytest.raises(IrisError, match="did not begin within 0 s"):
        backup(port)


def test_an_error_raised_inside_the_backup_job_is_an_iris_error_with_its_text() -> None:
    answer = {"ok": 1, "state": "done", "value": "", "error": "<PROTECT>BACKUP+3^DBACK"}
    port = quick(PortClass(StartBackup=STARTED, BackupResult=answer))
    with pytest.raises(IrisError, match=r"<PROTECT>BACKUP\+3\^DBACK"):
        backup(port)


def test_an_unknown_run_state_is_an_iris_error_with_the_raw_reply() -> None:
    port = quick(PortClass(StartBackup=STARTED, BackupResult={"ok": 1, "state": "weird"}))
    with pytest.raises(IrisError, match="weird"):
        backup(port)


def test_abort_never_overlaps_a_poll_of_the_running_backup() -> None:
    """Embedded: one IRIS process; Native: one connection. Neither serves two calls at once."""
    in_flight: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    polled = threading.Event()

    def call(method: str, *_args: object) -> object:
        if in_flight:
            overlaps.append((*in_flight, method))
        in_flight.append(method)
        try:
            if method == "StartBackup":
                return json.dumps(STARTED)
            if method == "AbortBackup":
                return json.dumps({"ok": 1, "code": 0})
            polled.set()
            time.sleep(0.002)
            state = "done" if stop.is_set() else "running"
            return json.dumps({"ok": 1, "state": state, "value": "1", "error": "", "job": "1"})
        finally:
            in_flight.remove(method)

    stop = threading.Event()
    port = ClassPort(call, poll_seconds=0.001)
    worker = threading.Thread(target=backup, args=(port,), daemon=True)
    worker.start()
    assert polled.wait(5)
    for _ in range(50):
        port.abort_backup()
    stop.set()
    worker.join(5)
    assert overlaps == []


def test_abort_logs_what_iris_answered(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ClassPort(PortClass(AbortBackup={"ok": 1, "code": 1})).abort_backup()
    assert "AbortBackup returned 1 (no backup running)" in caplog.text


def test_an_error_answer_is_an_iris_error_with_its_text() -> None:
    port = ClassPort(PortClass(MirrorJSON={"ok": 0, "error": "ERROR #5002: ObjectScript error"}))
    with pytest.raises(IrisError, match=r"BackupKeeper.Port.MirrorJSON: ERROR #5002"):
        port.mirror()


@pytest.mark.parametrize("answer", [object(), 1, None, "not json", "[1]"])
def test_anything_but_a_json_object_string_is_refused(answer: object) -> None:
    with pytest.raises(IrisError):
        ClassPort(PortClass(InstanceJSON=answer)).instance()


def test_databases_mirror_size_and_lock() -> None:
    port = ClassPort(
        PortClass(
            DatabasesJSON={
                "ok": 1,
                "databases": [
                    {
                        "directory": "/d/user/",
                        "name": "USER",
                        "readOnly": False,
                        "journaled": True,
                        "needsFull": True,
                    },
                    {
                        "directory": "/d/ro/",
                        "name": "RO",
                        "readOnly": True,
                        "journaled": False,
                        "needsFull": False,
                    },
                ],
            },
            MirrorJSON={"ok": 1, "member": 1, "primary": False, "backup": True, "name": "M"},
            SizeEstimate={"ok": 1, "value": "18950^5^160952320^2710^160309248^313104^313104"},
            Lock={"ok": 1, "acquired": False},
            ConsoleLog={"ok": 1},
        )
    )
    dbs = port.databases()
    assert [(d.name, d.read_only, d.journaled, d.needs_full) for d in dbs] == [
        ("USER", False, True, True),
        ("RO", True, False, False),
    ]
    assert port.mirror().role == "backup"
    assert port.size_estimate(BackupKind.FULL).bytes_for_file == 160309248
    assert port.acquire_lock("x", 1) is False
    port.write_console_log("hello", Severity.SEVERE)


def test_history_rows_are_read_by_column_meaning_and_odd_rows_left_out() -> None:
    rows = [
        {
            "Date/Time": "2026-11-22 02:00:05",
            "Type": "Full",
            "Status": "Completed",
            "Device": "/b/f.cbk",
            "Log File": "/b/f.log",
            "Description": "n",
        },
        {"DateTime": "11/22/2026 06:00:00", "Type": "Cumulative Incremental", "Status": "Warning"},
        {"Type": "Full"},
        {"Date": "2026-11-22 02:00:05", "Type": "Something"},
    ]
    entries = [e for row in rows if (e := history_entry(row))]
    assert [(e.kind, e.time, e.status) for e in entries] == [
        (BackupKind.FULL, datetime(2026, 11, 22, 2, 0, 5), "Completed"),
        (BackupKind.CUMULATIVE, datetime(2026, 11, 22, 6, 0), "Warning"),
    ]
    assert entries[0].device == "/b/f.cbk" and entries[0].log_file == "/b/f.log"


def test_history_prefers_the_start_column_and_reads_horolog_and_kind_words() -> None:
    row = {
        "DateTimeEnd": "2026-11-22 03:00:00",
        "DateTimeStart": "67896,7205",
        "Type": "Cumulative Incremental Backup",
        "Status": "Completed",
    }
    entry = history_entry(row)
    assert entry is not None
    assert (entry.time, entry.kind) == (datetime(2026, 11, 22, 2, 0, 5), BackupKind.CUMULATIVE)


def test_history_logs_its_columns_and_each_row_it_cannot_read_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = {
        "ok": 1,
        "columns": ["When", "Kind"],
        "rows": [{"When": "yesterday", "Kind": "Full"}],
    }
    assert ClassPort(PortClass(HistoryJSON=reply)).backup_history() == []
    assert "Backup.Task:History columns: When, Kind" in caplog.text
    assert "row left out (no readable time or kind): {'When': 'yesterday', 'Kind': 'Full'}" in (
        caplog.text
    )


def volume_port(**info: str) -> ClassPort:
    answer = {"ok": 1, "value": "1", "info": info, "directories": ["/d/user/"]}
    return ClassPort(PortClass(VolumeInfoJSON=answer))


def test_volume_info_reads_the_label_date_as_iris_returns_it() -> None:
    label = volume_port(
        BackupType="Incremental", BackupDate="NOV 22 2026", BackupTime="02:00AM", Description="n"
    ).volume_info("/b/i.cbk")
    assert (label.kind, label.time, label.directories) == (
        BackupKind.INCREMENTAL,
        datetime(2026, 11, 22, 2, 0),
        ("/d/user/",),
    )
    assert label.time_text == "NOV 22 2026 02:00AM"


def test_volume_info_prefers_the_horolog_for_its_seconds() -> None:
    label = volume_port(
        BackupType="Full", BackupDate="NOV 22 2026", BackupTime="02:00AM", BackupTimeDH="67896,7237"
    ).volume_info("/b/f.cbk")
    assert label.time == datetime(2026, 11, 22, 2, 0, 37)


def test_a_label_date_in_no_known_form_is_no_time_and_keeps_its_text() -> None:
    label = volume_port(
        BackupType="Full", BackupDate="2026-11-22", BackupTime="02:00:05"
    ).volume_info("/b/f.cbk")
    assert label.time is None and label.time_text == "2026-11-22 02:00:05"


def test_an_unreadable_volume_is_an_error() -> None:
    bad = ClassPort(PortClass(VolumeInfoJSON={"ok": 1, "value": "0", "info": {"BackupType": ""}}))
    with pytest.raises(IrisError, match="not a backup volume"):
        bad.volume_info("/b/x.cbk")


def test_external_is_not_an_online_backup_type() -> None:
    with pytest.raises(IrisError, match="not an online backup type"):
        ClassPort(PortClass()).online_backup(
            BackupKind.EXTERNAL, description="", file="", log_file="", quiet_timeout=1
        )


def test_online_backup_carries_the_log_text_the_instance_read_back() -> None:
    done = {"ok": 1, "state": "done", "value": "1", "error": "", "log": "***FINISHED BACKUP***\n"}
    outcome = backup(quick(PortClass(StartBackup=STARTED, BackupResult=done)))
    assert outcome.log_text == "***FINISHED BACKUP***\n"


@pytest.mark.parametrize(
    "when", ["２０２６-11-22 02:00:05", "2026-11-22 ٠٢:00:05", "１1/22/2026 06:00:00"]
)
def test_history_rows_dated_in_non_ascii_digits_are_left_out(when: str) -> None:
    assert history_entry({"Date": when, "Type": "Full", "Status": "Completed"}) is None


def test_the_backup_list_comes_back_as_database_names() -> None:
    port = ClassPort(PortClass(BackupListJSON={"ok": 1, "databases": ["USER", "T1"]}))
    assert port.backup_database_list() == ["USER", "T1"]


@pytest.mark.parametrize("entry", ["/usr/irissys/mgr/user/", "C:\\InterSystems\\mgr\\user\\", ""])
def test_a_backup_list_entry_that_is_no_database_name_is_refused(entry: str) -> None:
    port = ClassPort(PortClass(BackupListJSON={"ok": 1, "databases": ["USER", entry]}))
    with pytest.raises(IrisError, match="not a database name"):
        port.backup_database_list()


@pytest.mark.parametrize("entry", ["/usr/irissys/mgr/user/", "", " USER", "US\nER", 7])
def test_a_list_to_set_is_checked_whole_before_iris_is_asked(entry: object) -> None:
    port_class = PortClass(SetBackupList={"ok": 1})
    with pytest.raises(IrisError, match="not a database name"):
        ClassPort(port_class).set_backup_database_list(["USER", entry])  # type: ignore[list-item]
    assert port_class.calls == []


def test_a_list_of_names_is_passed_as_json() -> None:
    port_class = PortClass(SetBackupList={"ok": 1})
    ClassPort(port_class).set_backup_database_list(["USER", "IRISAPP"])
    assert port_class.calls == [("SetBackupList", ('["USER", "IRISAPP"]',))]


def test_metrics_are_published_as_one_json_array_of_sensor_value_and_labels() -> None:
    port_class = PortClass(PublishMetrics={"ok": 1, "count": 2})
    ClassPort(port_class).publish_metrics(
        [
            SensorValue("restorable_chains", 2, {"directory": "/b", "instance": "IRIS"}),
            SensorValue("unmanaged_files", 0.0),
        ]
    )
    [(method, (sent,))] = port_class.calls
    assert method == "PublishMetrics"
    assert json.loads(str(sent)) == [
        {
            "sensor": "restorable_chains",
            "value": 2,
            "labels": {"directory": "/b", "instance": "IRIS"},
        },
        {"sensor": "unmanaged_files", "value": 0.0, "labels": {}},
    ]


def test_a_refused_snapshot_is_an_iris_error() -> None:
    port_class = PortClass(PublishMetrics={"ok": 0, "error": "<PROTECT>"})
    with pytest.raises(IrisError, match="PublishMetrics: <PROTECT>"):
        ClassPort(port_class).publish_metrics([])


def test_a_sharded_freeze_answer_keeps_the_checkpoint_number_and_journals() -> None:
    answer = {
        "ok": 1,
        "requiredFile": "",
        "checkpoint": {
            "top": "4",
            "nodes": [{"subscripts": ["shard1", 1972], "value": "/j/20261122.002"}],
            "truncated": 0,
        },
    }
    frozen = ClassPort(PortClass(ExternalFreeze=answer)).external_freeze(
        log_file="", text="", freeze_timeout=0, wd_suspend_limit=0, sharded_namespace="M"
    )
    assert frozen.required_journal is None and frozen.checkpoint is not None
    assert frozen.checkpoint.number == "4"
    assert [(j.host, j.port, j.file) for j in frozen.checkpoint.journals] == [
        ("shard1", "1972", "/j/20261122.002")
    ]


def test_a_freeze_that_is_not_sharded_has_no_checkpoint() -> None:
    answer = {"ok": 1, "requiredFile": "/j/20261122.002"}
    frozen = ClassPort(PortClass(ExternalFreeze=answer)).external_freeze(
        log_file="", text="", freeze_timeout=0, wd_suspend_limit=0
    )
    assert frozen.checkpoint is None and frozen.required_journal == "/j/20261122.002"


EXTSELCT_OUTPUT = "***Restoring /d/t1/ to /d/t1rest/ at 15:06:39\nStarting skip of /d/user/.\n"


def test_restore_backup_sends_the_map_and_reads_what_dbrest_restored() -> None:
    port_class = PortClass(RestoreBackup={"ok": 1, "code": "1", "output": EXTSELCT_OUTPUT})
    outcome = ClassPort(port_class).restore_backup("/b/f.cbk", {"/d/t1/": "/d/t1rest/"})
    assert outcome.restored == {"/d/t1/": "/d/t1rest/"} and outcome.skipped == ("/d/user/",)
    assert port_class.calls == [("RestoreBackup", ("/b/f.cbk", '{"/d/t1/": "/d/t1rest/"}'))]


def test_restore_backup_with_an_empty_map_restores_nothing_and_never_calls_iris() -> None:
    port_class = PortClass()
    with pytest.raises(IrisError, match="the directory map is empty"):
        ClassPort(port_class).restore_backup("/b/f.cbk", {})
    assert port_class.calls == []


def test_restore_backup_explains_minus_2() -> None:
    port = ClassPort(PortClass(RestoreBackup={"ok": 1, "code": -2, "output": ""}))
    with pytest.raises(IrisError, match=r"returned -2 for /b/f.cbk: the volume label does not"):
        port.restore_backup("/b/f.cbk", {"/d/t1/": "/d/t1/"})


def test_restore_backup_never_takes_an_unlisted_code_for_success() -> None:
    port = ClassPort(PortClass(RestoreBackup={"ok": 1, "code": "0", "output": EXTSELCT_OUTPUT}))
    with pytest.raises(IrisError, match=r"returned 0 for /b/f\.cbk: a value the documentation"):
        port.restore_backup("/b/f.cbk", {"/d/t1/": "/d/t1rest/"})


def test_restore_journals_selects_and_redirects_and_reads_the_journal_databases() -> None:
    answer = {
        "ok": 1,
        "selected": ["/d/t1/"],
        "redirected": {"/d/t1/": "/d/t1rest/"},
        "journalDatabases": ["/d/t1/", "/d/user/"],
    }
    port_class = PortClass(RestoreJournals=answer)
    outcome = ClassPort(port_class).restore_journals(
        "/j/20240426.002", select=["/d/t1/"], redirect={"/d/t1/": "/d/t1rest/"}
    )
    assert outcome.selected == ("/d/t1/",) and outcome.redirected == {"/d/t1/": "/d/t1rest/"}
    assert outcome.journal_databases == ("/d/t1/", "/d/user/")
    assert port_class.calls == [
        ("RestoreJournals", ("/j/20240426.002", '["/d/t1/"]', '{"/d/t1/": "/d/t1rest/"}'))
    ]


def test_restore_journals_with_nothing_selected_is_refused_before_iris() -> None:
    port_class = PortClass()
    with pytest.raises(IrisError, match="no database selected"):
        ClassPort(port_class).restore_journals("/j/1", select=[], redirect={"/a/": "/b/"})
    assert port_class.calls == []


def test_journal_files_are_asked_with_a_bound_and_read_by_position(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port_class = PortClass(
        JournalFilesJSON={
            "ok": 1,
            "current": "/j/20261120.002",
            "columns": ["Name", "Size"],
            "files": [["/j/20261120.002", 10], ["/j/20261120.001", 20]],
            "complete": 1,
        }
    )
    with caplog.at_level(logging.DEBUG, logger="backup_keeper.iris.class_port"):
        files = quick(port_class).journal_files()
    assert [f.path for f in files.files] == ["/j/20261120.002", "/j/20261120.001"]
    assert port_class.calls == [("JournalFilesJSON", (20000,))]
    assert "ByTimeReverseOrder columns: ['Name', 'Size']" in caplog.text


def test_journal_settings_come_from_config_journal_by_name() -> None:
    port_class = PortClass(
        JournalSettingsJSON={
            "ok": 1,
            "settings": {"DaysBeforePurge": "7", "BackupsBeforePurge": "0", "PurgeArchived": "0"},
        }
    )
    settings = quick(port_class).journal_settings()
    assert (settings.days_before_purge, settings.backups_before_purge) == (7, 0)
    assert settings.purge_archived is False


@pytest.mark.parametrize(
    "answer", ["{not json", '{"ok":1,"files":"x"}', '{"ok":0,"error":"<PROTECT>"}']
)
def test_a_bad_journal_answer_is_an_iris_error_never_a_traceback(answer: str) -> None:
    with pytest.raises(IrisError):
        quick(PortClass(JournalFilesJSON=answer)).journal_files()
