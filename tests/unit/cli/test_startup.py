"""Start-up loads only what the command uses: the import graph of real subprocesses, not a time
(a time depends on the machine; what is imported does not). bench/startup.py measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "apprise",
    "zstandard",
    "blake3",
    "pyrage",
    "obstore",
    "asyncssh",
    "iris",
    "iop",
    "intersystems_iris",
    "irisnative",
)
"""Loaded only by the commands that use them: alert channels, compression, checksums, age
encryption, the object-store and SFTP clients, the IRIS and IoP adapters."""

HELP_ONLY = ("rich",)
"""Help is printed by click's own formatter (``rich_markup_mode=None``): rich's console,
markdown and traceback modules cost --help a third of its time; progress bars load it when a
long step starts."""

_PROBE = """
import atexit, json, sys
where = sys.argv[1]
def _dump():
    import pydantic
    models, stack = [], [pydantic.BaseModel]
    while stack:
        for model in stack.pop().__subclasses__():
            stack.append(model)
            if model.__module__.startswith("backup_keeper") and model.__pydantic_complete__:
                models.append(model.__qualname__)
    with open(where, "w") as out:
        json.dump({"modules": sorted(sys.modules), "built": sorted(set(models))}, out)
atexit.register(_dump)
target = sys.argv[2]
if target == "import":
    import backup_keeper.cli.app
else:
    sys.argv = ["backup-keeper", *sys.argv[3:]]
    from backup_keeper.cli.app import main
    main()
"""


def loaded_modules(tmp_path: Path, *args: str) -> set[str]:
    """The top-level names of every module loaded by a subprocess that imports the CLI
    (``import``) or runs the console-script entry point with ``args``."""
    return {name.partition(".")[0] for name in probe(tmp_path, *args)["modules"]}


def built_models(tmp_path: Path, *args: str) -> set[str]:
    """The project's pydantic models whose validators the subprocess built."""
    return set(probe(tmp_path, *args)["built"])


def probe(tmp_path: Path, *args: str) -> dict[str, list[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
        check=False,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    found: dict[str, list[str]] = json.loads(out.read_text())
    return found


def test_importing_the_cli_loads_no_alert_channel_codec_hash_or_iris_adapter(
    tmp_path: Path,
) -> None:
    assert loaded_modules(tmp_path, "import") & set(HEAVY) == set()


def test_help_through_the_entry_point_loads_none_of_them(tmp_path: Path) -> None:
    assert loaded_modules(tmp_path, "run", "--help") & set(HEAVY) == set()


def test_help_loads_no_rich_and_builds_no_models_validator(tmp_path: Path) -> None:
    """Every model defers its build to its first use (``defer_build``), so help, which
    validates nothing, pays for none of the schemas."""
    assert loaded_modules(tmp_path, "run", "--help") & set(HELP_ONLY) == set()
    assert built_models(tmp_path, "run", "--help") == set()
    assert built_models(tmp_path, "run", "purge", "--help") == set()


def test_catalog_builds_the_models_it_validates_and_not_the_backup_or_alert_ones(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "backups"
    empty.mkdir()
    built = built_models(tmp_path, "run", "catalog", str(empty))
    assert {"CatalogSettings", "JobReport"} <= built
    assert built & {"BackupSettings", "AlertSettings", "Manifest", "FakeState"} == set()


def test_catalog_of_an_empty_directory_loads_no_alert_channel_codec_or_iris(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "backups"
    empty.mkdir()
    loaded = loaded_modules(tmp_path, "run", "catalog", str(empty))
    assert loaded & {"apprise", "zstandard", "iop", "iris", "intersystems_iris"} == set()


def test_catalog_of_a_file_url_loads_no_object_store_sftp_or_age_client(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    loaded = loaded_modules(tmp_path, "run", "catalog", f"file://{share}", "--instance", "PROD")
    assert loaded & {"obstore", "asyncssh", "pyrage", "apprise", "iris"} == set()
