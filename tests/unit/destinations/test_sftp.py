"""The SFTP store against a real asyncssh SFTP server on loopback (tests/servers/sftp.py)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePosixPath

import asyncssh
import pytest

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations import open as opening
from backup_keeper.destinations.sftp import WRITE_PIECE, SftpStore, is_partial_name
from backup_keeper.destinations.store import DestinationError
from tests.hang_guard import fails_if_blocked
from tests.servers.sftp import SftpServer

MiB = 1 << 20
INSTANCE = "iris-prod"

OpenStore = Callable[..., SftpStore]


@pytest.fixture
def open_store(sftp_server: SftpServer) -> Iterator[OpenStore]:
    """Stores on the test server under /backups/iris-prod, closed at the end of the test."""
    (sftp_server.root / "backups").mkdir()
    opened: list[SftpStore] = []

    def store(**overrides: object) -> SftpStore:
        settings: dict[str, object] = {
            "host": sftp_server.host,
            "port": sftp_server.port,
            "user": sftp_server.user,
            "base": PurePosixPath("/backups"),
            "instance": INSTANCE,
            "known_hosts": sftp_server.known_hosts,
            "identity": sftp_server.client_key,
            "connect_timeout": 5.0,
            "operation_timeout": 5.0,
        } | overrides
        opened.append(SftpStore(**settings))  # type: ignore[arg-type]
        return opened[-1]

    yield store
    for each in opened:
        each.close()


def instance_dir(server: SftpServer) -> Path:
    return server.root / "backups" / INSTANCE


def stored(server: SftpServer) -> list[str]:
    return sorted(p.name for p in instance_dir(server).iterdir())


def fault_of(action: Callable[[], object]) -> DestinationError:
    with pytest.raises(DestinationError) as caught:
        action()
    return caught.value


def test_a_put_object_is_listed_looked_at_read_back_and_deleted(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    assert list(store.list()) == []
    assert store.head("a.cbk") is None

    put = store.put("a.cbk", [b"hello ", b"", b"world"])

    assert (put.name, put.size, put.etag) == ("a.cbk", 11, None)
    assert put.modified.tzinfo is not None
    assert (instance_dir(sftp_server) / "a.cbk").read_bytes() == b"hello world"
    assert instance_dir(sftp_server).stat().st_mode & 0o777 == 0o750
    assert list(store.list()) == [put]
    assert store.head("a.cbk") == put
    assert b"".join(store.get("a.cbk")) == b"hello world"
    store.delete("a.cbk")
    assert store.head("a.cbk") is None
    assert stored(sftp_server) == []


def test_a_put_replaces_an_object_of_the_same_name(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    store.put("a.json", [b"old and longer"])
    assert store.put("a.json", [b"new"]).size == 3
    assert (instance_dir(sftp_server) / "a.json").read_bytes() == b"new"
    assert stored(sftp_server) == ["a.json"]


def test_a_server_without_posix_rename_or_fsync_still_replaces_an_object(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    """Older servers: the fallback removes the old object, then renames the new one in."""
    sftp_server.faults.no_posix_rename = True
    sftp_server.faults.no_fsync = True
    store = open_store()
    store.put("a.cbk", [b"first"])
    store.put("a.cbk", [b"second"])
    assert (instance_dir(sftp_server) / "a.cbk").read_bytes() == b"second"
    assert stored(sftp_server) == ["a.cbk"]


def test_a_64_mib_put_and_get_stream_with_bounded_memory(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    """The store never holds the object: peak memory (client and server, one process) stays
    a few chunks whatever the size."""
    store = open_store(operation_timeout=60.0)
    block = os.urandom(MiB)
    count = 64
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield block

    tracemalloc.start()
    try:
        put = store.put("big.cbk", chunks())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read = hashlib.sha256()
        for chunk in store.get("big.cbk"):
            read.update(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert put.size == count * MiB
    assert read.hexdigest() == expected.hexdigest()
    with (instance_dir(sftp_server) / "big.cbk").open("rb") as written:
        assert hashlib.file_digest(written, "sha256").hexdigest() == expected.hexdigest()
    assert put_peak < 24 * MiB, put_peak
    assert get_peak < 24 * MiB, get_peak


def test_chunks_failing_half_way_leave_nothing_under_the_name_and_the_next_put_succeeds(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()

    def failing() -> Iterator[bytes]:
        yield b"x" * MiB
        raise OSError("the local file went away")

    with pytest.raises(OSError, match="went away"):
        store.put("a.cbk", failing())

    assert stored(sftp_server) == []
    assert store.head("a.cbk") is None
    assert store.put("a.cbk", [b"whole"]).size == 5
    assert stored(sftp_server) == ["a.cbk"]


def test_a_temporary_left_by_a_killed_put_is_never_listed_and_is_removed_later(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    store.put("b.cbk", [b"b"])
    left = [".a.cbk.0123456789ab.partial", ".b.cbk.ba9876543210.partial"]
    for name in left:
        (instance_dir(sftp_server) / name).write_bytes(b"half")
    assert all(is_partial_name(name) for name in left)
    assert not is_partial_name("a.cbk")

    assert [o.name for o in store.list()] == ["b.cbk"]
    store.put("a.cbk", [b"a"])  # removes the temporaries of its own name only
    assert stored(sftp_server) == [".b.cbk.ba9876543210.partial", "a.cbk", "b.cbk"]
    assert store.cleanup_partials() == 1
    assert stored(sftp_server) == ["a.cbk", "b.cbk"]


def test_the_server_going_away_mid_put_is_unreachable_and_stores_nothing(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()

    def dropped_half_way() -> Iterator[bytes]:
        yield b"x" * MiB
        sftp_server.stop()
        yield b"y" * MiB

    with fails_if_blocked(20):
        fault = fault_of(lambda: store.put("a.cbk", dropped_half_way()))
    assert fault.kind == "unreachable", fault
    assert "a.cbk" not in stored(sftp_server)


def test_the_server_going_away_mid_get_is_unreachable(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    store.put("a.cbk", [os.urandom(3 * MiB)])
    chunks = store.get("a.cbk")
    next(chunks)
    sftp_server.stop()
    with fails_if_blocked(20):
        fault = fault_of(lambda: list(chunks))
    assert fault.kind == "unreachable", fault


def test_a_dropped_connection_fails_one_step_and_the_next_step_connects_again(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    store.put("a.cbk", [b"a"])
    sftp_server.drop_connections()
    assert fault_of(lambda: list(store.list())).kind == "unreachable"
    assert [o.name for o in store.list()] == ["a.cbk"]


def test_a_hung_server_is_unreachable_once_the_operation_timeout_passes(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store(operation_timeout=1.0)
    store.put("a.cbk", [b"a"])
    with sftp_server.frozen(), fails_if_blocked(20):
        fault = fault_of(lambda: store.put("b.cbk", [b"b"]))
    assert fault.kind == "unreachable"
    assert "did not answer in time" in fault.message


def test_a_server_that_never_speaks_is_unreachable_once_the_connect_timeout_passes(
    open_store: OpenStore,
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        store = open_store(port=silent.getsockname()[1], connect_timeout=1.0)
        with fails_if_blocked(20):
            fault = fault_of(lambda: list(store.list()))
    assert fault.kind == "unreachable"


def test_a_closed_port_is_unreachable(open_store: OpenStore) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed, and nothing listens there
    fault = fault_of(lambda: open_store(port=port).head("a.cbk"))
    assert fault.kind == "unreachable"
    assert f"127.0.0.1:{port}" in fault.message


def test_a_key_the_server_does_not_know_is_refused_as_credentials(
    open_store: OpenStore, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(stranger)
    fault = fault_of(lambda: list(open_store(identity=stranger).list()))
    assert fault.kind == "credentials"
    assert "refused user keeper" in fault.message


def test_an_unknown_user_is_refused_as_credentials(open_store: OpenStore) -> None:
    fault = fault_of(lambda: list(open_store(user="mallory").list()))
    assert fault.kind == "credentials"
    assert "refused user mallory" in fault.message


def test_a_host_key_not_in_known_hosts_is_refused_and_says_so(
    open_store: OpenStore, sftp_server: SftpServer, tmp_path: Path
) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    known_hosts = tmp_path / "other_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {other}")
    fault = fault_of(lambda: list(open_store(known_hosts=known_hosts).list()))
    assert fault.kind == "credentials"
    assert "host key of 127.0.0.1 does not match known_hosts" in fault.message


def test_a_missing_known_hosts_file_is_a_credentials_fault_never_trust_on_first_use(
    open_store: OpenStore, tmp_path: Path
) -> None:
    fault = fault_of(lambda: list(open_store(known_hosts=tmp_path / "absent").list()))
    assert fault.kind == "credentials"
    assert "cannot read known_hosts" in fault.message


@pytest.mark.parametrize("kind_of_file", ["passphrase", "garbage", "absent"])
def test_an_unreadable_or_protected_identity_file_is_a_credentials_fault(
    open_store: OpenStore, tmp_path: Path, kind_of_file: str
) -> None:
    identity = tmp_path / kind_of_file
    if kind_of_file == "passphrase":
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(identity, "pkcs8-pem", passphrase="pw")
    elif kind_of_file == "garbage":
        identity.write_text("not a key\n")
    fault = fault_of(lambda: open_store(identity=identity).head("a"))
    assert fault.kind == "credentials"
    assert f"cannot read identity file {identity}" in fault.message


def test_a_password_from_the_environment_logs_in_and_never_appears_in_a_fault(
    open_store: OpenStore, sftp_server: SftpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFTP_PASSWORD", sftp_server.password)
    good = open_store(identity=None, password_env="SFTP_PASSWORD")
    assert good.put("a.cbk", [b"a"]).size == 1

    monkeypatch.setenv("SFTP_PASSWORD", "wrong-" + sftp_server.password)
    wrong = fault_of(lambda: open_store(identity=None, password_env="SFTP_PASSWORD").head("a"))
    monkeypatch.delenv("SFTP_PASSWORD")
    unset = fault_of(lambda: open_store(identity=None, password_env="SFTP_PASSWORD").head("a"))

    assert (wrong.kind, unset.kind) == ("credentials", "credentials")
    assert "SFTP_PASSWORD" in unset.message
    for fault in (wrong, unset):
        assert sftp_server.password not in f"{fault} {fault!r} {fault.__cause__!r}"


@pytest.mark.parametrize("base", ["/nowhere", "/a-file"])
def test_a_missing_base_directory_is_missing_for_every_operation(
    open_store: OpenStore, sftp_server: SftpServer, base: str
) -> None:
    (sftp_server.root / "a-file").write_text("")
    store = open_store(base=PurePosixPath(base))
    for action in (
        lambda: list(store.list()),
        lambda: store.head("a.cbk"),
        lambda: store.put("a.cbk", [b"a"]),
    ):
        fault = fault_of(action)
        assert fault.kind == "missing", fault
        assert f"the directory {base} does not exist" in fault.message
    assert not (sftp_server.root / "nowhere").exists()


def test_links_directories_and_strange_names_are_never_listed_returned_or_deleted(
    open_store: OpenStore, sftp_server: SftpServer, tmp_path: Path
) -> None:
    store = open_store()
    store.put("real.cbk", [b"real"])
    here = instance_dir(sftp_server)
    target = sftp_server.root / "precious"
    target.write_text("keep me")
    (here / "link.cbk").symlink_to(target)
    (here / "sub").mkdir()
    (here / "sub" / "inner.cbk").write_text("inner")
    (here / "back\\slash.cbk").write_text("odd")

    assert [o.name for o in store.list()] == ["real.cbk"]
    for name in ("link.cbk", "sub"):
        for operation in (store.head, store.delete, store.get):
            fault = fault_of(partial(operation, name))
            assert (fault.kind, "not a regular file" in fault.message) == ("failed", True)
    for name in ("../precious", "sub/inner.cbk", "", "back\\slash.cbk"):
        assert fault_of(partial(store.delete, name)).kind == "invalid"
    assert store.cleanup_partials() == 0
    assert target.read_text() == "keep me"
    assert (here / "sub" / "inner.cbk").exists()
    assert stored(sftp_server) == ["back\\slash.cbk", "link.cbk", "real.cbk", "sub"]


def test_an_instance_directory_that_is_a_symbolic_link_is_refused(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    elsewhere = sftp_server.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.cbk").write_text("a")
    instance_dir(sftp_server).symlink_to(elsewhere)
    store = open_store()
    for action in (lambda: list(store.list()), lambda: store.put("b.cbk", [b"b"])):
        fault = fault_of(action)
        assert fault.kind == "failed"
        assert "is not a directory" in fault.message
    assert sorted(p.name for p in elsewhere.iterdir()) == ["a.cbk"]


def test_an_object_that_cannot_be_looked_at_is_a_fault_never_absent(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    store = open_store()
    store.put("a.cbk", [b"a"])
    sftp_server.faults.denied.add("a.cbk")
    fault = fault_of(lambda: store.head("a.cbk"))
    assert fault.kind == "credentials"
    assert "permission denied" in fault.message


def test_an_object_that_is_not_there_cannot_be_read_or_deleted(open_store: OpenStore) -> None:
    store = open_store()
    assert fault_of(lambda: store.get("a.cbk")).kind == "not-found"
    store.put("b.cbk", [b"b"])
    assert fault_of(lambda: store.get("a.cbk")).kind == "not-found"
    assert fault_of(lambda: store.delete("a.cbk")).kind == "not-found"


@pytest.mark.parametrize("fault_name", ["full_after", "quota_after"])
def test_a_full_disk_or_quota_is_full_and_leaves_nothing_behind(
    open_store: OpenStore, sftp_server: SftpServer, fault_name: str
) -> None:
    setattr(sftp_server.faults, fault_name, MiB)
    store = open_store()
    fault = fault_of(lambda: store.put("a.cbk", [b"x" * MiB, b"y" * MiB]))
    assert fault.kind == "full", fault
    assert stored(sftp_server) == []


def test_names_and_instances_that_are_not_bare_are_invalid(open_store: OpenStore) -> None:
    assert fault_of(lambda: open_store(instance="../up")).kind == "invalid"
    store = open_store()
    assert fault_of(lambda: store.put("../a", [b"a"])).kind == "invalid"


def test_the_description_is_the_url_without_secrets(open_store: OpenStore) -> None:
    store = open_store(password_env="SFTP_PASSWORD")
    assert store.describe() == f"sftp://keeper@127.0.0.1:{store._port}/backups/{INSTANCE}"
    plain = SftpStore(host="::1", user="u", base=PurePosixPath("b"), instance="i")
    assert plain.describe() == "sftp://u@[::1]/~/b/i"
    plain.close()


def test_close_ends_the_store_thread_and_may_be_called_twice(open_store: OpenStore) -> None:
    store = open_store()
    store.put("a.cbk", [b"a"])
    assert [t for t in threading.enumerate() if t.name == "sftp 127.0.0.1"]
    store.close()
    store.close()
    assert not [t for t in threading.enumerate() if t.name == "sftp 127.0.0.1"]


def test_a_chunk_larger_than_one_write_piece_is_stored_whole(open_store: OpenStore) -> None:
    store = open_store()
    data = os.urandom(WRITE_PIECE * 2 + 5)
    assert store.put("a.cbk", [data]).size == len(data)
    assert b"".join(store.get("a.cbk")) == data


KILLED_COPY = """
import sys, time
from pathlib import Path, PurePosixPath
from backup_keeper.destinations.sftp import SftpStore

