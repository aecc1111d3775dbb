"""Tool-calling models for the loopback server: answers decided by the user's words."""

from __future__ import annotations

import json
import re

from tests.loopback import RecordedRequest, ToolReply

TRAVEL_ITEMS = {"passed": 3, "failed": 3}
"""The verdicts of fixtures/tool_calls against ``travel_agent``."""


def travel_agent(request: RecordedRequest) -> str | ToolReply:
    """Weather questions call get_weather; "a flight from A to B" searches, then books;
    "(broken)" writes arguments that are not JSON; "cancel" calls a tool nobody offered;
    anything else is a greeting in text."""
    text = request.user_text
    if "(broken)" in text:
        return ToolReply((("get_weather", '{"city": "Paris"'),))
    if "cancel" in text:
        return ToolReply((("cancel_everything", "{}"),))
    weather = re.search(r"weather in (\w+)", text)
    if weather:
        return ToolReply((("get_weather", json.dumps({"city": weather[1]})),))
    flight = re.search(r"from (\w+) to (\w+)", text)
    if flight:
        search = json.dumps({"from": flight[1], "to": flight[2]})
        return ToolReply((("search_flights", search), ("book_flight", '{"flight_id": "F1"}')))
    return "Hi! Where would you like to go?"


def assistant(request: RecordedRequest) -> str | ToolReply:
    """A well-behaved model for examples/tools: the weather in a named city, a conversion of
    "N <currency words>", both when asked both; small talk in text."""
    text = request.user_text
    calls: list[tuple[str, str]] = []
    city = re.search(r"(?:in|to) ([A-Z]\w+)", text)
    if "weather" in text and city:
        calls.append(("get_weather", json.dumps({"city": city[1]})))
    amount = re.search(r"(\d+) (US dollars|GBP)", text)
    if amount:
        source = "USD" if amount[2] == "US dollars" else "GBP"
        conversion = {"amount": int(amount[1]), "from": source, "to": "EUR"}
        calls.append(("convert_currency", json.dumps(conversion)))
    return ToolReply(tuple(calls)) if calls else "You're welcome!"
