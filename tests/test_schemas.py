"""Loading JSON Schemas (inline or from files) and reporting the first validation error."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.schemas import Schema, first_schema_error, load_schema
from tests.loopback import LoopbackServer

TICKET: dict[str, Any] = {
    "type": "object",
    "properties": {
        "queue": {"enum": ["billing", "tech", "other"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["queue", "urgent"],
}


def load(arg: Any, base_dir: Path, root: Path | None = None) -> Schema:
    """Load as the prompt file in base_dir does, in a project rooted at root (else base_dir)."""
    return load_schema(arg, base_dir, Project.at(root or base_dir))


def contents(arg: Any, base_dir: Path) -> dict[str, Any]:
    return load(arg, base_dir).contents


def load_error(arg: Any, base_dir: Path, root: Path | None = None) -> CheckArgError:
    with pytest.raises(CheckArgError) as info:
        load(arg, base_dir, root)
    return info.value


def test_inline_schema_is_returned_as_given(tmp_path: Path) -> None:
    assert load(TICKET, tmp_path) == Schema(TICKET)


def test_json_file_is_read_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "t.json").write_text('{"type": "string"}', encoding="utf-8")
    assert contents("schemas/t.json", tmp_path) == {"type": "string"}


def test_yaml_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "t.schema.yaml").write_text("type: object\nrequired: [a]\n", encoding="utf-8")
    assert contents("t.schema.yaml", tmp_path) == {"type": "object", "required": ["a"]}


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


# --- confinement: schema files and $ref -----------------------------------------------------

QUEUE_REF = {"type": "object", "properties": {"queue": {"$ref": "defs.json#/$defs/queue"}}}
DEFS = {"$defs": {"queue": {"enum": ["billing", "tech"]}}}


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_schema_file_outside_the_rootdir_is_refused(tmp_path: Path) -> None:
    write_json(tmp_path / "outside.json", {"type": "object"})
    project = tmp_path / "project"
    project.mkdir()
    error = load_error("../outside.json", project)
    assert error.message == f"../outside.json is outside the project (rootdir {project})"
    assert error.hint is not None and "under the rootdir" in error.hint


def test_symlink_pointing_outside_the_rootdir_is_refused(tmp_path: Path) -> None:
    outside = write_json(tmp_path / "outside.json", {"type": "object"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "link.json").symlink_to(outside)
    assert load_error("link.json", project).message.startswith("link.json is outside the project")


def test_relative_ref_to_a_sibling_file_resolves_and_validates(tmp_path: Path) -> None:
    write_json(tmp_path / "schemas" / "defs.json", DEFS)
    write_json(tmp_path / "schemas" / "ticket.json", QUEUE_REF)
    schema = load("schemas/ticket.json", tmp_path)
    assert schema.resources == (("defs.json", DEFS),)
    assert first_schema_error({"queue": "tech"}, schema) is None
    assert first_schema_error({"queue": "sales"}, schema) == (
        "$.queue: 'sales' is not one of ['billing', 'tech']"
    )


def test_refs_chain_through_a_subfolder(tmp_path: Path) -> None:
    write_json(tmp_path / "sub" / "a.json", {"$ref": "b.json"})
    write_json(tmp_path / "sub" / "b.json", {"type": "integer"})
    schema = load({"properties": {"n": {"$ref": "sub/a.json"}}}, tmp_path)
    assert [uri for uri, _ in schema.resources] == ["sub/a.json", "sub/b.json"]
    assert first_schema_error({"n": "x"}, schema) == "$.n: 'x' is not of type 'integer'"


def test_inline_schema_refs_resolve_in_the_prompt_folder(tmp_path: Path) -> None:
    write_json(tmp_path / "defs.json", DEFS)
    schema = load(QUEUE_REF, tmp_path)
    assert first_schema_error({"queue": "sales"}, schema) is not None


def test_ref_outside_the_schema_folder_is_refused_even_inside_the_project(tmp_path: Path) -> None:
    write_json(tmp_path / "common" / "defs.json", DEFS)
    write_json(tmp_path / "schemas" / "t.json", {"$ref": "../common/defs.json"})
    error = load_error("schemas/t.json", tmp_path)
    assert error.message == (
        f"in schemas/t.json: $ref ../common/defs.json is outside the folder {tmp_path / 'schemas'}"
    )
    assert error.hint is not None and "remote refs are never fetched" in error.hint


def test_file_uri_outside_the_project_is_refused(tmp_path: Path) -> None:
    error = load_error({"$ref": "file:///etc/passwd"}, tmp_path)
    assert error.message == (
        f"$ref file:///etc/passwd is outside the project (rootdir {tmp_path.resolve()})"
    )


def test_file_uri_inside_the_folder_is_read(tmp_path: Path) -> None:
    defs = write_json(tmp_path / "defs.json", DEFS)
    schema = load({"$ref": f"{defs.as_uri()}#/$defs/queue"}, tmp_path)
    assert first_schema_error("sales", schema) is not None


def test_remote_ref_makes_no_request(tmp_path: Path, openai_server: LoopbackServer) -> None:
    url = f"http://127.0.0.1:{openai_server.port}/schema.json"
    error = load_error({"$ref": url}, tmp_path)
    assert error.message == f"$ref {url}: remote references are not fetched"
    assert openai_server.requests == []


def test_ref_to_a_silent_server_is_refused_without_connecting(tmp_path: Path) -> None:
    with socket.socket() as silent:  # listens, never answers: a fetch would wait forever
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.setblocking(False)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/schema.json"
        assert "not fetched" in load_error({"$ref": url}, tmp_path).message
        with pytest.raises(BlockingIOError):
            silent.accept()  # nobody connected


def test_missing_ref_file_is_a_load_error(tmp_path: Path) -> None:
    error = load_error({"$ref": "nope.json"}, tmp_path)
    assert error.message.startswith("schema file not found: nope.json (looked in ")


def test_pointer_to_nowhere_is_a_load_error(tmp_path: Path) -> None:
    error = load_error({"$ref": "#/$defs/nope"}, tmp_path)
    assert error.message.startswith("$ref #/$defs/nope cannot be resolved")


def test_refs_to_itself_and_to_metaschemas_need_no_files(tmp_path: Path) -> None:
    schema = {
        "properties": {"child": {"$ref": "#"}, "meta": {"$ref": _DRAFT_2020_12}},
    }
    assert load(schema, tmp_path).resources == ()


def test_payload_is_the_schema_alone_without_ref_documents(tmp_path: Path) -> None:
    assert load(TICKET, tmp_path).payload() == TICKET


def test_payload_holds_the_ref_documents(tmp_path: Path) -> None:
    write_json(tmp_path / "defs.json", DEFS)
    payload = load(QUEUE_REF, tmp_path).payload()
    assert payload == {"schema": QUEUE_REF, "$ref documents": {"defs.json": DEFS}}


_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


BACKTRACKING = "^(a|aa)+$"  # exponential in re on 'a' * n + 'c'


def test_a_backtracking_pattern_gives_up_instead_of_hanging() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string", "pattern": BACKTRACKING}},
    }
    assert first_schema_error({"answer": "a" * 60 + "c"}, schema) == (
        "$.answer: pattern '^(a|aa)+$': gave up after 1 s (catastrophic backtracking?)"
    )
    assert first_schema_error({"answer": "aaa"}, schema) is None
    assert first_schema_error({"answer": "b"}, schema) == "$.answer: 'b' does not match '^(a|aa)+$'"


def test_a_backtracking_pattern_on_keys_gives_up_instead_of_hanging() -> None:
    schema = {
        "type": "object",
        "patternProperties": {BACKTRACKING: {}},
        "additionalProperties": False,
    }
    error = first_schema_error({"a" * 60 + "c": 1}, schema)
    assert error is not None and "gave up after 1 s" in error
    assert first_schema_error({"zz": 1}, schema) == (
        "$: 'zz' does not match any of the regexes: '^(a|aa)+$'"
    )


def test_an_invalid_schema_reached_by_a_ref_is_an_error_at_collection(tmp_path: Path) -> None:
    write_json(tmp_path / "schemas" / "bad.json", {"type": 5})
    write_json(tmp_path / "schemas" / "top.json", {"$ref": "bad.json"})
    error = load_error("schemas/top.json", tmp_path)
    assert "invalid JSON Schema in $ref bad.json" in error.message


def test_a_ref_loop_fails_the_sample_with_a_reason() -> None:
    assert first_schema_error("x", {"$ref": "#"}) == (
        "the schema refers to itself without end ($ref loop)"
    )
