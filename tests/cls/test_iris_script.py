"""iris.script, read the way `iris session IRIS < iris.script` runs it: one command line at a time.

`zpm "cmd":a:b` is `%IPM.Main:Shell(cmd, terminateOnError, haltOnComplete)` (IPM 0.10.x source):
`:1:1` halts the session when the command completes, so no line after it ever runs; `:1` ends the
process with exit status 1 on an error (the image build fails there) and goes on otherwise.
pip keeps an older package already in `<mgr>/python` unless given `--upgrade`
(docs/install.md), hence the load's `-extra-pip-flags "--upgrade"`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "iris.script").read_text()
NAMESPACE = "BACKUPKEEPER"
PRODUCTION = "BackupKeeper.Production"

_ZPM = re.compile(r'^zpm\s+"(?P<command>(?:[^"]|"")*)"(?P<args>(?::[^:\s]*)*)\s*$', re.I)
_ZN = re.compile(r'^(?:zn|znspace|set\s+\$namespace\s*=)\s*"(?P<ns>[^"]+)"', re.I)


def commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip()]


def findings(script: str) -> list[str]:
    lines = commands(script)
    found = []
    namespace = "USER"
    loaded_at = None
    for at, line in enumerate(lines):
        if zn := _ZN.match(line):
            namespace = zn["ns"].upper()
        zpm = _ZPM.match(line)
        if zpm is None:
            continue
        args = zpm["args"].split(":")[1:]
        halts = len(args) >= 2 and args[1].strip() not in ("", "0")
        if halts and at < len(lines) - 1:
            found.append(
                f"line {at + 1}: :1:1 halts the session; {len(lines) - at - 1} lines never run"
            )
        if not args or args[0].strip() in ("", "0"):
            found.append(f"line {at + 1}: no :1, a failed load does not fail the build")
        if zpm["command"].lower().startswith("load"):
            loaded_at = at
            if '-extra-pip-flags ""--upgrade""' not in zpm["command"]:
                found.append(f'line {at + 1}: load without -extra-pip-flags "--upgrade"')
            if namespace != NAMESPACE:
                found.append(f"line {at + 1}: load runs in {namespace}, not {NAMESPACE}")
    if loaded_at is None:
        found.append("nothing loads the module")
    auto = [at for at, line in enumerate(lines) if f'SetAutoStart("{PRODUCTION}")' in line]
    if not auto or (loaded_at is not None and auto[0] < loaded_at):
        found.append("the production is not set to auto-start after the load")
    if any("StartProduction(" in line for line in lines):
        found.append("StartProduction in a build: the instance is stopped right after")
    if not lines or lines[-1].lower() not in ("halt", "h"):
        found.append("the script does not end with halt")
    return found


def test_iris_script_loads_then_sets_auto_start_then_halts() -> None:
    assert findings(SCRIPT) == []


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (('-DBackupDir=/backups":1', '-DBackupDir=/backups":1:1'), ":1:1 halts"),
        (('-DBackupDir=/backups":1', '-DBackupDir=/backups"'), "no :1"),
        ((' -extra-pip-flags ""--upgrade""', ""), "without -extra-pip-flags"),
        (('zn "BACKUPKEEPER"', 'zn "USER"'), "runs in USER"),
        (("    halt\n", ""), "does not end with halt"),
        (("SetAutoStart", "SetAutoStop"), "not set to auto-start"),
    ],
)
def test_each_rule_fails_a_broken_script(change: tuple[str, str], finding: str) -> None:
    old, new = change
    assert old in SCRIPT
    assert any(finding in f for f in findings(SCRIPT.replace(old, new, 1)))


def test_a_start_during_the_build_and_a_script_without_a_load_are_findings() -> None:
    started = SCRIPT.replace(
        "    halt\n", f'    do ##class(Ens.Director).StartProduction("{PRODUCTION}")\n    halt\n'
    )
    assert any("StartProduction" in f for f in findings(started))
    assert "nothing loads the module" in findings('zn "BACKUPKEEPER"\nhalt\n')
