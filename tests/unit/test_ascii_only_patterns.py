"""IRIS writes ASCII: no pattern in the package may read a full-width or Arabic-Indic digit as a
digit, or an IRIS name written in full-width digits is parsed as a date and deleted."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator

import pytest

import backup_keeper

NON_ASCII_DIGITS = {
    "full-width": "０１２３４５６７８９",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
    "mathematical bold": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
}


def _modules() -> Iterator[str]:
    yield backup_keeper.__name__
    prefix = backup_keeper.__name__ + "."
    for info in pkgutil.walk_packages(backup_keeper.__path__, prefix):
        if info.name.endswith(".__main__"):  # runs the CLI on import
            continue
        yield info.name


def _patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for module_name in _modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an adapter whose driver is not installed (NativeIris)
            continue
        for attribute, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                yield f"{module_name}.{attribute}", value


PATTERNS = sorted(_patterns(), key=lambda item: item[0])


def test_the_package_has_patterns_to_check() -> None:
    names = {name for name, _ in PATTERNS}
    assert "backup_keeper.catalog.iris_names._NAME" in names
    assert "backup_keeper.iris_formats.backup_log._COPIED" in names


@pytest.mark.parametrize(("name", "pattern"), PATTERNS, ids=[n for n, _ in PATTERNS])
@pytest.mark.parametrize("family", sorted(NON_ASCII_DIGITS))
def test_no_pattern_matches_a_non_ascii_digit_as_a_digit(
    name: str, pattern: re.Pattern[str], family: str
) -> None:
    """Each Unicode-aware digit or word class is probed with the family's digits: a class that
    accepts one of them where an ASCII digit would be read is the defect."""
    digits = NON_ASCII_DIGITS[family]
    unicode_classes = re.findall(r"\\[dwDW]", pattern.pattern)
    if pattern.flags & re.ASCII:
        unicode_classes = []
    for escape in unicode_classes:
        probe = re.compile(escape, pattern.flags)
        if escape.islower():
            assert not any(probe.fullmatch(d) for d in digits), (
                f"{name} uses {escape}, which reads {family} digits as digits: use [0-9]"
            )
