"""The concrete attacks of issue 11, pinned one by one: each is the smallest directory that showed
the defect, run through the real CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backup_keeper.kinds import BackupKind
from backup_keeper.purge.intent import INTENT_NAME
from tests.adversarial.cli import (
    Run,
    check_run,
    command,
    pid_namespace,
    run_all,
    run_one,
)
from tests.adversarial.disk import (
    differences,
    exists,
    listing,
    make_fifo,
    make_symlink,
    snapshot,
    write_file,
)
from tests.adversarial.invariants import assert_outside_unchanged, purge_flags
from tests.adversarial.layout import (
    ALERTS_STATE,
    FORGED,
    ForeignLogSidecar,
    FutureSidecar,
    Honest,
    OddDigits,
    PlantedIntent,
    Scene,
    Site,
    build,
    is_tool_state,
    own_log,
    write_sidecar_backup,
)

GOOD_FULL = Honest("F", 10, completed=True, sidecar=False)
"""``FullDBList_20261110_001.cbk`` with a finished log."""
NO_PID_NAMESPACE = "needs root and unshare to run the CLI as pid 1, which fixes its temp names"


def report_of(run: Run) -> dict[str, Any]:
    report = check_run(run)
    assert isinstance(report, dict), run.show()
    return report


def said(report: dict[str, Any], *words: str) -> bool:
    """Whether some warning or error of ``report`` names one of ``words``."""
    return any(w in line for line in report["warnings"] + report["errors"] for w in words)


def purge(site: Site, scene: Scene, *, json: bool = True, timeout: float = 60) -> Run:
    return run_one(
        command("purge", site.directory, *purge_flags(scene), json=json), timeout=timeout
    )


# --- item 1: the purge intent ---------------------------------------------------------------


def test_a_planted_intent_with_paths_outside_and_a_kept_backup_is_refused_whole(
    tmp_path: Path,
) -> None:
    """Companions ``../``, absolute and beside the directory, and an entry naming the backup the
    plan keeps with its real size and mtime: reported, and the directory left untouched."""
    escape = ("../outside/victim.txt", "ABS/outside/victim.log", "../sibling.txt")
    scene = Scene(
        honest=(GOOD_FULL, Honest("F", 15, completed=True, sidecar=False)),
        hostile=(PlantedIntent((("ghost", escape), ("honest[1]", ("honest[1].log",)))),),
        keep=("--keep-last", "1"),
    )
    site = build(tmp_path, scene)
    outside, inside = snapshot(tmp_path, skip=site.directory), snapshot(site.directory)

    run = purge(site, scene)

    assert_outside_unchanged(run, outside, snapshot(tmp_path, skip=site.directory))
    report = report_of(run)
    assert exists(site.directory, site.honest[1]), run.show()
    untouched = {n for n in differences(inside, snapshot(site.directory)) if not is_tool_state(n)}
    assert not untouched, f"changed: {untouched}\n{run.show()}"
    assert said(report, INTENT_NAME), run.show()


# --- item 3: a sidecar names another backup's log ------------------------------------------


def test_a_sidecar_naming_another_backups_log_never_deletes_it_nor_the_good_full_after(
    tmp_path: Path,
) -> None:
    """A crafted old full whose sidecar's ``iris_log`` is the failed newest full's log: purging
    the crafted one took that log, the failed full read "unknown, kept as completed", and the
    next purge deleted the only good full."""
    failed = Honest("F", 12, completed=False, sidecar=False)
    scene = Scene(
        honest=(GOOD_FULL, failed),
        hostile=(ForeignLogSidecar("honest[1].log"),),
        keep=("--keep-last", "1", "--allow-purge-after-failure"),
    )
    site = build(tmp_path, scene)
    good, failed_log = site.honest[0], own_log(site.honest[1])

    first, second = purge(site, scene), purge(site, scene)

    assert exists(site.directory, failed_log), first.show()
    assert exists(site.directory, good), f"{listing(site.directory)}\n{second.show()}"
    assert said(report_of(first), failed_log, "backup-keeper_20261020T020000Z_full.cbk.json")


# --- item 6: non-ASCII digits ----------------------------------------------------------------


@pytest.mark.parametrize("digits", ["fullwidth", "arabic-indic", "devanagari"])
def test_an_iris_name_in_non_ascii_digits_is_nobodys_backup(tmp_path: Path, digits: str) -> None:
    """``FullDBList_<20261119>_<900>.cbk`` spelled in full-width (or Arabic-Indic, Devanagari)
    digits, newer than the one good full, with a finished log: parsed as a date, it took the good
    full's place and the good full was deleted."""
    scene = Scene(
        honest=(GOOD_FULL,),
        hostile=(OddDigits("FullDBList", digits, "both"),),  # type: ignore[arg-type]
        keep=("--keep-last", "1"),
    )
    site = build(tmp_path, scene)
    odd = next(n for n in site.protected if n.startswith("FullDBList_") and n.endswith(".cbk"))

    catalog, real = run_one(command("catalog", site.directory, json=True)), purge(site, scene)

    sources = {Path(r["path"]).name: r["source"] for r in report_of(catalog)["records"]}
    assert sources[odd] == "unmanaged", catalog.show()
    assert exists(site.directory, site.honest[0]), real.show()
    assert exists(site.directory, odd), real.show()
    report_of(real)


