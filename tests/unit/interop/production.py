"""A production as IoP's runtime sees it, without IRIS: ``iop.runtime.iris.get_iris`` answers
with ``ProductionIris``, our own small stand-in that records what the operations log and the
Ens alerts they raise, and refuses any class it does not know (so a stray call fails, as the
test-wide guard makes a direct ``import iris`` fail). Never a MagicMock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

OK = 1
"""A %Status that is not an error."""


@dataclass
class AlertRequest:
    """``Ens.AlertRequest``: the two properties the operations set."""

    SourceConfigName: str = ""
    AlertText: str = ""


@dataclass
class ProductionIris:
    """The ``iris`` module as a production's business host uses it."""

    log: list[tuple[int, str, str]] = field(default_factory=list)
    """(level, class, message) of each ``Ens.Util.Log.Log`` call: 2 error, 3 warning, 4 info."""

    def cls(self, name: str) -> Any:
        known = {"Ens.Util.Log": _EventLog(self), "Ens.AlertRequest": _AlertRequests()}
        known |= {"%SYSTEM.Status": _Status(), "IOP.Message": _IopMessages()}
        if name not in known:
            raise AssertionError(f"unexpected iris.cls({name!r}) in a production test")
        return known[name]


class _EventLog:
    def __init__(self, iris: ProductionIris) -> None:
        self.iris = iris

    def Log(self, level: int, host: str, method: str, text: str) -> None:
        self.iris.log.append((level, host, text))


class _AlertRequests:
    def _New(self) -> AlertRequest:
        return AlertRequest()


@dataclass
class IopMessage:
    """``IOP.Message``: how IoP hands a Python message to IRIS, as JSON text."""

    classname: str = ""
    json: str = ""
    buffer: int = 1 << 30
    """Longer JSON would go to a stream; never here."""


class _IopMessages:
    def _New(self) -> IopMessage:
        return IopMessage()


class _Status:
    def IsError(self, status: object) -> bool:
        return status != OK

    def GetErrorText(self, status: object) -> str:
        return f"ERROR #5001: {status}"


@dataclass
class BusinessHost:
    """The operation's ``iris_handle``: ``SendAlert`` takes the request, answers ``status``."""

    status: object = OK
    alerts: list[AlertRequest] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    """Each alert's ``AlertText``, in order."""

    def SendAlert(self, request: AlertRequest) -> object:
        self.alerts.append(request)
        self.texts.append(request.AlertText)
        return self.status


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProductionIris]:
    iris = ProductionIris()
    monkeypatch.setattr("iop.runtime.iris.get_iris", lambda namespace=None: iris)
    yield iris
