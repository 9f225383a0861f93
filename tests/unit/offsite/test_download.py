"""Fetching a remote backup into staging: proved against the remote sidecar, decrypted with an
identity given at restore time, and nothing left that looks complete when anything is wrong."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from backup_keeper.destinations.store import DestinationError
from backup_keeper.encryption import EncryptionError, WrongIdentity
from backup_keeper.offsite.download import create_staging, download_backup
from backup_keeper.offsite.upload import upload_backup
from backup_keeper.safe_files import UnsafeName
from tests.destination_doubles import MemoryStore
from tests.progress_recorder import RecordingProgress
from tests.unit.offsite.backups import LOG, NAME, SIDECAR, FakeTime, age_key, clock, make_backup


def copied(
    tmp_path: Path, *, encrypted: bool = False, compressed: bool = False
) -> tuple[MemoryStore, Path, Path | None]:
    """A store holding a verified copy; the local backup file; the identity file if any."""
    backup = make_backup(tmp_path / "backups", compressed=compressed)
    store = MemoryStore()
    identity, recipient = age_key(tmp_path)
    upload_backup(backup, store, recipients=[recipient] if encrypted else [], clock=clock)
    return store, backup, identity if encrypted else None


def staging_dir(tmp_path: Path) -> Path:
    path = tmp_path / "staging"
    path.mkdir()
    return path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("compressed", [False, True], ids=["cbk", "cbk.zst"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_copy_comes_back_whole_with_its_log_and_sidecar(
    tmp_path: Path, encrypted: bool, compressed: bool
) -> None:
    store, backup, identity = copied(tmp_path, encrypted=encrypted, compressed=compressed)
    staging = staging_dir(tmp_path)
    result = download_backup(store, NAME, staging, identity_file=identity)
    assert result.backup == staging / backup.name
    assert result.backup.read_bytes() == backup.read_bytes()
    assert result.log == staging / LOG
    assert result.log.read_bytes() == (backup.parent / LOG).read_bytes()
    assert result.sidecar == staging / SIDECAR
    assert result.sidecar.read_bytes() == store.objects[SIDECAR]
    assert listing(staging) == sorted([backup.name, LOG, SIDECAR])
    assert result.decrypted is encrypted
    assert result.bytes_received == result.copy.size
    assert result.manifest.file == NAME
    assert stat.S_IMODE(result.backup.stat().st_mode) == 0o600


def test_a_backup_without_a_remote_log_comes_back_without_one(tmp_path: Path) -> None:
    backup = make_backup(tmp_path / "backups", log=False)
    store = MemoryStore()
    upload_backup(backup, store, clock=clock)
    result = download_backup(store, NAME, staging_dir(tmp_path))
    assert result.log is None


def test_an_encrypted_copy_without_an_identity_is_refused_before_fetching(
    tmp_path: Path,
) -> None:
    store, _, _ = copied(tmp_path, encrypted=True)
    store.calls.clear()
    staging = staging_dir(tmp_path)
    with pytest.raises(EncryptionError, match=r"encrypted with age to age SHA256:"):
        download_backup(store, NAME, staging)
    assert store.calls_of("get") == [SIDECAR]
    assert listing(staging) == []


def test_a_wrong_identity_leaves_staging_empty(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path, encrypted=True)
    wrong, _ = age_key(tmp_path, "wrong.txt")
    staging = staging_dir(tmp_path)
    with pytest.raises(WrongIdentity):
        download_backup(store, NAME, staging, identity_file=wrong)
    assert listing(staging) == []


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_corrupted_stored_object_is_caught_and_nothing_looks_complete(
    tmp_path: Path, encrypted: bool
) -> None:
    store, backup, identity = copied(tmp_path, encrypted=encrypted)
    store.damage(backup.name + (".age" if encrypted else ""))
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError) as caught:
        download_backup(store, NAME, staging, identity_file=identity)
    assert caught.value.kind == "corrupt"
    assert listing(staging) == []


def test_bytes_that_match_the_copy_but_not_the_backup_are_refused(tmp_path: Path) -> None:
    """The stored bytes are the ones recorded, but the sidecar's own checksum of the backup
    says otherwise: the backup that comes out is not the one described."""
    store, _, _ = copied(tmp_path)
    raw = json.loads(store.objects[SIDECAR])
    raw["checksum"]["hex"] = "0" * 64
    store.objects[SIDECAR] = json.dumps(raw).encode()
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError, match="does not match its sidecar") as caught:
        download_backup(store, NAME, staging)
    assert caught.value.kind == "corrupt"
    assert listing(staging) == []


def test_a_failure_after_the_file_arrived_takes_it_back(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path)
    store.fail("get", "credentials", name=LOG)
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError):
        download_backup(store, NAME, staging)
    assert listing(staging) == []


@pytest.mark.parametrize(
    ("hostile", "message"),
    [
        ({"copies": [{"object": "../x"}]}, "cannot be trusted: sidecar does not parse"),
        ({"copies": [{"object": "OtherDB_20261101_001.cbk"}]}, "names 'OtherDB"),
        ({"copies": [{"object": SIDECAR}]}, "as its stored file"),
        ({"file": "../x"}, "cannot be trusted"),
        ({"file": "OtherDB_20261101_001.cbk"}, "describes 'OtherDB"),
        ({"copies": []}, "records no verified copy"),
        ({"compression": "zstd"}, "as its stored file"),
    ],
)
def test_a_hostile_remote_sidecar_leads_nowhere(
    tmp_path: Path, hostile: dict[str, object], message: str
) -> None:
    store, _, _ = copied(tmp_path)
    raw = json.loads(store.objects[SIDECAR])
    for key, value in hostile.items():
        if key == "copies" and value:
            assert isinstance(value, list)
            raw["copies"][0].update(value[0])
        else:
            raw[key] = value
    store.objects[SIDECAR] = json.dumps(raw).encode()
    store.objects["OtherDB_20261101_001.cbk"] = b"another backup"
    store.modified["OtherDB_20261101_001.cbk"] = clock()
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError, match=message) as caught:
        download_backup(store, NAME, staging)
    assert caught.value.kind == "corrupt"
    assert listing(staging) == []
    assert not (tmp_path / "x").exists()


def test_an_oversized_remote_sidecar_is_refused(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path)
    store.objects[SIDECAR] = b" " * ((1 << 20) + 1)
    with pytest.raises(DestinationError, match="larger than") as caught:
        download_backup(store, NAME, staging_dir(tmp_path))
    assert caught.value.kind == "corrupt"


def test_a_remote_object_longer_than_its_record_is_cut_off(tmp_path: Path) -> None:
    store, backup, _ = copied(tmp_path)
    store.objects[backup.name] += b"appended"
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError, match="larger than"):
        download_backup(store, NAME, staging)
    assert listing(staging) == []


def test_no_sidecar_means_no_complete_copy(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path)
    del store.objects[SIDECAR]
    with pytest.raises(DestinationError, match="no complete copy") as caught:
        download_backup(store, NAME, staging_dir(tmp_path))
    assert caught.value.kind == "not-found"


def test_other_trouble_fetching_the_sidecar_keeps_its_kind(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path)
    store.fail("get", "credentials", name=SIDECAR)
    with pytest.raises(DestinationError) as caught:
        download_backup(store, NAME, staging_dir(tmp_path))
    assert caught.value.kind == "credentials"


@pytest.mark.parametrize("name", ["../x.cbk", "a/b.cbk", "notes.txt"])
def test_a_backup_name_that_is_not_one_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises((UnsafeName, ValueError)):
        download_backup(MemoryStore(), name, staging_dir(tmp_path))


def test_a_file_already_in_staging_is_never_replaced(tmp_path: Path) -> None:
    store, backup, _ = copied(tmp_path)
    staging = staging_dir(tmp_path)
    (staging / backup.name).write_bytes(b"planted")
    with pytest.raises(FileExistsError):
        download_backup(store, NAME, staging)
    assert (staging / backup.name).read_bytes() == b"planted"
    assert listing(staging) == [backup.name]


def test_a_transfer_dropped_mid_way_is_fetched_again(tmp_path: Path) -> None:
    store, backup, _ = copied(tmp_path)
    store.fail("get", "unreachable", name=backup.name, after_bytes=1 << 20)
    time = FakeTime()
    staging = staging_dir(tmp_path)
    result = download_backup(store, NAME, staging, transfer=time.transfer())
    assert result.backup.read_bytes() == backup.read_bytes()
    assert len(result.notes) == 1
    assert time.sleeps == [0.75]
    assert listing(staging) == sorted([backup.name, LOG, SIDECAR])


def test_the_copy_recorded_for_this_destination_is_the_one_fetched(tmp_path: Path) -> None:
    """The remote sidecar knows of other destinations' copies (it is the local sidecar plus
    this copy); the record for this destination is the one checked."""
    backup = make_backup(tmp_path / "backups")
    _, recipient = age_key(tmp_path)
    elsewhere, here = MemoryStore("mem://elsewhere/PROD"), MemoryStore()
    upload_backup(backup, elsewhere, recipients=[recipient], clock=clock)
    upload_backup(backup, here, clock=clock)
    result = download_backup(here, NAME, staging_dir(tmp_path))
    assert result.copy.destination == here.describe()
    assert result.decrypted is False


def test_a_bucket_reached_under_another_url_uses_the_latest_record(tmp_path: Path) -> None:
    store, backup, _ = copied(tmp_path)
    store.url = "mem://replica/PROD"
    result = download_backup(store, NAME, staging_dir(tmp_path))
    assert result.copy.destination == "mem://bucket/prefix/PROD"
    assert result.backup.read_bytes() == backup.read_bytes()


def test_progress_counts_the_stored_bytes_fetched(tmp_path: Path) -> None:
    store, backup, _ = copied(tmp_path)
    progress = RecordingProgress()
    download_backup(store, NAME, staging_dir(tmp_path), progress=progress)
    size = backup.stat().st_size
    assert [(s.total, s.done) for s in progress.named(f"fetching {NAME}")] == [(size, size)]


def test_create_staging_makes_a_fresh_private_directory(tmp_path: Path) -> None:
    first, second = create_staging(tmp_path), create_staging(tmp_path)
    assert first != second
    assert first.parent == tmp_path
    assert first.is_dir()
    assert not first.is_symlink()
    assert stat.S_IMODE(first.stat().st_mode) == 0o700
    assert listing(first) == []


def test_a_remote_sidecar_without_the_backups_checksum_is_refused(tmp_path: Path) -> None:
    store, _, _ = copied(tmp_path)
    raw = json.loads(store.objects[SIDECAR])
    del raw["checksum"]
    store.objects[SIDECAR] = json.dumps(raw).encode()
    staging = staging_dir(tmp_path)
    with pytest.raises(DestinationError, match="records no checksum"):
        download_backup(store, NAME, staging)
    assert listing(staging) == []
