"""The checkpoint info of ``Backup.ShardedCluster.ExternalFreeze``.

What is known (docs/iris-ledger.md section 2) is thin: the top node of the info array is the
checkpoint number, and the journal files sit under ``(host, port)``. So this reads exactly that,
defensively (a number of ASCII digits, a journal file only at depth two with a value), and keeps
every node as IRIS gave it, so the manifest holds the raw form whatever the real shape is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import JsonValue

_NUMBER = re.compile(r"[0-9]{1,18}", re.ASCII)


@dataclass(frozen=True, slots=True)
class CheckpointJournal:
    host: str
    port: str
    file: str


@dataclass(frozen=True, slots=True)
class ShardCheckpoint:
    number: str | None
    journals: tuple[CheckpointJournal, ...] = ()
    raw: tuple[tuple[tuple[str, ...], str], ...] = ()
    truncated: bool = False
    """Nodes deeper than the port walked (three subscripts) exist and are not in ``raw``."""

    def as_record(self) -> dict[str, JsonValue]:
        """The manifest's and the report's form."""
        return {
            "number": self.number,
            "journals": [{"host": j.host, "port": j.port, "file": j.file} for j in self.journals],
            "raw": [{"subscripts": list(subs), "value": value} for subs, value in self.raw],
            "truncated": self.truncated,
        }


def parse_checkpoint(answer: object) -> ShardCheckpoint | None:
    """``{"top": value, "nodes": [{"subscripts": [...], "value": v}, ...]}`` as Port.cls walks
    the info array; None when there is no checkpoint (a freeze that is not sharded)."""
    if not isinstance(answer, dict) or not answer:
        return None
    top = str(answer.get("top", ""))
    raw: list[tuple[tuple[str, ...], str]] = [((), top)]
    journals = []
    nodes = answer.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        subscripts = node.get("subscripts") if isinstance(node, dict) else None
        if not isinstance(subscripts, list):
            continue
        subs, value = tuple(str(s) for s in subscripts), str(node.get("value", ""))
        raw.append((subs, value))
        if len(subs) == 2 and value:
            journals.append(CheckpointJournal(subs[0], subs[1], value))
    return ShardCheckpoint(
        number=top if _NUMBER.fullmatch(top) else None,
        journals=tuple(journals),
        raw=tuple(raw),
        truncated=bool(answer.get("truncated")),
    )
