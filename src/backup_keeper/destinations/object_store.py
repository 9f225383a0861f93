"""S3, Azure Blob and Google Cloud Storage destinations, through obstore.

Why obstore: one wheel with no dependency tree (the Rust ``object_store`` crate, also used by
Arrow and Delta Lake), the same calls for all three providers, streamed multipart uploads that
are completed atomically or aborted, and each provider's standard environment variables and
credential chain read as users of that provider expect. It is imported when a store is opened,
never when this module is imported, so commands that copy nothing never load it.

What obstore does not do for us, and this module does:

- A listing that meets a key obstore cannot parse (``.``/``..`` segments, control characters)
  fails as a whole. Keys directly under the root are listed with a delimiter, so hostile keys
  further down never reach the parser; one directly under the root refuses the listing with a
  message saying so, never returns it.
- A HEAD answered 404 cannot tell a missing object from a missing bucket (no body), and S3
  deletes of missing objects succeed silently: both are settled with one more request, so
  "absent" is only ever said of an object in a bucket that exists.
- Its error texts hold request URLs and debug dumps: messages are rebuilt from the provider's
  error code and words, with query strings (signatures, SAS tokens) and any credential from
  the environment removed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Final

from backup_keeper.destination_settings import (
    OBJECT_SCHEMES,
    DestinationSettings,
    Location,
    check_endpoint,
)
from backup_keeper.destinations.store import DestinationError, FaultKind, RemoteObject
from backup_keeper.safe_files import UnsafeName, check_bare_name, is_bare_name

if TYPE_CHECKING:
    from obstore import GetResult, ObjectMeta
    from obstore.store import AzureConfig, ClientConfig, RetryConfig, S3Config
    from obstore.store import ObjectStore as ObstoreStore

READ_CHUNK: Final = 1024 * 1024
"""Bytes handed out per chunk by :meth:`ObjectStore.get` (at least; obstore may give more)."""
REQUEST_TIMEOUT: Final = timedelta(minutes=10)
"""Longest one request may take: a 5 GiB part over a slow link is still one request, and
obstore's own default (30 s) would fail a 32 MiB part below ~1 MB/s."""
RETRY_TIMEOUT: Final = timedelta(minutes=3)
SECRET_VARIABLES: Final = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
)
"""Environment variables whose values are removed from any message, should a library or a
server ever echo one."""

_DEBUG_MARK = "\n\nDebug source:"
_STATUS = re.compile(r"status(?: code)?:? ([0-9]{3})", re.ASCII)
_CODE = re.compile(r"<Code>([A-Za-z0-9.]{1,64})</Code>", re.ASCII)
_WORDS = re.compile(r"<Message>([^<]{1,300})</Message>")
_XML = re.compile(r"<\?xml.*?(?:</Error>|$)", re.DOTALL)
_QUERY = re.compile(r"(https?://[^\s?,]+)\?\S*", re.ASCII)
_SIGNED = re.compile(
    r"(?i)(signature|credential|x-amz-[a-z-]*token|sig|se|skoid|sktid|token|key)=[^\s&,]+",
    re.ASCII,
)
_SPACES = re.compile(r"\s+")
_IP_HOST = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(:[0-9]+)?", re.ASCII)

_MISSING = ("NoSuchBucket", "ContainerNotFound", "bucket does not exist", "ContainerBeingDeleted")
_CREDENTIALS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
    "ExpiredToken",
    "InvalidToken",
    "InvalidClientTokenId",
    "Error getting credentials",
    "Failed to get credentials",
    "Unauthenticated",
)
_FULL = (
    "QuotaExceeded",
    "XMinioStorageFull",
    "XMinioAdminBucketQuotaExceeded",
    "InsufficientStorage",
    "No space left",
    "quotaExceeded",
)
_THROTTLED = ("SlowDown", "Throttl", "TooManyRequests", "ServerBusy", "rateLimitExceeded")
_UNREACHABLE = (
    "kind: Connect",
    "kind: Timeout",
    "error sending request",
    "connection closed",
    "Connection refused",
    "Connection reset",
    "Broken pipe",
    "dns error",
    "timed out",
    "operation timed out",
    "error decoding response body",
    "IncompleteBody",
    "unexpected end of file",
)
_WHAT: Final[dict[FaultKind, str]] = {
    "unreachable": "the endpoint could not be reached or the connection dropped",
    "credentials": "the credentials were refused or lack permission (the provider's "
    "environment variables or credential chain)",
    "missing": "the bucket or container does not exist",
    "not-found": "no such object",
    "full": "the quota is exceeded or the store is full",
    "throttled": "the provider asked to slow down, still after retries",
    "invalid": "the request was refused as invalid",
    "failed": "the provider reported an error",
    "corrupt": "the stored bytes differ from what was written",
}


