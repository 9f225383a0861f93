"""docs/iris-ledger.md names every IRIS call the code makes, and every doubt marked `[U]`.

The calls are read from the ObjectScript classes in cls/, from iris.script and the ObjectScript
tools/e2e.sh hands to ``iris session``, from the Python
adapters in src/backup_keeper/iris/ and from the IRIS formats in src/backup_keeper/iris_formats/
(their strings and comments included, since the adapters name IRIS calls there), with the same
patterns the ledger's **call** column is read with. Class and method names are case-sensitive in
IRIS and are matched exactly; only the `$SYSTEM` keyword is not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "docs" / "iris-ledger.md"
OWN_PACKAGE = "##class(BackupKeeper."
"""The project's own classes are not IRIS facts."""
VERDICTS = ("confirmed", "wrong: ", "unverified: ")

_CLASS_CALL = re.compile(r"##class\(([%\w.]+)\)\.(%?\w+)\(", re.ASCII)
_PYTHON_CLASS_CALL = re.compile(r"""iris\.cls\(["']([%\w.]+)["']\)\.(\w+)\(""", re.ASCII)
_SYSTEM_CALL = re.compile(r"\$system\.(\w+)\.(\w+)\(", re.IGNORECASE | re.ASCII)
_ROUTINE = re.compile(r"\b([A-Z][A-Z0-9]*)\^(%?[A-Z][A-Z0-9]*)\b")
_GLOBAL = re.compile(r'(?<![\w^$])\^(?:\|"[^"|]*"\|)?(%?[A-Za-z][\w.]*)', re.ASCII)
"""A global, plain or by extended reference (``^|"%SYS"|Name`` is ``^Name``)."""
_CLASS_QUERY = re.compile(r"""%ResultSet\)\.%New\("([%\w.]+:\w+)"\)""", re.ASCII)
_CELL_BORDER = re.compile(r"(?<!\\)\|")
"""A table cell border: a pipe not escaped (``\\|`` is a pipe inside a cell, as Markdown has it)."""
_METHOD = re.compile(r"^(?:Class)?Method (\w+)\(", re.ASCII)


def calls_in(text: str) -> set[str]:
    """Each IRIS call in ``text``, in one spelling: ``iris.cls("X")._New(`` is
    ``##class(X).%New(``, ``$$TAG^ROUTINE(`` is ``TAG^ROUTINE``."""
    found = {f"##class({c}).{m}(" for c, m in _CLASS_CALL.findall(text)}
    found |= {f"##class({c}).{re.sub('^_', '%', m)}(" for c, m in _PYTHON_CLASS_CALL.findall(text)}
    found |= {f"$SYSTEM.{c}.{m}(" for c, m in _SYSTEM_CALL.findall(text)}
    found |= {f"{tag}^{routine}" for tag, routine in _ROUTINE.findall(text)}
    found |= {f"^{name}" for name in _GLOBAL.findall(text)}
    found |= set(_CLASS_QUERY.findall(text))
    return {call for call in found if not call.startswith(OWN_PACKAGE)}


def python_text(source: str) -> str:
    """The source without the patterns handed to ``re``: a regex's ``^`` is no global."""
    patterns = [
        ast.get_source_segment(source, node.args[0]) or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        and node.args
    ]
    for pattern in patterns:
        source = source.replace(pattern, "")
    return source


def code_files() -> dict[Path, str]:
    classes = sorted((ROOT / "cls").rglob("*.cls"))
    package = ROOT / "src" / "backup_keeper"
    adapters = sorted([*(package / "iris").glob("*.py"), *(package / "iris_formats").glob("*.py")])
    adapters += sorted((ROOT / "tests" / "e2e").glob("*.py"))
    scripts = [ROOT / "iris.script", ROOT / "tools" / "e2e.sh"]
    texts = {path: path.read_text() for path in [*classes, *scripts]}
    texts.update({path: python_text(path.read_text()) for path in adapters})
    return texts


def ledger_rows() -> list[list[str]]:
    """The fact rows of the ledger's tables: call, used in, assumed, namespace, source, verdict."""
    assert LEDGER.is_file(), f"{LEDGER.relative_to(ROOT)} is missing: the IRIS ledger must exist"
    rows = []
    for line in LEDGER.read_text().splitlines():
        inner = line.strip().removeprefix("|").removesuffix("|")
        cells = [cell.strip().replace("\\|", "|") for cell in _CELL_BORDER.split(inner)]
        if line.startswith("|") and cells[0] not in ("call", "---"):
            rows.append(cells)
    return rows


