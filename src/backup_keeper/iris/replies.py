"""Reading IRIS's replies the same way in every adapter. Pure functions, tested once."""

from __future__ import annotations

import re
from collections.abc import Mapping

from backup_keeper.iris.port import (
    BackupOutcome,
    IrisError,
    JournalFile,
    JournalFiles,
    JournalSettings,
    OnlineResult,
    SizeEstimate,
)

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


MAX_PURGE_DAYS = 100
MAX_PURGE_BACKUPS = 10
"""The ranges of ``DaysBeforePurge`` (0-100) and ``BackupsBeforePurge`` (0-10),
docs/iris-ledger.md section 14: a value outside them is no setting IRIS would hold."""
_TEXT_LIMIT = 4096


def _text(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise IrisError(f"unexpected {what} in IRIS's journal answer: {value!r:.200}")
    text = str(value)
    if len(text) > _TEXT_LIMIT or any(ord(c) < 32 for c in text):
        raise IrisError(f"unexpected {what} in IRIS's journal answer: {text!r:.200}")
    return text


def _count(value: object, what: str, most: int) -> int:
    """A whole number IRIS wrote (a JSON number or its digits), between 0 and ``most``."""
    text = _text(value, what).strip()
    try:
        number = _integer(text)
    except ValueError as exc:
        raise IrisError(f"{what} is not a whole number: {text!r:.200}") from exc
    if not 0 <= number <= most:
        raise IrisError(f"{what} is {number}, outside 0-{most}")
    return number


def parse_journal_files(answer: Mapping[str, object]) -> JournalFiles:
    """``BackupKeeper.Port.JournalFilesJSON``: ``current`` (GetCurrentFileName), ``files``
    (each row of ByTimeReverseOrder as ``[name, size]``, read by position because the query's
    column names are in no source), ``complete`` (0 when cut at the bound). Anything else is an
    IrisError naming what was wrong, never a partial list that would read as files missing."""
    rows = answer.get("files")
    if not isinstance(rows, list):
        raise IrisError(f"IRIS's journal file list is not a list: {rows!r:.200}")
    files = []
    for row in rows:
        if not isinstance(row, list) or not 1 <= len(row) <= 2:
            raise IrisError(f"unexpected journal file row from IRIS: {row!r:.200}")
        path = _text(row[0], "journal file name")
        if not path.strip():
            raise IrisError("IRIS listed a journal file with an empty name")
        size = None
        if len(row) == 2 and row[1] not in ("", None):
            size = _count(row[1], f"the size of {path}", 2**62)
        files.append(JournalFile(path, size))
    current = _text(answer.get("current", ""), "current journal file")
    complete = answer.get("complete", 1)
    if complete not in (0, 1, True, False):
        raise IrisError(f"unexpected 'complete' in IRIS's journal answer: {complete!r:.200}")
    return JournalFiles(current=current, files=tuple(files), complete=bool(complete))


def parse_journal_settings(answer: Mapping[str, object]) -> JournalSettings:
    """``BackupKeeper.Port.JournalSettingsJSON``: the ``[Journal]`` properties
    ``Config.Journal.Get`` filled, by name. ``DaysBeforePurge`` and ``BackupsBeforePurge`` must
    both be there and in range; ``PurgeArchived`` is read under both spellings the
    documentation uses (``PurgeArchive``)."""
    props = answer.get("settings")
    if not isinstance(props, dict):
        raise IrisError(f"IRIS's journal settings are not an object: {props!r:.200}")
    missing = [k for k in ("DaysBeforePurge", "BackupsBeforePurge") if k not in props]
    if missing:
        raise IrisError(f"Config.Journal gave no {' or '.join(missing)}")
    archived: bool | None = None
    for key in ("PurgeArchived", "PurgeArchive"):
        if key in props:
            archived = archived or bool(_count(props[key], key, 1))
    return JournalSettings(
        days_before_purge=_count(props["DaysBeforePurge"], "DaysBeforePurge", MAX_PURGE_DAYS),
        backups_before_purge=_count(
            props["BackupsBeforePurge"], "BackupsBeforePurge", MAX_PURGE_BACKUPS
        ),
        purge_archived=archived,
        directory=_text(props.get("CurrentDirectory", ""), "CurrentDirectory"),
        alternate_directory=_text(props.get("AlternateDirectory", ""), "AlternateDirectory"),
        prefix=_text(props.get("JournalFilePrefix", ""), "JournalFilePrefix"),
    )
