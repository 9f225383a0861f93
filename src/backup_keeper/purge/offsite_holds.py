"""``require_offsite_copy``: a backup the plan would delete is kept until its sidecar records a
verified copy at every destination named.

Why a second plan rather than a filter on the first: keeping an incremental keeps everything a
restore of it needs, and only the planner knows chains. The first plan names the candidates;
only their sidecars are read (not a million of them); the holds go back into the planner, which
keeps each held backup as a keep rule would, chain included. Holds only add keeps, so the second
plan deletes a subset of what the first did.

The sidecar's record is trusted as written by the copy that proved the bytes; whether the copy
is still stored is the destination's purge's and ``verify``'s business: a local purge does not
reach out to the network. A sidecar that cannot be read records nothing: its backup is kept.
Failed backups are never held (nothing in them is worth a copy, and ``failed_older_than`` must
still work); a completed backup known only by IRIS's file name can never be copied and is held,
the reason says so: the setting promises that nothing leaves without a copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from pathlib import PurePath

from backup_keeper.catalog.manifest import ManifestError, read_manifest
from backup_keeper.catalog.record import BackupRecord, RecordSource
from backup_keeper.destination_settings import DestinationError, Location, parse_destination_url
from backup_keeper.retention.plan import Decision, Plan, plan
from backup_keeper.settings import RetentionPolicy

NOT_COPIED = "not yet copied to "
"""Starts every hold's reason and the purge's warning (alerts look for it)."""
_NAMED = 10


def hold_uncopied(
    decided: Plan,
    records: list[BackupRecord],
    policy: RetentionPolicy,
    now: datetime,
    zone: tzinfo,
    required: Sequence[str],
    *,
    also_held: Mapping[str, str] | None = None,
) -> tuple[Plan, list[str]]:
    """``decided``, or the plan again with every deletion not yet copied to each of
    ``required`` held (with its chain); and the warnings that say so. ``also_held`` are the
    holds ``decided`` was planned with (pins): planned with again."""
    if not required or not decided.delete:
        return decided, []
    held = holds(decided.delete, required)
    if not held:
        return decided, []
    again = plan(records, policy, now, zone, ordered=True, held={**(also_held or {}), **held})
    names = [PurePath(path).name for path in held]
    shown = ", ".join(names[:_NAMED]) + (
        f" and {len(names) - _NAMED} more" if len(names) > _NAMED else ""
    )
    warning = (
        f"{len(held)} backup(s) kept, {NOT_COPIED}{', '.join(required)} "
        f"(require_offsite_copy): {shown}"
    )
    return again, [warning]


def holds(deletions: Sequence[Decision], required: Sequence[str]) -> dict[str, str]:
    """Path -> reason for every planned deletion that lacks a recorded copy at a required
    destination."""
    places = [(url, _place(url)) for url in required]
    held: dict[str, str] = {}
    for decision in deletions:
        record = decision.record
        if not record.managed or not record.status.usable:
            continue
        copied = _copied_to(record)
        missing = [url for url, place in places if not any(_same(place, c) for c in copied)]
        if missing:
            why = NOT_COPIED + ", ".join(missing)
            if record.source is not RecordSource.SIDECAR:
                why += " (no sidecar describes it, so it cannot be copied; remove it by hand)"
            held[record.path] = why
    return held


def _copied_to(record: BackupRecord) -> list[Location]:
    """Where the backup's sidecar records a verified copy: the destination roots (the URL
    without the instance's directory)."""
    if record.source is not RecordSource.SIDECAR:
        return []
    path = PurePath(record.path)
    original = path.name.removesuffix(".zst")
    try:
        manifest = read_manifest(str(path.with_name(original + ".json")), expected_file=original)
    except ManifestError:
        return []
    places: list[Location] = []
    for copy in manifest.copies:
        root = copy.destination.rstrip("/").rpartition("/")[0]
        try:
            places.append(parse_destination_url(root))
        except DestinationError:
            continue
    return places


def _place(url: str) -> Location:
    return parse_destination_url(url.rstrip("/"))


def _same(required: Location, copied: Location) -> bool:
    """The same place, however it was spelled: SFTP's port 22 written or not, a user named
    only on one side."""

    def port(location: Location) -> int | None:
        return 22 if location.scheme == "sftp" and location.port is None else location.port

    return (
        required.scheme == copied.scheme
        and required.bucket == copied.bucket
        and required.host.lower() == copied.host.lower()
        and port(required) == port(copied)
        and required.path.rstrip("/") == copied.path.rstrip("/")
        and (required.user is None or required.user == copied.user)
    )
