"""``catalog`` and ``purge`` given a destination URL instead of directories: real subprocesses
against a real directory (file://), moto's S3 server and asyncssh's SFTP server on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.open import open_store
from tests.builders import directory_state
from tests.destination_doubles import MemoryStore
from tests.remote_builders import store_chain
from tests.servers.s3 import SECRET_KEY, S3Server
from tests.servers.sftp import SftpServer
from tests.unit.cli.test_app import cli

NOW = "2026-11-20T00:00:00Z"
CHAIN = [
    "keeper_F_000.cbk",
    "keeper_I_001.cbk",
    "keeper_I_002.cbk",
    "keeper_F_003.cbk",
    "keeper_I_004.cbk",
    "keeper_I_005.cbk",
]


def seed(settings: DestinationSettings, instance: str = "PROD") -> None:
    """Two chains (F I I, F I I) stored at the destination as the copy job leaves them, each
    sidecar after its backup."""
    model = MemoryStore()
    store_chain(model, "FIIFII")
    store = open_store(settings, instance=instance)
    try:
        for name in sorted(model.objects, key=lambda n: n.endswith(".json")):
            store.put(name, [model.objects[name]])
    finally:
        store.close()


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """A mounted share (file://) holding PROD's two chains."""
    base = tmp_path / "share"
    base.mkdir()
    seed(DestinationSettings(url=f"file://{base}"))
    return base


def test_catalog_of_a_file_url_lists_the_stored_chains_in_the_house_shape(share: Path) -> None:
    done = cli("catalog", f"file://{share}", "--instance", "PROD")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"catalog of file://{share}/PROD (")
    assert re.match(r"FILE\s+KIND\s+TIME\s+STATUS", lines[2])
    assert re.search(r"^keeper_I_002\.cbk\s+incremental.*keeper_F_000\.cbk", done.stdout, re.M)
    assert lines[-1] == "ok: 6 stored backup(s): 6 managed, 0 unmanaged; 72 B in all"


