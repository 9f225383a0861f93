"""Every command on a hostile directory ends cleanly and touches nothing outside it.

Here the hostile things may also take the place of an honest backup's log or sidecar, the
directory's own name may be odd, and the zone may be the machine's, so no plan is the expectation:
what is checked holds whatever the directory holds. ``catalog``, ``verify``, ``restore-plan`` and
``purge --dry-run`` run side by side (they only read), then ``purge`` for real.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adversarial.cli import broken, check_run, command, run_all, run_one
from tests.adversarial.disk import differences, snapshot
from tests.adversarial.invariants import (
    assert_outside_unchanged,
    assert_protected_survive,
    purge_flags,
)
from tests.adversarial.layout import Scene, is_tool_state
from tests.adversarial.layout import build as build_scene
from tests.adversarial.strategies import PHASES, any_scenes

READERS = ("catalog", "verify", "restore-plan", "purge --dry-run")


@settings(max_examples=12, deadline=None, phases=PHASES)
@given(scene=any_scenes(), json=st.tuples(*[st.booleans()] * (len(READERS) + 1)))
def test_every_command_on_a_hostile_directory_ends_cleanly_and_touches_nothing_outside(
    scene: Scene, json: tuple[bool, ...], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("hostile-commands")
    site = build_scene(base, scene)
    directory = site.directory
    zone = ("--timezone", scene.timezone) if scene.timezone else ()
    outside = snapshot(base, skip=directory)
    inside = snapshot(directory)

    readers = run_all(
        [
            command("catalog", directory, *zone, json=json[0]),
            command("verify", directory, *zone, json=json[1]),
            command("restore-plan", directory, *zone, json=json[2]),
            command("purge", directory, *purge_flags(scene), "--dry-run", json=json[3]),
        ]
    )
    after_readers_outside = snapshot(base, skip=directory)
    after_readers_inside = snapshot(directory)
    purge = run_one(command("purge", directory, *purge_flags(scene), json=json[4]))

    label = " + ".join(run.action for run in readers)
    if changed := differences(outside, after_readers_outside):
        broken("nothing outside the directory changes", label, "\n".join(changed.values()))
    for run in readers:
        check_run(run)
    if changed := {
        n: c for n, c in differences(inside, after_readers_inside).items() if not is_tool_state(n)
    }:
        broken(
            "catalog, verify, restore-plan and a dry run change nothing",
            label,
            "\n".join(changed.values()),
        )
    assert_outside_unchanged(purge, outside, snapshot(base, skip=directory))
    assert_protected_survive(purge, site)
    check_run(purge)
