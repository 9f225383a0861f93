"""One local backup to one destination: streamed, optionally encrypted, proved, recorded.

The order is the guarantee. The backup file goes first, then IRIS's log, then the sidecar:
the remote catalog trusts a backup only once its sidecar is there, so a copy killed at any
point leaves nothing at the destination that looks complete, and the next run finishes it.
Each object is proved by reading it back and hashing what is stored against what was sent
before the next is sent; the local sidecar records the copy only after the remote one exists.

The local file is hashed in the same pass that sends it and checked against its sidecar: a
file that no longer matches (bit rot, a truncated copy, a file replaced under the sidecar)
makes the stream fail before its end, so the store's all-or-nothing put never completes and
nothing is stored under the name.

Encrypted copies are stored as ``NAME.cbk.age`` / ``NAME.cbk.zst.age``: the suffix says what
the bytes are, so an administrator (or ``age -d``) knows what to do with a file fetched by
hand, and a plain and an encrypted copy can never be mistaken for one another by name. The
sidecar and the log stay plain: the remote catalog, verify and purge read the sidecar without
any key, and neither holds data from the databases (names, sizes, times, checksums).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from backup_keeper.catalog.manifest import (
    Manifest,
    ManifestError,
    RemoteCopy,
    manifest_bytes,
    read_manifest,
    sidecar_path,
    with_copy,
    write_manifest,
)
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import Algorithm, Checksum
from backup_keeper.clock import Clock, system_clock
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.encryption import Recipient, encrypting
from backup_keeper.offsite.pacing import TokenBucket, Transfer, paced, retrying
from backup_keeper.offsite.streams import LocalBackupError, Tap, read_chunks
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.safe_files import UnsafeName, check_bare_name

BACKUP_SUFFIX = ".cbk"
COMPRESSED_SUFFIX = ".cbk.zst"
ENCRYPTED_SUFFIX = ".age"
LOG_SUFFIX = ".log"
_COPYABLE = (BackupStatus.COMPLETED, BackupStatus.WARNING)
_T = TypeVar("_T")

__all__ = ["LocalBackupError", "UploadResult", "upload_backup"]


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What one copy did, for the job's report."""

    backup: str
    """The backup's name as its sidecar gives it (``NAME.cbk``)."""
    destination: str
    copy: RemoteCopy
    """The record now in both sidecars, local and remote."""
    manifest: Manifest
    """The local sidecar as it was rewritten."""
    sent: tuple[str, ...]
    """Objects stored by this run, in order (the sidecar last)."""
    skipped: tuple[str, ...]
    """Objects already at the destination with the right bytes, proved and not sent again."""
    verified: tuple[str, ...]
    """Every object whose stored bytes were read back and matched."""
    bytes_sent: int
    notes: tuple[str, ...]
    """Retries and replaced objects: the copy succeeded, but they are worth a look."""


def upload_backup(
    backup: Path,
    store: RemoteStore,
    *,
    recipients: Sequence[Recipient] = (),
    transfer: Transfer | None = None,
    clock: Clock = system_clock,
    progress: Progress = NO_PROGRESS,
) -> UploadResult:
    """Copy the backup at ``backup`` (``NAME.cbk`` or ``NAME.cbk.zst``), its IRIS log and its
    sidecar to ``store``; encrypt the backup file to ``recipients`` when there are any.

    Raises LocalBackupError when the local backup cannot be copied as it is (nothing sent) or
    its sidecar could not record the copy, and DestinationError (its ``kind`` kept) when the
    destination failed, after retries for passing trouble; ``kind="corrupt"`` when the bytes
    read back differ from those sent. In every failure the local sidecar is left unchanged.
    """
    local = _local_backup(backup)
    run = _Run(store, transfer or Transfer(), progress, store.describe())
    run.bucket = run.transfer.bucket()
    copy = _copy_backup_file(run, local, tuple(recipients), clock)
    if local.log is not None:
        _copy_log(run, local.directory / local.log, local.log)
    _put_small(run, local.sidecar, manifest_bytes(with_copy(local.manifest, copy)))
    manifest = _record_locally(local, copy, run.destination)
    return UploadResult(
        local.manifest.file,
        run.destination,
        copy,
        manifest,
        tuple(run.sent),
        tuple(run.skipped),
        tuple(run.verified),
        run.bytes_sent,
        tuple(run.notes),
    )


