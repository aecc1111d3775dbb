"""The judge check's calls: one request per vote, whose payload (the cache key's content) holds
the judge model, the template version, the rubric and every input; the vote is the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.checks.api import ModelCheck, SampleContext
from pytest_promptcheck.checks.judge import judge_check
from pytest_promptcheck.checks.judge_prompt import TEMPLATE_VERSION
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion, ModelRequest

HERE = Path(__file__).parent
PROJECT = Project.at(HERE.parents[1])
BASE: dict[str, Any] = {"rubric": "Says hi.", "model": "openai:j", "include": ["input"]}


def _check(arg: dict[str, Any], default: str | None = None) -> ModelCheck:
    check = judge_check(PROJECT, default)(arg, HERE)
    assert isinstance(check, ModelCheck)
    return check


def _ctx(text: str = "hi", prompt: str = "Say hi") -> SampleContext:
    request = ModelRequest("openai:w", None, prompt)
    return SampleContext(text, Completion(text, "w"), vars={"x": 1}, request=request)


def _payload(arg: dict[str, Any], ctx: SampleContext | None = None) -> str:
    ((request, _),) = _check(arg).requests(ctx or _ctx())
    return str(request.payload())


def test_votes_are_one_request_with_indices_0_to_n() -> None:
    check = _check({**BASE, "votes": 3})
    jobs = list(check.requests(_ctx()))
    assert check.calls == 3 and [index for _, index in jobs] == [0, 1, 2]
    assert len({str(r.payload()) for r, _ in jobs}) == 1


def test_the_payload_holds_model_version_rubric_and_inputs() -> None:
    payload = _payload(BASE)
    assert all(part in payload for part in ("openai:j", TEMPLATE_VERSION, "Says hi.", "Say hi"))
    assert "output_schema" in payload
    changed = [
        _payload({**BASE, "model": "openai:k"}),
        _payload({**BASE, "rubric": "Says hello."}),
        _payload(BASE, _ctx(text="hello")),
        _payload(BASE, _ctx(prompt="Say hello")),
        _payload({**BASE, "scale": "1-5"}),
    ]
    assert payload not in changed and len(set(changed)) == len(changed)


def test_the_default_judge_model_is_used_and_the_check_model_wins() -> None:
    assert _check({"rubric": "r"}, "openai:d").models == ("openai:d",)
    assert _check({"rubric": "r", "model": "openai:m"}, "openai:d").models == ("openai:m",)
    with pytest.raises(CheckArgError, match="no judge model is set"):
        _check({"rubric": "r"})


def test_a_rubric_alone_is_a_judge() -> None:
    check = judge_check(PROJECT, "openai:d")("Says hi.", HERE)
    assert isinstance(check, ModelCheck) and check.identity["rubric"] == "Says hi."


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ({"rubric": "r", "against": "baseline", "scale": "1-5"}, "has no scale"),
        ({"rubric": "r", "include": ["output"]}, "include: expected a list of input"),
        ({"rubric": "r", "include": ["input", "input"]}, "lists a part twice"),
        ({"rubric": "r", "reference": "{{ x"}, "template syntax error"),
        ({"rubric": "r", "votes": True}, "votes: expected a whole number"),
        ({"rubric": "r" * 20_001}, "more than 20000"),
    ],
)
def test_bad_arguments(arg: dict[str, Any], message: str) -> None:
    if "reference" in arg:
        arg = {**arg, "include": ["reference"]}
    with pytest.raises(CheckArgError, match=message):
        _check({"model": "openai:j", **arg})