def test_the_instance_comes_from_the_environment_when_not_given(share: Path) -> None:
    done = cli("catalog", f"file://{share}", "--json", env={"BACKUP_KEEPER_INSTANCE": "PROD"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [Path(e["path"]).name for e in report["records"]] == CHAIN
    assert report["directories"] == [f"file://{share}/PROD"]


def test_purge_of_a_file_url_deletes_there_by_its_own_rules_and_keeps_the_chain(
    share: Path,
) -> None:
    done = cli("purge", f"file://{share}", "--instance", "PROD", "--keep-last", "1", "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^deleted\s+keeper_F_000\.cbk\s+full", done.stdout, re.M)
    assert re.search(r"^keep\s+keeper_I_005\.cbk\s+incremental", done.stdout, re.M)
    assert done.stdout.splitlines()[-1].startswith("ok: deleted 3 of 3 stored backup(s)")
    left = sorted(p.name for p in (share / "PROD").iterdir())
    assert [n for n in left if n.endswith(".cbk")] == ["keeper_F_003.cbk", *CHAIN[4:]]


def test_a_dry_run_purge_of_a_url_prints_one_json_report_and_changes_nothing(
    share: Path,
) -> None:
    before = directory_state(share)
    done = cli(
        "purge", f"file://{share}", "--instance", "PROD", "--keep-last", "1",
        "--dry-run", "--json", "--now", NOW,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # exactly one object: anything more fails to parse
    assert (report["job"], report["status"], report["dry_run"]) == ("purge", "ok", True)
    assert [Path(e["path"]).name for e in report["delete"]] == CHAIN[:3]
    assert report["options"]["keep_last"] == 1
    assert directory_state(share) == before


def test_a_destination_that_cannot_be_reached_fails_the_job_not_the_input(tmp_path: Path) -> None:
    done = cli("catalog", f"file://{tmp_path}/absent", "--instance", "PROD", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "failed" and report["errors"]
    assert not (tmp_path / "absent").exists()


@pytest.mark.usefixtures("aws_environment")
def test_catalog_and_purge_of_an_s3_url_through_the_endpoint_flags(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("cli-remote-purge")
    flags = ["--endpoint", s3_server.endpoint, "--allow-http", "--path-style"]
    seed(DestinationSettings(url=f"s3://{bucket}/night", **_flags(s3_server.endpoint)))
    url = f"s3://{bucket}/night"
    listed = cli("catalog", url, "--instance", "PROD", *flags)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].startswith(f"catalog of {url}/PROD (")
    purged = cli("purge", url, "--instance", "PROD", "--keep-last", "1", "--now", NOW, *flags)
    assert purged.returncode == 0, purged.stderr
    keys = s3_server.keys(bucket).decode()
    assert "night/PROD/keeper_F_000.cbk<" not in keys
    assert "night/PROD/keeper_F_003.cbk<" in keys
    for done in (listed, purged):
        assert SECRET_KEY not in done.stdout + done.stderr


def _flags(endpoint: str) -> dict[str, object]:
    return {"endpoint": endpoint, "allow_http": True, "path_style": True}


def test_catalog_of_an_sftp_url_with_known_hosts_and_a_key_file(sftp_server: SftpServer) -> None:
    (sftp_server.root / "backups").mkdir()
    url = f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups"
    keys = {"known_hosts": sftp_server.known_hosts, "identity_file": sftp_server.client_key}
    seed(DestinationSettings(url=url, **keys))
    done = cli(
        "catalog", url, "--instance", "PROD", "--json",
        "--known-hosts", sftp_server.known_hosts, "--identity-file", sftp_server.client_key,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [Path(e["path"]).name for e in report["records"]] == CHAIN


def test_an_sftp_password_is_read_from_the_variable_named_never_printed(
    sftp_server: SftpServer,
) -> None:
    (sftp_server.root / "backups").mkdir()
    url = f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups"
    done = cli(
        "-v", "catalog", url, "--instance", "PROD",
        "--known-hosts", sftp_server.known_hosts, "--password-env", "SFTP_PASSWORD",
        env={"SFTP_PASSWORD": sftp_server.password},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("ok: 0 stored backup(s)")
    assert sftp_server.password not in done.stdout + done.stderr


BAD = [
    (["catalog", "sftp://keeper:hunter2-secret@host/backups", "--instance", "P"], "URL"),
    (["purge", "s3://AKIA:hunter2-secret@bucket/p", "--instance", "P", "--keep-last", "1"], "URL"),
    (["catalog", "ftp://host/backups", "--instance", "P"], "unknown destination scheme"),
    (["catalog", "{share}"], "--instance"),
    (["purge", "{share}", "--keep-last", "1"], "--instance"),
    (["catalog", "{share}", "{plain}", "--instance", "P"], "not both"),
    (["purge", "{plain}", "{share}", "--instance", "P", "--keep-last", "1"], "not both"),
    (["catalog", "{share}", "{share}", "--instance", "P"], "one destination URL at a time"),
    (["catalog", "{plain}", "--endpoint", "https://minio.example"], "--endpoint"),
    (["purge", "{plain}", "--instance", "P", "--keep-last", "1"], "--instance"),
    (["catalog", "{share}", "--instance", "P", "--iris", "fake"], "--iris"),
    (["catalog", "{share}", "--instance", "../P"], "--instance"),
    (["catalog", "{share}", "--instance", "P", "--region", "eu-west-1"], "region"),
    (["catalog", "{share}", "--instance", "P", "--password-env", "x=y"], "--password-env"),
    (["purge", "{share}", "--instance", "P"], "retention"),
    (["purge", "{share}", "--instance", "P", "--keep-last", "٣"], "--keep-last"),
]


@pytest.mark.parametrize(("args", "named"), BAD)
@pytest.mark.parametrize("as_json", [False, True])
def test_bad_destination_input_is_refused_with_exit_2_and_nothing_is_touched(
    share: Path, tmp_path: Path, args: list[str], named: str, as_json: bool
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    before = directory_state(tmp_path)
    typed = [a.format(share=f"file://{share}", plain=plain) for a in args]
    done = cli(*typed, *(["--json"] if as_json else []))
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert directory_state(tmp_path) == before
    if as_json:
        report = json.loads(done.stdout)
        assert (report["status"], report["summary"]) == ("failed", "bad input: nothing was done")
    else:
        assert done.stdout == ""
