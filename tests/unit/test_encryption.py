"""age encryption, streamed: round trips, keys checked with clear errors, bounded memory, and
decryption that never ends quietly on a wrong key or damaged bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pyrage import x25519

from backup_keeper.encryption import (
    EncryptionError,
    Recipient,
    WrongIdentity,
    check_identity,
    decrypting,
    encrypting,
    identity_fingerprints,
    parse_recipient,
    parse_recipients,
    recipient_fingerprint,
)

SSH_PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBPRX0IJPSHIdJeoeFKJZV1OVewaDYJWWzJ7vhcuGc02"
SSH_FINGERPRINT = "ssh-ed25519 SHA256:a9XX79xQEEXehc+EqkQlQmerh+HKr009SSD7drzHsLI"
"""A throw-away public key and what ``ssh-keygen -l -f`` printed for it."""


def age_identity(tmp_path: Path, name: str = "key.txt") -> tuple[Path, Recipient]:
    identity = x25519.Identity.generate()
    path = tmp_path / name
    path.write_text(f"# created: now\n# public key: {identity.to_public()}\n{identity}\n")
    return path, parse_recipient(str(identity.to_public()))


def ssh_identity(tmp_path: Path) -> tuple[Path, Recipient]:
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "id_ed25519"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return path, parse_recipient(_ssh_public(key) + " admin@host\n")


def _ssh_public(key: ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def passphrase_protected_ssh_key(tmp_path: Path) -> Path:
    """An OpenSSH private key file as ``ssh-keygen -N PASS`` writes one (cipher aes256-ctr,
    kdf bcrypt); its encrypted part is random bytes, since only its header is ever read."""
    blob = base64.b64decode(_ssh_public(ed25519.Ed25519PrivateKey.generate()).split()[1])
    body = (
        b"openssh-key-v1\0"
        + _string(b"aes256-ctr")
        + _string(b"bcrypt")
        + _string(_string(os.urandom(16)) + struct.pack(">I", 16))
        + struct.pack(">I", 1)
        + _string(blob)
        + _string(os.urandom(160))
    )
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
    path = tmp_path / "id_protected"
    path.write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    return path


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


DATA = bytes(range(256)) * 4096 + b"tail"
"""A little over 1 MiB: several of age's 64 KiB chunks, and a short last one."""


def test_a_backup_encrypted_to_an_age_key_decrypts_with_its_identity(tmp_path: Path) -> None:
    identity, recipient = age_identity(tmp_path)
    encrypted = b"".join(encrypting(pieces(DATA, 100_000), [recipient]))
    assert encrypted.startswith(b"age-encryption.org/v1\n")
    assert DATA[:64] not in encrypted
    assert b"".join(decrypting(pieces(encrypted, 7_000), identity)) == DATA


def test_every_recipient_can_decrypt_including_an_ssh_key(tmp_path: Path) -> None:
    first, age_key = age_identity(tmp_path, "first.txt")
    ssh_key_file, ssh_key = ssh_identity(tmp_path)
    encrypted = b"".join(encrypting([DATA], [age_key, ssh_key]))
    assert b"".join(decrypting([encrypted], first)) == DATA
    assert b"".join(decrypting([encrypted], ssh_key_file)) == DATA


def test_empty_input_and_empty_chunks_round_trip(tmp_path: Path) -> None:
    identity, recipient = age_identity(tmp_path)
    nothing = b"".join(encrypting([b"", b""], [recipient]))
    assert b"".join(decrypting([nothing], identity)) == b""
    some = b"".join(encrypting([b"", b"abc", b"", b"def", b""], [recipient]))
    assert b"".join(decrypting([some], identity)) == b"abcdef"