# -- the local backup -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Local:
    """A backup as its sidecar describes the file that is on disk."""

    directory: Path
    manifest: Manifest
    stored: str
    """The file on disk: NAME.cbk, or NAME.cbk.zst when compressed."""
    size: int
    checksum: Checksum
    log: str | None
    sidecar: str


def _local_backup(backup: Path) -> _Local:
    """The backup at ``backup`` and what its sidecar promises about it; LocalBackupError when
    there is no sidecar to trust or the file cannot be the one it describes."""
    name = _bare(backup.name)
    if not name.endswith((BACKUP_SUFFIX, COMPRESSED_SUFFIX)):
        raise LocalBackupError(f"{backup}: not a backup file (.cbk or .cbk.zst)")
    original = name.removesuffix(".zst")
    directory = backup.parent
    try:
        manifest = read_manifest(sidecar_path(directory / original), expected_file=original)
    except ManifestError as exc:
        raise LocalBackupError(
            f"{directory / original}: {exc}; only a backup its sidecar describes is copied"
        ) from exc
    if manifest.status not in _COPYABLE:
        raise LocalBackupError(f"{original} is {manifest.status.value}: nothing to restore")
    stored, size, checksum = _stored_file(manifest, name)
    _check_on_disk(directory / stored, size)
    log = original.removesuffix(BACKUP_SUFFIX) + LOG_SUFFIX
    return _Local(
        directory, manifest, stored, size, checksum, _present(directory / log), original + ".json"
    )


def _bare(name: str) -> str:
    try:
        return check_bare_name(name)
    except UnsafeName as exc:
        raise LocalBackupError(str(exc)) from exc


def _stored_file(manifest: Manifest, given: str) -> tuple[str, int, Checksum]:
    """Which file holds the backup, with the size and checksum its sidecar records for it."""
    if manifest.compression == "zstd":
        if manifest.stored_size is None or manifest.stored_checksum is None:
            raise LocalBackupError(
                f"{manifest.file}: its sidecar records no size or checksum of the .zst: "
                "the file cannot be proved to be the backup"
            )
        return manifest.file + ".zst", manifest.stored_size, manifest.stored_checksum
    if given != manifest.file:
        raise LocalBackupError(f"{given}: its sidecar does not describe it as compressed")
    if manifest.checksum is None:
        raise LocalBackupError(
            f"{manifest.file}: its sidecar records no checksum: the file cannot be proved "
            "to be the backup"
        )
    return manifest.file, manifest.size, manifest.checksum


