"""EmbeddedIris: the port inside IRIS, through the in-process ``iris`` module.

Outside IRIS, iris-embedded-python-wrapper's ``iris.cls(...)`` hands back stand-in objects on
which every call "succeeds". So before anything else this adapter asks IRIS for its version and
refuses to start unless the answer is a real string from a real embedded runtime.

The process this runs in is one IRIS process: it cannot run a second ObjectScript call while one
is under way. So the online backup runs in an IRIS job of its own and is polled (class_port.py),
and the watchdog's abort is a short call made between polls, never during the backup's call.
"""

from __future__ import annotations

from typing import Any

from backup_keeper.iris.class_port import PORT_CLASS, ClassPort
from backup_keeper.iris.port import IrisError


class NotInsideIris(IrisError):
    """The process is not running inside an IRIS instance."""


class EmbeddedIris(ClassPort):
    adapter_name = "embedded"

    def __init__(self) -> None:
        port_class = _port_class()
        super().__init__(lambda method, *args: getattr(port_class, method)(*args))


def _port_class() -> Any:
    try:
        import iris  # noqa: PLC0415 - loaded only when this adapter is chosen
    except Exception as exc:
        raise NotInsideIris(f"the iris module cannot be imported: {exc}") from exc
    runtime = getattr(iris, "runtime", None)
    state = str(runtime.get().state) if runtime is not None else "embedded"
    version = iris.cls("%SYSTEM.Version").GetVersion()
    if not state.startswith("embedded") or not isinstance(version, str) or "IRIS" not in version:
        raise NotInsideIris(
            "not running inside IRIS (the iris module's runtime is "
            f"{state!r} and it answered {type(version).__name__} for the version): run inside "
            "the instance (a task, a production, irispython) or use --iris native"
        )
    return iris.cls(PORT_CLASS)


def send_ens_alert(host: Any, source: str, text: str, *, iris: Any) -> None:
    """An ``Ens.AlertRequest`` to the production's ``Ens.Alert`` through the business host's
    ``SendAlert`` (docs/iris-ledger.md, section 9). ``iris`` is the module as IoP's runtime
    hands it to the production (``iop.runtime.iris.get_iris()``), so that a test can stand in
    for it. Unsure: that an IoP host's ``iris_handle`` exposes ``SendAlert`` as ObjectScript
    hosts do; kept here so it is fixed in one place."""
    request = iris.cls("Ens.AlertRequest")._New()
    request.SourceConfigName = source
    request.AlertText = text
    status = host.SendAlert(request)
    if iris.cls("%SYSTEM.Status").IsError(status):
        raise IrisError(str(iris.cls("%SYSTEM.Status").GetErrorText(status)))
