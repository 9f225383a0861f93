"""Settings for the jobs: one pydantic schema is the source of truth for validation, CLI help
and (later) the portal settings. Invalid settings raise one SettingsError naming every bad field
and why, before anything runs."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backup_keeper.destination_settings import (
    DestinationError,
    DestinationSettings,
    Location,
    parse_destination_url,
)
from backup_keeper.durations import Duration
from backup_keeper.encryption import EncryptionError, parse_recipients
from backup_keeper.safe_files import UnsafeName, check_bare_name
from backup_keeper.timezones import resolve_zone


def _known_zone(value: str | None) -> str | None:
    if value is not None:
        resolve_zone(value)
    return value


TimeZoneName = Annotated[str | None, AfterValidator(_known_zone)]
"""An IANA zone name (checked), or None for this machine's zone."""


def _not_blank(value: object) -> object:
    """Before pydantic makes a Path of it: ``Path("")`` is ``.``, the directory the command
    happened to start in, and a purge of that is not what anyone typed."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty path: give a path (an empty one would mean the current directory)")
    return value


def non_empty_path(value: str) -> Path:
    """A path typed by a person (``--config``, ``--dir``); ValueError when it is empty."""
    _not_blank(value)
    return Path(value)


def existing_directory(path: Path) -> Path:
    """``path`` resolved, if it is a directory now; otherwise ValueError saying what it is.

    Checked before any adapter is built, so that bad input changes nothing: no directory is
    created by a typo, no job runs against a file."""
    expanded = path.expanduser()
    try:
        mode = expanded.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ValueError(f"{path}: no such directory") from None
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    except ValueError:
        raise ValueError(f"{str(path)!r}: not a usable path (a null byte)") from None
    if not stat.S_ISDIR(mode):
        raise ValueError(f"{path}: not a directory")
    return expanded.resolve()


NonEmptyPath = Annotated[Path, BeforeValidator(_not_blank)]
"""Any path a setting names (a file or a directory): never empty or blank."""
Directory = Annotated[Path, BeforeValidator(_not_blank), AfterValidator(existing_directory)]
"""A directory that exists now, resolved: every directory setting of every job uses it."""


def _not_blank_text(value: str) -> str:
    if not value.strip():
        raise ValueError("empty: give a value")
    return value


NonEmptyText = Annotated[str, AfterValidator(_not_blank_text)]

MAX_SECONDS = 366 * 86400
"""A year: the longest timeout or limit in seconds; more is a typo, and overflows timers."""
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
WholeSeconds = Annotated[int, Field(ge=0, le=MAX_SECONDS)]

EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


def plausible_moment(value: datetime) -> datetime:
    """``value`` if it is aware and between 1900 and 9000 (UTC): far enough from the ends of
    the calendar that every date computed from it (minus 100 years of retention, a local day,
    a time zone) can still be represented."""
    if value.tzinfo is None:
        raise ValueError("a timezone-aware moment is needed (add Z or +HH:MM)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_MOMENT <= utc < LATEST_MOMENT:
        raise ValueError(f"{value.isoformat()}: out of range (years 1900 to 8999 only)")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(plausible_moment)]
_STRICT = ConfigDict(defer_build=True, extra="forbid", frozen=True, allow_inf_nan=False)
OnlineKind = Literal["full", "incremental", "cumulative"]
RunOn = Literal["any", "primary", "backup", "not-primary"]
ReadOnlyPolicy = Literal["warn", "exclude"]
BackupKindName = Literal["full", "cumulative", "incremental", "external"]
ALL_KINDS: tuple[BackupKindName, ...] = ("full", "cumulative", "incremental", "external")

KEEP_RULES = (
    "keep_last",
    "keep_within",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
)


M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """Every problem with a set of settings at once, each line ``path: why``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


