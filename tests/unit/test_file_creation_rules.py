"""Every file the tool creates goes through ``backup_keeper.safe_files`` (issue 11, item 2).

Five hand-written "atomic write" routines with different guarantees were how planted symlinks
got followed. This test reads the package's source and fails on any other way of opening a file
for writing, renaming one into place or making a temporary file, so a sixth routine cannot
creep back in. The few exceptions are listed with the reason they are not files this tool
creates in a place someone else can write.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import backup_keeper

PACKAGE = Path(backup_keeper.__file__).parent
WRITING_MODES = set("wax+")
WRITING_FLAGS = {"O_CREAT", "O_WRONLY", "O_RDWR", "O_TRUNC", "O_APPEND"}
MOVING_CALLS = {"rename", "replace", "link", "renames", "symlink"}
ALLOWED: dict[tuple[str, str], str] = {
    ("safe_files.py", "*"): "the one place files are created",
    ("purge/lock.py", "_open_existing"): "opens the lock file safe_files created, read-write "
    "to record a pid, with O_NOFOLLOW and without O_CREAT; checked to be a regular file",
    ("iris/fake.py", "_state"): "the simulator's lock in its own private state directory, "
    "opened with O_NOFOLLOW; nothing is written to it",
    ("iris/fake.py", "acquire_lock"): "the simulator's named IRIS locks, likewise",
    ("iris/fake.py", "_append_log"): "FakeIris stands for IRIS appending to its own log",
    ("iris/fake.py", "_run_backup"): "FakeIris stands for IRIS writing its own backup log",
    ("iris/fake.py", "_write_volume"): "FakeIris stands for IRIS writing the .cbk (O_EXCL)",
}


def _mode_of(call: ast.Call) -> str | None:
    """The mode string of an ``open(...)``/``Path.open(...)`` call, when it is a literal."""
    candidates = [kw.value for kw in call.keywords if kw.arg == "mode"]
    is_builtin = isinstance(call.func, ast.Name)
    if len(call.args) > (1 if is_builtin else 0):
        candidates.append(call.args[1 if is_builtin else 0])
    for node in candidates:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def _names_in(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)} | {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name)
    }


def _parts(call: ast.Call) -> tuple[str, str]:
    """``(owner, name)`` of a call: ``os.open`` -> ("os", "open"), ``open`` -> ("", "open")."""
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else ""
        return owner, func.attr
    return "", getattr(func, "id", "")


def _opening(call: ast.Call, owner: str) -> str | None:
    if owner == "os":
        flags = _names_in(call.args[1]) if len(call.args) > 1 else set()
        return "os.open for writing" if flags & WRITING_FLAGS else None
    mode = _mode_of(call)
    return f"open({mode!r})" if mode is not None and WRITING_MODES & set(mode) else None


def _moving(call: ast.Call, owner: str, name: str) -> str | None:
    if name == "replace" and (len(call.args) != 1 or isinstance(call.args[0], ast.Constant)):
        return None  # str.replace("a", "b"), datetime.replace(tzinfo=...)
    if owner == "dataclasses":
        return None  # dataclasses.replace(record, field=...): a copy in memory
    if owner in ("os", "shutil") or not call.args[1:]:
        return f"{owner or '<path>'}.{name}"
    return None


def _offence(call: ast.Call) -> str | None:
    owner, name = _parts(call)
    if name == "open":
        return _opening(call, owner)
    if name in ("write_text", "write_bytes"):
        return name
    if name in MOVING_CALLS:
        return _moving(call, owner, name)
    if owner == "tempfile" or (owner == "shutil" and name.startswith(("copy", "move"))):
        return f"{owner}.{name}"
    return None


def _offences() -> Iterator[str]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if (relative, "*") in ALLOWED:
            continue
        tree = ast.parse(path.read_text(), filename=relative)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if (relative, function.name) in ALLOWED:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and (what := _offence(node)):
                    yield f"{relative}:{node.lineno} in {function.name}: {what}"


def test_every_file_the_tool_creates_goes_through_safe_files() -> None:
    found = sorted(set(_offences()))
    assert found == [], "create files with backup_keeper.safe_files instead:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_hand_written_write() -> None:
    """The rule cannot pass by accident: each forbidden shape is recognised."""
    source = """
def f(path, os, tempfile):
    open(path, "w")
    path.open("ab")
    path.write_text("x")
    os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW)
    temp.replace(path)
    os.rename(a, b)
    tempfile.mkstemp()
    shutil.copyfile(a, b)
    shutil.disk_usage(path)
    open(path, "rb")
    "a".replace("a", "b")
    moment.replace(tzinfo=zone)
    dataclasses.replace(record, size=1)
"""
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
    flagged = [what for call in calls if (what := _offence(call))]
    assert flagged == [
        "open('w')",
        "open('ab')",
        "write_text",
        "os.open for writing",
        "temp.replace",
        "os.rename",
        "tempfile.mkstemp",
        "shutil.copyfile",
    ]


def test_every_exception_names_a_function_that_still_exists() -> None:
    """An allowance for code that is gone would silently allow its replacement."""
    for relative, function in ALLOWED:
        if function == "*":
            assert (PACKAGE / relative).is_file()
            continue
        tree = ast.parse((PACKAGE / relative).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert function in names, f"{relative}: no function {function} any more"
