"""What the jobs need of a notifier: the ``Notifier`` protocol (the door layer gives them an
``alerts.notifier.AlertNotifier``), and ``tell``, so that a notifier that fails never changes a
job's own outcome."""

from __future__ import annotations

import logging
from typing import Protocol

from backup_keeper.alerts.secrets import scrub_known
from backup_keeper.report import JobReport

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify(self, report: JobReport) -> None:
        """Tell people about ``report`` (a failure, warnings, a recovery)."""


def tell(notifier: Notifier | None, report: JobReport) -> None:
    """Hand ``report`` to ``notifier``; a notifier's own failure becomes a warning on the report,
    redacted as the log is: the report is printed, returned and alerted on, and an exception's
    text may hold the URL or password it failed with."""
    if notifier is None:
        return
    try:
        notifier.notify(report)
    except Exception as exc:  # noqa: BLE001 - any channel failure must not hide the job's outcome
        warning = scrub_known(f"notifier failed: {type(exc).__name__}: {exc}")
        report.warnings.append(warning)
        log.warning("%s", warning)