class RetentionPolicy(BaseModel):
    """Which backups to keep. A backup is kept if any rule keeps it; every kept backup keeps
    its chain; the newest completed full and its chain are always kept."""

    model_config = _STRICT

    keep_last: int | None = Field(
        default=None,
        ge=1,
        description="Keep the N newest completed full backups, each with every backup built on it.",
        examples=[7],
    )
    keep_within: Duration | None = Field(
        default=None,
        description="Keep every completed backup newer than now minus this duration.",
        examples=["14d"],
    )
    keep_daily: int | None = Field(
        default=None,
        ge=1,
        description="Keep the newest backup of each of the N latest days that have one.",
        examples=[7],
    )
    keep_weekly: int | None = Field(
        default=None,
        ge=1,
        description="Keep the newest backup of each of the N latest ISO weeks that have one.",
        examples=[4],
    )
    keep_monthly: int | None = Field(
        default=None,
        ge=1,
        description="Keep the newest backup of each of the N latest months that have one.",
        examples=[12],
    )
    keep_yearly: int | None = Field(
        default=None,
        ge=1,
        description="Keep the newest backup of each of the N latest years that have one.",
        examples=[3],
    )
    failed_older_than: Duration | None = Field(
        default=None,
        description="Remove failed, aborted and unrestorable backups once older than this; "
        "unset keeps them for a person to look at.",
        examples=["7d"],
    )
    allow_purge_after_failure: bool = Field(
        default=False,
        description="Purge even when the newest backup did not complete. Off by default: after a "
        "failure, the old backups may be all there is.",
    )

    @model_validator(mode="after")
    def _needs_a_keep_rule(self) -> Self:
        if all(getattr(self, rule) is None for rule in KEEP_RULES):
            raise ValueError(
                "no keep rule given: set at least one of "
                + ", ".join(KEEP_RULES)
                + " (a policy without one would delete every backup but the newest)"
            )
        return self


class CatalogSettings(BaseModel):
    """Where the backups are and which local time IRIS named them in."""

    model_config = _STRICT

    directories: list[Directory] = Field(
        min_length=1,
        description="Directories holding .cbk files; only files directly inside them are read.",
        examples=[["/usr/irissys/mgr/Backup"]],
    )
    timezone: TimeZoneName = Field(
        default=None,
        description="IANA time zone of the instance's local dates in IRIS file names; "
        "default: this machine's.",
        examples=["Europe/Paris"],
    )

    @field_validator("directories")
    @classmethod
    def _distinct(cls, value: list[Path]) -> list[Path]:
        """Each directory once, however it was spelled (each is resolved by ``Directory``)."""
        return list(dict.fromkeys(value))


def _destination_url(value: str) -> str:
    try:
        parse_destination_url(value)
    except DestinationError as exc:
        raise ValueError(exc.message) from None
    return value


DestinationUrl = Annotated[str, AfterValidator(_destination_url)]
"""A destination's URL (checked as ``copy_to`` checks it): no secret, no query, no ``..``."""


class PurgeSettings(CatalogSettings):
    """A catalog plus the policy to apply to it."""

    retention: RetentionPolicy
    require_offsite_copy: list[DestinationUrl] = Field(
        default_factory=list,
        description="Destination URLs (as copy_to names them) where a completed backup must "
        "have a verified copy, recorded in its sidecar, before this purge may delete it; one "
        "without is kept, with its chain, and an alert is raised.",
        examples=[["s3://backups/iris"]],
    )
    dry_run: bool = Field(default=False, description="Plan and report, change nothing on disk.")
    lock_wait: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds to wait for another purge of the same directory to end.",
    )


