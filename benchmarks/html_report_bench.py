"""The .html report at scale: its size, the time to write it, and the time to first render in a
real headless Chromium, for 10,000 cases (one in twenty moved, outputs of ~250 bytes).

Run: python benchmarks/html_report_bench.py [CASES]   (needs Debian's `chromium` on PATH)

The page stamps ``data-render-ms`` on <html> with ``performance.now()`` once its first page of
rows is in the DOM: the time from navigation start through reading the file, parsing the data
and building the list, just before the first paint. The browser runs without virtual time, so
the figure is wall-clock; it is the median of five loads.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.reports.registry import write_report
from tests.html_records import POLICY, many

LOADS = 5


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("html_report_bench: no chromium on PATH (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        report = ReportInput(DriftView(many(cases), POLICY), [])
        started = time.perf_counter()
        write_report(path, report)
        written = time.perf_counter() - started
        size = path.stat().st_size
        loads = [_first_render(browser, path, Path(folder) / f"profile{n}") for n in range(LOADS)]
    print(f"{cases} cases: {_mb(size)} written in {written:.2f} s")
    print(
        f"first render (performance.now at the first {loads[0][1]} rows): median "
        f"{statistics.median(ms for ms, _, _ in loads):.0f} ms; chromium --dump-dom wall "
        f"{statistics.median(wall for _, _, wall in loads):.2f} s (browser start included)"
    )


def _first_render(browser: str, path: Path, profile: Path) -> tuple[float, int, float]:
    started = time.perf_counter()
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    wall = time.perf_counter() - started
    found = re.search(r'data-rendered="(\d+)" data-render-ms="([\d.]+)"', dom)
    if found is None:
        sys.exit("html_report_bench: the page did not render (no data-render-ms)")
    return float(found.group(2)), int(found.group(1)), wall


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


if __name__ == "__main__":
    main()
