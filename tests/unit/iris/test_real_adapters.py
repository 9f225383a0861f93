"""The real adapters, where they can be exercised without an IRIS: refusing to start."""

from __future__ import annotations

import socket
import sys
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

    with socket.socket() as probe:  # a loopback port that is certainly closed
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
