"""The installer's Task Manager schedule: every task it creates, its Uninstall removes (by the
same name and class), and every task type in cls/BackupKeeper/Task is on that schedule, so no
task type ships that nothing runs (BackupKeeper.Task.Metrics above all: nothing else keeps the
snapshot IRIS's monitor shows fresh between jobs)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "cls" / "BackupKeeper" / "Installer.cls"
TASKS = ROOT / "cls" / "BackupKeeper" / "Task"
_CREATED = re.compile(r'EnsureTask\("([^"]+)", "([\w.]+)"', re.ASCII)
_REMOVED = re.compile(r'\$listbuild\("([^"]+)", "(BackupKeeper\.Task\.[\w]+)"\)', re.ASCII)


def _method(text: str, name: str) -> str:
    start = text.index(f"ClassMethod {name}(")
    end = text.find("\nClassMethod ", start + 1)
    return text[start : end if end != -1 else len(text)]


def created(text: str) -> set[tuple[str, str]]:
    return set(_CREATED.findall(_method(text, "Install")))


def removed(text: str) -> set[tuple[str, str]]:
    return set(_REMOVED.findall(_method(text, "Uninstall")))


def test_every_task_the_installer_creates_its_uninstall_removes() -> None:
    text = INSTALLER.read_text()
    assert created(text)
    assert created(text) == removed(text)


def test_every_task_type_is_on_the_installers_schedule() -> None:
    types = {f"BackupKeeper.Task.{p.stem}" for p in TASKS.glob("*.cls") if p.stem != "Runner"}
    scheduled = {task_class for _, task_class in created(INSTALLER.read_text())}
    missing = types - scheduled - {"BackupKeeper.Task.ExternalBackup", "BackupKeeper.Task.Copy"}
    assert missing == set(), "task types nothing schedules"
    assert ("metrics", "BackupKeeper.Task.Metrics") in created(INSTALLER.read_text())


def test_the_check_fails_when_uninstall_forgets_a_task() -> None:
    text = INSTALLER.read_text().replace(
        '$listbuild("daily purge", "BackupKeeper.Task.Purge"), ', ""
    )
    assert created(text) != removed(text)
