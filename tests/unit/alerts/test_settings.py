"""Alert settings refuse what no delivery can honour."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup_keeper.alerts.settings import load_alert_settings
from backup_keeper.settings import SettingsError


@pytest.mark.parametrize(
    "line",
    [
        "backoff = inf",
        "backoff = nan",
        '[alerts.email]\nhost = "h"\nsender = "s"\nrecipients = ["r"]\ntimeout = inf',
    ],
)
def test_infinite_or_nan_times_are_refused(tmp_path: Path, line: str) -> None:
    """An infinite SMTP timeout or retry backoff would hang a job forever on a dead channel."""
    config = tmp_path / "alerts.toml"
    config.write_text(f"[alerts]\n{line}\n")
    with pytest.raises(SettingsError, match="finite"):
        load_alert_settings(config)
