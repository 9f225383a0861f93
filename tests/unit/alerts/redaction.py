"""Helpers for tests of the process-wide redaction: a root handler that records what a site's
own logging would write, and the redaction state put back afterwards, so that one test's
secrets and URL scrubbing never change what another test's logs say."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from backup_keeper.alerts import secrets

FORMAT = "%(levelname)s %(name)s %(message)s"


def add_root_handler(level: int = logging.DEBUG) -> tuple[logging.Handler, io.StringIO]:
    """A handler on the root logger writing every record at ``level`` and up to a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    logging.getLogger().addHandler(handler)
    return handler, buffer


@contextmanager
def isolated_redaction() -> Iterator[None]:
    """Run a block with the root logger at DEBUG; afterwards restore the root logger's level
    and handlers, the record factory and the process redaction the block installed."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    factory = logging.getLogRecordFactory()
    saved, wrapped = secrets._PROCESS, secrets._FACTORY_WRAPPED
    secrets._PROCESS, secrets._FACTORY_WRAPPED = secrets.RedactingFilter(), False
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for handler in root.handlers:
            for installed in [f for f in handler.filters if isinstance(f, secrets.RedactingFilter)]:
                handler.removeFilter(installed)
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        secrets._PROCESS, secrets._FACTORY_WRAPPED = saved, wrapped
