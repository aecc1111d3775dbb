"""Regular expressions from prompt files: Python ``re`` syntax, matched with a time limit.

A pattern such as ``(a|aa)+$`` backtracks exponentially on a short output that does not match;
Python's ``re`` cannot be interrupted, so one sample could hang the run. Patterns are checked by
``re`` (its syntax and its error messages are what users know) and matched by the ``regex``
package, which is compatible with ``re`` in its VERSION0 mode and takes a timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

TIMEOUT_S = 1.0
GAVE_UP = f"gave up after {TIMEOUT_S:g} s (catastrophic backtracking?)"


class RegexGaveUp(Exception):
    """A match ran past TIMEOUT_S; the check that ran it fails with GAVE_UP as its reason."""


@dataclass(frozen=True)
class Pattern:
    pattern: str
    compiled: regex.Pattern[str]

    def search(self, text: str) -> regex.Match[str] | None:
        try:
            return self.compiled.search(text, timeout=TIMEOUT_S)
        except TimeoutError:
            raise RegexGaveUp(GAVE_UP) from None


def compile_pattern(source: str) -> Pattern:
    """Raises ``re.error`` for what Python's ``re`` rejects, or what ``regex`` cannot run."""
    import regex  # here: it takes 8 ms to import, and most prompt files have no pattern

    re.compile(source)  # the syntax users know, with its messages: \p{L} and the like stay errors
    try:
        return Pattern(source, regex.compile(source, regex.VERSION0))
    except regex.error as exc:
        # regex.error has re.error's msg and pos, but its stubs do not say so
        raise re.error(getattr(exc, "msg", str(exc)), source, getattr(exc, "pos", None)) from None
