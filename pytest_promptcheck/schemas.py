"""JSON Schema: loading and validation, for ``format.schema`` and the ``schema`` check.

The validator is picked from the schema's ``$schema`` (Draft 2020-12 when absent) and asserts
``format`` keywords (``date``, ``email``, ...) that jsonschema can check, as a user of Ajv expects.
A schema file must lie under the rootdir, and its ``$ref``s resolve only to files in its own
folder (schema_refs.py); an inline schema's refs resolve in the prompt file's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_promptcheck.bounds import file_too_large, json_hint, loads_json
from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.quoting import clip, format_path
from pytest_promptcheck.yaml_loader import YamlRefused, parse_yaml

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator

    from pytest_promptcheck.schema_refs import Resources

_SCHEMA_HINT = "see https://json-schema.org/understanding-json-schema/ for the keywords"


@dataclass(frozen=True)
class Schema:
    """A JSON Schema as written, with the documents its ``$ref``s reach (found at collection)."""

    contents: dict[str, Any]
    resources: Resources = ()

    @cached_property
    def validator(self) -> Validator:
        """Built once per schema (equal schemas share one): samples only validate."""
        return _validator(canonical_json({"schema": self.contents, "resources": self.resources}))

    def payload(self) -> Any:
        """What fingerprints and cache keys hash: the schema by its content, refs included."""
        if not self.resources:
            return self.contents
        return {"schema": self.contents, "$ref documents": dict(self.resources)}


def load_schema(arg: Any, base_dir: Path, project: Project) -> Schema:
    """An inline schema (a mapping) or a ``.json``/``.yaml``/``.yml`` file relative to base_dir."""
    # imported here: referencing and attrs take 27 ms to import, and most prompts have no schema
    from pytest_promptcheck.schema_refs import resolve_refs

    if isinstance(arg, dict):
        _check_schema(arg, "")
        return Schema(arg, resolve_refs(arg, base_dir.resolve(), project, _read_ref))
    if not isinstance(arg, str) or not arg:
        raise CheckArgError(
            "expected a schema file path or an inline JSON Schema mapping",
            hint="e.g. schema: schemas/ticket.schema.json, or schema: {type: object}",
        )
    path = project.confine(base_dir / arg, arg)  # OutsideProject is a CheckArgError
    schema = _read_schema_file(arg, path)
    _check_schema(schema, f" in {arg}")
    try:
        return Schema(schema, resolve_refs(schema, path.parent, project, _read_ref))
    except CheckArgError as exc:
        raise CheckArgError(f"in {arg}: {exc.message}", hint=exc.hint) from None


def _read_ref(uri: str, path: Path) -> Any:
    document = _read_schema_file(uri, path)
    _check_schema(document, f" in $ref {uri}")  # else an invalid one fails every sample later
    return document


def _read_schema_file(given: str, path: Path) -> dict[str, Any]:
    too_large = file_too_large(path)
    if too_large is not None:
        raise CheckArgError(f"schema file {given}: {too_large}", hint="split the schema")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is no error
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
    problem = _schema_problem(canonical_json(schema))
    if problem is not None:
        location, first_line = problem
        raise CheckArgError(
            f"invalid JSON Schema{where} at {location}: {first_line}", hint=_SCHEMA_HINT
        )


@lru_cache(maxsize=256)
def _schema_problem(schema_json: str) -> tuple[str, str] | None:
    # Memoised by content: a schema check repeated in every case is checked once (2.5 ms each).
    import jsonschema  # imported when a schema is first used: prompts without one never pay
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        location = ".".join(str(part) for part in exc.absolute_path) or "the top level"
        return location, exc.message.splitlines()[0]
    return None


def first_schema_error(instance: Any, schema: Schema | dict[str, Any]) -> str | None:
    """None when valid; else ``$.path: message`` for the first error ordered by JSON path."""
    if isinstance(schema, dict):
        schema = Schema(schema)
    try:
        errors = list(schema.validator.iter_errors(instance))
    except RecursionError:  # a $ref that leads back to itself: {"$ref": "#"}
        return "the schema refers to itself without end ($ref loop)"
    if not errors:
        return None
    first = min(errors, key=_error_order)
    return clip(f"{format_path(list(first.absolute_path))}: {first.message.splitlines()[0]}")


def _error_order(error: jsonschema.ValidationError) -> tuple[Any, ...]:
    # Keys and indices are never compared with each other: the flag in front differs.
    path = tuple((isinstance(part, str), part) for part in error.absolute_path)
    return (path, [str(part) for part in error.relative_schema_path], error.message)


@lru_cache(maxsize=64)
def _validator(key: str) -> Validator:
    # Keyed by canonical JSON: equal schemas (with equal ref documents) share one validator.
    from jsonschema.validators import validator_for

    loaded = json.loads(key)
    schema = loaded["schema"]
    resources = tuple((uri, document) for uri, document in loaded["resources"])
    from jsonschema.validators import extend

    from pytest_promptcheck.schema_patterns import KEYWORDS
    from pytest_promptcheck.schema_refs import registry_of

    base = validator_for(schema)
    bounded = extend(base, KEYWORDS)  # type: ignore[no-untyped-call]  # regexes: time limit
    registry = registry_of(schema, resources)
    validator: Validator = bounded(schema, registry=registry, format_checker=base.FORMAT_CHECKER)
    return validator
