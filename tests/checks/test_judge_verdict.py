"""A judge's verdict is parsed strictly: anything but the schema's shape is no verdict."""

from __future__ import annotations

import pytest

from pytest_promptcheck.checks.judge_verdict import (
    PAIRWISE,
    JudgeVerdictError,
    parse_verdict,
    verdict_schema,
)


@pytest.mark.parametrize(
    ("scale", "text", "score"),
    [
        ("pass_fail", '{"reasoning": "r", "pass": true}', 1.0),
        ("pass_fail", '{"reasoning": "r", "pass": false}', 0.0),
        ("1-5", '{"reasoning": "r", "score": 1}', 0.0),
        ("1-5", '{"reasoning": "r", "score": 4}', 0.75),
        ("0-10", '{"reasoning": "r", "score": 7}', 0.7),
        (PAIRWISE, '{"reasoning": "r", "better": "A"}', 1.0),
        (PAIRWISE, '{"reasoning": "r", "better": "same"}', 0.5),
    ],
)
def test_a_verdict_is_normalised_to_a_score(scale: str, text: str, score: float) -> None:
    vote = parse_verdict(text, scale, "openai:j")
    assert (vote.reasoning, vote.score) == ("r", pytest.approx(score))


@pytest.mark.parametrize(
    ("scale", "text", "problem"),
    [
        ("pass_fail", "yes", "is not JSON"),
        ("pass_fail", "[true]", "is not a JSON object"),
        ("pass_fail", '{"reasoning": "r"}', "must hold exactly the keys pass, reasoning"),
        ("pass_fail", '{"pass": true}', "must hold exactly the keys"),
        ("pass_fail", '{"reasoning": "r", "pass": true, "x": 1}', "must hold exactly the keys"),
        ("pass_fail", '{"reasoning": "r", "pass": "true"}', "'pass' that is not true or false"),
        ("pass_fail", '{"reasoning": 3, "pass": true}', "'reasoning' that is not a string"),
        ("1-5", '{"reasoning": "r", "score": 6}', "not a whole number from 1 to 5"),
        ("1-5", '{"reasoning": "r", "score": 4.5}', "not a whole number from 1 to 5"),
        ("0-10", '{"reasoning": "r", "score": true}', "not a whole number from 0 to 10"),
        (PAIRWISE, '{"reasoning": "r", "better": "C"}', "not A, B or same"),
    ],
)
def test_anything_else_is_no_verdict(scale: str, text: str, problem: str) -> None:
    with pytest.raises(JudgeVerdictError) as raised:
        parse_verdict(text, scale, "openai:j")
    assert str(raised.value).startswith("judge openai:j answered no verdict: its reply ")
    assert problem in str(raised.value)
    assert "(reply: " in str(raised.value)


def test_a_raw_newline_in_the_reasoning_is_still_a_verdict() -> None:
    vote = parse_verdict('{"reasoning": "one\ntwo", "pass": true}', "pass_fail", "openai:j")
    assert (vote.reasoning, vote.score) == ("one\ntwo", 1.0)


def test_the_raw_reply_shown_is_clipped() -> None:
    with pytest.raises(JudgeVerdictError) as raised:
        parse_verdict("x" * 5000, "pass_fail", "openai:j")
    assert len(str(raised.value)) < 400


def test_reasoning_comes_first_in_the_schema() -> None:
    schema = verdict_schema("0-10")
    assert list(schema["properties"]) == ["reasoning", "score"]
    assert schema["properties"]["score"] == {"type": "integer", "minimum": 0, "maximum": 10}
    assert schema["additionalProperties"] is False
