"""The collector skips what a run keeps (heap.py), and the process gets it back unchanged."""

from __future__ import annotations

import gc
import sys

import pytest

from tests.loopback import LoopbackServer
from tests.plugin.support import SUPPORT_ITEMS, serve_support_bot

# Runs after the prompt items (pytest collects test_*.py after *.prompt.yaml in a folder).
PROBE = """
import gc
import sys
import weakref


class Cycle:
    pass


def test_the_run_keeps_its_heap_frozen():
    assert gc.get_freeze_count() > 0


def test_a_cycle_made_during_the_run_is_still_collected():
    cycle = Cycle()
    cycle.me = cycle
    gone = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert gone() is None
"""


@pytest.fixture
def support(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("support")
    serve_support_bot(openai_env)
    return openai_env


def test_a_run_freezes_its_heap_and_gives_the_collector_back_as_it_was(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    pytester.makepyfile(test_probe=PROBE)
    thresholds = gc.get_threshold()
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=SUPPORT_ITEMS + 2)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds


def test_a_heap_frozen_by_the_caller_stays_as_the_caller_left_it(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    gc.freeze()
    try:
        thresholds = gc.get_threshold()
        result = pytester.runpytest_inprocess()
        result.assert_outcomes(passed=SUPPORT_ITEMS)
        assert gc.get_freeze_count() > 0  # not unfrozen by the run
        assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()


EXIT_PROBE = """
import atexit, gc, sys
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider"])
print("after the run:", gc.get_freeze_count())
atexit._run_exitfuncs()  # what the interpreter runs at exit, before its last collection
print("at exit:", gc.get_freeze_count())
sys.exit(code)
"""


def test_the_heap_is_frozen_again_at_exit_so_the_last_collection_skips_it(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    result = pytester.run(sys.executable, "-c", EXIT_PROBE)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["after the run: 0", "at exit: *"])
    frozen_at_exit = int(result.stdout.lines[-1].rsplit(" ", 1)[1])
    assert frozen_at_exit > 0
