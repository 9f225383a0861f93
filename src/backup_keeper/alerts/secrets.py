"""Secrets for channels (SMTP passwords, webhook URLs with tokens): read when used, from the
environment, a file, or IRIS credentials — never from a plain setting — and redacted from every
message this tool writes."""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from pydantic import BaseModel, ConfigDict, model_validator

REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 4
"""Shorter values are not redacted on their own: replacing "ab" in every line would garble
the logs and hide nothing that a guess would not find."""
CredentialsLookup = Callable[[str], str]
"""``lookup(id) -> password`` from ``Ens.Config.Credentials`` (given by the IRIS door)."""


class SecretError(ValueError):
    """A secret that cannot be read; the message names where it was looked for, never a value."""


class SecretRef(BaseModel):
    """Where a secret is: exactly one of ``env``, ``file`` or ``iris_credentials``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

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


_URL_CHAR = r"[^\s'\"`]"
_URL = re.compile(rf"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>{_URL_CHAR}*)", re.ASCII)
"""Any ``scheme://...`` up to a space or a quote, whatever its scheme: apprise has hundreds."""
_BARE_QUERY = re.compile(rf"(?P<path>/[^\s?'\"`]*)\?{_URL_CHAR}+", re.ASCII)
"""A path with a query but no scheme, as urllib3 logs its request line (``"POST /p?t=x``)."""
_HOST_NAME = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]{1,5})?",
    re.ASCII,
)
"""What is shown of a URL: a host name, an IPv4 or IPv6 address, an optional port. Anything
else in the host position is a token (``slack://TokenA/...``, ``tgram://bot-token/...``)."""
_ALNUM = "0-9A-Za-z"
_PIECES = re.compile(r"[\s,]+")
"""Apprise takes several URLs in one value, split where this matches, and logs each alone."""


def _split_url(rest: str) -> tuple[str, str]:
    """``rest`` after ``scheme://`` as (authority, everything after it)."""
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return rest[:end], rest[end:]


def _shown_host(authority: str) -> str:
    host = authority.rpartition("@")[2]
    return host if not host or _HOST_NAME.fullmatch(host) else REDACTED


def _scrub_url(match: re.Match[str]) -> str:
    authority, tail = _split_url(match["rest"])
    host = _shown_host(authority)
    more = "@" in authority or tail not in ("", "/")
    if not more and host == authority:
        return match[0]
    return f"{match['scheme']}://{host}" + (f"/{REDACTED}" if more else tail)


def scrub_urls(text: str) -> str:
    """Every URL in ``text`` cut to its scheme and host (a host that is a token, hidden), and
    every query after a bare path hidden: for URLs no setting names (a library's own)."""
    text = _URL.sub(_scrub_url, text)
    return _BARE_QUERY.sub(lambda m: f"{m['path']}?{REDACTED}", text)


def describe_url(value: str) -> str:
    """How a URL is named in a message: its scheme and host only."""
    match = _URL.match(value.strip())
    if match is None:
        return "(no scheme://; not shown)"
    return f"{match['scheme']}://{_shown_host(_split_url(match['rest'])[0])}"


def url_scheme(value: str) -> str | None:
    match = _URL.match(value.strip())
    return match["scheme"] if match else None


def _forms(value: str) -> set[str]:
    """A value as it may be printed: as given, decoded, encoded for a URL."""
    plain = {value, unquote(value), unquote_plus(value)}
    return plain | {quote(v, safe="") for v in plain} | {quote_plus(v, safe="") for v in plain}


def _url_parts(value: str) -> tuple[set[str], set[str]]:
    """A configured URL's secret parts: (the password and the Basic-auth header built from
    it, redacted wherever they appear; each path segment, query value, fragment and a host
    that is a token, redacted where they stand alone)."""
    match = _URL.match(value.strip())
    if match is None:
        return set(), set()
    authority, tail = _split_url(match["rest"])
    userinfo, _, host = authority.rpartition("@")
    user, _, password = userinfo.partition(":")
    whole = {password} if password else set()
    if password:
        for pair in {f"{user}:{password}", f"{unquote(user)}:{unquote(password)}"}:
            whole.add(base64.b64encode(pair.encode()).decode())
    path, _, query = tail.partition("?")
    path, _, fragment = path.partition("#")
    query, _, query_fragment = query.partition("#")
    parts = {*path.split("/"), fragment, query_fragment}
    parts |= {item.partition("=")[2] for item in re.split("[&;]", query)}
    if _shown_host(host) == REDACTED:
        parts.add(host)
    return whole, parts


