"""Every ObjectScript class in cls/ parses with tree-sitter-objectscript, with no error node."""

from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter
import tree_sitter_objectscript

CLS = Path(__file__).resolve().parents[2] / "cls"
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_objectscript.language_objectscript()))


def error_nodes(source: bytes) -> list[str]:
    found: list[str] = []
    stack = [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            found.append(f"line {line}: {source[node.start_byte : node.end_byte][:60]!r}")
        stack.extend(node.children)
    return found


@pytest.mark.parametrize("path", sorted(CLS.rglob("*.cls")), ids=lambda p: p.name)
def test_class_parses_without_errors(path: Path) -> None:
    assert error_nodes(path.read_bytes()) == []


def test_the_check_can_fail() -> None:
    broken = b"Class A.B\n{\nClassMethod X() As %String\n{\n    set x = (1 +\n}\n}\n"
    assert error_nodes(broken)


def test_there_are_classes_to_check() -> None:
    names = {str(p.relative_to(CLS)) for p in CLS.rglob("*.cls")}
    assert {
        "BackupKeeper/Port.cls",
        "BackupKeeper/Installer.cls",
        "BackupKeeper/Metrics.cls",
        "BackupKeeper/Task/OnlineBackup.cls",
        "BackupKeeper/Task/ExternalBackup.cls",
        "BackupKeeper/Task/Purge.cls",
        "BackupKeeper/Task/FreshnessCheck.cls",
        "BackupKeeper/Task/Copy.cls",
        "BackupKeeper/Task/Metrics.cls",
    } <= names
