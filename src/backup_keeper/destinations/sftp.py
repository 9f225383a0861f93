"""The SFTP destination (``sftp://user@host[:port]/path``), over asyncssh.

Why asyncssh rather than paramiko: one pure-Python wheel on top of ``cryptography`` (already
pulled in by our other dependencies), typed, maintained, and its client pipelines reads and
writes (many requests in flight), which is what makes SFTP fast over a long link.

Jobs are synchronous, asyncssh is not: the store owns one private event loop running in a
daemon thread, and every remote step is submitted to it with a deadline
(``connect_timeout`` for the handshake, ``operation_timeout`` for each request), so a dead or
hung server fails the job as "unreachable" instead of blocking it. One connection is kept for
the store's life and re-opened after it is lost.

Safety rules on the remote side (SFTP has no descriptors to act relative to, so every step
looks before it acts):

- Host keys are always checked, against ``known_hosts`` or the user's
  ``~/.ssh/known_hosts``; a server that is not listed there is refused, never trusted on first
  use. ``~/.ssh/config`` is not read: the URL alone says where the copies go.
- The store acts only inside ``base/instance``; ``base`` must exist (else "missing"), the
  instance directory is created on the first put (mode 0o750) and refused if it is a symbolic
  link or not a directory.
- ``put`` writes ``.NAME.<random>.partial`` (created exclusively), fsyncs it when the server
  has the ``fsync@openssh.com`` extension, then renames it onto ``NAME`` with
  ``posix-rename@openssh.com``. A server without that extension gets "remove NAME, then
  rename" (plain SFTP rename refuses an existing target): for that instant no object is
  stored under the name, which a reader sees as "not copied yet", never as a torn copy.
- Only regular files are objects: symbolic links, directories and names that are not bare are
  never listed, returned or deleted.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import re
import secrets
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, suppress
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar, cast

from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteObject
from backup_keeper.safe_files import UnsafeName, check_bare_name, is_bare_name

if TYPE_CHECKING:
    import asyncssh

T = TypeVar("T")

READ_SIZE = 1 << 20
"""Bytes asked for per read of :meth:`SftpStore.get`; asyncssh splits it into pipelined
requests, so memory stays about this much per open download."""
WRITE_PIECE = 4 << 20
"""The largest slice of a chunk written under one deadline: a caller's chunk may be large,
but a slow link must only move this much within ``operation_timeout``."""
CLEANUP_TIMEOUT = 10.0
"""Seconds spent removing a temporary after a failed put; never more, the put has failed."""
_MAX_STEM = 200
"""Room left in a 255-byte file name for the temporary's dot, random part and suffix."""
PARTIAL_SUFFIX = ".partial"
_PARTIAL = re.compile(r"\..+\.[0-9a-f]{12}\.partial", re.ASCII | re.DOTALL)


def is_partial_name(name: str) -> bool:
    """Whether ``name`` is a temporary of an unfinished put (never an object)."""
    return _PARTIAL.fullmatch(name) is not None


def _partial_of(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(f".{name[:_MAX_STEM]}.") + r"[0-9a-f]{12}\.partial", re.ASCII)