def _check_on_disk(path: Path, size: int) -> None:
    """A cheap refusal before any byte is sent: the file is there, regular, the right size."""
    try:
        st = path.lstat()
    except OSError as exc:
        raise LocalBackupError(f"{path} cannot be read: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise LocalBackupError(f"{path} is not a regular file")
    if st.st_size != size:
        raise LocalBackupError(
            f"{path} is {st.st_size} bytes, its sidecar says {size}: it is not the backup "
            "the sidecar describes; nothing was copied"
        )


def _present(path: Path) -> str | None:
    """The log's name when it is there; a log that is there but cannot be used is an error,
    never "absent" (it may be what says the backup had warnings)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LocalBackupError(f"{path} cannot be read: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise LocalBackupError(f"{path} is not a regular file")
    return path.name


def _record_locally(local: _Local, copy: RemoteCopy, destination: str) -> Manifest:
    """Add the copy to the local sidecar as it is now (another job may have added another
    destination's copy since it was read), if it still describes the same bytes."""
    try:
        fresh = read_manifest(local.directory / local.sidecar, expected_file=local.manifest.file)
    except ManifestError as exc:
        raise LocalBackupError(_not_recorded(local, destination, str(exc))) from exc
    if _identity(fresh) != _identity(local.manifest):
        raise LocalBackupError(
            _not_recorded(local, destination, "the sidecar changed while the copy was made")
        )
    updated = with_copy(fresh, copy)
    try:
        write_manifest(local.directory / local.manifest.file, updated)
    except OSError as exc:
        raise LocalBackupError(_not_recorded(local, destination, str(exc.strerror))) from exc
    return updated


def _identity(manifest: Manifest) -> tuple[object, ...]:
    return (manifest.checksum, manifest.compression, manifest.stored_checksum, manifest.size)


def _not_recorded(local: _Local, destination: str, why: str) -> str:
    return (
        f"{local.manifest.file} is copied and verified at {destination}, but its local "
        f"sidecar could not record it: {why}"
    )


# -- moving bytes -------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    store: RemoteStore
    transfer: Transfer
    progress: Progress
    destination: str
    bucket: TokenBucket | None = None
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    def retry(self, what: str, action: Callable[[], _T]) -> _T:
        return retrying(action, self.transfer, what, self.notes)


@dataclass(frozen=True, slots=True)
class _Stored:
    size: int
    checksum: Checksum


def _copy_backup_file(
    run: _Run, local: _Local, recipients: tuple[Recipient, ...], clock: Clock
) -> RemoteCopy:
    """The backup file at the destination, proved, as a RemoteCopy record."""
    name = local.stored + (ENCRYPTED_SUFFIX if recipients else "")
    fingerprints = sorted(r.fingerprint for r in recipients)
    known = _known_remote(run, local, name, fingerprints)
    stored = _already_there(run, name, known)
    if stored is None:
        stored = _send_and_prove(
            run, name, lambda: _local_stream(run, local, recipients), local.checksum.algorithm
        )
    return RemoteCopy(
        destination=run.destination,
        object=name,
        size=stored.size,
        checksum=stored.checksum,
        verified=clock(),
        how="provider-checksum" if run.store.proves_uploads and name in run.sent else "read-back",
        encryption="age" if recipients else None,
        recipients=fingerprints,
        sent_pin=local.manifest.pin,
    )


def _known_remote(run: _Run, local: _Local, name: str, fingerprints: list[str]) -> _Stored | None:
    """What the object must hold if it is already a good copy: the local file's own bytes
    when plain; for an encrypted copy (age output differs on every run) only what an earlier
    verified copy to this destination recorded, for the same keys. None: nothing to trust."""
    if not fingerprints:
        return _Stored(local.size, local.checksum)
    for copy in local.manifest.copies:
        if (
            copy.destination == run.destination
            and copy.object == name
            and copy.encryption == "age"
            and sorted(copy.recipients) == fingerprints
        ):
            return _Stored(copy.size, copy.checksum)
    return None


def _already_there(run: _Run, name: str, known: _Stored | None) -> _Stored | None:
    """The object, when the destination already holds exactly ``known`` (a copy killed
    after its upload, before its sidecar): proved by reading it back, never trusted by size."""
    existing = run.retry(f"looking up {name}", lambda: run.store.head(name))
    if existing is None or known is None:
        return None
    if existing.size == known.size and _read_back(run, name, known) == known:
        run.skipped.append(name)
        run.verified.append(name)
        return known
    run.notes.append(f"{name} at {run.destination} was not a good copy: sent again")
    return None


def _send_and_prove(
    run: _Run, name: str, stream: Callable[[], _Stream], algorithm: Algorithm
) -> _Stored:
    """Put the object (again, from the start, on a passing failure), then read it back."""

    def attempt() -> _Stored:
        return _put_once(run, name, stream(), algorithm)

    sent = run.retry(f"storing {name}", attempt)
    run.sent.append(name)
    run.bytes_sent += sent.size
    if run.store.proves_uploads:
        run.verified.append(name)  # the provider refused any byte other than those hashed
        return sent
    if _read_back(run, name, sent) != sent:
        raise DestinationError(
            "corrupt",
            f"{name} at {run.destination}: the stored bytes differ from those sent "
            "(read back and hashed); the copy is not complete",
        )
    run.verified.append(name)
    return sent


class _Stream:
    """One pass over the bytes to store, and what it found on the way: whether the put read
    it to its end (a store that stopped reading early has not stored the object) and the
    local failure that ended it, if any (a store may wrap our exception in its own)."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self._chunks: Iterator[bytes] = iter(())
        self.closers: list[Generator[bytes, None, None]] = []
        self.failure: LocalBackupError | None = None
        self.finished = False

    @property
    def chunks(self) -> Iterator[bytes]:
        return self._chunks

    @chunks.setter
    def chunks(self, chunks: Iterator[bytes]) -> None:
        self._chunks = self._ending(chunks)

    def _ending(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        yield from chunks
        self.finished = True

    def close(self) -> None:
        """Close the sources now (files, age's thread), however the put ended."""
        for source in self.closers:
            source.close()


def _counted(run: _Run, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, each reported to the progress as it is read."""
    for chunk in chunks:
        run.progress.advance(len(chunk))
        yield chunk


def _local_stream(run: _Run, local: _Local, recipients: tuple[Recipient, ...]) -> _Stream:
    """The backup file's bytes, checked against its sidecar as they are read, then
    encrypted when there are recipients."""
    result = _Stream(local.size)
    plain = read_chunks(local.directory / local.stored)
    checked = _checked(_counted(run, plain), local, result)
    result.closers.append(plain)
    if recipients:
        encrypted = encrypting(checked, recipients)
        result.closers.insert(0, encrypted)
        result.chunks = encrypted
    else:
        result.chunks = checked
    return result


def _checked(chunks: Iterator[bytes], local: _Local, found: _Stream) -> Iterator[bytes]:
    """The local bytes; at their end, a check that they are the bytes the sidecar describes,
    raised before the stream ends so the put cannot complete."""
    tap = Tap(local.checksum.algorithm)
    yield from tap.through(chunks)
    if tap.size != local.size or tap.checksum() != local.checksum:
        found.failure = LocalBackupError(
            f"{local.directory / local.stored} no longer matches its sidecar's checksum: "
            "it is not the backup the sidecar describes; nothing was stored"
        )
        raise found.failure


def _put_once(run: _Run, name: str, stream: _Stream, algorithm: Algorithm) -> _Stored:
    tap = Tap(algorithm)
    with step(run.progress, f"copying {name} to {run.destination}", stream.total, "bytes"):
        try:
            stored = run.store.put(name, paced(tap.through(stream.chunks), run.bucket))
        except Exception:
            if stream.failure is not None:  # the store may have wrapped ours: ours says why
                raise stream.failure from None
            raise
        finally:
            stream.close()
    if stream.failure is not None:
        raise stream.failure
    if not stream.finished:
        raise DestinationError("failed", f"{run.destination} stopped reading {name} before its end")
    if stored.size != tap.size:
        raise DestinationError(
            "corrupt",
            f"{name} at {run.destination} is {stored.size} bytes; {tap.size} were sent",
        )
    return _Stored(tap.size, tap.checksum())


def _read_back(run: _Run, name: str, expected: _Stored) -> _Stored:
    """Size and checksum of what the destination holds under ``name``, read in full."""

    def attempt() -> _Stored:
        tap = Tap(expected.checksum.algorithm)
        with step(run.progress, f"verifying {name} at {run.destination}", expected.size, "bytes"):
            for chunk in paced(tap.through(run.store.get(name)), run.bucket):
                run.progress.advance(len(chunk))
        return _Stored(tap.size, tap.checksum())

    return run.retry(f"reading back {name}", attempt)


def _file_stream(run: _Run, path: Path) -> _Stream:
    """A companion file's bytes as they are: the IRIS log has no checksum in the sidecar."""
    result = _Stream(None)
    chunks = read_chunks(path)
    result.chunks, result.closers = _counted(run, chunks), [chunks]
    return result


def _copy_log(run: _Run, path: Path, name: str) -> None:
    """IRIS's log: skipped when the destination holds the same bytes, else sent and proved."""
    tap = Tap("blake3")
    for _ in tap.through(read_chunks(path)):
        pass
    local = _Stored(tap.size, tap.checksum())
    if _already_there(run, name, local) is None:
        _send_and_prove(run, name, lambda: _file_stream(run, path), "blake3")


def _put_small(run: _Run, name: str, data: bytes) -> None:
    """The sidecar: always sent (it carries this copy's record), then proved."""

    def stream() -> _Stream:
        result = _Stream(len(data))
        result.chunks = _counted(run, iter([data]))
        return result

    _send_and_prove(run, name, stream, "blake3")
