"""Building an AlertNotifier from AlertSettings: channels, their secrets, the state file. The
doors do not call this directly: the door layer (door.py) does, the same way for every door."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

from backup_keeper.alerts.channels import (
    AppriseChannel,
    Channel,
    ChannelError,
    ConsoleChannel,
    EmailChannel,
    EnsAlertChannel,
)
from backup_keeper.alerts.history import STATE_NAME
from backup_keeper.alerts.notifier import AlertNotifier
from backup_keeper.alerts.secrets import CredentialsLookup, SecretError, install_redaction
from backup_keeper.alerts.settings import AlertSettings, insecure_settings
from backup_keeper.clock import Clock, system_clock
from backup_keeper.iris.port import IrisError, IrisPort

log = logging.getLogger(__name__)


def instance_name(iris: IrisPort | None) -> str:
    """The instance's name for alerts: this machine's name when no IRIS is involved; an IRIS
    that does not answer (a hung call times out) must not keep a job from running and
    reporting."""
    if iris is None:
        return socket.gethostname()
    try:
        return iris.instance().name
    except IrisError:
        return "unknown instance"


def build_notifier(
    settings: AlertSettings,
    *,
    instance: str,
    iris: IrisPort | None,
    state_dir: Path | None,
    ens_send: Callable[[str], None] | None = None,
    credentials: CredentialsLookup | None = None,
    clock: Clock = system_clock,
) -> tuple[AlertNotifier, list[str]]:
    """The notifier, and one line per configured channel that could not be built (a secret not
    set, an apprise URL it cannot use): those channels are left out, never silently.

    Each secret is added to the process's log redaction as soon as it is read, before a
    library that logs it (apprise, on a URL it rejects) is handed it. What is allowed but
    unsafe (a password over plain SMTP) is logged as a warning every time."""
    for warning in insecure_settings(settings):
        log.warning("%s", warning)
    channels: list[Channel] = []
    secrets: list[str] = []
    problems: list[str] = []
    if settings.email is not None:
        try:
            password = (
                settings.email.password.read(credentials) if settings.email.password else None
            )
        except SecretError as exc:
            problems.append(f"email: password: {exc}")
        else:
            if password:
                secrets.append(password)
                install_redaction([password])
            channels.append(EmailChannel(settings.email, password))
    for number, hook in enumerate(settings.apprise, start=1):
        try:
            url = hook.url.read(credentials)
            secrets.append(url)
            install_redaction([url])  # before apprise sees it: it logs what it rejects
            channels.append(AppriseChannel(hook, url))
        except (SecretError, ChannelError) as exc:
            problems.append(f"apprise #{number}: {exc}")
    if settings.ens_alert is not None and settings.ens_alert.enabled:
        if ens_send is None:
            problems.append("Ens.Alert: only available inside an Interoperability production")
        else:
            channels.append(EnsAlertChannel(ens_send, settings.ens_alert.min_severity))
    state_file = settings.state_file or (state_dir / STATE_NAME if state_dir else None)
    notifier = AlertNotifier(
        instance=instance,
        console=ConsoleChannel(iris, settings.console_min_severity),
        channels=channels,
        dedupe_window_seconds=settings.dedupe_window.total_seconds(),
        retries=settings.retries,
        backoff=settings.backoff,
        state_file=state_file,
        secrets=secrets,
        clock=clock,
    )
    return notifier, problems
