"""Reading what IRIS's online backup wrote to its log (the LOGFILE argument of ``BACKUP^DBACK``).

The format is the one of a real IRIS 2024.1 task log (docs/iris-ledger.md section 12; the
transcript is a test fixture): ``*** The time is: YYYY-MM-DD HH:MM:SS ***``, the utility's
banner, ``Performing a Full backup.``, the device, ``Description`` on a line of its own with the
text on the next line (``Description: <text>`` is only the interactive ``^BACKUP`` prompt, also
read), the directories, the journal switch, three passes, the journal file a restore needs, and
``***FINISHED BACKUP***`` only when the backup completed. Every time in it is the instance's
local time, without a zone: it is kept naive. The text of a failed backup was never seen, so a
log is judged by that marker, and lines that look like warnings or errors are collected as they
are, for a person to read; the description is the operator's text, never judged.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

FINISHED_MARKER = "***FINISHED BACKUP***"

_DEVICE = re.compile(r"^Backing up to device:\s*(?P<v>.+?)\s*$")
_DESCRIPTION = re.compile(r"^Description:\s*(?P<v>.*?)\s*$")
_DESCRIPTION_ALONE = re.compile(r"^Description\s*$")
_STARTED = re.compile(
    r"^\*\*\* The time is: (?P<at>[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}) \*\*\*$"
)
_KIND = re.compile(r"^Performing an? (?P<v>[A-Za-z][A-Za-z ]*?) backup\.$", re.ASCII)
_BANNER = ("InterSystems IRIS Backup Utility", "Cache Backup Utility")
_DIRECTORIES = re.compile(r"^Backing up the following directories:\s*$")
_SWITCHED = re.compile(r"^Journal file switched to:\s*(?P<v>\S.*?)?\s*$")
_STAMP = r"[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}"
"""Digits are ``[0-9]``, never ``\\d``, in every pattern here: ``\\d`` also matches full-width and
Arabic-Indic digits, which ``int()`` and ``float()`` then read as numbers IRIS never wrote."""
_PASS_START = re.compile(r"^Starting backup pass (?P<n>[0-9]+)")
_PASS_END = re.compile(r"^Backup pass (?P<n>[0-9]+) complete at (?P<at>" + _STAMP + ")")
_COPY_START = re.compile(r"^Backing up (?P<dir>\S.*?) at (?P<at>" + _STAMP + r")\s*$")
_COPIED = re.compile(r"^Copied (?P<blocks>[0-9]+) blocks in (?P<secs>[0-9]+(?:\.[0-9]+)?) seconds")
_REQUIRED = re.compile(r"^Journal file '(?P<v>[^']+)' and the subsequent ones are required")
_WARNING = re.compile(r"\bwarning\b", re.IGNORECASE)
_ERROR = re.compile(r"\b(error|abort(ed|ing)?|fail(ed|ure)?)\b|<[A-Z]+>", re.IGNORECASE)
_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
_HEADER_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class DatabaseCopy(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    directory: str
    started: datetime | None = Field(default=None, description="Instance-local time, naive.")
    blocks: int | None = None
    seconds: float | None = None


class BackupPass(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    number: int
    copies: list[DatabaseCopy] = Field(default_factory=list)
    completed_at: datetime | None = None


class BackupLog(BaseModel):
    """What one backup log says, in the order IRIS said it."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    started: datetime | None = Field(
        default=None, description="``*** The time is: ... ***``: instance-local time, naive."
    )
    kind: str | None = Field(
        default=None, description="As IRIS words it: ``Performing a Full backup.`` gives Full."
    )
    device: str | None = None
    description: str | None = None
    directories: list[str] = Field(default_factory=list)
    journal_switched_to: str | None = None
    journal_required: str | None = Field(
        default=None, description="First journal file a restore of this backup must apply."
    )
    passes: list[BackupPass] = Field(default_factory=list)
    finished: bool = Field(default=False, description="The log reached ***FINISHED BACKUP***.")
    warnings: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)

    @property
    def total_blocks(self) -> int:
        return sum(c.blocks or 0 for p in self.passes for c in p.copies)


