from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

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
from backup_keeper.kinds import BackupKind

STARTED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def manifest(name: str = "b.cbk", **extra: object) -> Manifest:
    fields: dict[str, object] = {
        "file": name,
        "kind": BackupKind.FULL,
        "status": BackupStatus.COMPLETED,
        "started": STARTED,
        "size": 3,
        "tool_version": "0.1.0",
        "checksum": {"algorithm": "blake3", "hex": "a" * 64},
    }
    fields.update(extra)
    return Manifest.model_validate(fields)


def test_manifest_round_trips_through_its_sidecar(tmp_path: Path) -> None:
    backup = tmp_path / "b.cbk"
    backup.write_bytes(b"abc")
    written = write_manifest(backup, manifest())
    assert written == sidecar_path(backup) == tmp_path / "b.cbk.json"
    assert read_manifest(written, expected_file="b.cbk") == manifest()
    assert json.loads(written.read_text())["format"] == "backup-keeper/1"


def test_write_leaves_no_temp_file_and_replaces_atomically(tmp_path: Path) -> None:
    backup = tmp_path / "b.cbk"
    backup.write_bytes(b"abc")
    write_manifest(backup, manifest(status=BackupStatus.WARNING))
    write_manifest(backup, manifest())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.cbk", "b.cbk.json"]


def test_write_refuses_a_manifest_for_another_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"manifest names 'other\.cbk'"):
        write_manifest(tmp_path / "b.cbk", manifest("other.cbk"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "sidecar is empty"),
        (b"   \n", "sidecar is empty"),
        (b'{"format": "backup-keeper/1", "file": "b.cb', "sidecar does not parse"),
        (b"[1, 2]", "sidecar does not parse"),
        (b'{"format": "backup-keeper/9"}', "sidecar does not parse: format"),
    ],
)
def test_unreadable_sidecars_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "b.cbk.json"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=message):
        read_manifest(path, expected_file="b.cbk")


def test_sidecar_with_unknown_key_or_naive_time_is_refused(tmp_path: Path) -> None:
    good = json.loads(manifest().model_dump_json())
    path = tmp_path / "b.cbk.json"
    path.write_text(json.dumps({**good, "kind_typo": "full"}))
    with pytest.raises(ManifestError, match="kind_typo"):
        read_manifest(path, expected_file="b.cbk")
    path.write_text(json.dumps({**good, "started": "2026-11-20T01:00:00"}))
    with pytest.raises(ManifestError, match="started"):
        read_manifest(path, expected_file="b.cbk")


def test_sidecar_describing_another_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.cbk.json"
    path.write_text(manifest("c.cbk").model_dump_json())
    with pytest.raises(ManifestError, match=r"describes 'c\.cbk', not 'b\.cbk'"):
        read_manifest(path, expected_file="b.cbk")


def test_sidecar_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    real.write_text(manifest().model_dump_json())
    (tmp_path / "b.cbk.json").symlink_to(real)
    with pytest.raises(ManifestError, match="cannot be read"):
        read_manifest(tmp_path / "b.cbk.json", expected_file="b.cbk")


def test_oversized_sidecar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.cbk.json"
    with path.open("wb") as handle:
        handle.truncate((1 << 20) + 10)
    with pytest.raises(ManifestError, match="larger than 1 MiB"):
        read_manifest(path, expected_file="b.cbk")


def test_write_is_durable_temp_removed_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "b.cbk"
    backup.write_bytes(b"abc")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_manifest(backup, manifest())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.cbk"]


def test_a_symlink_planted_at_a_predictable_temp_name_neither_blocks_nor_redirects_the_write(
    tmp_path: Path,
) -> None:
    """The sidecar goes through backup_keeper.safe_files: its temporary name is not guessable,
    so a link planted where ``.NAME.tmp-<pid>`` used to be is left alone, as is its target."""
    directory = tmp_path / "backups"
    directory.mkdir()
    backup = directory / "b.cbk"
    backup.write_bytes(b"abc")
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (directory / f".b.cbk.json.tmp-{os.getpid()}").symlink_to(victim)
    written = write_manifest(backup, manifest())
    assert read_manifest(written, expected_file="b.cbk") == manifest()
    assert victim.read_text() == "keep me"


