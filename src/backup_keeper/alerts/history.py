"""What the notifier remembers between runs: when each event key was last sent (dedupe), and
which jobs are failing (so the first success after a failure sends "recovered")."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field, ValidationError


class AlertHistory(BaseModel):
    sent: dict[str, AwareDatetime] = Field(default_factory=dict)
    failing: dict[str, AwareDatetime] = Field(default_factory=dict)

    def recently_sent(self, key: str, now: datetime, window_seconds: float) -> bool:
        last = self.sent.get(key)
        return last is not None and (now - last).total_seconds() < window_seconds


def load_history(path: Path | None) -> AlertHistory:
    """The remembered state; a missing or unreadable file starts afresh (an extra alert is
    better than a lost one)."""
    if path is None or not path.exists():
        return AlertHistory()
    try:
        return AlertHistory.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return AlertHistory()


def save_history(path: Path | None, history: AlertHistory) -> None:
    if path is None:
        return
    temp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    temp.write_text(history.model_dump_json(indent=1))
    temp.replace(path)
