"""Client-side encryption of backups with age (``pyrage``, the Rust implementation), streamed.

Why age: one small, audited format with public-key recipients, so the machine that takes and
ships backups holds only public keys -- a stolen backup host or bucket key reveals no data --
and the private key is needed once, at restore time. Recipients are age X25519 keys
(``age1...``) or ssh keys (``ssh-ed25519``, ``ssh-rsa``) that administrators already have.

Why a worker thread: ``pyrage.encrypt_io``/``decrypt_io`` take a reader and a writer and run to
the end, while a store wants an iterator of chunks it pulls at its own pace. age itself runs
in a worker thread; every iterator the caller hands in (a local file being hashed, a remote
object being fetched) is still driven by the caller's own thread, so a store that is not
thread-safe never sees a second thread. The two threads meet in :class:`_Pipe`, which holds at
most one input chunk and :data:`_OUTBOX_CHUNKS` output chunks (age writes 64 KiB at a time):
memory stays bounded whatever the size of the backup.

``pyrage`` is imported inside the functions that use it, so commands that never encrypt never
load it (tests/unit/cli/test_startup.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from backup_keeper.small_files import TooLarge, read_small

RecipientKind = Literal["age", "ssh-ed25519", "ssh-rsa"]
_SSH_KINDS: tuple[RecipientKind, ...] = ("ssh-ed25519", "ssh-rsa")
_AGE_PREFIX = "age1"
_AGE_SECRET_PREFIX = "AGE-SECRET-KEY-"  # noqa: S105 - the prefix that marks a private key, no key
_MAX_IDENTITY_FILE = 64 * 1024
"""An identity file holds a few keys of a few hundred bytes each."""
_OUTBOX_CHUNKS = 16
"""Output chunks waiting for the consumer: 16 x 64 KiB, enough to keep both threads busy."""
_WRONG_KEY = "No matching keys found"
"""pyrage's DecryptError text when no identity opens the file's header."""


class EncryptionError(ValueError):
    """A key that cannot be used, or bytes that cannot be decrypted; the message says which in
    words an administrator can act on, and never holds a private key."""


class WrongIdentity(EncryptionError):
    """No key in the identity file opens the backup: the bytes may be fine, the key is not."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A public key backups are encrypted to, checked to be one age can use."""

    text: str
    """The key in its canonical form: ``age1...`` in lower case, or ``<type> <base64>`` for an
    ssh key (its comment dropped: a comment such as ``user@host`` is no part of the key)."""
    kind: RecipientKind
    fingerprint: str
    """See :func:`recipient_fingerprint`."""


def parse_recipient(text: str) -> Recipient:
    """``text`` as a :class:`Recipient`; EncryptionError saying why it is not one.

    Checked by age itself, so a key that passes here is one encryption accepts later.
    """
    cleaned = text.strip()
    if cleaned.upper().startswith(_AGE_SECRET_PREFIX):
        raise EncryptionError(
            "a recipient is an age PRIVATE key: give its public key (age-keygen -y FILE); "
            "the backup side never needs the private key"
        )
    if cleaned.lower().startswith(_AGE_PREFIX):
        return _age_recipient(cleaned)
    kind = cleaned.split(maxsplit=1)[0] if cleaned else ""
    if kind in _SSH_KINDS:
        return _ssh_recipient(cleaned)
    if kind.startswith(("ssh-", "ecdsa-", "sk-")):
        raise EncryptionError(
            f"recipient of type {kind!r}: age encrypts to ssh-ed25519 and ssh-rsa keys only"
        )
    raise EncryptionError(
        f"recipient {_shown(cleaned)!r} is neither an age public key (age1...) nor an ssh "
        "public key (ssh-ed25519 ... / ssh-rsa ...)"
    )


def parse_recipients(texts: Iterable[str]) -> tuple[Recipient, ...]:
    """Every recipient, checked all at once (one message lists each bad one); duplicates are
    dropped; an empty list is refused, since encrypting to nobody would lose the backup."""
    parsed: dict[str, Recipient] = {}
    problems: list[str] = []
    for number, text in enumerate(texts, start=1):
        try:
            recipient = parse_recipient(text)
        except EncryptionError as exc:
            problems.append(f"recipient {number}: {exc}")
        else:
            parsed.setdefault(recipient.text, recipient)
    if problems:
        raise EncryptionError("; ".join(problems))
    if not parsed:
        raise EncryptionError("encryption needs at least one recipient public key")
    return tuple(parsed.values())


