"""The doors (cli/, tasks.py, interop/) import only the door layer (door.py), the jobs, the
settings and the reports, besides their own modules, the standard library and their
frameworks (typer, rich, iop, pydantic). Everything else they need passes through door.py, so
two doors cannot reach the core by different roads. Imports are read with ``ast``, those inside
functions included."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "backup_keeper"
LAYERS: tuple[str, ...] = ("backup_keeper.door", "backup_keeper.jobs", "backup_keeper.settings")
LAYERS += ("backup_keeper.report",)
FRAMEWORKS = {"typer", "rich", "iop", "pydantic"}
DOORS = sorted([*PACKAGE.joinpath("cli").glob("*.py"), *PACKAGE.joinpath("interop").glob("*.py")])
DOORS.append(PACKAGE / "tasks.py")


def imported(source: str) -> list[str]:
    """Every module ``source`` imports (``from a import b`` is ``a``), in order."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports hide where a name comes from"
            names.append(node.module or "")
    return names


def forbidden(source: str, own: str) -> list[str]:
    """What ``source``, a door module of package ``own``, may not import."""
    allowed = (*LAYERS, own)
    wrong = []
    for name in imported(source):
        top = name.partition(".")[0]
        if name == "backup_keeper":
            continue  # the package itself: its version
        if top == "backup_keeper":
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                wrong.append(name)
        elif top not in sys.stdlib_module_names and top not in FRAMEWORKS and top != "__future__":
            wrong.append(name)
    return wrong


def own_package(path: Path) -> str:
    if path.parent == PACKAGE:
        return f"backup_keeper.{path.stem}"
    return f"backup_keeper.{path.parent.name}"


@pytest.mark.parametrize("path", DOORS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_door_imports_only_the_door_layer_jobs_settings_and_reports(path: Path) -> None:
    assert forbidden(path.read_text(), own_package(path)) == []


def test_the_rule_catches_a_door_reaching_past_the_door_layer() -> None:
    source = (
        "import json\n"
        "from backup_keeper.door import open_port\n"
        "from backup_keeper.jobs.purge import run_purge\n"
        "from backup_keeper.cli.render import printable\n"
        "from backup_keeper.alerts.build import build_notifier\n"
        "def f():\n"
        "    from backup_keeper.iris.fake import FakeIris\n"
        "    import requests\n"
    )
    assert forbidden(source, "backup_keeper.cli") == [
        "backup_keeper.alerts.build",
        "backup_keeper.iris.fake",
        "requests",
    ]
    assert forbidden("from backup_keeper.cli.render import printable\n", "backup_keeper.interop")


def test_every_door_module_is_checked() -> None:
    names = {str(p.relative_to(PACKAGE)) for p in DOORS}
    assert {"tasks.py", "cli/app.py", "cli/guard.py", "interop/operations.py"} <= names
