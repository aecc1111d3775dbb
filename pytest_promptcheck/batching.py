"""Writes of finished calls, committed together soon after, not one transaction per call.

At 10,000 calls a commit per answer (and another per released claim) cost the event loop
a third of a millisecond each and a wait on the disk. Answers are read from memory by the
items, so only other processes (waiting on a claim) see the writes, and only a little later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

FLUSH_S = 0.05
"""How long a finished call's writes may wait for others to join them."""
FLUSH_AT = 500
"""A batch this large is written at once."""


class Batch:
    """Schedules ``flush`` on the running loop once writes are pending; ``flush`` itself runs
    the writes (and is called directly when the run closes, so nothing pending is lost)."""

    def __init__(self, write: Callable[[], None]) -> None:
        self._write = write
        self._pending = 0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def soon(self) -> None:
        self._pending += 1
        loop = asyncio.get_running_loop()
        if self._pending == FLUSH_AT:
            loop.call_soon(self.flush)
        elif self._timer is None or self._loop is not loop:  # a timer of an ended loop never runs
            self._timer, self._loop = loop.call_later(FLUSH_S, self.flush), loop

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = 0
        self._write()
