"""A log that exists but cannot be read is never "no log", whoever runs the purge.

Root reads every file whatever its mode, so these examples run the CLI as a second user
(``setpriv --reuid 65534``) over a directory that user owns, in which some IRIS logs are mode 000
or belong to yet another user. A backup whose log cannot be read is kept, never counted as
completed, so no backup the honest plan (every log readable) keeps may go.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adversarial.cli import (
    SECOND_UID,
    check_run,
    command,
    run_all,
    run_one,
    second_user_unavailable,
)
from tests.adversarial.disk import snapshot
from tests.adversarial.invariants import (
    assert_honest_keeps_survive,
    assert_outside_unchanged,
    assert_protected_survive,
    assert_unreadable_kept,
    expectation,
    honest_dry_run,
    purge_flags,
)
from tests.adversarial.layout import (
    Honest,
    Scene,
    UnreadableLog,
    build,
    hand_over,
)
from tests.adversarial.strategies import PHASES, keep_flags


@contextmanager
def shared_base() -> Iterator[Path]:
    """A base directory the second user can traverse: pytest's own temporary directories are
    private to root (mode 0700), so this one is made beside them, and removed after."""
    base = Path(tempfile.mkdtemp(prefix="backup-keeper-adversarial-"))
    try:
        base.chmod(0o755)
        yield base
    finally:
        shutil.rmtree(base)


@st.composite
def locked_scenes(draw: st.DrawFn) -> Scene:
    """IRIS-named fulls only (so no chain hangs on an unreadable one), some failed, and one to
    three of their logs unreadable."""
    days = sorted(draw(st.lists(st.integers(1, 17), min_size=2, max_size=6)))
    fulls = tuple(Honest("F", day, draw(st.booleans()), sidecar=False) for day in days)
    locked = draw(
        st.lists(
            st.builds(
                UnreadableLog, st.integers(0, 5), st.sampled_from(("mode-000", "foreign-owner"))
            ),
            min_size=1,
            max_size=3,
        )
    )
    return Scene(fulls, tuple(locked), "UTC", draw(keep_flags()))


SECOND_USER_UNAVAILABLE = second_user_unavailable()


@pytest.mark.skipif(SECOND_USER_UNAVAILABLE is not None, reason=SECOND_USER_UNAVAILABLE or "")
@settings(max_examples=8, deadline=None, phases=PHASES)
@given(scene=locked_scenes(), json=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_a_purge_by_a_user_who_cannot_read_some_logs_keeps_what_the_honest_plan_keeps(
    scene: Scene, json: tuple[bool, bool, bool]
) -> None:
    with shared_base() as base:
        site = build(base, scene)
        hand_over(site, SECOND_UID)
        outside = snapshot(base, skip=site.directory)
        flags = purge_flags(scene)
        honest, *readers = run_all(
            [
                honest_dry_run(base, scene),
                command("catalog", site.directory, json=json[0], second_user=True),
                command(
                    "purge", site.directory, *flags, "--dry-run", json=json[1], second_user=True
                ),
            ]
        )
        expected = expectation(honest, base)
        real = run_one(command("purge", site.directory, *flags, json=json[2], second_user=True))

        assert_outside_unchanged(real, outside, snapshot(base, skip=site.directory))
        assert_honest_keeps_survive(real, site, expected)
        assert_protected_survive(real, site)
        assert_unreadable_kept(real, site)
        for run in [*readers, real]:
            check_run(run)