def test_a_wrong_identity_is_a_clear_error_before_any_byte(tmp_path: Path) -> None:
    _, recipient = age_identity(tmp_path, "right.txt")
    wrong, _ = age_identity(tmp_path, "wrong.txt")
    encrypted = b"".join(encrypting([DATA], [recipient]))
    received: list[bytes] = []
    with pytest.raises(WrongIdentity, match=r"no key in identity file .*wrong\.txt can decrypt"):
        received.extend(decrypting(pieces(encrypted, 65_536), wrong))
    assert received == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:600_000] + bytes([b[600_000] ^ 1]) + b[600_001:], id="flipped"),
        pytest.param(lambda b: b[:-1000], id="cut-short"),
        pytest.param(lambda b: b[: len(b) // 2], id="cut-at-half"),
        pytest.param(lambda b: b"not age at all", id="garbage"),
    ],
)
def test_damaged_ciphertext_never_ends_quietly(tmp_path: Path, damage: object) -> None:
    identity, recipient = age_identity(tmp_path)
    encrypted = b"".join(encrypting([DATA], [recipient]))
    assert callable(damage)
    with pytest.raises(EncryptionError, match="damaged or cut short") as caught:
        for _ in decrypting(pieces(damage(encrypted), 50_000), identity):
            pass
    assert not isinstance(caught.value, WrongIdentity)


def test_an_error_in_the_input_comes_out_unchanged_and_the_worker_ends(tmp_path: Path) -> None:
    _, recipient = age_identity(tmp_path)

    def failing() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise OSError(5, "Input/output error")

    before = threading.active_count()
    with pytest.raises(OSError, match="Input/output error"):
        b"".join(encrypting(failing(), [recipient]))
    assert threading.active_count() == before


def test_a_consumer_that_stops_early_leaves_no_thread_behind(tmp_path: Path) -> None:
    _, recipient = age_identity(tmp_path)
    before = threading.active_count()
    stream = encrypting(pieces(DATA * 8, 65_536), [recipient])
    next(stream)
    assert threading.active_count() == before + 1
    stream.close()
    assert threading.active_count() == before


def test_encrypting_to_nobody_is_refused() -> None:
    with pytest.raises(EncryptionError, match="at least one recipient"):
        encrypting([b"x"], [])
    with pytest.raises(EncryptionError, match="at least one recipient"):
        parse_recipients([])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AGE-SECRET-KEY-1QQQQQQQQ", "PRIVATE key"),
        ("age1notbech32", "not a valid age public key"),
        ("age1abc trailing", "one word"),
        ("ssh-ed25519 !!!notbase64", "not base64"),
        ("ssh-ed25519 AAAA", "not a valid ssh key"),
        ("ssh-dss AAAAB3NzaC1kc3M=", "ssh-ed25519 and ssh-rsa keys only"),
        ("ecdsa-sha2-nistp256 AAAA", "ssh-ed25519 and ssh-rsa keys only"),
        ("", "neither an age public key"),
        ("hello world this is a long line of words", "neither an age public key"),
    ],
)
def test_a_recipient_that_is_not_a_usable_public_key_is_refused_with_why(
    text: str, message: str
) -> None:
    with pytest.raises(EncryptionError, match=message):
        parse_recipient(text)


def test_a_private_key_given_as_recipient_is_never_echoed() -> None:
    secret = "AGE-SECRET-KEY-1SECRETSECRETSECRET"
    with pytest.raises(EncryptionError) as caught:
        parse_recipient(secret)
    assert "SECRET" not in str(caught.value).replace("SECRET-KEY", "")


def test_all_bad_recipients_are_named_at_once_and_duplicates_collapse(tmp_path: Path) -> None:
    _, good = age_identity(tmp_path)
    with pytest.raises(EncryptionError, match=r"recipient 2: .*; recipient 3: "):
        parse_recipients([good.text, "nonsense", "age1bad"])
    assert parse_recipients([good.text, good.text.upper(), " " + good.text]) == (good,)


def test_an_ssh_fingerprint_is_what_ssh_keygen_prints() -> None:
    assert recipient_fingerprint(SSH_PUBLIC + " someone@somewhere") == SSH_FINGERPRINT
    assert parse_recipient(SSH_PUBLIC).text == SSH_PUBLIC


def test_an_age_fingerprint_is_stable_short_and_names_no_key(tmp_path: Path) -> None:
    identity, recipient = age_identity(tmp_path)
    fingerprint = recipient_fingerprint(recipient.text)
    assert fingerprint == recipient_fingerprint(recipient.text.upper()) == recipient.fingerprint
    assert fingerprint.startswith("age SHA256:")
    assert recipient.text not in fingerprint
    assert identity_fingerprints(identity) == (fingerprint,)
    other, _ = age_identity(tmp_path, "other.txt")
    assert identity_fingerprints(other) != (fingerprint,)


