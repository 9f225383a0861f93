"""Hypothesis strategies for hostile directories. Every choice is drawn from a short list of
known-hostile values, so a failure shrinks in a few steps to a directory a person can rebuild."""

from __future__ import annotations

import os

from hypothesis import Phase
from hypothesis import strategies as st

from tests.adversarial.layout import (
    ALERTS_STATE,
    AtHonestCompanion,
    ControlName,
    Element,
    ForeignFileSidecar,
    ForeignLogSidecar,
    FutureSidecar,
    Honest,
    NonRegularAt,
    NonUtf8Name,
    OddDate,
    OddDigits,
    PlantedIntent,
    Scene,
)

SHRINK = os.environ.get("BACKUP_KEEPER_ADVERSARIAL_SHRINK") == "1"
PHASES = tuple(Phase) if SHRINK else (Phase.explicit, Phase.reuse, Phase.generate)
"""Every example costs a few CLI runs, so shrinking a failure takes minutes (hypothesis gives up
after five per failing case): off by default, where the examples drawn are already small and
printed whole; ``BACKUP_KEEPER_ADVERSARIAL_SHRINK=1`` turns it on to find the smallest one. The
example database replays a shrunk failure first on the next run either way."""

INSIDE_REFS: tuple[str, ...] = ("honest[0].cbk", "honest[1].cbk", "honest[-1].cbk", "honest[0].log")
INSIDE_REFS += ("honest[-1].log", "honest[1].json", "notes.log")
OUTSIDE_REFS = (
    "../outside/victim.txt",
    "../outside/FullDBList_20261101_001.cbk",
    "../sibling.txt",
    "ABS/outside/victim.log",
    "../honest/honest[0].cbk",
    "..",
    ".",
)
ZONES = ("UTC", "Etc/GMT-14", "Etc/GMT+12")
"""UTC, fourteen hours east of it, twelve hours west: the ends of the calendar move."""


@st.composite
def honest_backups(draw: st.DrawFn) -> tuple[Honest, ...]:
    """A completed full first (so no hostile backup can become an honest chain's base), then up
    to five more of any kind and outcome, on days up to the 17th."""
    first_day = draw(st.integers(1, 10))
    first = Honest("F", first_day, completed=True, sidecar=draw(st.booleans()))
    rest = draw(
        st.lists(
            st.builds(
                Honest,
                kind=st.sampled_from(("F", "I", "C")),
                day=st.integers(0, 7).map(lambda offset: first_day + offset),
                completed=st.booleans(),
                sidecar=st.booleans(),
            ),
            max_size=5,
        )
    )
    return (first, *sorted(rest, key=lambda b: b.day))


