"""What a json_path check costs: compiling a path (collection) and evaluating it (per sample).

Run: ``python benchmarks/jsonpath_bench.py``. Prints, per representative path, microseconds to
compile and to find on a small model answer, through ``checks/jsonpath.py`` (jsonpath-rfc9535
with the 1 s deadline on every node) and, when installed, the two libraries that were compared:
``jsonpath-rfc9535`` bare and ``python-jsonpath`` in strict (RFC 9535) mode.
"""

from __future__ import annotations

import importlib.util
import timeit
from collections.abc import Callable
from typing import Any

from pytest_promptcheck.checks.jsonpath import compile_path, find

ANSWER = {
    "queue": "billing",
    "urgent": False,
    "items": [{"sku": f"T-{i}", "name": f"item {i}", "price": i * 3} for i in range(10)],
    "customer": {"name": "Ann", "address": {"city": "Paris"}},
}
PATHS = (
    "$.queue",
    "$.items[0].sku",
    "$.items[*].name",
    "$.items[?@.price < 10].name",
    "$..name",
    "$.items[?match(@.sku, 'T-[0-9]')].name",
)
NUMBER = 2000


def micros(action: Callable[[], Any]) -> float:
    return min(timeit.repeat(action, number=NUMBER, repeat=3)) / NUMBER * 1e6


def ours(path: str) -> tuple[float, float]:
    query = compile_path(path)
    return micros(lambda: compile_path.__wrapped__(path)), micros(lambda: find(query, ANSWER))


def rfc9535(path: str) -> tuple[float, float]:
    import jsonpath_rfc9535

    env = jsonpath_rfc9535.JSONPathEnvironment()
    query = env.compile(path)
    return micros(lambda: env.compile(path)), micros(lambda: query.find(ANSWER).values())


def python_jsonpath(path: str) -> tuple[float, float]:
    import jsonpath

    env = jsonpath.JSONPathEnvironment(strict=True)
    query = env.compile(path)
    return micros(lambda: env.compile(path)), micros(lambda: query.findall(ANSWER))


def main() -> None:
    rows: list[tuple[str, Callable[[str], tuple[float, float]]]] = [("ours (bounded)", ours)]
    rows.append(("jsonpath-rfc9535", rfc9535))
    if importlib.util.find_spec("jsonpath") is not None:
        rows.append(("python-jsonpath strict", python_jsonpath))
    print("| path | " + " | ".join(f"{name}: compile / find (µs)" for name, _ in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for path in PATHS:
        cells = [f"{c:.1f} / {f:.1f}" for c, f in (measure(path) for _, measure in rows)]
        print(f"| `{path}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
