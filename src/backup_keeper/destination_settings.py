"""Naming a destination: one URL for where, a few settings for how, never a secret in either.

In the foundation layer, with the one error every destination raises, because the settings of
the jobs that copy (``copy_to`` on a backup) name destinations as they name directories.

Why a parser of our own rather than ``urllib.parse`` alone: ``urlsplit`` happily accepts a
password in ``user:pw@host``, a query string carrying a signed token, ``..`` segments, a port
written in non-ASCII digits, and a ``file://`` path relative to wherever the job happens to run.
Each of those is a destination nobody meant, or a secret that would then be printed in every
report and log that names the destination. Here each is refused with a message that says what to
write instead and never repeats the refused part.

Credentials come only from references: the provider's environment variables and usual chain for
object stores (``AWS_ACCESS_KEY_ID``, ``AZURE_STORAGE_ACCOUNT_KEY``, ...), a key file, an agent or
the *name* of an environment variable holding a password for SFTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Self, get_args
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FaultKind = Literal[
    "unreachable",  # no answer, refused connection, DNS failure, dropped mid-transfer
    "credentials",  # refused or missing credentials, permission denied
    "missing",  # the bucket, container or base directory does not exist
    "not-found",  # the named object does not exist
    "full",  # quota exceeded or no space left
    "throttled",  # the provider asked us to slow down (HTTP 429/503 SlowDown), after retries
    "corrupt",  # stored bytes differ from what was written
    "invalid",  # a URL or setting that cannot name a destination
    "failed",  # anything else, with the provider's words (secrets removed)
]


class DestinationError(Exception):
    """A destination could not do what was asked; ``kind`` says which sort of trouble, so a
    job can decide (retry, alert, keep the local copy) without parsing messages."""

    def __init__(self, kind: FaultKind, message: str) -> None:
        super().__init__(message)
        self.kind: FaultKind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


Scheme = Literal["s3", "az", "gs", "sftp", "file"]
SCHEMES: Final[tuple[str, ...]] = get_args(Scheme)
_SCHEME_NAMES: Final[dict[str, Scheme]] = {
    "s3": "s3",
    "az": "az",
    "gs": "gs",
    "sftp": "sftp",
    "file": "file",
}
OBJECT_SCHEMES: Final = frozenset({"s3", "az", "gs"})

MIB: Final = 1024 * 1024
DEFAULT_PART_SIZE: Final = 32 * MIB
MIN_PART_SIZE: Final = 5 * MIB
"""S3 refuses multipart parts below 5 MiB (all but the last)."""
MAX_PART_SIZE: Final = 5 * 1024 * MIB
"""S3's largest part."""

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,15})://", re.ASCII)
_BUCKET = {
    # S3: 3-63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric
    "s3": re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII),
    # Azure containers: 3-63 lower-case letters, digits and single hyphens
    "az": re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", re.ASCII),
    # GCS: 3-222 lower-case letters, digits, dots, hyphens and underscores
    "gs": re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]", re.ASCII),
}
_HOST = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\]", re.ASCII
)
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]", re.ASCII)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}", re.ASCII)
_ENDPOINT = re.compile(
    r"(https?)://([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?"
    r"(/[a-z0-9]{3,24})?/?",
    re.ASCII,
)
"""A base URL; group 4 is an Azure storage account name as the one path segment, which only
an ``az`` endpoint may have (Azurite and Azure Stack serve the account under a path)."""


def _invalid(message: str) -> DestinationError:
    return DestinationError("invalid", message)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a destination is, as parsed from its URL: nothing in it is ever a secret.

    ``bucket`` is the bucket (S3, GCS) or container (Azure), empty for sftp and file.
    ``path`` is the key prefix for object stores (no leading or trailing ``/``, may be empty)
    and the absolute base directory for sftp and file.
    """

    scheme: Scheme
    bucket: str = ""
    host: str = ""
    port: int | None = None
    user: str | None = None
    path: str = ""

    def redacted(self) -> str:
        """The URL in canonical form, fit for reports and logs (parsing refused every secret,
        so nothing needs hiding; the name says what a caller may do with it)."""
        if self.scheme in OBJECT_SCHEMES:
            prefix = f"/{self.path}" if self.path else ""
            return f"{self.scheme}://{self.bucket}{prefix}"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{user}{self.host}{port}{self.path}"

    def describe(self, instance: str | None = None) -> str:
        """The URL of the store's root for one instance (``.../<prefix>/<instance>/``)."""
        base = self.redacted().rstrip("/")
        return f"{base}/{instance}/" if instance else base


