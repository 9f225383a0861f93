from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from backup_keeper.settings import (
    BackupSettings,
    CatalogSettings,
    CopySettings,
    ExternalBackupSettings,
    FreezeHookSettings,
    FreshnessSettings,
    PurgeSettings,
    RestorePlanSettings,
    RestoreSettings,
    RetentionPolicy,
    SettingsError,
    VerifySettings,
    validate_settings,
)


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
    assert f"directories.0: {tmp_path / 'missing'}: no such directory" in problems
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


MODELS_WITH_DIRECTORIES = [
    (CatalogSettings, "directories", {}),
    (PurgeSettings, "directories", {"retention": {"keep_last": 1}}),
    (FreshnessSettings, "directories", {"max_age": "1d"}),
    (VerifySettings, "directories", {}),
    (RestorePlanSettings, "directories", {}),
    (RestoreSettings, "directories", {}),
    (BackupSettings, "directory", {"kind": "full"}),
    (ExternalBackupSettings, "directory", {"command": ["true"]}),
    (FreezeHookSettings, "directory", {}),
]


def _with_directory(field: str, value: object, rest: dict[str, object]) -> dict[str, object]:
    return {field: [value] if field == "directories" else value, **rest}


@pytest.mark.parametrize(("model", "field", "rest"), MODELS_WITH_DIRECTORIES)
@pytest.mark.parametrize("empty", ["", "   ", "\t\n"])
def test_an_empty_directory_is_refused_by_every_model(
    model: type[BaseModel], field: str, rest: dict[str, object], empty: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings(model, _with_directory(field, empty, rest))
    assert any(p.startswith(field) and "empty" in p for p in caught.value.problems)


@pytest.mark.parametrize(("model", "field", "rest"), MODELS_WITH_DIRECTORIES)
def test_every_model_wants_an_existing_directory(
    tmp_path: Path, model: type[BaseModel], field: str, rest: dict[str, object]
) -> None:
    (tmp_path / "file").write_text("x")
    for name, why in (("gone", "no such directory"), ("file", "not a directory")):
        with pytest.raises(SettingsError) as caught:
            validate_settings(model, _with_directory(field, str(tmp_path / name), rest))
        assert any(why in p for p in caught.value.problems), caught.value.problems
    assert not (tmp_path / "gone").exists()
    good = validate_settings(model, _with_directory(field, str(tmp_path), rest))
    value = getattr(good, field)
    assert value == ([tmp_path.resolve()] if field == "directories" else tmp_path.resolve())


def test_a_directory_that_cannot_be_examined_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="null"):
        validate_settings(CatalogSettings, {"directories": [f"{tmp_path}/a\0b"]})
    with pytest.raises(SettingsError, match="name too long"):
        validate_settings(CatalogSettings, {"directories": [str(tmp_path / ("x" * 5000))]})


def test_a_door_gets_the_same_refusal(tmp_path: Path) -> None:
    from backup_keeper.door import run_named_job
    from backup_keeper.iris.fake import FakeIris

    report = run_named_job(
        "purge",
        {"directories": ["  "], "retention": {"keep_last": 1}},
        iris=FakeIris(tmp_path / "fake"),
        alerts_config=None,
    )
    assert report.status == "failed" and "empty" in report.errors[0]


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (BackupSettings, {"kind": "full", "timeout": float("inf")}),
        (BackupSettings, {"kind": "full", "timeout": float("nan")}),
        (BackupSettings, {"kind": "full", "timeout": 1e12}),
        (BackupSettings, {"kind": "full", "lock_timeout": float("inf")}),
        (BackupSettings, {"kind": "full", "quiet_timeout": 10**20}),
        (BackupSettings, {"kind": "full", "free_space_margin": float("nan")}),
        (ExternalBackupSettings, {"command": ["true"], "command_timeout": float("inf")}),
        (ExternalBackupSettings, {"command": ["true"], "wd_suspend_limit": 10**20}),
        (ExternalBackupSettings, {"command": ["true"], "freeze_timeout": 10**20}),
        (FreezeHookSettings, {"wd_suspend_limit": 10**20}),
        (FreezeHookSettings, {"freeze_timeout": -1}),
    ],
)
def test_seconds_are_finite_and_at_most_a_year(
    tmp_path: Path, model: type[BaseModel], data: dict[str, object]
) -> None:
    with pytest.raises(SettingsError):
        validate_settings(model, {"directory": str(tmp_path), **data})


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1000-01-01T00:00:00Z"]
)
def test_a_restore_moment_must_be_plausible(tmp_path: Path, moment: str) -> None:
    with pytest.raises(SettingsError, match="at: "):
        validate_settings(RestorePlanSettings, {"directories": [str(tmp_path)], "at": moment})


@pytest.mark.parametrize("mapping", [{"": "/b"}, {"/a": ""}, {" ": "/b"}, {"/a": "  "}])
def test_a_restore_map_entry_is_never_empty(tmp_path: Path, mapping: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="directory_map"):
        validate_settings(
            RestoreSettings, {"directories": [str(tmp_path)], "directory_map": mapping}
        )


