"""One updating line during the call phase (plain lines when the output is not a terminal)."""

from __future__ import annotations

import time
from collections.abc import Callable

from pytest_promptcheck.client import CallStats


class Progress:
    def __init__(
        self,
        stats: CallStats,
        write_line: Callable[[str], None],
        rewrite: Callable[[str], None] | None,
    ) -> None:
        self._stats = stats
        self._write_line = write_line
        self._rewrite = rewrite
        self._interval_s = 0.1 if rewrite else 2.0
        self._last = 0.0
        self._closed = False

    def text(self) -> str:
        s = self._stats
        return (
            f"promptcheck calls: {s.done}/{s.total} done, {s.cached} cached, {s.live} live, "
            f"{s.retried} retried, {s.errors} errors"
        )

    def close(self) -> None:
        """End the line with the final counts; calls still in flight go on quietly while the
        items run. Only closing ends it: calls that checks make about an output are known
        only once that output exists, so everything done so far need not be everything."""
        if self._closed:
            return
        self._closed = True
        s = self._stats
        text = self.text()
        if s.done < s.total:
            text += f"; the other {s.total - s.done} are in flight as the items start"
        if self._rewrite is not None:
            self._rewrite(text)
            self._write_line("")
        else:
            self._write_line(text)

    def update(self) -> None:
        if self._closed:
            return
        now = time.monotonic()
        if now - self._last < self._interval_s:
            return
        self._last = now
        if self._rewrite is not None:
            self._rewrite(self.text())
        else:
            self._write_line(self.text())
