"""The core's imports point one way (issue 14, item 2), read from the source with ``ast``.

A unit is a subpackage of ``backup_keeper`` (``catalog``, ``iris``, ``jobs``, ...) or one of its
top-level modules (``report``, ``settings``, ``checksum``, ...). Every unit sits in one layer;
a unit may import from its own layer or any layer below, never from one above. Bottom first:

1. foundation: clock, durations, sizes, timezones, processes, safe_files, small_files, compression,
   encryption, gc_pause, snapshot_command, freeze_marker, settings, destination_settings -- no
   knowledge of backups.
2. vocabulary: kinds, iris_formats, checksum -- what a backup is and what IRIS writes about
   one; both sides of the port read these, so neither owns them.
3. sources: catalog, iris, destinations -- the files on disk, the instance and the second places
   backups are copied to; none imports another.
4. findings: integrity, retention, report, mirror_policy, timeline, journal_coverage --
   judgements over what was found, and the picture of them.
5. effects: restore, purge, alerts, notify, offsite, metrics, last_run -- plans carried out,
   copies made, people told (metrics reads the alerts' state, so it sits here though it changes
   nothing; last_run keeps what the last purge and verify did, for the metrics).
6. jobs -- one module per job; importing one imports no other (tests/unit/jobs/test_entry_points.py).
7. doors: door, tasks, cli, interop, __main__, and what the installer calls (install_check,
   production_definition) -- nothing below imports them (what the doors themselves may import
   is the doors' own test).

Within the core (layers 1-6) no two units import each other, directly or round a longer circle.
Imports inside functions and under ``TYPE_CHECKING`` count: a circle that only works because an
import is deferred is still a circle. The same list stands in ``backup_keeper/__init__.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import backup_keeper

PACKAGE = Path(backup_keeper.__file__).parent
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "foundation",
        frozenset(
            {
                "clock",
                "durations",
                "sizes",
                "timezones",
                "processes",
                "safe_files",
                "small_files",
                "compression",
                "encryption",
                "gc_pause",
                "snapshot_command",
                "freeze_marker",
                "progress",
                "settings",
                "destination_settings",
            }
        ),
    ),
    ("vocabulary", frozenset({"kinds", "iris_formats", "checksum"})),
    ("sources", frozenset({"catalog", "iris", "destinations"})),
    (
        "findings",
        frozenset(
            {"integrity", "retention", "report", "mirror_policy", "timeline", "journal_coverage"}
        ),
    ),
    (
        "effects",
        frozenset({"restore", "purge", "alerts", "notify", "offsite", "metrics", "last_run"}),
    ),
    ("jobs", frozenset({"jobs"})),
    (
        "doors",
        frozenset(
            {
                "door",
                "tasks",
                "cli",
                "interop",
                "__main__",
                "install_check",
                "production_definition",
            }
        ),
    ),
)
DOORS = "doors"
Graph = dict[str, set[str]]


def _unit_of(path: Path, package: Path) -> str | None:
    """The unit a source file belongs to; None for the package's own ``__init__``."""
    parts = path.relative_to(package).with_suffix("").parts
    if parts == ("__init__",):
        return None
    return parts[0]


def _units(package: Path) -> set[str]:
    return {unit for path in package.rglob("*.py") if (unit := _unit_of(path, package)) is not None}