class _Reader:
    """Line-by-line state: which section the log is in, and what has been learnt so far."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}
        self.directories: list[str] = []
        self.passes: list[dict[str, object]] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []
        self.finished = False
        self.in_directories = False
        self.expect_switched_file = False
        self.expect_description = False

    def feed(self, line: str) -> None:
        stripped = line.strip()
        if self.expect_description:
            self.expect_description = False
            if not _is_known(stripped):
                self.fields["description"] = stripped
                return
        if self.expect_switched_file and stripped:
            self.fields["journal_switched_to"] = stripped
            self.expect_switched_file = False
            return
        if self.in_directories:
            if line[:1].isspace() and stripped:
                self.directories.append(stripped)
                return
            self.in_directories = False
        if not stripped:
            return
        if stripped == FINISHED_MARKER:
            self.finished = True
        elif not self._header(stripped) and not self._pass(stripped):
            self._judge(stripped)

    def _header(self, line: str) -> bool:
        if m := _STARTED.match(line):
            self.fields["started"] = _time(m["at"], _HEADER_TIME_FORMAT)
        elif m := _KIND.match(line):
            self.fields["kind"] = m["v"]
        elif line in _BANNER or set(line) == {"-"}:
            pass
        elif _DESCRIPTION_ALONE.match(line):
            self.fields["description"] = ""
            self.expect_description = True
        elif m := _DEVICE.match(line):
            self.fields["device"] = m["v"]
        elif m := _DESCRIPTION.match(line):
            self.fields["description"] = m["v"]
        elif _DIRECTORIES.match(line):
            self.in_directories = True
        elif m := _SWITCHED.match(line):
            if m["v"]:
                self.fields["journal_switched_to"] = m["v"]
            else:
                self.expect_switched_file = True
        elif m := _REQUIRED.match(line):
            self.fields["journal_required"] = m["v"]
        else:
            return False
        return True

    def _pass(self, line: str) -> bool:
        if m := _PASS_START.match(line):
            self.passes.append({"number": int(m["n"]), "copies": []})
        elif (m := _PASS_END.match(line)) and self.passes:
            self.passes[-1]["completed_at"] = _time(m["at"])
        elif (m := _COPY_START.match(line)) and self.passes:
            self._copies().append({"directory": m["dir"], "started": _time(m["at"])})
        elif (m := _COPIED.match(line)) and self.passes and self._copies():
            self._copies()[-1].update(blocks=int(m["blocks"]), seconds=float(m["secs"]))
        else:
            return line.startswith(
                ("Finished this pass of copying", "Journal marker set", "offset ")
            )
        return True

    def _copies(self) -> list[dict[str, object]]:
        copies = self.passes[-1]["copies"]
        assert isinstance(copies, list)
        return copies

    def _judge(self, line: str) -> None:
        if _WARNING.search(line):
            self.warnings.append(line)
        elif _ERROR.search(line):
            self.errors.append(line)


def _is_known(line: str) -> bool:
    """A line IRIS writes for itself: never taken as the description (an empty description is
    followed by a blank line, but a log that skips it must not lose its next header)."""
    return any(
        p.match(line) for p in (_DEVICE, _DIRECTORIES, _SWITCHED, _PASS_START, _STARTED, _KIND)
    )


def _time(text: str, form: str = _TIME_FORMAT) -> datetime | None:
    """The patterns admit only ASCII digits; strptime still refuses a month 13 or an hour 25."""
    try:
        return datetime.strptime(text, form)
    except ValueError:
        return None


def parse_backup_log(text: str) -> BackupLog:
    """Parse a whole backup log. Pure: never fails on odd input, it only learns less from it."""
    reader = _Reader()
    for line in text.splitlines():
        reader.feed(line)
    return BackupLog.model_validate(
        {
            **reader.fields,
            "directories": reader.directories,
            "passes": reader.passes,
            "finished": reader.finished,
            "warnings": reader.warnings,
            "errors": reader.errors,
        }
    )
