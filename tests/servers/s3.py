"""A real S3 server on loopback for the destination tests: moto's server mode in a subprocess.

Why a subprocess rather than moto's in-process decorators or ThreadedMotoServer: the store must
talk HTTP to something it cannot reach into, the server must be killable mid-transfer like a
real one, and its memory must not count towards the memory the client is measured with.

Buckets are created and hostile keys planted over plain HTTP with a dummy SigV4 header (moto's
server only routes by it; it checks signatures only once told to, see ``refuse_credentials``),
so the tests need no AWS SDK.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

ACCESS_KEY = "AKIATESTBACKUPKEEPER"
SECRET_KEY = "s3cr3t/TestOnly+NeverPrinted0123456789abc"
"""The secret the tests assert never appears in any message."""
REGION = "us-east-1"
_ROUTING = {
    # moto's server dispatches to its S3 backend by the credential scope in this header
    "Authorization": f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/{REGION}/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
}
_START_TIMEOUT = 60.0


@dataclass
class S3Server:
    """One moto server process on 127.0.0.1."""

    port: int
    process: subprocess.Popen[bytes]
    buckets: set[str] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """One raw HTTP request (path already percent-encoded as it should travel)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(
                method, path, body=body, headers={**_ROUTING, "Content-Type": "text/plain"}
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def create_bucket(self, name: str) -> str:
        status, body = self.request("PUT", f"/{name}")
        assert status == 200, body
        self.buckets.add(name)
        return name

    def plant(self, bucket: str, key: str, data: bytes = b"planted") -> None:
        """Store ``key`` exactly as given (``..``, ``/``, backslashes, control characters):
        what someone else with write access to the bucket could leave there."""
        status, body = self.request("PUT", f"/{bucket}/{urllib.parse.quote(key, safe='/')}", data)
        assert status == 200, body

    def keys(self, bucket: str) -> bytes:
        """The raw ListObjectsV2 answer, for assertions that need no client of ours."""
        return self.request("GET", f"/{bucket}?list-type=2")[1]

    def pending_uploads(self, bucket: str) -> bytes:
        """The raw ListMultipartUploads answer: an aborted upload must not linger here."""
        return self.request("GET", f"/{bucket}?uploads")[1]

    def refuse_credentials(self) -> None:
        """From now on, check every request's signature against moto's IAM, where no key exists:
        every request is refused as an unknown access key."""
        status, body = self.request("POST", "/moto-api/reset-auth", b"0")
        assert status == 200, body

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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/moto-api/data.json")
        connection.getresponse().read()
        connection.close()
    except OSError:
        return False
    return True


def start_s3_server() -> S3Server:
    """A fresh moto server on a free loopback port, answering; a few attempts, since another
    process may take the port between choosing and binding it."""
    for _ in range(3):
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return S3Server(port=port, process=process)
            time.sleep(0.1)
        S3Server(port=port, process=process).stop()
    raise AssertionError("moto's S3 server did not start on loopback")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto server shared by the tests that only store and read (each its own bucket)."""
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_s3_server() -> Iterator[S3Server]:
    """A moto server of the test's own, for tests that kill it or make it refuse credentials."""
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test credentials through the environment, the way users give them; nothing from the
    machine's own AWS configuration (profiles, endpoint, instance metadata) leaks in."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "AZURE_", "GOOGLE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
