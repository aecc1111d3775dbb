"""Loading JSON Schemas (inline or from files) and reporting the first validation error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.schemas import first_schema_error, load_schema

TICKET: dict[str, Any] = {
    "type": "object",
    "properties": {
        "queue": {"enum": ["billing", "tech", "other"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["queue", "urgent"],
}


def load_error(arg: Any, base_dir: Path) -> CheckArgError:
    with pytest.raises(CheckArgError) as info:
        load_schema(arg, base_dir)
    return info.value


def test_inline_schema_is_returned_as_given(tmp_path: Path) -> None:
    assert load_schema(TICKET, tmp_path) is TICKET


def test_json_file_is_read_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "t.json").write_text('{"type": "string"}', encoding="utf-8")
    assert load_schema("schemas/t.json", tmp_path) == {"type": "string"}


def test_yaml_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "t.schema.yaml").write_text("type: object\nrequired: [a]\n", encoding="utf-8")
    assert load_schema("t.schema.yaml", tmp_path) == {"type": "object", "required": ["a"]}


def test_missing_file_names_given_and_resolved_paths(tmp_path: Path) -> None:
    error = load_error("schemas/nope.json", tmp_path)
    resolved = (tmp_path / "schemas" / "nope.json").resolve()
    assert error.message == f"schema file not found: schemas/nope.json (looked in {resolved})"
    assert error.hint is not None and "relative to the prompt file" in error.hint


def test_unparsable_json_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "type": "object",\n  oops\n}', encoding="utf-8")
    assert load_error("bad.json", tmp_path).message.startswith(
        "cannot parse schema file bad.json:3:"
    )


def test_unparsable_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("type: object\nrequired: [a\n", encoding="utf-8")
    assert load_error("bad.yaml", tmp_path).message.startswith("cannot parse schema file bad.yaml:")
    assert ":3:" in load_error("bad.yaml", tmp_path).message


def test_file_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    assert "must hold a JSON Schema object, got list" in load_error("list.json", tmp_path).message


def test_invalid_inline_schema_names_the_schema_path(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"queue": {"type": "strin"}}}
    message = load_error(schema, tmp_path).message
    assert message.startswith("invalid JSON Schema at properties.queue.type: 'strin' is not valid")


def test_invalid_schema_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"required": "queue"}', encoding="utf-8")
    message = load_error("s.json", tmp_path).message
    assert message == "invalid JSON Schema in s.json at required: 'queue' is not of type 'array'"


def test_invalid_schema_at_the_top_level(tmp_path: Path) -> None:
    message = load_error({"type": 5}, tmp_path).message
    assert message.startswith("invalid JSON Schema at type:")
    assert load_error({"minimum": "x"}, tmp_path).message.startswith(
        "invalid JSON Schema at minimum:"
    )


def test_argument_of_wrong_type_is_rejected(tmp_path: Path) -> None:
    error = load_error(["type", "object"], tmp_path)
    assert error.message == "expected a schema file path or an inline JSON Schema mapping"
    assert error.hint is not None and "schema: {type: object}" in error.hint


def test_valid_instance_has_no_error() -> None:
    assert first_schema_error({"queue": "tech", "urgent": False}, TICKET) is None


def test_error_starts_with_json_path_of_failing_element() -> None:
    error = first_schema_error({"queue": "sales", "urgent": False}, TICKET)
    assert error == "$.queue: 'sales' is not one of ['billing', 'tech', 'other']"


def test_error_on_the_root_uses_dollar() -> None:
    assert first_schema_error([], TICKET) == "$: [] is not of type 'object'"


def test_error_inside_array_uses_index_form() -> None:
    schema = {
        "type": "array",
        "items": {"type": "object", "properties": {"id": {"type": "integer"}}},
    }
    assert (
        first_schema_error([{"id": 1}, {"id": "x"}], schema)
        == "$[1].id: 'x' is not of type 'integer'"
    )


def test_key_that_is_not_an_identifier_is_quoted() -> None:
    schema = {"properties": {"first name": {"type": "string"}}}
    assert (
        first_schema_error({"first name": 3}, schema)
        == "$['first name']: 3 is not of type 'string'"
    )


def test_first_error_is_chosen_by_path_order() -> None:
    schema = {"properties": {"b": {"type": "string"}, "a": {"type": "string"}}}
    assert first_schema_error({"b": 1, "a": 2}, schema) == "$.a: 2 is not of type 'string'"


def test_index_order_is_numeric() -> None:
    schema = {"items": {"type": "string"}}
    instance = ["ok"] * 10 + [10, 2]
    assert first_schema_error(instance, schema) == "$[10]: 10 is not of type 'string'"


def test_format_keyword_is_asserted() -> None:
    schema = {"properties": {"day": {"type": "string", "format": "date"}}}
    assert (
        first_schema_error({"day": "2024-02-30"}, schema) == "$.day: '2024-02-30' is not a 'date'"
    )


def test_a_changed_schema_dict_is_not_served_from_a_stale_cache() -> None:
    schema: dict[str, Any] = {"type": "string"}
    assert first_schema_error("x", schema) is None
    schema["type"] = "integer"
    assert first_schema_error("x", schema) == "$: 'x' is not of type 'integer'"


def test_long_error_message_is_clipped_to_one_short_line() -> None:
    error = first_schema_error({"text": "x" * 500}, {"properties": {"text": {"maxLength": 3}}})
    assert error is not None and len(error) <= 120 and error.endswith("…")
