"""Function tools: the ``tools:`` and ``tool_choice`` of a prompt file, their wire shape, and the
model's tool calls as data (name + parsed arguments).

The file's shape (a list of mappings, known fields) is checked by the packaged JSON Schema
first; what it cannot say is checked here, at collection: a tool's ``parameters`` is a valid
JSON Schema, names are unique and fit every provider's rule, and ``tool_choice`` names an
offered tool.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.bounds import loads_json
from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.documents import Document
from pytest_promptcheck.errors import CheckArgError, SpecError
from pytest_promptcheck.project import Project
from pytest_promptcheck.quoting import clip
from pytest_promptcheck.records import ToolCall
from pytest_promptcheck.schemas import Schema, load_schema

NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""OpenAI's rule for a function name (Anthropic's is the same)."""
EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}
CHOICES = ("auto", "required", "none")
_EXAMPLE = (
    "tools: [{name: lookup_order, parameters: {type: object, properties: {id: {type: string}}}}]"
)


@dataclass(frozen=True)
class Tool:
    """One function tool offered to the model, as written (flat)."""

    name: str
    description: str | None
    parameters: Schema

    def payload(self) -> dict[str, Any]:
        """The flat form: what the request (and so the cache key and fingerprint) holds."""
        data: dict[str, Any] = {"name": self.name, "parameters": self.parameters.contents}
        if self.description is not None:
            data["description"] = self.description
        return data


ToolChoice = str | dict[str, Any] | None


def load_tools(
    doc: Document, data: dict[str, Any], base: Path, project: Project
) -> tuple[tuple[Tool, ...], ToolChoice]:
    """The file's tools and tool choice; raises SpecError naming the line and the fix."""
    if data.get("tools") and "prompt" in data:
        raise SpecError(
            doc.path,
            "tools need a chat prompt ('messages'), not a completion 'prompt'",
            line=doc.line_of(("tools",)),
            hint="write the prompt as messages: [{role: user, content: ...}]",
        )
    tools: list[Tool] = []
    for index, item in enumerate(data.get("tools", [])):
        tool = _tool(doc, item, index, base, project)
        if any(t.name == tool.name for t in tools):
            raise SpecError(
                doc.path,
                f"tools[{index}]: duplicate tool name '{tool.name}'",
                line=doc.line_of(("tools", index, "name")),
                hint="tool names must be unique in a prompt file; rename or remove one",
            )
        tools.append(tool)
    return tuple(tools), _choice(doc, data.get("tool_choice"), tools)


def _tool(doc: Document, item: dict[str, Any], index: int, base: Path, project: Project) -> Tool:
    name = item["name"]
    if not NAME.fullmatch(name):
        raise SpecError(
            doc.path,
            f"tools[{index}].name is {name!r}: a tool name is 1 to 64 letters, digits, '_' or '-'",
            line=doc.line_of(("tools", index, "name")),
            hint="providers refuse other names; e.g. name: lookup_order",
        )
    try:
        schema = load_schema(item.get("parameters", EMPTY_PARAMETERS), base, project)
    except CheckArgError as exc:
        raise SpecError(
            doc.path,
            f"tools[{index}] ({name}).parameters: {exc.message}",
            line=doc.line_of(("tools", index, "parameters")),
            hint=exc.hint,
        ) from None
    return Tool(name, item.get("description"), schema)


def _choice(doc: Document, choice: Any, tools: list[Tool]) -> ToolChoice:
    if choice is None:
        return None
    line = doc.line_of(("tool_choice",))
    if not tools:
        raise SpecError(
            doc.path,
            "tool_choice is set but the prompt offers no tools",
            line=line,
            hint=f"add the tools, e.g. {_EXAMPLE}, or remove tool_choice",
        )
    if isinstance(choice, dict) and choice["name"] not in {t.name for t in tools}:
        offered = ", ".join(t.name for t in tools)
        raise SpecError(
            doc.path,
            f"tool_choice names '{choice['name']}', which is not an offered tool",
            line=doc.line_of(("tool_choice", "name")) or line,
            hint=f"offered tools: {offered}",
        )
    checked: str | dict[str, Any] = choice  # the schema admitted only these shapes
    return checked


# The OpenAI wire shape: {type: function, function: {...}} and its tool_choice.


def openai_tools(tools: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": tool} for tool in tools]


def openai_tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, dict):
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def openai_tool_calls(message: dict[str, Any]) -> tuple[ToolCall, ...]:
    """The calls of an OpenAI chat message, in order; a shape of another kind raises TypeError
    or KeyError (a malformed answer)."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TypeError(f"tool_calls is a {type(calls).__name__}, not a list")
    return tuple(_openai_call(call) for call in calls)


def _openai_call(call: Any) -> ToolCall:
    function = call["function"]
    name, arguments = function["name"], function.get("arguments")
    if not isinstance(name, str):
        raise TypeError(f"a tool call's name is a {type(name).__name__}, not a string")
    if arguments is None:
        arguments = ""
    elif not isinstance(arguments, str):  # some servers send an object: keep it as JSON text
        arguments = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(name, arguments)


# The calls as data.


class NotJson:
    """A call's arguments that do not parse as JSON (the raw text is in ``text``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NotJson({self.text!r})"


def parse_arguments(call: ToolCall) -> Any:
    """The call's arguments as JSON data; an empty text means none (``{}``), as OpenAI-compatible
    servers send for a tool without parameters; text that is not JSON gives NotJson."""
    if not call.arguments.strip():
        return {}
    try:
        return loads_json(call.arguments)
    except (ValueError, RecursionError):
        return NotJson(call.arguments)


def call_records(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """``[{name, arguments}]`` with parsed arguments (the raw text when not JSON): what the
    baseline, the reports and JUnit properties hold."""
    records = []
    for call in calls:
        parsed = parse_arguments(call)
        arguments = parsed.text if isinstance(parsed, NotJson) else parsed
        records.append({"name": call.name, "arguments": arguments})
    return records


def called_list(calls: tuple[ToolCall, ...], limit: int = 300, each: int = 300) -> str:
    """``a({...}), b({...})`` in call order, clipped: how reasons and reports show the calls
    (arguments as compact JSON, or as the raw text when they are not JSON)."""
    return clip(", ".join(f"{c.name}({clip(arguments_text(c), each)})" for c in calls), limit)


def arguments_text(call: ToolCall) -> str:
    parsed = parse_arguments(call)
    return parsed.text if isinstance(parsed, NotJson) else canonical_json(parsed)
