"""The guard in conftest.py: a stray ``iris`` call fails the test instead of passing quietly."""

from __future__ import annotations

import pytest


def test_any_use_of_the_iris_module_fails_loudly() -> None:
    import iris

    with pytest.raises(AssertionError, match=r"stray call iris\.cls"):
        iris.cls("Backup.General")


def test_core_never_imports_iris_iop_or_typer() -> None:
    import ast
    from pathlib import Path

    core = Path(__file__).resolve().parents[2] / "src" / "backup_keeper"
    for path in core.rglob("*.py"):
        if path.parts[-2] in ("cli", "iris", "interop", "production_definition"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("iris", "iop", "typer"), f"{path} imports {name}"
