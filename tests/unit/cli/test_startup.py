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

_PROBE = """
import atexit, json, sys
where = sys.argv[1]
def _dump():
    with open(where, "w") as out:
        json.dump(sorted(sys.modules), out)
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
    return {name.partition(".")[0] for name in json.loads(out.read_text())}


def test_importing_the_cli_loads_no_alert_channel_codec_hash_or_iris_adapter(
    tmp_path: Path,
) -> None:
    assert loaded_modules(tmp_path, "import") & set(HEAVY) == set()


def test_help_through_the_entry_point_loads_none_of_them(tmp_path: Path) -> None:
    assert loaded_modules(tmp_path, "run", "--help") & set(HEAVY) == set()


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
