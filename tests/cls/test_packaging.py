"""The IPM module and the production definition, checked without IRIS."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def module() -> ET.Element:
    found = ET.parse(ROOT / "module.xml").getroot().find("Document/Module")
    assert found is not None
    return found


def test_module_xml_names_the_package_and_its_version() -> None:
    m = module()
    assert m.findtext("Name") == PYPROJECT["project"]["name"] == "iris-backup-keeper"
    assert m.findtext("Version") == PYPROJECT["project"]["version"]
    requirements = m.find("SystemRequirements")
    assert requirements is not None
    assert requirements.get("Version") == ">=2024.1"
    assert requirements.get("Interoperability") == "enabled"


def test_every_resource_file_and_invoked_method_exists() -> None:
    m = module()
    root = ROOT / (m.findtext("SourcesRoot") or ".")
    for resource in m.iter("Resource"):
        name = resource.get("Name", "")
        assert name.endswith(".PKG")
        package = name.removesuffix(".PKG").replace(".", "/")
        assert (root / "cls" / package).is_dir() or (root / package).is_dir(), name
    for copy in m.iter("FileCopy"):
        assert (ROOT / copy.get("Name", "")).exists(), copy.get("Name")
    for invoke in m.iter("Invoke"):
        cls = ROOT / "cls" / (invoke.get("Class", "").replace(".", "/") + ".cls")
        assert cls.is_file(), cls
        assert re.search(rf"ClassMethod {invoke.get('Method')}\(", cls.read_text()), invoke.get(
            "Method"
        )
    defaults = {d.get("Name") for d in m.iter("Default")}
    for arg in m.iter("Arg"):
        for variable in re.findall(r"\$\{(\w+)\}", arg.text or ""):
            assert variable in defaults | {"root", "mgrdir", "namespace"}, variable


def test_requirements_txt_matches_the_runtime_dependencies() -> None:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    required = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert required == set(PYPROJECT["project"]["dependencies"])


def test_python_method_bodies_in_cls_compile() -> None:
    """Every [ Language = python ] method body compiles (today the classes have none: their
    OnTask is ObjectScript calling backup_keeper.tasks)."""
    pattern = re.compile(r"\[[^\]]*Language\s*=\s*python[^\]]*\]\s*\{\n(.*?)\n\}", re.S | re.I)
    bodies = [
        (p, m.group(1))
        for p in (ROOT / "cls").rglob("*.cls")
        for m in pattern.finditer(p.read_text())
    ]
    for path, body in bodies:
        compile(_dedent(body), str(path), "exec")
    broken = "Method X() [ Language = python ]\n{\n    return (1 +\n}"
    (match,) = pattern.finditer(broken)
    try:
        compile(_dedent(match.group(1)), "broken", "exec")
    except SyntaxError:
        pass
    else:
        raise AssertionError("the check must be able to fail")


def _dedent(body: str) -> str:
    import textwrap

    return textwrap.dedent(body)


def iop_migrate(settings: Path) -> subprocess.CompletedProcess[str]:
    iop = Path(sys.executable).with_name("iop")
    return subprocess.run(
        [str(iop), "--migrate", str(settings), "--dry-run", "--strict-production-validation"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=settings.parent,
    )


def test_the_production_migrates_in_a_dry_run() -> None:
    done = iop_migrate(ROOT / "production" / "settings.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BackupKeeper.Production" in done.stdout
    for component in ("BackupOperation", "PurgeOperation", "AlertOperation", "SchedulerService"):
        assert component in done.stdout


def test_a_broken_production_file_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "settings.py"
    broken.write_text("from backup_keeper.interop.operations import NoSuchOperation\n")
    assert iop_migrate(broken).returncode != 0
