"""``verify``, ``restore-plan`` and ``restore`` given a destination URL: real subprocesses
against a destination filled by ``backup-keeper copy`` (a real directory through file://,
moto's S3 server and asyncssh's SFTP server on loopback), a chain taken by FakeIris and
encrypted with age, restored with ``--iris fake``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyrage import x25519

from backup_keeper.encryption import identity_fingerprints, recipient_fingerprint
from backup_keeper.iris.fake import FakeIris
from tests.builders import directory_state
from tests.remote_builders import take_chain
from tests.servers.s3 import SECRET_KEY, S3Server
from tests.servers.sftp import SftpServer
from tests.unit.cli.test_app import cli

MAP = "/usr/irissys/mgr/user/=/staging/user/"


@dataclass
class Chain:
    """A full and two incrementals taken by FakeIris (the instance ``--iris fake`` uses),
    four hours apart, ending a day ago; an age key pair made here."""

    files: list[Path]
    taken: datetime
    identity: Path
    public: str
    stage: Path

    def copy_to(self, url: str, *flags: str | Path) -> None:
        done = cli(
            "copy", self.files[0].parent, "--to", url, "--instance", "PROD",
            "--encrypt-to", self.public, *flags,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def stored(self, index: int) -> str:
        return self.files[index].name + ".age"


@pytest.fixture
def chain(tmp_path: Path, fake_state: Path) -> Chain:
    taken = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=8)
    files = take_chain(
        fake_state, tmp_path / "backups", ["full", "incremental", "incremental"], start=taken
    )
    key = x25519.Identity.generate()
    identity = tmp_path / "identity.txt"
    identity.write_text(f"{key}\n")
    stage = tmp_path / "stage"
    stage.mkdir()
    return Chain(files, taken, identity, str(key.to_public()), stage)


@pytest.fixture
def share(tmp_path: Path, chain: Chain) -> Path:
    """A mounted share (file://) the chain was copied to, encrypted, by ``backup-keeper copy``."""
    base = tmp_path / "share"
    base.mkdir()
    chain.copy_to(f"file://{base}")
    return base


def restore(url: str, chain: Chain, *flags: str | Path) -> list[str | Path]:
    """The arguments of a restore from ``url`` into the chain's staging parent."""
    return [
        "restore", url, "--instance", "PROD", "--confirm", "--map", MAP, "--iris", "fake",
        "--staging", chain.stage, "--identity", chain.identity, *flags,
    ]  # fmt: skip


def restored() -> list[str]:
    """What the ``--iris fake`` instance has restored, by file name."""
    return [Path(p).name for p in FakeIris().snapshot().restored]


def no_secret(done: object, chain: Chain) -> None:
    secret = chain.identity.read_text().strip()
    output = getattr(done, "stdout", "") + getattr(done, "stderr", "")
    assert secret not in output
    assert re.search(r"AGE-SECRET-KEY-1[0-9A-Z]{8}", output.upper()) is None  # no key at all


# -- verify --------------------------------------------------------------------------------------


def test_verify_of_a_url_reads_every_stored_backup_back_in_the_house_shape(
    share: Path, chain: Chain
) -> None:
    done = cli("verify", f"file://{share}", "--instance", "PROD")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"verify of file://{share}/PROD (")
    assert re.match(r"FILE\s+KIND\s+SIZE\s+STATUS\s+RESULT", lines[2])
    for index in range(3):
        assert re.search(rf"^{re.escape(chain.stored(index))}\s.*\sverified$", done.stdout, re.M)
    assert lines[-1].startswith("ok: verified 3 stored backup(s): all intact")


def test_a_damaged_stored_object_fails_verify_naming_it(share: Path, chain: Chain) -> None:
    damaged = share / "PROD" / chain.stored(1)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    done = cli("verify", f"file://{share}", "--instance", "PROD", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)  # exactly one object: anything more fails to parse
    assert report["status"] == "failed"
    [error] = report["errors"]
    assert error.startswith(f"file://{share}/PROD/{chain.stored(1)}: corrupt: ")
    text = cli("verify", f"file://{share}", "--instance", "PROD")
    assert text.returncode == 1
    assert re.search(rf"^{re.escape(chain.stored(1))}\s.*\scorrupt: ", text.stdout, re.M)
    assert text.stdout.splitlines()[-1].startswith("failed: verified 3 stored backup(s): 1 problem")


