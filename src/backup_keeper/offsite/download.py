"""One remote backup fetched into a local staging directory, proved, decrypted.

A restore never reads a backup straight off a destination: the bytes are fetched into a
staging directory first, checked against the remote sidecar's record of the verified copy
(the stored, possibly encrypted, bytes) and, once decrypted, against the sidecar's own
checksum of the backup. Only then does the sidecar appear beside them -- last, as on the
destination -- so a staging directory holds either a whole, proved backup or nothing that
looks like one (a failure removes what this call wrote; files are written under temporary
names until whole, through ``safe_files``).

The remote sidecar is read from a destination someone else may write to: every name in it is
checked to be the one this backup's own name implies (``NAME.cbk`` -> ``NAME.cbk[.zst][.age]``
and ``NAME.log``), so a sidecar naming ``../x`` or another backup's file leads nowhere.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from backup_keeper.catalog.manifest import (
    MAX_MANIFEST_BYTES,
    Manifest,
    ManifestError,
    RemoteCopy,
    parse_manifest,
)
from backup_keeper.checksum import Checksum
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.encryption import EncryptionError, WrongIdentity, decrypting
from backup_keeper.offsite.pacing import TokenBucket, Transfer, paced, retrying
from backup_keeper.offsite.streams import Tap, at_most
from backup_keeper.offsite.upload import BACKUP_SUFFIX, ENCRYPTED_SUFFIX, LOG_SUFFIX
from backup_keeper.progress import NO_PROGRESS, Progress, step
from backup_keeper.safe_files import atomic_file, check_bare_name, directory_fd, write_atomic

MAX_LOG_BYTES = 16 << 20
"""An IRIS backup log is a few kilobytes; a destination serving more is not serving one."""
_STAGING_MODE = 0o700
_FILE_MODE = 0o600
"""Staged backups hold the databases' data, decrypted: readable by their owner only."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What was fetched, for the restore that follows and the job's report."""

    backup: Path
    """The backup file in staging (``NAME.cbk``, or ``NAME.cbk.zst`` when compressed)."""
    sidecar: Path
    log: Path | None
    manifest: Manifest
    copy: RemoteCopy
    """The remote sidecar's record of the copy that was fetched and proved."""
    bytes_received: int
    decrypted: bool
    notes: tuple[str, ...]


def create_staging(parent: Path) -> Path:
    """A new, empty directory under ``parent`` that only this user can enter, with a name
    nobody can have prepared (``mkdir`` fails rather than reuse anything already there)."""
    name = f"staging-{secrets.token_hex(8)}"
    with directory_fd(parent) as fd:
        os.mkdir(name, _STAGING_MODE, dir_fd=fd)
    return parent / name


def download_backup(
    store: RemoteStore,
    backup: str,
    staging: Path,
    *,
    identity_file: Path | None = None,
    transfer: Transfer | None = None,
    progress: Progress = NO_PROGRESS,
) -> DownloadResult:
    """Fetch ``backup`` (``NAME.cbk`` as its sidecar names it) from ``store`` into
    ``staging``: the backup file, IRIS's log when there is one, then the sidecar.

    Raises DestinationError for the destination's trouble (``kind="not-found"`` when there is
    no sidecar, hence no complete copy; ``"corrupt"`` for a sidecar that cannot be trusted or
    bytes that differ from its record), EncryptionError when the copy is encrypted and
    ``identity_file`` is missing or holds no key for it, and OSError when staging cannot be
    written. Nothing already in ``staging`` is replaced; on any failure nothing this call
    wrote is left there.
    """
    name = _backup_name(backup)
    run = _Run(store, transfer or Transfer(), progress, store.describe())
    run.bucket = run.transfer.bucket()
    raw = _fetch_sidecar(run, name)
    manifest = _parse(run, raw, name)
    copy = _copy_record(run, manifest)
    if copy.encryption == "age" and identity_file is None:
        raise EncryptionError(
            f"{name} at {run.destination} is encrypted with age to "
            f"{', '.join(copy.recipients) or 'unnamed keys'}: give the identity file that holds "
            "one of their private keys"
        )
    local_name = copy.object.removesuffix(ENCRYPTED_SUFFIX)
    try:
        _fetch_backup(run, staging, copy, local_name, manifest, identity_file)
        log = _fetch_log(run, staging, name.removesuffix(BACKUP_SUFFIX) + LOG_SUFFIX)
        sidecar = _write(run, staging, name + ".json", raw)
    except BaseException:
        _remove_written(staging, run.written)
        raise
    return DownloadResult(
        staging / local_name,
        sidecar,
        log,
        manifest,
        copy,
        run.received,
        copy.encryption == "age",
        tuple(run.notes),
    )


@dataclass(slots=True)
class _Run:
    store: RemoteStore
    transfer: Transfer
    progress: Progress
    destination: str
    bucket: TokenBucket | None = None
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    received: int = 0

    def retry(self, what: str, action: Callable[[], _T]) -> _T:
        return retrying(action, self.transfer, what, self.notes)


def _backup_name(backup: str) -> str:
    check_bare_name(backup)
    if not backup.endswith(BACKUP_SUFFIX):
        raise ValueError(f"{backup!r} is not a backup's name (NAME.cbk)")
    return backup


def _corrupt(run: _Run, what: str) -> DestinationError:
    return DestinationError("corrupt", f"{run.destination}: {what}")


