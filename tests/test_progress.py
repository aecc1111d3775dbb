"""The call-phase progress line: rewritten in place on a terminal, plain lines elsewhere."""

from __future__ import annotations

from pytest_promptcheck.client import CallStats
from pytest_promptcheck.progress import Progress


def test_text_counts_every_kind_of_call() -> None:
    stats = CallStats(total=10, done=4, live=3, cached=1, retried=2, errors=0)
    progress = Progress(stats, print, None)
    assert progress.text() == (
        "promptcheck calls: 4/10 done, 1 cached, 3 live, 2 retried, 0 errors"
    )


def test_on_a_terminal_the_line_is_rewritten_and_ends_with_a_newline() -> None:
    stats = CallStats(total=2)
    rewritten: list[str] = []
    lines: list[str] = []
    progress = Progress(stats, lines.append, rewritten.append)
    progress.update()
    stats.done = 2
    progress.close()
    assert rewritten[-1].startswith("promptcheck calls: 2/2 done")
    assert lines == [""]


def test_updates_are_throttled_until_the_end() -> None:
    stats = CallStats(total=100)
    lines: list[str] = []
    progress = Progress(stats, lines.append, None)
    for done in range(1, 100):
        stats.done = done
        progress.update()
    stats.done = 100
    progress.close()
    assert len(lines) == 2  # the first update, then the finished line
    assert lines[-1].startswith("promptcheck calls: 100/100 done")


def test_the_line_ends_only_when_closed_as_checks_may_add_calls_later() -> None:
    stats = CallStats(total=2, done=2)  # every call known so far is done ...
    rewritten: list[str] = []
    lines: list[str] = []
    progress = Progress(stats, lines.append, rewritten.append)
    progress.update()
    assert lines == []  # ... but a check may still ask a model about an output
    stats.total = 3
    progress.close()
    assert rewritten[-1].endswith("the other 1 are in flight as the items start")
    assert lines == [""]
