"""Keep the cyclic garbage collector off what a large run builds to keep.

A run of 10,000 cases holds millions of objects (modules, items, specs, requests, baselines)
that live until the run ends. CPython walks all of them in every full collection, and starts
one each time the heap has grown by a quarter, so collection, the call phase and the items
paid again and again for objects that can never be garbage (a third of a 10,000-case replay's
CPU time: benchmarks/README.md). ``gc.freeze()`` moves what exists to a permanent generation
that collections skip: done once the first prompt file is found (the modules are loaded) and
again after collection. What the run makes later is still collected, less often.

The interpreter's exit ends with one full collection over whatever is still alive, which after
a large run is all of it (1.3-1.5 s after a 10,000-case replay on a 2-core Xeon): everything is
frozen again at exit, so that collection finds nothing to walk; the process is ending, and what
it holds goes with it.
"""

from __future__ import annotations

import atexit
import gc

import pytest

_YOUNG_THRESHOLD = 20_000
"""Allocations between young collections (CPython's default: 700). Most of what collection
and the items make survives (items, specs, reports, records), so a low threshold only walks
them through young collections that free nothing."""

_FROZEN = pytest.StashKey[tuple[int, int, int]]()
"""The thresholds to restore, once this run has frozen the heap."""
_THAWS = pytest.StashKey[bool]()
"""Set once the thaw is registered: only a run that will thaw may freeze."""


def thaw_at_the_end(config: pytest.Config) -> None:
    """Register the thaw before any plugin is configured: cleanups run last-in first-out, so
    it runs after pytest's own (whose garbage collection then still skips the frozen heap)."""
    config.stash[_THAWS] = True
    config.add_cleanup(lambda: _thaw(config))


def freeze_heap(config: pytest.Config) -> None:
    """Freeze what exists now; undone when the run's config is cleaned up (after pytest's own
    last collection), so that a run inside another process (pytester) leaves nothing frozen
    there."""
    if _THAWS not in config.stash:
        return
    if _FROZEN not in config.stash:
        if gc.get_freeze_count():  # frozen by whoever runs us: theirs to undo
            return
        config.stash[_FROZEN] = gc.get_threshold()
        atexit.unregister(gc.freeze)  # once per process, however many runs it holds (pytester)
        atexit.register(gc.freeze)
        young, *older = gc.get_threshold()
        gc.set_threshold(max(young, _YOUNG_THRESHOLD), *older)
    gc.collect()  # what is garbage now would stay in memory, frozen, until the run ends
    gc.freeze()


def _thaw(config: pytest.Config) -> None:
    thresholds = config.stash.get(_FROZEN, None)
    if thresholds is not None:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
