"""The object store against a real S3 server (moto's server mode) on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator

import pytest

from backup_keeper.destination_settings import DestinationSettings, parse_destination_url
from backup_keeper.destinations.object_store import ObjectStore, classify, clean, fault
from backup_keeper.destinations.store import DestinationError, RemoteStore
from tests.servers.s3 import SECRET_KEY, S3Server

MIB = 1024 * 1024
pytestmark = pytest.mark.usefixtures("aws_environment")


def _bucket(server: S3Server) -> str:
    return server.create_bucket(f"bk-{uuid.uuid4().hex[:16]}")


def _store(
    server: S3Server,
    bucket: str,
    *,
    instance: str = "IRIS",
    prefix: str = "site",
    **fields: object,
) -> ObjectStore:
    settings = DestinationSettings.model_validate(
        {
            "url": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "endpoint": server.endpoint,
            "allow_http": True,
            "path_style": True,
            "retries": 1,
            "connect_timeout": 5,
            **fields,
        }
    )
    return ObjectStore(settings.location, instance=instance, settings=settings)


def _read(store: RemoteStore, name: str) -> bytes:
    return b"".join(store.get(name))


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    return _bucket(s3_server)


def test_an_object_stored_is_listed_looked_at_read_and_deleted(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket)
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


def test_objects_live_under_prefix_and_instance_and_nowhere_else(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket, instance="PROD")
    store.put("a.cbk", [b"1"])
    assert "<Key>site/PROD/a.cbk</Key>" in s3_server.keys(bucket).decode()
    assert store.describe() == f"s3://{bucket}/site/PROD/"
    other = _store(s3_server, bucket, instance="TEST")
    assert list(other.list()) == []
    at_root = _store(s3_server, bucket, instance="PROD", prefix="")
    assert at_root.describe() == f"s3://{bucket}/PROD/"
    assert list(at_root.list()) == []


def test_a_put_replaces_an_object_of_the_same_name_and_an_empty_object_is_stored(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket)
    store.put("x.json", [b"old"])
    store.put("x.json", [b"new", b"er"])
    assert _read(store, "x.json") == b"newer"
    assert store.put("empty", []).size == 0
    assert _read(store, "empty") == b""


def test_what_is_not_there_is_absent_to_head_and_not_found_to_get_and_delete(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket)
    assert store.head("nothing.cbk") is None
    for action in (lambda: store.get("nothing.cbk"), lambda: store.delete("nothing.cbk")):
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "not-found"
        assert "nothing.cbk" in str(caught.value)


def test_a_name_that_is_not_bare_is_refused_before_any_request(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket)
    for name in ("../x", "a/b", "", "..", "a\\b"):
        with pytest.raises(DestinationError) as caught:
            store.put(name, [b"1"])
        assert caught.value.kind == "invalid"
    with pytest.raises(DestinationError) as caught:
        _store(s3_server, bucket, instance="../other")
    assert caught.value.kind == "invalid"
    assert b"<Key>" not in s3_server.keys(bucket)


def test_a_name_the_library_cannot_carry_is_invalid(s3_server: S3Server, bucket: str) -> None:
    with pytest.raises(DestinationError) as caught:
        _store(s3_server, bucket).put("tab\there", [b"1"])
    assert caught.value.kind == "invalid"


def test_hostile_keys_in_the_bucket_are_never_listed(s3_server: S3Server, bucket: str) -> None:
    for key in ("site/IRIS/sub/file", "site/IRIS/x/../y", "site/IRIS/a\\b", "site/IRIS/", "z"):
        s3_server.plant(bucket, key)
    store = _store(s3_server, bucket)
    store.put("good.cbk", [b"1"])
    assert [o.name for o in store.list()] == ["good.cbk"]


@pytest.mark.parametrize("key", ["site/IRIS/..", "site/IRIS/.", "site/IRIS/nul\x00x"])
def test_a_key_the_library_cannot_parse_refuses_the_listing_and_says_why(
    s3_server: S3Server, bucket: str, key: str
) -> None:
    s3_server.plant(bucket, key)
    store = _store(s3_server, bucket)
    with pytest.raises(DestinationError) as caught:
        list(store.list())
    assert caught.value.kind == "failed"
    assert "cannot be read safely" in str(caught.value)
    assert store.head("other") is None


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


def test_a_large_put_streams_within_part_size_times_concurrency(
    s3_server: S3Server, bucket: str
) -> None:
    """128 MiB of distinct bytes through a child process: its peak RSS grows by about
    part_size x concurrency (10 MiB here), nowhere near the object's size."""
    fields = {
        "url": f"s3://{bucket}/site",
        "endpoint": s3_server.endpoint,
        "allow_http": True,
        "path_style": True,
        "part_size": 5 * MIB,
        "concurrency": 2,
    }
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(fields), "128"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["size"] == 128 * MIB
    assert measured["growth_kib"] < 48 * 1024, measured


