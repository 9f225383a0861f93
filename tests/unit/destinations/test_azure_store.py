"""The object store against a real Azure Blob server (Azurite) on loopback.

Skipped, saying why, where Node.js and npm are missing (see tests/servers/azurite.py). The
account is given the way users give theirs: ``AZURE_STORAGE_ACCOUNT_NAME`` and
``AZURE_STORAGE_ACCOUNT_KEY`` in the environment, the endpoint in the settings.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.object_store import ObjectStore
from backup_keeper.destinations.store import DestinationError, RemoteStore
from tests.servers import azurite
from tests.servers.azurite import ACCOUNT_KEY, AzuriteServer

MIB = 1024 * 1024
pytestmark = pytest.mark.usefixtures("azure_environment")


def _container(server: AzuriteServer) -> str:
    return server.create_container(f"bk-{uuid.uuid4().hex[:16]}")


def _settings(server: AzuriteServer, container: str, **fields: object) -> DestinationSettings:
    return DestinationSettings.model_validate(
        {
            "url": f"az://{container}/site",
            "endpoint": server.endpoint,
            "allow_http": True,
            "retries": 1,
            "connect_timeout": 5,
            **fields,
        }
    )


def _store(server: AzuriteServer, container: str, **fields: object) -> ObjectStore:
    settings = _settings(server, container, **fields)
    return ObjectStore(settings.location, instance="IRIS", settings=settings)


def _read(store: RemoteStore, name: str) -> bytes:
    return b"".join(store.get(name))


@pytest.fixture
def container(azurite_server: AzuriteServer) -> str:
    return _container(azurite_server)


def test_without_node_and_npm_the_azure_tests_are_skipped_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = azurite.missing_tools(str(tmp_path))
    assert reason == ("Azure tests need Node.js and npm for Azurite: node and npm not on PATH")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception) as skipped:
        azurite.installed_azurite(tmp_path / "cache")
    assert skipped.value.msg == reason
    assert not (tmp_path / "cache").exists()


def test_a_failed_install_where_node_is_fails_with_npms_own_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for name, script in (
        ("node", "exit 0"),
        ("npm", "echo 'npm error 404 No such version' >&2; exit 1"),
    ):
        (tools / name).write_text(f"#!/bin/sh\n{script}\n")
        (tools / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(pytest.fail.Exception) as failed:
        azurite.installed_azurite(tmp_path / "cache", "0.0.0")
    assert failed.value.msg == "Azurite: npm install failed (npm error 404 No such version)"
    assert list((tmp_path / "cache").iterdir()) == []  # no half install left to be reused


def test_an_object_stored_is_listed_looked_at_read_and_deleted(
    azurite_server: AzuriteServer, container: str
) -> None:
    store = _store(azurite_server, container)
    assert store.proves_uploads is False  # Azure checks no per-block digest obstore sends
    stored = store.put("IRIS_20240101.cbk", [b"backup ", b"bytes"])
    assert (stored.name, stored.size) == ("IRIS_20240101.cbk", 12)
    assert stored.modified.utcoffset() is not None
    assert stored.etag
    assert [o.name for o in store.list()] == ["IRIS_20240101.cbk"]
    assert store.head("IRIS_20240101.cbk") == stored
    assert _read(store, "IRIS_20240101.cbk") == b"backup bytes"
    store.delete("IRIS_20240101.cbk")
    assert store.head("IRIS_20240101.cbk") is None
    assert list(store.list()) == []
    store.close()


def test_blobs_live_under_prefix_and_instance_and_nowhere_else(
    azurite_server: AzuriteServer, container: str
) -> None:
    settings = _settings(azurite_server, container)
    ObjectStore(settings.location, instance="PROD", settings=settings).put("a.cbk", [b"1"])
    assert "<Name>site/PROD/a.cbk</Name>" in azurite_server.blobs(container).decode()


def test_what_is_not_there_is_absent_to_head_and_not_found_to_get_and_delete(
    azurite_server: AzuriteServer, container: str
) -> None:
    store = _store(azurite_server, container)
    assert store.head("nothing.cbk") is None
    for action in (lambda: store.get("nothing.cbk"), lambda: store.delete("nothing.cbk")):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "not-found"


def test_hostile_blob_names_in_the_container_are_never_listed(
    azurite_server: AzuriteServer, container: str
) -> None:
    for blob in ("site/IRIS/sub/file", "site/IRIS/x/../y", "site/IRIS/a\\b", "site/IRIS/", "z"):
        azurite_server.plant(container, blob)
    store = _store(azurite_server, container)
    store.put("good.cbk", [b"1"])
    assert [o.name for o in store.list()] == ["good.cbk"]


@pytest.mark.parametrize("blob", ["site/IRIS/..", "site/IRIS/."])
def test_a_blob_name_the_library_cannot_parse_refuses_the_listing_and_says_why(
    azurite_server: AzuriteServer, container: str, blob: str
) -> None:
    azurite_server.plant(container, blob)
    store = _store(azurite_server, container)
    with pytest.raises(DestinationError) as caught:
        list(store.list())
    assert caught.value.kind == "failed"
    assert "cannot be read safely" in str(caught.value)


_MEASURE = textwrap.dedent(
    """
    import json, os, resource, sys
    from backup_keeper.destination_settings import DestinationSettings
    from backup_keeper.destinations.object_store import ObjectStore
    settings = DestinationSettings.model_validate(json.loads(sys.argv[1]))
    store = ObjectStore(settings.location, instance="IRIS", settings=settings)
    store.put("warm", [b"x"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = int(sys.argv[2])
    stored = store.put("big.cbk", (os.urandom(1024 * 1024) for _ in range(count)))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"size": stored.size, "growth_kib": after - before}))
    """
)


def test_a_large_put_streams_as_blocks_within_part_size_times_concurrency(
    azurite_server: AzuriteServer, container: str
) -> None:
    """96 MiB of distinct bytes through a child process (the account reaches it through the
    environment): its peak RSS grows by about part_size x concurrency (10 MiB here)."""
    fields = _settings(azurite_server, container, part_size=5 * MIB, concurrency=2)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, fields.model_dump_json(), "96"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["size"] == 96 * MIB
    assert measured["growth_kib"] < 48 * 1024, measured
    blobs = azurite_server.blobs(container).decode()
    assert "<Name>site/IRIS/big.cbk</Name>" in blobs
    assert "<Content-Length>100663296</Content-Length>" in blobs


class _LocalReadError(OSError):
    pass


def _half_then_fail(parts: int) -> Iterator[bytes]:
    for _ in range(parts):
        yield b"p" * (5 * MIB)
    raise _LocalReadError("the local file went away")


def test_a_put_whose_chunks_fail_half_way_leaves_nothing_and_a_retry_succeeds(
    azurite_server: AzuriteServer, container: str
) -> None:
    """The blocks already sent stay uncommitted: no blob by that name, none listed."""
    store = _store(azurite_server, container, part_size=5 * MIB, concurrency=1)
    with pytest.raises(_LocalReadError):
        store.put("IRIS.cbk", _half_then_fail(2))
    assert store.head("IRIS.cbk") is None
    assert list(store.list()) == []
    assert b"<Blob>" not in azurite_server.blobs(container)
    assert store.put("IRIS.cbk", [b"whole"]).size == 5
    assert _read(store, "IRIS.cbk") == b"whole"


def test_a_failed_replacement_keeps_the_old_blob(
    azurite_server: AzuriteServer, container: str
) -> None:
    store = _store(azurite_server, container, part_size=5 * MIB, concurrency=1)
    store.put("IRIS.cbk", [b"old"])
    with pytest.raises(_LocalReadError):
        store.put("IRIS.cbk", _half_then_fail(1))
    assert _read(store, "IRIS.cbk") == b"old"


def test_a_missing_container_is_missing_for_every_operation(
    azurite_server: AzuriteServer,
) -> None:
    store = _store(azurite_server, "no-such-container")
    actions: dict[str, Callable[[], object]] = {
        "list": lambda: list(store.list()),
        "head": lambda: store.head("x"),
        "put": lambda: store.put("x", [b"1"]),
        "get": lambda: store.get("x"),
        "delete": lambda: store.delete("x"),
    }
    for what, action in actions.items():
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "missing", what
        assert "bucket or container does not exist" in str(caught.value)


def test_a_wrong_account_key_is_refused_credentials_without_the_key(
    azurite_server: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = base64.b64encode(
        b"not the key of this account, 64 bytes long, never printed!!"
    ).decode()
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", wrong)
    store = _store(azurite_server, container)
    actions: tuple[Callable[[], object], ...] = (
        lambda: list(store.list()),
        lambda: store.head("x"),
        lambda: store.put("x", [b"1"]),
        lambda: store.get("x"),
        lambda: store.delete("x"),
    )
    messages = []
    for action in actions:
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "credentials"
        messages.append(str(caught.value))
    leaked = [m for m in messages if wrong in m or ACCOUNT_KEY in m or "SharedKey" in m]
    assert leaked == []
    assert "AuthorizationFailure" in messages[0]


def test_a_closed_port_is_unreachable(azurite_server: AzuriteServer, container: str) -> None:
    closed = dataclasses.replace(azurite_server, port=1)
    with pytest.raises(DestinationError) as caught:
        _store(closed, container).head("x")
    assert caught.value.kind == "unreachable"
    assert "127.0.0.1:1" in str(caught.value)


def test_a_server_killed_mid_upload_is_unreachable(
    private_azurite_server: AzuriteServer,
) -> None:
    server = private_azurite_server
    store = _store(server, _container(server), part_size=5 * MIB, concurrency=1)

    def killed_after_two_blocks() -> Iterator[bytes]:
        for index in range(6):
            if index == 2:
                server.kill()
            yield b"k" * (5 * MIB)

    with pytest.raises(DestinationError) as caught:
        store.put("IRIS.cbk", killed_after_two_blocks())
    assert caught.value.kind == "unreachable"
    assert ACCOUNT_KEY not in str(caught.value)


def test_a_server_killed_mid_download_is_unreachable(
    private_azurite_server: AzuriteServer,
) -> None:
    server = private_azurite_server
    store = _store(server, _container(server))
    # far more than the socket buffers hold, so the kill lands while bytes are still coming
    store.put("IRIS.cbk", [b"d" * (48 * MIB)])
    chunks = store.get("IRIS.cbk")
    with pytest.raises(DestinationError) as caught:
        for _ in chunks:
            server.kill()
    assert caught.value.kind == "unreachable"


def test_the_endpoint_can_come_from_azure_storage_endpoint(
    azurite_server: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", azurite_server.endpoint)
    settings = DestinationSettings(url=f"az://{container}/env", allow_http=True)
    ObjectStore(settings.location, instance="IRIS", settings=settings).put("a", [b"1"])
    assert "<Name>env/IRIS/a</Name>" in azurite_server.blobs(container).decode()


def test_a_plain_http_endpoint_from_the_environment_needs_allow_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused before any request, so this holds (and runs) without Azurite too."""
    monkeypatch.setenv("AZURE_STORAGE_ENDPOINT", "http://127.0.0.1:1/devstoreaccount1")
    refused = DestinationSettings(url="az://backups/env")
    with pytest.raises(DestinationError) as caught:
        ObjectStore(refused.location, instance="IRIS", settings=refused)
    assert caught.value.kind == "invalid"
    assert "allow_http" in str(caught.value)