class ObjectStore:
    """A :class:`~backup_keeper.destinations.store.RemoteStore` on S3 (and S3-compatible
    servers), Azure Blob or Google Cloud Storage, rooted at ``<prefix>/<instance>/``.

    Credentials are never passed in: obstore reads the provider's environment variables
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``,
    ``AZURE_STORAGE_ACCOUNT_NAME``, ``AZURE_STORAGE_ACCOUNT_KEY``, ``GOOGLE_SERVICE_ACCOUNT``,
    ...) and falls back to its usual chain (web identity, container and instance metadata).
    """

    def __init__(self, location: Location, *, instance: str, settings: DestinationSettings) -> None:
        if location.scheme not in OBJECT_SCHEMES:
            raise DestinationError("invalid", f"{location.redacted()} is not an object store")
        self._location = location
        self._instance = _bare(instance, "instance name")
        self._part_size = settings.part_size
        self._concurrency = settings.concurrency
        root = f"{location.path}/{instance}" if location.path else instance
        self._store: ObstoreStore = _open(location, root, settings)

    @property
    def proves_uploads(self) -> bool:
        """S3 refuses a request whose body does not match its signed SHA-256 (and the SHA-256
        checksum sent with each part, stored with the object); Azure and GCS are read back.
        obstore's Azure blocks carry no Content-MD5 or x-ms-content-crc64 (object_store's
        ``AzureClient::put_block`` sends the body, its length and the Shared Key signature,
        which does not cover the body), so Azure has nothing to check them against."""
        return self._location.scheme == "s3"

    def describe(self) -> str:
        return self._location.describe(self._instance)

    def list(self) -> Iterator[RemoteObject]:
        """Only the objects directly under the root (obstore's listing with a delimiter):
        a "subdirectory" is a common prefix, never descended into."""
        import obstore  # noqa: PLC0415 - loaded with the first store opened

        try:
            found = obstore.list_with_delimiter(self._store)
        except obstore.exceptions.InvalidPathError:
            raise DestinationError(
                "failed",
                f"cannot list {self.describe()}: it holds an object whose name cannot be read "
                "safely (a '.' or '..' segment or a control character); nothing is listed until "
                "it is removed with the provider's own tools",
            ) from None
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, "list") from None
        return iter([_remote(meta) for meta in found["objects"] if is_bare_name(meta["path"])])

    def head(self, name: str) -> RemoteObject | None:
        import obstore  # noqa: PLC0415

        key = _bare(name, "object name")
        try:
            meta = obstore.head(self._store, key)
        except FileNotFoundError as exc:
            self._confirm_container(exc, f"look at {key}")
            return None
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, f"look at {key}") from None
        return _remote(meta, key)

    def put(self, name: str, chunks: Iterable[bytes]) -> RemoteObject:
        """Multipart, ``part_size`` bytes a part, ``concurrency`` parts in flight: memory stays
        near their product whatever the size. obstore completes the upload only after the
        last part, and aborts it when anything fails (the caller's chunks included), so the
        name shows either the old object or the whole new one. An exception raised by
        ``chunks`` itself (a local read error) reaches the caller unchanged."""
        import obstore  # noqa: PLC0415

        key = _bare(name, "object name")
        source = _Watched(chunks)
        try:
            obstore.put(
                self._store,
                key,
                source,
                use_multipart=True,
                chunk_size=self._part_size,
                max_concurrency=self._concurrency,
            )
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            if source.raised is not None:
                raise source.raised from None
            if isinstance(exc, FileNotFoundError):  # a put cannot miss its object: the bucket
                raise self._fault(exc, f"store {key}", kind="missing") from None
            raise self._fault(exc, f"store {key}") from None
        if source.raised is not None:
            raise source.raised
        stored = self.head(key)
        if stored is None:
            raise DestinationError("failed", f"{key} was stored at {self.describe()} but is gone")
        return stored

    def get(self, name: str) -> Iterator[bytes]:
        """Starts the download now (so a missing object is an error here, not at the first
        chunk) and streams it in chunks of about :data:`READ_CHUNK` bytes."""
        import obstore  # noqa: PLC0415

        key = _bare(name, "object name")
        try:
            result = obstore.get(self._store, key)
        except FileNotFoundError as exc:
            self._confirm_container(exc, f"read {key}")
            raise DestinationError("not-found", f"no {key} at {self.describe()}") from None
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, f"read {key}") from None
        return self._stream(result, key)

    def delete(self, name: str) -> None:
        """S3 answers a delete of a missing object with success: looked at first, so a name
        that is not there is said to be so."""
        import obstore  # noqa: PLC0415

        key = _bare(name, "object name")
        if self.head(key) is None:
            raise DestinationError("not-found", f"no {key} at {self.describe()}")
        try:
            obstore.delete(self._store, key)
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, f"delete {key}") from None

    def close(self) -> None:
        """obstore pools connections per store and frees them with it; nothing to send."""

    def _stream(self, result: GetResult, key: str) -> Iterator[bytes]:
        import obstore  # noqa: PLC0415

        try:
            for chunk in result.stream(min_chunk_size=READ_CHUNK):
                yield bytes(chunk)
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, f"read {key}") from None

    def _confirm_container(self, not_found: BaseException, action: str) -> None:
        """After a 404 that may mean "no bucket" as well as "no object": returns when the
        bucket exists, else raises (missing, or whatever stops us from knowing)."""
        import obstore  # noqa: PLC0415

        if any(mark in str(not_found) for mark in _MISSING):
            raise self._fault(not_found, action, kind="missing") from None
        try:
            next(iter(obstore.list(self._store, chunk_size=1)), None)
        except obstore.exceptions.InvalidPathError:
            return  # a key obstore cannot parse: the bucket is there
        except FileNotFoundError as exc:
            raise self._fault(exc, action, kind="missing") from None
        except (obstore.exceptions.BaseError, OSError, ValueError) as exc:
            raise self._fault(exc, action) from None

    def _fault(
        self, exc: BaseException, action: str, *, kind: FaultKind | None = None
    ) -> DestinationError:
        return fault(exc, action=action, where=self.describe(), kind=kind)


