"""``backup-keeper timeline``: real subprocesses over a 60-day chain in ``tmp_path``; the page
rendered by headless Chromium when it is installed, its screenshot decoded here."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from tests.builders import directory_state
from tests.unit.cli.test_app import cli
from tests.unit.test_timeline import DAYS, NOW, SVG, sixty_days

KEEP = ("--keep-last", "2", "--keep-daily", "10", "--failed-older-than", "7d")
AS_OF = ("--now", NOW.isoformat())
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KEPT_GREEN = (0x1A, 0x7F, 0x37)
"""timeline.py's fill of a kept mark: its solid inside shows in the screenshot unblended."""


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    directory = tmp_path / "backups"
    directory.mkdir()
    return sixty_days(directory)


def marks(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f".//{SVG}g[@data-file]")


def test_without_out_the_svg_goes_to_stdout_one_mark_per_backup(chain: Path) -> None:
    done = cli("timeline", chain, *AS_OF)
    assert done.returncode == 0, done.stderr
    assert len(marks(done.stdout)) == DAYS + 1


def test_with_keep_rules_it_shows_what_a_purge_would_delete_and_deletes_nothing(
    chain: Path,
) -> None:
    before = directory_state(chain)
    done = cli("timeline", chain, *KEEP, *AS_OF, "--dry-run")
    assert done.returncode == 0, done.stderr
    actions = [m.get("data-action") for m in marks(done.stdout)]
    assert actions.count("delete") > 0 and actions.count("keep") > 0
    assert actions.count("unmanaged") == 1
    assert directory_state(chain) == before


def test_out_html_is_written_whole_and_the_same_twice(chain: Path, tmp_path: Path) -> None:
    pages = []
    for name in ("a.html", "b.html"):
        done = cli("timeline", chain, *KEEP, *AS_OF, "--out", tmp_path / name)
        assert done.returncode == 0, done.stderr
        assert "written to" in done.stdout
        pages.append((tmp_path / name).read_bytes())
    assert pages[0] == pages[1]
    assert pages[0].startswith(b"<!DOCTYPE html>")


def test_out_replaces_a_symlink_and_never_writes_through_it(chain: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "picture.svg"
    link.symlink_to(victim)
    done = cli("timeline", chain, *AS_OF, "--out", link)
    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and marks(link.read_text())


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("picture.png", "must end in .svg, .html or .htm"),
        ("no-such-dir/picture.svg", "cannot write"),
        ("a-directory.svg", "cannot write"),
    ],
)
def test_bad_out_is_bad_input_and_writes_nothing(
    chain: Path, tmp_path: Path, out: str, said: str
) -> None:
    (tmp_path / "a-directory.svg").mkdir()
    before = directory_state(tmp_path)
    done = cli("timeline", chain, *AS_OF, "--out", out, cwd=tmp_path)
    assert done.returncode == 2
    assert said in done.stderr and done.stdout == ""
    assert directory_state(tmp_path) == before


def test_a_bad_keep_rule_is_bad_input_naming_the_flag(chain: Path) -> None:
    done = cli("timeline", chain, "--keep-within", "soon", *AS_OF)
    assert done.returncode == 2
    assert "--keep-within" in done.stderr and done.stdout == ""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_headless_chromium_renders_the_page_as_a_non_trivial_picture(
    chain: Path, tmp_path: Path
) -> None:
    page = tmp_path / "timeline.html"
    assert cli("timeline", chain, *KEEP, *AS_OF, "--out", page).returncode == 0
    shot = screenshot(page, tmp_path / "shot.png", tmp_path / "profile")
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1120, 420)
    non_white = sum(1 for p in pixels if p[:3] != (255, 255, 255))
    assert non_white > width * height // 50, "the page rendered (almost) blank"
    assert len(set(pixels)) > 8, "the picture has too few colours to be the timeline"
    assert KEPT_GREEN in {p[:3] for p in pixels}, "no kept mark was drawn"


def screenshot(page: Path, png: Path, profile: Path) -> Path:
    """``page`` as headless Chromium draws it, bounded in time, with its own profile and no
    network (the page must need none)."""
    command = [
        str(CHROMIUM),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--proxy-server=127.0.0.1:9",  # a fetch at view time would fail, not leak
        f"--screenshot={png}",
        "--window-size=1120,420",
        page.as_uri(),
    ]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    subprocess.run(command, capture_output=True, timeout=90, check=False)
    assert png.is_file(), "chromium wrote no screenshot"
    return png


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and pixels of an 8-bit RGB or RGBA PNG, with the standard library only:
    the IDAT chunks inflated and each row's filter undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "an unexpected PNG layout"
    size = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * size
    pixels: list[tuple[int, ...]] = []
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, size)
        pixels += [tuple(line[i : i + size]) for i in range(0, stride, size)]
        previous = line
    return width, height, pixels


def unfilter(kind: int, line: bytearray, above: bytearray, size: int) -> bytearray:
    """PNG's five row filters (None, Sub, Up, Average, Paeth), undone in place."""
    for i in range(len(line)):
        left = line[i - size] if i >= size else 0
        up, corner = above[i], above[i - size] if i >= size else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + paeth(left, up, corner)) & 0xFF
    return line


def paeth(left: int, up: int, corner: int) -> int:
    guess = left + up - corner
    near_left, near_up, near_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
    if near_left <= near_up and near_left <= near_corner:
        return left
    return up if near_up <= near_corner else corner
