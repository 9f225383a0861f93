"""Alert channels. Each delivers one event or raises; the notifier retries, falls back to
messages.log, and never lets a channel change a job's outcome. Every network call has a timeout."""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol

import apprise

from backup_keeper.alerts.events import AlertEvent, AlertSeverity
from backup_keeper.alerts.secrets import describe_url, redact, url_scheme
from backup_keeper.alerts.settings import AppriseSettings, EmailSettings
from backup_keeper.iris.port import IrisPort, Severity

log = logging.getLogger(__name__)


class ChannelError(RuntimeError):
    """A delivery that did not happen; the message says why (secrets already redacted)."""


class Channel(Protocol):
    name: str
    min_severity: AlertSeverity

    def deliver(self, event: AlertEvent) -> None: ...


def subject(event: AlertEvent) -> str:
    return (
        f"[backup-keeper] {event.severity.upper()} {event.kind} on {event.instance} "
        f"({event.job}): {event.summary}"
    )[:250]


def body(event: AlertEvent) -> str:
    lines = [
        f"Instance: {event.instance}",
        f"Job:      {event.job}",
        f"What:     {event.kind} ({event.severity})",
        f"When:     {event.time.isoformat()}",
        "",
        event.summary,
        "",
        f"What to do next: {event.next_step}",
    ]
    if event.report is not None:
        lines += ["", *(f"error: {e}" for e in event.report.errors)]
        lines += [f"warning: {w}" for w in event.report.warnings]
        if event.report.backup and event.report.backup.log:
            lines.append(f"IRIS backup log: {event.report.backup.log}")
    return "\n".join(lines) + "\n"


_CONSOLE_SEVERITY = {
    AlertSeverity.INFO: Severity.INFO,
    AlertSeverity.WARNING: Severity.WARNING,
    AlertSeverity.ERROR: Severity.SEVERE,
    AlertSeverity.CRITICAL: Severity.FATAL,
}


class ConsoleChannel:
    """messages.log through the IRIS port (severity 2 and up reach the System Monitor); without
    a port (a CLI run on a plain machine), the process log on stderr."""

    name = "messages.log"

    def __init__(self, iris: IrisPort | None, min_severity: AlertSeverity) -> None:
        self.iris, self.min_severity = iris, min_severity

    def deliver(self, event: AlertEvent) -> None:
        self.write(subject(event), event.severity)

    def write(self, text: str, severity: AlertSeverity) -> None:
        if self.iris is None:
            log.log(logging.ERROR if severity.rank >= 2 else logging.WARNING, "%s", text)
            return
        self.iris.write_console_log(text, _CONSOLE_SEVERITY[severity])


class EmailChannel:
    name = "email"

    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings, self.password = settings, password
        self.min_severity = settings.min_severity

    def deliver(self, event: AlertEvent) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"] = s.sender, ", ".join(s.recipients)
        message["Subject"] = subject(event)
        message.set_content(body(event))
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        try:
            smtp: smtplib.SMTP = (
                smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
                if s.security == "ssl"
                else smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            )
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=context)
                if s.username and self.password is not None:
                    smtp.login(s.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            reply = redact(str(exc), self._credentials())
            raise ChannelError(f"SMTP {s.host}:{s.port}: {reply}") from exc

    def _credentials(self) -> list[str]:
        """What a server's reply may echo: the user name (secret here, not in every log line)
        and the password, as sent (AUTH PLAIN and LOGIN send them base64-encoded)."""
        user, password = self.settings.username or "", self.password or ""
        sent = [f"\0{user}\0{password}", user, password]
        return [*sent, *(base64.b64encode(v.encode()).decode() for v in sent if v)]


class AppriseChannel:
    """One apprise URL. The URL is a secret: messages name it by scheme and host only."""

    name = "apprise"

    def __init__(self, settings: AppriseSettings, url: str) -> None:
        self.min_severity = settings.min_severity
        self.service = url_scheme(url) or "apprise"
        self.name = f"apprise {self.service}"
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):
            raise ChannelError(f"apprise cannot use the URL {describe_url(url)}")

    def deliver(self, event: AlertEvent) -> None:
        kind = {
            AlertSeverity.INFO: apprise.NotifyType.SUCCESS,
            AlertSeverity.WARNING: apprise.NotifyType.WARNING,
        }.get(event.severity, apprise.NotifyType.FAILURE)
        if not self._apprise.notify(title=subject(event), body=body(event), notify_type=kind):
            raise ChannelError(f"{self.service}:// delivery failed (apprise reported no success)")


class EnsAlertChannel:
    """An ``Ens.AlertRequest`` to the production's ``Ens.Alert``; the business operation that
    runs the job supplies ``send`` (its ``SendAlert``)."""

    name = "Ens.Alert"

    def __init__(self, send: Callable[[str], None], min_severity: AlertSeverity) -> None:
        self.send, self.min_severity = send, min_severity

    def deliver(self, event: AlertEvent) -> None:
        self.send(f"{subject(event)}\n{event.next_step}")
