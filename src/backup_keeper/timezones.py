"""The instance's local time zone.

IRIS names its backup files with the instance's *local* date, so deciding which day a file
belongs to needs that zone. It defaults to this machine's, which is where the instance runs
when the tool runs inside IRIS.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZONEINFO_MARKER = "zoneinfo/"
_MOMENT = "%Y-%m-%d %H:%M:%S"


def resolve_zone(name: str | None) -> tzinfo:
    """The zone called ``name``, or this machine's when ``name`` is None.

    Raises ValueError for an unknown zone name so settings validation can report it.
    """
    if name is None:
        return machine_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
        ) from exc


def zone_named(name: object) -> tzinfo:
    """The zone a report's ``timezone`` option names, this machine's when it names none (or
    one that is unknown, which settings validation refuses before any job runs)."""
    try:
        return resolve_zone(name if isinstance(name, str) else None)
    except ValueError:
        return machine_zone()


def machine_zone() -> tzinfo:
    """This machine's zone, as a real IANA zone when it can be found (so DST is right)."""
    from_env = os.environ.get("TZ", "").lstrip(":")
    if from_env:
        try:
            return ZoneInfo(from_env)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if _ZONEINFO_MARKER in target:
            try:
                return ZoneInfo(target.split(_ZONEINFO_MARKER, 1)[1])
            except (ZoneInfoNotFoundError, ValueError):
                pass
    # A fixed offset: right today, possibly an hour off across a DST change.
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always attaches one
    return zone


def zone_name(zone: tzinfo) -> str:
    """``Asia/Tokyo`` for an IANA zone, else what the zone calls itself (``UTC``, ``+0300``)."""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else str(zone.tzname(None) or zone)


def format_moment(moment: datetime, zone: tzinfo) -> str:
    """``2026-11-23 11:00:00 JST``: a moment as the instance's clock showed it, with the zone
    it is in, so a time in a message reads like the same time in a table. A naive moment is
    taken as already in ``zone`` (IRIS writes its local times without one)."""
    try:
        local = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
    except (OverflowError, ValueError):  # a moment at the edge of what a datetime can hold
        return moment.isoformat()
    return f"{local.strftime(_MOMENT)} {local.tzname() or zone_name(zone)}"
