"""No call to the project's own classes while the namespace is %SYS, and one place for our globals.

Code that runs on live instances reports that the classes of the original namespace are invisible
after switching to %SYS (ipm#841, ipm#993 in docs/iris-ledger.md): `BackupKeeper.*` is not mapped
there, so a `..Helper()`, a `..#PARAM` or a `##class(BackupKeeper.X)` made after
`set $namespace = "%SYS"` fails, and a catch block that calls `..Failure(ex)` before restoring the
namespace fails inside its own error path. The scan follows each method's statements in order with
tree-sitter: from `set $namespace = "%SYS"` (or `zn "%SYS"`) until `$namespace` is set back, any
such call is a finding; a catch block whose try may have switched starts in %SYS and must restore
the namespace first. Branches and loops join conservatively (in %SYS if any path is).

Locks and markers in `^BackupKeeper.*` must be one per instance (the CLI in USER and the tasks in
BACKUPKEEPER share them), so every such reference is an extended reference into %SYS.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
import tree_sitter

from tests.cls.test_objectscript_parses import CLS, PARSER

OWN_PACKAGE = "BackupKeeper."
_BRANCHING = {"command_if", "command_for", "command_while", "command_dowhile"}
_LOOPS = {"command_for", "command_while", "command_dowhile"}


def _text(source: bytes, node: tree_sitter.Node) -> str:
    return source[node.start_byte : node.end_byte].decode()


class _Scan:
    """Findings (line: what) for one class source."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.findings: list[str] = []

    def run(self) -> list[str]:
        stack = [PARSER.parse(self.source).root_node]
        while stack:
            node = stack.pop()
            if node.type == "method_definition":
                self._sequence(_statements(node), False)
            else:
                stack.extend(node.children)
        return self.findings

    def _note(self, node: tree_sitter.Node, why: str) -> None:
        self.findings.append(f"line {node.start_point[0] + 1}: {why}: {_text(self.source, node)}")

    def _sequence(self, nodes: Iterable[tree_sitter.Node], in_sys: bool) -> tuple[bool, bool]:
        """The namespace state after ``nodes`` in order, and whether %SYS was reached inside."""
        ever = in_sys
        for node in nodes:
            in_sys, reached = self._visit(node, in_sys)
            ever = ever or reached
        return in_sys, ever

    def _visit(self, node: tree_sitter.Node, in_sys: bool) -> tuple[bool, bool]:
        kind = node.type
        if kind == "command_trycatch":
            return self._try(node, in_sys)
        if kind in _BRANCHING:
            return self._branch(node, in_sys)
        if kind == "set_argument" and self._sets_namespace(node):
            value = next(c for c in node.children if c.type == "expression")
            self._visit(value, in_sys)
            switched = _is_sys(self.source, value)
            return switched, in_sys or switched
        if kind == "command_zn":
            target = next((c for c in node.children if c.type == "expression"), None)
            switched = target is not None and _is_sys(self.source, target)
            return switched, in_sys or switched
        if in_sys and self._is_own_call(node):
            self._note(node, "own class called while $namespace is %SYS")
        return self._sequence(node.children, in_sys)

    def _try(self, node: tree_sitter.Node, in_sys: bool) -> tuple[bool, bool]:
        after_try, ever = self._sequence(_statements(node), in_sys)
        catch = next((c for c in node.children if c.type == "catch_block"), None)
        if catch is None:
            return after_try, ever
        body = _statements(catch)
        if ever and not (body and self._restores(body[0])):
            self._note(catch, "catch block after a switch to %SYS does not restore first")
        after_catch, reached = self._sequence(body, ever)
        return after_try or after_catch, ever or reached

    def _branch(self, node: tree_sitter.Node, in_sys: bool) -> tuple[bool, bool]:
        ends, ever = [in_sys], in_sys
        for child in node.children:
            if child.type == "statement":
                continue
            end, reached = self._visit(child, in_sys)
            ends.append(end)
            ever = ever or reached
        body = _statements(node)
        end, reached = self._sequence(body, in_sys)
        if node.type in _LOOPS and end and not in_sys:  # a second pass starts where one ends
            end, reached = self._sequence(body, True)
        return any([*ends, end]), ever or reached

    def _sets_namespace(self, node: tree_sitter.Node) -> bool:
        target = next((c for c in node.children if c.type == "set_target"), None)
        return target is not None and _text(self.source, target).strip().lower() == "$namespace"

    def _restores(self, statement: tree_sitter.Node) -> bool:
        for node in _descendants(statement):
            if node.type == "set_argument" and self._sets_namespace(node):
                value = next(c for c in node.children if c.type == "expression")
                return not _is_sys(self.source, value)
            if node.type == "set_argument":
                return False
        return False

    def _is_own_call(self, node: tree_sitter.Node) -> bool:
        text = _text(self.source, node)
        if node.type.startswith("relative_dot"):
            return True
        if node.type == "class_method_call":
            name = next(c for c in _descendants(node) if c.type == "class_name")
            return _text(self.source, name).startswith(OWN_PACKAGE)
        if node.type == "system_defined_function":
            lowered = text.replace(" ", "").lower()
            return lowered.startswith(f'$classmethod("{OWN_PACKAGE.lower()}')
        return False