class SftpStore:
    """A :class:`~backup_keeper.destinations.store.RemoteStore` in ``base/instance`` on an SFTP
    server. Not thread-safe: one job uses one store."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 22,
        user: str,
        base: PurePosixPath,
        instance: str,
        known_hosts: Path | None = None,
        identity: Path | None = None,
        password_env: str | None = None,
        connect_timeout: float = 30.0,
        operation_timeout: float = 60.0,
    ) -> None:
        self._host = host
        self._port = port
        self._user = user
        self._base = base
        self._instance = instance
        self._known_hosts = known_hosts or Path.home() / ".ssh" / "known_hosts"
        self._identity = identity
        self._password_env = password_env
        self._connect_timeout = connect_timeout
        self._operation_timeout = operation_timeout
        try:
            check_bare_name(instance)
        except UnsafeName:
            raise DestinationError(
                "invalid", f"{instance!r} cannot name an instance directory"
            ) from None
        self._root = str(base / instance)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    # -- the protocol ------------------------------------------------------------------------

    @property
    def proves_uploads(self) -> bool:
        """SFTP has no integrity checksum of its own: the copy reads the object back."""
        return False

    def describe(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        port = "" if self._port == 22 else f":{self._port}"
        base = self._base.as_posix()
        path = base if self._base.is_absolute() else f"/~/{base}"
        return f"sftp://{self._user}@{host}{port}{path.rstrip('/')}/{self._instance}"

    def list(self) -> Iterator[RemoteObject]:
        return iter(self._run("list", self._list()))

    def head(self, name: str) -> RemoteObject | None:
        name = self._bare(name)
        return self._run(f"look at {name}", self._head(name))

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        name = self._bare(name)
        file, temp = self._run(f"start writing {name}", self._begin_put(name))
        try:
            for chunk in chunks:
                for piece in _pieces(chunk):
                    self._run(f"write {name}", file.write(piece))
            return self._run(f"finish writing {name}", self._finish_put(file, temp, name))
        except BaseException:
            self._abandon(file, temp)
            raise

    def get(self, name: str) -> Iterator[bytes]:
        name = self._bare(name)
        file = self._run(f"read {name}", self._open_object(name))
        return self._read_all(file, name)

    def delete(self, name: str) -> None:
        name = self._bare(name)
        self._run(f"delete {name}", self._delete(name))

    def close(self) -> None:
        """Close the connection and stop the loop's thread (bounded: a hung server cannot keep
        the job from ending)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with _quiet():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(CLEANUP_TIMEOUT + 1)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CLEANUP_TIMEOUT)
        if not thread.is_alive():
            loop.close()
        self._loop = self._thread = None

    def cleanup_partials(self) -> int:
        """Remove the temporaries of every unfinished put (a job killed half way); how many.
        Call it only when no other put into this instance directory is running."""
        return self._run("remove unfinished copies", self._cleanup(is_partial_name))

    # -- running remote steps ----------------------------------------------------------------

    def _bare(self, name: str) -> str:
        try:
            return check_bare_name(name)
        except UnsafeName:
            raise DestinationError("invalid", f"{name!r} is not a bare object name") from None

    def _submit(self, work: Coroutine[Any, Any, T], timeout: float) -> Future[T]:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=f"sftp {self._host}", daemon=True
            )
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(asyncio.wait_for(work, timeout), self._loop)

    def _run(self, what: str, work: Coroutine[Any, Any, T]) -> T:
        """Do one remote step (connecting first when needed) under its deadline."""
        try:
            if self._sftp is None:
                self._remote("connect", self._connect(), self._connect_timeout)
        except BaseException:
            work.close()  # never started: it must not warn "never awaited"
            raise
        return self._remote(what, work, self._operation_timeout)

    def _remote(self, what: str, work: Coroutine[Any, Any, T], timeout: float) -> T:
        """Any failure becomes a DestinationError, and a connection that failed is dropped so
        the next step opens a new one."""
        try:
            return self._wait(self._submit(work, timeout))
        except DestinationError as own:
            self._drop_if_unreachable(own)
            raise
        except Exception as exc:
            fault = self._fault(exc, what)
            self._drop_if_unreachable(fault)
            raise fault from exc

    def _drop_if_unreachable(self, fault: DestinationError) -> None:
        if fault.kind == "unreachable":
            self._drop()

    def _wait(self, future: Future[T]) -> T:
        """The step's result; the loop enforces the deadline, this wait only guards against a
        loop that is itself stuck."""
        try:
            return future.result(max(self._connect_timeout, self._operation_timeout) + 5)
        except TimeoutError:
            future.cancel()
            raise

    def _drop(self) -> None:
        connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(connection.abort)

    async def _connect(self) -> None:
        import asyncssh  # noqa: PLC0415 - loaded with the first SFTP store opened

        options: dict[str, Any] = {}
        if self._identity is not None:
            options["client_keys"] = [self._read_identity()]
            options["agent_path"] = None
        if self._password_env is not None:
            options["password"] = self._password()
        connection = await asyncssh.connect(
            self._host,
            self._port,
            username=self._user,
            known_hosts=self._read_known_hosts(),
            config=None,
            connect_timeout=self._connect_timeout,
            login_timeout=self._connect_timeout,
            **options,
        )
        try:
            self._sftp = await connection.start_sftp_client()
        except BaseException:
            connection.abort()
            raise
        self._connection = connection

    async def _shutdown(self) -> None:
        """Close the connection, then end every task still running in the loop (those of
        connections dropped earlier too), so no socket or task outlives the store."""
        connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None:
            connection.close()
            with suppress(TimeoutError):
                await asyncio.wait_for(connection.wait_closed(), CLEANUP_TIMEOUT)
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        for _ in range(3):
            await asyncio.sleep(0)  # the transports' own close callbacks

    def _read_known_hosts(self) -> asyncssh.SSHKnownHosts:
        import asyncssh  # noqa: PLC0415

        try:
            return asyncssh.read_known_hosts(str(self._known_hosts))
        except (OSError, ValueError) as exc:
            raise DestinationError(
                "credentials",
                f"{self.describe()}: cannot read known_hosts {self._known_hosts} "
                f"({_reason(exc)}); add the server's host key there after checking its "
                "fingerprint (ssh-keyscan)",
            ) from None

    def _read_identity(self) -> asyncssh.SSHKey:
        import asyncssh  # noqa: PLC0415

        try:
            return asyncssh.read_private_key(str(self._identity))
        except (OSError, ValueError, asyncssh.KeyImportError) as exc:
            raise DestinationError(
                "credentials",
                f"{self.describe()}: cannot read identity file {self._identity} ({_reason(exc)})",
            ) from None

    def _password(self) -> str:
        password = os.environ.get(self._password_env or "")
        if not password:
            raise DestinationError(
                "credentials",
                f"{self.describe()}: the environment variable {self._password_env} that "
                "should hold the SFTP password is not set",
            )
        return password

    def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:  # dropped by a failure between two steps of one operation
            raise DestinationError("unreachable", f"{self.describe()}: connection lost")
        return self._sftp

    # -- the remote steps (run in the loop's thread) -----------------------------------------

    async def _root_dir(self, *, create: bool) -> bool:
        """Whether ``base/instance`` exists (as a real directory); created when asked.
        Refuses a missing base, and an instance directory that is a link or no directory."""
        import asyncssh  # noqa: PLC0415

        sftp = self._client()
        base = self._base.as_posix()
        try:
            attrs = await sftp.stat(base)
        except asyncssh.SFTPNoSuchFile:
            attrs = None
        if attrs is None or attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise DestinationError(
                "missing",
                f"{self.describe()}: the directory {base} does not exist on {self._host}",
            )
        try:
            attrs = await sftp.lstat(self._root)
        except asyncssh.SFTPNoSuchFile:
            if not create:
                return False
            await self._make_root(sftp)
            attrs = await sftp.lstat(self._root)
        if attrs.type != asyncssh.FILEXFER_TYPE_DIRECTORY:
            raise DestinationError(
                "failed",
                f"{self.describe()}: {self._root} is not a directory (a symbolic link or a "
                "file); refusing to use it",
            )
        return True

    async def _make_root(self, sftp: asyncssh.SFTPClient) -> None:
        import asyncssh  # noqa: PLC0415

        try:
            await sftp.mkdir(self._root, asyncssh.SFTPAttrs(permissions=0o750))
        except (asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists):
            return  # made by a concurrent put; the caller looks at what is there
        await sftp.chmod(self._root, 0o750)  # mkdir's mode passes through the server's umask

    async def _entries(self) -> Sequence[asyncssh.SFTPName]:
        if not await self._root_dir(create=False):
            return []
        return await self._client().readdir(self._root)

    async def _list(self) -> Sequence[RemoteObject]:
        import asyncssh  # noqa: PLC0415

        found: builtins.list[RemoteObject] = []
        for entry in await self._entries():
            name = entry.filename
            if not isinstance(name, str) or entry.attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                continue
            if is_partial_name(name) or not is_bare_name(name):
                continue
            found.append(_remote_object(name, entry.attrs))
        return found

    async def _lstat(self, name: str) -> asyncssh.SFTPAttrs | None:
        import asyncssh  # noqa: PLC0415

        if not await self._root_dir(create=False):
            return None
        try:
            return await self._client().lstat(self._path(name))
        except asyncssh.SFTPNoSuchFile:
            return None

    async def _regular(self, name: str) -> asyncssh.SFTPAttrs | None:
        import asyncssh  # noqa: PLC0415

        attrs = await self._lstat(name)
        if attrs is not None and attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
            raise DestinationError(
                "failed",
                f"{self.describe()}: {name} is not a regular file (a symbolic link or a "
                "directory); it is no backup of ours and is left alone",
            )
        return attrs

    async def _head(self, name: str) -> RemoteObject | None:
        attrs = await self._regular(name)
        return None if attrs is None else _remote_object(name, attrs)

    async def _begin_put(self, name: str) -> tuple[asyncssh.SFTPClientFile, str]:
        import asyncssh  # noqa: PLC0415

        await self._root_dir(create=True)
        await self._cleanup(_partial_of(name).fullmatch)
        temp = self._path(f".{name[:_MAX_STEM]}.{secrets.token_hex(6)}{PARTIAL_SUFFIX}")
        flags = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_EXCL
        file = await self._client().open(
            temp, flags, asyncssh.SFTPAttrs(permissions=0o640), encoding=None
        )
        return file, temp

    async def _finish_put(
        self, file: asyncssh.SFTPClientFile, temp: str, name: str
    ) -> RemoteObject:
        import asyncssh  # noqa: PLC0415

        with suppress(asyncssh.SFTPOpUnsupported):
            # without the extension the server cannot say the bytes reached its disk
            await file.fsync()
        await file.close()
        sftp = self._client()
        try:
            await sftp.posix_rename(temp, self._path(name))
        except asyncssh.SFTPOpUnsupported:
            if await self._regular(name) is not None:
                await sftp.remove(self._path(name))
            await sftp.rename(temp, self._path(name))
        attrs = await sftp.lstat(self._path(name))
        return _remote_object(name, attrs)

    def _abandon(self, file: asyncssh.SFTPClientFile, temp: str) -> None:
        """Best effort after a failed put: close and remove the temporary. When the server is
        gone this gives up at once; the temporary stays, unlisted, for a later put."""
        if self._sftp is None or self._loop is None:
            return
        with _quiet():
            self._submit(self._discard(file, temp), CLEANUP_TIMEOUT).result(CLEANUP_TIMEOUT + 1)

    async def _discard(self, file: asyncssh.SFTPClientFile, temp: str) -> None:
        with _quiet():
            await file.close()
        await self._client().remove(temp)

    async def _cleanup(self, matches: Callable[[str], object]) -> int:
        import asyncssh  # noqa: PLC0415

        removed = 0
        for entry in await self._entries():
            name = entry.filename
            regular = entry.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
            if regular and isinstance(name, str) and matches(name) and is_bare_name(name):
                await self._client().remove(self._path(name))
                removed += 1
        return removed

    async def _open_object(self, name: str) -> asyncssh.SFTPClientFile:
        import asyncssh  # noqa: PLC0415

        if await self._regular(name) is None:
            raise DestinationError("not-found", f"{self.describe()}: no object {name}")
        return await self._client().open(self._path(name), asyncssh.FXF_READ, encoding=None)

    def _read_all(self, file: asyncssh.SFTPClientFile, name: str) -> Iterator[bytes]:
        try:
            while data := self._run(f"read {name}", _read(file, READ_SIZE)):
                yield data
        finally:
            if self._sftp is not None and self._loop is not None:
                with _quiet():
                    self._submit(file.close(), CLEANUP_TIMEOUT).result(CLEANUP_TIMEOUT + 1)

    async def _delete(self, name: str) -> None:
        if await self._regular(name) is None:
            raise DestinationError("not-found", f"{self.describe()}: no object {name}")
        await self._client().remove(self._path(name))

    def _path(self, name: str) -> str:
        return f"{self._root}/{name}"

    # -- errors ------------------------------------------------------------------------------

    def _fault(self, exc: BaseException, what: str) -> DestinationError:
        kind, detail = self._classify(exc)
        return DestinationError(kind, f"{self.describe()}: cannot {what}: {detail}")

    def _classify(self, exc: BaseException) -> tuple[FaultKind, str]:
        """The kind of trouble and words for it. The password is never part of an asyncssh
        message, and messages from the server describe files, not credentials."""
        import asyncssh  # noqa: PLC0415

        if isinstance(exc, asyncssh.SFTPError):
            return self._classify_sftp(exc)
        where = f"{self._host}:{self._port}"
        rules: tuple[tuple[type[BaseException], FaultKind, str], ...] = (
            (
                asyncssh.HostKeyNotVerifiable,
                "credentials",
                f"host key of {self._host} does not match known_hosts {self._known_hosts} "
                "(the server is not listed there, or its key changed); check the key before "
                "adding it",
            ),
            (
                asyncssh.PermissionDenied,
                "credentials",
                f"{where} refused user {self._user}: the key or password was not accepted",
            ),
            (asyncssh.ConnectionLost, "unreachable", f"the connection to {where} was lost"),
            (asyncssh.ChannelOpenError, "failed", f"{where} refused the SFTP subsystem"),
            (TimeoutError, "unreachable", f"{where} did not answer in time"),
            (OSError, "unreachable", f"cannot reach {where}"),
        )
        for kind_of_error, kind, words in rules:
            if isinstance(exc, kind_of_error):
                return kind, words if kind == "credentials" else f"{words} ({_reason(exc)})"
        return "failed", _reason(exc)

    def _classify_sftp(self, exc: asyncssh.SFTPError) -> tuple[FaultKind, str]:
        import asyncssh  # noqa: PLC0415

        reason = exc.reason or type(exc).__name__
        if isinstance(exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection):
            return "unreachable", f"the connection to {self._host}:{self._port} was lost"
        if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
            return "not-found", f"no such file ({reason})"
        if isinstance(exc, asyncssh.SFTPPermissionDenied):
            return "credentials", f"permission denied ({reason})"
        if isinstance(exc, asyncssh.SFTPNoSpaceOnFilesystem | asyncssh.SFTPQuotaExceeded):
            return "full", f"no space left ({reason})"
        if re.search(r"space|quota|ENOSPC|EDQUOT", reason, re.IGNORECASE | re.ASCII):
            return "full", f"no space left ({reason})"
        return "failed", reason


async def _read(file: asyncssh.SFTPClientFile, size: int) -> bytes:
    """One read of a file opened without an encoding, which asyncssh answers with bytes."""
    return cast(bytes, await file.read(size))


def _pieces(chunk: bytes) -> Iterator[bytes]:
    if len(chunk) <= WRITE_PIECE:
        yield chunk
        return
    for start in range(0, len(chunk), WRITE_PIECE):
        yield chunk[start : start + WRITE_PIECE]


def _remote_object(name: str, attrs: asyncssh.SFTPAttrs) -> RemoteObject:
    modified = datetime.fromtimestamp(attrs.mtime or 0, UTC)
    return RemoteObject(name=name, size=attrs.size or 0, modified=modified)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _quiet() -> AbstractContextManager[None]:
    """Swallow any failure of a best-effort cleanup step: the operation it follows has already
    failed (or succeeded) and that is what the caller must hear about."""
    return suppress(Exception)