def _imported(node: ast.AST, name: str) -> list[str]:
    """The dotted names an import statement reaches, absolute, inside package ``name``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module is not None:
        assert node.level == 0, f"relative import of {node.module}: write it absolute"
        return [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def import_graph(package: Path) -> Graph:
    """Unit -> the other units it imports, from every import statement in its files."""
    name, units = package.name, _units(package)
    graph: Graph = {unit: set() for unit in units}
    for path in package.rglob("*.py"):
        source = _unit_of(path, package)
        if source is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for dotted in _imported(node, name):
                parts = dotted.split(".")
                if parts[0] == name and len(parts) > 1 and parts[1] in units:
                    graph[source].add(parts[1])
        graph[source].discard(source)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one unit (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for target in sorted(graph.get(unit, ())):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            group: list[str] = []
            while not group or group[-1] != unit:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return sorted(found)


def _layer_of() -> dict[str, int]:
    return {unit: level for level, (_, units) in enumerate(LAYERS) for unit in units}


def upward_arrows(graph: Graph) -> list[str]:
    """Every import from a unit to one in a higher layer, as ``a -> b (layer a < layer b)``. A unit
    with no layer is left to the test that every unit has one, which names it."""
    level = _layer_of()
    return [
        f"{unit} -> {target} ({LAYERS[level[unit]][0]} < {LAYERS[level[target]][0]})"
        for unit in sorted(graph)
        for target in sorted(graph[unit])
        if unit in level and target in level and level[target] > level[unit]
    ]


def core(graph: Graph) -> Graph:
    doors = dict(LAYERS)[DOORS]
    return {unit: targets - doors for unit, targets in graph.items() if unit not in doors}


def test_every_unit_of_the_package_has_a_layer() -> None:
    placed = set(_layer_of())
    assert _units(PACKAGE) - placed == set(), "add the new unit to a layer here and in __init__"
    assert placed - _units(PACKAGE) == set(), "a layer names a unit that no longer exists"


def test_no_arrow_runs_up_a_layer() -> None:
    assert upward_arrows(import_graph(PACKAGE)) == []


def test_no_circle_between_core_units() -> None:
    assert cycles(core(import_graph(PACKAGE))) == []


def _written_layers(text: str) -> list[str]:
    """The numbered items of a docstring's list, each with its continuation lines joined."""
    items: list[str] = []
    for line in text.splitlines():
        if re.match(r"^[0-9]+\. ", line):
            items.append(line)
        elif items and line.startswith("   ") and line.strip():
            items[-1] += " " + line.strip()
        elif items and not line.strip():
            break
    return items


def test_the_order_written_in_the_package_docstring_is_the_one_enforced() -> None:
    items = _written_layers(backup_keeper.__doc__ or "")
    assert len(items) == len(LAYERS)
    every_unit = set(_layer_of())
    for item, (layer, units) in zip(items, LAYERS, strict=True):
        words = set(re.findall(r"[a-z_]+", item))
        assert layer in words, f"{item!r} is not layer {layer}"
        assert words & every_unit == units, f"{item!r} does not list {sorted(units)}"


def _tree(root: Path, files: dict[str, str]) -> Path:
    package = root / "backup_keeper"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_a_circle_between_two_subpackages_is_found(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "catalog/__init__.py": "",
            "catalog/discover.py": "from backup_keeper.iris.backup_log import FINISHED\n",
            "iris/__init__.py": "",
            "iris/port.py": "def f():\n    from backup_keeper.catalog import record\n",
            "report.py": "import backup_keeper.catalog.discover\n",
        },
    )
    graph = import_graph(package)
    assert graph == {"catalog": {"iris"}, "iris": {"catalog"}, "report": {"catalog"}}
    assert cycles(graph) == [["catalog", "iris"]]


def test_a_longer_circle_through_a_top_level_module_is_found(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "checksum.py": "from backup_keeper.catalog.manifest import Checksum\n",
            "catalog/__init__.py": "",
            "catalog/manifest.py": "from backup_keeper import report\n",
            "report.py": "from backup_keeper.checksum import file_checksum\n",
        },
    )
    assert cycles(import_graph(package)) == [["catalog", "checksum", "report"]]


def test_an_import_from_a_higher_layer_is_named(tmp_path: Path) -> None:
    package = _tree(
        tmp_path,
        {
            "report.py": "from backup_keeper.restore.plan import RestorePlan\n",
            "restore/__init__.py": "",
            "restore/plan.py": "from backup_keeper.report import JobReport\n",
            "settings.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from backup_keeper.cli import app\n",
            "cli/__init__.py": "",
        },
    )
    assert upward_arrows(import_graph(package)) == [
        "report -> restore (findings < effects)",
        "settings -> cli (foundation < doors)",
    ]