def recipient_fingerprint(recipient: str | Recipient) -> str:
    """A short, stable name for a public key, as sidecars record it: ``<kind> SHA256:<base64>``.

    Why a digest and not the key: the sidecar travels with the backup to every destination;
    a digest tells which keys can decrypt a copy (compare it with the fingerprints of the
    identities at hand) without spreading the keys, or an ssh key's ``user@host`` comment.
    For an ssh key it is exactly what ``ssh-keygen -l -f KEY.pub`` prints (SHA-256 of the key
    blob, base64 without padding); for an age key, the same digest of its lower-case text.
    """
    parsed = parse_recipient(recipient) if isinstance(recipient, str) else recipient
    return parsed.fingerprint


def identity_fingerprints(identity_file: Path) -> tuple[str, ...]:
    """The fingerprints of the age (X25519) keys in ``identity_file``, to tell an administrator
    whether it is the file a backup was encrypted for; ssh private keys are not listed (their
    public half is in their ``.pub`` file, which ``ssh-keygen -l`` fingerprints)."""
    from pyrage import x25519  # noqa: PLC0415 - loaded only when keys are used

    age_lines = [
        line for line in _identity_lines(_identity_text(identity_file)) if _is_age_secret(line)
    ]
    found = []
    for line in age_lines:
        public = str(_age_identity(x25519, line, identity_file).to_public())
        found.append(_fingerprint("age", public.lower().encode()))
    return tuple(found)


def check_identity(identity_file: Path) -> None:
    """EncryptionError unless ``identity_file`` holds a private key a decryption can use (age
    keys, or one unencrypted OpenSSH key): a door asks before it fetches anything, so a file
    that cannot be read, or holds no key, is bad input rather than a failed download."""
    _load_identities(identity_file)


def encrypting(
    chunks: Iterable[bytes], recipients: Sequence[Recipient]
) -> Generator[bytes, None, None]:
    """The age encryption of the concatenated ``chunks`` to every one of ``recipients``, as
    chunks, in bounded memory. ``chunks`` is pulled lazily, by the caller's thread; an
    exception it raises comes out of this iterator unchanged. A generator, so a caller that
    stops early can ``close()`` it and know age's thread has ended."""
    if not recipients:
        raise EncryptionError("encryption needs at least one recipient public key")
    import pyrage  # noqa: PLC0415 - loaded only when a backup is encrypted

    keys = [_pyrage_recipient(pyrage, recipient) for recipient in recipients]

    def work(reader: _Reader, writer: _Writer) -> None:
        pyrage.encrypt_io(reader, writer, keys)

    return _pumped(chunks, work, _encryption_failure)


def decrypting(chunks: Iterable[bytes], identity_file: Path) -> Generator[bytes, None, None]:
    """The plaintext of the age file made of ``chunks``, decrypted with the keys in
    ``identity_file`` (age ``AGE-SECRET-KEY-1...`` lines, or an unencrypted OpenSSH private key).

    age authenticates every 64 KiB chunk, so bytes come out before the end is reached; damage
    or truncation anywhere raises EncryptionError before the iterator ends. A caller must
    therefore treat what it received as unfinished until the iterator is exhausted (write it
    under a temporary name, as ``safe_files.atomic_file`` does). A wrong identity fails before
    any byte comes out.
    """
    identities = _load_identities(identity_file)
    import pyrage  # noqa: PLC0415 - loaded only when a backup is decrypted

    def work(reader: _Reader, writer: _Writer) -> None:
        pyrage.decrypt_io(reader, writer, identities)

    return _pumped(chunks, work, _decryption_failure(identity_file))


# -- recipients and identities ------------------------------------------------------------


def _shown(text: str) -> str:
    """Enough of a bad recipient to recognise it in a message."""
    return text if len(text) <= 24 else text[:20] + "..."


def _fingerprint(kind: RecipientKind, material: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(material).digest()).decode().rstrip("=")
    return f"{kind} SHA256:{digest}"