class _Watched:
    """The caller's chunks, remembering an exception they raise, so that a local read error
    is told apart from a store error after obstore hands it back."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.raised: BaseException | None = None

    def __iter__(self) -> _Watched:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self.raised = exc
            raise


def fault(
    exc: BaseException, *, action: str, where: str, kind: FaultKind | None = None
) -> DestinationError:
    """The DestinationError for an obstore failure: its kind read from the exception's type,
    HTTP status and the provider's error code; its message the provider's words without
    request URLs' query strings, debug dumps or any credential."""
    text = str(exc)
    found = kind or classify(exc, text)
    summary = clean(text.partition(_DEBUG_MARK)[0])
    return DestinationError(found, f"could not {action} at {where}: {_WHAT[found]} ({summary})")


def classify(exc: BaseException, text: str) -> FaultKind:
    """Which sort of trouble ``exc`` is (``text``: its message with obstore's debug part)."""
    import obstore  # noqa: PLC0415

    errors = obstore.exceptions
    status = _STATUS.search(text)
    code = int(status.group(1)) if status else 0
    checks: tuple[tuple[FaultKind, bool], ...] = (
        ("missing", any(mark in text for mark in _MISSING)),
        (
            "credentials",
            isinstance(exc, errors.PermissionDeniedError | errors.UnauthenticatedError)
            or code in (401, 403)
            or any(mark in text for mark in _CREDENTIALS),
        ),
        ("full", code == 507 or any(mark in text for mark in _FULL)),
        ("throttled", code in (429, 503) or any(mark in text for mark in _THROTTLED)),
        ("unreachable", code in (502, 504) or any(mark in text for mark in _UNREACHABLE)),
        ("not-found", isinstance(exc, FileNotFoundError) or code == 404),
        ("invalid", isinstance(exc, ValueError | errors.UnknownConfigurationKeyError)),
    )
    return next((found for found, holds in checks if holds), "failed")


def clean(text: str) -> str:
    """``text`` fit for a report: the XML error body reduced to its code and words, request
    URLs without their query strings, signed parameters and environment credentials removed,
    one line, at most 400 characters."""
    code, words = _CODE.search(text), _WORDS.search(text)
    reduced = _XML.sub("", text)
    if code:
        reduced += f" {code.group(1)}" + (f": {words.group(1)}" if words else "")
    reduced = _QUERY.sub(r"\1?<query removed>", reduced)
    reduced = _SIGNED.sub(r"\1=<removed>", reduced)
    for name in SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            reduced = reduced.replace(value, "<removed>")
    reduced = _SPACES.sub(" ", reduced).strip()
    return reduced if len(reduced) <= 400 else reduced[:399] + "…"


def _bare(name: str, what: str) -> str:
    try:
        return check_bare_name(name)
    except UnsafeName:
        raise DestinationError("invalid", f"{name!r} is not a bare {what}") from None