def test_identity_fingerprints_list_no_ssh_key(tmp_path: Path) -> None:
    ssh_file, _ = ssh_identity(tmp_path)
    assert identity_fingerprints(ssh_file) == ()


def test_identity_file_problems_are_clear_and_quote_no_key(tmp_path: Path) -> None:
    _, recipient = age_identity(tmp_path)
    encrypted = b"".join(encrypting([b"data"], [recipient]))
    protected = passphrase_protected_ssh_key(tmp_path)
    damaged = tmp_path / "damaged.txt"
    damaged.write_text("AGE-SECRET-KEY-1DAMAGEDKEYTEXT\n")
    public_only = tmp_path / "public.txt"
    public_only.write_text(recipient.text + "\n")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" * 10)
    large = tmp_path / "large"
    large.write_bytes(b"#" * (65 * 1024))
    ecdsa_file = tmp_path / "id_ecdsa"
    ecdsa_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    cases = {
        tmp_path / "missing": "cannot be read",
        protected: "protected by a passphrase",
        damaged: "damaged age key",
        public_only: "holds no age private key",
        binary: "is not text",
        large: "larger than 64 KiB",
        ecdsa_file: "not an ssh private key age can use",
    }
    for path, message in cases.items():
        with pytest.raises(EncryptionError, match=message) as caught:
            list(decrypting([encrypted], path))
        assert "DAMAGEDKEYTEXT" not in str(caught.value)
        with pytest.raises(EncryptionError, match=message) as checked:
            check_identity(path)  # what a door asks before it fetches anything
        assert str(checked.value) == str(caught.value)


def test_an_identity_file_with_an_age_or_ssh_key_passes_the_check(tmp_path: Path) -> None:
    identity, _ = age_identity(tmp_path)
    ssh_file, _ = ssh_identity(tmp_path)
    check_identity(identity)  # raises on any problem
    check_identity(ssh_file)


_BOUNDED = """
import hashlib, json, resource, sys
from pathlib import Path
from pyrage import x25519
from backup_keeper.encryption import decrypting, encrypting, parse_recipient

identity = x25519.Identity.generate()
key_file = Path(sys.argv[1])
key_file.write_text(str(identity) + "\\n")
recipient = parse_recipient(str(identity.to_public()))
block = bytes(range(256)) * 4096  # 1 MiB, the same object every time
total = int(sys.argv[2])

def source():
    for _ in range(total):
        yield block

baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
digest, size = hashlib.sha256(), 0
for chunk in decrypting(encrypting(source(), [recipient]), key_file):
    digest.update(chunk)
    size += len(chunk)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
expected = hashlib.sha256()
for _ in range(total):
    expected.update(block)
print(json.dumps({"grew_kib": peak - baseline, "size": size,
                  "same": digest.hexdigest() == expected.hexdigest()}))
"""


def test_a_256_mib_stream_round_trips_in_bounded_memory(tmp_path: Path) -> None:
    """256 MiB through encryption and decryption at once; the process's peak resident size
    grows by a small fraction of that (a copy held whole would add 256 MiB or more)."""
    completed = subprocess.run(
        [sys.executable, "-c", _BOUNDED, str(tmp_path / "key.txt"), "256"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result = json.loads(completed.stdout)
    assert result["size"] == 256 << 20
    assert result["same"] is True
    assert result["grew_kib"] < 48 * 1024, result


def test_chunks_come_out_while_input_is_still_being_read(tmp_path: Path) -> None:
    """Streaming, not buffering: the first encrypted chunk is out before the input ends."""
    _, recipient = age_identity(tmp_path)
    taken = 0

    def counted() -> Iterator[bytes]:
        nonlocal taken
        for piece in pieces(DATA * 16, 65_536):
            taken += len(piece)
            yield piece

    stream = encrypting(counted(), [recipient])
    first = next(stream)
    assert first
    assert taken < len(DATA) * 16
    digest = hashlib.sha256(first)
    for chunk in stream:
        digest.update(chunk)
    assert taken == len(DATA) * 16
