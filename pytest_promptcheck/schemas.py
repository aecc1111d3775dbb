"""JSON Schema: loading for a prompt's ``format.schema`` and the ``schema`` check, and validation.

The validator is picked from the schema's ``$schema`` (Draft 2020-12 when absent) and asserts
``format`` keywords (``date``, ``email``, ...) that jsonschema can check, as a user of Ajv expects.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_promptcheck.bounds import file_too_large, json_hint, loads_json
from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.jsonpath import clip, format_path, output_json
from pytest_promptcheck.verdict import CheckFn, SampleContext, Verdict
from pytest_promptcheck.yaml_loader import YamlRefused, parse_yaml

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator

_SCHEMA_HINT = "see https://json-schema.org/understanding-json-schema/ for the keywords"


def load_schema(arg: Any, base_dir: Path) -> dict[str, Any]:
    """An inline schema (a mapping) or a ``.json``/``.yaml``/``.yml`` file relative to base_dir."""
    if isinstance(arg, dict):
        _check_schema(arg, "")
        return arg
    if not isinstance(arg, str) or not arg:
        raise CheckArgError(
            "expected a schema file path or an inline JSON Schema mapping",
            hint="e.g. schema: schemas/ticket.schema.json, or schema: {type: object}",
        )
    schema = _read_schema_file(arg, (base_dir / arg).resolve())
    _check_schema(schema, f" in {arg}")
    return schema


def _read_schema_file(given: str, path: Path) -> dict[str, Any]:
    too_large = file_too_large(path)
    if too_large is not None:
        raise CheckArgError(f"schema file {given}: {too_large}", hint="split the schema")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckArgError(
            f"schema file not found: {given} (looked in {path})",
            hint="paths in a prompt file are relative to the prompt file's folder",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckArgError(f"cannot read schema file {given}: {exc}") from None
    data = _parse(given, path, text)
    if not isinstance(data, dict):
        raise CheckArgError(
            f"schema file {given} must hold a JSON Schema object, got {type(data).__name__}",
            hint='a schema is a mapping, e.g. {"type": "object"}',
        )
    return data


def _parse(given: str, path: Path, text: str) -> Any:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return parse_yaml(text)
        except YamlRefused as refused:
            line = f":{refused.line}" if refused.line else ""
            raise CheckArgError(
                f"cannot use schema file {given}{line}: {refused.problem}", hint=refused.hint
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise CheckArgError(f"cannot parse schema file {given}{line}: {problem}") from None
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        raise CheckArgError(
            f"cannot parse schema file {given}:{exc.lineno}: {exc.msg} (column {exc.colno})",
            hint=json_hint(exc, "check for a missing comma, quote or bracket near this line"),
        ) from None


def _check_schema(schema: dict[str, Any], where: str) -> None:
    import jsonschema  # imported when a schema is first used: prompts without one never pay
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        location = ".".join(str(part) for part in exc.absolute_path) or "the top level"
        first_line = exc.message.splitlines()[0]
        raise CheckArgError(
            f"invalid JSON Schema{where} at {location}: {first_line}", hint=_SCHEMA_HINT
        ) from None


def first_schema_error(instance: Any, schema: dict[str, Any]) -> str | None:
    """None when valid; else ``$.path: message`` for the first error ordered by JSON path."""
    errors = list(_validator(canonical_json(schema)).iter_errors(instance))
    if not errors:
        return None
    first = min(errors, key=_error_order)
    return clip(f"{format_path(list(first.absolute_path))}: {first.message.splitlines()[0]}")


def _error_order(error: jsonschema.ValidationError) -> tuple[Any, ...]:
    # Keys and indices are never compared with each other: the flag in front differs.
    path = tuple((isinstance(part, str), part) for part in error.absolute_path)
    return (path, [str(part) for part in error.relative_schema_path], error.message)


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Validator:
    # Keyed by the schema's canonical JSON: equal schemas share one compiled validator.
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_check(arg: Any, base_dir: Path) -> CheckFn:
    """``schema: S``: the output, as JSON, is valid against S (a file path or inline schema).

    The output is the parsed JSON (the text is parsed when the prompt's format is not json).
    The reason names the first failing element by JSON path, e.g. ``schema: $.queue: ...``.
    """
    schema = load_schema(arg, base_dir)

    def run(ctx: SampleContext) -> Verdict:
        document, error = output_json(ctx)
        if error is not None:
            return Verdict(False, 0.0, f"schema: output is not JSON: {error}", evaluated=False)
        problem = first_schema_error(document, schema)
        if problem is None:
            return Verdict(True, 1.0, "schema: valid")
        return Verdict(False, 0.0, f"schema: {problem}")

    return run