def marker_units(path: Path) -> set[str]:
    """``File:Unit`` for each ``[U]`` marker: the method a cls doc comment describes (or the
    method it sits in), the Python function or class it sits in, else ``module``."""
    lines = path.read_text().splitlines()
    markers = [i for i, line in enumerate(lines) if "[U]" in line]
    if path.suffix == ".py":
        tree = ast.parse("\n".join(lines))
        return {f"{path.name}:{_enclosing(tree, i + 1)}" for i in markers}
    heads = [(i, m[1]) for i, line in enumerate(lines) if (m := _METHOD.match(line))]
    units = set()
    for i in markers:
        if lines[i].lstrip().startswith("///"):
            units.add(next(name for at, name in heads if at > i))
        else:
            units.add([name for at, name in heads if at < i][-1])
    return {f"{path.name}:{unit}" for unit in units}


def _enclosing(tree: ast.Module, line: int) -> str:
    spans = [
        ((node.end_lineno or node.lineno) - node.lineno, node.name)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return min(spans)[1] if spans else "module"


def test_every_iris_call_in_the_code_has_a_ledger_row() -> None:
    named = set().union(*(calls_in(row[0]) for row in ledger_rows()))
    missing = sorted(
        f"{path.relative_to(ROOT)}: {call}"
        for path, text in code_files().items()
        for call in calls_in(text) - named
    )
    assert missing == [], "IRIS calls the ledger does not name:\n" + "\n".join(missing)


def test_every_unsure_marker_has_a_ledger_row_for_its_method() -> None:
    used_in = " ".join(row[1] for row in ledger_rows())
    units = set().union(*(marker_units(path) for path in code_files()))
    assert sorted(unit for unit in units if unit not in used_in) == []


def test_every_row_has_a_verdict_and_a_source_for_what_it_settles() -> None:
    for row in ledger_rows():
        assert len(row) == 6, row[0]
        assert row[-1].startswith(VERDICTS), f"{row[0]}: verdict {row[-1][:40]!r}"
        assert row[4] or row[-1].startswith("unverified"), f"{row[0]}: no source"


def test_the_scanner_reads_every_form_of_call_and_no_regex() -> None:
    objectscript = (
        "set x=##class(Backup.General).ExternalFreeze(a) do EXTALL^DBREST(1) "
        'set y=$$BACKUP^DBACK("") set z=$system.Mirror.IsMember() lock +^My.Lock(1):0 '
        'set m=^|"%SYS"|My.Marker '
        'set rs=##class(%ResultSet).%New("Backup.Task:History") do ##class(BackupKeeper.X).Y()'
    )
    assert calls_in(objectscript) == {
        "##class(Backup.General).ExternalFreeze(",
        "EXTALL^DBREST",
        "BACKUP^DBACK",
        "$SYSTEM.Mirror.IsMember(",
        "^My.Lock",
        "^My.Marker",
        "Backup.Task:History",
        "##class(%ResultSet).%New(",
    }
    python = (
        'import re\nP = re.compile(r"^Backup pass")\nQ = re.match(r"^Copied", "x")\n'
        'V = iris.cls("Ens.AlertRequest")._New()  # then LOCK +^Name\n'
    )
    assert calls_in(python_text(python)) == {"##class(Ens.AlertRequest).%New(", "^Name"}


def test_a_marker_is_tied_to_the_method_it_documents(tmp_path: Path) -> None:
    cls = tmp_path / "A.cls"
    cls.write_text(
        "Class A\n{\n/// [U] doubt\nClassMethod First() {\n}\n"
        "ClassMethod Second() {\n  // [U] inner doubt\n}\n}\n"
    )
    py = tmp_path / "a.py"
    py.write_text('"""[U] module doubt"""\n\n\ndef f() -> None:\n    pass  # [U] doubt\n')
    assert marker_units(cls) == {"A.cls:First", "A.cls:Second"}
    assert marker_units(py) == {"a.py:module", "a.py:f"}
