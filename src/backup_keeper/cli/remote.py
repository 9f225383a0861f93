"""What the commands that reach a destination share: telling a destination URL from
directories, the destination's flags (written once, see ``destination_flags``), and its
settings named by the flags a person typed.

A URL never carries a secret: its parser refuses a password, a key or a token and says so
without repeating it, and that refusal is bad input (exit 2) like any other."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from backup_keeper.cli import common
from backup_keeper.door import compact, is_destination_url

INSTANCE_ENV = "BACKUP_KEEPER_INSTANCE"
"""The instance a destination's backups are filed under when ``--instance`` is not given (the
variable a snapshot command already receives)."""
M = TypeVar("M", bound=BaseModel)

Instance = Annotated[
    str | None,
    typer.Option(
        help=f"The instance whose backups the destination holds, under <prefix>/<INSTANCE>/ "
        f"(default: ${INSTANCE_ENV}); required with a URL."
    ),
]
Endpoint = Annotated[
    str | None,
    typer.Option(help="S3-compatible endpoint (MinIO, Ceph) or Azurite: https://host:port."),
]
Region = Annotated[str | None, typer.Option(help="S3 region (default: AWS_REGION or the SDK's).")]
PathStyle = Annotated[
    bool, typer.Option("--path-style", help="Address S3 buckets as endpoint/bucket (MinIO, Ceph).")
]
AllowHttp = Annotated[
    bool,
    typer.Option("--allow-http", help="Accept a plain-HTTP endpoint (backups cross unencrypted)."),
]
KnownHosts = Annotated[
    str | None, typer.Option(help="SFTP: the known_hosts file that names the server's key.")
]
IdentityFile = Annotated[
    str | None, typer.Option(help="SFTP: the private key file to log in with.")
]
PasswordEnv = Annotated[
    str | None,
    typer.Option(help="SFTP: the NAME of the environment variable that holds the password."),
]


@dataclass(frozen=True)
class Destination:
    """A destination's flags as typed (None or False: not given)."""

    instance: str | None = None
    endpoint: str | None = None
    region: str | None = None
    path_style: bool = False
    allow_http: bool = False
    known_hosts: str | None = None
    identity_file: str | None = None
    password_env: str | None = None

    def given(self) -> list[str]:
        """The flags typed, as typed (``--endpoint``)."""
        return _given(vars(self))

    def settings(self, url: str) -> dict[str, Any]:
        """``DestinationSettings`` data: the URL and the flags given."""
        fields = {k: v for k, v in vars(self).items() if k != "instance"}
        return {"url": url, **compact({k: v or None for k, v in fields.items()})}


destination_flags = common.FlagGroup(
    "destination",
    {
        "instance": (Instance, None),
        "endpoint": (Endpoint, None),
        "region": (Region, None),
        "path_style": (PathStyle, False),
        "allow_http": (AllowHttp, False),
        "known_hosts": (KnownHosts, None),
        "identity_file": (IdentityFile, None),
        "password_env": (PasswordEnv, None),
    },
    Destination,
)
"""The flags of a destination; the command gets ``destination``, a :class:`Destination`."""


def url_among(
    targets: list[str],
    destination: Destination,
    job: str,
    json: bool,
    *,
    url_only: Mapping[str, object] | None = None,
    **local_only: object,
) -> str | None:
    """The one destination URL ``targets`` names, or None when they are all directories.
    Both at once, two URLs, a destination flag or one of the command's ``url_only`` flags
    (``staging=...``: what only a destination needs) without a URL, or a flag of
    ``local_only`` with one (``iris=...``: what a destination cannot do) is bad input: which
    of them was meant cannot be guessed."""
    urls = [target for target in targets if is_destination_url(target)]
    if not urls:
        flags = destination.given() + _given(url_only or {})
        if flags:
            common.bad_input(job, [f"{', '.join(flags)}: only with a destination URL"], json)
        return None
    problems = []
    if len(urls) < len(targets):
        problems.append("give either directories or one destination URL, not both")
    elif len(urls) > 1:
        problems.append("one destination URL at a time")
    problems += [
        f"{flag}: only with directories, not a destination URL" for flag in _given(local_only)
    ]
    if problems:
        common.bad_input(job, problems, json)
    return urls[0]


def _given(flags: Mapping[str, object]) -> list[str]:
    """The flags of ``flags`` (parameter name -> value) that were typed, as typed."""
    return [
        "--" + name.replace("_", "-")
        for name, value in flags.items()
        if value is not None and value is not False
    ]


def default_instance() -> str | None:
    """``$BACKUP_KEEPER_INSTANCE``, when set and not blank."""
    return os.environ.get(INSTANCE_ENV, "").strip() or None


def instance(destination: Destination, job: str, json: bool) -> str:
    """``--instance``, else ``$BACKUP_KEEPER_INSTANCE``: a destination files each instance's
    backups apart, and guessing which one was meant could purge another's."""
    found = destination.instance or default_instance()
    if not found:
        common.bad_input(
            job, [f"--instance: required with a destination URL (or set {INSTANCE_ENV})"], json
        )
    return found


def settings(
    model: type[M], url: str, destination: Destination, data: dict[str, Any], job: str, json: bool
) -> M:
    """``model`` (a remote job's settings) for the destination at ``url``; every problem named
    by its flag."""
    where = {"destination": destination.settings(url), "instance": instance(destination, job, json)}
    return common.settings(model, {**data, **where}, job, json)