def test_verify_of_a_url_with_sample_reads_only_the_newest_chains(share: Path) -> None:
    done = cli("verify", f"file://{share}", "--sample", "1", "--json",
               env={"BACKUP_KEEPER_INSTANCE": "PROD"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["options"]["sample"] == 1
    assert report["directories"] == [f"file://{share}/PROD"]


# -- restore-plan --------------------------------------------------------------------------------


def test_restore_plan_of_a_url_at_a_moment_names_the_stored_objects_up_to_it(
    share: Path, chain: Chain
) -> None:
    at = (chain.taken + timedelta(hours=5)).isoformat()
    done = cli("restore-plan", f"file://{share}", "--instance", "PROD", "--at", at, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["job"], report["status"], report["dry_run"]) == ("restore-plan", "ok", True)
    files = [f["path"] for f in report["restore"]["files"]]
    assert files == [f"file://{share}/PROD/{chain.stored(i)}" for i in (0, 1)]
    text = cli("restore-plan", f"file://{share}", "--instance", "PROD", "--at", at)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"restore-plan of file://{share}/PROD (dry run; ")
    assert text.stdout.splitlines()[-1].startswith("ok: restore 2 file(s) to ")


# -- restore -------------------------------------------------------------------------------------


def test_restore_from_a_url_fetches_decrypts_restores_and_removes_its_staging(
    share: Path, chain: Chain
) -> None:
    done = cli(*restore(f"file://{share}", chain))
    assert done.returncode == 0, done.stderr
    assert restored() == [f.name for f in chain.files]
    assert list(chain.stage.iterdir()) == []
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"restore of file://{share}/PROD (iris fake; ")
    assert lines[-1] == f"ok: restored 3 file(s) (fetched from file://{share}/PROD)"
    no_secret(done, chain)


