"""JSONPath (RFC 9535) from prompt files, by ``jsonpath-rfc9535``, with its work bounded.

A path comes from an untrusted prompt file and meets a model's output, so:

- it is compiled at collection time, once per distinct text; a bad one is a CheckArgError with
  the library's message, the column and a hint;
- a regex literal given to ``match()`` / ``search()`` must be an I-Regexp (RFC 9485) at collection
  (the RFC would make it silently false at run time);
- one evaluation has ``TIMEOUT_S`` in all: every node any query or sub-query yields checks the
  deadline, and ``match()`` / ``search()`` run with the time that is left, so neither a
  catastrophic regex nor a path that multiplies nodes (``$..*..*..*``, ``$[0,0,0][0,0,0]...``)
  can hang the run; between two checks the library does at most one pass over the document.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar

import regex
from iregexp_check import check as is_iregexp
from jsonpath_rfc9535 import (
    JSONPathEnvironment,
    JSONPathError,
    JSONPathNode,
    JSONPathQuery,
    Parser,
)
from jsonpath_rfc9535.filter_expressions import (
    Expression,
    FilterExpressionLiteral,
    FilterQuery,
    FunctionExtension,
)
from jsonpath_rfc9535.function_extensions import ExpressionType, FilterFunction

# the library's translation of I-Regexp to the regex package ('.' is any character but \n, \r)
from jsonpath_rfc9535.function_extensions._pattern import map_re
from jsonpath_rfc9535.tokens import Token, TokenStream

from pytest_promptcheck.patterns import TIMEOUT_S

MAX_PATH_CHARS = 1000
SYNTAX = "$.key, $['any key'], [0], [-1], [1:3], [*], ..key, [?@.price < 10]"

_DEADLINE: ContextVar[float] = ContextVar("jsonpath_deadline")
"""When the evaluation running in this context must give up (per call, never run state)."""


class PathStopped(Exception):
    """The evaluation stopped without an answer: the sample cannot be judged."""


class PathGaveUp(PathStopped):
    """The evaluation ran past TIMEOUT_S."""


class BadPath(ValueError):
    """A path the library rejects, or one refused before it could run."""


class _BoundedQuery(JSONPathQuery):
    """A query whose every segment yields through the deadline check."""

    __slots__ = ()

    def finditer(self, value: Any) -> Iterable[JSONPathNode]:
        nodes: Iterable[JSONPathNode] = [
            JSONPathNode(value=value, location=(), parent=None, root=value)
        ]
        for segment in self.segments:
            nodes = _on_time(segment.resolve(nodes))
        return nodes


def _on_time(nodes: Iterable[JSONPathNode]) -> Iterator[JSONPathNode]:
    deadline = _DEADLINE.get()
    for node in nodes:
        if time.monotonic() > deadline:
            raise PathGaveUp(f"gave up after {TIMEOUT_S:g} s (the path is too costly here)")
        yield node


class _BoundedParser(Parser):
    """Queries inside filters are bounded too; regex literals are checked as they are read."""

    def parse_root_query(self, stream: TokenStream) -> Expression:
        return _bounded(super().parse_root_query(stream))

    def parse_relative_query(self, stream: TokenStream) -> Expression:
        return _bounded(super().parse_relative_query(stream))

    def parse_function_extension(self, stream: TokenStream) -> Expression:
        token = stream.current
        expression = super().parse_function_extension(stream)
        if isinstance(expression, FunctionExtension) and expression.name in _REGEX_FUNCTIONS:
            _check_literal_pattern(token, expression)
        return expression


def _bounded(expression: Expression) -> Expression:
    if isinstance(expression, FilterQuery):
        query = expression.query
        expression.query = _BoundedQuery(env=query.env, segments=query.segments)
    return expression


def _check_literal_pattern(token: Token, expression: FunctionExtension) -> None:
    pattern = expression.args[1] if len(expression.args) == 2 else None
    if not isinstance(pattern, FilterExpressionLiteral) or not isinstance(pattern.value, str):
        return  # a pattern read from the document is only known at run time
    if not is_iregexp(pattern.value):
        raise BadPath(
            f"{expression.name}() pattern {pattern.value!r} is not an I-Regexp (RFC 9485)"
            f" at column {token.index + 1}"
        )


class _BoundedRegex(FilterFunction):
    """``match`` (the whole value) or ``search`` (anywhere), with the time that is left."""

    arg_types: ClassVar[list[ExpressionType]] = [ExpressionType.VALUE, ExpressionType.VALUE]
    return_type = ExpressionType.LOGICAL

    def __init__(self, whole: bool) -> None:
        self.whole = whole

    def __call__(self, value: object, pattern: object) -> bool:
        if not isinstance(value, str) or not isinstance(pattern, str):
            return False
        compiled = _iregexp(pattern)
        if compiled is None:  # RFC 9535: a pattern that is not an I-Regexp matches nothing
            return False
        left = max(0.001, _DEADLINE.get() - time.monotonic())
        try:
            if self.whole:
                return compiled.fullmatch(value, timeout=left) is not None
            return compiled.search(value, timeout=left) is not None
        except TimeoutError:
            raise PathGaveUp(
                f"gave up after {TIMEOUT_S:g} s (catastrophic backtracking?)"
            ) from None


_REGEX_FUNCTIONS = ("match", "search")


@lru_cache(maxsize=256)
def _iregexp(pattern: str) -> regex.Pattern[str] | None:
    if not is_iregexp(pattern):
        return None
    try:
        return regex.compile(map_re(pattern), regex.VERSION1)
    except regex.error:
        return None


class _Environment(JSONPathEnvironment):
    parser_class = _BoundedParser

    def setup_function_extensions(self) -> None:
        super().setup_function_extensions()
        for name in _REGEX_FUNCTIONS:
            self.function_extensions[name] = _BoundedRegex(whole=name == "match")


_ENVIRONMENT = _Environment()  # holds the function table only: shared like re's cache


@lru_cache(maxsize=1024)
def compile_path(text: str) -> JSONPathQuery:
    """A compiled path; raises BadPath with a readable message (memoised: a path written in
    every case is compiled once)."""
    source = text.strip()
    if len(source) > MAX_PATH_CHARS:
        raise BadPath(f"JSON path is {len(source)} characters long, over {MAX_PATH_CHARS}")
    try:
        query = _ENVIRONMENT.compile(source)
    except JSONPathError as exc:
        raise BadPath(f"invalid JSON path {source!r}: {_message(exc)}") from None
    except BadPath as exc:
        raise BadPath(f"invalid JSON path {source!r}: {exc}") from None
    except RecursionError:
        problem = "brackets or parentheses nest too deeply"
        raise BadPath(f"invalid JSON path {source[:40]!r}...: {problem}") from None
    return _BoundedQuery(env=query.env, segments=query.segments)


def _message(exc: JSONPathError) -> str:
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    token = getattr(exc, "token", None)
    return f"{message} at column {token.index + 1}" if token is not None else message


def find(query: JSONPathQuery, document: Any) -> list[Any]:
    """The values the path selects, in document order; raises PathStopped past the time limit
    or when the document defeats the path (nested deeper than descent may go)."""
    reset = _DEADLINE.set(time.monotonic() + TIMEOUT_S)
    try:
        return [node.value for node in query.finditer(document)]
    except JSONPathError as exc:
        raise PathStopped(_message(exc)) from None
    finally:
        _DEADLINE.reset(reset)