def _bare_instance(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        return check_bare_name(value)
    except UnsafeName as exc:
        raise ValueError(f"the instance is one path segment: {exc}") from None


class CopyTarget(BaseModel):
    """One place a backup is copied to, and how: encrypted or not, how fast, kept how long.

    The backups go under ``<url>/<instance>/``. ``instance`` defaults to the instance each
    backup's sidecar names (so one destination can hold several instances side by side, each
    in its own directory, as IRIS names them); a backup whose sidecar names none is not copied
    unless ``instance`` is set, because guessing would mix two instances' chains in one place.
    """

    model_config = _STRICT

    destination: DestinationSettings
    encrypt_to: list[str] = Field(
        default_factory=list,
        description="age or ssh public keys to encrypt the backup files to (client side, "
        "streamed); empty: stored as they are. The private key is never needed to copy.",
        examples=[["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]],
    )
    bandwidth_limit: int | None = Field(
        default=None, gt=0, description="Bytes per second over the link (unset: no limit)."
    )
    retention: RetentionPolicy | None = Field(
        default=None,
        description="The destination's own policy, applied there after a copy without error "
        "(unset: nothing is deleted there).",
    )
    instance: str | None = Field(
        default=None,
        description="The directory under the URL's prefix; default: the instance each "
        "backup's sidecar names.",
        examples=["PROD"],
    )

    @field_validator("instance")
    @classmethod
    def _bare(cls, value: str | None) -> str | None:
        return _bare_instance(value)

    @field_validator("encrypt_to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        """Checked now, not at 02:00 when the first copy would fail on a typo."""
        if value:
            try:
                parse_recipients(value)
            except EncryptionError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def location(self) -> Location:
        return self.destination.location


class CopySettings(CatalogSettings):
    """The ``copy`` job: the backups of some directories to one destination."""

    to: CopyTarget
    dry_run: bool = Field(
        default=False, description="Say what would be copied (and purged there); send nothing."
    )


def validate_settings(model: type[M], data: Mapping[str, Any]) -> M:
    """Build ``model`` from ``data`` or raise SettingsError listing every problem with its path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SettingsError([_describe(error) for error in exc.errors()]) from exc


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "settings"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


class BackupSettings(BaseModel):
    """One online backup (``$$BACKUP^DBACK``) into a directory, then that directory's purge."""

    model_config = _STRICT

    directory: Directory = Field(
        description="Where the .cbk, its .log and its manifest are written."
    )
    kind: OnlineKind = Field(
        description="Requested kind; promoted to full when a restore could not use it otherwise."
    )
    prefix: str = Field(
        default="backup-keeper",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$",
        description="File name prefix: <prefix>_<kind>_<yyyymmddTHHMMSSZ>.cbk.",
    )
    description: str = Field(default="", max_length=200, description="Stored in IRIS's history.")
    run_on: RunOn = Field(
        default="any", description="Mirror role this backup runs on; elsewhere it is skipped."
    )
    read_only: ReadOnlyPolicy = Field(
        default="warn",
        description="Read-only databases: back them up with a warning, or leave them out.",
    )
    free_space_margin: float = Field(
        default=1.2,
        ge=1.0,
        le=10.0,
        description="Free space needed, as a multiple of the estimate.",
    )
    quiet_timeout: WholeSeconds = Field(
        default=60, description="Seconds IRIS waits for the system to quiesce (0: forever)."
    )
    timeout: Seconds = Field(
        default=24 * 3600, gt=0, description="Seconds before a backup that has not returned fails."
    )
    lock_timeout: Seconds = Field(
        default=0, description="Seconds to wait for another backup-keeper backup to end."
    )
    checksum: Literal["blake3", "sha256"] = "blake3"
    compress: bool = Field(
        default=False, description="Store the completed backup as .cbk.zst (zstd, all cores)."
    )
    compress_level: int = Field(default=3, ge=1, le=19, description="zstd level.")
    retention: RetentionPolicy | None = Field(
        default=None, description="Purge the directory by this policy after a completed backup."
    )
    copy_to: list[CopyTarget] = Field(
        default_factory=list,
        description="Destinations each completed backup is copied to, before the local purge; "
        "the local purge then deletes nothing that is not copied to each of them.",
    )
    timezone: TimeZoneName = Field(default=None, description="IANA zone of IRIS's local dates.")


FREEZE_TIMEOUT_CAP = 1200
"""IRIS caps ExternalFreezeTimeOut at 1200 s (JP-External; ledger section 2)."""
DEFAULT_FREEZE_TIMEOUT = 600
"""IRIS's own default (CR Backup.General: 0 means 600 s), passed explicitly."""
DEFAULT_WD_SUSPEND_LIMIT = 480
DEFAULT_COMMAND_TIMEOUT = 420
"""A snapshot command's bound, below the default WDSuspendLimit with a minute to thaw."""
"""Two minutes inside the default freeze timeout: the write daemon resumes by itself (the
snapshot then counts as failed) before writers block and logins are refused."""


def _thawable_timeout(value: int) -> int:
    if value > FREEZE_TIMEOUT_CAP:
        raise ValueError(
            f"{value} s is over IRIS's cap of {FREEZE_TIMEOUT_CAP} s for ExternalFreezeTimeOut "
            "(IRIS would use 1200): give at most 1200"
        )
    return value


FreezeTimeOut = Annotated[int, Field(ge=0), AfterValidator(_thawable_timeout)]


def thawable_limit(limit: int, freeze_timeout: int) -> None:
    """Refuse a WDSuspendLimit that cannot end a freeze before ExternalFreezeTimeOut does.

    Once the freeze timeout passes, IRIS blocks every updating process and new processes cannot
    log in until ExternalThaw (JP-External; DIG 4.3.1.1): a lost thaw (a killed hook, a dead
    backup host) then locks the instance until a person intervenes, and the thaw itself may be
    unable to log in. A WDSuspendLimit below the timeout makes the write daemon resume first,
    on its own. 0 (never resume) and a limit at or above the timeout are refused, with no
    override: the only thing such a setting adds is the lock-out, since a snapshot still running
    when the daemon resumes is counted failed either way, and a snapshot that needs longer than
    IRIS allows (1200 s) cannot be taken consistently with a freeze at all."""
    effective = freeze_timeout or DEFAULT_FREEZE_TIMEOUT
    if limit == 0:
        raise ValueError(
            "0 (never resume) would let a lost thaw lock the instance: after "
            f"ExternalFreezeTimeOut ({effective} s) writers block and logins are refused; "
            f"give a limit below {effective}"
        )
    if limit >= effective:
        raise ValueError(
            f"{limit} s is not below ExternalFreezeTimeOut ({effective} s): writers would block "
            "and logins be refused before the write daemon resumes; give a smaller limit "
            "(or a larger --freeze-timeout, at most 1200)"
        )


class ExternalBackupSettings(BaseModel):
    """A snapshot backup: freeze, run the snapshot command, always thaw, record it."""

    model_config = _STRICT

    directory: Directory = Field(
        description="Catalog directory: the snapshot's record (manifest) and the freeze marker."
    )
    command: list[str] = Field(
        min_length=1,
        description="Snapshot command as an argument list (no shell unless shell is set).",
        examples=[["/usr/local/bin/take-ebs-snapshot", "--volume", "vol-0abc"]],
    )
    shell: bool = Field(
        default=False, description="Run the command's words, joined by spaces, through /bin/sh -c."
    )
    command_timeout: Seconds = Field(
        default=DEFAULT_COMMAND_TIMEOUT,
        gt=0,
        description="Seconds the snapshot may take; below wd_suspend_limit, since IRIS resumes "
        "by itself then and a snapshot still running is not a good backup.",
    )
    freeze_timeout: FreezeTimeOut = Field(
        default=DEFAULT_FREEZE_TIMEOUT,
        description="ExternalFreezeTimeOut: seconds before writers block and logins are "
        "refused (0: IRIS's 600; at most 1200).",
    )
    wd_suspend_limit: WholeSeconds = Field(
        default=DEFAULT_WD_SUSPEND_LIMIT,
        description="WDSuspendLimit: seconds after which IRIS resumes by itself; above 0 and "
        "below freeze_timeout, so that a lost thaw cannot lock the instance.",
    )
    label: str = Field(default="", max_length=200, description="Passed to the command, stored.")
    prefix: str = Field(default="backup-keeper", pattern=r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$")
    run_on: RunOn = "any"
    sharded_namespace: str | None = Field(
        default=None, description="Shard master namespace: freeze the whole sharded cluster."
    )
    lock_timeout: Seconds = 0
    copy_to: list[CopyTarget] = Field(
        default_factory=list,
        description="Destinations the directory's backup files not yet there are copied to "
        "after a completed snapshot (a snapshot itself lives in the storage, not in a file).",
    )
    timezone: TimeZoneName = None

    @field_validator("wd_suspend_limit")
    @classmethod
    def _thawable(cls, value: int, info: ValidationInfo) -> int:
        if "freeze_timeout" in info.data:
            thawable_limit(value, info.data["freeze_timeout"])
        return value


class FreezeHookSettings(BaseModel):
    """The ``freeze`` / ``thaw`` / ``doctor`` commands: a directory for the freeze marker and the
    freeze parameters (for VMware pre-freeze / post-thaw scripts and the like)."""

    model_config = _STRICT

    directory: Directory = Field(
        description="Where the freeze marker is kept (the catalog directory)."
    )
    freeze_timeout: FreezeTimeOut = Field(
        default=DEFAULT_FREEZE_TIMEOUT,
        description="ExternalFreezeTimeOut, seconds (0: IRIS's 600; at most 1200).",
    )
    wd_suspend_limit: WholeSeconds = Field(
        default=DEFAULT_WD_SUSPEND_LIMIT,
        description="WDSuspendLimit, seconds: above 0 and below freeze_timeout.",
    )
    label: str = Field(default="", max_length=200)
    sharded_namespace: str | None = None

    @field_validator("wd_suspend_limit")
    @classmethod
    def _thawable(cls, value: int, info: ValidationInfo) -> int:
        if "freeze_timeout" in info.data:
            thawable_limit(value, info.data["freeze_timeout"])
        return value


class FreshnessSettings(BaseModel):
    """The alarm for silence: the newest good backup is too old, or the newest one failed."""

    model_config = _STRICT

    directories: list[Directory] = Field(min_length=1)
    max_age: Duration = Field(
        description="Newest completed backup of a kind older than this: alert."
    )
    kinds: list[BackupKindName] = Field(
        default_factory=lambda: list(ALL_KINDS),
        description="Kinds to check; a kind with no backup at all is only reported for full.",
    )
    timezone: TimeZoneName = None


class VerifySettings(BaseModel):
    model_config = _STRICT

    directories: list[Directory] = Field(min_length=1)
    sample: int | None = Field(
        default=None, ge=1, description="Verify only the N newest chains (large repositories)."
    )
    timezone: TimeZoneName = None


class RestorePlanSettings(BaseModel):
    model_config = _STRICT

    directories: list[Directory] = Field(min_length=1)
    at: Moment | None = Field(default=None, description="Restore to this moment.")
    timezone: TimeZoneName = None


class RestoreSettings(RestorePlanSettings):
    """Running a restore plan inside IRIS: opt-in, never on a mirror primary."""

    directory_map: dict[NonEmptyText, NonEmptyText] = Field(
        default_factory=dict,
        description="Source database directory -> target directory (e.g. a staging namespace).",
    )
    apply_journals: bool = False


class PinSettings(BaseModel):
    """``pin`` / ``unpin``: one backup file, why it is pinned and until when (the job checks
    the reason and the moment, as it reads them against the sidecar and the clock)."""

    model_config = _STRICT

    file: NonEmptyText = Field(description="The backup file (.cbk, .cbk.zst or .snapshot.json).")
    reason: str | None = Field(default=None, description="Why it is pinned (pin only).")
    until: str | None = Field(
        default=None,
        description="ISO date (the pin holds through that day) or moment; without a zone, in "
        "the instance's.",
    )
    timezone: TimeZoneName = None
    lock_wait: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds to wait for a purge of the directory to end before pinning.",
    )
