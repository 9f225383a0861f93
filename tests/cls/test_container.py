"""The image and the compose stack, read statically (no Docker here): the backups volume is one
IRIS (irisowner, UID 51773) can write on a Linux host, the IRIS image is pinned by version and
the same everywhere, and every file the Dockerfile and the compose file name exists.

Sources: IRIS container docs, "Ownership and Directories" (ADOCK_iris_images_password_owner):
the instance is owned by irisowner (UID 51773), nothing by root, and host storage must be
writable by user 51773. Docker docs, "Volumes": a new volume is pre-populated from the image's
directory at the mount point (content and ownership), which a bind mount is not: Docker creates
a missing bind source owned by root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with apprise; no stubs installed

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "iris.yml"
README = ROOT / "README.md"

IRIS_UID = "51773"
IMAGE = re.compile(
    r"(?P<repo>(?:[a-z0-9.-]+/)*(?:intersystemsdc|intersystems)/iris[a-z-]*)(?::(?P<tag>[A-Za-z0-9._-]+))?"
)
VERSION_TAG = re.compile(r"[0-9]{4}\.[0-9]+(?:\.[0-9]+)*")


def _volumes(compose: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(service, source, target) of every mount; source "" for an anonymous volume."""
    mounts = []
    for name, service in (compose.get("services") or {}).items():
        for entry in service.get("volumes") or []:
            if isinstance(entry, str):
                parts = entry.split(":")
                source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
            else:
                source, target = str(entry.get("source", "")), str(entry.get("target", ""))
            mounts.append((name, source, target))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~", "$"))


def unwritable_mounts(compose_text: str, dockerfile_text: str, readme_text: str) -> list[str]:
    """Mounts IRIS may not be able to write on a Linux host: a bind mount whose source the README
    does not tell to chown to 51773, a named volume not declared, or one whose mount point the
    image does not create owned by irisowner (a new volume takes the image directory's owner)."""
    compose = yaml.safe_load(compose_text)
    declared = set(compose.get("volumes") or {})
    problems = []
    for service, source, target in _volumes(compose):
        if _is_bind(source):
            documented = re.search(
                rf"chown\s+(-R\s+)?{IRIS_UID}:{IRIS_UID}\s+{re.escape(source)}(\s|`|$)", readme_text
            )
            if not documented:
                problems.append(
                    f"{service}: bind mount {source}:{target} is created root-owned on Linux; use a "
                    f"named volume or document `sudo chown {IRIS_UID}:{IRIS_UID} {source}`"
                )
        elif source and source not in declared:
            problems.append(f"{service}: volume {source} is not declared under volumes:")
        elif not re.search(
            rf"^RUN\s.*mkdir\s+-p\s+\S*{re.escape(target)}\b.*chown\s+(irisowner|{IRIS_UID})\S*\s+\S*"
            rf"{re.escape(target)}\b",
            dockerfile_text,
            re.MULTILINE,
        ):
            problems.append(
                f"{service}: the image does not create {target} owned by irisowner, so the new "
                f"volume {source or '(anonymous)'} is owned by root"
            )
    return problems


def image_pins(texts: dict[str, str]) -> dict[str, set[str]]:
    """Every IRIS image reference in each file, as repo:tag ("" for no tag); comments, which
    may cite other images, are not read."""
    return {
        name: {
            f"{m['repo']}:{m['tag'] or ''}"
            for line in text.splitlines()
            for m in IMAGE.finditer(line.split("#", 1)[0])
        }
        for name, text in texts.items()
    }


def pin_problems(pins: dict[str, set[str]]) -> list[str]:
    problems = [f"{name} names no IRIS image" for name, refs in pins.items() if not refs]
    everywhere = set().union(*pins.values())
    for ref in sorted(everywhere):
        tag = ref.rsplit(":", 1)[1]
        if not VERSION_TAG.fullmatch(tag):
            problems.append(f"{ref}: pin the image by version (YYYY.N), not {tag or 'no tag'}")
    if len(everywhere) > 1:
        problems.append(f"one image everywhere, not {sorted(everywhere)}")
    return problems


def missing_copy_sources(dockerfile_text: str, context: Path) -> list[str]:
    missing = []
    for line in dockerfile_text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        missing += [src for src in args[:-1] if not (context / src).exists()]
    return missing


