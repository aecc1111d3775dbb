"""The schema check."""

from __future__ import annotations

from pathlib import Path

from pytest_promptcheck.checks.api import Verdict
from tests.checks.support import arg_error, check, json_sample, sample, verdict

# --- schema check ---------------------------------------------------------------------------

QUEUE_SCHEMA = {"properties": {"queue": {"enum": ["billing", "tech", "other"]}}}


def test_schema_inline_valid() -> None:
    assert verdict("schema", QUEUE_SCHEMA, json_sample({"queue": "tech"})) == Verdict(
        True, 1.0, "schema: valid"
    )


def test_schema_failure_names_the_json_path() -> None:
    reason = verdict("schema", QUEUE_SCHEMA, json_sample({"queue": "sales"})).reason
    assert reason == "schema: $.queue: 'sales' is not one of ['billing', 'tech', 'other']"


def test_schema_from_a_file_relative_to_the_prompt(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"type": "array"}', encoding="utf-8")
    assert check("schema", "s.json", tmp_path)(sample("{}")).reason == (
        "schema: $: {} is not of type 'array'"
    )


def test_schema_on_non_json_text_gives_the_parse_position() -> None:
    reason = verdict("schema", QUEUE_SCHEMA, '{"queue": tech}').reason
    assert reason == "schema: output is not JSON: Expecting value at line 1 column 11"


def test_schema_prefers_the_parsed_output() -> None:
    ctx = sample('```json\n{"queue": "tech"}\n```', json={"queue": "tech"}, json_format=True)
    assert verdict("schema", QUEUE_SCHEMA, ctx).passed is True


def test_schema_missing_file_is_an_argument_error(tmp_path: Path) -> None:
    assert arg_error("schema", "nope.json", tmp_path).message.startswith(
        "schema file not found: nope.json"
    )
