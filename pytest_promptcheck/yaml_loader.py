"""Safe YAML for files from pull requests: no aliases or anchors, bounded depth, no duplicate keys.

A "billion laughs" of nine lines expands to 10^9 values when anything walks the data (the
fingerprint does), so aliases are found in the event stream and refused, never expanded.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from pytest_promptcheck.bounds import DEPTH_HINT, DEPTH_PROBLEM, MAX_DEPTH
from pytest_promptcheck.json_text import LONG_NUMBER, NUMBER_HINT
from pytest_promptcheck.yaml_events import ShallowLines, Unusual, from_events


class Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML (LibYAML when present) that refuses duplicate keys instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        _check_unique_keys(node)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value YAML's patterns accept but Python cannot build (``0x_``, ``2024-13-45``) is
        an error at its line, not a ValueError from PyYAML's constructor."""
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:
            kind = node.tag.rpartition(":")[2]
            problem = f"{node.value!r} is not a valid {kind} ({exc}); quote it to mean the text"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from None


class YamlRefused(Exception):
    """YAML that is refused: a repeated key, or what could cause unbounded work (aliases, depth)."""

    def __init__(self, problem: str, line: int | None, hint: str) -> None:
        super().__init__(problem)
        self.problem, self.line, self.hint = problem, line, hint


