"""Opening the store a destination's settings name: the one place that knows which class serves
which scheme, so jobs and doors never import a store (or its heavy client) themselves."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from backup_keeper.destination_settings import OBJECT_SCHEMES, DestinationSettings
from backup_keeper.destinations.store import DestinationError, RemoteStore
from backup_keeper.safe_files import UnsafeName, check_bare_name


def open_store(settings: DestinationSettings, *, instance: str) -> RemoteStore:
    """The store at ``settings.url`` rooted at ``<prefix>/<instance>/``; DestinationError
    (kind "invalid") when ``instance`` is not a bare name. Clients (obstore, asyncssh) load
    here, on first use."""
    try:
        check_bare_name(instance)
    except UnsafeName:
        raise DestinationError("invalid", f"{instance!r} is not a bare instance name") from None
    location = settings.location
    if location.scheme in OBJECT_SCHEMES:
        from backup_keeper.destinations.object_store import ObjectStore  # noqa: PLC0415

        return ObjectStore(location, instance=instance, settings=settings)
    if location.scheme == "file":
        from backup_keeper.destinations.local_share import LocalShareStore  # noqa: PLC0415

        return LocalShareStore(Path(location.path), instance=instance)
    return _sftp(settings, instance)


def _sftp(settings: DestinationSettings, instance: str) -> RemoteStore:
    """Through importlib: the SFTP store is written alongside this module and loads asyncssh,
    which nothing else should pay for."""
    location = settings.location
    module = importlib.import_module("backup_keeper.destinations.sftp")
    store: RemoteStore = module.SftpStore(
        host=location.host,
        port=location.port,
        user=location.user,
        base=PurePosixPath(location.path),
        instance=instance,
        known_hosts=settings.known_hosts,
        identity=settings.identity_file,
        password_env=settings.password_env,
        connect_timeout=settings.connect_timeout,
    )
    return store


StoreOpener = Callable[[DestinationSettings, str], RemoteStore]
"""How a job reaches a destination (settings, instance); tests pass one that returns an
in-memory store, everything else :func:`open_destination`."""


def open_destination(settings: DestinationSettings, instance: str) -> RemoteStore:
    """:func:`open_store` as a :data:`StoreOpener`."""
    return open_store(settings, instance=instance)
