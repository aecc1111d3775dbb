"""The .html report at scale: its size, the time to write it, and the time to first render in a
real headless Chromium, for 10,000 cases (one in twenty moved, outputs of ~250 bytes).

Run: python benchmarks/html_report_bench.py [CASES]   (needs Debian's `chromium` on PATH)

Two figures per load, read over the DevTools protocol (tests/cdp.py), medians of five loads:
the browser's first-contentful-paint, and ``data-render-ms``, which the page stamps on <html> with
``performance.now()`` once its first page of rows is in the DOM (navigation start through reading
the file, parsing the data and building the list). Both count from navigation start, so the
browser's own start-up is not in them. No virtual time: the figures are wall-clock.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pytest_promptcheck.drift_view import DriftView
from pytest_promptcheck.reports.base import ReportInput
from pytest_promptcheck.reports.registry import write_report
from tests.cdp import PageSession
from tests.chromium import BINARY
from tests.html_records import POLICY, many

LOADS = 5


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    if BINARY is None:
        sys.exit("html_report_bench: no chromium on PATH (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        report = ReportInput(DriftView(many(cases), POLICY), [])
        started = time.perf_counter()
        write_report(path, report)
        written = time.perf_counter() - started
        size = path.stat().st_size
        loads = [_first_render(path, Path(folder) / f"profile{n}") for n in range(LOADS)]
    print(f"{cases} cases: {_mb(size)} written in {written:.2f} s")
    print(
        f"first contentful paint: median {statistics.median(p for p, _, _ in loads):.0f} ms; "
        f"first {loads[0][2]} rows in the DOM (data-render-ms): median "
        f"{statistics.median(r for _, r, _ in loads):.0f} ms"
    )


def _first_render(path: Path, profile: Path) -> tuple[float, float, int]:
    """First contentful paint and the page's own render stamp, in ms, and the rows drawn."""
    with PageSession(path.as_uri(), profile) as page:
        page.wait_for("document.documentElement.dataset.renderMs", timeout=120)
        paint = page.wait_for(
            "performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0]",
            timeout=120,
        )
        stamp = page.evaluate("document.documentElement.dataset.renderMs")
        rows = page.evaluate("document.querySelectorAll('.row').length")
    return float(paint), float(stamp), int(rows)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


if __name__ == "__main__":
    main()
