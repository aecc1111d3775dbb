"""A Jinja2 sandbox that bounds the work and the output of every render.

SandboxedEnvironment stops templates from reaching Python internals, not from computing forever:
``{{ 'x' * 10**10 }}``, nested loops over ``range(100000)``, ``lipsum(10**7)`` or a string doubled
through ``namespace()`` exhaust memory or time. Prompt files come from pull requests, so every
render gets a Budget (a hidden context entry, never a module global) that counts operations, loop
iterations and output against limits, with a wall-clock deadline; template_sizes.py refuses values
that would outgrow the size cap before they are built.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, modifies_known_mutable

from pytest_promptcheck import template_sizes as sizes
from pytest_promptcheck.template_sizes import MAX_CHARS, LimitExceeded

MAX_OPS = 1_000_000
"""Per render: operator, call, filter and loop-iteration steps."""
DEADLINE_S = 1.0
"""Per render: wall-clock time (a backstop; the counts are the same on every machine)."""
MAX_BUILT = 50 * MAX_CHARS
"""Per render: characters and items of all the values operators, calls and filters build."""
BUDGET_KEY = "promptcheck budget"  # not an identifier: no template can read or replace it
_LOOP, _SIZED, _JOINED = "promptcheck loop", "promptcheck size", "promptcheck join"
_MATERIALIZED = ("join", "sum")  # filters that would build from a generator unseen
HINT = "a template should lay out case vars, not compute: move large or computed values into vars"

__all__ = ["BUDGET_KEY", "HINT", "BoundedEnvironment", "LimitExceeded", "new_budget"]


@dataclass
class Budget:
    deadline: float
    ops: int = 0
    chars: int = 0
    built: int = 0

    def tick(self) -> None:
        self.ops += 1
        if self.ops > MAX_OPS:
            raise LimitExceeded("its work budget", f"{MAX_OPS:,} steps per render")
        if time.monotonic() > self.deadline:
            raise LimitExceeded("its time budget", f"{DEADLINE_S:g} s per render")

    def built_value(self, value: Any) -> Any:
        """A value an operation built: checked, and counted against what one render may build."""
        self.built += sizes.size(sizes.checked(value))
        if self.built > MAX_BUILT:
            raise LimitExceeded("its memory budget", f"{MAX_BUILT:,} characters built per render")
        return value

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


def _budget(context: Context) -> Budget:
    budget = context.get(BUDGET_KEY)
    if not isinstance(budget, Budget):
        raise RuntimeError("render through pytest_promptcheck.render.Template.render")
    return budget


def _listed(budget: Budget, items: Any) -> list[Any]:
    """A generator's items, each counted and checked, before something builds from all of them."""
    listed = []
    for item in items:
        budget.tick()
        listed.append(budget.built_value(item))
    return listed


class BoundedEnvironment(SandboxedEnvironment):
    """SandboxedEnvironment with bounded renders; compile ``bounded(parse(...))`` and render
    through ``render.Template``, which puts a fresh Budget under BUDGET_KEY."""

    # Intercepting also stops Jinja from folding '7 ** (10 ** 8)' at compile time.
    intercepted_binops = frozenset(["*", "**", "+", "%"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        del self.globals["lipsum"]  # unbounded text on request, and nothing a prompt needs
        self.filters = {name: _guarded(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP] = _counted
        self.filters[_SIZED] = _sized
        self.filters[_JOINED] = _joined

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget(context)
        budget.tick()
        sizes.binop(operator, left, right)
        return budget.built_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(__context)
        budget.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args and not isinstance(args[0], list | tuple):
                args = (_listed(budget, args[0]), *args[1:])
            value, rest = (args[0], (owner,)) if name == "join" and args else (owner, args)
            sizes.before(name, value, rest, kwargs)
        elif owner is not None:
            sizes.size_args(args, kwargs)
        result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        if modifies_known_mutable(owner, getattr(__obj, "__name__", "")):
            sizes.checked(owner)  # list.extend, dict.update: the receiver grows, not the result
        return budget.built_value(result)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """The sandbox hands out a wrapper of ``str.format``/``format_map``: it is sized here,
        with its arguments, since every field may take the largest of them."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def sized(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map" and args and isinstance(args[0], dict):
                sizes.check_format(template, (), args[0])
            else:
                sizes.check_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return sized

    def bounded(self, ast: nodes.Template) -> nodes.Template:
        """Count every loop iteration; check every ``~`` and every list, tuple or dict literal."""
        stack: list[nodes.Node] = [ast]
        while stack:
            node = stack.pop()
            if isinstance(node, nodes.For):
                node.iter = _through(_LOOP, node.iter)
            for field, value in node.iter_fields():
                children = value if isinstance(value, list) else [value]
                for index, child in enumerate(children):
                    if isinstance(child, nodes.Concat):
                        # a ~ b ~ ...: its operands, sized as a tuple, are joined only after
                        operands = nodes.Tuple(child.nodes, "load", lineno=child.lineno)
                        children[index] = _through(_JOINED, _through(_SIZED, operands))
                        stack.append(operands)
                        continue
                    if _builds(child):
                        children[index] = _through(_SIZED, child)
                    if isinstance(child, nodes.Node):
                        stack.append(child)
                if not isinstance(value, list):
                    setattr(node, field, children[0])
        return ast


def _builds(node: Any) -> bool:
    """A node that builds a value without calling anything the environment intercepts."""
    if isinstance(node, nodes.Tuple):
        return node.ctx == "load"  # not the target of {% for a, b in ... %}
    return isinstance(node, nodes.List | nodes.Dict)


def _through(name: str, node: nodes.Node) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


@jinja2.pass_context
def _counted(context: Context, iterable: Any) -> Iterator[Any]:
    budget = _budget(context)
    for item in iterable:
        budget.tick()
        yield item


def _joined(operands: tuple[Any, ...]) -> str:
    """``~``: each operand as text, after their total was sized (as the tuple)."""
    return "".join(str(operand) for operand in operands)


@jinja2.pass_context
def _sized(context: Context, value: Any) -> Any:
    budget = _budget(context)
    budget.tick()
    return budget.built_value(value)


_PASSED: dict[str, Callable[[Context], tuple[Any, ...]]] = {
    "context": lambda context: (context,),
    "eval_context": lambda context: (context.eval_ctx,),
    "environment": lambda context: (context.environment,),
}


def _nothing(context: Context) -> tuple[Any, ...]:
    return ()


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` counted against the budget, its sizes checked, whatever it asks to be passed."""
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)
    passed = _PASSED.get(kind or "", _nothing)

    @jinja2.pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget(context)
        budget.tick()
        if name in _MATERIALIZED and not isinstance(value, str | list | tuple):
            value = _listed(budget, value)
        sizes.before(name, value, args, kwargs)
        return budget.built_value(func(*passed(context), value, *args, **kwargs))

    return guarded