def _statements(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.children if c.type == "statement"]


def _descendants(node: tree_sitter.Node) -> Iterable[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop(0)
        yield current
        stack[0:0] = current.children


def _is_sys(source: bytes, expression: tree_sitter.Node) -> bool:
    return _text(source, expression).strip().upper() == '"%SYS"'


def namespace_findings(source: bytes) -> list[str]:
    return _Scan(source).run()


def global_findings(source: bytes) -> list[str]:
    """Each ``^BackupKeeper.*`` reference that is not an extended reference into %SYS."""
    found = []
    for node in _descendants(PARSER.parse(source).root_node):
        if node.type != "gvn":
            continue
        name = next((c for c in node.children if c.type == "identifier"), None)
        if name is None or not _text(source, name).startswith(OWN_PACKAGE):
            continue
        where = [c for c in node.children if c.type == "expression"]
        if not (where and _is_sys(source, where[0]) and "|" in _text(source, node)[:3]):
            found.append(f"line {node.start_point[0] + 1}: {_text(source, node)}")
    return found


CLASSES = sorted(CLS.rglob("*.cls"))


@pytest.mark.parametrize("path", CLASSES, ids=lambda p: p.name)
def test_no_own_class_is_called_while_the_namespace_is_sys(path: Path) -> None:
    assert namespace_findings(path.read_bytes()) == []


@pytest.mark.parametrize("path", CLASSES, ids=lambda p: p.name)
def test_backup_keeper_globals_are_one_per_instance_in_sys(path: Path) -> None:
    assert global_findings(path.read_bytes()) == []


def _method(body: str) -> bytes:
    return f"Class A.B\n{{\nClassMethod M() As %String\n{{\n{body}\n}}\n}}\n".encode()


def test_the_scan_finds_helpers_called_after_the_switch_and_in_a_catch_that_has_not_restored() -> (
    None
):
    source = _method(
        "    new $namespace\n"
        "    try {\n"
        '        set $namespace = "%SYS"\n'
        "        set list = ..BackupListJSON(), p = ..#PREFIX\n"
        "        do ##class(BackupKeeper.Port).Other()\n"
        "        if 1 { set x = ##class(Backup.General).IsWDSuspended() }\n"
        "    } catch ex {\n"
        "        set out = ..Failure(ex)\n"
        "    }\n"
        "    quit out.%ToJSON()"
    )
    findings = namespace_findings(source)
    assert len(findings) == 5, findings
    assert [f.split(": ", 2)[1] for f in findings].count(
        "catch block after a switch to %SYS does not restore first"
    ) == 1
    assert any("..Failure(ex)" in f for f in findings)
    assert any("..#PREFIX" in f for f in findings)
    assert any("##class(BackupKeeper.Port).Other()" in f for f in findings)


def test_the_scan_accepts_work_in_sys_then_restore_then_helpers() -> None:
    source = _method(
        "    new $namespace\n"
        '    set home = $namespace, error = "", prefix = ..#PREFIX\n'
        "    try {\n"
        '        set $namespace = "%SYS"\n'
        "        for i = 1:1:3 { set sc = ##class(Backup.General).ClearDatabaseList() }\n"
        "        set $namespace = home\n"
        "    } catch ex {\n"
        "        set $namespace = home\n"
        "        set error = ..Failure(ex)\n"
        "    }\n"
        "    quit ..FromStatus(sc)"
    )
    assert namespace_findings(source) == []


def test_a_switch_in_a_branch_or_a_loop_counts_after_it() -> None:
    branch = _method(
        '    if x { zn "%SYS" }\n    do ..Helper()\n'
        '    while y { do ..Other()  set $namespace = "%SYS" }'
    )
    findings = namespace_findings(branch)
    assert any("..Helper()" in f for f in findings)
    assert any("..Other()" in f for f in findings)


def test_only_extended_references_into_sys_count_as_one_per_instance() -> None:
    source = _method(
        '    lock +^|"%SYS"|BackupKeeper.Lock(name):1\n'
        "    set ^BackupKeeper.Freeze = 1\n"
        '    set x = ^|"USER"|BackupKeeper.Freeze, y = ^Other.Global'
    )
    assert [f.split(": ", 1)[1] for f in global_findings(source)] == [
        "^BackupKeeper.Freeze",
        '^|"USER"|BackupKeeper.Freeze',
    ]
