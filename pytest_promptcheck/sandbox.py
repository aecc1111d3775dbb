"""A Jinja2 sandbox that bounds the work and the output of every render.

SandboxedEnvironment stops templates from reaching Python internals, not from computing forever:
``{{ 'x' * 10**10 }}``, nested loops over ``range(100000)``, ``lipsum(10**7)`` or a string doubled
through ``namespace()`` exhaust memory or time. Prompt files come from pull requests, so every
render gets a Budget (a hidden context entry, never a module global) that counts operations, loop
iterations and output, with a wall-clock deadline; values that would outgrow the size cap are
refused before they are computed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_CHARS = 1_000_000
"""Per render: output characters; also the size of any one value and any number argument."""
MAX_OPS = 1_000_000
"""Per render: operator, call, filter and loop-iteration steps."""
DEADLINE_S = 1.0
"""Per render: wall-clock time (a backstop; the counts above are the same on every machine)."""
MAX_BUILT = 50 * MAX_CHARS
"""Per render: characters and items of all the values operators, calls and filters build."""
MAX_INT_BITS = 64 * 1024
BUDGET_KEY = "promptcheck budget"  # not an identifier: no template can read or replace it
_LOOP, _SIZED = "promptcheck loop", "promptcheck size"
HINT = "a template should lay out case vars, not compute: move large or computed values into vars"


class LimitExceeded(Exception):
    """A render went past one of the limits; the message names it."""

    def __init__(self, what: str, limit: str) -> None:
        super().__init__(f"template exceeds {what} (limit {limit})")


@dataclass
class Budget:
    deadline: float
    ops: int = 0
    chars: int = 0
    built: int = 0

    def checked(self, value: Any) -> Any:
        """``value`` (see ``checked``), its size counted against what one render may build."""
        self.built += _length(checked(value))
        if self.built > MAX_BUILT:
            raise LimitExceeded("its memory budget", f"{MAX_BUILT:,} characters built per render")
        return value

    def tick(self) -> None:
        self.ops += 1
        if self.ops > MAX_OPS:
            raise LimitExceeded("its work budget", f"{MAX_OPS:,} steps per render")
        if time.monotonic() > self.deadline:
            raise LimitExceeded("its time budget", f"{DEADLINE_S:g} s per render")

    def output(self, chunks: Iterable[str]) -> str:
        """The rendered text, refused as soon as it grows past MAX_CHARS."""
        parts = []
        for chunk in chunks:
            self.chars += len(chunk)
            if self.chars > MAX_CHARS:
                raise LimitExceeded("the rendered-size limit", f"{MAX_CHARS:,} characters")
            self.tick()
            parts.append(chunk)
        return "".join(parts)


def new_budget() -> Budget:
    return Budget(time.monotonic() + DEADLINE_S)


def checked(value: Any) -> Any:
    """``value`` unless it is a string, collection or number larger than the caps."""
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_CHARS:
        raise LimitExceeded("the size limit for one value", f"{MAX_CHARS:,} characters or items")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded("the size limit for a number", f"{MAX_INT_BITS:,} bits")
    return value


def _size_arg(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CHARS:
        raise LimitExceeded("the limit for a width or count", f"{MAX_CHARS:,}")


def _size_args(args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _size_arg(value)


def _refuse_above(size: int) -> None:
    if size > MAX_CHARS:
        raise LimitExceeded("the size limit for one value", f"{MAX_CHARS:,} characters or items")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict | set) else 0


# '%-010.5d', '%(name)*s': the numbers of a %-format; '{:>10}': the spec of a {}-format
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*:([^{}]*)(\{?)")


def _check_format(template: Any, args: Iterable[Any] = ()) -> None:
    """Refuse a format whose widths or precisions, written or passed, exceed MAX_CHARS."""
    if not isinstance(template, str):
        return
    for width, precision in _PERCENT.findall(template):
        for number in (width, precision):
            if number == "*":
                _size_args(args, {})
            elif number:
                _size_arg(int(number))
    for spec, nested in _BRACE_SPEC.findall(template):
        if nested:
            raise LimitExceeded("what formats may do", "no nested {} inside a format spec")
        for number in re.findall(r"\d+", spec):
            _size_arg(int(number))


def _join_size(items: Any, separator: Any) -> int:
    return sum(len(str(item)) for item in items) + _length(separator) * len(items)


def _replace_size(text: Any, old: Any, new: Any) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    count = len(text) + 1 if not old else text.count(old)
    return len(text) + count * max(len(new) - len(old), 0)


def _precheck(name: str, value: Any, args: tuple[Any, ...]) -> None:
    """What the string operations that multiply sizes would build, before they build it."""
    if name == "format":
        _check_format(value, args)
    elif name == "replace" and len(args) >= 2:
        _refuse_above(_replace_size(value, args[0], args[1]))
    elif name == "join" and isinstance(value, list | tuple):
        _refuse_above(_join_size(value, args[0] if args else ""))


def _binop_size(op: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``+`` and ``%`` results that would exceed the caps."""
    ints = isinstance(left, int) and isinstance(right, int)
    if op == "*" and not ints:
        count = right if isinstance(right, int) else left if isinstance(left, int) else 0
        _refuse_above(max(_length(left), _length(right)) * max(count, 0))
    elif op == "*" and ints:
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise LimitExceeded("the size limit for a number", f"{MAX_INT_BITS:,} bits")
    elif op == "**" and ints and right > 0 and abs(left) > 1:
        if left.bit_length() * right > MAX_INT_BITS:
            raise LimitExceeded("the size limit for a number", f"{MAX_INT_BITS:,} bits")
    elif op == "+":
        _refuse_above(_length(left) + _length(right))
    elif op == "%":
        _check_format(left, right if isinstance(right, tuple) else (right,))


