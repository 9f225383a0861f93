"""Secrets for channels (SMTP passwords, webhook URLs with tokens): read when used, from the
environment, a file, or IRIS credentials — never from a plain setting — and redacted from every
message this tool writes."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

REDACTED = "<redacted>"
CredentialsLookup = Callable[[str], str]
"""``lookup(id) -> password`` from ``Ens.Config.Credentials`` (given by the IRIS door)."""


class SecretError(ValueError):
    """A secret that cannot be read; the message names where it was looked for, never a value."""


class SecretRef(BaseModel):
    """Where a secret is: exactly one of ``env``, ``file`` or ``iris_credentials``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None
    iris_credentials: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in ("env", "file", "iris_credentials") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of env, file, iris_credentials")
        return self

    def describe(self) -> str:
        if self.env:
            return f"environment variable {self.env}"
        if self.file:
            return f"file {self.file}"
        return f"IRIS credentials {self.iris_credentials}"

    def read(self, credentials: CredentialsLookup | None = None) -> str:
        value: str | None
        if self.env:
            value = os.environ.get(self.env)
        elif self.file:
            try:
                value = self.file.read_text().strip()
            except OSError as exc:
                raise SecretError(f"{self.describe()}: {exc.strerror}") from exc
        elif credentials is None:
            raise SecretError(f"{self.describe()}: IRIS credentials are only read inside IRIS")
        else:
            try:
                value = credentials(str(self.iris_credentials))
            except Exception as exc:
                raise SecretError(f"{self.describe()}: {exc}") from exc
        if not value:
            raise SecretError(f"{self.describe()} is empty or not set")
        return value


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret value replaced (longest first, so no part leaks)."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Removes secret values from every log record a handler emits, including records from
    libraries (apprise, smtplib) that may print a URL or a server reply at debug level."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(secrets: Iterable[str]) -> None:
    """Redact ``secrets`` from everything the process logs from now on."""
    redactor = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
