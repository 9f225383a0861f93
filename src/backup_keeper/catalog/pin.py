"""A pin: why a backup must not be purged, and until when, as its sidecar records it.

Its own module, importing nothing of the project, so that the manifest (which parses it) and
the catalog's record (which carries it to the planner, the catalog and the timeline) can both
use it: the catalog reads each sidecar once, and a pin costs a purge no read of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

MAX_PIN_REASON = 200
"""A pin's reason is a line in a table and in a purge's "pinned: <reason>", not a document."""


def one_printable_line(text: str, limit: int = MAX_PIN_REASON) -> str:
    """``text`` when it is one non-empty line of at most ``limit`` printable characters.

    A pin's reason is read back from a sidecar on hostile ground and shown in terminals,
    reports and alerts: a control character, a line break or a bidirectional override in it
    could forge a table row or repaint a screen, so such a sidecar is refused, never shown."""
    if not text.strip():
        raise ValueError("must not be empty")
    if "\n" in text or "\r" in text:
        raise ValueError("must be one line")
    if not text.isprintable():
        raise ValueError("must hold no control or formatting character")
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    return text


PinText = Annotated[str, AfterValidator(one_printable_line)]


class Pin(BaseModel):
    """Why a backup must not be purged, and until when: ``pin`` / ``unpin`` write it.

    Recorded in the sidecar so that it travels with the backup and with its off-site copies;
    a purge (local or at a destination) keeps a pinned backup and everything a restore of it
    needs while the pin holds."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    reason: PinText = Field(description="Why it is pinned; one printable line.")
    pinned: AwareDatetime = Field(description="When the pin was written.")
    until: AwareDatetime | None = Field(
        default=None, description="The pin holds before this moment; none: until unpinned."
    )
    by: PinText | None = Field(default=None, description="The OS user who pinned it.")

    def holds(self, now: datetime) -> bool:
        """Whether the pin still keeps the backup at ``now``: an expired pin holds nothing."""
        return self.until is None or now < self.until