# --- item 20: a backup dated 2099 ------------------------------------------------------------


def test_restore_plan_never_restores_to_a_backup_dated_in_the_future(tmp_path: Path) -> None:
    """A sidecar whose ``started`` is in 2099 made ``restore-plan`` "restore to 2099"."""
    scene = Scene(
        honest=(Honest("F", 10, completed=True, sidecar=True),), hostile=(FutureSidecar(2099, "F"),)
    )
    site = build(tmp_path, scene)
    future = next(n for n in site.protected if "2099" in n)

    as_json, as_text = run_all(
        [
            command("restore-plan", site.directory, json=True),
            command("restore-plan", site.directory, json=False),
        ]
    )

    report = report_of(as_json)
    assert report["restore"]["restores_to"].startswith("2026-11-10"), as_json.show()
    assert said(report, future), as_json.show()
    check_run(as_text)
    assert b"2099" not in as_text.stdout.split(b"restores to:")[-1].split(b"\n")[0], as_text.show()


# --- item 26: a newline in a name ------------------------------------------------------------


def _forging_unmanaged(directory: Path) -> None:
    write_file(directory / f"evil.cbk\n{FORGED} keep FullDBList_20261101_001.cbk", b"planted")


def _forging_managed(directory: Path) -> None:
    started = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    write_sidecar_backup(directory, f"x.cbk\n{FORGED} keep y.cbk", BackupKind.FULL, started)


@pytest.mark.parametrize("verb", ["catalog", "purge", "verify", "restore-plan"])
@pytest.mark.parametrize("forge", [_forging_unmanaged, _forging_managed])
def test_a_newline_in_a_file_name_forges_no_row_of_the_table(
    tmp_path: Path, verb: str, forge: object
) -> None:
    scene = Scene(honest=(GOOD_FULL,), hostile=(), keep=("--keep-last", "1"))
    site = build(tmp_path, scene)
    forge(site.directory)  # type: ignore[operator]
    extra = (*purge_flags(scene), "--dry-run") if verb == "purge" else ()

    run = run_one(command(verb, site.directory, *extra, json=False))

    check_run(run)
    lines = run.stdout.decode(errors="replace").splitlines()
    assert not [line for line in lines if line.startswith(FORGED)], run.show()


# --- things that must never block ------------------------------------------------------------


def _fails_to_plan(site: Site) -> None:
    """A corrupt intent: the purge fails, so the notifier records it in its state file."""
    write_file(site.directory / INTENT_NAME, b"{ not an intent")


@pytest.mark.parametrize(
    ("name", "fail"),
    [
        (ALERTS_STATE, True),
        (f"{ALERTS_STATE}.tmp-1", True),
        (f"{INTENT_NAME}.tmp-1", False),
    ],
)
def test_a_fifo_where_the_purge_writes_its_own_state_never_blocks_it(
    tmp_path: Path, name: str, fail: bool
) -> None:
    """Reading the alert state, or opening a predictable temporary name for writing, blocks on
    a FIFO for ever: the job neither finishes nor reports."""
    if name.endswith(".tmp-1") and not pid_namespace():
        pytest.skip(NO_PID_NAMESPACE)
    scene = Scene(
        honest=(GOOD_FULL, Honest("F", 15, completed=True, sidecar=False)),
        hostile=(),
        keep=("--keep-last", "1"),
    )
    site = build(tmp_path, scene)
    if fail:
        _fails_to_plan(site)
    make_fifo(site.directory / name)

    check_run(purge(site, scene, timeout=10))


# --- item 2: predictable temporary names ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fail"), [(f"{ALERTS_STATE}.tmp-1", True), (f"{INTENT_NAME}.tmp-1", False)]
)
def test_a_symlink_at_a_temporary_name_never_leads_a_write_outside(
    tmp_path: Path, name: str, fail: bool
) -> None:
    """The CLI runs as pid 1 of its own pid namespace, so ``NAME.tmp-1`` is the name it picks;
    a symlink waiting there made root overwrite the file it points to."""
    if not pid_namespace():
        pytest.skip(NO_PID_NAMESPACE)
    scene = Scene(
        honest=(GOOD_FULL, Honest("F", 15, completed=True, sidecar=False)),
        hostile=(),
        keep=("--keep-last", "1"),
    )
    site = build(tmp_path, scene)
    if fail:
        _fails_to_plan(site)
    make_symlink(site.directory / name, site.outside / "state.json")
    outside = snapshot(tmp_path, skip=site.directory)

    run = purge(site, scene)

    assert_outside_unchanged(run, outside, snapshot(tmp_path, skip=site.directory))
    check_run(run)
