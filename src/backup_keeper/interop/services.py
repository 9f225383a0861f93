"""The scheduler business service, for sites that schedule inside the production instead of
the Task Manager. Each poll asks ``due_jobs`` what to send and sends it to the operations."""

from __future__ import annotations

import errno
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from iop import Category, PollingBusinessService, setting
from pydantic import TypeAdapter, ValidationError

from backup_keeper.door import TooLarge, UnsafeName, read_small, write_atomic
from backup_keeper.interop.messages import BackupRequest, FreshnessRequest, PurgeRequest
from backup_keeper.interop.schedule import Schedule, due_jobs, parse_clock_time

STATE_NAME = ".backup-keeper-schedule.json"
MAX_STATE_BYTES = 1 << 20
_LAST_RUNS = TypeAdapter(dict[str, datetime])


class SchedulerService(PollingBusinessService):
    full_at = setting(
        "02:00", category=Category.BASIC, description="Daily full backup, HH:MM local."
    )
    incremental_every_hours = setting(
        4, category=Category.BASIC, description="Incremental backups every N hours (0: none)."
    )
    purge_at = setting(
        "03:00", category=Category.BASIC, description="Daily purge, HH:MM local (empty: none)."
    )
    freshness_every_hours = setting(
        1, category=Category.ALERTING, description="Freshness check every N hours (0: none)."
    )
    state_directory = setting(
        "", category=Category.BASIC, description="Where the last run times are kept.", required=True
    )
    backup_target = setting(
        "BackupOperation", category=Category.BASIC, description="Operation taking BackupRequest."
    )
    purge_target = setting(
        "PurgeOperation", category=Category.BASIC, description="Operation taking PurgeRequest."
    )

    def on_poll(self) -> None:
        """Remember the due jobs as run first, then send them: a run that could not be
        remembered would be sent again at every poll (a full backup a minute), so when the
        state cannot be saved nothing is sent and the error says why."""
        now = datetime.now()
        state = self._load()
        due = due_jobs(now, state, self._schedule())
        if not due:
            return
        state.update(dict.fromkeys(due, now))
        try:
            self._save(state)
        except (OSError, UnsafeName) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            self.log_error(
                f"schedule state {self._state_file()} not saved ({why}): nothing sent, "
                "so that no job runs at every poll"
            )
            return
        for job in due:
            target, request = self._request(job)
            self.send_request_async(target, request)

    def _schedule(self) -> Schedule:
        return Schedule(
            full_at=parse_clock_time(str(self.full_at)),
            incremental_every=_hours(self.incremental_every_hours),
            purge_at=parse_clock_time(str(self.purge_at)) if self.purge_at else None,
            freshness_every=_hours(self.freshness_every_hours),
        )

    def _request(self, job: str) -> tuple[str, Any]:
        if job in ("full", "incremental"):
            return str(self.backup_target), BackupRequest(kind=job)
        if job == "purge":
            return str(self.purge_target), PurgeRequest()
        return str(self.purge_target), FreshnessRequest()

    def _state_file(self) -> Path:
        return Path(str(self.state_directory)) / STATE_NAME

    def _load(self) -> dict[str, datetime]:
        """The last runs; none when there is no state file yet. A file that is there but cannot
        be used is a warning (never a silent reset): then every job is due once more."""
        problem = None
        try:
            return _LAST_RUNS.validate_json(read_small(self._state_file(), limit=MAX_STATE_BYTES))
        except FileNotFoundError:
            return {}
        except TooLarge:
            problem = "larger than 1 MiB"
        except ValidationError:
            problem = "not a state file of backup-keeper"
        except OSError as exc:
            symlink = exc.errno == errno.ELOOP
            problem = "a symbolic link, not followed" if symlink else exc.strerror or str(exc)
        self.log_warning(
            f"schedule state {self._state_file()} unreadable ({problem}): starting afresh, "
            "so a job may run once more than planned"
        )
        return {}

    def _save(self, state: dict[str, datetime]) -> None:
        write_atomic(Path(str(self.state_directory)), STATE_NAME, _LAST_RUNS.dump_json(state))


_WHOLE = re.compile(r"[0-9]+")


def _hours(value: object) -> timedelta | None:
    """ASCII digits only: ``int()`` would also read "٤" or "+4" or "4_0"."""
    text = str(value or 0).strip()
    if _WHOLE.fullmatch(text) is None:
        raise ValueError(f"invalid number of hours {value!r}: use a whole number, e.g. 4")
    hours = int(text)
    return timedelta(hours=hours) if hours > 0 else None