class RedactingFilter(logging.Filter):
    """Removes secrets from log records, including records from libraries (apprise, urllib3,
    smtplib) that print a URL, a request line or a server reply at debug level, rewritten in
    ways no exact match foresees: so URLs are also scrubbed whatever they hold.

    A configured value is redacted wherever it appears, in every form it is printed in (as
    given, URL-decoded or -encoded, base64); when it is a URL, so are its password and, where
    they stand alone (not inside a longer word), each of its path segments, query values and a
    host that is a token. A user name alone is not redacted: it is no secret by itself, and is
    often an ordinary word."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._whole: set[str] = set()
        self._parts: set[str] = set()
        self._patterns: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = (None, None)
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Redact ``secrets`` too, from now on."""
        whole, parts = set(self._whole), set(self._parts)
        for secret in secrets:
            exact, loose = {secret}, set(_PIECES.split(secret.strip())) - {secret}
            for value in (secret, *loose):
                url_whole, url_parts = _url_parts(value)
                exact, loose = exact | url_whole, loose | url_parts
            for value in exact:
                whole |= _forms(value) | {base64.b64encode(value.encode()).decode()}
            for value in loose:
                parts |= _forms(value)
        whole = {w for w in whole if len(w) >= MIN_SECRET_LENGTH}
        parts = {p for p in parts if len(p) >= MIN_SECRET_LENGTH} - whole
        self._whole, self._parts = whole, parts
        self._patterns = (_alternation(whole, ""), _alternation(parts, _ALNUM))

    def scrub(self, text: str) -> str:
        """``text`` with every URL scrubbed and every known secret replaced."""
        text = scrub_urls(text)
        for pattern in self._patterns:
            if pattern is not None:
                text = pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format must not break the caller's logging call
            message = f"{record.msg!s} (arguments that do not fit: {record.args!r})"
        record.msg, record.args = self.scrub(message), None
        if record.exc_info:
            record.exc_text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None  # a formatter must not print the raw exception again
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def _alternation(values: set[str], boundary: str) -> re.Pattern[str] | None:
    """One pattern for all ``values``, longest first so that no part of a longer one leaks;
    with a ``boundary`` class, a value matches only where it is not inside a longer word."""
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    if boundary:
        return re.compile(rf"(?<![{boundary}])(?:{alternatives})(?![{boundary}])")
    return re.compile(alternatives)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every URL scrubbed and every one of ``secrets`` redacted."""
    return RedactingFilter(secrets).scrub(text)


class _RedactingRecordFactory:
    """Wraps the record factory so that every record is redacted as it is made: no handler,
    however late it is added, and no logger, however it propagates, ever sees a raw one."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        _PROCESS.filter(record)
        return record


_PROCESS = RedactingFilter()
"""The one filter of this process: each door adds the secrets it read; none is ever removed,
so a long-lived IRIS process redacts every secret any earlier run used."""
_FACTORY_WRAPPED = False


def install_redaction(secrets: Iterable[str]) -> RedactingFilter:
    """Redact ``secrets`` (and every URL) from everything the process logs from now on.

    The record factory is wrapped once per process, whatever wraps it after us (a library, a
    runtime): every later call only adds its secrets, and puts the one filter on a root
    handler that appeared since."""
    global _FACTORY_WRAPPED  # noqa: PLW0603 - one wrap per process
    _PROCESS.add(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_PROCESS)
    if not _FACTORY_WRAPPED:
        logging.setLogRecordFactory(_RedactingRecordFactory(logging.getLogRecordFactory()))
        _FACTORY_WRAPPED = True
    return _PROCESS


def scrub_known(text: str) -> str:
    """``text`` as the process's log would show it: every URL scrubbed, every secret any door
    of this process read, redacted. For words that go elsewhere than a log (a report)."""
    return _PROCESS.scrub(text)