class _DuplicateKey(YamlRefused):
    def __init__(self, key: str, first: int, line: int) -> None:
        hint = "remove one of them; YAML would silently keep only the last"
        super().__init__(f"duplicate key '{key}' (first at line {first})", line, hint)


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{kind}" for kind in ("str", "seq", "map"))
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
MAX_NUMBER_CHARS = 4300
MAX_YAML_CHARS = 8 * 2**20
"""7.6 MB of YAML cases took 11 s and 730 MB of memory to read; 64 MB would take gigabytes."""
# Anything that could be an anchor (&a) or alias (*a) token, which YAML allows only where a
# node starts: at a line's start, after ": ", "- ", "? ", "[", "{", ",", a tag or "---". The
# exact check (a scan of events) is only paid by texts that match; Markdown's **bold** inside
# a line does not.
_MAYBE_ANCHOR = re.compile(
    r"(?:^[ \t]*|[:?-][ \t]+|[\[{,][ \t]*|![^\s]*[ \t]+|^---[ \t]+)[&*][^\s\[\]{},]",
    re.MULTILINE,
)
_ALIAS_HINT = (
    "write the value out in full: aliases and anchors are not allowed in prompt, case and "
    "schema files (a few nested aliases expand to billions of values)"
)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` without aliases or anchors and at most MAX_DEPTH levels deep.

    Raises YamlRefused for those and for a repeated key, yaml.YAMLError for invalid YAML.
    """
    return parse_yaml_lines(text)[0]


def parse_yaml_lines(text: str) -> tuple[Any, ShallowLines]:
    """``parse_yaml``, and the lines of the keys of the top two levels (a case's line) from
    the same node tree: finding them later meant composing the whole file again."""
    if len(text) > MAX_YAML_CHARS:
        raise YamlRefused(
            f"the YAML text is {len(text) / 2**20:.1f} MB, more than the {MAX_YAML_CHARS // 2**20} "
            "MB read as YAML (its node tree takes about 100 bytes of memory per byte)",
            None,
            "split it into several files, or put the cases in a .jsonl file (read line by line)",
        )
    try:
        return _parse_yaml(text)
    except RecursionError:  # only pure-Python PyYAML composes recursively; LibYAML stops at 1000
        raise YamlRefused(DEPTH_PROBLEM, None, DEPTH_HINT) from None


def _refuse_anchors(text: str) -> None:
    """Find aliases in the event stream, so nothing is ever expanded to find them."""
    # 'in' first: it scans 500 KB in microseconds where the pattern takes 24 ms
    if ("&" not in text and "*" not in text) or not _MAYBE_ANCHOR.search(text):
        return
    anchor: YamlRefused | None = None
    for event in yaml.parse(text, Loader=Loader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused(f"YAML alias *{event.anchor} is not allowed", line, _ALIAS_HINT)
        name = getattr(event, "anchor", None)
        if anchor is None and name:
            anchor = YamlRefused(f"YAML anchor &{name} is not allowed", line, _ALIAS_HINT)
    if anchor is not None:  # an anchor without an alias does no harm yet, but invites one
        raise anchor


def _parse_yaml(text: str) -> tuple[Any, ShallowLines]:
    """``yaml.load`` with the same result, several times faster on large files.

    The common file (plain strings, numbers, lists and mappings) is built from LibYAML's event
    stream (yaml_events.py); anything else, and every error, is left to the node path below, so
    what is refused and how stays as it was.
    """
    try:
        return from_events(Loader(text))
    except Unusual:  # anchors and aliases among the rest: refused here, before any expansion
        _refuse_anchors(text)
        return _from_nodes(text)


def _from_nodes(text: str) -> tuple[Any, ShallowLines]:
    """LibYAML composes the node tree in C, but PyYAML's constructor then spends more time than
    that walking it in Python. Plain strings, lists and mappings (the bulk of a case list) are
    built here directly; every other node (ints, dates, merge keys, tags) goes to PyYAML."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        return _construct(loader, node, 0), _shallow_lines(node)
    finally:
        loader.dispose()


def _shallow_lines(root: yaml.Node) -> ShallowLines:
    """The lines documents.py's full line maps give the keys of the top two levels: a key's
    own line in a mapping, an item's first line in a list."""
    lines: ShallowLines = {(): root.start_mark.line + 1}
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key_node, value in root.value:
        key = (str(key_node.value),)
        lines[key] = key_node.start_mark.line + 1
        if isinstance(value, yaml.SequenceNode):
            lines.update(
                {(*key, i): item.start_mark.line + 1 for i, item in enumerate(value.value)}
            )
        elif isinstance(value, yaml.MappingNode):
            lines.update({(*key, str(k.value)): k.start_mark.line + 1 for k, _ in value.value})
    return lines


def _construct(loader: Loader, node: yaml.Node, depth: int) -> Any:
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
        return node.value
    if depth >= MAX_DEPTH and not isinstance(node, yaml.ScalarNode):
        raise YamlRefused(DEPTH_PROBLEM, node.start_mark.line + 1, DEPTH_HINT)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_construct(loader, child, depth + 1) for child in node.value]
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP and _plain_keys(node):
        _check_unique_keys(node)
        return {
            _construct(loader, key, depth + 1): _construct(loader, value, depth + 1)
            for key, value in node.value
        }
    _check_depth(node, depth)
    return loader.construct_object(node, deep=True)


def _check_depth(node: yaml.Node, depth: int) -> None:
    """The depth of a subtree PyYAML builds (recursively, so it is checked first)."""
    stack = [(node, depth)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            _check_number(node)
            continue
        if depth >= MAX_DEPTH:
            raise YamlRefused(DEPTH_PROBLEM, node.start_mark.line + 1, DEPTH_HINT)
        for child in node.value:  # a mapping's items are (key, value) pairs
            parts = child if isinstance(child, tuple) else (child,)
            stack.extend((part, depth + 1) for part in parts)


def _check_number(node: yaml.ScalarNode) -> None:
    """An int longer than Python converts is refused before PyYAML builds it: a base-60 int
    (``1:1:1:...``, YAML 1.1) escapes Python's 4,300-digit limit and takes quadratic time."""
    if node.tag == _INT and len(node.value) > MAX_NUMBER_CHARS:
        raise YamlRefused(LONG_NUMBER, node.start_mark.line + 1, NUMBER_HINT)


def _plain_keys(node: yaml.MappingNode) -> bool:
    """Scalar keys and no merge key (``<<``): the mappings PyYAML builds without surprises."""
    return all(isinstance(key, yaml.ScalarNode) and key.tag != _MERGE for key, _ in node.value)


def _check_unique_keys(node: yaml.MappingNode) -> None:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(key, seen[key], line)
            seen[key] = line
