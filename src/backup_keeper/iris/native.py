"""NativeIris: the port to a remote instance over the superserver port, with the Native SDK
(intersystems-irispython). Every call is a class method of ``BackupKeeper.Port``, which must be
installed in the connection's namespace.

The backup file is written by the *server*: the backup directory must be the same path on the
server and on the machine running this (a shared mount), since the job checks it locally.

A connection serves one call at a time. The online backup runs in a server job of its own (see
class_port.py), and the abort goes over a connection of its own, opened for it and closed after:
it gets through even when the main connection is stuck in a call that never returned.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from backup_keeper.iris.class_port import PORT_CLASS, ClassPort
from backup_keeper.iris.port import IrisError

log = logging.getLogger(__name__)

DEFAULT_PORT = 1972
_PORT = re.compile(r"[0-9]{1,5}")
CONNECT_TIMEOUT = 10
"""Seconds: ``iris.connect(timeout=...)`` of intersystems-irispython takes seconds (its docstring;
the legacy ``irisnative`` took milliseconds). docs/iris-ledger.md, section 11."""


class NativeIris(ClassPort):
    adapter_name = "native"

    def __init__(self, host: str, port: int, namespace: str, username: str, password: str) -> None:
        self._address = (host, port, namespace, username, password)
        _, server = self._open()
        super().__init__(lambda method, *args: server.classMethodValue(PORT_CLASS, method, *args))

    def _open(self) -> tuple[Any, Any]:
        return _connect(*self._address)

    def abort_backup(self) -> None:
        """``AbortBackup`` over a connection of its own (see the module's docstring)."""
        connection, server = self._open()
        try:
            aborter = ClassPort(
                lambda method, *args: server.classMethodValue(PORT_CLASS, method, *args)
            )
            aborter.abort_backup()
        finally:
            try:
                connection.close()
            except Exception as exc:  # noqa: BLE001 - the abort was asked; a close error is noise
                log.warning("closing the abort connection failed: %s", exc)

    @classmethod
    def from_environment(cls) -> NativeIris:
        """From IRIS_HOST, IRIS_PORT, IRIS_NAMESPACE, IRIS_USERNAME, IRIS_PASSWORD."""
        env = os.environ
        missing = [v for v in ("IRIS_HOST", "IRIS_USERNAME", "IRIS_PASSWORD") if not env.get(v)]
        if missing:
            raise IrisError(f"--iris native needs {', '.join(missing)} in the environment")
        text = env.get("IRIS_PORT", str(DEFAULT_PORT))
        if _PORT.fullmatch(text) is None:  # int() would also take "٥٢٧٧٣", "+1972", "1_972"
            raise IrisError(f"IRIS_PORT is not a port number: {text!r}")
        port = int(text)
        return cls(
            env["IRIS_HOST"],
            port,
            env.get("IRIS_NAMESPACE", "USER"),
            env["IRIS_USERNAME"],
            env["IRIS_PASSWORD"],
        )


def _connect(host: str, port: int, namespace: str, username: str, password: str) -> tuple[Any, Any]:
    """The connection and the ``IRIS`` object over it."""
    try:
        import iris  # noqa: PLC0415 - loaded only when this adapter is chosen

        connection = iris.connect(
            host, port, namespace, username, password, timeout=CONNECT_TIMEOUT
        )
        return connection, iris.createIRIS(connection)
    except Exception as exc:
        raise IrisError(f"cannot connect to IRIS at {host}:{port}/{namespace}: {exc}") from exc
