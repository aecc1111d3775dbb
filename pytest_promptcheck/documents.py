"""Parse YAML, JSON and TOML documents and remember the line of every key and item.

Line maps let validation errors point at ``file:line`` whatever the format.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_promptcheck.bounds import (
    DEPTH_HINT,
    DEPTH_PROBLEM,
    json_hint,
    too_deep,
)
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.json_text import (
    DUPLICATE_HINT,
    LONG_NUMBER,
    NUMBER_HINT,
    DuplicateJsonKey,
    duplicate_key_line,
    json_error,
    lone_surrogate_line,
    long_number_line,
    parse_json,
)
from pytest_promptcheck.text_files import read_text
from pytest_promptcheck.yaml_loader import (
    MAX_YAML_CHARS,
    Loader,
    YamlRefused,
    parse_yaml_lines,
)

PathKey = tuple[str | int, ...]


LineMaps = tuple[dict[PathKey, int], dict[PathKey, int]]


@dataclass
class Document:
    """Parsed data, and the 1-based line of each path inside it, worked out when first asked.

    Line maps cost more than parsing (PyYAML builds a node per value), and only errors need
    them, so large files pay for them only when something is wrong.
    """

    path: Path
    data: Any
    eager_lines: dict[PathKey, int] = field(default_factory=dict)
    text: str = ""
    line_maps: Callable[[], LineMaps] | None = None
    _maps: LineMaps | None = None
    known_lines: dict[PathKey, int] = field(default_factory=dict)
    """Lines known from the parse itself (a case's), answered without the line maps."""

    def _computed(self) -> LineMaps:
        if self._maps is None:
            self._maps = self.line_maps() if self.line_maps else (self.eager_lines, {})
        return self._maps

    @property
    def lines(self) -> dict[PathKey, int]:
        return self._computed()[0]

    def content_lines_map(self) -> dict[PathKey, int]:
        return self._computed()[1]

    def content_line_of(self, key: PathKey) -> int | None:
        """The line of a string value's first character of text (below a YAML | or >)."""
        return self._computed()[1].get(key) or self.line_of(key)

    def line_of(self, key: PathKey) -> int | None:
        """The line of ``key``, or of its nearest ancestor that has one."""
        known = self.known_lines.get(key)
        if known is not None:
            return known
        lines = self.lines
        for end in range(len(key), -1, -1):
            line = lines.get(key[:end])
            if line is not None:
                return line
        return None


def load_document(path: Path) -> Document:
    """Parse a prompt file or case file by its suffix."""
    text = read_text(path)
    suffix = path.suffix.lower()
    loaders = {".yaml": _load_yaml, ".yml": _load_yaml, ".json": _load_json, ".toml": _load_toml}
    if suffix not in loaders:
        raise SpecError(
            path, f"unsupported file type '{suffix}'", hint="use .yaml, .yml, .json or .toml"
        )
    try:
        return loaders[suffix](path, text)
    except ValueError as exc:  # int() of a literal longer than Python converts (YAML, TOML)
        if "integer string conversion" not in str(exc):
            raise
        raise SpecError(path, LONG_NUMBER, line=long_number_line(text), hint=NUMBER_HINT) from None


def _load_yaml(path: Path, text: str) -> Document:
    try:
        data, known = parse_yaml_lines(text)
    except YamlRefused as refused:
        raise SpecError(path, refused.problem, line=refused.line, hint=refused.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            path, f"invalid YAML: {problem}", line=line, hint=_yaml_hint(problem)
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(path, f"invalid YAML: {exc}") from None
    return Document(
        path, data, text=text, line_maps=lambda: _yaml_line_maps(text), known_lines=known
    )


def _yaml_line_maps(text: str) -> LineMaps:
    lines: dict[PathKey, int] = {}
    content: dict[PathKey, int] = {}
    if len(text) > MAX_YAML_CHARS:  # a large JSON file's error names the file, not the line
        return lines, content
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.YAMLError:
        return lines, content
    if node is not None:
        _walk_yaml(node, (), lines, content)
    return lines, content


def _yaml_hint(problem: str) -> str:
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values" in problem:
        return "quote values that contain ': ' (e.g. \"a: b\")"
    return "check the indentation and quoting around this line"


def _walk_yaml(
    node: yaml.Node, key: PathKey, lines: dict[PathKey, int], content: dict[PathKey, int]
) -> None:
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        content[key] = node.start_mark.line + 2  # the text starts below the indicator
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _walk_yaml(value_node, (*key, str(key_node.value)), lines, content)
            lines[(*key, str(key_node.value))] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_yaml(item, (*key, index), lines, content)


_JSON_HINT = "check for a missing comma, quote or bracket near this line"


def _load_json(path: Path, text: str) -> Document:
    try:
        data = parse_json(text)
    except DuplicateJsonKey as dup:
        line = duplicate_key_line(text)
        raise SpecError(
            path, f"duplicate key '{dup.key}'", line=line, hint=DUPLICATE_HINT
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        if isinstance(exc, json.JSONDecodeError):
            line, hint = exc.lineno, json_hint(exc, _JSON_HINT)
        else:
            line, hint = long_number_line(text), NUMBER_HINT
        raise SpecError(path, json_error(exc), line=line, hint=hint) from None
    surrogate = lone_surrogate_line(text)
    if surrogate is not None:  # YAML cannot read it, so the line maps below would be empty
        raise SpecError(
            path,
            "a string holds a lone surrogate escape, which is not Unicode text",
            line=surrogate,
            hint="write the character itself, or both halves of its surrogate pair",
        )
    # JSON is (nearly always) YAML, which gives line numbers for free
    return Document(path, data, text=text, line_maps=lambda: _yaml_line_maps(text))


_TOML_LINE = re.compile(r"at line (\d+), column (\d+)")


def _load_toml(path: Path, text: str) -> Document:
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise SpecError(path, DEPTH_PROBLEM, hint=DEPTH_HINT) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE.search(message)
        line = int(match.group(1)) if match else None
        message = _TOML_LINE.sub("", message).strip(" ()")
        raise SpecError(
            path,
            f"invalid TOML: {message}",
            line=line,
            hint="check quoting and table headers near this line",
        ) from None
    lines = _toml_lines(text, data)
    deep = too_deep(data)
    if deep is not None:
        document = Document(path, data, lines, text)
        raise SpecError(path, DEPTH_PROBLEM, line=document.line_of(deep), hint=DEPTH_HINT)
    return Document(path, data, lines, text)


def _toml_lines(text: str, data: Any) -> dict[PathKey, int]:
    """Approximate: the first line defining each top-level key, and each [[cases]] table."""
    lines: dict[PathKey, int] = {}
    case_index = -1
    open_string: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        inside = open_string is not None
        open_string = _open_multiline_string(raw, open_string)
        if inside:
            continue
        stripped = raw.strip()
        if stripped.startswith("[[cases]]"):
            case_index += 1
            lines.setdefault(("cases", case_index), number)
            continue
        match = re.match(r"([A-Za-z0-9_\-\"']+)\s*=", stripped)
        if match:
            name = match.group(1).strip("\"'")
            key: PathKey = ("cases", case_index, name) if case_index >= 0 else (name,)
            lines.setdefault(key, number)
    return lines


def _open_multiline_string(line: str, delimiter: str | None) -> str | None:
    """The triple quote of a multi-line string still open at the end of ``line``, if any."""
    i = 0
    while i < len(line):
        if delimiter is not None:
            if line.startswith(delimiter, i):
                delimiter, i = None, i + 3
            else:
                i += 2 if delimiter == '"""' and line[i] == "\\" else 1
        elif line.startswith(('"""', "'''"), i):
            delimiter, i = line[i : i + 3], i + 3
        elif line[i] in "\"'":
            i = _skip_string(line, i)
        elif line[i] == "#":
            break
        else:
            i += 1
    return delimiter


def _skip_string(line: str, start: int) -> int:
    """Index after the one-line string that opens at ``start``."""
    quote, i = line[start], start + 1
    while i < len(line) and line[i] != quote:
        i += 2 if quote == '"' and line[i] == "\\" else 1
    return i + 1
