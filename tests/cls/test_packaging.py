"""The IPM module and the production definition, checked without IRIS."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from backup_keeper import install_check

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
    assert requirements.get("Version") == ">=2024.2"
    assert requirements.get("Interoperability") == "enabled"


def test_the_python_requirement_is_the_same_in_module_xml_pyproject_and_the_installer() -> None:
    """IPM 0.10.4 reads SystemRequirements PythonVersion (its CHANGELOG, #874); older IPM ignores
    it, so the installer checks the running Python too (install_check.MIN_PYTHON)."""
    requirements = module().find("SystemRequirements")
    assert requirements is not None
    wanted = ">=" + ".".join(map(str, install_check.MIN_PYTHON))
    assert requirements.get("PythonVersion") == wanted
    assert PYPROJECT["project"]["requires-python"] == wanted


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


def requirement_lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def distribution(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def third_party_imports(package: Path) -> set[str]:
    """Top-level names every module of ``package`` imports (inside functions too), minus the
    standard library and the package itself."""
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {package.name, "__future__"}


def requirement_findings(requirements: str, package: Path) -> list[str]:
    """How requirements.txt disagrees with pyproject, the installer's import list and the code."""
    found = []
    required = requirement_lines(requirements)
    if required != set(PYPROJECT["project"]["dependencies"]):
        found.append(f"requirements.txt != pyproject: {sorted(required)}")
    names = {distribution(r) for r in required}
    listed = {d.lower() for d in install_check.RUNTIME_IMPORTS.values()}
    if listed != names:
        found.append(f"install_check.RUNTIME_IMPORTS brings {sorted(listed ^ names)} wrongly")
    for name in sorted(third_party_imports(package) - set(install_check.RUNTIME_IMPORTS)):
        found.append(f"{name} is imported by {package.name} but no requirement provides it")
    return found


def test_requirements_txt_matches_the_runtime_dependencies() -> None:
    requirements = (ROOT / "requirements.txt").read_text()
    assert requirement_findings(requirements, ROOT / "src" / "backup_keeper") == []


def test_the_requirements_diff_fails_on_a_runtime_import_with_no_requirement(
    tmp_path: Path,
) -> None:
    package = tmp_path / "backup_keeper"
    package.mkdir()
    (package / "x.py").write_text(
        "import os\nfrom backup_keeper import y\n\ndef f():\n    import requests\n"
    )
    requirements = (ROOT / "requirements.txt").read_text()
    assert requirement_findings(requirements, package) == [
        "requests is imported by backup_keeper but no requirement provides it"
    ]
    dropped = requirements.replace("zstandard>=0.22\n", "")
    assert len(requirement_findings(dropped, package)) == 3


def test_everything_the_installer_reads_ships_in_the_package() -> None:
    """`zpm package`/`publish` export the resources (a FileCopy copies its directory at the same
    path) and the static files README, CHANGELOG, LICENSE, requirements.txt, nothing else
    (`%IPM.Lifecycle.Base:%Export`). So every Python module Installer.cls imports, and the
    production definition, must be under a FileCopy'd directory; nothing is read from ${root}."""
    shipped = [ROOT / (c.get("Name") or "") for c in module().iter("FileCopy")]
    installer = (ROOT / "cls" / "BackupKeeper" / "Installer.cls").read_text()
    imported = re.findall(r'Import\("(backup_keeper[\w.]*)"\)', installer)
    assert imported
    files = [ROOT / "src" / (name.replace(".", "/") + ".py") for name in imported]
    files.append(Path(install_check.production_definition("")))
    for path in files:
        assert path.is_file(), path
        assert any(path.is_relative_to(root) for root in shipped), path
    assert "${root}" not in (ROOT / "module.xml").read_text()


def test_the_production_definition_directory_shadows_no_module() -> None:
    """IoP puts the definition's directory first on sys.path while it migrates."""
    definition = Path(install_check.production_definition(""))
    names = {p.stem for p in definition.parent.iterdir() if p.name != "__pycache__"}
    assert names == {"__init__", definition.stem}
    assert definition.stem not in sys.stdlib_module_names
    assert definition.stem not in {p.stem for p in (ROOT / "src" / "backup_keeper").iterdir()}


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
        env={**os.environ, install_check.DIRECTORY_VARIABLE: "/backups"},
    )


def test_the_production_migrates_in_a_dry_run() -> None:
    done = iop_migrate(Path(install_check.production_definition("")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BackupKeeper.Production" in done.stdout
    for component in ("BackupOperation", "PurgeOperation", "AlertOperation", "SchedulerService"):
        assert component in done.stdout


def test_a_broken_production_file_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "settings.py"
    broken.write_text("from backup_keeper.interop.operations import NoSuchOperation\n")
    assert iop_migrate(broken).returncode != 0


def test_the_enabled_operations_get_the_backup_directory_as_a_host_setting() -> None:
    """IoP's DSL emits ``settings=`` as Host settings (iop 4.1.1 ``production/component.py``)."""
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(install_check.production_definition('')).parent)!r})\n"
        "import backup_keeper_production as b\n"
        "print(json.dumps(b.production.to_dict()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, install_check.DIRECTORY_VARIABLE: "/srv/backups"},
    )
    items = json.loads(done.stdout)["BackupKeeper.Production"]["Item"]
    directories = {
        item["@Name"]: [s["#text"] for s in item.get("Setting", []) if s["@Name"] == "directory"]
        for item in items
    }
    assert directories["BackupOperation"] == ["/srv/backups"]
    assert directories["PurgeOperation"] == ["/srv/backups"]
    assert directories["ExternalBackupOperation"] == ["/srv/backups"]
    assert directories["CopyOperation"] == ["/srv/backups"]
    enabled = {item["@Name"]: item["@Enabled"] for item in items}
    assert enabled["CopyOperation"] == "false"  # until an administrator names a destination


def test_the_production_has_testing_enabled_for_the_portal_and_the_e2e_requests() -> None:
    """Test requests (the portal's Testing Service, IoP's ``test_component`` in tests/e2e) reach
    only a production with Testing Enabled."""
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(install_check.production_definition('')).parent)!r})\n"
        "import backup_keeper_production as b\n"
        "print(b.production.to_xml().splitlines()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert 'TestingEnabled="true"' in done.stdout, done.stdout


_TASK_RUN = re.compile(r'##class\(BackupKeeper\.Task\.Runner\)\.Run\("([^"]*)"', re.ASCII)


def test_every_task_class_runs_a_job_by_its_one_name() -> None:
    """A Task Manager task names its job in its OnTask; that name must be the door registry's
    (the CLI's) name, or the task fails at run time with "unknown job"."""
    from backup_keeper.door import JOBS

    named = {
        path.name: _TASK_RUN.findall(path.read_text())
        for path in (ROOT / "cls" / "BackupKeeper" / "Task").glob("*.cls")
    }
    named = {name: jobs for name, jobs in named.items() if jobs}
    assert len(named) >= 4, named
    for name, jobs in named.items():
        assert set(jobs) <= set(JOBS), f"{name} runs {jobs}, not among {sorted(JOBS)}"
    assert not set(
        _TASK_RUN.findall('##class(BackupKeeper.Task.Runner).Run("freshness", s)')
    ) <= set(JOBS)
