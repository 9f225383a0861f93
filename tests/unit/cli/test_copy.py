"""``backup-keeper copy DIR... --to URL``: real subprocesses against a real directory
(file://), moto's S3 server and asyncssh's SFTP server on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pyrage import x25519

from tests.builders import directory_state
from tests.copy_builders import copies_of, local_chain
from tests.servers.s3 import SECRET_KEY, S3Server
from tests.servers.sftp import SftpServer
from tests.unit.cli.test_app import cli

NOW = "2026-11-20T00:00:00Z"


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    """Two local chains (F I I, F I I) with sidecars that carry their checksums."""
    directory = tmp_path / "backups"
    directory.mkdir()
    local_chain(directory, "FIIFII", size=2048)
    return directory


def stored(base: Path) -> list[str]:
    return sorted(p.name for p in base.iterdir()) if base.is_dir() else []


def test_copy_to_a_file_url_sends_each_backup_and_records_it_in_its_sidecar(
    backups: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    done = cli("copy", backups, "--to", f"file://{share}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"copy of {backups} to file://{share} (")
    assert re.search(r"^copied\s+keeper_F_000\.cbk\s+sent and verified", done.stdout, re.M)
    assert lines[-1].startswith(f"ok: copied 6 backup(s) (12.0 KiB) to file://{share}/PROD")
    assert "keeper_I_005.cbk.json" in stored(share / "PROD")
    assert copies_of(backups, "keeper_I_005.cbk") == [f"file://{share}/PROD/"]


def test_a_second_copy_with_keep_flags_sends_nothing_and_purges_the_destination_by_them(
    backups: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    assert cli("copy", backups, "--to", f"file://{share}").returncode == 0
    done = cli("copy", backups, "--to", f"file://{share}", "--keep-last", "1", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["summary"].endswith("6 already there; purged 3 there")
    assert report["options"]["keep_last"] == 1
    left = [n for n in stored(share / "PROD") if n.endswith(".cbk")]
    assert left == ["keeper_F_003.cbk", "keeper_I_004.cbk", "keeper_I_005.cbk"]
    assert len(list(backups.glob("*.cbk"))) == 6  # the local backups are the copy's source only


def test_a_dry_run_copy_prints_one_json_report_and_sends_nothing(
    backups: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    before = directory_state(tmp_path)
    done = cli("copy", backups, "--to", f"file://{share}", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["job"], report["status"], report["dry_run"]) == ("copy", "ok", True)
    assert {a["outcome"] for a in report["actions"]} == {"would-copy"}
    assert directory_state(tmp_path) == before


def test_a_copy_that_cannot_reach_its_destination_fails_and_deletes_nothing(
    backups: Path, tmp_path: Path
) -> None:
    before = {
        n: s for n, s in directory_state(backups).items() if n.endswith((".cbk", ".cbk.json"))
    }
    done = cli("copy", backups, "--to", f"file://{tmp_path}/not-mounted", "--keep-last", "1")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1].startswith("failed: ")
    after = directory_state(backups)  # the alerts' dedupe state is written there, nothing else
    assert {n: s for n, s in after.items() if n.endswith((".cbk", ".cbk.json"))} == before
    assert not (tmp_path / "not-mounted").exists()


@pytest.mark.usefixtures("aws_environment")
def test_an_encrypted_copy_to_s3_is_listed_by_catalog_of_the_same_url(
    backups: Path, s3_server: S3Server
) -> None:
    bucket = s3_server.create_bucket("cli-copy-encrypted")
    url = f"s3://{bucket}/offsite"
    flags = ["--endpoint", s3_server.endpoint, "--allow-http", "--path-style"]
    recipient = str(x25519.Identity.generate().to_public())
    sent = cli("copy", backups, "--to", url, "--encrypt-to", recipient, *flags)
    assert sent.returncode == 0, sent.stderr
    assert "offsite/PROD/keeper_F_000.cbk.age<" in s3_server.keys(bucket).decode()
    listed = cli("catalog", url, "--instance", "PROD", "--json", *flags)
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)["records"]
    assert len(records) == 6 and all(r["status"] == "completed" for r in records)
    for done in (sent, listed):
        assert SECRET_KEY not in done.stdout + done.stderr


def test_a_copy_to_sftp_then_a_purge_there_by_its_own_rules(
    backups: Path, sftp_server: SftpServer
) -> None:
    (sftp_server.root / "offsite").mkdir()
    url = f"sftp://keeper@127.0.0.1:{sftp_server.port}/offsite"
    keys: list[str | Path] = ["--known-hosts", sftp_server.known_hosts]
    keys += ["--identity-file", sftp_server.client_key]
    sent = cli("copy", backups, "--to", url, "--bandwidth-limit", "10000000", *keys)
    assert sent.returncode == 0, sent.stderr
    purged = cli("purge", url, "--instance", "PROD", "--keep-last", "1", "--now", NOW, *keys)
    assert purged.returncode == 0, purged.stderr
    there = [n for n in stored(sftp_server.root / "offsite" / "PROD") if n.endswith(".cbk")]
    assert there == ["keeper_F_003.cbk", "keeper_I_004.cbk", "keeper_I_005.cbk"]


BAD = [
    (["--to", "sftp://keeper:hunter2-secret@host/offsite"], "--to"),
    (["--to", "s3://AKIA:hunter2-secret@bucket/p"], "--to"),
    (["--to", "ftp://host/offsite"], "unknown destination scheme"),
    (["--to", "/mnt/offsite"], "--to"),
    (["--to", "{share}", "--encrypt-to", "age1not-a-key"], "--encrypt-to"),
    (["--to", "{share}", "--bandwidth-limit", "0"], "--bandwidth-limit"),
    (["--to", "{share}", "--bandwidth-limit", "fast"], "--bandwidth-limit"),
    (["--to", "{share}", "--region", "eu-west-1"], "region"),
    (["--to", "{share}", "--instance", "../PROD"], "--instance"),
    (["--to", "{share}", "--keep-within", "forever"], "--keep-within"),
    (["{share}", "--to", "{share}"], "DIRECTORIES"),
    ([], "--to"),
]


@pytest.mark.parametrize(("args", "named"), BAD)
@pytest.mark.parametrize("as_json", [False, True])
def test_bad_copy_input_is_refused_with_exit_2_and_nothing_is_sent(
    backups: Path, tmp_path: Path, args: list[str], named: str, as_json: bool
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    before = directory_state(tmp_path)
    typed = [a.format(share=f"file://{share}") for a in args]
    done = cli("copy", backups, *typed, *(["--json"] if as_json else []))
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert directory_state(tmp_path) == before
    if as_json:
        report = json.loads(done.stdout)
        assert report["status"] == "failed"
    else:
        assert done.stdout == ""
