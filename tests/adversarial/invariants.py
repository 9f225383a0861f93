"""The invariants that concern what a run did to the disk (``cli.check_run`` holds those about
its output), and the expectation they are measured against."""

from __future__ import annotations

from pathlib import Path

from tests.adversarial.cli import Command, Run, broken, check_run, command
from tests.adversarial.disk import Entry, differences, exists, listing
from tests.adversarial.layout import NOW_ARG, Expectation, Scene, Site, is_tool_state

Tree = dict[str, Entry]


def purge_flags(scene: Scene) -> tuple[str, ...]:
    zone = ("--timezone", scene.timezone) if scene.timezone else ()
    return (*scene.keep, "--now", NOW_ARG, *zone)


def honest_dry_run(base: Path, scene: Scene) -> Command:
    """``purge --dry-run --json`` over the honest copy: what it keeps is the expectation."""
    return command("purge", base / "honest", *purge_flags(scene), "--dry-run", json=True)


def expectation(run: Run, base: Path) -> Expectation:
    report = check_run(run)
    assert isinstance(report, dict), run.show()
    assert run.returncode != 2, f"the honest copy is refused as bad input:\n{run.show()}"
    return Expectation.from_dry_run(report, base / "honest")


def assert_outside_unchanged(run: Run, before: Tree, after: Tree) -> None:
    changed = differences(before, after)
    if changed:
        broken("nothing outside the directory changes", run.action, "\n".join(changed.values()))


def assert_dry_run_changed_nothing(run: Run, before: Tree, after: Tree) -> None:
    changed = [c for n, c in differences(before, after).items() if not is_tool_state(n)]
    if changed:
        broken("a dry run changes nothing in the directory", run.action, "\n".join(changed))


def assert_honest_keeps_survive(run: Run, site: Site, expected: Expectation) -> None:
    backups = sorted(
        n for n in expected.kept if n.endswith(".cbk") and not exists(site.directory, n)
    )
    if backups:
        broken(
            "no backup the honest plan keeps is deleted",
            run.action,
            f"deleted: {backups}\nleft: {listing(site.directory)}\n{run.show()}",
        )
    companions = sorted(n for n in expected.kept if not exists(site.directory, n))
    if companions:
        broken(
            "a kept backup keeps its own sidecar and log",
            run.action,
            f"deleted: {companions}\nleft: {listing(site.directory)}\n{run.show()}",
        )


def assert_protected_survive(run: Run, site: Site) -> None:
    gone = sorted(repr(n) for n in site.protected if not exists(site.directory, n))
    if gone:
        broken(
            "a file that is no backup of ours is never deleted",
            run.action,
            f"deleted: {gone}\nleft: {listing(site.directory)}\n{run.show()}",
        )


def assert_unreadable_kept(run: Run, site: Site) -> None:
    gone = sorted(n for n in site.unreadable if not exists(site.directory, n))
    if gone:
        broken(
            "a backup whose log cannot be read is kept, with its log",
            run.action,
            f"deleted: {gone}\nleft: {listing(site.directory)}\n{run.show()}",
        )
