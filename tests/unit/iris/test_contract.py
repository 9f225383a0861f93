"""What every IrisPort adapter must do alike. Runs on FakeIris always, on the real adapters when
an IRIS is reachable (see conftest.py for how)."""

from __future__ import annotations

import re
from pathlib import Path
from uuid import uuid4

import pytest

from backup_keeper.iris.bounded import BoundedIris
from backup_keeper.iris.embedded import EmbeddedIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import IrisPort, OnlineResult, Severity
from backup_keeper.iris_formats.backup_log import parse_backup_log
from backup_keeper.kinds import BackupKind
from tests.unit.iris.conftest import PortFactory


def test_adapter_is_an_iris_port_and_names_itself(port_factory: PortFactory) -> None:
    port = port_factory()
    assert isinstance(port, IrisPort)
    assert port.adapter_name in ("fake", "native", "embedded")


def test_instance_identity(port_factory: PortFactory) -> None:
    info = port_factory().instance()
    assert info.name and isinstance(info.name, str)
    assert "IRIS" in info.version
    assert info.manager_directory.endswith(("/", "\\"))


def test_mirror_state_has_a_role(port_factory: PortFactory) -> None:
    assert port_factory().mirror().role in ("none", "primary", "backup", "async", "failover")


def test_databases_and_size_estimate(port_factory: PortFactory) -> None:
    port = port_factory()
    databases = port.databases()
    assert databases and all(d.directory for d in databases)
    size = port.size_estimate(BackupKind.FULL)
    assert size.database_blocks > 0 and size.bytes_for_file > 0
    assert size.directories == len(databases)


def test_console_log_accepts_every_severity(port_factory: PortFactory) -> None:
    port = port_factory()
    token = uuid4().hex
    for severity in Severity:
        port.write_console_log(f"backup-keeper contract test {token} ({severity.name})", severity)
    written = [
        (level, text) for level, text in _console_log(port) if f"contract test {token} " in text
    ]
    assert written == [
        (int(s), f"backup-keeper contract test {token} ({s.name})") for s in Severity
    ]


_MESSAGES_LINE = re.compile(r"^\S+ \([0-9]+\) ([0-3]) \[[^\]]*\] (.*)$", re.ASCII)
"""A messages.log line: ``MM/DD/YY-HH:MM:SS:mmm (pid) severity [Event] message``."""


def _console_log(port: IrisPort) -> list[tuple[int, str]]:
    """(severity, message) of every console log line: the fake's record, else messages.log in
    the manager directory when this process can read it (embedded; native on the same host)."""
    inner = port.port if isinstance(port, BoundedIris) else port
    if isinstance(inner, FakeIris):
        return inner.snapshot().console_log
    log = Path(port.instance().manager_directory) / "messages.log"
    if not log.is_file():
        if isinstance(inner, EmbeddedIris):
            pytest.fail(f"{log}: inside the instance its own console log must be readable")
        pytest.skip(f"{log} cannot be read from here (a remote instance's console log)")
    found = (_MESSAGES_LINE.match(line) for line in log.read_text(errors="replace").splitlines())
    return [(int(m[1]), m[2]) for m in found if m]


def test_named_lock_is_exclusive_between_clients(port_factory: PortFactory) -> None:
    first, second = port_factory(), port_factory()
    assert first.acquire_lock("backup-keeper-contract", timeout=1)
    try:
        assert not second.acquire_lock("backup-keeper-contract", timeout=0.2)
    finally:
        first.release_lock("backup-keeper-contract")
    assert second.acquire_lock("backup-keeper-contract", timeout=1)
    second.release_lock("backup-keeper-contract")


def test_full_then_incremental_backup_writes_files_history_and_label(
    port_factory: PortFactory, backup_dir: Path
) -> None:
    port = port_factory()
    results = []
    for kind in (BackupKind.FULL, BackupKind.INCREMENTAL):
        cbk = backup_dir / f"contract_{kind}.cbk"
        log = cbk.with_suffix(".log")
        outcome = port.online_backup(
            kind, description=f"contract {kind}", file=str(cbk), log_file=str(log), quiet_timeout=60
        )
        assert outcome.result in (OnlineResult.COMPLETED, OnlineResult.WARNING), outcome
        assert cbk.stat().st_size > 0
        parsed = parse_backup_log(log.read_text())
        assert parsed.finished and parsed.journal_required
        assert parsed.device == str(cbk)
        results.append(cbk)
    history = port.backup_history()
    assert [h.device for h in history[:2]] == [str(results[1]), str(results[0])]
    assert [h.kind for h in history[:2]] == [BackupKind.INCREMENTAL, BackupKind.FULL]
    label = port.volume_info(str(results[0]))
    assert label.kind is BackupKind.FULL and label.description == "contract full"
