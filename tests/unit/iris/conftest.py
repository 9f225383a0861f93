"""Adapters the contract suite can reach: FakeIris always; the real ones when an IRIS is there."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from backup_keeper.iris.bounded import BoundedIris
from backup_keeper.iris.fake import FakeIris
from backup_keeper.iris.port import IrisPort

PortFactory = Callable[[], IrisPort]

NATIVE_HOW = (
    "NativeIris needs a reachable IRIS: set IRIS_HOST (and IRIS_PORT, IRIS_NAMESPACE, "
    "IRIS_USERNAME, IRIS_PASSWORD), plus BACKUP_KEEPER_CONTRACT_DIR, a directory the instance "
    "can write backups to"
)
EMBEDDED_HOW = (
    "EmbeddedIris runs only inside IRIS: run this suite with the instance's irispython, with "
    "BACKUP_KEEPER_INSIDE_IRIS=1 and BACKUP_KEEPER_CONTRACT_DIR set (tools/e2e.sh does, in the "
    "docker-compose.yml container)"
)
REQUIRE = "BACKUP_KEEPER_CONTRACT_REQUIRE"
"""Names the real adapters (comma-separated) a run must reach: tools/e2e.sh sets it, so a missing
variable fails that run instead of skipping every real case and passing."""


def _unavailable(adapter: str, how: str) -> NoReturn:
    required = {name.strip() for name in os.environ.get(REQUIRE, "").split(",")}
    if adapter in required:
        pytest.fail(f"{REQUIRE} requires the {adapter} adapter: {how}")
    pytest.skip(how)


@pytest.fixture(params=["fake", "bounded-fake", "native", "embedded"])
def port_factory(request: pytest.FixtureRequest, tmp_path: Path) -> PortFactory:
    """A factory of port instances onto one instance (two calls: two independent clients).
    ``bounded-fake``: the fake as every door hands it to a job, behind BoundedIris."""
    if request.param == "fake":
        return lambda: FakeIris(tmp_path / "fake-state")
    if request.param == "bounded-fake":
        return lambda: BoundedIris(FakeIris(tmp_path / "fake-state"), 60)
    if request.param == "native":
        if not os.environ.get("IRIS_HOST"):
            _unavailable("native", NATIVE_HOW)
        from backup_keeper.iris.native import NativeIris

        return NativeIris.from_environment
    if not os.environ.get("BACKUP_KEEPER_INSIDE_IRIS"):
        _unavailable("embedded", EMBEDDED_HOW)
    from backup_keeper.iris.embedded import EmbeddedIris

    return EmbeddedIris


@pytest.fixture
def backup_dir(request: pytest.FixtureRequest, tmp_path: Path, port_factory: PortFactory) -> Path:
    """Where the instance writes contract-test backups: the server's file system for real ones."""
    port = port_factory()
    if port.adapter_name == "fake":
        target = tmp_path / "backups"
    else:
        configured = os.environ.get("BACKUP_KEEPER_CONTRACT_DIR")
        if not configured:
            _unavailable(
                port.adapter_name,
                "set BACKUP_KEEPER_CONTRACT_DIR to a directory the instance can write",
            )
        target = Path(configured) / request.node.name
    target.mkdir(parents=True, exist_ok=True)
    return target
