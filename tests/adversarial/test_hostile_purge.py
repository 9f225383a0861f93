"""A purge of a hostile directory loses nothing the honest files alone would keep.

Each example builds a directory of honest backups, adds hostile things beside them (planted
intents, crafted sidecars, non-ASCII and non-UTF-8 names, dates at the ends of the calendar,
symlinks, FIFOs and directories where files are expected), and runs ``purge --dry-run`` then
``purge`` through the real CLI. The expectation is the plan over an honest copy of the directory,
built the same way without the hostile additions.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adversarial.cli import check_run, command, run_all, run_one
from tests.adversarial.disk import snapshot
from tests.adversarial.invariants import (
    assert_dry_run_changed_nothing,
    assert_honest_keeps_survive,
    assert_outside_unchanged,
    assert_protected_survive,
    expectation,
    honest_dry_run,
    purge_flags,
)
from tests.adversarial.layout import build
from tests.adversarial.strategies import ADDITIVE, PHASES, additive, purge_scenes


@pytest.mark.parametrize("kind", [*ADDITIVE, "all-kinds-mixed"])
@settings(max_examples=5, deadline=None, phases=PHASES)
@given(data=st.data())
def test_a_purge_of_a_hostile_directory_deletes_nothing_the_honest_plan_keeps(
    kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One case per kind of hostile element, so a report names the kind (and the issue item)
    that still costs a backup; the last case mixes them all."""
    scene = data.draw(purge_scenes(ADDITIVE.get(kind, additive)), label="scene")
    dry_json, real_json = data.draw(st.booleans(), "dry_json"), data.draw(st.booleans(), "json")
    base = tmp_path_factory.mktemp("hostile-purge")
    site = build(base, scene)
    outside = snapshot(base, skip=site.directory)
    inside = snapshot(site.directory)

    flags = purge_flags(scene)
    honest, dry = run_all(
        [
            honest_dry_run(base, scene),
            command("purge", site.directory, *flags, "--dry-run", json=dry_json),
        ]
    )
    expected = expectation(honest, base)
    after_dry_outside = snapshot(base, skip=site.directory)
    after_dry_inside = snapshot(site.directory)
    real = run_one(command("purge", site.directory, *flags, json=real_json))

    assert_outside_unchanged(dry, outside, after_dry_outside)
    assert_dry_run_changed_nothing(dry, inside, after_dry_inside)
    assert_outside_unchanged(real, outside, snapshot(base, skip=site.directory))
    assert_honest_keeps_survive(real, site, expected)
    assert_protected_survive(real, site)
    check_run(dry)
    check_run(real)
