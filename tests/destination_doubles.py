"""An in-memory :class:`~backup_keeper.destinations.store.RemoteStore` that can be told to fail.

A test double of our own protocol, not a mock of a provider's library: it keeps the protocol's
rules (bare names, all-or-nothing put, not-found on get and delete) so the transfer pipeline is
tested against the contract every real store keeps, and it can misbehave the ways real ones do:
raise a :class:`DestinationError` of a given kind at the Nth call, or part way through a
transfer, or store bytes other than those it was sent. It records every call in order, so a
test can assert what was sent, what was read, and that the sidecar came last.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteObject
from backup_keeper.safe_files import UnsafeName, check_bare_name

Operation = Literal["list", "head", "put", "get", "delete"]
GET_CHUNK = 256 * 1024


@dataclass(slots=True)
class Fault:
    """Fail the ``call``-th matching call (1 = the first) and the ``times - 1`` after it."""

    operation: Operation
    kind: FaultKind
    name: str | None = None
    """Only calls on this object count; None: any object."""
    call: int = 1
    times: int = 1
    after_bytes: int | None = None
    """put/get: fail once this many bytes have gone through (None: before the first)."""
    seen: int = 0


class MemoryStore:
    """Objects in a dict; every call recorded as ``(operation, name)``."""

    def __init__(self, url: str = "mem://bucket/prefix/PROD") -> None:
        self.url = url
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}
        self.calls: list[tuple[Operation, str]] = []
        self.stored: list[str] = []
        """Names of the puts that completed, in order."""
        self.faults: list[Fault] = []
        self.damaged_puts: set[str] = set()
        self.largest_put_chunk = 0
        self.closed = False
        self.provider_proof = False

    # -- telling it what to do ------------------------------------------------------------------

    def fail(
        self,
        operation: Operation,
        kind: FaultKind,
        *,
        name: str | None = None,
        call: int = 1,
        times: int = 1,
        after_bytes: int | None = None,
    ) -> None:
        self.faults.append(Fault(operation, kind, name, call, times, after_bytes))

    def damage_next_put(self, name: str) -> None:
        """The next put of ``name`` stores its bytes with one flipped (a disk or link error)."""
        self.damaged_puts.add(name)

    def damage(self, name: str) -> None:
        """Flip a byte of the stored object ``name`` (bit rot at the destination)."""
        self.objects[name] = _flipped(self.objects[name])

    def calls_of(self, operation: Operation) -> list[str]:
        return [name for op, name in self.calls if op == operation]

    # -- the protocol -----------------------------------------------------------------------------

    @property
    def proves_uploads(self) -> bool:
        """Set ``provider_proof`` to act as S3 does."""
        return self.provider_proof

    def describe(self) -> str:
        return self.url

    def list(self) -> Iterator[RemoteObject]:
        self._call("list", "")
        return iter([self._object(name) for name in sorted(self.objects)])

    def head(self, name: str) -> RemoteObject | None:
        self._call("head", name)
        return self._object(name) if name in self.objects else None

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        fault = self._call("put", name)
        received = bytearray()
        for chunk in chunks:
            self.largest_put_chunk = max(self.largest_put_chunk, len(chunk))
            received += chunk
            if fault is not None and len(received) >= (fault.after_bytes or 0):
                # all-or-nothing: what was received so far is dropped, nothing is stored
                raise _error(fault, f"connection dropped while storing {name}")
        if fault is not None:
            raise _error(fault, f"connection dropped while storing {name}")
        data = bytes(received)
        if name in self.damaged_puts:
            self.damaged_puts.discard(name)
            data = _flipped(data)
        self.objects[name] = data
        self.modified[name] = datetime.now(UTC)
        self.stored.append(name)
        return self._object(name)

    def get(self, name: str) -> Iterator[bytes]:
        fault = self._call("get", name)
        if name not in self.objects:
            raise DestinationError("not-found", f"{self.url}: no object {name}")
        return self._stream(name, self.objects[name], fault)

    def delete(self, name: str) -> None:
        self._call("delete", name)
        if self.objects.pop(name, None) is None:
            raise DestinationError("not-found", f"{self.url}: no object {name}")

    def close(self) -> None:
        self.closed = True

    # -- inside -----------------------------------------------------------------------------------

    def _call(self, operation: Operation, name: str) -> Fault | None:
        """Record the call; raise a fault due before any byte, or return one due mid-stream."""
        self.calls.append((operation, name))
        if operation != "list":
            try:
                check_bare_name(name)
            except UnsafeName as exc:
                raise DestinationError("invalid", str(exc)) from exc
        for fault in self.faults:
            if fault.operation != operation or fault.name not in (None, name):
                continue
            fault.seen += 1
            if fault.call <= fault.seen < fault.call + fault.times:
                if fault.after_bytes is None:
                    raise _error(fault, f"{operation} {name} failed")
                return fault
        return None

    def _stream(self, name: str, data: bytes, fault: Fault | None) -> Iterator[bytes]:
        sent = 0
        for offset in range(0, len(data), GET_CHUNK):
            if fault is not None and sent >= (fault.after_bytes or 0):
                raise _error(fault, f"connection dropped while reading {name}")
            chunk = data[offset : offset + GET_CHUNK]
            sent += len(chunk)
            yield chunk
        if fault is not None:
            raise _error(fault, f"connection dropped while reading {name}")

    def _object(self, name: str) -> RemoteObject:
        return RemoteObject(name, len(self.objects[name]), self.modified[name])


def _error(fault: Fault, message: str) -> DestinationError:
    return DestinationError(fault.kind, f"{message} ({fault.kind})")


def _flipped(data: bytes) -> bytes:
    if not data:
        return b"\x00"
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
