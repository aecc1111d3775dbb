"""A real headless Chromium for the .html report's tests: the DOM after the page's script ran,
a screenshot, and the browser's net log. Debian's ``chromium`` package (``.ci/run`` installs
it); the tests skip with that reason when it is absent."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARY = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("PROMPTCHECK_REQUIRE_CHROMIUM") == "1"
"""Set by .ci/run, which installs Chromium: CI fails instead of skipping without it."""
needs_chromium = pytest.mark.skipif(
    BINARY is None and not REQUIRED,
    reason="no chromium on PATH: `apt-get install -y chromium` (.ci/run does)",
)
QUIET = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--virtual-time-budget=10000",
)


@dataclass(frozen=True)
class Browser:
    profile: Path

    def run(self, url: str, *flags: str) -> str:
        assert BINARY is not None, "PROMPTCHECK_REQUIRE_CHROMIUM=1 and no chromium on PATH"
        done = subprocess.run(
            [BINARY, *QUIET, f"--user-data-dir={self.profile}", *flags, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def dom(self, url: str, *flags: str) -> str:
        """The document as serialized once the page has drawn its list (its script stamps
        ``data-rendered`` on <html>): on a busy machine ``--dump-dom`` may not wait for that."""
        from tests.cdp import PageSession

        with PageSession(url, self.profile, *flags) as page:
            page.wait_for("document.documentElement.dataset.rendered !== undefined")
            html: str = page.evaluate("document.documentElement.outerHTML")
        return html

    def screenshot(self, url: str, path: Path, size: str = "900,700") -> Path:
        self.run(url, f"--screenshot={path}", f"--window-size={size}", "--hide-scrollbars")
        return path

    def requested_urls(self, url: str, log: Path) -> list[str]:
        """Every URL the browser asked for while it loaded the page, from its net log."""
        self.dom(url, f"--log-net-log={log}", "--net-log-capture-mode=Everything")
        events = json.loads(log.read_text())["events"]
        found = [str(e["params"]["url"]) for e in events if "url" in e.get("params", {})]
        return list(dict.fromkeys(found))


def pixels(png: Path) -> list[bytes]:
    """The PNG's pixels (8-bit RGB or RGBA, as Chromium writes them), unfiltered row by row."""
    data = png.read_bytes()
    width, height, depth, kind = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and kind in (2, 6), "an 8-bit RGB(A) screenshot"
    channels = 3 if kind == 2 else 4
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytes(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        row = _unfilter(line[0], bytearray(line[1:]), previous, channels)
        rows.append(bytes(row))
        previous = row
    return [bytes(r[x : x + 3]) for r in rows for x in range(0, stride, channels)]


def _unfilter(kind: int, row: bytearray, up: bytes, bpp: int) -> bytes:
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        corner = up[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up[i]) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up[i]) // 2) & 0xFF
        elif kind == 4:
            row[i] = (row[i] + _paeth(left, up[i], corner)) & 0xFF
    return bytes(row)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
