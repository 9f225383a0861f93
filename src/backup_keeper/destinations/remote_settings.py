"""Settings of the jobs that work on a destination rather than a directory.

Beside :class:`~backup_keeper.destination_settings.DestinationSettings` rather than in
:mod:`backup_keeper.settings`, because they name a destination, which the foundation layer
knows nothing of; they reuse its retention policy and zone types, so a destination's policy is
written, checked and explained exactly as a directory's.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.safe_files import UnsafeName, check_bare_name
from backup_keeper.settings import (
    Directory,
    Moment,
    NonEmptyText,
    RetentionPolicy,
    TimeZoneName,
)


class RemoteCatalogSettings(BaseModel):
    """One destination and the instance whose backups it holds (``<prefix>/<instance>/``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    destination: DestinationSettings
    instance: str = Field(
        description="The instance whose backups are read: the directory under the URL's prefix.",
        examples=["IRIS"],
    )
    timezone: TimeZoneName = Field(
        default=None, description="IANA zone the report's text gives times in."
    )

    @field_validator("instance")
    @classmethod
    def _bare(cls, value: str) -> str:
        try:
            return check_bare_name(value)
        except UnsafeName as exc:
            raise ValueError(f"the instance is one path segment: {exc}") from None

    @property
    def where(self) -> str:
        """The store's URL with the instance, as reports name it (never a secret)."""
        return self.destination.location.describe(self.instance).rstrip("/")


class RemotePurgeSettings(RemoteCatalogSettings):
    """A destination purged by its own policy (a separate one per destination)."""

    retention: RetentionPolicy
    dry_run: bool = Field(default=False, description="Plan and report, change nothing there.")


class RemoteVerifySettings(RemoteCatalogSettings):
    """A destination's stored backups read back and checked against their copy records."""

    sample: int | None = Field(
        default=None, ge=1, description="Verify only the N newest chains (large destinations)."
    )


class RemoteRestorePlanSettings(RemoteCatalogSettings):
    """The restore plan for a moment, over what a destination holds."""

    at: Moment | None = Field(default=None, description="Restore to this moment.")


class RemoteRestoreSettings(RemoteRestorePlanSettings):
    """A restore from a destination: the chain fetched (and decrypted) into a new staging
    directory, then restored from there exactly as from a local directory."""

    staging: Directory = Field(
        description="Where the staging directory is made (a new one under it, owner-only): "
        "room for the whole chain, decrypted and still compressed."
    )
    identity_file: Path | None = Field(
        default=None,
        description="The age identity (private key) file that opens an encrypted copy; read "
        "only at restore time.",
    )
    directory_map: dict[NonEmptyText, NonEmptyText] = Field(
        default_factory=dict,
        description="Source database directory -> target directory (e.g. a staging namespace).",
    )
    apply_journals: bool = False
    keep_staging: bool = Field(
        default=False,
        description="Leave the fetched chain in staging after the restore (it holds the "
        "databases' data, decrypted: removed by default).",
    )
