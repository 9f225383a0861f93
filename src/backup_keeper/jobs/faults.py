"""One line for any failure a job meets, so that a job never raises: the report carries it,
the notifier is told, and no traceback reaches a person."""

from __future__ import annotations

from backup_keeper.iris.port import IrisError


def describe_fault(exc: BaseException) -> str:
    """``IRIS: ...`` for IRIS, ``<file>: <reason>`` for the disk, the exception's type and text
    for anything else (a defect of this tool, still reported rather than raised)."""
    if isinstance(exc, IrisError):
        return f"IRIS: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return f"{type(exc).__name__}: {exc}"