def _fetch_sidecar(run: _Run, name: str) -> bytes:
    sidecar = name + ".json"

    def attempt() -> bytes:
        chunks = at_most(run.store.get(sidecar), MAX_MANIFEST_BYTES, f"the sidecar {sidecar}")
        return b"".join(chunks)

    try:
        return run.retry(f"fetching {sidecar}", attempt)
    except DestinationError as exc:
        if exc.kind == "not-found":
            raise DestinationError(
                "not-found",
                f"{run.destination} holds no sidecar for {name}: there is no complete copy of "
                "it there (a copy that was cut short has no sidecar)",
            ) from exc
        raise


def _parse(run: _Run, raw: bytes, name: str) -> Manifest:
    try:
        return parse_manifest(raw, expected_file=name)
    except ManifestError as exc:
        raise _corrupt(run, f"the sidecar of {name} cannot be trusted: {exc}") from exc


def _copy_record(run: _Run, manifest: Manifest) -> RemoteCopy:
    """The sidecar's record of the copy at this destination; else (the destination is
    reached under another URL, a bucket replicated elsewhere) the latest one recorded. Its
    object must be the name the backup's own implies."""
    if not manifest.copies:
        raise _corrupt(run, f"the sidecar of {manifest.file} records no verified copy")
    here = [c for c in manifest.copies if c.destination == run.destination]
    copy = max(here or manifest.copies, key=lambda c: c.verified)
    stored = manifest.file + (".zst" if manifest.compression == "zstd" else "")
    expected = stored + (ENCRYPTED_SUFFIX if copy.encryption == "age" else "")
    if copy.object != expected:
        raise _corrupt(
            run,
            f"the sidecar of {manifest.file} names {copy.object!r} as its stored file, "
            f"not {expected!r}: refused",
        )
    return copy


def _plain_expected(run: _Run, manifest: Manifest) -> tuple[int, Checksum]:
    """The size and checksum the backup file must have once fetched (and decrypted)."""
    if manifest.compression == "zstd":
        size, checksum = manifest.stored_size, manifest.stored_checksum
    else:
        size, checksum = manifest.size, manifest.checksum
    if size is None or checksum is None:
        raise _corrupt(run, f"the sidecar of {manifest.file} records no checksum of the file")
    return size, checksum


def _fetch_backup(
    run: _Run,
    staging: Path,
    copy: RemoteCopy,
    local_name: str,
    manifest: Manifest,
    identity_file: Path | None,
) -> None:
    """The backup file into staging, written whole or not at all, each attempt afresh."""
    size, checksum = _plain_expected(run, manifest)

    def attempt() -> None:
        stored, plain = Tap(copy.checksum.algorithm), Tap(checksum.algorithm)
        task = f"fetching {copy.object} from {run.destination}"
        with (
            step(run.progress, task, copy.size, "bytes"),
            atomic_file(staging, local_name, mode=_FILE_MODE, replace=False) as handle,
        ):
            fetched = _counted(run, stored.through(_remote(run, copy.object, copy.size)))
            chunks = (
                _decrypted(run, fetched, identity_file)
                if copy.encryption == "age" and identity_file is not None
                else fetched
            )
            for chunk in plain.through(chunks):
                handle.write(chunk)
            if stored.size != copy.size or stored.checksum() != copy.checksum:
                raise _corrupt(
                    run,
                    f"{copy.object} differs from the copy its sidecar recorded as verified "
                    f"on {copy.verified:%Y-%m-%d %H:%M} UTC",
                )
            if plain.size != size or plain.checksum() != checksum:
                raise _corrupt(
                    run,
                    f"{local_name} as fetched does not match its sidecar's checksum: it is "
                    "not the backup the sidecar describes",
                )
        run.written.append(local_name)
        run.received += stored.size

    run.retry(f"fetching {copy.object}", attempt)


def _remote(run: _Run, name: str, limit: int) -> Iterator[bytes]:
    return paced(at_most(run.store.get(name), limit, name), run.bucket)


def _counted(run: _Run, chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        run.progress.advance(len(chunk))
        yield chunk


def _decrypted(run: _Run, chunks: Iterator[bytes], identity_file: Path) -> Iterator[bytes]:
    """The plaintext; damaged ciphertext is the destination's corruption, a wrong key is not."""
    stream = decrypting(chunks, identity_file)
    try:
        yield from stream
    except WrongIdentity:
        raise
    except EncryptionError as exc:
        raise _corrupt(run, str(exc)) from exc
    finally:
        stream.close()


def _fetch_log(run: _Run, staging: Path, log: str) -> Path | None:
    """IRIS's log when the destination has one; its sidecar records no checksum for it."""
    if run.retry(f"looking up {log}", lambda: run.store.head(log)) is None:
        return None

    def attempt() -> None:
        with atomic_file(staging, log, mode=_FILE_MODE, replace=False) as handle:
            for chunk in _remote(run, log, MAX_LOG_BYTES):
                handle.write(chunk)
        run.written.append(log)

    run.retry(f"fetching {log}", attempt)
    return staging / log


def _write(run: _Run, staging: Path, name: str, data: bytes) -> Path:
    path = write_atomic(staging, name, data, mode=_FILE_MODE, replace=False)
    run.written.append(name)
    return path


def _remove_written(staging: Path, names: list[str]) -> None:
    """Take back what this call wrote, by name, inside staging only; a file that cannot be
    removed is left (without its sidecar it does not look complete)."""
    with contextlib.suppress(OSError), directory_fd(staging) as fd:
        for name in reversed(names):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(check_bare_name(name), dir_fd=fd)
