"""Whole runs of fixtures/tool_calls against the loopback server's tool-calling model."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, ToolReply
from tests.tool_models import TRAVEL_ITEMS, assistant, travel_agent

ALL_ITEMS = sum(TRAVEL_ITEMS.values())


@pytest.fixture
def travel(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("tool_calls")
    openai_env.set_model("tool-bot", travel_agent)
    return openai_env


def test_exact_verdicts(pytester: pytest.Pytester, travel: LoopbackServer) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(**TRAVEL_ITEMS)
    result.stdout.fnmatch_lines(
        [
            "FAILED travel.prompt.yaml::wrong_order*",
            "FAILED travel.prompt.yaml::broken_arguments*",
            "FAILED travel.prompt.yaml::unknown_tool*",
        ],
        consecutive=False,
    )


def test_tools_are_sent_in_openai_shape(pytester: pytest.Pytester, travel: LoopbackServer) -> None:
    pytester.runpytest("-k", "weather")
    (request,) = travel.completion_requests
    assert request.body["tool_choice"] == "auto"
    assert [t["type"] for t in request.body["tools"]] == ["function"] * 3
    assert request.body["tools"][2] == {
        "type": "function",
        "function": {
            "name": "book_flight",
            "description": "Book a flight by its id.",
            "parameters": {
                "type": "object",
                "properties": {"flight_id": {"type": "string"}},
                "required": ["flight_id"],
            },
        },
    }


def test_named_tool_choice_is_mapped(pytester: pytest.Pytester, travel: LoopbackServer) -> None:
    path = pytester.path / "travel.prompt.yaml"
    path.write_text(
        path.read_text().replace("tool_choice: auto", "tool_choice: {name: get_weather}")
    )
    pytester.runpytest("-k", "weather")
    (request,) = travel.completion_requests
    assert request.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_failure_report_shows_expected_against_called(
    pytester: pytest.Pytester, travel: LoopbackServer
) -> None:
    out = pytester.runpytest("-k", "wrong_order or broken or unknown").stdout.str()
    search = 'search_flights({"from":"Rome","to":"Oslo"})'
    for line in [
        "wrong_order failed: 1 of 2 checks",
        f'  tools   {search}, book_flight({{"flight_id":"F1"}})',
        "  check   FAIL  tool_sequence exact: expected [book_flight, search_flights],"
        f' called [{search}, book_flight({{"flight_id":"F1"}})]',
        "broken_arguments failed: 1 of 2 checks",
        '  tools   get_weather({"city": "Paris")',
        "  check   FAIL  tool_calls_valid: call 1 get_weather: arguments are not valid JSON:"
        """ '{"city": "Paris"'""",
        # no argument listed: the call matches by name; its validity is tool_calls_valid's
        "  check   ok    tool_called get_weather: 1 matching calls, expected at least 1;"
        ' called [get_weather({"city": "Paris")]',
        "  check   FAIL  tool_calls_valid: call 1 cancel_everything: not an offered tool"
        " (offered: get_weather, search_flights, book_flight)",
    ]:
        assert line + "\n" in out


def test_tool_calls_come_back_from_the_cache(
    pytester: pytest.Pytester, travel: LoopbackServer
) -> None:
    pytester.runpytest()
    travel.reset()
    result = pytester.runpytest()
    result.assert_outcomes(**TRAVEL_ITEMS)
    assert travel.completion_requests == []


def test_json_report_and_baseline_carry_the_calls(
    pytester: pytest.Pytester, travel: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-report=out.json", "--promptcheck-update-baseline")
    report = json.loads((pytester.path / "out.json").read_text())
    cases = {c["case"]: c for c in report["cases"]}
    assert cases["booking"]["result"]["samples"][0]["tool_calls"] == [
        {"name": "search_flights", "arguments": {"from": "Rome", "to": "Oslo"}},
        {"name": "book_flight", "arguments": {"flight_id": "F1"}},
    ]
    assert "tool_calls" not in cases["greeting"]["result"]["samples"][0]  # none made: no key
    baseline = json.loads((pytester.path / "__promptcheck__" / "travel.json").read_text())
    broken = baseline["cases"]["broken_arguments"]["samples"][0]["tool_calls"]
    assert broken == [{"name": "get_weather", "arguments": '{"city": "Paris"'}]  # raw text


def test_junit_property_holds_the_calls(pytester: pytest.Pytester, travel: LoopbackServer) -> None:
    pytester.runpytest("--junitxml=out.xml", "-k", "weather or greeting")
    tree = ET.parse(pytester.path / "out.xml")
    found = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in tree.iter("testcase")
    }
    assert json.loads(found["weather"]["promptcheck_tool_calls"]) == [
        {"name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert "promptcheck_tool_calls" not in found["greeting"]


def test_a_changed_tool_call_is_drift(pytester: pytest.Pytester, travel: LoopbackServer) -> None:
    pytester.runpytest("-k", "weather and not broken", "--promptcheck-update-baseline")

    def elsewhere(request: object) -> ToolReply:
        return ToolReply((("get_weather", '{"city": "paris"}'),))  # same verdict, other call

    travel.set_model("tool-bot", elsewhere)
    result = pytester.runpytest("-k", "weather and not broken", "--promptcheck-cache=refresh")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*CHANGED*travel::weather*tool calls moved, verdict passed*"])


def test_the_tools_example_runs_on_a_tool_calling_model(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "tools", pytester.path / "tools")
    openai_env.set_model("tool-bot", assistant)
    result = pytester.runpytest("tools", "--promptcheck-model", "openai:tool-bot")
    result.assert_outcomes(passed=4)
    assert len(openai_env.completion_requests) == 4


def test_pytest_examples_leaves_the_tools_example_out(pytester: pytest.Pytester) -> None:
    examples = Path(__file__).parents[2] / "examples"
    shutil.copytree(examples / "tools", pytester.path / "examples" / "tools")
    shutil.copy(examples / "conftest.py", pytester.path / "examples")
    result = pytester.runpytest("examples", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["no tests collected*"])
