"""Reading IRIS's replies the same way in every adapter. Pure functions, tested once."""

from __future__ import annotations

import re

from backup_keeper.iris.port import BackupOutcome, IrisError, OnlineResult, SizeEstimate

_INTEGER = re.compile(r"-?[0-9]+")
"""An integer as IRIS writes one. Not ``int()`` alone: it also reads full-width and Arabic-Indic
digits, underscores and surrounding blanks, none of which IRIS writes."""


def _integer(text: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def parse_backup_return(value: object, log_text: str | None = None) -> BackupOutcome:
    """``$$BACKUP^DBACK``'s value: ``0`` failed, ``1`` completed, ``"1,w1~w2"`` completed with
    warnings (docs/iris-ledger.md section 1: test with ``+$P(ret,",")``)."""
    raw = str(value).strip()
    head, _, tail = raw.partition(",")
    try:
        ok = _integer(head or "0")
    except ValueError:
        ok = 0
    if ok != 1:
        return BackupOutcome(OnlineResult.FAILED, raw=raw, log_text=log_text)
    warnings = tuple(w.strip() for w in tail.split("~") if w.strip())
    result = OnlineResult.WARNING if warnings else OnlineResult.COMPLETED
    return BackupOutcome(result, warnings, raw, log_text)


def parse_dbsize(value: object) -> SizeEstimate:
    """``$$INT^DBSIZE``: ``blocks^dirs^media bytes^media blocks^file bytes^file 512-blocks^...``;
    piece 1 is -1 on error (docs/iris-ledger.md section 1)."""
    pieces = str(value).strip().split("^")
    try:
        numbers = [_integer(p) for p in pieces[:5]]
    except ValueError as exc:
        raise IrisError(f"unexpected $$INT^DBSIZE reply {value!r}") from exc
    if len(numbers) < 5 or numbers[0] < 0:
        raise IrisError(f"$$INT^DBSIZE could not estimate the backup size (reply {value!r})")
    return SizeEstimate(
        database_blocks=numbers[0], directories=numbers[1], bytes_for_file=numbers[4]
    )