def test_restore_from_a_url_as_json_is_one_report_and_can_keep_its_staging(
    share: Path, chain: Chain
) -> None:
    done = cli(*restore(f"file://{share}", chain, "--keep-staging", "--json"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["job"], report["status"]) == ("restore", "ok")
    assert report["options"]["keep_staging"] is True
    [staging] = chain.stage.iterdir()
    assert sorted(p.name for p in staging.iterdir() if p.suffix == ".cbk") == sorted(
        f.name for f in chain.files
    )
    no_secret(done, chain)


def test_a_wrong_identity_fails_naming_both_fingerprints_and_restores_nothing(
    share: Path, chain: Chain, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"{x25519.Identity.generate()}\n")
    done = cli(*restore(f"file://{share}", chain, "--identity", wrong))
    assert done.returncode == 1, done.stderr
    [held] = identity_fingerprints(wrong)
    assert f"the identity file holds {held}" in done.stdout
    assert recipient_fingerprint(chain.public) in done.stdout
    assert restored() == []
    assert list(chain.stage.iterdir()) == []
    assert wrong.read_text().strip() not in done.stdout + done.stderr


def test_an_encrypted_chain_without_an_identity_fails_before_any_fetch(
    share: Path, chain: Chain
) -> None:
    args = [a for a in restore(f"file://{share}", chain) if a not in ("--identity", chain.identity)]
    done = cli(*args)
    assert done.returncode == 1, done.stderr
    assert "give the identity file" in done.stdout
    assert restored() == []
    assert list(chain.stage.iterdir()) == []


BAD = [
    (["restore", "{url}", "--instance", "P", "--confirm", "--map", MAP, "--iris", "fake"],
     "--staging: required with a destination URL"),
    (["{restore}", "--identity", "{missing}"], "--identity: identity file"),
    (["{restore}", "--identity", "{plain}"], "--identity: identity file"),
    (["{restore}", "--identity", "{public}"], "holds no age private key"),
    (["{restore}", "--identity-file", "{identity}"], "--identity-file: the SFTP login key"),
    (["{restore}", "{plain}"], "not both"),
    (["restore", "{plain}", "--confirm", "--map", MAP, "--iris", "fake", "--staging", "{stage}"],
     "--staging: only with a destination URL"),
    (["restore", "{plain}", "--confirm", "--map", MAP, "--iris", "fake", "--identity",
      "{identity}"], "--identity: only with a destination URL"),
    (["restore", "{url}", "--instance", "P", "--map", MAP, "--iris", "fake", "--staging",
      "{stage}"], "--confirm"),
    (["restore", "{url}", "--instance", "P", "--confirm", "--iris", "fake", "--staging",
      "{stage}"], "--map is required"),
    (["verify", "{url}", "{plain}", "--instance", "P"], "not both"),
    (["verify", "{url}"], "--instance"),
    (["verify", "{url}", "--instance", "P", "--iris", "fake"], "--iris"),
    (["verify", "{url}", "--instance", "P", "--sample", "0"], "--sample"),
    (["verify", "{plain}", "--instance", "P"], "--instance: only with a destination URL"),
    (["verify", "s3://AKIA:hunter2-secret@bucket/p", "--instance", "P"], "URL"),
    (["restore-plan", "{plain}", "{url}", "--instance", "P"], "not both"),
    (["restore-plan", "{url}", "--instance", "P", "--iris", "fake"], "--iris"),
    (["restore-plan", "{url}", "--instance", "P", "--at", "yesterday"], "--at"),
    (["restore-plan", "sftp://keeper:hunter2-secret@host/b", "--instance", "P"], "URL"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "named"), BAD)
@pytest.mark.parametrize("as_json", [False, True])
def test_bad_input_is_refused_with_exit_2_and_nothing_is_fetched_or_written(
    share: Path, chain: Chain, tmp_path: Path, args: list[str], named: str, as_json: bool
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    public = tmp_path / "public.txt"
    public.write_text(chain.public + "\n")
    before = directory_state(tmp_path)
    url = f"file://{share}"
    fields = {
        "url": url,
        "plain": plain,
        "stage": chain.stage,
        "identity": chain.identity,
        "public": public,
        "missing": tmp_path / "absent.txt",
    }
    typed: list[str | Path] = []
    for arg in args:
        if arg == "{restore}":
            typed += restore(url, chain)
        else:
            typed.append(arg.format(**fields))
    done = cli(*typed, *(["--json"] if as_json else []))
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    no_secret(done, chain)
    assert directory_state(tmp_path) == before
    assert restored() == []
    if as_json:
        report = json.loads(done.stdout)
        assert (report["status"], report["summary"]) == ("failed", "bad input: nothing was done")
    else:
        assert done.stdout == ""


# -- real servers --------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws_environment")
def test_a_chain_copied_to_s3_verifies_and_restores_from_there(
    s3_server: S3Server, chain: Chain
) -> None:
    bucket = s3_server.create_bucket("cli-remote-restore")
    url = f"s3://{bucket}/night"
    flags = ["--endpoint", s3_server.endpoint, "--allow-http", "--path-style"]
    chain.copy_to(url, *flags)
    verified = cli("verify", url, "--instance", "PROD", *flags)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines()[-1].startswith("ok: verified 3 stored backup(s)")
    done = cli(*restore(url, chain, *flags))
    assert done.returncode == 0, done.stderr
    assert restored() == [f.name for f in chain.files]
    assert list(chain.stage.iterdir()) == []
    for output in (verified, done):
        assert SECRET_KEY not in output.stdout + output.stderr
        no_secret(output, chain)


def test_a_chain_copied_over_sftp_plans_and_restores_with_a_login_key_and_an_age_key(
    sftp_server: SftpServer, chain: Chain
) -> None:
    (sftp_server.root / "backups").mkdir()
    url = f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups"
    login: list[str | Path] = ["--known-hosts", sftp_server.known_hosts]
    login += ["--identity-file", sftp_server.client_key]
    chain.copy_to(url, *login)
    plan = cli("restore-plan", url, "--instance", "PROD", "--json", *login)
    assert plan.returncode == 0, plan.stderr
    files = [f["path"] for f in json.loads(plan.stdout)["restore"]["files"]]
    assert [Path(f).name for f in files] == [chain.stored(i) for i in range(3)]
    done = cli(*restore(url, chain, *login))
    assert done.returncode == 0, done.stderr
    assert restored() == [f.name for f in chain.files]
    assert list(chain.stage.iterdir()) == []
    no_secret(done, chain)