def parse_destination_url(text: str) -> Location:
    """The :class:`Location` ``text`` names; DestinationError(kind="invalid") saying why not.

    Messages quote the scheme, bucket, host or path when they are at fault, never a password,
    key, token or query string.
    """
    if _CONTROL.search(text) or text != text.strip():
        raise _invalid("a destination URL may not contain spaces at its ends or control characters")
    match = _SCHEME.match(text)
    if match is None:
        raise _invalid(
            "a destination is a URL such as s3://bucket/prefix, az://container/prefix, "
            "gs://bucket/prefix, sftp://user@host/path or file:///mnt/share"
        )
    scheme = _SCHEME_NAMES.get(match.group(1).lower())
    if scheme is None:
        raise _invalid(
            f"unknown destination scheme {match.group(1)!r}: use s3, az, gs, sftp or file"
        )
    rest = text[match.end() :]
    if "?" in rest or "#" in rest:
        raise _invalid(
            "a destination URL may not carry a query string or fragment (tokens and signatures "
            "belong in the environment, options in the destination settings)"
        )
    authority, slash, raw_path = rest.partition("/")
    segments = _segments(raw_path) if slash else []
    if scheme in OBJECT_SCHEMES:
        return _object_location(scheme, authority, segments)
    if scheme == "sftp":
        return _sftp_location(authority, segments)
    return _file_location(authority, segments)


def _segments(raw_path: str) -> list[str]:
    """The path's segments, percent-decoded one by one (so ``%2F`` cannot add a level), with
    empty, ``.`` and ``..`` segments and backslashes refused; a trailing ``/`` is allowed."""
    parts = raw_path.split("/")
    if parts and parts[-1] == "":
        parts.pop()
    try:
        decoded = [unquote(part, errors="strict") if "%" in part else part for part in parts]
    except UnicodeDecodeError:
        raise _invalid("a destination path holds a percent-escape that is not UTF-8") from None
    for part in decoded:
        if part in ("", ".", ".."):
            raise _invalid("a destination path may not contain empty, '.' or '..' segments")
        if "/" in part or "\\" in part or _CONTROL.search(part):
            raise _invalid(
                "a destination path segment may not hold an encoded '/', a backslash or a "
                "control character"
            )
    return decoded


def _refuse_credentials(userinfo: str, *, user_allowed: bool) -> None:
    """Credentials in a URL end up in shell history, settings files and every log line that
    names the destination: refused, and never echoed."""
    if ":" in userinfo:
        raise _invalid(
            "a password or key in the destination URL is refused: give SFTP a key file, an agent "
            "or password_env, object stores their usual environment variables"
        )
    if not user_allowed:
        raise _invalid(
            "credentials in an object-store URL are refused: use the provider's environment "
            "variables (AWS_ACCESS_KEY_ID, AZURE_STORAGE_ACCOUNT_KEY, ...) or its usual chain"
        )


def _object_location(scheme: Scheme, authority: str, segments: list[str]) -> Location:
    if "@" in authority:
        _refuse_credentials(authority.rpartition("@")[0], user_allowed=False)
    if not authority:
        raise _invalid(f"{scheme}:// needs a bucket or container: {scheme}://NAME/prefix")
    if _BUCKET[scheme].fullmatch(authority) is None:
        shown = authority if _HOST.fullmatch(authority) else "(not shown)"
        raise _invalid(f"{shown} is not a valid {scheme} bucket or container name")
    return Location(scheme=scheme, bucket=authority, path="/".join(segments))


def _sftp_location(authority: str, segments: list[str]) -> Location:
    userinfo, at, hostport = authority.rpartition("@")
    if at:
        _refuse_credentials(userinfo, user_allowed=True)
        if _USER.fullmatch(userinfo) is None:
            raise _invalid("the SFTP user name may hold only letters, digits, '.', '_' and '-'")
    host, port = _host_and_port(hostport)
    if not segments:
        raise _invalid("sftp:// needs a base directory: sftp://user@host/path")
    return Location(
        scheme="sftp",
        host=host,
        port=port,
        user=userinfo if at else None,
        path="/" + "/".join(segments),
    )


def _host_and_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        host, _, tail = hostport.partition("]")
        host += "]"
        if tail and not tail.startswith(":"):
            raise _invalid("an IPv6 host is written [address]:port")
        port_text: str | None = tail[1:] if tail else None
    else:
        host, colon, after = hostport.partition(":")
        port_text = after if colon else None
    if not host:
        raise _invalid("sftp:// needs a host: sftp://user@host/path")
    if _HOST.fullmatch(host) is None:
        raise _invalid("the SFTP host is not a host name or address")
    if port_text is None:
        return host, None
    if _PORT.fullmatch(port_text) is None or not 1 <= int(port_text) <= 65535:
        raise _invalid("the SFTP port must be a number from 1 to 65535 written in digits 0-9")
    return host, int(port_text)


def _file_location(authority: str, segments: list[str]) -> Location:
    if authority not in ("", "localhost"):
        raise _invalid(
            "a file:// destination is an absolute path on this machine: write file:///mnt/share "
            "(three slashes), not a host or a relative path"
        )
    if not segments:
        raise _invalid("file:// needs a directory: file:///mnt/share")
    return Location(scheme="file", path="/" + "/".join(segments))


