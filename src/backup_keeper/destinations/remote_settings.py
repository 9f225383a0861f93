"""Settings of the jobs that work on a destination rather than a directory.

Beside :class:`~backup_keeper.destination_settings.DestinationSettings` rather than in
:mod:`backup_keeper.settings`, because they name a destination, which the foundation layer
knows nothing of; they reuse its retention policy and zone types, so a destination's policy is
written, checked and explained exactly as a directory's.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backup_keeper.destination_settings import DestinationSettings
from backup_keeper.safe_files import UnsafeName, check_bare_name
from backup_keeper.settings import RetentionPolicy, TimeZoneName


class RemoteCatalogSettings(BaseModel):
    """One destination and the instance whose backups it holds (``<prefix>/<instance>/``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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


class RemotePurgeSettings(RemoteCatalogSettings):
    """A destination purged by its own policy (a separate one per destination)."""

    retention: RetentionPolicy
    dry_run: bool = Field(default=False, description="Plan and report, change nothing there.")
