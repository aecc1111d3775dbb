"""Cost of rendering a plain template 10,000 times, to compare checkouts (the render budget).

Run: python benchmarks/render_bench.py [ROOT]   ROOT holds the pytest_promptcheck package to
measure (default: this checkout); e.g. compare with ab8e181 after
`mkdir /tmp/old && git archive ab8e181 pytest_promptcheck | tar -x -C /tmp/old`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

RENDERS = 10_000


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent)
    sys.path.insert(0, root)
    from pytest_promptcheck.render import compile_template, make_environment

    template = compile_template(make_environment(), "Echo {{ x }}")
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for index in range(RENDERS):
            template.render({"x": index})
        runs.append(time.perf_counter() - started)
    median = statistics.median(runs)
    print(f"{root}: {RENDERS:,} renders, min {min(runs):.3f} s, median {median:.3f} s")


if __name__ == "__main__":
    main()
