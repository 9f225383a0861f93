"""module.xml read with IPM's own phase rules: which commands reach each Invoke, and with what.

The rules, from IPM 0.10.x's source (docs/install.md, "What IPM runs"):
- `load` and `install` run ExecutePhases(module, "Activate", complete): Initialize, Reload,
  Validate, Compile, Activate (`%IPM.Lifecycle.Base:GetCompletePhasesForOne`), and
  `%IPM.Lifecycle.Module:%Activate` runs Configure inside Activate.
- `uninstall` runs ExecutePhases(module, "Clean") only (`%IPM.Storage.Module:Uninstall`); Clean
  deletes the module's classes inside the phase, so an Invoke of one of them must run Before.
- FileCopy copies in its OnBeforePhase("Activate"): an Invoke reading the copied Python runs in
  Activate (or Configure, nested in it), After.
- An Invoke's `<Arg>` `${name}` resolves from `<Default Name>` (overridden by `-Dname=value`) or
  IPM's own expressions; `CheckStatus` defaults to 0 before IPM 0.10.5 (the returned %Status is
  then ignored), so every Invoke says `CheckStatus="true"`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

COMMAND_PHASES = {
    "load": ("Initialize", "Reload", "Validate", "Compile", "Activate", "Configure"),
    "install": ("Initialize", "Reload", "Validate", "Compile", "Activate", "Configure"),
    "uninstall": ("Clean",),
}
AFTER_FILECOPY = {"Activate", "Configure"}
PHASES_THAT_DELETE_CLASSES = {"Clean"}
BUILTIN_VARIABLES = {
    "root",
    "namespace",
    "verbose",
    "packagename",
    "version",
    "mgrdir",
    "libdir",
    "bindir",
    "installdir",
    "ipmdir",
}
INSTALLER = "Install"
UNINSTALLER = "Uninstall"


@dataclass(frozen=True)
class Invoke:
    cls: str
    method: str
    phase: str
    when: str
    check_status: str
    args: tuple[str, ...]


def invokes(text: str) -> list[Invoke]:
    module = ET.fromstring(text).find("Document/Module")
    assert module is not None
    return [
        Invoke(
            cls=node.get("Class", ""),
            method=node.get("Method", ""),
            phase=node.get("Phase", "Configure"),
            when=node.get("When", "After"),
            check_status=node.get("CheckStatus", "0"),
            args=tuple(arg.text or "" for arg in node.iter("Arg")),
        )
        for node in module.iter("Invoke")
    ]


def defaults(text: str) -> set[str]:
    return {node.get("Name", "") for node in ET.fromstring(text).iter("Default")}


def commands_reaching(invoke: Invoke) -> set[str]:
    return {command for command, phases in COMMAND_PHASES.items() if invoke.phase in phases}


def parameters(cls: str, method: str) -> list[str]:
    source = (ROOT / "cls" / (cls.replace(".", "/") + ".cls")).read_text()
    found = re.search(rf"^ClassMethod {method}\((.*?)\)", source, re.M)
    assert found, f"{cls}:{method} is not a ClassMethod"
    return [p for p in found.group(1).split(",") if p.strip()]


def findings(text: str) -> list[str]:
    """Every way module.xml breaks the phase rules, as sentences."""
    found = []
    known = defaults(text) | BUILTIN_VARIABLES
    by_method = {i.method: i for i in invokes(text)}
    for invoke in invokes(text):
        if invoke.check_status.lower() not in ("1", "true"):
            found.append(f"{invoke.method}: CheckStatus is not true, a failure would be ignored")
        for arg in invoke.args:
            for name in re.findall(r"\$\{(\w+)\}", arg):
                if name not in known:
                    found.append(f"{invoke.method}: ${{{name}}} resolves from nothing")
        if len(invoke.args) > len(parameters(invoke.cls, invoke.method)):
            found.append(f"{invoke.method}: more Args than the method has parameters")
        if invoke.phase in PHASES_THAT_DELETE_CLASSES and invoke.when != "Before":
            found.append(f"{invoke.method}: runs after {invoke.phase} deleted its class")
    install = by_method.get(INSTALLER)
    if install is None or not {"load", "install"} <= commands_reaching(install):
        found.append("Install is not reached by both zpm load and zpm install")
    elif install.phase not in AFTER_FILECOPY or install.when != "After":
        found.append("Install runs before FileCopy copied the Python package")
    uninstall = by_method.get(UNINSTALLER)
    if uninstall is None or "uninstall" not in commands_reaching(uninstall):
        found.append("Uninstall is not reached by zpm uninstall")
    if install and uninstall and commands_reaching(install) & commands_reaching(uninstall):
        found.append("Install and Uninstall run in the same command")
    return found


MODULE = (ROOT / "module.xml").read_text()


def test_module_xml_follows_ipms_phase_rules() -> None:
    assert findings(MODULE) == []


def test_the_installer_runs_on_load_and_install_and_the_uninstaller_on_uninstall() -> None:
    by_method = {i.method: i for i in invokes(MODULE)}
    assert commands_reaching(by_method[INSTALLER]) == {"load", "install"}
    assert commands_reaching(by_method[UNINSTALLER]) == {"uninstall"}


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (('Phase="Clean" When="Before"', 'Phase="Unconfigure"'), "not reached by zpm uninstall"),
        (('Phase="Clean" When="Before"', 'Phase="Clean" When="After"'), "deleted its class"),
        (("<Arg>${RunAsUser}</Arg>", "<Arg>${RunAs}</Arg>"), "${RunAs} resolves from nothing"),
        (('When="After" CheckStatus="true"', 'When="After"'), "a failure would be ignored"),
        (('Phase="Activate" When="After"', 'Phase="Activate" When="Before"'), "before FileCopy"),
        (('Phase="Activate" When="After"', 'Phase="Compile" When="After"'), "before FileCopy"),
        (("<Arg>${RunAsUser}</Arg>", "<Arg>a</Arg><Arg>b</Arg><Arg>c</Arg>"), "more Args"),
    ],
)
def test_each_rule_fails_a_broken_module_xml(change: tuple[str, str], finding: str) -> None:
    old, new = change
    assert old in MODULE
    assert any(finding in f for f in findings(MODULE.replace(old, new, 1)))
