"""A benchmark runs as ``python bench/NAME.py``, which puts ``bench/`` first on the import path:
a file there named like a standard-library module stands in for it in every benchmark (a
``bench/copy.py`` broke ``dataclasses``, and with it every benchmark)."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_no_benchmark_is_named_like_a_standard_library_module() -> None:
    shadowing = sorted(
        path.name for path in BENCH.glob("*.py") if path.stem in sys.stdlib_module_names
    )
    assert shadowing == []
