"""Alert settings: channels, the minimum severity each one gets, dedupe. Read from the
``[alerts]`` table of a TOML file (``--config``); secrets are references, never values."""

from __future__ import annotations

import os
import stat
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backup_keeper.alerts.events import AlertSeverity
from backup_keeper.alerts.secrets import SecretRef
from backup_keeper.durations import Duration
from backup_keeper.settings import NonEmptyPath, SettingsError, validate_settings


class EmailSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["plain", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    min_severity: AlertSeverity = AlertSeverity.WARNING
    timeout: float = Field(default=10, gt=0, description="Seconds for each SMTP operation.")
    ca_file: NonEmptyPath | None = Field(
        default=None, description="Trust this CA (self-signed relays)."
    )


class AppriseSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)

    url: SecretRef = Field(description="An apprise URL (slack://, msteams://, json://...).")
    min_severity: AlertSeverity = AlertSeverity.ERROR


class EnsAlertSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    min_severity: AlertSeverity = AlertSeverity.ERROR


class AlertSettings(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)

    console_min_severity: AlertSeverity = Field(
        default=AlertSeverity.INFO, description="messages.log: always on."
    )
    email: EmailSettings | None = None
    apprise: list[AppriseSettings] = Field(default_factory=list)
    ens_alert: EnsAlertSettings | None = None
    dedupe_window: Duration = Field(
        default=timedelta(hours=6), description="The same event is sent once per window."
    )
    retries: int = Field(default=2, ge=0, le=10, description="Retries per channel delivery.")
    backoff: float = Field(default=1.0, ge=0, description="Seconds before the first retry.")
    state_file: NonEmptyPath | None = Field(
        default=None, description="Dedupe and recovered state (default: in the backup dir)."
    )


def insecure_settings(settings: AlertSettings) -> list[str]:
    """What in ``settings`` is allowed but unsafe, one line each, for the log and ``alert-test``:
    a relay on a trusted network may need it, so it is never refused, but never silent."""
    email = settings.email
    if email is not None and email.security == "plain" and email.password is not None:
        return [
            'alerts.email: security = "plain" with a password: the password and every alert '
            "cross the network unencrypted; use starttls or ssl"
        ]
    return []


def load_alert_settings(path: Path) -> AlertSettings:
    """The ``[alerts]`` table of a TOML file; SettingsError for a file or a value that is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(_read_config(path).decode("utf-8"))
    except OSError as exc:
        raise SettingsError([f"--config {path}: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        problem = f"--config {path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
        raise SettingsError([problem]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"--config {path}: not valid TOML: {exc}"]) from exc
    except ValueError as exc:
        raise SettingsError([f"--config {path}: {exc}"]) from exc
    try:
        return validate_settings(AlertSettings, data.get("alerts", {}))
    except SettingsError as exc:
        raise SettingsError([f"alerts.{p}" for p in exc.problems]) from exc


_LARGEST_CONFIG = 1 << 20


def _read_config(path: Path) -> bytes:
    """The file's bytes; a FIFO or a device would block or never end, so only a regular file
    of reasonable size is read."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb", buffering=0) as source:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise ValueError("a directory, not a settings file")
        if not stat.S_ISREG(mode):
            raise ValueError("not a regular file")
        data = source.read(_LARGEST_CONFIG + 1)
    if len(data) > _LARGEST_CONFIG:
        raise ValueError(f"larger than {_LARGEST_CONFIG} bytes: not a settings file")
    return data
