"""Collection time of a prompt file whose every case has an inline ``schema:`` check.

Each check's schema is checked against its metaschema and its ``$ref``s are resolved at
collection; this times load_spec on N such cases (default 2,000), in process, and prints the
median and minimum of the repetitions. Usage: python benchmarks/schema_checks.py [N] [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from pytest_promptcheck import schemas
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.spec import load_spec

CHECK = "{schema: {type: object, properties: {queue: {enum: [billing, tech]}}, required: [queue]}}"


def prompt_file(folder: Path, cases: int) -> Path:
    lines = ["model: openai:m", "prompt: 'ticket {{ x }}'", "cases:"]
    for index in range(cases):
        lines += [f"  - id: c{index}", f"    vars: {{x: '{index}'}}", f"    expect: [{CHECK}]"]
    path = folder / "many.prompt.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(cases: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = prompt_file(Path(folder), cases)
        times = []
        for _ in range(repeats):
            registry = builtin_registry(Project.at(path.parent))
            schemas._schema_problem.cache_clear()  # each repetition starts cold, as a new run
            started = time.perf_counter()
            load_spec(path, registry)
            times.append(time.perf_counter() - started)
    median, best = statistics.median(times), min(times)
    print(f"{cases} cases with a schema check: {median:.3f} s median ({best:.3f} s min)")


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    main(*(arguments + [2000, 5][len(arguments) :]))