class _LocalReadError(OSError):
    pass


def _half_then_fail(parts: int) -> Iterator[bytes]:
    for _ in range(parts):
        yield b"p" * (5 * MIB)
    raise _LocalReadError("the local file went away")


def test_a_put_whose_chunks_fail_half_way_leaves_nothing_and_a_retry_succeeds(
    s3_server: S3Server, bucket: str
) -> None:
    store = _store(s3_server, bucket, part_size=5 * MIB, concurrency=1)
    with pytest.raises(_LocalReadError):
        store.put("IRIS.cbk", _half_then_fail(2))
    assert store.head("IRIS.cbk") is None
    assert list(store.list()) == []
    assert b"<Upload>" not in s3_server.pending_uploads(bucket)
    assert store.put("IRIS.cbk", [b"whole"]).size == 5
    assert _read(store, "IRIS.cbk") == b"whole"


def test_a_failed_replacement_keeps_the_old_object(s3_server: S3Server, bucket: str) -> None:
    store = _store(s3_server, bucket, part_size=5 * MIB, concurrency=1)
    store.put("IRIS.cbk", [b"old"])
    with pytest.raises(_LocalReadError):
        store.put("IRIS.cbk", _half_then_fail(1))
    assert _read(store, "IRIS.cbk") == b"old"


def test_a_missing_bucket_is_missing_for_every_operation(s3_server: S3Server) -> None:
    store = _store(s3_server, "no-such-bucket-here")
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


def test_refused_credentials_are_said_so_without_the_secret(
    private_s3_server: S3Server,
) -> None:
    bucket = _bucket(private_s3_server)
    store = _store(private_s3_server, bucket)
    private_s3_server.refuse_credentials()
    actions: tuple[Callable[[], object], ...] = (
        lambda: list(store.list()),
        lambda: store.head("x"),
        lambda: store.put("x", [b"1"]),
        lambda: store.get("x"),
    )
    messages = []
    for action in actions:
        with pytest.raises(DestinationError) as caught:
            action()
        assert caught.value.kind == "credentials"
        messages.append(str(caught.value))
    assert not [m for m in messages if SECRET_KEY in m or "Signature=" in m]
    # a HEAD answer has no body; the others carry the provider's code
    assert "InvalidAccessKeyId: The AWS Access Key Id you provided" in messages[0]


def test_a_closed_port_is_unreachable(s3_server: S3Server) -> None:
    s3_server_port_closed = S3Server(port=1, process=s3_server.process)
    store = _store(s3_server_port_closed, "backups")
    with pytest.raises(DestinationError) as caught:
        store.head("x")
    assert caught.value.kind == "unreachable"
    assert "127.0.0.1:1" in str(caught.value)


def test_a_server_killed_mid_upload_is_unreachable_and_leaves_nothing(
    private_s3_server: S3Server,
) -> None:
    bucket = _bucket(private_s3_server)
    store = _store(private_s3_server, bucket, part_size=5 * MIB, concurrency=1)

    def killed_after_two_parts() -> Iterator[bytes]:
        for index in range(6):
            if index == 2:
                private_s3_server.kill()
            yield b"k" * (5 * MIB)

    with pytest.raises(DestinationError) as caught:
        store.put("IRIS.cbk", killed_after_two_parts())
    assert caught.value.kind == "unreachable"
    assert SECRET_KEY not in str(caught.value)


