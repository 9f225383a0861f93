"""Naming a destination: what a URL may say, and that a refused URL's secret is never repeated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backup_keeper.destination_settings import (
    MIN_PART_SIZE,
    DestinationSettings,
    Location,
    check_endpoint,
    parse_destination_url,
)
from backup_keeper.destinations.store import DestinationError

SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://backups/site/a", Location(scheme="s3", bucket="backups", path="site/a")),
        ("s3://backups", Location(scheme="s3", bucket="backups")),
        ("s3://backups/", Location(scheme="s3", bucket="backups")),
        ("az://container-1/p", Location(scheme="az", bucket="container-1", path="p")),
        ("gs://my_bucket.x/p/q/", Location(scheme="gs", bucket="my_bucket.x", path="p/q")),
        (
            "sftp://backup@host.example:2222/srv/backups",
            Location(
                scheme="sftp", host="host.example", port=2222, user="backup", path="/srv/backups"
            ),
        ),
        ("sftp://[::1]/b", Location(scheme="sftp", host="[::1]", path="/b")),
        ("SFTP://h/b", Location(scheme="sftp", host="h", path="/b")),
        ("file:///mnt/share", Location(scheme="file", path="/mnt/share")),
        ("file://localhost/mnt/my%20share", Location(scheme="file", path="/mnt/my share")),
    ],
)
def test_a_well_formed_url_names_its_location(url: str, expected: Location) -> None:
    assert parse_destination_url(url) == expected


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://host/x", "unknown destination scheme 'ftp'"),
        ("backups/x", "a destination is a URL"),
        ("s3://", "needs a bucket"),
        ("s3:///prefix", "needs a bucket"),
        ("s3://Bad_Bucket/x", "not a valid s3 bucket"),
        ("s3://b/x", "not a valid s3 bucket"),
        ("az://a--b/x", "not a valid az bucket"),
        ("s3://bucket/a/../b", "'..' segments"),
        ("s3://bucket/a//b", "empty"),
        ("s3://bucket/a/%2e%2e/b", "'..' segments"),
        ("s3://bucket/a%2Fb", "encoded '/'"),
        ("s3://bucket/a\\b", "backslash"),
        ("s3://bucket/a%ff", "not UTF-8"),
        ("s3://bucket/a\x00b", "control characters"),
        (" s3://bucket/a", "spaces at its ends"),
        ("sftp://user@/srv", "needs a host"),
        ("sftp://user@host:22٢/srv", "digits 0-9"),
        ("sftp://user@host:0/srv", "from 1 to 65535"),
        ("sftp://user@host:70000/srv", "from 1 to 65535"),
        ("sftp://user@host:/srv", "digits 0-9"),
        ("sftp://us er@host/srv", "user name"),
        ("sftp://user@ho_st/srv", "not a host name"),
        ("sftp://user@[::1]x/srv", "[address]:port"),
        ("sftp://user@host", "needs a base directory"),
        ("file://mnt/share", "three slashes"),
        ("file:relative/path", "a destination is a URL"),
        ("file:///", "needs a directory"),
    ],
)
def test_a_url_that_names_no_usable_place_is_refused_saying_why(url: str, words: str) -> None:
    with pytest.raises(DestinationError) as caught:
        parse_destination_url(url)
    assert caught.value.kind == "invalid"
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        f"sftp://backup:{SECRET}@host/srv",
        f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix",
        f"s3://{SECRET}@bucket/prefix",
        f"s3://bucket/prefix?X-Amz-Signature={SECRET}",
        f"az://container/p?sig={SECRET}&sv=2020",
        f"sftp://host/srv#{SECRET}",
    ],
)
def test_a_secret_in_the_url_is_refused_and_never_repeated(url: str) -> None:
    with pytest.raises(DestinationError) as caught:
        parse_destination_url(url)
    assert caught.value.kind == "invalid"
    assert SECRET not in str(caught.value)


def test_a_secret_in_the_settings_url_never_reaches_the_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        DestinationSettings(url=f"sftp://backup:{SECRET}@host/srv")
    assert SECRET not in str(caught.value)
    assert "password or key in the destination URL is refused" in str(caught.value)


def test_redacted_and_describe_give_the_canonical_url_and_the_instance_root() -> None:
    sftp = parse_destination_url("sftp://backup@host:2222/srv/b/")
    assert sftp.redacted() == "sftp://backup@host:2222/srv/b"
    assert sftp.describe("IRIS") == "sftp://backup@host:2222/srv/b/IRIS/"
    bucket = parse_destination_url("s3://backups")
    assert bucket.describe("IRIS") == "s3://backups/IRIS/"
    assert bucket.describe() == "s3://backups"
    assert parse_destination_url("file://localhost/mnt/x").redacted() == "file:///mnt/x"


def test_settings_have_safe_defaults() -> None:
    settings = DestinationSettings(url="s3://backups/site")
    assert settings.location.bucket == "backups"
    assert (settings.path_style, settings.allow_http) == (False, False)
    assert settings.part_size == 32 * 1024 * 1024
    assert settings.concurrency == 4


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"url": "s3://backups", "part_size": MIN_PART_SIZE - 1}, "greater than or equal"),
        ({"url": "s3://backups", "concurrency": 0}, "greater than or equal"),
        ({"url": "s3://backups", "bucket": "x"}, "Extra inputs are not permitted"),
        ({"url": "s3://backups", "secret_access_key": "x"}, "Extra inputs are not permitted"),
        ({"url": "s3://backups", "endpoint": "http://127.0.0.1:9000"}, "plain HTTP"),
        ({"url": "s3://backups", "endpoint": "https://u:p@minio:9000"}, "no user, path or query"),
        ({"url": "s3://backups", "endpoint": "https://minio/x"}, "no user, path or query"),
        ({"url": "s3://backups", "endpoint": "https://minio:99999"}, "from 1 to 65535"),
        ({"url": "gs://backups", "endpoint": "https://minio"}, "endpoint applies to s3 and az"),
        ({"url": "gs://backups", "region": "eu-west-1"}, "region applies to s3"),
        ({"url": "s3://backups", "region": "EU WEST"}, "should match pattern"),
        ({"url": "s3://backups", "password_env": "P"}, "apply to sftp destinations only"),
        ({"url": "sftp://h/b", "password_env": "hunter2!"}, "NAME of an environment variable"),
    ],
)
def test_settings_that_do_not_fit_are_refused(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        DestinationSettings.model_validate(fields)
    assert words in str(caught.value)


def test_a_plain_http_endpoint_is_accepted_only_when_allowed() -> None:
    settings = DestinationSettings(
        url="s3://backups", endpoint="http://127.0.0.1:9000/", allow_http=True, path_style=True
    )
    assert settings.endpoint == "http://127.0.0.1:9000/"
    assert check_endpoint("http://127.0.0.1:9000/", allow_http=True) == "http://127.0.0.1:9000"
    with pytest.raises(DestinationError) as caught:
        check_endpoint("http://127.0.0.1:9000", allow_http=False)
    assert caught.value.kind == "invalid"


def test_sftp_settings_take_references_to_credentials() -> None:
    settings = DestinationSettings(
        url="sftp://backup@host/srv",
        password_env="BACKUP_SFTP_PASSWORD",
        known_hosts="/etc/ssh/known",
        identity_file="/root/.ssh/id_ed25519",
    )
    assert settings.password_env == "BACKUP_SFTP_PASSWORD"
    assert settings.location.user == "backup"


def test_an_azure_endpoint_may_name_its_account_as_its_one_path_segment() -> None:
    """Azurite (and Azure Stack) serve the account under a path: http://host:port/account."""
    settings = DestinationSettings(
        url="az://backups/site",
        endpoint="http://127.0.0.1:10000/devstoreaccount1/",
        allow_http=True,
    )
    assert settings.endpoint == "http://127.0.0.1:10000/devstoreaccount1/"
    found = check_endpoint(settings.endpoint, allow_http=True, account_path=True)
    assert found == "http://127.0.0.1:10000/devstoreaccount1"
    assert check_endpoint("https://blob.example", allow_http=False, account_path=True) == (
        "https://blob.example"
    )


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ("http://127.0.0.1:10000/devstoreaccount1", "plain HTTP"),
        ("https://127.0.0.1:10000/account/container", "no user, query"),
        ("https://127.0.0.1:10000/Account", "no user, query"),
        ("https://127.0.0.1:10000/ab", "no user, query"),
        ("https://127.0.0.1:10000/../etc", "no user, query"),
        ("https://127.0.0.1:10000/account?sv=2021&sig=abc", "no user, query"),
        ("https://u:secret@127.0.0.1:10000/account", "no user, query"),
        ("https://127.0.0.1:10000/account#x", "no user, query"),
    ],
)
def test_an_azure_endpoint_path_is_one_account_name_and_nothing_more(
    endpoint: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        DestinationSettings(url="az://backups", endpoint=endpoint)
    assert words in str(caught.value)
    assert "secret" not in str(caught.value)
    assert "sig=abc" not in str(caught.value)


def test_only_an_azure_endpoint_may_have_a_path() -> None:
    with pytest.raises(ValidationError) as caught:
        DestinationSettings(
            url="s3://backups", endpoint="https://minio.example/devstoreaccount1", path_style=True
        )
    assert "no user, path or query" in str(caught.value)
    with pytest.raises(DestinationError):
        check_endpoint("https://minio.example/devstoreaccount1", allow_http=False)
