"""One rule for "the output as JSON": a fenced answer is JSON for the checks as for the format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck import SampleContext
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.scoring import parse_format

HERE = Path(__file__).parent
FENCED = '```json\n{"queue": "billing", "tags": ["refund"]}\n```'


def text_sample(text: str) -> SampleContext:
    """A sample of a prompt without ``format: json``: the checks parse the text themselves."""
    return SampleContext(text, Completion(text=text, model_reported="m"))


@pytest.mark.parametrize(
    ("kind", "arg"),
    [
        ("json_path", {"path": "$.queue", "equals": "billing"}),
        ("schema", {"properties": {"queue": {"const": "billing"}}, "required": ["queue"]}),
        ("equals", {"queue": "billing", "tags": ["refund"]}),
    ],
)
def test_a_fenced_answer_on_a_text_prompt_is_json_to_the_checks(kind: str, arg: Any) -> None:
    check = builtin_registry(Project.at(HERE)).compile(kind, arg, HERE)
    assert callable(check)
    result = check(text_sample(FENCED))
    assert (result.passed, result.evaluated) == (True, True), result.reason


def test_the_python_check_gets_the_fenced_answer_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fenced_checks.py").write_text(
        "def queue_is_billing(output, case):\n    return case['json']['queue'] == 'billing'\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    check = builtin_registry(Project.at(tmp_path)).compile(
        "python", "fenced_checks:queue_is_billing", tmp_path
    )
    assert callable(check)
    result = check(text_sample(FENCED))
    assert result.passed, result.reason


def test_the_checks_and_the_format_agree_on_what_is_json() -> None:
    parsed, error = parse_format(FENCED, None)
    assert (parsed, error) == ({"queue": "billing", "tags": ["refund"]}, None)
