"""Pausing Python's cyclic garbage collector around bulk, cycle-free allocation.

Cataloguing and planning build one object per backup and free none of them; with a million
backups the collector rescans every live object again and again for nothing, doubling the
time. Nothing built there makes reference cycles, so the pause loses no memory.

Only job entry points pause it (``run_purge``, ``run_catalog``): the builders below them stay
free of interpreter-wide side effects, and a caller driving them in bulk pauses it itself.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
