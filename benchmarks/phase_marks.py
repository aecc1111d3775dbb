"""A pytest plugin that prints when a run reaches each phase (seconds since PHASE_START, an
epoch time the caller sets just before starting pytest) and the process's own CPU seconds by
then (children, such as a server, not counted). Used by benchmarks/phases.py:
``PYTHONPATH=benchmarks PHASE_START=$(date +%s.%N) python -m pytest -p phase_marks ...``."""

from __future__ import annotations

import atexit
import os
import sys
import time

import pytest

START = float(os.environ.get("PHASE_START", time.time()))
MARKS: list[tuple[str, float, float]] = []


def mark(name: str) -> None:
    if name not in (seen for seen, _, _ in MARKS):
        MARKS.append((name, time.time() - START, time.process_time()))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart() -> None:
    mark("session start")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish() -> None:
    mark("collected")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart() -> None:
    mark("first item")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    mark("items done")


def _print() -> None:
    mark("exit")
    shown = (f"{name} {at:.2f} (cpu {cpu:.2f})" for name, at, cpu in MARKS)
    sys.stderr.write("phases: " + " | ".join(shown) + "\n")


atexit.register(_print)
