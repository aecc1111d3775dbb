"""Validate a prompt file's data, and each case's, before anything is built from it.

A quick look in plain Python passes the common well-formed file; anything else goes to the
packaged JSON Schema (spec.schema.json), which words the error. What JSON Schema cannot say is
checked here too, in one place each: values are JSON data with finite numbers (values.py),
integers are integers (not 2.0, not true), and a case id can be selected on the command line.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from pytest_promptcheck.documents import Document, PathKey
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.quoting import compact
from pytest_promptcheck.turns import plain_turns
from pytest_promptcheck.values import value_problem

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator


def validate_file(doc: Document, data: dict[str, Any]) -> None:
    """Everything but the cases, which ``validate_case`` takes one at a time."""
    _check_values(doc, {k: v for k, v in data.items() if k != "cases"}, (), ())
    if not _plainly_valid_file(data):
        _validate(doc, data, (), None)


def validate_case(doc: Document, data: dict[str, Any], key: PathKey) -> None:
    """One case, inline (``key`` is ``("cases", i)``) or from a case file (``key`` is ``(i,)``)."""
    label = key if key[:1] == ("cases",) else ()
    _check_values(doc, data, key, label)
    if not _plainly_valid_case(data):
        _validate(doc, data, key, "case", label)


def _check_values(doc: Document, data: Any, key: PathKey, label: PathKey) -> None:
    found = value_problem(data)
    if found is None:
        return
    field = ".".join(map(str, (*label, *found.path)))
    raise SpecError(
        doc.path,
        f"{f'field {field!r}' if field else 'the file'} {found.message}",
        line=doc.line_of((*key, *found.path)),
        hint=found.hint,
    )


@cache
def spec_schema() -> dict[str, Any]:
    text = resources.files("pytest_promptcheck").joinpath("spec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(definition: str | None) -> Validator:
    import jsonschema  # only a file that fails the quick look needs it

    # JSON Schema's "integer" is any number with no fraction, 2.0 included; ours is an int
    strict = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: type(value) is int
    )
    validator = cast(
        "type[Validator]",
        jsonschema.validators.extend(  # type: ignore[no-untyped-call]
            jsonschema.Draft202012Validator, type_checker=strict
        ),
    )
    schema = spec_schema()
    if definition is None:
        top = json.loads(json.dumps(schema))
        top["properties"]["cases"]["items"] = {"type": ["object"]}
        return validator(top)
    return validator({"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]})


def _validate(
    doc: Document, data: Any, prefix: PathKey, definition: str | None, label: PathKey = ()
) -> None:
    errors = list(_validator(definition).iter_errors(data))
    if not errors:
        return

    def where(error: jsonschema.ValidationError) -> int:
        key = (*prefix, *error.absolute_path)
        if error.validator == "additionalProperties":
            key = (*key, _unknown_fields(error)[0])
        elif error.validator == "not" and key[-1:] == ("params",):  # a reserved param's name
            key = (*key, str(error.instance))
        return doc.line_of(key) or 0

    first = min(errors, key=where)
    message, hint = _describe(first, label)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise SpecError(doc.path, message + more, line=where(first) or None, hint=hint)


def _describe(error: jsonschema.ValidationError, label: PathKey) -> tuple[str, str]:
    field = ".".join(str(p) for p in (*label, *error.absolute_path)) or "the file"
    if error.validator == "additionalProperties":
        allowed = _allowed_fields(error)
        unknown = _unknown_fields(error)
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        where = "" if field == "the file" else f" in {field}"
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"unknown field '{unknown[0]}'{where}", f"{hint}allowed fields: {', '.join(allowed)}"
    if error.validator == "required":
        return f"{field}: {error.message}", "add the missing field"
    if error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        kinds = " or ".join(_SCHEMA_TYPES.get(str(n), str(n)) for n in names)
        return f"field '{field}' must be {kinds}, got {_kind(error.instance)}", _type_hint(field)
    if error.validator == "pattern":
        leaf = str(error.absolute_path[-1]) if error.absolute_path else ""
        rule = _PATTERN_RULES.get(leaf, f"must match {error.validator_value}")
        return (
            f"field '{field}' is {error.instance!r}: {rule}",
            "see the prompt file format in the README",
        )
    if error.validator == "maxLength":
        length = len(error.instance) if isinstance(error.instance, str) else 0
        return (
            f"field '{field}' is {length} characters long, more than {error.validator_value}",
            "shorten it; an id names a test in pytest's output and in commands",
        )
    if error.validator == "not" and field == "params":
        return (
            f"params: '{error.instance}' is set by promptcheck, not by params",
            "the model is the file's 'model:' (or --promptcheck-model); messages and prompt are"
            " the template; responses are read whole (no stream)",
        )
    if field == "tool_choice":  # an anyOf, whose own message names no option
        return (
            f"field 'tool_choice' is {compact(error.instance)}: expected auto, required, none"
            " or {name: <an offered tool>}",
            "e.g. tool_choice: auto, or tool_choice: {name: lookup_order}",
        )
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in cast(list[Any], error.validator_value))
        return (
            f"field '{field}' is {error.instance!r}, expected one of {options}",
            f"use one of {options}",
        )
    return f"field '{field}': {error.message}", "see the prompt file format in the README"


def _allowed_fields(error: jsonschema.ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return sorted(schema.get("properties", {}))


def _unknown_fields(error: jsonschema.ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    return sorted(set(instance) - set(_allowed_fields(error)))


_SCHEMA_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}
_PATTERN_RULES = {
    "model": "a model id is 'provider:model', e.g. openai:gpt-4.1-mini",
    "name": "use letters, digits, '_', '.' and '-' only",
    "id": "a case id is letters, digits, spaces and _ . - , : / ( ) + (no '::', no space at "
    "either end), so that its node id can be selected on the command line",
}


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "nothing (null)"
    return names.get(type(value), f"a {type(value).__name__}")


def _type_hint(field: str) -> str:
    examples = {
        "params": "params: {temperature: 0, max_tokens: 100}",
        "vars": 'vars: {ticket: "..."}',
        "expect": "expect: [{contains: refund}]",
        "cases": "cases: [{id: one, vars: {...}}]",
        "samples": "samples: 5",
    }
    leaf = field.rsplit(".", 1)[-1]
    return f"e.g. {examples[leaf]}" if leaf in examples else "fix the value's type"


_FILE_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "version": (str, int, float),
    "description": str,
    "model": str,
    "params": dict,
    "messages": list,
    "prompt": str,
    "flow": str,
    "format": dict,
    "samples": int,  # bool is refused below, float goes to the schema
    "min_pass_rate": (int, float),
    "threshold": (int, float),
    "expect": list,
    "cases": list,
}
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MODEL = re.compile(r"[A-Za-z0-9_-]+:.+")


def _plainly_valid_file(data: dict[str, Any]) -> bool:
    """The common well-formed file, checked without the JSON Schema (slow to import and run);
    anything else goes to the schema, which words the error."""
    for name, value in data.items():
        kind = _FILE_FIELD_TYPES.get(name)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            return False
    fmt = data.get("format", {})
    return (
        _NAME.fullmatch(data.get("name", "n")) is not None
        and _MODEL.fullmatch(data.get("model", "p:m")) is not None
        and data.get("messages", [None]) != []
        and all(_plain_message(m) for m in data.get("messages", [None]))
        and set(fmt) <= {"type", "schema"}
        and fmt.get("type", "text") in ("text", "json")
        and _reserved_params().isdisjoint(data.get("params", {}))
        and isinstance(fmt.get("schema", ""), str | dict)
        and 1 <= data.get("samples", 1) <= 1000
        and 0 <= data.get("min_pass_rate", 0) <= 1
        and 0 <= data.get("threshold", 0) <= 1
        and all(isinstance(c, dict) and c for c in data.get("expect", []))
        and all(isinstance(c, dict) for c in data.get("cases", []))
    )


def _plain_message(message: Any) -> bool:
    if message is None:  # no messages: nothing to check
        return True
    return (
        isinstance(message, dict)
        and set(message) == {"role", "content"}
        and message["role"] in ("system", "user", "assistant", "developer")
        and isinstance(message["content"], str)
    )


_CASE_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": (str, int),
    "description": str,
    "vars": dict,
    "expect": list,
    "threshold": (int, float),
    "turns": list,
}


def _plainly_valid_case(data: dict[str, Any]) -> bool:
    """A quick look that passes the common case; anything unusual goes to the JSON Schema,
    which also words the error. Checks inside ``expect`` are validated when compiled."""
    for name, value in data.items():
        kind = _CASE_FIELD_TYPES.get(name)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            return False
    case_id = data.get("id")
    if isinstance(case_id, str) and not _plain_case_id(case_id):
        return False
    threshold = data.get("threshold", 0)
    checks = data.get("expect", [])
    plain = 0 <= threshold <= 1 and all(isinstance(c, dict) and c for c in checks)
    return plain and plain_turns(data.get("turns", ()))


# The quick look reads its rules from the schema, so that the two always agree.


def _plain_case_id(case_id: str) -> bool:
    pattern, longest = _case_id_rule()
    return len(case_id) <= longest and pattern.search(case_id) is not None


@cache
def _case_id_rule() -> tuple[re.Pattern[str], int]:
    rule = spec_schema()["$defs"]["case"]["properties"]["id"]
    return re.compile(rule["pattern"]), int(rule["maxLength"])


@cache
def _reserved_params() -> frozenset[str]:
    """What a request is made of: a param of the same name would replace it silently."""
    return frozenset(spec_schema()["properties"]["params"]["propertyNames"]["not"]["enum"])
