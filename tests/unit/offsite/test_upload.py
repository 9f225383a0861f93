"""Copying one local backup to a destination: order, proof, encryption, and every way it can
go wrong leaving nothing at the destination that looks complete and the local sidecar as it
was."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from backup_keeper.catalog.manifest import Manifest, parse_manifest, read_manifest
from backup_keeper.catalog.record import BackupStatus
from backup_keeper.checksum import file_checksum
from backup_keeper.destinations.store import DestinationError, RemoteObject
from backup_keeper.encryption import decrypting
from backup_keeper.offsite.streams import Tap
from backup_keeper.offsite.upload import LocalBackupError, upload_backup
from tests.destination_doubles import MemoryStore
from tests.progress_recorder import RecordingProgress
from tests.unit.offsite.backups import LOG, NAME, SIDECAR, FakeTime, age_key, clock, make_backup


def local_manifest(directory: Path) -> Manifest:
    return read_manifest(directory / SIDECAR, expected_file=NAME)


def remote_manifest(store: MemoryStore) -> Manifest:
    return parse_manifest(store.objects[SIDECAR], expected_file=NAME)


def blake3_of(data: bytes) -> str:
    tap = Tap("blake3")
    for _ in tap.through([data]):
        pass
    return tap.checksum().hex


def test_a_plain_backup_is_copied_file_log_then_sidecar_and_recorded_both_sides(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    store = MemoryStore()
    result = upload_backup(backup, store, clock=clock, transfer=FakeTime().transfer())
    assert store.stored == [NAME, LOG, SIDECAR]
    assert store.objects[NAME] == backup.read_bytes()
    assert store.objects[LOG] == (tmp_path / LOG).read_bytes()
    copy = result.copy
    assert copy.destination == "mem://bucket/prefix/PROD"
    assert (copy.object, copy.size, copy.how, copy.encryption) == (
        NAME,
        backup.stat().st_size,
        "read-back",
        None,
    )
    assert copy.checksum == file_checksum(backup)
    assert local_manifest(tmp_path).copies == [copy] == remote_manifest(store).copies
    assert result.manifest == local_manifest(tmp_path)
    assert result.sent == (NAME, LOG, SIDECAR) == result.verified
    assert result.skipped == ()
    assert result.bytes_sent == sum(len(store.objects[n]) for n in (NAME, LOG, SIDECAR))
    assert result.backup == NAME
    assert result.notes == ()


def test_every_object_is_read_back_before_the_next_is_sent(tmp_path: Path) -> None:
    store = MemoryStore()
    upload_backup(make_backup(tmp_path), store, clock=clock)
    transfers = [(op, name) for op, name in store.calls if op in ("put", "get")]
    assert transfers == [
        ("put", NAME),
        ("get", NAME),
        ("put", LOG),
        ("get", LOG),
        ("put", SIDECAR),
        ("get", SIDECAR),
    ]


@pytest.mark.parametrize("compressed", [False, True], ids=["cbk", "cbk.zst"])
def test_an_encrypted_copy_is_stored_as_age_and_decrypts_to_the_local_file(
    tmp_path: Path, compressed: bool
) -> None:
    backup = make_backup(tmp_path / "backups", compressed=compressed)
    identity, recipient = age_key(tmp_path)
    store = MemoryStore()
    result = upload_backup(backup, store, recipients=[recipient], clock=clock)
    stored = backup.name + ".age"
    assert stored == (NAME + ".zst.age" if compressed else NAME + ".age")
    assert store.stored == [stored, LOG, SIDECAR]
    ciphertext = store.objects[stored]
    assert b"".join(decrypting([ciphertext], identity)) == backup.read_bytes()
    copy = result.copy
    assert (copy.object, copy.encryption, copy.recipients) == (
        stored,
        "age",
        [recipient.fingerprint],
    )
    assert (copy.size, copy.checksum.hex) == (len(ciphertext), blake3_of(ciphertext))
    assert remote_manifest(store).copies == [copy]
    assert json.loads(store.objects[SIDECAR])["copies"][0]["recipients"] == [recipient.fingerprint]


def test_a_backup_without_a_log_is_copied_without_one(tmp_path: Path) -> None:
    store = MemoryStore()
    upload_backup(make_backup(tmp_path, log=False), store, clock=clock)
    assert store.stored == [NAME, SIDECAR]


def test_a_copy_killed_half_way_leaves_nothing_and_the_next_run_finishes_it(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    before = (tmp_path / SIDECAR).read_bytes()
    store = MemoryStore()
    store.fail("put", "failed", name=NAME, after_bytes=backup.stat().st_size // 2)
    with pytest.raises(DestinationError) as caught:
        upload_backup(backup, store, clock=clock)
    assert caught.value.kind == "failed"
    assert store.objects == {}
    assert (tmp_path / SIDECAR).read_bytes() == before
    result = upload_backup(backup, store, clock=clock)
    assert store.stored == [NAME, LOG, SIDECAR]
    assert local_manifest(tmp_path).copies == [result.copy]


def test_a_copy_killed_before_its_sidecar_is_finished_without_sending_the_file_again(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    store = MemoryStore()
    store.fail("put", "failed", name=SIDECAR)
    with pytest.raises(DestinationError):
        upload_backup(backup, store, clock=clock)
    assert sorted(store.objects) == [NAME, LOG]  # no sidecar: the copy does not exist yet
    assert local_manifest(tmp_path).copies == []
    result = upload_backup(backup, store, clock=clock)
    assert result.skipped == (NAME, LOG)
    assert result.sent == (SIDECAR,)
    assert result.verified == (NAME, LOG, SIDECAR)
    assert store.calls_of("put").count(NAME) == 1
    assert store.calls_of("get").count(NAME) == 2  # proved again, never trusted by its size


def test_an_encrypted_file_left_without_its_sidecar_is_sent_again(tmp_path: Path) -> None:
    """age output differs on every run: a stored .age no record vouches for cannot be
    proved without the private key, so it is replaced."""
    backup = make_backup(tmp_path)
    _, recipient = age_key(tmp_path)
    store = MemoryStore()
    store.fail("put", "failed", name=SIDECAR)
    with pytest.raises(DestinationError):
        upload_backup(backup, store, recipients=[recipient], clock=clock)
    result = upload_backup(backup, store, recipients=[recipient], clock=clock)
    assert result.sent == (NAME + ".age", SIDECAR)
    assert store.calls_of("put").count(NAME + ".age") == 2


def test_an_encrypted_copy_already_recorded_is_proved_and_not_sent_again(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    _, recipient = age_key(tmp_path)
    store = MemoryStore()
    first = upload_backup(backup, store, recipients=[recipient], clock=clock)
    again = upload_backup(backup, store, recipients=[recipient], clock=clock)
    assert again.skipped == (NAME + ".age", LOG)
    assert again.copy.checksum == first.copy.checksum
    _, other = age_key(tmp_path, "other.txt")
    changed = upload_backup(backup, store, recipients=[other], clock=clock)
    assert NAME + ".age" in changed.sent  # other keys: the stored file cannot be reused


def test_a_stored_object_with_other_bytes_is_replaced_with_a_note(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    store = MemoryStore()
    store.objects[NAME] = b"x" * backup.stat().st_size
    store.modified[NAME] = clock()
    result = upload_backup(backup, store, clock=clock)
    assert NAME in result.sent
    assert store.objects[NAME] == backup.read_bytes()
    assert any("was not a good copy" in note for note in result.notes)


def test_bytes_damaged_on_the_way_are_caught_by_the_read_back(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    before = (tmp_path / SIDECAR).read_bytes()
    store = MemoryStore()
    store.damage_next_put(NAME)
    with pytest.raises(DestinationError, match="differ from those sent") as caught:
        upload_backup(backup, store, clock=clock)
    assert caught.value.kind == "corrupt"
    assert SIDECAR not in store.objects
    assert (tmp_path / SIDECAR).read_bytes() == before


def test_a_store_that_reports_another_size_is_corrupt(tmp_path: Path) -> None:
    class Shrinking(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            stored = super().put(name, chunks)
            return RemoteObject(stored.name, stored.size - 1, stored.modified)

    with pytest.raises(DestinationError, match="were sent") as caught:
        upload_backup(make_backup(tmp_path), Shrinking(), clock=clock)
    assert caught.value.kind == "corrupt"


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_local_file_that_no_longer_matches_its_sidecar_is_refused_and_nothing_stored(
    tmp_path: Path, encrypted: bool
) -> None:
    backup = make_backup(tmp_path / "backups")
    data = bytearray(backup.read_bytes())
    data[len(data) - 10] ^= 0xFF  # same size, one byte rotted near the end
    backup.write_bytes(bytes(data))
    recipients = [age_key(tmp_path)[1]] if encrypted else []
    store = MemoryStore()
    with pytest.raises(LocalBackupError, match="no longer matches its sidecar"):
        upload_backup(backup, store, recipients=recipients, clock=clock)
    assert store.objects == {}
    assert local_manifest(tmp_path / "backups").copies == []


def test_a_local_file_of_the_wrong_size_is_refused_before_the_destination_is_asked(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    with backup.open("ab") as handle:
        handle.write(b"more")
    store = MemoryStore()
    with pytest.raises(LocalBackupError, match="its sidecar says"):
        upload_backup(backup, store, clock=clock)
    assert store.calls == []


def test_a_store_that_wraps_our_refusal_in_its_own_error_still_reports_ours(
    tmp_path: Path,
) -> None:
    class Wrapping(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            try:
                return super().put(name, chunks)
            except Exception as exc:
                raise DestinationError("failed", "upload aborted") from exc

    backup = make_backup(tmp_path)
    data = bytearray(backup.read_bytes())
    data[0] ^= 1
    backup.write_bytes(bytes(data))
    with pytest.raises(LocalBackupError, match="no longer matches"):
        upload_backup(backup, Wrapping(), clock=clock)


def test_a_store_that_stops_reading_early_has_not_stored_the_backup(tmp_path: Path) -> None:
    class Impatient(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            first = next(iter(chunks))
            return super().put(name, [first])

    with pytest.raises(DestinationError, match="stopped reading"):
        upload_backup(make_backup(tmp_path), Impatient(), clock=clock)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d / "notes.txt", "not a backup file"),
        (lambda d: d / NAME if (d / SIDECAR).unlink() is None else d, "cannot be read"),
        (lambda d: d / (NAME + ".zst"), "does not describe it as compressed"),
    ],
    ids=["not-a-backup", "no-sidecar", "zst-not-described"],
)
def test_a_file_its_sidecar_does_not_vouch_for_is_refused(
    tmp_path: Path, setup: object, message: str
) -> None:
    make_backup(tmp_path)
    assert callable(setup)
    path = setup(tmp_path)
    store = MemoryStore()
    with pytest.raises(LocalBackupError, match=message):
        upload_backup(path, store, clock=clock)
    assert store.calls == []


@pytest.mark.parametrize("status", [BackupStatus.FAILED, BackupStatus.ABORTED])
def test_a_backup_that_did_not_complete_is_not_copied(tmp_path: Path, status: BackupStatus) -> None:
    with pytest.raises(LocalBackupError, match="nothing to restore"):
        upload_backup(make_backup(tmp_path, status=status), MemoryStore(), clock=clock)


def test_a_sidecar_without_checksums_cannot_prove_its_file(tmp_path: Path) -> None:
    for compressed in (False, True):
        directory = tmp_path / str(compressed)
        backup = make_backup(directory, compressed=compressed)
        raw = json.loads((directory / SIDECAR).read_text())
        raw.pop("stored_checksum" if compressed else "checksum")
        (directory / SIDECAR).write_text(json.dumps(raw))
        with pytest.raises(LocalBackupError, match="cannot be proved"):
            upload_backup(backup, MemoryStore(), clock=clock)


def test_a_symlink_or_unreadable_log_is_never_taken_for_no_log(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    (tmp_path / LOG).unlink()
    (tmp_path / LOG).mkdir()
    with pytest.raises(LocalBackupError, match="not a regular file"):
        upload_backup(backup, MemoryStore(), clock=clock)
    (tmp_path / LOG).rmdir()
    (tmp_path / LOG).symlink_to(tmp_path / "elsewhere.log")
    with pytest.raises(LocalBackupError, match="not a regular file"):
        upload_backup(backup, MemoryStore(), clock=clock)


def test_a_backup_file_that_is_a_symlink_is_not_read(tmp_path: Path) -> None:
    backup = make_backup(tmp_path / "backups")
    moved = tmp_path / "elsewhere.cbk"
    backup.rename(moved)
    backup.symlink_to(moved)
    with pytest.raises(LocalBackupError, match="not a regular file"):
        upload_backup(backup, MemoryStore(), clock=clock)


def test_passing_trouble_is_retried_with_growing_waits_then_succeeds(tmp_path: Path) -> None:
    time = FakeTime()
    store = MemoryStore()
    store.fail("put", "unreachable", name=NAME, times=2, after_bytes=1 << 20)
    store.fail("get", "throttled", name=NAME)
    result = upload_backup(make_backup(tmp_path), store, clock=clock, transfer=time.transfer())
    assert store.stored == [NAME, LOG, SIDECAR]
    assert time.sleeps == [0.75, 1.5, 0.75]  # half of 1 s, 2 s, then 1 s, plus half by jitter
    assert [note.split(":")[0] for note in result.notes] == [
        f"storing {NAME}",
        f"storing {NAME}",
        f"reading back {NAME}",
    ]


def test_passing_trouble_that_does_not_pass_is_reported_after_the_last_attempt(
    tmp_path: Path,
) -> None:
    time = FakeTime()
    store = MemoryStore()
    store.fail("put", "throttled", name=NAME, times=10)
    with pytest.raises(DestinationError, match="gave up after 3 attempts") as caught:
        upload_backup(make_backup(tmp_path), store, clock=clock, transfer=time.transfer(attempts=3))
    assert caught.value.kind == "throttled"
    assert len(time.sleeps) == 2
    assert store.objects == {}


@pytest.mark.parametrize("kind", ["credentials", "missing", "full", "corrupt", "invalid"])
def test_trouble_that_waiting_does_not_fix_fails_at_once(tmp_path: Path, kind: str) -> None:
    time = FakeTime()
    store = MemoryStore()
    store.fail("head", kind)  # type: ignore[arg-type]
    with pytest.raises(DestinationError) as caught:
        upload_backup(make_backup(tmp_path), store, clock=clock, transfer=time.transfer())
    assert caught.value.kind == kind
    assert time.sleeps == []
    assert store.calls == [("head", NAME)]


def test_a_bandwidth_limit_paces_the_whole_copy(tmp_path: Path) -> None:
    time = FakeTime()
    backup = make_backup(tmp_path, size=8 << 20)
    store = MemoryStore()
    rate = 1 << 20
    result = upload_backup(backup, store, clock=clock, transfer=time.transfer(bandwidth=rate))
    moved = result.bytes_sent * 2  # sent, then read back through the same link
    assert time.now >= (moved - rate) / rate
    assert time.now <= moved / rate + 1


def test_progress_counts_the_bytes_read_and_read_back(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    progress = RecordingProgress()
    upload_backup(backup, MemoryStore(), clock=clock, progress=progress)
    copying = progress.named(f"copying {NAME} to")
    verifying = progress.named(f"verifying {NAME} at")
    size = backup.stat().st_size
    assert [(s.total, s.done, s.unit) for s in copying] == [(size, size, "bytes")]
    assert [(s.total, s.done) for s in verifying] == [(size, size)]
    assert all(s.finished for s in progress.steps)


def test_copies_to_two_destinations_are_both_recorded_and_a_repeat_replaces_its_own(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    first, second = MemoryStore("mem://a/PROD"), MemoryStore("sftp://keeper@b/backups/PROD")
    upload_backup(backup, first, clock=clock)
    upload_backup(backup, second, clock=clock)
    upload_backup(backup, first, clock=clock)
    copies = local_manifest(tmp_path).copies
    assert [c.destination for c in copies] == ["sftp://keeper@b/backups/PROD", "mem://a/PROD"]
    # the remote sidecar is the local one plus this copy: it knows of the other destination
    assert len(remote_manifest(second).copies) == 2


def test_a_local_sidecar_changed_during_the_copy_is_not_overwritten(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)

    class Meddling(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            if name == SIDECAR:
                raw = json.loads((tmp_path / SIDECAR).read_text())
                raw["checksum"]["hex"] = "0" * 64
                (tmp_path / SIDECAR).write_text(json.dumps(raw))
            return super().put(name, chunks)

    with pytest.raises(LocalBackupError, match="changed while the copy was made"):
        upload_backup(backup, Meddling(), clock=clock)
    assert local_manifest(tmp_path).copies == []


def test_a_local_sidecar_gone_during_the_copy_is_reported(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)

    class Removing(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            if name == SIDECAR:
                (tmp_path / SIDECAR).unlink()
            return super().put(name, chunks)

    with pytest.raises(LocalBackupError, match="copied and verified at mem://"):
        upload_backup(backup, Removing(), clock=clock)


def test_a_sidecar_with_a_sha256_checksum_is_copied_and_proved_with_sha256(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    raw = json.loads((tmp_path / SIDECAR).read_text())
    raw["checksum"] = file_checksum(backup, "sha256").model_dump()
    (tmp_path / SIDECAR).write_text(json.dumps(raw))
    result = upload_backup(backup, MemoryStore(), clock=clock)
    assert result.copy.checksum == file_checksum(backup, "sha256")


def test_a_name_that_is_not_bare_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LocalBackupError, match="not a bare file name"):
        upload_backup(tmp_path / "..", MemoryStore(), clock=clock)
    backup = make_backup(tmp_path, compressed=True)
    backup.unlink()
    with pytest.raises(LocalBackupError, match="cannot be read"):
        upload_backup(tmp_path / NAME, MemoryStore(), clock=clock)


def test_a_local_sidecar_that_cannot_be_written_is_reported_with_the_copy_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = make_backup(tmp_path)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    class FillingUp(MemoryStore):
        def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
            stored = super().put(name, chunks)
            if name == SIDECAR:
                monkeypatch.setattr("os.fsync", full_disk)
            return stored

    store = FillingUp()
    with pytest.raises(LocalBackupError, match="No space left on device"):
        upload_backup(backup, store, clock=clock)
    monkeypatch.undo()
    assert SIDECAR in store.objects
    assert local_manifest(tmp_path).copies == []


def test_a_provider_that_proves_what_it_stores_is_not_read_back(tmp_path: Path) -> None:
    backup = make_backup(tmp_path)
    store = MemoryStore()
    store.provider_proof = True
    result = upload_backup(backup, store, clock=clock, transfer=FakeTime().transfer())
    assert store.calls_of("get") == []
    assert result.copy.how == "provider-checksum"
    assert result.copy.checksum == file_checksum(backup)
    assert result.verified == (NAME, LOG, SIDECAR)


def test_an_object_already_there_is_still_read_back_even_where_the_provider_proves_uploads(
    tmp_path: Path,
) -> None:
    backup = make_backup(tmp_path)
    store = MemoryStore()
    upload_backup(backup, store, clock=clock, transfer=FakeTime().transfer())
    store.provider_proof = True
    result = upload_backup(backup, store, clock=clock, transfer=FakeTime().transfer())
    assert NAME in store.calls_of("get")
    assert result.copy.how == "read-back"
