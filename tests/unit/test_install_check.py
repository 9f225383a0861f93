"""The installer's Python check, against real modules planted on sys.path (no IRIS needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backup_keeper import install_check


def plant(directory: Path, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, text in files.items():
        (directory / name).write_text(text)
    monkeypatch.syspath_prepend(str(directory))


def test_the_real_runtime_dependencies_import_on_a_supported_python() -> None:
    assert install_check.problems() == ""


def test_a_stale_module_is_named_with_the_file_it_was_loaded_from_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(
        tmp_path,
        {
            "stale_extensions_a.py": "OLD = 1\n",
            "needs_new_extensions_a.py": "from stale_extensions_a import NEW\n",
        },
        monkeypatch,
    )
    message = install_check.problems({"needs_new_extensions_a": "dist"}, (3, 12, 1))
    assert "import needs_new_extensions_a failed" in message
    assert "stale_extensions_a is older than needs_new_extensions_a needs" in message
    assert str(tmp_path / "stale_extensions_a.py") in message
    assert '-extra-pip-flags ""--upgrade""' in message


def test_a_missing_dependency_and_an_old_python_are_both_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    message = install_check.problems({"no_such_module_b": "dist"}, (3, 10, 14))
    lines = message.splitlines()
    assert lines[0].startswith("backup-keeper needs Python >= 3.11")
    assert "3.10.14" in lines[0]
    assert lines[1].startswith("import no_such_module_b failed: No module named 'no_such_module_b'")


def test_a_dependency_that_breaks_in_another_way_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(tmp_path, {"broken_at_import_c.py": "raise AttributeError('gone')\n"}, monkeypatch)
    message = install_check.problems({"broken_at_import_c": "dist"}, (3, 11, 0))
    assert message.startswith("import broken_at_import_c failed: AttributeError: gone.")


def test_the_production_definition_gets_the_directory_and_ships_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(install_check.DIRECTORY_VARIABLE, raising=False)
    path = Path(install_check.production_definition(str(tmp_path)))
    assert os.environ[install_check.DIRECTORY_VARIABLE] == str(tmp_path)
    assert path.is_file()
    assert path.is_relative_to(Path(install_check.__file__).parent)
