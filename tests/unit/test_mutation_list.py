"""The mutation pass's list (tools/mutate.py) still fits the source: every target is found exactly
once, so a refactoring cannot make a mutation silently mutate nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate"] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["mutate"]
    return module


def test_every_mutation_target_exists_exactly_once_in_the_source() -> None:
    mutate = load_mutate()
    assert mutate.problems() == []


def test_the_list_covers_each_safety_critical_area() -> None:
    mutate = load_mutate()
    files = {mutation.file for mutation in mutate.MUTATIONS}
    assert len(mutate.MUTATIONS) >= 30
    assert {
        "catalog/chains.py",
        "retention/plan.py",
        "jobs/external_backup.py",
        "jobs/freeze_recovery.py",
        "alerts/secrets.py",
        "purge/intent.py",
        "purge/executor.py",
    } <= files


def test_a_target_that_is_gone_or_ambiguous_is_reported(tmp_path: Path) -> None:
    mutate = load_mutate()
    first = mutate.MUTATIONS[0]
    source = tmp_path / first.path
    source.parent.mkdir(parents=True)
    source.write_text(first.old + "\n" + first.old)
    found = mutate.problems(tmp_path)
    assert f"{first.id}: target occurs 2 times in {first.path}" in found
    source.write_text("")
    assert f"{first.id}: target occurs 0 times in {first.path}" in mutate.problems(tmp_path)