def test_write_refuses_a_backup_whose_name_is_not_bare(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a bare file name"):
        write_manifest(tmp_path / "..", manifest(".."))


# -- remote copies (issue 16) ---------------------------------------------------------------

VERIFIED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def remote_copy(destination: str = "s3://bucket/prefix/INST", **extra: object) -> RemoteCopy:
    fields: dict[str, object] = {
        "destination": destination,
        "object": "b.cbk",
        "size": 3,
        "checksum": {"algorithm": "blake3", "hex": "b" * 64},
        "verified": VERIFIED,
        "how": "read-back",
    }
    fields.update(extra)
    return RemoteCopy.model_validate(fields)


def test_a_sidecar_without_copies_is_written_exactly_as_before(tmp_path: Path) -> None:
    backup = tmp_path / "b.cbk"
    written = json.loads(write_manifest(backup, manifest()).read_text())
    assert "copies" not in written
    assert "copies" not in json.loads(manifest().model_dump_json())
    assert manifest().copies == []


def test_a_verified_copy_round_trips_through_the_sidecar(tmp_path: Path) -> None:
    backup = tmp_path / "b.cbk"
    encrypted = remote_copy(
        "sftp://keeper@host/backups/INST",
        object="b.cbk.age",
        size=300,
        encryption="age",
        recipients=["age SHA256:abc"],
    )
    described = with_copy(with_copy(manifest(), remote_copy()), encrypted)
    written = write_manifest(backup, described)
    read = read_manifest(written, expected_file="b.cbk")
    assert read == described
    assert [c.destination for c in read.copies] == [
        "s3://bucket/prefix/INST",
        "sftp://keeper@host/backups/INST",
    ]
    assert read.copies[1].encryption == "age"
    assert json.loads(manifest_bytes(described))["copies"][0]["how"] == "read-back"


def test_a_new_copy_to_the_same_destination_replaces_the_old_record() -> None:
    first = with_copy(manifest(), remote_copy())
    later = remote_copy(verified=datetime(2026, 12, 1, tzinfo=UTC), size=4)
    again = with_copy(first, later)
    assert again.copies == [later]
    assert first.copies == [remote_copy()]  # the original is unchanged (frozen)


@pytest.mark.parametrize("name", ["../x", "dir/b.cbk", "", ".."])
def test_a_copy_record_naming_anything_but_a_bare_object_is_refused(
    tmp_path: Path, name: str
) -> None:
    good = json.loads(with_copy(manifest(), remote_copy()).model_dump_json())
    good["copies"][0]["object"] = name
    path = tmp_path / "b.cbk.json"
    path.write_text(json.dumps(good))
    with pytest.raises(ManifestError, match=r"copies\.0\.object"):
        read_manifest(path, expected_file="b.cbk")


def test_a_copy_record_with_a_naive_time_or_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="verified"):
        remote_copy(verified="2026-11-20T02:00:00")
    with pytest.raises(ValueError, match="how"):
        remote_copy(how="trust-me")
    with pytest.raises(ValueError, match="encryption"):
        remote_copy(encryption="rot13")


# -- pins ---------------------------------------------------------------------------------

PINNED_AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def pin(**extra: object) -> dict[str, object]:
    return {"reason": "audit 2026", "pinned": PINNED_AT.isoformat(), **extra}


def test_an_unpinned_manifest_has_no_pin_key_in_its_bytes() -> None:
    assert b'"pin"' not in manifest_bytes(manifest())


def test_a_pin_round_trips_through_the_sidecar(tmp_path: Path) -> None:
    backup = tmp_path / "b.cbk"
    backup.write_bytes(b"abc")
    pinned = manifest(pin=pin(until="2027-01-01T00:00:00Z", by="alice"))
    write_manifest(backup, pinned)
    read = read_manifest(sidecar_path(backup), expected_file="b.cbk")
    assert read.pin is not None
    assert read.pin.reason == "audit 2026"
    assert read.pin.until == datetime(2027, 1, 1, tzinfo=UTC)
    assert read.pin.by == "alice"


def test_a_pin_holds_until_its_moment_then_expires() -> None:
    found = manifest(pin=pin(until="2027-01-01T00:00:00Z")).pin
    assert found is not None
    assert found.holds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert not found.holds(datetime(2027, 1, 1, tzinfo=UTC))
    forever = manifest(pin=pin()).pin
    assert forever is not None and forever.holds(datetime(9000, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("two\nlines", "one line"),
        ("bell\x07", "control"),
        ("\x1b[2Jrepaint", "control"),
        ("bidi \u202e override", "control"),
        ("x" * 201, "200"),
    ],
)
def test_a_hostile_pin_reason_in_a_sidecar_is_refused_on_read(
    tmp_path: Path, reason: str, why: str
) -> None:
    backup = tmp_path / "b.cbk"
    data = json.loads(manifest_bytes(manifest()))
    data["pin"] = pin(reason=reason)
    sidecar_path(backup).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=f"pin.reason.*{why}"):
        read_manifest(sidecar_path(backup), expected_file="b.cbk")


@pytest.mark.parametrize("value", [5, ["a"], {"reason": "x"}, None])
def test_a_pin_of_the_wrong_type_is_refused(tmp_path: Path, value: object) -> None:
    data = json.loads(manifest_bytes(manifest()))
    data["pin"] = pin(reason=value) if value is not None else "pinned"
    path = tmp_path / "b.cbk.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="pin"):
        read_manifest(path, expected_file="b.cbk")


def test_a_pin_with_an_unknown_key_or_a_naive_moment_is_refused(tmp_path: Path) -> None:
    for bad in (pin(extra="x"), pin(pinned="2026-11-21T09:00:00"), pin(by="eve\n")):
        data = json.loads(manifest_bytes(manifest()))
        data["pin"] = bad
        path = tmp_path / "b.cbk.json"
        path.write_text(json.dumps(data))
        with pytest.raises(ManifestError, match="pin"):
            read_manifest(path, expected_file="b.cbk")