class DestinationSettings(BaseModel):
    """One destination: its URL and how to talk to it. Holds no secret by construction: the
    fields that concern credentials hold references (a file, the name of a variable)."""

    model_config = ConfigDict(
        defer_build=True, extra="forbid", frozen=True, hide_input_in_errors=True
    )

    url: str
    """Where: ``s3://bucket/prefix``, ``az://container/prefix``, ``gs://bucket/prefix``,
    ``sftp://user@host[:port]/path`` or ``file:///mnt/share``."""
    endpoint: str | None = None
    """An S3-compatible endpoint (MinIO, Ceph) or Azurite; when unset, ``AWS_ENDPOINT_URL_S3``
    or ``AWS_ENDPOINT_URL`` from the environment, as AWS tools do."""
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]{1,32}$")
    """The S3 region; when unset, ``AWS_REGION``/``AWS_DEFAULT_REGION`` or the library's own."""
    path_style: bool = False
    """Address buckets as ``endpoint/bucket`` (MinIO, Ceph, IP-address endpoints) rather than
    ``bucket.endpoint``."""
    allow_http: bool = False
    """Plain-HTTP endpoints are refused unless set: credentials and backups would cross the
    network readable by anyone on the way."""
    part_size: int = Field(default=DEFAULT_PART_SIZE, ge=MIN_PART_SIZE, le=MAX_PART_SIZE)
    """Bytes per multipart part; memory for one upload is at most part_size x concurrency."""
    concurrency: int = Field(default=4, ge=1, le=64)
    """Parts uploaded at once."""
    known_hosts: Path | None = None
    """SFTP: the known_hosts file that names the server's key (the server is never trusted
    on first sight)."""
    identity_file: Path | None = None
    """SFTP: the private key file to log in with."""
    password_env: str | None = None
    """SFTP: the NAME of an environment variable that holds the password (never the
    password itself)."""
    connect_timeout: float = Field(default=30.0, gt=0, le=600)
    """Seconds to wait for a connection before calling the destination unreachable."""
    retries: int = Field(default=5, ge=0, le=20)
    """Retries (with backoff) of a failed request before the failure is reported."""

    @field_validator("url")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_destination_url(value)
        except DestinationError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("password_env")
    @classmethod
    def _is_a_variable_name(cls, value: str | None) -> str | None:
        if value is not None and _ENV_NAME.fullmatch(value) is None:
            raise ValueError(
                "password_env is the NAME of an environment variable (letters, digits, '_'), "
                "never the password itself"
            )
        return value

    @model_validator(mode="after")
    def _fields_fit_the_scheme(self) -> Self:
        location = self.location
        if self.endpoint is not None:
            check_endpoint(
                self.endpoint,
                allow_http=self.allow_http,
                account_path=location.scheme == "az",
                wrap=ValueError,
            )
        sftp_only = {
            "known_hosts": self.known_hosts,
            "identity_file": self.identity_file,
            "password_env": self.password_env,
        }
        if location.scheme not in ("s3", "az") and self.endpoint is not None:
            raise ValueError(f"endpoint applies to s3 and az destinations, not {location.scheme}")
        if location.scheme != "s3" and self.region is not None:
            raise ValueError(f"region applies to s3 destinations, not {location.scheme}")
        wrong = [name for name, value in sftp_only.items() if value is not None]
        if location.scheme != "sftp" and wrong:
            raise ValueError(f"{', '.join(wrong)} apply to sftp destinations only")
        return self

    @property
    def location(self) -> Location:
        """The parsed URL (valid: the model refused any other)."""
        return parse_destination_url(self.url)


def check_endpoint(
    value: str,
    *,
    allow_http: bool,
    account_path: bool = False,
    wrap: type[Exception] | None = None,
) -> str:
    """``value`` without a trailing ``/`` when it is a bare ``http(s)://host[:port]`` base URL
    (no credentials, path or query, which would be printed wherever the endpoint is named);
    with ``account_path`` (Azure), also ``http(s)://host[:port]/account`` (an account name is
    no secret and cannot carry one); else DestinationError(kind="invalid"), or ``wrap`` of its
    message."""
    match = _ENDPOINT.fullmatch(value)
    message = ""
    if match is not None and match.group(4) is not None and not account_path:
        match = None
    if match is None and account_path:
        message = (
            "an Azure endpoint is a base URL such as https://account.blob.core.windows.net or "
            "http://127.0.0.1:10000/account (no user, query or path other than the account "
            "name: 3 to 24 lowercase letters and digits)"
        )
    elif match is None:
        message = (
            "an endpoint is a base URL such as https://minio.example:9000 (no user, path or query)"
        )
    elif match.group(3) is not None and not 1 <= int(match.group(3)) <= 65535:
        message = "the endpoint's port must be a number from 1 to 65535"
    elif match.group(1) == "http" and not allow_http:
        message = (
            f"the endpoint {value} is plain HTTP: set allow_http = true to accept that backups "
            "and request signatures cross the network unencrypted"
        )
    if message:
        if wrap is not None:
            raise wrap(message)
        raise _invalid(message)
    return value.rstrip("/")
