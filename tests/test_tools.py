"""Tools in prompt files (DESIGN §2): loading, the request, the fingerprint, the OpenAI wire."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.errors import ProviderError, SpecError
from pytest_promptcheck.project import Project
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.providers.openai import OpenAIProvider
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall
from pytest_promptcheck.spec import PromptSpec, load_spec
from pytest_promptcheck.tools import NotJson, call_records, parse_arguments
from tests.loopback import LoopbackServer, RecordedRequest, ToolReply

PLAIN = """\
model: openai:m
messages:
  - {role: user, content: "{{ q }}"}
cases:
  - {id: one, vars: {q: weather in Paris}}
"""
TOOLS = """\
tools:
  - name: get_weather
    description: The weather in a city.
    parameters: {type: object, properties: {city: {type: string}}, required: [city]}
  - name: ping
tool_choice: {name: get_weather}
"""


def load(tmp_path: Path, text: str) -> PromptSpec:
    path = tmp_path / "p.prompt.yaml"
    path.write_text(text)
    return load_spec(path, builtin_registry(Project.at(tmp_path)))


def test_request_carries_flat_tools_and_choice(tmp_path: Path) -> None:
    spec = load(tmp_path, PLAIN + TOOLS)
    request = spec.request(spec.cases[0], "openai:m")
    assert request.tools == (
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
        {"name": "ping", "parameters": {"type": "object", "properties": {}}},
    )
    assert request.tool_choice == {"name": "get_weather"}
    assert request.payload()["tools"] == list(request.tools)


def test_without_tools_the_payload_and_fingerprint_are_as_before(tmp_path: Path) -> None:
    spec = load(tmp_path, PLAIN)
    payload = spec.request(spec.cases[0], "openai:m").payload()
    assert set(payload) == {"model", "messages", "prompt", "params", "format"}
    # the fingerprint of this file before tools existed (main at b0f75f2)
    assert spec.fingerprint == "8cc0a2cea1f033f9a851f4f3e73e825b14d309247de80fe4d16e2776654300cf"


def test_tools_and_choice_are_in_the_fingerprint(tmp_path: Path) -> None:
    plain = load(tmp_path, PLAIN).fingerprint
    with_tools = load(tmp_path, PLAIN + TOOLS).fingerprint
    other_choice = load(tmp_path, PLAIN + TOOLS.replace("{name: get_weather}", "auto"))
    assert len({plain, with_tools, other_choice.fingerprint}) == 3


def test_spec_error_names_the_line_of_a_bad_parameter_schema(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, PLAIN + TOOLS.replace("type: string", "type: strin"))
    assert info.value.line == 9
    assert "tools[0] (get_weather).parameters: invalid JSON Schema" in info.value.message


def test_parse_arguments() -> None:
    assert parse_arguments(ToolCall("f", ' {"a": 1} ')) == {"a": 1}
    assert parse_arguments(ToolCall("f", "")) == {}  # a tool without parameters
    broken = parse_arguments(ToolCall("f", "{a: 1"))
    assert isinstance(broken, NotJson) and broken.text == "{a: 1"


def test_call_records_keep_order_and_raw_text() -> None:
    made = (ToolCall("b", '{"x": [1]}'), ToolCall("a", "nope"))
    assert call_records(made) == [
        {"name": "b", "arguments": {"x": [1]}},
        {"name": "a", "arguments": "nope"},
    ]


REQUEST = ModelRequest(
    model="openai:bot",
    messages=({"role": "user", "content": "weather?"},),
    prompt=None,
    tools=({"name": "get_weather", "parameters": {"type": "object"}},),
    tool_choice="required",
)


def complete(server: LoopbackServer, request: ModelRequest = REQUEST) -> Completion:
    async def go() -> Completion:
        config = ProviderConfig(name="openai", type="openai", base_url=server.base_url)
        provider = OpenAIProvider(config, 5.0)
        try:
            return await provider.complete(request, 0)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def two_calls(request: RecordedRequest) -> ToolReply:
    return ToolReply((("get_weather", '{"city": "Oslo"}'), ("get_weather", "{oops")))


def test_openai_sends_tools_and_parses_calls_in_order(openai_env: LoopbackServer) -> None:
    openai_env.set_model("bot", two_calls)
    completion = complete(openai_env)
    assert completion.text == ""  # content null: the model only called tools
    assert completion.tool_calls == (
        ToolCall("get_weather", '{"city": "Oslo"}'),
        ToolCall("get_weather", "{oops"),
    )
    (sent,) = openai_env.completion_requests
    assert sent.body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    assert sent.body["tool_choice"] == "required"


def test_openai_body_without_tools_has_no_tool_fields(openai_env: LoopbackServer) -> None:
    complete(openai_env, ModelRequest("openai:bot", ({"role": "user", "content": "x"},), None))
    (sent,) = openai_env.completion_requests
    assert "tools" not in sent.body and "tool_choice" not in sent.body


def test_tool_calls_survive_the_cache_round_trip() -> None:
    completion = Completion("", "m", tool_calls=(ToolCall("f", "{}"), ToolCall("g", "x")))
    assert (
        Completion.from_json(completion.to_json(), cached=True).tool_calls == completion.tool_calls
    )


def test_a_malformed_tool_call_is_a_provider_error(openai_env: LoopbackServer) -> None:
    openai_env.set_model("bot", lambda _: ToolReply(((None, "{}"),)))  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match="a tool call's name is a NoneType"):
        complete(openai_env)
