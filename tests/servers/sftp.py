"""A real SFTP server on loopback for the destination tests: asyncssh's own server.

Why asyncssh's server and not OpenSSH's sshd: it needs no root, no system account and no
config file, starts in milliseconds on a free port and is already a runtime dependency. It
speaks the same protocol (version 3 with the OpenSSH extensions posix-rename and fsync), so
the client code under test is exercised exactly as against sshd.

The server runs its own event loop in a background thread, so the store under test (which
has its own loop and thread) talks to it over a real TCP socket. Its file system is chrooted
to ``root``; ``faults`` lets a test make it behave like a server without an extension, with a
full disk or with a file it may not look at, and ``freeze``/``stop`` make it hang or drop.
"""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest
from asyncssh.misc import MaybeAwait
from asyncssh.sftp import _SFTPOSAttrs

T = TypeVar("T")

START_TIMEOUT = 10.0
"""Seconds the server may take to listen, and to stop; a test never waits longer on it."""


@dataclass
class Faults:
    """How the server misbehaves, changed by a test at any time (read on each request)."""

    no_posix_rename: bool = False
    """Answer posix-rename@openssh.com with "operation unsupported", as old servers do."""
    no_fsync: bool = False
    """Answer fsync@openssh.com with "operation unsupported"."""
    full_after: int | None = None
    """Bytes any one file may hold before a write fails with ENOSPC."""
    quota_after: int | None = None
    """Likewise, failing with EDQUOT (disk quota exceeded)."""
    denied: set[str] = field(default_factory=set)
    """Base names whose stat, open and remove fail with EACCES (the tests run as root, so real
    file permissions would not refuse anything)."""


def _refusal(faults: Faults, path: bytes) -> None:
    if Path(path.decode()).name in faults.denied:
        raise PermissionError(errno.EACCES, "Permission denied")


class _FaultySftp(asyncssh.SFTPServer):
    """asyncssh's SFTP server chrooted to the test's directory, with the faults switched on."""

    faults: Faults  # set on the subclass made for each server

    def lstat(self, path: bytes) -> MaybeAwait[_SFTPOSAttrs]:
        _refusal(self.faults, path)
        return super().lstat(path)

    def stat(self, path: bytes) -> MaybeAwait[_SFTPOSAttrs]:
        _refusal(self.faults, path)
        return super().stat(path)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> MaybeAwait[object]:
        _refusal(self.faults, path)
        return super().open(path, pflags, attrs)

    def remove(self, path: bytes) -> MaybeAwait[None]:
        _refusal(self.faults, path)
        return super().remove(path)

    def write(self, file_obj: object, offset: int, data: bytes) -> MaybeAwait[int]:
        limits = (
            (self.faults.full_after, errno.ENOSPC, "No space left on device"),
            (self.faults.quota_after, errno.EDQUOT, "Disk quota exceeded"),
        )
        for limit, code, text in limits:
            if limit is not None and offset + len(data) > limit:
                raise OSError(code, text)
        return super().write(file_obj, offset, data)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> MaybeAwait[None]:
        if self.faults.no_posix_rename:
            raise NotImplementedError  # the server answers FX_OP_UNSUPPORTED
        return super().posix_rename(oldpath, newpath)

    def fsync(self, file_obj: object) -> MaybeAwait[None]:
        if self.faults.no_fsync:
            raise NotImplementedError
        return super().fsync(file_obj)


class SftpServer:
    """One running server: where it listens, who may log in, and the files a client needs."""

    user = "keeper"

    def __init__(self, directory: Path) -> None:
        self.host = "127.0.0.1"
        self.root = directory / "root"
        self.root.mkdir()
        self.password = "s3cret-Pa55word-never-shown"
        self.faults = Faults()
        keys = directory / "keys"
        keys.mkdir()
        self.client_key = keys / "id_ed25519"
        client = asyncssh.generate_private_key("ssh-ed25519")
        client.write_private_key(self.client_key)
        self._authorized = asyncssh.import_authorized_keys(
            client.export_public_key().decode("ascii")
        )
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.known_hosts = keys / "known_hosts"
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thawed = threading.Event()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        self._acceptor = self._in_loop(self._listen())
        self.port = self._acceptor.get_port()
        line = self._host_key.export_public_key().decode("ascii").strip()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {line}\n")

    def stop(self) -> None:
        """Stop listening and drop every open connection, as a server that goes away does."""
        self._thawed.set()
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            with suppress(TimeoutError):
                self._in_loop(self._shut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    def drop_connections(self) -> None:
        """Cut every open connection and keep listening: a network blip."""
        self._in_loop(self._abort_all())

    async def _abort_all(self) -> None:
        for conn in list(self._connections):
            conn.abort()

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The server keeps its sockets open but answers nothing: a hung host."""
        self._thawed.clear()
        self._loop.call_soon_threadsafe(self._thawed.wait, START_TIMEOUT * 3)
        try:
            yield
        finally:
            self._thawed.set()

    def _in_loop(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(START_TIMEOUT)

    async def _listen(self) -> asyncssh.SSHAcceptor:
        server = self
        sftp = type("TestSftp", (_FaultySftp,), {"faults": self.faults})

        class Guard(asyncssh.SSHServer):
            """Lets in ``user`` with the client key or the password; refuses every other."""

            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                self._conn = conn
                server._connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                server._connections.discard(self._conn)

            def begin_auth(self, username: str) -> bool:
                if username == server.user:
                    self._conn.set_authorized_keys(server._authorized)
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == server.user and password == server.password

        return await asyncssh.listen(
            self.host,
            0,
            config=None,
            server_factory=Guard,
            server_host_keys=[self._host_key],
            sftp_factory=lambda chan: sftp(chan, chroot=bytes(self.root)),
            allow_scp=False,
            login_timeout=START_TIMEOUT,
        )

    async def _shut(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
        connections = list(self._connections)
        for conn in connections:
            conn.abort()
        if self._acceptor is not None:
            await self._acceptor.wait_closed()
        # asyncssh closes each session's open files as its connection winds down
        await asyncio.gather(*(conn.wait_closed() for conn in connections))
        for _ in range(3):
            await asyncio.sleep(0)  # the transports' own close callbacks


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    """A fresh server per test, listening on 127.0.0.1 on a free port; stopped afterwards."""
    (tmp_path / "sftp-server").mkdir()
    server = SftpServer(tmp_path / "sftp-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()
