"""Reading ``^DBREST`` the same way in every adapter: its return code, explained, and its output.

The restore path is where a backup tool may not be wrong, so nothing here guesses: the success
value of ``EXTSELCT^DBREST`` was lost from the only copy of the guide's table read
(iris-ledger.md section 4), so only ``1`` counts as success, every other value is a failure
whose raw text is kept, and the documented negative codes say what they mean.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from backup_keeper.iris.port import RestoreOutcome

SUCCESS = "1"
"""Unverified (iris-ledger.md section 4): the guide's "No errors" row lost its value."""

CODES = {
    "-1": "cannot open the input device (the backup file)",
    "-2": (
        "the volume label does not match the label in this instance's backup history: IRIS "
        "restores a chain in the order its own history records, and this file is not the "
        "backup the history expects next (taken on another instance, a history that was "
        "cleared or changed, or a file restored out of order)"
    ),
    "-3": "a backup or restore is already in progress",
    "-4": "invalid device for reading the directory list (the map file)",
    "-5": "invalid journal restore option",
    "-6": "invalid journal file, or the journal selection file cannot be opened",
}
"""DIG 4.8.4 (External Entry Points of ^DBREST: return codes)."""

NEVER_IN_PLACE = {"": "IRISSYS", "irisaudit": "IRISAUDIT", "irissecurity": "IRISSECURITY"}
"""System databases a restore never overwrites, by their directory under the manager directory
(IRISSYS is the manager directory itself: DIG 4.8.2's list shows ``mgr\\`` and
``mgr\\irisaudit\\``; IRISSECURITY exists from 2025.2). DIG 4.4.1.3: do not replace IRISSYS
outside a full system restore."""

_RESTORING = re.compile(
    r"^\s*\*\*\*Restoring (.+?)(?: to (.+?))? at [0-9]{1,2}:[0-9]{2}:[0-9]{2}\s*$", re.ASCII
)
_SKIP = re.compile(r"^\s*Starting skip of (.+)\.\s*$", re.ASCII)


def failure(code: object, file: str) -> str | None:
    """Why ``^DBREST`` failed for ``file``, or None when its code is the (unverified) success
    value. An unlisted value is a failure, never taken for success."""
    raw = str(code).strip()
    if raw == SUCCESS:
        return None
    meaning = CODES.get(raw, "a value the documentation does not list (success is 1)")
    return f"^DBREST returned {raw or '(nothing)'} for {file}: {meaning}"


def parse_output(code: object, text: str | None) -> RestoreOutcome:
    """The databases ``^DBREST``'s output shows restored (source -> target; the source itself
    when restored in place) and skipped, as the 2024.1 transcript writes them (JP-Online)."""
    restored: dict[str, str] = {}
    skipped: list[str] = []
    for line in (text or "").splitlines():
        if m := _RESTORING.match(line):
            restored[m[1]] = m[2] or m[1]
        elif (m := _SKIP.match(line)) and m[1] not in skipped:
            skipped.append(m[1])
    return RestoreOutcome(
        code=str(code).strip(),
        restored=restored,
        skipped=tuple(skipped),
        output_read=bool((text or "").strip()),
    )


def canonical(directory: str) -> str:
    """A database directory with its trailing separator, the form IRIS lists databases in
    (``/usr/irissys/mgr/t1/``; ``Journal.Restore`` needs it, ledger section 5)."""
    if directory.endswith(("/", "\\")):
        return directory
    return directory + ("\\" if "\\" in directory and "/" not in directory else "/")


def system_database(directory: str, manager_directory: str) -> str | None:
    """The name of the system database at ``directory`` (IRISSYS, IRISAUDIT, IRISSECURITY), or
    None. Compared without case: refusing too much is the safe side."""
    wanted = canonical(directory).casefold()
    manager = canonical(manager_directory)
    for sub, name in NEVER_IN_PLACE.items():
        if wanted == (canonical(manager + sub) if sub else manager).casefold():
            return name
    return None


def in_place_refusals(directory_map: Mapping[str, str], manager_directory: str) -> list[str]:
    """One refusal per map entry whose target is a system database's own directory."""
    refusals = []
    for source, target in directory_map.items():
        name = system_database(target, manager_directory)
        if name is not None:
            refusals.append(
                f"refused: --map {source}={target} would restore over {name} ({target}) in "
                f"place; {', '.join(NEVER_IN_PLACE.values())} are never restored in place: map "
                "it to another directory"
            )
    return refusals