def _remote(meta: ObjectMeta, name: str | None = None) -> RemoteObject:
    modified = meta["last_modified"]
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return RemoteObject(
        name=name if name is not None else meta["path"],
        size=meta["size"],
        modified=modified.astimezone(UTC),
        etag=meta["e_tag"],
    )


def _client_options(settings: DestinationSettings) -> ClientConfig:
    return {
        "allow_http": settings.allow_http,
        "connect_timeout": timedelta(seconds=settings.connect_timeout),
        "timeout": REQUEST_TIMEOUT,
    }


def _retry(settings: DestinationSettings) -> RetryConfig:
    return {"max_retries": settings.retries, "retry_timeout": RETRY_TIMEOUT}


def _open(location: Location, root: str, settings: DestinationSettings) -> ObstoreStore:
    """The obstore store for ``location``, rooted at ``root`` inside its bucket."""
    import obstore  # noqa: PLC0415
    from obstore.store import AzureStore, GCSStore, S3Store  # noqa: PLC0415

    try:
        if location.scheme == "s3":
            return S3Store(
                location.bucket,
                prefix=root,
                config=_s3_config(location, settings),
                client_options=_client_options(settings),
                retry_config=_retry(settings),
            )
        if location.scheme == "az":
            return AzureStore(
                location.bucket,
                prefix=root,
                config=_azure_config(settings),
                client_options=_client_options(settings),
                retry_config=_retry(settings),
            )
        return GCSStore(
            location.bucket,
            prefix=root,
            client_options=_client_options(settings),
            retry_config=_retry(settings),
        )
    except (obstore.exceptions.BaseError, ValueError) as exc:
        raise DestinationError(
            "invalid",
            f"cannot open {location.redacted()}: {clean(str(exc).partition(_DEBUG_MARK)[0])}",
        ) from None


def _azure_config(settings: DestinationSettings) -> AzureConfig:
    """The endpoint, resolved here rather than left to obstore so that one from the
    environment (``AZURE_STORAGE_ENDPOINT``, ``AZURE_ENDPOINT``) is held to ``allow_http``
    like a configured one. With ``AZURE_STORAGE_USE_EMULATOR`` obstore talks to Azurite at
    ``AZURITE_BLOB_STORAGE_URL`` over plain HTTP whatever it was told, and ignores any
    endpoint: refused here unless ``allow_http`` says so, and beside a configured endpoint."""
    if _is_set(os.environ.get("AZURE_STORAGE_USE_EMULATOR")):
        if not settings.allow_http or settings.endpoint:
            raise DestinationError(
                "invalid",
                "AZURE_STORAGE_USE_EMULATOR names Azurite at AZURITE_BLOB_STORAGE_URL, over "
                "plain HTTP: set allow_http = true and no endpoint to accept that",
            )
        emulator = os.environ.get("AZURITE_BLOB_STORAGE_URL")
        if emulator:
            check_endpoint(emulator, allow_http=True)
        return {}
    endpoint = (
        settings.endpoint
        or os.environ.get("AZURE_STORAGE_ENDPOINT")
        or os.environ.get("AZURE_ENDPOINT")
    )
    if not endpoint:
        return {}
    return {"endpoint": check_endpoint(endpoint, allow_http=settings.allow_http, account_path=True)}


def _is_set(flag: str | None) -> bool:
    """An environment flag as obstore reads it ("true", "1", "yes", "on")."""
    return flag is not None and flag.strip().lower() in ("true", "1", "yes", "on")


def _s3_config(location: Location, settings: DestinationSettings) -> S3Config:
    """Endpoint, region and addressing, resolved here rather than left to obstore so that
    an endpoint from ``AWS_ENDPOINT_URL`` is held to ``allow_http`` like a configured one."""
    config: S3Config = {
        "virtual_hosted_style_request": not settings.path_style,
        # every part carries its SHA-256; S3 stores it and refuses a part whose bytes differ
        "checksum_algorithm": "sha256",
    }
    if settings.region:
        config["region"] = settings.region
    endpoint = (
        settings.endpoint
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if endpoint:
        base = check_endpoint(endpoint, allow_http=settings.allow_http)
        config["endpoint"] = base if settings.path_style else _virtual_host(base, location)
    return config


def _virtual_host(base: str, location: Location) -> str:
    """obstore wants the bucket inside a virtual-hosted endpoint: ``https://bucket.host``."""
    if _IP_HOST.fullmatch(base):
        raise DestinationError(
            "invalid",
            f"the endpoint {base} is an IP address, which cannot name a bucket as a host: "
            "set path_style = true",
        )
    scheme, _, host = base.partition("://")
    return f"{scheme}://{location.bucket}.{host}"