def _budget(context: Context) -> Budget:
    budget = context.get(BUDGET_KEY)
    if not isinstance(budget, Budget):
        raise RuntimeError("render through pytest_promptcheck.render.Template.render")
    return budget


class BoundedEnvironment(SandboxedEnvironment):
    """SandboxedEnvironment with the limits above; render with ``BUDGET_KEY`` in the vars."""

    # Intercepting also stops Jinja from folding '7 ** (10 ** 8)' at compile time.
    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        del self.globals["lipsum"]  # unbounded text on request, and nothing a prompt needs
        self.filters = {name: _guarded(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP] = _counted
        self.filters[_SIZED] = _sized

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget(context)
        budget.tick()
        _binop_size(operator, left, right)
        return budget.checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(__context)
        budget.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes | list | dict):
            _method_precheck(owner, getattr(__obj, "__name__", ""), args, kwargs)
        result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        checked(owner)  # list.extend, dict.update: the receiver grows, not the result
        return budget.checked(result)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            _check_format(obj)  # the sandbox hands out a wrapper of str.format, not the method
        return checked(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return checked(super().getitem(obj, argument))

    def bounded(self, ast: nodes.Template) -> nodes.Template:
        """Count every loop iteration and check every ``~`` concatenation against the budget."""
        stack: list[nodes.Node] = [ast]
        while stack:
            node = stack.pop()
            if isinstance(node, nodes.For):
                node.iter = _through(_LOOP, node.iter)
            for field, value in node.iter_fields():
                children = value if isinstance(value, list) else [value]
                for index, child in enumerate(children):
                    if isinstance(child, nodes.Concat):
                        children[index] = _through(_SIZED, child)
                    if isinstance(child, nodes.Node):
                        stack.append(child)
                if not isinstance(value, list):
                    setattr(node, field, children[0])
        return ast


def _through(name: str, node: nodes.Node) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _method_precheck(owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name in ("format", "format_map"):  # numbers passed to a format are values, not widths
        _check_format(owner)
        return
    _size_args(args, kwargs)
    if name == "join" and args:
        _precheck(name, args[0], (owner,))
    else:
        _precheck(name, owner, args)


@jinja2.pass_context
def _counted(context: Context, iterable: Any) -> Iterator[Any]:
    budget = _budget(context)
    for item in iterable:
        budget.tick()
        yield item


@jinja2.pass_context
def _sized(context: Context, value: Any) -> Any:
    budget = _budget(context)
    budget.tick()
    return budget.checked(value)


_PASSED = {
    "context": lambda context: (context,),
    "eval_context": lambda context: (context.eval_ctx,),
    "environment": lambda context: (context.environment,),
}


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` counted against the budget, its sizes checked, whatever it asks to be passed."""
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    passed = _PASSED.get(kind or "", lambda context: ())

    @jinja2.pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(context)
        budget.tick()
        _size_args(args, kwargs)
        if name == "join" and not isinstance(value, str | list | tuple):
            value = [budget.checked(item) for item in value]  # sized before joined
        _precheck(name, value, args)
        return budget.checked(func(*passed(context), value, *args, **kwargs))

    return guarded