def missing_compose_paths(compose_text: str, project: Path) -> list[str]:
    compose = yaml.safe_load(compose_text)
    missing = []
    for service in (compose.get("services") or {}).values():
        build = service.get("build")
        if build is not None:
            context = project / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            missing += [str(p) for p in (context, context / dockerfile) if not p.exists()]
        for env_file in service.get("env_file") or []:
            if not (project / env_file).exists():
                missing.append(env_file)
    for _service, source, _target in _volumes(compose):
        if source.startswith(".") and not (project / source).exists():
            missing.append(source)
    return missing


def test_the_backups_volume_is_writable_by_irisowner_on_a_linux_host() -> None:
    assert unwritable_mounts(COMPOSE.read_text(), DOCKERFILE.read_text(), README.read_text()) == []


def test_a_bind_mount_docker_creates_root_owned_is_refused() -> None:
    compose = "services:\n  iris:\n    volumes:\n      - ./backups:/backups\n"
    assert (
        "bind mount ./backups:/backups" in unwritable_mounts(compose, DOCKERFILE.read_text(), "")[0]
    )


def test_a_bind_mount_is_accepted_once_the_readme_tells_the_chown() -> None:
    compose = "services:\n  iris:\n    volumes:\n      - ./backups:/backups\n"
    readme = "mkdir backups && sudo chown 51773:51773 ./backups\n"
    assert unwritable_mounts(compose, DOCKERFILE.read_text(), readme) == []


def test_a_named_volume_over_a_mount_point_the_image_leaves_to_root_is_refused() -> None:
    compose = "services:\n  iris:\n    volumes:\n      - backups:/backups\nvolumes:\n  backups:\n"
    dockerfile = "FROM x\nUSER irisowner\n"
    assert "owned by root" in unwritable_mounts(compose, dockerfile, "")[0]


def test_an_undeclared_named_volume_is_refused() -> None:
    compose = "services:\n  iris:\n    volumes:\n      - backups:/backups\n"
    assert "not declared" in unwritable_mounts(compose, DOCKERFILE.read_text(), "")[0]


def test_the_iris_image_is_pinned_by_version_and_the_same_everywhere() -> None:
    pins = image_pins({path.name: path.read_text() for path in (DOCKERFILE, COMPOSE, WORKFLOW)})
    assert pin_problems(pins) == []


def test_latest_or_no_tag_or_two_versions_are_refused() -> None:
    assert pin_problems(
        image_pins({"Dockerfile": "ARG IMAGE=intersystemsdc/iris-community:latest"})
    )
    assert pin_problems(image_pins({"Dockerfile": "FROM intersystemsdc/iris-community\n"}))
    two = image_pins(
        {
            "Dockerfile": "ARG IMAGE=intersystemsdc/iris-community:2025.3",
            "docker-compose.yml": "IMAGE: intersystemsdc/iris-community:2025.1",
        }
    )
    assert pin_problems(two) == [
        "one image everywhere, not ['intersystemsdc/iris-community:2025.1', "
        "'intersystemsdc/iris-community:2025.3']"
    ]
    assert pin_problems(image_pins({"iris.yml": "runs-on: ubuntu-24.04"})) == [
        "iris.yml names no IRIS image"
    ]


def test_every_file_the_dockerfile_copies_exists() -> None:
    assert missing_copy_sources(DOCKERFILE.read_text(), ROOT) == []


def test_a_dockerfile_copying_a_missing_file_is_refused() -> None:
    assert missing_copy_sources("COPY iris.script no-such-file.txt /tmp/\n", ROOT) == [
        "no-such-file.txt"
    ]


def test_every_path_the_compose_file_names_exists() -> None:
    assert missing_compose_paths(COMPOSE.read_text(), ROOT) == []
    overlay = ROOT / "tests" / "e2e" / "compose.contract.yml"
    assert missing_compose_paths(overlay.read_text(), ROOT) == []


def test_a_compose_file_naming_a_missing_build_context_is_refused() -> None:
    compose = "services:\n  iris:\n    build: ./no-such-dir\n"
    assert missing_compose_paths(compose, ROOT) == [
        str(ROOT / "no-such-dir"),
        str(ROOT / "no-such-dir" / "Dockerfile"),
    ]