@pytest.mark.parametrize("model", [ExternalBackupSettings, FreezeHookSettings])
def test_by_default_the_write_daemon_resumes_before_writers_block(
    tmp_path: Path, model: type[BaseModel]
) -> None:
    extra = {"command": ["true"]} if model is ExternalBackupSettings else {}
    settings = validate_settings(model, {"directory": str(tmp_path), **extra})
    assert 0 < settings.wd_suspend_limit < settings.freeze_timeout  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("data", "field", "why"),
    [
        ({"freeze_timeout": 1201}, "freeze_timeout", "over IRIS's cap of 1200 s"),
        ({"wd_suspend_limit": 0}, "wd_suspend_limit", "0 (never resume)"),
        ({"wd_suspend_limit": 600}, "wd_suspend_limit", "not below ExternalFreezeTimeOut (600 s)"),
        (
            {"freeze_timeout": 300, "wd_suspend_limit": 480},
            "wd_suspend_limit",
            "not below ExternalFreezeTimeOut (300 s)",
        ),
        (
            {"freeze_timeout": 0, "wd_suspend_limit": 900},
            "wd_suspend_limit",
            "not below ExternalFreezeTimeOut (600 s)",
        ),
    ],
)
@pytest.mark.parametrize("model", [ExternalBackupSettings, FreezeHookSettings])
def test_a_freeze_that_could_lock_the_instance_out_is_refused(
    tmp_path: Path, model: type[BaseModel], data: dict[str, object], field: str, why: str
) -> None:
    extra = {"command": ["true"]} if model is ExternalBackupSettings else {}
    with pytest.raises(SettingsError) as refused:
        validate_settings(model, {"directory": str(tmp_path), **extra, **data})
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(f"{field}: ") and why in refused.value.problems[0]


def test_the_longest_freeze_iris_allows_is_accepted(tmp_path: Path) -> None:
    settings = FreezeHookSettings.model_validate(
        {"directory": tmp_path, "freeze_timeout": 1200, "wd_suspend_limit": 1080}
    )
    assert (settings.freeze_timeout, settings.wd_suspend_limit) == (1200, 1080)


def test_by_default_a_snapshot_command_ends_before_the_write_daemons_own_resume() -> None:
    """WDSuspendLimit resumes IRIS by itself: a command still running then can only produce a
    snapshot that is not a good backup, so the default bound comes first."""
    settings = ExternalBackupSettings(directory=Path("/"), command=["true"])
    assert settings.command_timeout < settings.wd_suspend_limit


# -- off-site copies (issue 16) -----------------------------------------------------------------

AGE_KEY = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


def test_a_copy_target_names_a_destination_keys_a_limit_and_its_own_policy(tmp_path: Path) -> None:
    settings = validate_settings(
        CopySettings,
        {
            "directories": [tmp_path],
            "to": {
                "destination": {"url": "s3://backups/iris"},
                "encrypt_to": [AGE_KEY],
                "bandwidth_limit": 1_000_000,
                "retention": {"keep_last": 3},
                "instance": "PROD",
            },
        },
    )
    assert settings.to.location.describe("PROD") == "s3://backups/iris/PROD/"
    assert settings.to.retention is not None and settings.to.retention.keep_last == 3
    assert settings.dry_run is False


def test_a_copy_target_refuses_a_bad_key_a_path_as_instance_and_an_unknown_field_at_once(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError) as caught:
        validate_settings(
            CopySettings,
            {
                "directories": [tmp_path],
                "to": {
                    "destination": {"url": "s3://backups/iris"},
                    "encrypt_to": ["not-a-key"],
                    "instance": "../OTHER",
                    "bandwidth_limit": 0,
                    "password": "x",
                },
            },
        )
    where = sorted(p.split(":")[0] for p in caught.value.problems)
    assert where == [
        "to.bandwidth_limit",
        "to.encrypt_to",
        "to.instance",
        "to.password",
    ]


def test_copy_to_is_accepted_on_both_backup_jobs_and_empty_by_default(tmp_path: Path) -> None:
    target = {"destination": {"url": "file:///mnt/share"}}
    backup = validate_settings(
        BackupSettings, {"directory": tmp_path, "kind": "full", "copy_to": [target]}
    )
    snapshot = validate_settings(
        ExternalBackupSettings, {"directory": tmp_path, "command": ["true"], "copy_to": [target]}
    )
    assert backup.copy_to[0].destination.url == "file:///mnt/share"
    assert snapshot.copy_to[0].destination.url == "file:///mnt/share"
    assert validate_settings(BackupSettings, {"directory": tmp_path, "kind": "full"}).copy_to == []


def test_require_offsite_copy_takes_destination_urls_and_refuses_a_secret(tmp_path: Path) -> None:
    settings = validate_settings(
        PurgeSettings,
        {
            "directories": [tmp_path],
            "retention": {"keep_last": 1},
            "require_offsite_copy": ["s3://backups/iris"],
        },
    )
    assert settings.require_offsite_copy == ["s3://backups/iris"]
    with pytest.raises(SettingsError) as caught:
        validate_settings(
            PurgeSettings,
            {
                "directories": [tmp_path],
                "retention": {"keep_last": 1},
                "require_offsite_copy": ["sftp://me:hunter2@host/x"],
            },
        )
    assert "hunter2" not in str(caught.value)
    assert caught.value.problems[0].startswith("require_offsite_copy.0: a password")