planted_intents = st.builds(
    PlantedIntent,
    st.lists(
        st.tuples(
            st.sampled_from(("ghost", "honest[0]", "honest[1]", "honest[-1]")),
            st.lists(st.sampled_from(OUTSIDE_REFS + INSIDE_REFS), max_size=3).map(tuple),
        ),
        min_size=1,
        max_size=3,
    ).map(tuple),
)
foreign_log_sidecars = st.builds(
    ForeignLogSidecar,
    st.sampled_from(
        (
            "honest[0].log",
            "honest[1].log",
            "honest[-1].log",
            "notes.log",
            "../outside/victim.log",
            "ABS/outside/victim.log",
            "../honest/honest[0].log",
        )
    ),
)
foreign_file_sidecars = st.builds(
    ForeignFileSidecar,
    st.sampled_from(
        (
            "honest[0].cbk",
            "honest[-1].cbk",
            "../outside/FullDBList_20261101_001.cbk",
            "ABS/outside/FullDBList_20261101_001.cbk",
            "../honest/honest[0].cbk",
        )
    ),
    st.booleans(),
)
odd_digits = st.builds(
    OddDigits,
    st.sampled_from(("FullDBList", "IncrementalDBList")),
    st.sampled_from(("fullwidth", "arabic-indic", "devanagari")),
    st.sampled_from(("date", "sequence", "both")),
)
non_utf8_names = st.builds(
    NonUtf8Name,
    st.sampled_from(
        (
            b"Full\xffDBList_20261101_001.cbk",
            b"backup-keeper_\xff.cbk",
            b"caf\xe9.cbk",
            b"\xff\xfe.cbk.json",
            b"FullDBList_20261118_001\xff.log",
            b"FullDBList_20261118_001.cbk.\xff.zst",
        )
    ),
)
control_names = st.builds(
    ControlName,
    st.sampled_from(
        (
            "evil.cbk\nFORGED keep FullDBList_20261101_001.cbk",
            "FullDBList_20261101_001.cbk\nFORGED.cbk",
            "carriage\rFORGED.cbk",
            "\x1b[2J\x1b[31mred.cbk",
            "tab\there.cbk",
            "c1\x9bcontrol.cbk",
        )
    ),
)
odd_dates = st.builds(
    OddDate,
    st.sampled_from(
        (
            "FullDBList_00010101_001.cbk",
            "FullDBList_99991231_001.cbk",
            "IncrementalDBList_99991231_002.cbk",
            "CumuIncrDBList_00010101_003.cbk",
            "FullDBList_20261131_001.cbk",
            "FullDBList_20260229_004.cbk",
            "FullDBList_00000101_005.cbk",
        )
    ),
    st.sampled_from(("finished", "stopped", "none")),
)
future_sidecars = st.builds(FutureSidecar, st.sampled_from((2099, 9999)), st.sampled_from("FI"))
TEMP_NAMES = (
    ".backup-keeper-alerts.json.tmp-1",
    ".backup-keeper-purge.json.tmp-1",
    ".FullDBList_20261101_001.cbk.0123456789ab.bk-tmp",
)
non_regular = st.one_of(
    st.builds(
        NonRegularAt,
        st.sampled_from(("symlink", "fifo", "directory")),
        st.sampled_from(
            ("new-full.log", "new-full.cbk.json", "backup", ".backup-keeper-purge.json")
        ),
        st.sampled_from(("victim.txt", "victim.log", "FullDBList_20261101_001.cbk", "")),
    ),
    # A FIFO where the tool reads its alert state or opens a temporary file for writing
    # blocks it for ever: pinned once in test_regressions, not drawn here, where each hang
    # would cost a whole timeout.
    st.builds(
        NonRegularAt,
        st.sampled_from(("symlink", "directory")),
        st.sampled_from((ALERTS_STATE, *TEMP_NAMES)),
        st.sampled_from(("victim.txt", "state.json", "")),
    ),
)
ADDITIVE: dict[str, st.SearchStrategy[Element]] = {
    "planted-intent": planted_intents,  # issue 11 item 1
    "sidecar-naming-a-foreign-log": foreign_log_sidecars,  # item 3
    "sidecar-naming-a-foreign-file": foreign_file_sidecars,  # item 3
    "non-ascii-digits": odd_digits,  # item 6
    "non-utf8-name": non_utf8_names,  # item 11
    "control-characters-in-name": control_names,  # item 26
    "date-out-of-range": odd_dates,  # item 12
    "dated-in-the-future": future_sidecars,  # item 20
    "symlink-fifo-directory": non_regular,  # items 2 and 4
}
"""Hostile elements that take no honest file's place, by kind (and the issue item each attacks):
the plan over the honest files stays the expectation."""
additive: st.SearchStrategy[Element] = st.one_of(*ADDITIVE.values())
replacing: st.SearchStrategy[Element] = st.builds(
    AtHonestCompanion,
    st.integers(0, 5),
    st.sampled_from(("log", "sidecar")),
    st.sampled_from(("symlink", "fifo", "directory", "garbage", "empty")),
)
"""Hostile elements in place of an honest backup's log or sidecar."""


def keep_flags() -> st.SearchStrategy[tuple[str, ...]]:
    base = ("--keep-last", "1", "--keep-daily", "3")
    extra = st.tuples(
        st.sampled_from(((), ("--failed-older-than", "1d"))),
        st.sampled_from(((), ("--allow-purge-after-failure",))),
    )
    return extra.map(lambda parts: base + parts[0] + parts[1])


def purge_scenes(hostile: st.SearchStrategy[Element] = additive) -> st.SearchStrategy[Scene]:
    return st.builds(
        Scene,
        honest=honest_backups(),
        hostile=st.lists(hostile, min_size=1, max_size=3).map(tuple),
        timezone=st.sampled_from(ZONES),
        keep=keep_flags(),
    )


def any_scenes() -> st.SearchStrategy[Scene]:
    return st.builds(
        Scene,
        honest=honest_backups(),
        hostile=st.lists(st.one_of(additive, replacing), min_size=1, max_size=5).map(tuple),
        timezone=st.sampled_from((*ZONES, None)),
        keep=keep_flags(),
        directory_name=st.sampled_from(
            (b"backups", b"b\xffckups", "bäckups".encode(), b"back\nups", b"back ups")
        ),
    )