def _age_recipient(text: str) -> Recipient:
    from pyrage import RecipientError, x25519  # noqa: PLC0415 - loaded only when keys are used

    canonical = text.lower()
    if " " in canonical or "\t" in canonical:
        raise EncryptionError("an age public key is one word (age1...), with nothing after it")
    try:
        x25519.Recipient.from_str(canonical)
    except RecipientError as exc:
        raise EncryptionError(f"{_shown(canonical)!r} is not a valid age public key") from exc
    return Recipient(canonical, "age", _fingerprint("age", canonical.encode()))


def _ssh_recipient(text: str) -> Recipient:
    from pyrage import RecipientError, ssh  # noqa: PLC0415 - loaded only when keys are used

    kind, _, rest = text.partition(" ")
    blob_text = rest.split(maxsplit=1)[0] if rest.strip() else ""
    try:
        blob = base64.b64decode(blob_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EncryptionError(f"{kind} key: its key part is not base64") from exc
    canonical = f"{kind} {blob_text}"
    try:
        ssh.Recipient.from_str(canonical)
    except RecipientError as exc:
        raise EncryptionError(f"{kind} key {_shown(blob_text)!r} is not a valid ssh key") from exc
    ssh_kind: RecipientKind = "ssh-ed25519" if kind == "ssh-ed25519" else "ssh-rsa"
    return Recipient(canonical, ssh_kind, _fingerprint(ssh_kind, blob))


def _pyrage_recipient(pyrage: Any, recipient: Recipient) -> object:
    module = pyrage.x25519 if recipient.kind == "age" else pyrage.ssh
    return module.Recipient.from_str(recipient.text)


def _identity_text(identity_file: Path) -> str:
    """The identity file's text; never quotes it in an error (it holds private keys)."""
    try:
        raw = read_small(identity_file, limit=_MAX_IDENTITY_FILE)
    except TooLarge as exc:
        raise EncryptionError(
            f"identity file {identity_file} is larger than 64 KiB: not an age or ssh key file"
        ) from exc
    except OSError as exc:
        raise EncryptionError(
            f"identity file {identity_file} cannot be read: {exc.strerror}"
        ) from exc
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise EncryptionError(
            f"identity file {identity_file} is not text: not an age or ssh key file"
        ) from exc


def _identity_lines(text: str) -> list[str]:
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _is_age_secret(line: str) -> bool:
    return line.upper().startswith(_AGE_SECRET_PREFIX)


def _age_identity(x25519: Any, line: str, identity_file: Path) -> Any:
    from pyrage import IdentityError  # noqa: PLC0415 - loaded only when keys are used

    try:
        return x25519.Identity.from_str(line)
    except IdentityError as exc:
        raise EncryptionError(
            f"identity file {identity_file} holds a damaged age key (AGE-SECRET-KEY-1...)"
        ) from exc


def _load_identities(identity_file: Path) -> list[object]:
    """Every private key in the file: age keys one per line, or one OpenSSH private key."""
    from pyrage import IdentityError, ssh, x25519  # noqa: PLC0415 - loaded only when keys are used

    text = _identity_text(identity_file)
    if "-----BEGIN" in text:
        try:
            return [ssh.Identity.from_buffer(text.encode())]
        except IdentityError as exc:
            reason = (
                "it is protected by a passphrase; decrypt a copy first (ssh-keygen -p)"
                if "decrypted first" in str(exc)
                else "it is not an ssh private key age can use (ssh-ed25519 or ssh-rsa)"
            )
            raise EncryptionError(f"identity file {identity_file}: {reason}") from exc
    lines = _identity_lines(text)
    if not lines or not all(_is_age_secret(line) for line in lines):
        raise EncryptionError(
            f"identity file {identity_file} holds no age private key (AGE-SECRET-KEY-1...) "
            "and no OpenSSH private key"
        )
    return [_age_identity(x25519, line, identity_file) for line in lines]


def _encryption_failure(exc: Exception) -> EncryptionError:
    return EncryptionError(f"age encryption failed: {exc}")


def _decryption_failure(identity_file: Path) -> Callable[[Exception], EncryptionError]:
    def failure(exc: Exception) -> EncryptionError:
        if str(exc) == _WRONG_KEY:
            return WrongIdentity(
                f"no key in identity file {identity_file} can decrypt this backup: it was "
                "encrypted to other recipients (compare the fingerprints in its sidecar)"
            )
        return EncryptionError(
            "the encrypted backup is damaged or cut short (age authentication failed): "
            "nothing decrypted from it can be trusted"
        )

    return failure


# -- the pipe between the caller's thread and age's ------------------------------------------


class _Reader(Protocol):
    def read(self, size: int = -1) -> bytes: ...


class _Writer(Protocol):
    def write(self, data: bytes) -> int: ...

    def flush(self) -> None: ...


class _Cancelled(Exception):
    """The consumer stopped: age's reads and writes fail so its thread ends."""


class _Pipe:
    """Where the caller's thread and age's worker thread hand chunks over, under one lock.

    The caller feeds one input chunk only when the previous one is used up, and takes output
    chunks; the worker reads from the input chunk and adds output chunks, waiting while
    :data:`_OUTBOX_CHUNKS` are already waiting. Neither side ever waits for the other without
    the other being able to move, so there is no deadlock.
    """

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.pending: memoryview | None = None
        self.offset = 0
        self.input_done = False
        self.outbox: deque[bytes] = deque()
        self.cancelled = False
        self.finished = False
        self.error: Exception | None = None

    # worker side (age calls these)
    def read(self, size: int = -1) -> bytes:
        with self.lock:
            while self.pending is None and not self.input_done and not self.cancelled:
                self.lock.wait()
            if self.cancelled:
                raise _Cancelled
            if self.pending is None:
                return b""
            end = len(self.pending) if size < 0 else min(len(self.pending), self.offset + size)
            data = bytes(self.pending[self.offset : end])
            self.offset = end
            if end >= len(self.pending):
                self.pending = None
                self.lock.notify_all()
            return data

    def write(self, data: bytes) -> int:
        with self.lock:
            while len(self.outbox) >= _OUTBOX_CHUNKS and not self.cancelled:
                self.lock.wait()
            if self.cancelled:
                raise _Cancelled
            self.outbox.append(bytes(data))
            self.lock.notify_all()
            return len(data)

    def flush(self) -> None:
        """age may flush its writer; the outbox has nothing to flush."""

    def run(self, work: Callable[[_Reader, _Writer], None]) -> None:
        try:
            work(self, self)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer's thread, never lost
            error: Exception | None = exc
        else:
            error = None
        with self.lock:
            self.finished, self.error = True, error
            self.lock.notify_all()

    # caller side
    def next_step(self) -> bytes | None:
        """An output chunk; None when the worker needs input (the caller feeds, then asks
        again); raises StopIteration when the worker has finished and everything is taken."""
        with self.lock:
            while not self.outbox and not self.finished and not self._wants_input():
                self.lock.wait()
            if self.outbox:
                chunk = self.outbox.popleft()
                self.lock.notify_all()
                return chunk
            if self.finished:
                raise StopIteration
            return None

    def _wants_input(self) -> bool:
        return self.pending is None and not self.input_done

    def feed(self, chunk: bytes | None) -> None:
        """The next input chunk (never empty: age would read it as the end); None at the end."""
        with self.lock:
            if chunk is None:
                self.input_done = True
            else:
                self.pending, self.offset = memoryview(chunk), 0
            self.lock.notify_all()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            self.lock.notify_all()


def _pumped(
    chunks: Iterable[bytes],
    work: Callable[[_Reader, _Writer], None],
    failure: Callable[[Exception], EncryptionError],
) -> Generator[bytes, None, None]:
    """Run ``work`` (age) in a worker thread between ``chunks`` and the returned iterator.

    However the consumer stops (end, exception, ``close()``), the worker is cancelled and
    joined before this generator finishes: no thread outlives the transfer.
    """
    pipe = _Pipe()
    source = iter(chunks)
    worker = threading.Thread(target=pipe.run, args=(work,), name="backup-keeper-age", daemon=True)
    worker.start()
    try:
        while True:
            try:
                chunk = pipe.next_step()
            except StopIteration:
                break
            if chunk is not None:
                yield chunk
                continue
            piece = next(source, None)
            while piece is not None and not piece:
                piece = next(source, None)
            pipe.feed(piece)
        if pipe.error is not None:
            raise failure(pipe.error) from pipe.error
    finally:
        pipe.cancel()
        worker.join()
