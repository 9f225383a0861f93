from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from backup_keeper.settings import PurgeSettings, RetentionPolicy, SettingsError, validate_settings


def test_policy_without_keep_rule_is_refused_even_with_failed_older_than() -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings(RetentionPolicy, {"failed_older_than": "7d"})
    assert caught.value.problems == [
        "settings: no keep rule given: set at least one of keep_last, keep_within, keep_daily, "
        "keep_weekly, keep_monthly, keep_yearly (a policy without one would delete every "
        "backup but the newest)"
    ]


def test_every_problem_is_reported_at_once_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings(
            PurgeSettings,
            {
                "directories": [tmp_path / "missing", tmp_path],
                "timezone": "Nowhere/Land",
                "retention": {"keep_last": 0, "keep_within": "soon", "surprise": 1},
            },
        )
    problems = caught.value.problems
    assert f"directories: {tmp_path / 'missing'}: no such directory" in problems
    assert any(p.startswith("timezone: unknown time zone 'Nowhere/Land'") for p in problems)
    assert any(
        p.startswith("retention.keep_last: Input should be greater than or equal to 1")
        for p in problems
    )
    assert any(p.startswith("retention.keep_within: invalid duration 'soon'") for p in problems)
    assert any(p.startswith("retention.surprise: Extra inputs are not permitted") for p in problems)
    assert "invalid settings:\n  - " in str(caught.value)


def test_directories_are_resolved_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    settings = PurgeSettings.model_validate(
        {"directories": [tmp_path / "real", tmp_path / "alias"], "retention": {"keep_last": 1}}
    )
    assert settings.directories == [(tmp_path / "real").resolve()]


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(SettingsError, match="not a directory"):
        validate_settings(
            PurgeSettings, {"directories": [tmp_path / "f"], "retention": {"keep_last": 1}}
        )


def test_durations_serialise_back_to_their_short_form() -> None:
    policy = RetentionPolicy.model_validate(
        {"keep_within": "36h", "failed_older_than": timedelta(days=14)}
    )
    assert policy.model_dump(mode="json", exclude_none=True) == {
        "keep_within": "1d12h",
        "failed_older_than": "2w",
        "allow_purge_after_failure": False,
    }