port, known_hosts, identity = sys.argv[1:]
store = SftpStore(host="127.0.0.1", port=int(port), user="keeper", base=PurePosixPath("/backups"),
                  instance="iris-prod", known_hosts=Path(known_hosts), identity=Path(identity))

def chunks():
    for number in range(1000):
        if number == 3:
            print("half way", flush=True)
            time.sleep(60)
        yield b"x" * (1 << 20)

store.put("a.cbk", chunks())
"""


def test_a_copy_killed_half_way_leaves_only_a_temporary_that_the_next_put_removes(
    open_store: OpenStore, sftp_server: SftpServer
) -> None:
    argv = [str(sftp_server.port), str(sftp_server.known_hosts), str(sftp_server.client_key)]
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_COPY, *argv], stdout=subprocess.PIPE, text=True
    ) as copy:
        try:
            assert copy.stdout is not None
            with fails_if_blocked(30):
                assert copy.stdout.readline() == "half way\n"
        finally:
            copy.kill()
    left = stored(sftp_server)
    assert len(left) == 1
    assert is_partial_name(left[0])
    assert (instance_dir(sftp_server) / left[0]).stat().st_size == 3 * MiB

    store = open_store()
    assert list(store.list()) == []
    assert store.head("a.cbk") is None
    store.put("a.cbk", [b"complete"])
    assert stored(sftp_server) == ["a.cbk"]


def test_an_sftp_url_opens_this_store_which_copies_there(sftp_server: SftpServer) -> None:
    (sftp_server.root / "backups").mkdir()
    settings = DestinationSettings(
        url=f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups",
        known_hosts=sftp_server.known_hosts,
        identity_file=sftp_server.client_key,
        connect_timeout=5.0,
    )
    store = opening.open_store(settings, instance=INSTANCE)
    try:
        assert isinstance(store, SftpStore)
        assert store.describe() == f"sftp://keeper@127.0.0.1:{sftp_server.port}/backups/{INSTANCE}"
        store.put("a.cbk", [b"a"])
        assert [o.name for o in store.list()] == ["a.cbk"]
    finally:
        store.close()
