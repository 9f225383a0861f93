"""Every document the code points a reader to is in this repository: a docstring that says
"see X.md" for a file nobody can open is a comment that does not tell the truth."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_DOCUMENT = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b", re.ASCII)


def named_documents() -> dict[str, list[str]]:
    """Each ``*.md`` named in the package's source, with where it is named."""
    found: dict[str, list[str]] = {}
    for source in sorted((ROOT / "src").rglob("*.py")):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            for name in _DOCUMENT.findall(line):
                found.setdefault(name, []).append(f"{source.relative_to(ROOT)}:{number}")
    return found


def exists_here(name: str) -> bool:
    return any((ROOT / where / name).is_file() for where in ("", "docs"))


def test_every_document_the_source_names_is_in_the_repository() -> None:
    missing = {name: where for name, where in named_documents().items() if not exists_here(name)}
    assert missing == {}


def test_the_scan_finds_the_documents_named() -> None:
    assert "docs/iris-ledger.md" in named_documents()
    assert _DOCUMENT.findall("see DESIGN.md, and README.md.") == ["DESIGN.md", "README.md"]
