"""What the jobs need of a notifier. The notifier itself (channels, dedupe) is issue "Alerting";
the jobs accept anything with this one method, and a notifier that fails never changes a job's
own outcome."""

from __future__ import annotations

import logging
from typing import Protocol

from backup_keeper.report import JobReport

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify(self, report: JobReport) -> None:
        """Tell people about ``report`` (a failure, warnings, a recovery)."""


def tell(notifier: Notifier | None, report: JobReport) -> None:
    """Hand ``report`` to ``notifier``; a notifier's own failure becomes a warning on the report."""
    if notifier is None:
        return
    try:
        notifier.notify(report)
    except Exception as exc:  # noqa: BLE001 - any channel failure must not hide the job's outcome
        report.warnings.append(f"notifier failed: {type(exc).__name__}: {exc}")
        log.warning("notifier failed: %s", exc)