def test_a_server_killed_mid_download_is_unreachable(private_s3_server: S3Server) -> None:
    bucket = _bucket(private_s3_server)
    store = _store(private_s3_server, bucket)
    # far more than the socket buffers hold, so the kill lands while bytes are still coming
    store.put("IRIS.cbk", [b"d" * (48 * MIB)])
    chunks = store.get("IRIS.cbk")
    with pytest.raises(DestinationError) as caught:
        for _ in chunks:
            private_s3_server.kill()
    assert caught.value.kind == "unreachable"


def test_the_endpoint_can_come_from_aws_endpoint_url(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    settings = DestinationSettings(url=f"s3://{bucket}/env", path_style=True, allow_http=True)
    store = ObjectStore(settings.location, instance="IRIS", settings=settings)
    store.put("a", [b"1"])
    assert "<Key>env/IRIS/a</Key>" in s3_server.keys(bucket).decode()


def test_a_plain_http_endpoint_from_the_environment_needs_allow_http(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    settings = DestinationSettings(url=f"s3://{bucket}", path_style=True)
    with pytest.raises(DestinationError) as caught:
        ObjectStore(settings.location, instance="IRIS", settings=settings)
    assert caught.value.kind == "invalid"
    assert "allow_http" in str(caught.value)


def test_without_path_style_the_bucket_is_addressed_as_a_host(
    s3_server: S3Server, bucket: str
) -> None:
    """The request goes to ``<bucket>.localhost`` (which does not resolve here): the setting
    reached the library and changed where it connects."""
    by_name = s3_server.endpoint.replace("127.0.0.1", "localhost")
    store = _store(s3_server, bucket, endpoint=by_name, path_style=False)
    with pytest.raises(DestinationError) as caught:
        store.head("x")
    assert caught.value.kind == "unreachable"
    assert f"{bucket}.localhost" in str(caught.value)
    path_style = _store(s3_server, bucket, endpoint=by_name, path_style=True)
    assert path_style.head("x") is None


def test_an_ip_address_endpoint_without_path_style_is_invalid(
    s3_server: S3Server, bucket: str
) -> None:
    with pytest.raises(DestinationError) as caught:
        _store(s3_server, bucket, path_style=False)
    assert caught.value.kind == "invalid"
    assert "path_style" in str(caught.value)


def test_only_object_store_urls_open_an_object_store() -> None:
    settings = DestinationSettings(url="file:///mnt/share")
    with pytest.raises(DestinationError) as caught:
        ObjectStore(parse_destination_url("file:///mnt/x"), instance="I", settings=settings)
    assert caught.value.kind == "invalid"


def test_messages_lose_query_strings_signatures_debug_dumps_and_environment_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "azureKEY+secret==")
    text = (
        "Generic error: Error performing GET "
        "https://acct.blob.core.windows.net/c/x?sv=2020&sig=SIGNATURE123 in 3ms - "
        f"Credential=AKIA/2024 Signature=abcdef token {SECRET_KEY} azureKEY+secret== "
        '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Denied</Message></Error>'
        "\n\nDebug source:\nGeneric { secret: " + SECRET_KEY + " }"
    )
    from obstore.exceptions import GenericError

    error = fault(GenericError(text), action="read x", where="az://c/p/I/")
    message = str(error)
    for secret in ("SIGNATURE123", SECRET_KEY, "azureKEY+secret==", "abcdef", "Debug source"):
        assert secret not in message
    assert error.kind == "credentials"
    assert "AccessDenied: Denied" in message
    assert message.startswith("could not read x at az://c/p/I/: ")
    assert len(clean("x" * 1000)) == 400


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Server returned non-2xx status code: 503 Service Unavailable: SlowDown", "throttled"),
        ("Server returned non-2xx status code: 429 Too Many Requests", "throttled"),
        ("<Code>QuotaExceeded</Code>", "full"),
        ("<Code>XMinioStorageFull</Code>", "full"),
        ("Server returned non-2xx status code: 507 Insufficient Storage", "full"),
        ("Server returned non-2xx status code: 502 Bad Gateway", "unreachable"),
        ("Server returned non-2xx status code: 500 Internal Server Error", "failed"),
        ("<Code>ContainerNotFound</Code>", "missing"),
    ],
)
def test_provider_answers_map_to_fault_kinds(text: str, kind: str) -> None:
    from obstore.exceptions import GenericError

    assert classify(GenericError(text), text) == kind
