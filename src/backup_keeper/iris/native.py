"""NativeIris: the port to a remote instance over the superserver port, with the Native SDK
(intersystems-irispython). Every call is a class method of ``BackupKeeper.Port``, which must be
installed in the connection's namespace.

The backup file is written by the *server*: the backup directory must be the same path on the
server and on the machine running this (a shared mount), since the job checks it locally.
"""

from __future__ import annotations

import os
import re
from typing import Any

from backup_keeper.iris.class_port import PORT_CLASS, ClassPort
from backup_keeper.iris.port import IrisError

DEFAULT_PORT = 1972
_PORT = re.compile(r"[0-9]{1,5}")
CONNECT_TIMEOUT_MS = 10_000
"""Unsure: the Native SDK's ``connect(timeout=...)`` unit (milliseconds in its docs' examples)."""


class NativeIris(ClassPort):
    adapter_name = "native"

    def __init__(self, host: str, port: int, namespace: str, username: str, password: str) -> None:
        connection = _connect(host, port, namespace, username, password)
        super().__init__(
            lambda method, *args: connection.classMethodValue(PORT_CLASS, method, *args)
        )

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


def _connect(host: str, port: int, namespace: str, username: str, password: str) -> Any:
    try:
        import iris  # noqa: PLC0415 - loaded only when this adapter is chosen

        connection = iris.connect(
            host, port, namespace, username, password, timeout=CONNECT_TIMEOUT_MS
        )
        return iris.createIRIS(connection)
    except Exception as exc:
        raise IrisError(f"cannot connect to IRIS at {host}:{port}/{namespace}: {exc}") from exc
