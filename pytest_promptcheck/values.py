"""What a value in a prompt or case file may be: JSON data that can be compared and sent.

YAML and TOML can say more than JSON (NaN, infinity, dates, sets, bytes, keys that are numbers
or booleans, and YAML strings with lone surrogates); each of those broke something later: a NaN
threshold fails every sample silently, a date in ``params`` cannot be encoded (the traceback
showed the request headers), a lone surrogate cannot be encoded as UTF-8, mixed key types
cannot be sorted into a fingerprint. So every value is checked once, when the file is loaded.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.documents import PathKey

_FLOAT_LIMIT = 2**1024  # the smallest integer that float() cannot hold
_SURROGATE = re.compile("[\ud800-\udfff]")
_QUOTE_IT = "to mean the text, quote it"


@dataclass(frozen=True)
class ValueProblem:
    path: PathKey
    message: str
    hint: str


def value_problem(value: Any, path: PathKey = ()) -> ValueProblem | None:
    """The first value in ``value`` (depth first) that is not plain JSON data."""
    if isinstance(value, dict):
        for name in value:
            if type(name) is not str:
                return ValueProblem(
                    path,
                    f"has a key that is not a string ({name!r})",
                    f"quote the key ('{name}': ...); YAML reads 1, yes, on, ~ unquoted as others",
                )
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return _leaf_problem(value, path)
    for name, item in items:
        kind = type(item)  # the common leaves are passed here, without a call (10k cases)
        if kind is str and (item.isascii() or _SURROGATE.search(item) is None):
            continue
        if kind is bool or item is None or (kind is int and -_FLOAT_LIMIT < item < _FLOAT_LIMIT):
            continue
        found = value_problem(item, (*path, name))
        if found is not None:
            return found
    return None


def _leaf_problem(value: Any, path: PathKey) -> ValueProblem | None:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return None
        return ValueProblem(
            path,
            f"is not a finite number ({value})",
            f"numbers must be finite: NaN and infinity cannot be compared or sent; {_QUOTE_IT}",
        )
    if kind is int:
        if -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
            return None
        return ValueProblem(path, "is too large a number", f"numbers must fit a float; {_QUOTE_IT}")
    if kind is str:
        found = _SURROGATE.search(value)
        if found is None:
            return None
        return ValueProblem(
            path,
            f"holds a lone surrogate ({found.group()!r}), which is not Unicode text",
            "write the character itself, or both halves of its surrogate pair",
        )
    if kind is bool or value is None:
        return None
    shown = str(value) if len(str(value)) <= 40 else str(value)[:39] + "…"
    return ValueProblem(
        path,
        f"is {_KINDS.get(kind.__name__, 'a ' + kind.__name__)} ({shown}), not a string, number,"
        " true/false, list or mapping",
        f"values are JSON data; {_QUOTE_IT} (e.g. '2024-01-02')",
    )


_KINDS = {
    "date": "a date",
    "datetime": "a date and time",
    "time": "a time of day",
    "bytes": "binary data",
    "set": "a set",
    "tuple": "a list of pairs",
}
