"""Verify and restore against the real loopback servers (moto's S3, asyncssh's SFTP): a chain
copied with upload_backup, one incremental encrypted to an age key made here, verified there,
restored from there into staging byte for byte, and a corrupted stored object caught."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from backup_keeper.clock import fixed_clock
from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import open_store
from backup_keeper.destinations.remote_settings import RemoteRestoreSettings, RemoteVerifySettings
from backup_keeper.iris.fake import FakeIris
from backup_keeper.jobs import run_copy, run_remote_restore, run_remote_verify
from backup_keeper.offsite.upload import UploadResult
from backup_keeper.report import JobStatus
from backup_keeper.settings import CopySettings
from tests.remote_builders import age_identity, copy_chain, take_chain
from tests.servers.s3 import S3Server
from tests.servers.sftp import SftpServer

TAKEN = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
NOW = TAKEN + timedelta(days=2)
USER = "/usr/irissys/mgr/user/"
Corrupt = Callable[[str], None]


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


@pytest.fixture
def s3_destination(
    s3_server: S3Server, aws_environment: None
) -> tuple[DestinationSettings, Corrupt]:
    bucket = s3_server.create_bucket(f"restore-{uuid4().hex[:12]}")
    settings = DestinationSettings(
        url=f"s3://{bucket}/p", endpoint=s3_server.endpoint, allow_http=True, path_style=True
    )

    def corrupt(name: str) -> None:
        store = open_store(settings, instance="PROD")
        try:
            data = bytearray(b"".join(store.get(name)))
        finally:
            store.close()
        data[len(data) // 2] ^= 1
        s3_server.plant(bucket, f"p/PROD/{name}", bytes(data))

    return settings, corrupt


@pytest.fixture
def sftp_destination(sftp_server: SftpServer) -> tuple[DestinationSettings, Corrupt]:
    (sftp_server.root / "backups").mkdir()
    settings = DestinationSettings(
        url=f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups",
        known_hosts=sftp_server.known_hosts,
        identity_file=sftp_server.client_key,
        connect_timeout=5.0,
    )
    return settings, lambda name: flip(sftp_server.root / "backups" / "PROD" / name)


def restored_byte_for_byte(
    tmp_path: Path,
    settings: DestinationSettings,
    identity: Path,
    fake: FakeIris,
    files: list[Path],
) -> None:
    """Restore from the destination into a new staging directory (kept), and check that it
    holds exactly ``files``' bytes and that IRIS was asked to restore them, in order."""
    parent = tmp_path / "stage"
    parent.mkdir()
    restore = RemoteRestoreSettings(
        destination=settings,
        instance="PROD",
        staging=parent,
        identity_file=identity,
        directory_map={USER: "/staging/user/"},
        keep_staging=True,
    )
    report = run_remote_restore(restore, iris=fake, clock=fixed_clock(NOW))
    assert report.status is JobStatus.OK, report.errors
    [staging] = list(parent.iterdir())
    for original in files:
        assert (staging / original.name).read_bytes() == original.read_bytes()
    assert [Path(p).name for p in fake.snapshot().restored] == [f.name for f in files]


@pytest.fixture(params=["s3", "sftp"])
def destination(request: pytest.FixtureRequest) -> tuple[DestinationSettings, Corrupt]:
    found: tuple[DestinationSettings, Corrupt] = request.getfixturevalue(
        f"{request.param}_destination"
    )
    return found


def test_a_chain_copied_there_is_verified_restored_byte_for_byte_and_corruption_caught(
    tmp_path: Path, destination: tuple[DestinationSettings, Corrupt]
) -> None:
    settings, corrupt = destination
    fake = FakeIris(tmp_path / "iris")
    files = take_chain(
        tmp_path / "iris", tmp_path / "backups", ["full", "incremental", "incremental"], start=TAKEN
    )
    identity, recipient = age_identity(tmp_path)
    store = open_store(settings, instance="PROD")
    try:
        results: list[UploadResult] = copy_chain(
            files, store, at=TAKEN + timedelta(days=1), encrypted={1: [recipient]}
        )
    finally:
        store.close()
    assert results[1].copy.object.endswith(".cbk.age")

    verify = RemoteVerifySettings(destination=settings, instance="PROD")
    report = run_remote_verify(verify, clock=fixed_clock(NOW))
    assert report.status is JobStatus.OK, report.errors
    assert report.summary == "verified 3 stored backup(s): all intact"

    restored_byte_for_byte(tmp_path, settings, identity, fake, files)

    corrupt(results[1].copy.object)
    report = run_remote_verify(verify, clock=fixed_clock(NOW))
    assert report.status is JobStatus.FAILED
    [error] = report.errors
    assert f"/{results[1].copy.object}: corrupt: " in error


def test_the_copy_job_sends_an_encrypted_chain_purges_there_by_its_own_policy_then_it_restores(
    tmp_path: Path, destination: tuple[DestinationSettings, Corrupt]
) -> None:
    """Issue 16's whole path on a real server: two chains taken by FakeIris, copied by the copy
    job (encrypted, the destination keeping its newest full and what is built on it), verified
    there without the key, and the kept chain restored from there byte for byte."""
    settings, _ = destination
    fake = FakeIris(tmp_path / "iris")
    local = tmp_path / "backups"
    files = take_chain(
        tmp_path / "iris", local, ["full", "incremental", "full", "incremental"], start=TAKEN
    )
    identity, recipient = age_identity(tmp_path)
    copy = CopySettings.model_validate(
        {
            "directories": [local],
            "timezone": "UTC",
            "to": {
                "destination": settings.model_dump(mode="json", exclude_none=True),
                "encrypt_to": [recipient.text],
                "retention": {"keep_last": 1},
                "instance": "PROD",
            },
        }
    )
    report = run_copy(copy, clock=fixed_clock(NOW))
    assert report.status is JobStatus.OK, report.errors
    assert "copied 4 backup(s)" in report.summary and "purged 2 there" in report.summary

    verify = run_remote_verify(
        RemoteVerifySettings(destination=settings, instance="PROD"), clock=fixed_clock(NOW)
    )
    assert verify.status is JobStatus.OK, verify.errors
    assert verify.summary == "verified 2 stored backup(s): all intact"

    restored_byte_for_byte(tmp_path, settings, identity, fake, files[2:])
