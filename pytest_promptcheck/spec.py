"""Load and validate prompt files into PromptSpec and Case objects.

Everything a run needs is checked here, at collection time, so a bad file is one clear
collection error (``file:line: what is wrong`` + a hint) and never a traceback later.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_promptcheck.canonical import canonical_json, sha256_of
from pytest_promptcheck.case_files import RawCase, expand_cases
from pytest_promptcheck.checks import CheckRegistry
from pytest_promptcheck.documents import Document, PathKey, load_document
from pytest_promptcheck.errors import CheckArgError, SpecError
from pytest_promptcheck.files import default_name
from pytest_promptcheck.records import Message, ModelRequest
from pytest_promptcheck.render import (
    PromptTemplate,
    Template,
    TemplateError,
    compile_template,
    make_environment,
)
from pytest_promptcheck.schemas import Schema, load_schema
from pytest_promptcheck.verdict import CheckFn

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.protocols import Validator


@dataclass(frozen=True)
class CheckSpec:
    """One check of a case, prepared at collection time."""

    kind: str
    arg: Any
    weight: float
    run: CheckFn

    @property
    def label(self) -> str:
        text = self.arg if isinstance(self.arg, str) else canonical_json(self.arg)
        text = json.dumps(text) if isinstance(self.arg, str) else text
        return f"{self.kind} {text if len(text) <= 60 else text[:59] + '…'}"


@dataclass(frozen=True)
class Case:
    """One (input, expected) pair, rendered and ready to send."""

    id: str
    vars: dict[str, Any]
    checks: tuple[CheckSpec, ...]
    threshold: float | None
    messages: tuple[Message, ...] | None
    prompt: str | None
    doc: Document = field(compare=False, repr=False)
    key: PathKey = ()

    @property
    def source(self) -> Path:
        """The file the case is written in (the prompt file or a case file)."""
        return self.doc.path

    @property
    def line(self) -> int | None:
        return self.doc.line_of(self.key)


@dataclass(frozen=True)
class PromptSpec:
    path: Path
    name: str
    version: str | None
    description: str | None
    model: str | None
    params: dict[str, Any]
    format_type: str
    format_schema: Schema | None
    samples: int
    min_pass_rate: float
    cases: tuple[Case, ...]
    fingerprint: str
    template: PromptTemplate = field(default=PromptTemplate(), compare=False, repr=False)

    def request(self, case: Case, model: str) -> ModelRequest:
        return ModelRequest(
            model=model,
            messages=case.messages,
            prompt=case.prompt,
            params=self.params,
            format=self.format_payload(),
        )

    def format_payload(self) -> dict[str, Any]:
        schema = None if self.format_schema is None else self.format_schema.payload()
        return {"type": self.format_type, "schema": schema}


@cache
def spec_schema() -> dict[str, Any]:
    text = resources.files("pytest_promptcheck").joinpath("spec.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(definition: str | None) -> Validator:
    import jsonschema  # only a file that fails the quick look needs it

    schema = spec_schema()
    if definition is None:
        top = json.loads(json.dumps(schema))
        top["properties"]["cases"]["items"] = {"type": ["object"]}
        return jsonschema.Draft202012Validator(top)
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    )


def load_spec(path: Path, registry: CheckRegistry) -> PromptSpec:
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise SpecError(
            path,
            "a prompt file must be a mapping of fields",
            line=1,
            hint="start with e.g. 'prompt: ...' and 'cases: [...]'",
        )
    if not _plainly_valid_file(doc.data):
        _validate(doc, doc.data, (), None)
    return _build(doc, doc.data, registry)


def _build(doc: Document, data: dict[str, Any], registry: CheckRegistry) -> PromptSpec:
    base = doc.path.parent
    template = _template(doc, data)
    format_type = data.get("format", {}).get("type", "text")
    schema = _format_schema(doc, data, base, registry)
    file_checks = _checks(doc, data.get("expect", []), ("expect",), registry, base)
    cases = _cases(doc, data, template, file_checks, registry)
    threshold = data.get("threshold")
    if threshold is not None:
        cases = tuple(
            c if c.threshold is not None else _with_threshold(c, threshold) for c in cases
        )
    fingerprint = sha256_of(
        {
            "messages": data.get("messages"),
            "prompt": data.get("prompt"),
            "params": data.get("params", {}),
            "format": {"type": format_type, "schema": None if schema is None else schema.payload()},
        }
    )
    version = data.get("version")
    return PromptSpec(
        path=doc.path,
        name=data.get("name") or default_name(doc.path),
        version=None if version is None else str(version),
        description=data.get("description"),
        model=data.get("model"),
        params=data.get("params", {}),
        format_type=format_type,
        format_schema=schema,
        samples=data.get("samples", 1),
        min_pass_rate=float(data.get("min_pass_rate", 1.0)),
        cases=cases,
        fingerprint=fingerprint,
        template=template,
    )


def _with_threshold(case: Case, threshold: float) -> Case:
    return replace(case, threshold=threshold)


def _validate(doc: Document, data: Any, prefix: PathKey, definition: str | None) -> None:
    errors = list(_validator(definition).iter_errors(data))
    if not errors:
        return

    def where(error: jsonschema.ValidationError) -> int:
        key = (*prefix, *error.absolute_path)
        if error.validator == "additionalProperties":
            key = (*key, _unknown_fields(error)[0])
        return doc.line_of(key) or 0

    first = min(errors, key=where)
    message, hint = _describe(first, definition)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise SpecError(doc.path, message + more, line=where(first) or None, hint=hint)


def _describe(error: jsonschema.ValidationError, definition: str | None) -> tuple[str, str]:
    field = ".".join(str(p) for p in error.absolute_path) or "the file"
    if error.validator == "additionalProperties":
        allowed = _allowed_fields(error)
        unknown = _unknown_fields(error)
        close = difflib.get_close_matches(unknown[0], allowed, n=1)
        where = "" if not error.absolute_path else f" in {field}"
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
    "id": "a case id is one line of text",
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


def _template(doc: Document, data: dict[str, Any]) -> PromptTemplate:
    has_messages, has_prompt = "messages" in data, "prompt" in data
    if has_messages == has_prompt:
        problem = (
            "has both 'messages' and 'prompt'" if has_messages else "needs 'messages' or 'prompt'"
        )
        raise SpecError(
            doc.path,
            f"the prompt file {problem}",
            line=doc.line_of(("prompt",)) or 1,
            hint="use 'messages' for a chat prompt, 'prompt' for a completion prompt",
        )
    env = make_environment()
    if has_prompt:
        return PromptTemplate(prompt=_compile(doc, env, data["prompt"], ("prompt",)))
    return PromptTemplate(
        messages=tuple(
            (m["role"], _compile(doc, env, m["content"], ("messages", i, "content")))
            for i, m in enumerate(data["messages"])
        )
    )


def _compile(doc: Document, env: Any, source: str, key: PathKey) -> Template:
    try:
        return compile_template(env, source)
    except TemplateError as exc:
        line = doc.content_line_of(key)
        if line is not None and exc.line is not None:
            line += exc.line - 1
        raise SpecError(
            doc.path, f"{'.'.join(map(str, key))}: {exc.message}", line=line, hint=exc.hint
        ) from None


def _format_schema(
    doc: Document, data: dict[str, Any], base: Path, registry: CheckRegistry
) -> Schema | None:
    fmt = data.get("format", {})
    if "schema" not in fmt:
        return None
    if fmt.get("type", "text") != "json":
        raise SpecError(
            doc.path,
            "format.schema needs format.type: json",
            line=doc.line_of(("format", "schema")),
            hint="add 'type: json' to format",
        )
    try:
        return load_schema(fmt["schema"], base, registry.project)
    except CheckArgError as exc:
        raise SpecError(
            doc.path,
            f"format.schema: {exc.message}",
            line=doc.line_of(("format", "schema")),
            hint=exc.hint,
        ) from None


def _checks(
    doc: Document, items: list[Any], key: PathKey, registry: CheckRegistry, base: Path
) -> tuple[CheckSpec, ...]:
    return tuple(_check(doc, item, (*key, i), registry, base) for i, item in enumerate(items))


def _check(
    doc: Document, item: dict[str, Any], key: PathKey, registry: CheckRegistry, base: Path
) -> CheckSpec:
    kinds = [k for k in item if k != "weight"]
    if len(kinds) != 1:
        problem = (
            "has no check type" if not kinds else f"has several check types ({', '.join(kinds)})"
        )
        raise SpecError(
            doc.path,
            f"check {problem}",
            line=doc.line_of(key),
            hint="write one check per list item, e.g. '- contains: refund'",
        )
    kind = kinds[0]
    try:
        run = registry.compile(kind, item[kind], base)
    except CheckArgError as exc:
        raise SpecError(
            doc.path,
            f"check '{kind}': {exc.message}",
            line=doc.line_of((*key, kind)),
            hint=exc.hint,
        ) from None
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise SpecError(
            doc.path,
            f"check '{kind}': weight must be a number of 0 or more, got {weight!r}",
            line=doc.line_of((*key, "weight")),
            hint="e.g. '- contains: refund' with 'weight: 2' on the next line",
        )
    return CheckSpec(kind, item[kind], float(weight), run)


def _cases(
    doc: Document,
    data: dict[str, Any],
    template: PromptTemplate,
    file_checks: tuple[CheckSpec, ...],
    registry: CheckRegistry,
) -> tuple[Case, ...]:
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for number, raw in enumerate(expand_cases(doc, registry.project), start=1):
        if not _plainly_valid_case(raw.data):
            _validate(raw.doc, raw.data, raw.key, "case")
        case = _case(raw, number, template, file_checks, registry)
        if case.id in seen:
            first = seen[case.id]
            raise SpecError(
                case.source,
                f"duplicate case id '{case.id}' (first at {first.source.name}:{first.line})",
                line=case.line,
                hint="case ids must be unique in a prompt file; rename one",
            )
        seen[case.id] = case
        cases.append(case)
    return tuple(cases)


_FILE_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "version": (str, int, float),
    "description": str,
    "model": str,
    "params": dict,
    "messages": list,
    "prompt": str,
    "format": dict,
    "samples": int,
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
}


def _plainly_valid_case(data: dict[str, Any]) -> bool:
    """A quick look that passes the common case; anything unusual goes to the JSON Schema,
    which also words the error. Checks inside ``expect`` are validated when compiled."""
    for name, value in data.items():
        kind = _CASE_FIELD_TYPES.get(name)
        if kind is None or not isinstance(value, kind) or isinstance(value, bool):
            return False
    case_id = data.get("id")
    if isinstance(case_id, str) and (not case_id or "\n" in case_id or "\r" in case_id):
        return False
    threshold = data.get("threshold", 0)
    checks = data.get("expect", [])
    return 0 <= threshold <= 1 and all(isinstance(c, dict) and c for c in checks)


def _case(
    raw: RawCase,
    number: int,
    template: PromptTemplate,
    file_checks: tuple[CheckSpec, ...],
    registry: CheckRegistry,
) -> Case:
    data, doc = raw.data, raw.doc
    case_id = str(data.get("id", f"case-{number}"))
    case_vars = data.get("vars", {})
    checks = file_checks + _checks(
        doc, data.get("expect", []), (*raw.key, "expect"), registry, raw.prompt_dir
    )
    try:
        messages, prompt = template.render(case_vars)
    except TemplateError as exc:
        raise SpecError(
            doc.path, f"case '{case_id}': {exc.message}", line=doc.line_of(raw.key), hint=exc.hint
        ) from None
    return Case(case_id, case_vars, checks, data.get("threshold"), messages, prompt, doc, raw.key)
