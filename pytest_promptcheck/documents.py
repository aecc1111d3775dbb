"""Parse YAML, JSON and TOML documents and remember the line of every key and item.

Line maps let validation errors point at ``file:line`` whatever the format.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_promptcheck.errors import SpecError

PathKey = tuple[str | int, ...]


@dataclass
class Document:
    """Parsed data plus the 1-based line of each path inside it."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    text: str = ""
    content_lines: dict[PathKey, int] = field(default_factory=dict)
    """Where the text of a multi-line string value starts (YAML ``|`` or ``>`` blocks)."""

    def content_line_of(self, key: PathKey) -> int | None:
        """The line of a string value's first character of text."""
        return self.content_lines.get(key) or self.line_of(key)

    def line_of(self, key: PathKey) -> int | None:
        """The line of ``key``, or of its nearest ancestor that has one."""
        for end in range(len(key), -1, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return line
        return None


def read_text(path: Path, encoding: str = "utf-8") -> str:
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise SpecError(
            path, "file not found", hint="check the path; paths are relative to the prompt file"
        ) from None
    except UnicodeDecodeError as exc:
        raise SpecError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_document(path: Path) -> Document:
    """Parse a prompt file or case file by its suffix."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _load_yaml(path, text)
    if suffix == ".json":
        return _load_json(path, text)
    if suffix == ".toml":
        return _load_toml(path, text)
    raise SpecError(
        path, f"unsupported file type '{suffix}'", hint="use .yaml, .yml, .json or .toml"
    )


def _load_yaml(path: Path, text: str) -> Document:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            path, f"invalid YAML: {problem}", line=line, hint=_yaml_hint(problem)
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(path, f"invalid YAML: {exc}") from None
    doc = Document(path, data, {}, text)
    if node is not None:
        _walk_yaml(path, node, (), doc)
    return doc


def _yaml_hint(problem: str) -> str:
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values" in problem:
        return "quote values that contain ': ' (e.g. \"a: b\")"
    return "check the indentation and quoting around this line"


def _walk_yaml(path: Path, node: yaml.Node, key: PathKey, doc: Document) -> None:
    lines = doc.lines
    lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        doc.content_lines[key] = node.start_mark.line + 2  # the text starts below the indicator
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            line = key_node.start_mark.line + 1
            if name in seen:
                raise SpecError(
                    path,
                    f"duplicate key '{name}' (first at line {seen[name]})",
                    line=line,
                    hint="remove one of them; YAML would silently keep only the last",
                )
            seen[name] = line
            _walk_yaml(path, value_node, (*key, name), doc)
            lines[(*key, name)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_yaml(path, item, (*key, index), doc)


def _load_json(path: Path, text: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            path,
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            line=exc.lineno,
            hint="check for a missing comma, quote or bracket near this line",
        ) from None
    doc = Document(path, data, {}, text)
    try:  # JSON is (nearly always) YAML, which gives us line numbers for free
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _walk_yaml(path, node, (), doc)
    except (yaml.YAMLError, SpecError):
        doc.lines.clear()
    return doc


_TOML_LINE = re.compile(r"at line (\d+), column (\d+)")


def _load_toml(path: Path, text: str) -> Document:
    try:
        data = tomllib.loads(text)
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
    return Document(path, data, _toml_lines(text, data), text)


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