def test_azurite_named_by_the_emulator_variables_is_used_only_with_allow_http(
    azurite_server: AzuriteServer, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``AZURE_STORAGE_USE_EMULATOR`` with ``AZURITE_BLOB_STORAGE_URL``: obstore's own way to
    Azurite, with the development account it knows (none in the environment)."""
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME")
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_KEY")
    monkeypatch.setenv("AZURE_STORAGE_USE_EMULATOR", "true")
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", f"http://127.0.0.1:{azurite_server.port}")
    settings = DestinationSettings(url=f"az://{container}/emu", allow_http=True)
    ObjectStore(settings.location, instance="IRIS", settings=settings).put("a", [b"1"])
    assert "<Name>emu/IRIS/a</Name>" in azurite_server.blobs(container).decode()


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "az://backups/emu"},
        {"url": "az://backups/emu", "allow_http": True, "endpoint": "https://blob.example"},
    ],
)
def test_the_emulator_variables_are_refused_without_allow_http_or_beside_an_endpoint(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, object]
) -> None:
    """obstore would then speak plain HTTP whatever it was told, and ignore the endpoint."""
    monkeypatch.setenv("AZURE_STORAGE_USE_EMULATOR", "1")
    refused = DestinationSettings.model_validate(fields)
    with pytest.raises(DestinationError) as caught:
        ObjectStore(refused.location, instance="IRIS", settings=refused)
    assert caught.value.kind == "invalid"
    assert "AZURE_STORAGE_USE_EMULATOR" in str(caught.value)


def test_an_emulator_address_that_is_not_a_bare_base_url_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_USE_EMULATOR", "true")
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:10000/x?sig=secret")
    settings = DestinationSettings(url="az://backups", allow_http=True)
    with pytest.raises(DestinationError) as caught:
        ObjectStore(settings.location, instance="IRIS", settings=settings)
    assert caught.value.kind == "invalid"
    assert "secret" not in str(caught.value)
