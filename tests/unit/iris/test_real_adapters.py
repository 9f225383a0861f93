"""The real adapters, where they can be exercised without an IRIS: refusing to start."""

from __future__ import annotations

import json
import socket
import sys
import types
from collections.abc import Iterator

import pytest

from backup_keeper.iris.port import IrisError


@pytest.fixture
def real_iris_module() -> Iterator[None]:
    """The installed iris-embedded-python-wrapper instead of the test suite's loud stand-in."""
    guard = sys.modules.pop("iris")
    try:
        yield
    finally:
        for name in [m for m in sys.modules if m == "iris" or m.startswith("iris.")]:
            del sys.modules[name]
        sys.modules["iris"] = guard


@pytest.mark.usefixtures("real_iris_module")
def test_embedded_adapter_refuses_the_wrappers_stand_in_outside_iris() -> None:
    from backup_keeper.iris.embedded import EmbeddedIris, NotInsideIris

    with pytest.raises(NotInsideIris, match="not running inside IRIS"):
        EmbeddedIris()


def test_native_adapter_needs_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from backup_keeper.iris.native import NativeIris

    for name in ("IRIS_HOST", "IRIS_PORT", "IRIS_USERNAME", "IRIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(IrisError, match="needs IRIS_HOST, IRIS_USERNAME, IRIS_PASSWORD"):
        NativeIris.from_environment()
    monkeypatch.setenv("IRIS_HOST", "127.0.0.1")
    monkeypatch.setenv("IRIS_USERNAME", "u")
    monkeypatch.setenv("IRIS_PASSWORD", "p")
    for text in ("superserver", "٥٢٧٧٣", "５２７７３", "+1972", "1_972", "99999999999"):
        monkeypatch.setenv("IRIS_PORT", text)
        with pytest.raises(IrisError, match="IRIS_PORT is not a port number"):
            NativeIris.from_environment()


@pytest.mark.usefixtures("real_iris_module")
def test_native_adapter_fails_clearly_when_nothing_listens_and_never_shows_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backup_keeper.iris.native import NativeIris

    with socket.socket() as probe:  # bound, never listening: held closed for the whole test
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        monkeypatch.setenv("IRIS_HOST", "127.0.0.1")
        monkeypatch.setenv("IRIS_PORT", str(port))
        monkeypatch.setenv("IRIS_USERNAME", "_SYSTEM")
        monkeypatch.setenv("IRIS_PASSWORD", "s3cret-Pa55")
        with pytest.raises(IrisError) as caught:
            NativeIris.from_environment()
    assert f"cannot connect to IRIS at 127.0.0.1:{port}/USER" in str(caught.value)
    assert "s3cret-Pa55" not in str(caught.value)


class _Server:
    """Stands in for the Native SDK's ``IRIS`` object: answers as BackupKeeper.Port would."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def classMethodValue(self, class_name: str, method: str, *args: object) -> str:
        self.calls.append(f"{class_name}.{method}")
        return json.dumps({"ok": 1, "code": 0})


class _Connection:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_native_abort_goes_over_a_connection_of_its_own_closed_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backup_keeper.iris import native

    opened: list[tuple[_Connection, _Server]] = []

    def connect(*_args: object) -> tuple[_Connection, _Server]:
        opened.append((_Connection(), _Server()))
        return opened[-1]

    monkeypatch.setattr(native, "_connect", connect)
    native.NativeIris("h", 1972, "USER", "u", "p").abort_backup()
    (main, main_server), (aborter, abort_server) = opened
    assert main_server.calls == [] and abort_server.calls == ["BackupKeeper.Port.AbortBackup"]
    assert aborter.closed and not main.closed


def test_native_connects_with_a_timeout_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from backup_keeper.iris import native

    seen: dict[str, object] = {}

    class _SDK(types.ModuleType):
        def connect(self, *args: object, **options: object) -> _Connection:
            seen.update(options)
            return _Connection()

        def createIRIS(self, connection: object) -> _Server:
            return _Server()

    monkeypatch.setitem(sys.modules, "iris", _SDK("iris"))
    native.NativeIris("h", 1972, "USER", "u", "p")
    assert seen == {"timeout": 10}
