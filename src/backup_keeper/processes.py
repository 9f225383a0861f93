"""Whether a process on this host is still there: how a freeze marker, a leftover temporary file
or a simulated backup tells a live owner from a dead one."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` exists, another user's included (signal 0 checks without sending).
    Nonsense pids (zero, negative, too large) are not alive: they come from files on disk."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's process
    except (ProcessLookupError, OverflowError, OSError):
        return False
    return True
