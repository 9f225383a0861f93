"""``backup_keeper.jobs`` hands out each job's entry point without importing the others."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from backup_keeper import jobs


def _type_checking_imports() -> dict[str, str]:
    """Entry point -> module, as the ``TYPE_CHECKING`` block of ``jobs/__init__.py`` imports it."""
    tree = ast.parse(Path(jobs.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If))
    return {
        alias.name: node.module.rsplit(".", 1)[1]
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_the_lazy_table_and_the_type_checker_name_the_same_entry_points() -> None:
    assert _type_checking_imports() == jobs._HOME
    assert sorted(jobs.__all__) == sorted(jobs._HOME)


@pytest.mark.parametrize("name", sorted(jobs._HOME))
def test_each_entry_point_is_the_function_its_module_defines(name: str) -> None:
    module = importlib.import_module(f"backup_keeper.jobs.{jobs._HOME[name]}")
    assert getattr(jobs, name) is getattr(module, name)


def test_a_name_that_is_no_entry_point_is_no_attribute() -> None:
    with pytest.raises(AttributeError, match="run_everything"):
        _ = jobs.run_everything


def _jobs_loaded_by(statement: str) -> set[str]:
    probe = (
        f"import sys\n{statement}\n"
        "print(sorted(m for m in sys.modules if m.startswith('backup_keeper.jobs.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = ast.literal_eval(done.stdout)
    return set(loaded)


def test_importing_one_job_module_imports_no_other_job() -> None:
    loaded = _jobs_loaded_by("import backup_keeper.jobs.catalog")
    assert "backup_keeper.jobs.catalog" in loaded
    assert "backup_keeper.jobs.online_backup" not in loaded
    assert loaded <= {
        "backup_keeper.jobs.catalog",
        "backup_keeper.jobs.lifecycle",
        "backup_keeper.jobs.faults",
    }


def test_asking_the_package_for_one_entry_point_imports_only_its_job() -> None:
    loaded = _jobs_loaded_by("from backup_keeper.jobs import run_catalog")
    assert "backup_keeper.jobs.catalog" in loaded
    assert "backup_keeper.jobs.online_backup" not in loaded
    assert "backup_keeper.jobs.purge" not in loaded
