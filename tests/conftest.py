"""Test-wide guards.

Outside IRIS, ``import iris`` from iris-embedded-python-wrapper hands back MagicMocks that make
any call "succeed". No test may pass because of that: an ``iris`` module that fails loudly on
any use is installed before anything imports the real one.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import NoReturn
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, settings

from tests.servers.s3 import aws_environment, private_s3_server, s3_server
from tests.servers.sftp import sftp_server

__all__ = ["aws_environment", "private_s3_server", "s3_server", "sftp_server"]
"""The loopback servers, started on first use by the tests that name them (destinations, the
CLI against a destination), stopped after."""


class _StrayIris(types.ModuleType):
    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)  # introspection by tools, not a call into IRIS
        raise AssertionError(
            f"stray call iris.{name} in a unit test: use FakeIris through the port instead"
        )


if not os.environ.get("BACKUP_KEEPER_INSIDE_IRIS"):
    # Inside IRIS (the contract suite's embedded run) the real module must stay.
    sys.modules["iris"] = _StrayIris("iris")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
# explicit: a profile registered under hypothesis's own CI detection would inherit its
# derandomize=True
settings.register_profile("dev", derandomize=False, deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def fake_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own simulated IRIS: ``FakeIris()`` and every ``--iris fake`` subprocess that
    inherits the environment use this directory (created on first use), never the user's."""
    path = tmp_path_factory.getbasetemp() / f"fake-iris-{uuid4().hex}"
    monkeypatch.setenv("BACKUP_KEEPER_FAKE_STATE", str(path))
    return path
