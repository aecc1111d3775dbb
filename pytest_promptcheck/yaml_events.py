"""The common YAML file built straight from LibYAML's event stream, without a node tree.

Composing nodes costs more than parsing: PyYAML makes a node and resolves its tag through a
Python call for every value, then the constructor walks them all again (a 10,000-case file:
0.24 s to compose and 0.07 s to construct, against 0.11 s for the events alone). A file of
plain scalars, lists and mappings with string keys is built here in one pass, with the same
values and the same lines. Anything else (tags, anchors, merge keys, other keys, a repeated key,
deep nesting, more than one document, a parse error) raises Unusual, and yaml_loader.py reads
the file through its node path, which refuses or builds it exactly as before.
"""

from __future__ import annotations

from typing import Any

import yaml

from pytest_promptcheck.bounds import MAX_DEPTH

PathKey = tuple[str | int, ...]
ShallowLines = dict[PathKey, int]

_STR = "tag:yaml.org,2002:str"
_BUILT = frozenset(f"tag:yaml.org,2002:{kind}" for kind in ("int", "float", "bool", "null"))
"""Tags of plain scalars built here (by PyYAML's own constructors)."""
_MAX_BUILT_CHARS = 64
"""A longer number is left to the node path, which bounds numbers (a 4,300-digit int or a
base-60 one takes quadratic time to convert)."""


class Unusual(Exception):
    """Something this path leaves to the node path."""


class _Mapping:
    """A mapping being filled: its dict, the key waiting for its value (None while a key is
    awaited) and the last key given a value."""

    __slots__ = ("data", "key", "last")

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.key: str | None = None
        self.last = ""


def from_events(loader: Any) -> tuple[Any, ShallowLines]:
    """The document and the lines of the keys of its top two levels (as yaml_loader's
    ``_shallow_lines``), or Unusual. Disposes of ``loader``."""
    try:
        return _document(loader)
    except yaml.YAMLError:
        raise Unusual from None  # the node path raises it again, where it always did
    finally:
        loader.dispose()


def _document(loader: Any) -> tuple[Any, ShallowLines]:
    get = loader.get_event
    get()  # StreamStartEvent
    if isinstance(get(), yaml.StreamEndEvent):
        return None, {}
    builder = _Builder(loader)
    root = builder.build(get)
    if not isinstance(get(), yaml.DocumentEndEvent) or not isinstance(get(), yaml.StreamEndEvent):
        raise Unusual  # a second document: the node path says so
    return root, builder.lines


class _Builder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.resolvers: dict[str, list[tuple[str, Any]]] = loader.yaml_implicit_resolvers
        self.plain: dict[str, Any] = {}
        """Plain scalars' values by their text (a value depends on its text alone)."""
        self.lines: ShallowLines = {}

    def build(self, get: Any) -> Any:
        """The root value: events are read until the root's last one. One loop with few calls,
        since it runs once per event (16 per case of a one-line case list)."""
        stack: list[Any] = []  # the open lists and _Mappings, innermost last
        plain = self.plain
        while True:
            event = get()
            kind = type(event)
            opened: Any = None
            if kind is yaml.ScalarEvent:
                if event.anchor is not None or event.tag is not None:
                    raise Unusual
                value = event.value
                if event.implicit[0]:  # plain, not quoted nor a block
                    value = plain[value] if value in plain else self.plain_value(value)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                if event.anchor is not None or event.tag is not None or len(stack) >= MAX_DEPTH:
                    raise Unusual
                opened = [] if kind is yaml.SequenceStartEvent else _Mapping()
                value = opened if kind is yaml.SequenceStartEvent else opened.data
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                done = stack.pop()
                if not stack:
                    return done if type(done) is list else done.data
                continue
            else:
                raise Unusual  # an alias
            if len(stack) <= 2:
                self.note_line(stack, event)
            if stack:
                parent = stack[-1]
                if type(parent) is list:
                    parent.append(value)
                elif parent.key is not None:
                    parent.data[parent.key] = value
                    parent.last, parent.key = parent.key, None
                elif type(value) is str and opened is None and value not in parent.data:
                    parent.key = value
                else:
                    raise Unusual  # a key that is not a string, or a repeated one
            elif opened is None:
                return value  # the document is one scalar
            if opened is not None:
                stack.append(opened)

    def plain_value(self, text: str) -> Any:
        """A plain scalar's value: a string unless PyYAML's resolver says otherwise."""
        tag = _STR
        for resolved, pattern in self.resolvers.get(text[:1], ()):
            if pattern.match(text):
                tag = resolved
                break
        if tag == _STR:
            value: Any = text
        elif tag in _BUILT and len(text) <= _MAX_BUILT_CHARS:
            try:
                value = self.loader.yaml_constructors[tag](self.loader, yaml.ScalarNode(tag, text))
            except ValueError:  # 0x_, say: the node path says where and why
                raise Unusual from None
        else:
            raise Unusual
        self.plain[text] = value
        return value

    def note_line(self, stack: list[Any], event: Any) -> None:
        """The lines ``_shallow_lines`` gives: the root's, then in a root mapping each key's
        line, and in its values each item's first line or each key's line."""
        line = event.start_mark.line + 1
        if not stack:
            self.lines[()] = line
            return
        top, is_scalar = stack[0], type(event) is yaml.ScalarEvent
        if not isinstance(top, _Mapping):
            return
        if len(stack) == 1:
            if top.key is None and is_scalar:  # a key of the root mapping
                self.lines[(event.value,)] = line
            return
        inner = stack[1]
        if isinstance(inner, list):
            self.lines[(top.last, len(inner))] = line
        elif inner.key is None and is_scalar:
            self.lines[(top.last, event.value)] = line
