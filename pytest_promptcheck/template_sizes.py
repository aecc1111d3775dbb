"""Sizes in a template: what a value holds, and what an operation would build before it builds it.

The operations whose result is a product of their inputs' sizes are checked before they run:
``*``, ``**``, ``+`` and ``%``; formats (``%``, the ``format`` filter, ``str.format``: all fields
with the largest argument); ``~`` (its operands, as a tuple); ``tojson`` with an indent; ``join``,
``replace``, ``indent``, ``wordwrap``, ``urlize``, ``sum``, ``str.expandtabs`` and
``str.translate``. Every other operation is bounded by its inputs, and every value an operation
builds is checked after (``checked``), so no value a template holds exceeds MAX_CHARS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

MAX_CHARS = 1_000_000
"""Per render: output characters; also the size of any one value and any width or count."""
MAX_INT_BITS = 64 * 1024
_TEXT = (str, bytes)
_COLLECTIONS = (list, tuple, dict, set, frozenset)


class LimitExceeded(Exception):
    """A render went past one of the limits; the message names it."""

    def __init__(self, what: str, limit: str) -> None:
        super().__init__(f"template exceeds {what} (limit {limit})")


def size(value: Any) -> int:
    """Characters of text; items of a collection counted through nesting and through every
    reference (``[b] * 1000`` where ``b`` holds 1000 lists holds a million), up to MAX_CHARS + 1.
    """
    if isinstance(value, _TEXT):
        return len(value)
    total, stack = 0, [value] if isinstance(value, _COLLECTIONS) else []
    while stack and total <= MAX_CHARS:
        item = stack.pop()
        if isinstance(item, _TEXT):
            total += len(item)
        elif isinstance(item, _COLLECTIONS):
            total += len(item)
            stack.extend((*item.keys(), *item.values()) if isinstance(item, dict) else item)
    return total


def refuse_above(built: int) -> None:
    if built > MAX_CHARS:
        raise LimitExceeded("the size limit for one value", f"{MAX_CHARS:,} characters or items")


def checked(value: Any) -> Any:
    """``value`` unless it is text, a collection or a number larger than the caps."""
    refuse_above(size(value))
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded("the size limit for a number", f"{MAX_INT_BITS:,} bits")
    return value


def size_args(args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a number argument above MAX_CHARS: a width or count that large builds too much."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CHARS:
            raise LimitExceeded("the limit for a width or count", f"{MAX_CHARS:,}")


# '%-010.5d', '%(name)*s': the numbers of a %-format; '{:>10}': the spec of a {}-format
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)(\{?)")


def check_format(
    template: Any, args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None
) -> None:
    """Refuse a format whose widths or precisions, written or passed with ``*``, are too large,
    or whose fields together would build too much: every field may take the largest argument
    ('{0}' * 2000 on a long text) and its width."""
    if not isinstance(template, str):
        return
    values = (*args, *(kwargs or {}).values())
    widths: list[int] = []
    percent = _PERCENT.findall(template)
    for width, precision in percent:
        if "*" in (width, precision):
            size_args(values, {})
        widths += (int(number) for number in (width, precision) if number.isdigit())
    brace = _BRACE_SPEC.findall(template)
    for spec, nested in brace:
        if nested:
            raise LimitExceeded("what a format may do", "no {} nested inside a format spec")
        widths += (int(number) for number in re.findall(r"\d+", spec))
    size_args(widths, {})
    fields = len(percent) + template.count("{")
    largest = max((size(value) for value in values), default=0)
    refuse_above(len(template) + sum(widths) + fields * largest)


def binop(op: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``+`` and ``%`` results that would exceed the caps."""
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "*" and not ints:
        count = right if isinstance(right, int) else left if isinstance(left, int) else 0
        refuse_above(max(size(left), size(right)) * max(count, 0))
    elif op == "*" or (op == "**" and ints and right > 0 and abs(left) > 1):
        bits = left.bit_length() + right.bit_length() if op == "*" else left.bit_length() * right
        if ints and bits > MAX_INT_BITS:
            raise LimitExceeded("the size limit for a number", f"{MAX_INT_BITS:,} bits")
    elif op == "+":
        refuse_above(size(left) + size(right))
    elif op == "%":
        check_format(left, right if isinstance(right, tuple) else (right,))


def before(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse filter ``name`` (or the text method of that name) on ``value`` if it builds too much.

    Numbers passed to a format are values, not widths; every other number argument is bounded.
    """
    if name in ("format", "format_map"):
        check_format(value, args, kwargs)
        return
    size_args(args, kwargs)
    estimate = _ESTIMATES.get(name)
    if estimate is not None:
        refuse_above(estimate(value, *args, **kwargs))


def _join(items: Any, separator: Any = "", *_: Any, **__: Any) -> int:
    if not isinstance(items, list | tuple):
        return 0  # the join filter lists a generator's items first, each of them checked
    return sum(size(item) or 8 for item in items) + size(separator) * len(items)


def _replace(text: Any, old: Any = "", new: Any = "", *_: Any, **__: Any) -> int:
    if not all(isinstance(part, _TEXT) for part in (text, old, new)):
        return 0
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * max(len(new) - len(old), 0)


def _indent(text: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    lines = text.count("\n") + 1 if isinstance(text, str) else 0
    return size(text) + lines * (size(width) if isinstance(width, str) else width)


def _wordwrap(
    text: Any, width: int = 79, _break: Any = True, wrapstring: Any = None, *_: Any, **__: Any
) -> int:
    if not isinstance(text, str):
        return 0
    lines = len(text) // max(width, 1) + text.count("\n") + 1
    return len(text) + lines * (size(wrapstring) if wrapstring else 1)


def _expandtabs(text: Any, tabsize: int = 8, *_: Any, **__: Any) -> int:
    return size(text) + (text.count("\t") * max(tabsize, 0) if isinstance(text, str) else 0)


def _translate(text: Any, table: Any = None, *_: Any, **__: Any) -> int:
    longest = max((size(v) for v in table.values()), default=1) if isinstance(table, dict) else 1
    return size(text) * max(longest, 1)


def _urlize(text: Any, *args: Any, **kwargs: Any) -> int:
    inserted = sum(size(part) for part in (*args, *kwargs.values()) if isinstance(part, str))
    return size(text) * (1 + inserted)


def _sum(items: Any, _attribute: Any = None, start: Any = 0, *_: Any, **__: Any) -> int:
    # Adding lists copies the total so far at every step: the work is items x total size.
    if isinstance(start, int | float) or not isinstance(items, list | tuple):
        return 0
    return len(items) * sum(size(item) for item in items)


def _tojson(value: Any, indent: Any = None, *_: Any, **__: Any) -> int:
    # every item on a line of its own, indented by its depth
    if not isinstance(indent, int) or isinstance(indent, bool) or indent <= 0:
        return size(value)
    return (size(value) + 1) * (8 + indent * _depth(value))


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level and depth <= 1000:  # past the file's own limit of 100; a cycle stops here
        level = [
            child
            for item in level
            if isinstance(item, _COLLECTIONS)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        depth += 1
    return depth


_ESTIMATES: dict[str, Callable[..., int]] = {
    "tojson": _tojson,
    "join": _join,
    "replace": _replace,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "expandtabs": _expandtabs,
    "translate": _translate,
    "urlize": _urlize,
    "sum": _sum,
}
