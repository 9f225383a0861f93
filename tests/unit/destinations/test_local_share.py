"""The mounted-share store with real files, including what a hostile share can hold."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from backup_keeper.destinations.local_share import LocalShareStore
from backup_keeper.destinations.store import DestinationError
from backup_keeper.safe_files import write_atomic
from tests.read_only import read_only


def _store(base: Path, instance: str = "IRIS") -> LocalShareStore:
    return LocalShareStore(base, instance=instance)


def _read(store: LocalShareStore, name: str) -> bytes:
    return b"".join(store.get(name))


def test_an_object_stored_is_listed_looked_at_read_and_deleted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert list(store.list()) == []
    assert store.head("a.cbk") is None
    stored = store.put("a.cbk", [b"backup ", b"bytes"])
    assert (stored.name, stored.size, stored.etag) == ("a.cbk", 12, None)
    assert (tmp_path / "IRIS" / "a.cbk").read_bytes() == b"backup bytes"
    assert stat.S_IMODE((tmp_path / "IRIS").stat().st_mode) == 0o750
    assert [o.name for o in store.list()] == ["a.cbk"]
    assert store.head("a.cbk") == stored
    assert _read(store, "a.cbk") == b"backup bytes"
    store.delete("a.cbk")
    assert store.head("a.cbk") is None
    assert store.describe() == f"file://{tmp_path}/IRIS/"
    store.close()


def test_a_large_object_is_read_back_in_chunks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("big", (bytes([n]) * 700_000 for n in range(4)))
    chunks = list(store.get("big"))
    assert len(chunks) == 3
    assert b"".join(chunks) == b"".join(bytes([n]) * 700_000 for n in range(4))


def test_what_is_not_there_is_not_found_to_get_and_delete(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for action in (lambda: store.get("x"), lambda: store.delete("x")):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "not-found"
    store.put("other", [b"1"])
    for action in (lambda: store.get("x"), lambda: store.delete("x")):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "not-found"


def test_a_missing_base_directory_is_missing_and_nothing_is_created(tmp_path: Path) -> None:
    store = _store(tmp_path / "not-mounted")
    for action in (lambda: list(store.list()), lambda: store.put("a", [b"1"])):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "missing"
        assert "is the share mounted" in str(caught.value)
    assert not (tmp_path / "not-mounted").exists()


def test_a_put_whose_chunks_fail_leaves_nothing_and_the_error_is_the_callers(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    store.put("a.cbk", [b"old"])

    def failing() -> Iterator[bytes]:
        yield b"new half"
        raise OSError(errno.EIO, "the local disk failed")

    with pytest.raises(OSError, match="the local disk failed"):
        store.put("a.cbk", failing())
    assert _read(store, "a.cbk") == b"old"
    assert sorted(p.name for p in (tmp_path / "IRIS").iterdir()) == ["a.cbk"]


def test_temporaries_left_by_a_killed_put_are_never_listed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("a.cbk", [b"1"])
    (tmp_path / "IRIS" / ".a.cbk.0123456789ab.bk-tmp").write_bytes(b"half")
    (tmp_path / "IRIS" / "sub").mkdir()
    assert [o.name for o in store.list()] == ["a.cbk"]


def test_an_instance_directory_that_is_a_symlink_is_refused_and_nothing_is_written_outside(
    tmp_path: Path,
) -> None:
    base, outside = tmp_path / "share", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (outside / "victim").write_bytes(b"keep")
    (base / "IRIS").symlink_to(outside)
    store = _store(base)
    actions = (
        lambda: store.put("victim", [b"overwritten"]),
        lambda: list(store.list()),
        lambda: store.head("victim"),
        lambda: store.get("victim"),
        lambda: store.delete("victim"),
    )
    for action in actions:
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "failed"
        assert "refused" in str(caught.value)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_bytes() == b"keep"


def test_an_object_that_is_a_symlink_is_refused_and_never_listed_read_or_followed(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"not yours")
    store = _store(tmp_path / "share")
    (tmp_path / "share").mkdir()
    store.put("real", [b"1"])
    (tmp_path / "share" / "IRIS" / "a.cbk").symlink_to(outside)
    assert [o.name for o in store.list()] == ["real"]
    for action in (lambda: store.head("a.cbk"), lambda: store.get("a.cbk")):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "failed"
        assert "symbolic link" in str(caught.value)
    with pytest.raises(DestinationError):
        store.delete("a.cbk")
    assert (tmp_path / "share" / "IRIS" / "a.cbk").is_symlink()
    store.put("a.cbk", [b"replaced the link, not its target"])
    assert outside.read_bytes() == b"not yours"
    assert not (tmp_path / "share" / "IRIS" / "a.cbk").is_symlink()


def test_something_that_cannot_be_read_is_an_error_not_an_absence(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("real", [b"1"])
    os.mkfifo(tmp_path / "IRIS" / "fifo")
    (tmp_path / "IRIS" / "dir").mkdir()
    for name in ("fifo", "dir"):
        with pytest.raises(DestinationError) as caught:
            store.head(name)
        assert "not a regular file" in str(caught.value)
        with pytest.raises(DestinationError) as caught:
            store.get(name)
        assert caught.value.kind == "failed"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_object_is_a_credentials_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("a.cbk", [b"1"])
    (tmp_path / "IRIS" / "a.cbk").chmod(0)
    with pytest.raises(DestinationError) as caught:
        store.get("a.cbk")
    assert caught.value.kind == "credentials"


def test_a_share_that_refuses_writes_is_a_credentials_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("a.cbk", [b"1"])
    with read_only(tmp_path / "IRIS"), pytest.raises(DestinationError) as caught:
        store.put("b.cbk", [b"2"])
    assert caught.value.kind == "credentials"
    assert [o.name for o in store.list()] == ["a.cbk"]


@pytest.mark.parametrize(
    ("number", "kind"),
    [(errno.ENOSPC, "full"), (errno.EDQUOT, "full"), (errno.ESTALE, "unreachable")],
)
def test_a_full_or_gone_share_is_said_so(number: int, kind: str, tmp_path: Path) -> None:
    """ENOSPC cannot be provoked here without mounting a small file system (root tricks):
    the mapping is checked on the error the kernel would give."""
    store = _store(tmp_path)
    error = store._fault(OSError(number, os.strerror(number)), "store a")
    assert error.kind == kind
    assert os.strerror(number) in str(error)


def test_names_and_bases_that_are_not_safe_are_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for name in ("../x", "a/b", "..", ""):
        with pytest.raises(DestinationError) as caught:
            store.put(name, [b"1"])
        assert caught.value.kind == "invalid"
    with pytest.raises(DestinationError):
        LocalShareStore(tmp_path, instance="../up")
    with pytest.raises(DestinationError):
        LocalShareStore(Path("relative"), instance="IRIS")
    assert not (tmp_path / "IRIS").exists()


def test_a_file_where_the_instance_directory_should_be_is_refused(tmp_path: Path) -> None:
    write_atomic(tmp_path, "IRIS", b"not a directory")
    with pytest.raises(DestinationError) as caught:
        _store(tmp_path).put("a", [b"1"])
    assert "not a directory" in str(caught.value)
