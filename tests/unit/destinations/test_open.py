"""open_store: the scheme picks the store; the instance name is checked first."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.destinations.local_share import LocalShareStore
from backup_keeper.destinations.object_store import ObjectStore
from backup_keeper.destinations.open import open_store
from backup_keeper.destinations.store import DestinationError
from tests.servers.s3 import S3Server


def test_a_file_url_opens_the_share_store(tmp_path: Path) -> None:
    store = open_store(DestinationSettings(url=f"file://{tmp_path}"), instance="IRIS")
    assert isinstance(store, LocalShareStore)
    store.put("a", [b"1"])
    assert (tmp_path / "IRIS" / "a").read_bytes() == b"1"


@pytest.mark.usefixtures("aws_environment")
def test_an_s3_url_opens_the_object_store(s3_server: S3Server) -> None:
    bucket = s3_server.create_bucket("open-store-test")
    settings = DestinationSettings(
        url=f"s3://{bucket}/p", endpoint=s3_server.endpoint, allow_http=True, path_style=True
    )
    store = open_store(settings, instance="IRIS")
    assert isinstance(store, ObjectStore)
    store.put("a", [b"1"])
    assert [o.name for o in store.list()] == ["a"]


@pytest.mark.parametrize("instance", ["../x", "a/b", "", "."])
def test_an_instance_name_that_is_not_bare_opens_nothing(tmp_path: Path, instance: str) -> None:
    with pytest.raises(DestinationError) as caught:
        open_store(DestinationSettings(url=f"file://{tmp_path}"), instance=instance)
    assert caught.value.kind == "invalid"
    assert list(tmp_path.iterdir()) == []
