"""The one protocol every destination speaks, and the one error every destination raises.

Why so small: the copy job, the remote catalog, remote verify and remote purge need nothing
more than listing what is stored, reading and writing one object as a stream of chunks, and
deleting one object. Anything richer (multipart sizes, parallel parts, server-side checksums)
stays inside the store that has it.

Rules every store keeps, whatever its kind:

- Names are bare (:func:`backup_keeper.safe_files.check_bare_name`): a store is rooted at
  ``<prefix>/<instance>/`` and never reads, writes or deletes anything outside that root. A
  listing never recurses; an entry whose name is not bare (a "subdirectory", a hostile key
  such as ``../x``) is skipped, never returned.
- :meth:`RemoteStore.put` is all-or-nothing: the object appears under its name only once every
  byte is stored (S3 multipart completion, temporary name + rename on SFTP and file://). A put
  killed half way leaves nothing under the name; at most a temporary that
  :meth:`RemoteStore.list` does not return as an object and a later put may clean up.
- Every failure is a :class:`DestinationError` whose message says what went wrong in words an
  administrator can act on and never holds a secret (no key, no password, no signed URL, no
  credentials from a URL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from backup_keeper.destination_settings import DestinationError, FaultKind

__all__ = ["DestinationError", "FaultKind", "RemoteObject", "RemoteStore"]


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """One stored object directly under a store's root."""

    name: str
    size: int
    modified: datetime
    """When the store last wrote it (aware, UTC)."""
    etag: str | None = None
    """The provider's entity tag or equivalent, when it has one (None on SFTP and file://)."""


class RemoteStore(Protocol):
    """A place rooted at ``<prefix>/<instance>/`` that holds backup files, sidecars and logs."""

    @property
    def proves_uploads(self) -> bool:
        """True when the provider itself checks every stored byte against a checksum the client
        computed on the bytes it sent (S3: the SigV4-signed payload hash and
        ``x-amz-checksum-sha256``, refused on mismatch): a read-back would prove nothing more, and
        costs as much again as the upload. False: the copy reads the object back."""

    def describe(self) -> str:
        """The store's URL for reports and logs: scheme, host, bucket, path, instance; never a
        secret (a user name may stay, a password or key never)."""

    def list(self) -> Iterator[RemoteObject]:
        """Every object directly under the root whose name is bare, in no particular order."""

    def head(self, name: str) -> RemoteObject | None:
        """The object called ``name``, or None when there is none; raises DestinationError for
        anything else (an object that cannot be looked at is never "absent")."""

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        """Store the concatenated ``chunks`` as ``name`` (replacing any object of that name)
        and return what was stored. Reads ``chunks`` lazily: memory stays bounded by the
        store's part size times its concurrency, whatever the object's size."""

    def get(self, name: str) -> Iterator[bytes]:
        """The bytes of ``name`` as chunks, streamed; DestinationError(kind="not-found") when
        there is no such object."""

    def delete(self, name: str) -> None:
        """Remove ``name``; DestinationError(kind="not-found") when there is no such object."""

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
