"""What kind of backup a file holds, and which kinds start a chain.

Below both the catalog (which learns a file's kind from a sidecar, a name or IRIS's history) and
the IRIS port (which asks IRIS for a kind and reads one back from a label): each speaks of kinds,
so neither may own them.
"""

from __future__ import annotations

from enum import StrEnum


class BackupKind(StrEnum):
    FULL = "full"
    CUMULATIVE = "cumulative"
    INCREMENTAL = "incremental"
    EXTERNAL = "external"
    """A snapshot recorded in IRIS as a full (``$$BACKUP^DBACK`` type E): it starts a chain."""
    UNKNOWN = "unknown"
    """Only for unmanaged files: nothing trustworthy says what the file holds."""

    @property
    def starts_chain(self) -> bool:
        return self in CHAIN_STARTS


CHAIN_STARTS = (BackupKind.FULL, BackupKind.EXTERNAL)
"""Kinds that stand alone. A tuple, not a set: ``in`` on a tuple of members is an identity test
in C, where a set would call Enum's Python ``__hash__``; hot loops test these directly."""
