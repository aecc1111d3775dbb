"""JSON Schema's regex keywords, matched with a time limit.

``pattern``, ``patternProperties`` and ``additionalProperties`` (beside patternProperties) run a
schema's regex against the model's output, its strings and its keys; jsonschema uses Python's
``re``, which a pattern such as ``^(a|aa)+$`` keeps busy for hours on a short answer. These
three keywords are replaced by versions that match through ``patterns.compile_pattern`` (the
``regex`` package, 1 s per match); a match that gives up is a validation error of the sample.
``unevaluatedProperties`` over ``patternProperties`` still matches with ``re`` (rare; the README
says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError

from pytest_promptcheck.patterns import Pattern, RegexGaveUp, compile_pattern


@lru_cache(maxsize=256)
def _compiled(source: str) -> Pattern | None:
    try:
        return compile_pattern(source)
    except re.error:
        return None  # a pattern only re accepts; the schema's own check has seen it compile


def _search(source: str, text: str) -> bool:
    compiled = _compiled(source)
    if compiled is None:
        raise RegexGaveUp(f"the pattern {source!r} cannot be used")
    return compiled.search(text) is not None


def pattern(validator: Any, source: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        if not _search(source, instance):
            yield ValidationError(f"{instance!r} does not match {source!r}")
    except RegexGaveUp as exc:
        yield ValidationError(f"pattern {source!r}: {exc}")


def pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for source, subschema in patterns.items():
        for key, value in instance.items():
            try:
                matched = _search(source, key)
            except RegexGaveUp as exc:
                yield ValidationError(f"patternProperties {source!r} on key {key!r}: {exc}")
                continue
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=source)


def additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    try:
        extras = _extras(instance, schema)
    except RegexGaveUp as exc:
        yield ValidationError(f"patternProperties: {exc}")
        return
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:  # jsonschema's own wording
        names = ", ".join(repr(extra) for extra in sorted(extras, key=str))
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            patterns = ", ".join(repr(source) for source in sorted(schema["patternProperties"]))
            yield ValidationError(f"{names} {verb} not match any of the regexes: {patterns}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({names} {verb} unexpected)"
            )


def _extras(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in properties and not any(_search(source, key) for source in patterns)
    ]


KEYWORDS = {
    "pattern": pattern,
    "patternProperties": pattern_properties,
    "additionalProperties": additional_properties,
}
