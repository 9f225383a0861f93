"""A real Azure Blob server on loopback for the destination tests: Azurite, Microsoft's emulator.

Azurite is an npm package, so it runs only where Node.js and npm are: elsewhere every test that
asks for it is skipped, saying why -- the one skip the issue allows. It is installed once, at a
pinned version, into ``.cache/azurite/<version>/`` inside the repository (ignored by git) and
reused from there. Where Node.js is, the npm registry is reachable (here and in CI), so an
install that fails or takes too long FAILS the tests with npm's own words: a skip there would
let the Azure tests quietly never run.

The account is Azurite's published development account (``devstoreaccount1`` and its
well-known key, printed in Microsoft's documentation): the tests give it to the store through
the environment, as a user gives a real one. Containers are created and hostile blob names
planted over plain HTTP with requests signed here (Shared Key), so the tests need no Azure SDK.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest

AZURITE_VERSION = "3.37.0"
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's published development key (no secret); the tests still assert it is never shown."""
API_VERSION = "2021-08-06"
INSTALL_TIMEOUT = 600.0
"""Seconds npm may take to install Azurite (about a minute on a fresh machine)."""
START_TIMEOUT = 60.0
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "azurite"


@dataclass
class AzuriteServer:
    """One ``azurite-blob`` process on 127.0.0.1, storing under its own directory."""

    port: int
    process: subprocess.Popen[bytes]
    workspace: Path

    @property
    def endpoint(self) -> str:
        """The blob endpoint as Azurite names it: the account is the first path segment."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def request(
        self, method: str, path: str, *, query: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        """One request signed with the account key (``path``: ``/container[/blob]`` as it
        should travel, percent-encoded)."""
        query = query or {}
        headers = {
            "x-ms-date": formatdate(usegmt=True),
            "x-ms-version": API_VERSION,
            **(
                {"x-ms-blob-type": "BlockBlob"}
                if method == "PUT" and "restype" not in query
                else {}
            ),
        }
        resource = f"/{ACCOUNT}/{ACCOUNT}{path}" + "".join(
            f"\n{name}:{value}" for name, value in sorted(query.items())
        )
        signed = "\n".join(
            [method, "", "", str(len(body)) if body else "", "", "", "", "", "", "", "", ""]
            + [f"{name}:{value}" for name, value in sorted(headers.items())]
            + [resource]
        )
        digest = hmac.new(base64.b64decode(ACCOUNT_KEY), signed.encode(), hashlib.sha256)
        headers["Authorization"] = (
            f"SharedKey {ACCOUNT}:{base64.b64encode(digest.digest()).decode()}"
        )
        target = f"/{ACCOUNT}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def create_container(self, name: str) -> str:
        status, body = self.request("PUT", f"/{name}", query={"restype": "container"})
        assert status == 201, body
        return name

    def plant(self, container: str, blob: str, data: bytes = b"planted") -> None:
        """Store ``blob`` under exactly that name: what someone else with write access to the
        container could leave there."""
        quoted = urllib.parse.quote(blob, safe="/")
        status, body = self.request("PUT", f"/{container}/{quoted}", body=data)
        assert status == 201, body

    def blobs(self, container: str) -> bytes:
        """The raw List Blobs answer, for assertions that need no client of ours."""
        query = {"restype": "container", "comp": "list"}
        return self.request("GET", f"/{container}", query=query)[1]

    def kill(self) -> None:
        """SIGKILL, the way a server dies: no goodbye to open connections."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def missing_tools(path: str | None = None) -> str | None:
    """Why Azurite cannot run here (``path``: the search path, default ``PATH``), or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool, path=path) is None]
    if not absent:
        return None
    return f"Azure tests need Node.js and npm for Azurite: {' and '.join(absent)} not on PATH"


def installed_azurite(cache: Path = CACHE, version: str = AZURITE_VERSION) -> Path:
    """The ``azurite-blob`` program of ``version``, installed into ``cache`` on first use
    (into a scratch directory renamed into place when complete, so a run killed half way or
    one running beside it never sees half an install); fails with npm's words if it fails."""
    reason = missing_tools()
    if reason is not None:
        pytest.skip(reason)
    target = cache / version
    program = target / "node_modules" / ".bin" / "azurite-blob"
    if program.exists():
        return program
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{version}.", dir=cache))
    try:
        _npm_install(scratch, version)
        with contextlib.suppress(OSError):  # another run may have put its install there first
            scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not program.exists():
        pytest.fail(f"Azurite: npm installed no {program}")
    return program


def _npm_install(directory: Path, version: str) -> None:
    command = [
        "npm",
        "install",
        "--prefix",
        str(directory),
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--ignore-scripts",
        "--loglevel=error",
        f"azurite@{version}",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"Azurite: npm install took over {INSTALL_TIMEOUT:.0f} s")
    except OSError as exc:
        pytest.fail(f"Azurite: npm could not run ({exc})")
    if done.returncode != 0:
        words = " ".join((done.stderr or done.stdout).split())[-600:]
        pytest.fail(f"Azurite: npm install failed ({words})")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", f"/{ACCOUNT}?comp=list")
        connection.getresponse().read()  # refused (unsigned), but answered
        connection.close()
    except OSError:
        return False
    return True


def start_azurite(program: Path, workspace: Path) -> AzuriteServer:
    """A fresh Azurite on a free loopback port, answering; a few attempts, since another
    process may take the port between choosing and binding it."""
    for _ in range(3):
        port = _free_port()
        process = subprocess.Popen(
            [
                str(program),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--location",
                str(workspace),
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = AzuriteServer(port=port, process=process, workspace=workspace)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return server
            time.sleep(0.1)
        server.stop()
    raise AssertionError("Azurite did not start on loopback")


@contextlib.contextmanager
def _running(factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    server = start_azurite(installed_azurite(), factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """One Azurite shared by the tests that only store and read (each its own container)."""
    with _running(tmp_path_factory) as server:
        yield server


@pytest.fixture
def private_azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """An Azurite of the test's own, for tests that kill it."""
    with _running(tmp_path_factory) as server:
        yield server


@pytest.fixture
def azure_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The development account through the environment, the way users give theirs; nothing
    from the machine's own cloud configuration leaks in."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "AZURE_", "AZURITE_", "GOOGLE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY)
