"""Judge models for the loopback server (tests/loopback.py): responders of known behaviour.

``keyword_judge`` reads the judge request as a real judge would: the rubric from the system
message, the fenced parts of the user message (only the blocks of the request's own fence),
and the verdict's shape from the request's ``response_format`` (no schema: no JSON either, so
a provider that does not send it fails the test). A rubric of the form ``... mention 'WORD'``
passes an output that holds WORD (case-insensitive).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable
from typing import Any

from tests.loopback import RecordedRequest, Responder

_FENCE = re.compile(r"<<<NAME (\w+)>>>")
_WORD = re.compile(r"mention '([^']+)'")


def fenced_blocks(request: RecordedRequest) -> dict[str, str]:
    """The user message's blocks by name (OUTPUT, OUTPUT A, ...), read with the fence the
    system message announces; text outside them is ignored."""
    system = request.messages[0].get("content", "") if request.messages else ""
    fence = _FENCE.search(system)
    if fence is None:
        return {}
    code = re.escape(fence.group(1))
    block = re.compile(rf"^<<<([A-Z ]+) {code}>>>\n(.*?)\n<<<END \1 {code}>>>$", re.S | re.M)
    return {name: text for name, text in block.findall(request.user_text)}


def rubric_of(request: RecordedRequest) -> str:
    system = request.messages[0].get("content", "") if request.messages else ""
    return system.split("RUBRIC:\n", 1)[-1].split("\n\n", 1)[0]


def verdict_schema(request: RecordedRequest) -> dict[str, Any] | None:
    body = request.body if isinstance(request.body, dict) else {}
    response_format = body.get("response_format") or {}
    schema: dict[str, Any] | None = (response_format.get("json_schema") or {}).get("schema")
    return schema


def keyword_judge(request: RecordedRequest) -> str:
    schema = verdict_schema(request)
    if schema is None:
        return "no response_format: I answer prose"
    word = _WORD.search(rubric_of(request))
    blocks = fenced_blocks(request)

    def meets(name: str) -> bool:
        return word is not None and word.group(1).lower() in blocks.get(name, "").lower()

    properties = schema["properties"]
    if "better" in properties:
        a, b = meets("OUTPUT A"), meets("OUTPUT B")
        better = "A" if a and not b else "B" if b and not a else "same"
        return json.dumps({"reasoning": f"A meets: {a}, B meets: {b}", "better": better})
    ok = meets("OUTPUT")
    reasoning = f"the output {'mentions' if ok else 'does not mention'} the word"
    if "pass" in properties:
        return json.dumps({"reasoning": reasoning, "pass": ok})
    score = properties["score"]
    return json.dumps({"reasoning": reasoning, "score": score["maximum" if ok else "minimum"]})


def garbage_judge(request: RecordedRequest) -> str:
    """A judge that answers prose, whatever it is asked."""
    return "I think this output is fine."


def cycling_judge(verdicts: Iterable[bool]) -> Responder:
    """A pass/fail judge whose verdicts follow ``verdicts`` request by request, in a cycle (the
    server cannot see a vote's index): votes that disagree."""
    cycle = itertools.cycle(list(verdicts))
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> str:
        with lock:
            verdict = next(cycle)
        return json.dumps({"reasoning": f"this time I say {verdict}", "pass": verdict})

    return respond
