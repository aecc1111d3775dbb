"""The entries of the response cache as portable, content-addressed JSON files.

The response store holds three kinds of value, each JSON text under a sha256 hex key: a model
completion, a flow case's record of the requests it made (a list), and a captured SDK response
(keys prefixed ``http/``). The claims of calls in flight live in another store and are never
exported. An export file is the canonical JSON of ``{"format", "kind", "key", "value"}`` plus a
newline, named by the sha256 of its bytes: the same entry always gives the same file, so exports
merge by copying files, and a file whose bytes do not match its name was changed.

Files to import may come from anywhere (a CI artifact): a value is checked against the shape its
kind has before it is stored, and JSON's non-standard constants (NaN, Infinity) are refused.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pytest_promptcheck.cache import HTTP_NAMESPACE
from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.capture_keys import StoredResponse
from pytest_promptcheck.records import Completion

EXPORT_FORMAT = 1
HEX_KEY = re.compile(r"[0-9a-f]{64}")


class Kind(StrEnum):
    COMPLETION = "completion"
    FLOW_RECORD = "flow-record"
    HTTP = "http"


class InvalidEntry(ValueError):
    """A value or export file that is not a cache entry; the message says why."""


@dataclass(frozen=True)
class Entry:
    kind: Kind
    key: str
    """The sha256 hex key, without the ``http/`` namespace."""
    value: Any
    """The parsed JSON value, checked for its kind."""

    @property
    def store_key(self) -> str:
        return HTTP_NAMESPACE + self.key if self.kind is Kind.HTTP else self.key

    def store_text(self) -> str:
        """The text the cache itself writes for this value (cache.py, capture_keys.py)."""
        ascii_only = self.kind is not Kind.HTTP
        return json.dumps(self.value, sort_keys=True, ensure_ascii=ascii_only)

    def file_bytes(self) -> bytes:
        data = {"format": EXPORT_FORMAT, "kind": self.kind.value, "key": self.key}
        return (canonical_json({**data, "value": self.value}) + "\n").encode("utf-8")

    def file_name(self) -> str:
        """``ab/abcd….json``: the sha256 of the file's bytes, sharded by its first two digits."""
        digest = hashlib.sha256(self.file_bytes()).hexdigest()
        return f"{digest[:2]}/{digest}.json"


def same_value(text: str, other: str) -> bool:
    """Whether two stored texts hold the same JSON value (formatting aside)."""
    return canonical_json(json.loads(text)) == canonical_json(json.loads(other))


def from_store(store_key: str, text: object) -> Entry:
    """The entry a response-store row holds; raises InvalidEntry for anything else."""
    if not isinstance(text, str):
        raise InvalidEntry(f"not text but {type(text).__name__}")
    value = _loads(text)
    if store_key.startswith(HTTP_NAMESPACE):
        return checked(Kind.HTTP, store_key.removeprefix(HTTP_NAMESPACE), value)
    return checked(
        Kind.FLOW_RECORD if isinstance(value, list) else Kind.COMPLETION, store_key, value
    )


def from_file(data: bytes) -> Entry:
    """The entry an export file holds; raises InvalidEntry saying what is wrong with it."""
    try:
        document = _loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidEntry("not UTF-8 text") from None
    if not isinstance(document, dict) or set(document) != {"format", "kind", "key", "value"}:
        raise InvalidEntry(
            'not an export entry: expected the fields "format", "kind", "key", "value"'
        )
    if document["format"] != EXPORT_FORMAT:
        raise InvalidEntry(
            f"export format {document['format']!r}, this version reads {EXPORT_FORMAT} "
            "(export it again with this version)"
        )
    try:
        kind = Kind(document["kind"])
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise InvalidEntry(f"unknown kind {document['kind']!r} (one of {kinds})") from None
    return checked(kind, document["key"], document["value"])


def checked(kind: Kind, key: object, value: Any) -> Entry:
    if not isinstance(key, str) or not HEX_KEY.fullmatch(key):
        raise InvalidEntry(f"key {str(key)[:80]!r} is not a sha256 hex digest")
    try:
        _CHECKS[kind](value)
    except InvalidEntry:
        raise
    except (ValueError, OverflowError, UnicodeError, KeyError, TypeError) as exc:
        # what from_json/from_text refuse (a latency too large for a float, a lone surrogate)
        raise InvalidEntry(f"{kind.value}: {type(exc).__name__}: {str(exc)[:80]}") from None
    return Entry(kind, key, value)


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise InvalidEntry("JSON nested too deeply") from None
    except ValueError as exc:
        raise InvalidEntry(f"not JSON ({exc})") from None


def _no_constant(name: str) -> Any:
    raise InvalidEntry(f"{name} is not a JSON number")


def _finite(literal: str) -> float:
    """A float, refusing one too large for it (``1e999`` would be stored as ``Infinity``)."""
    number = float(literal)
    if not math.isfinite(number):
        raise InvalidEntry(f"{literal[:80]} is not a JSON number")
    return number


def _check_completion(value: Any) -> None:
    _fields(value, "completion", _COMPLETION_FIELDS, required={"text", "model_reported"})
    for call in value.get("tool_calls", []):
        _fields(call, "tool call", {"name": (str,), "arguments": (str,)}, {"name", "arguments"})
    if any(_is_bool(value.get(name)) for name in ("tokens_in", "tokens_out", "latency_ms")):
        raise InvalidEntry("completion: a count or latency is a boolean")
    Completion.from_json(value, cached=True)


def _check_flow_record(value: Any) -> None:
    if not isinstance(value, list):
        raise InvalidEntry("flow record: not a list of requests")
    for step in value:
        _fields(step, "flow record step", _STEP_FIELDS, required=set(_STEP_FIELDS))
        if not HEX_KEY.fullmatch(step["key"]):
            raise InvalidEntry("flow record step: its key is not a sha256 hex digest")


def _check_http(value: Any) -> None:
    required = {"format", "status", "headers", "latency_ms", "request"}
    _fields(value, "captured response", _HTTP_FIELDS, required)
    if ("body" in value) == ("body_base64" in value):
        raise InvalidEntry('captured response: needs exactly one of "body" and "body_base64"')
    if _is_bool(value["status"]) or not 200 <= value["status"] < 300:
        raise InvalidEntry("captured response: only 2xx answers are cached")
    headers = value["headers"]
    if not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(s, str) for s in h) for h in headers
    ):
        raise InvalidEntry("captured response: headers must be [name, value] pairs of text")
    try:
        StoredResponse.from_text(json.dumps(value))  # decodes body_base64, validating it
    except binascii.Error:
        raise InvalidEntry("captured response: body_base64 is not base64") from None


def _fields(value: Any, what: str, types: dict[str, tuple[type, ...]], required: set[str]) -> None:
    if not isinstance(value, dict):
        raise InvalidEntry(f"{what}: not a JSON object")
    unknown = sorted(set(value) - set(types))
    if unknown:
        raise InvalidEntry(f"{what}: unknown field {unknown[0][:80]!r}")
    missing = sorted(required - set(value))
    if missing:
        raise InvalidEntry(f"{what}: missing field {missing[0]!r}")
    for name, field_value in value.items():
        if not isinstance(field_value, types[name]):
            raise InvalidEntry(f"{what}: field {name!r} has the wrong type")


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


_NUMBER = (int, float)
_OPTIONAL_TEXT = (str, type(None))
_COMPLETION_FIELDS: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "model_reported": (str,),
    "tokens_in": (int,),
    "tokens_out": (int,),
    "latency_ms": _NUMBER,
    "cost_usd": (*_NUMBER, type(None)),
    "system_fingerprint": _OPTIONAL_TEXT,
    "finish_reason": _OPTIONAL_TEXT,
    "tool_calls": (list,),
}
_STEP_FIELDS: dict[str, tuple[type, ...]] = {"step": (str,), "key": (str,), "request": (dict,)}
_HTTP_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (int,),
    "status": (int,),
    "headers": (list,),
    "latency_ms": _NUMBER,
    "request": (dict,),
    "body": (str,),
    "body_base64": (str,),
}
_CHECKS = {
    Kind.COMPLETION: _check_completion,
    Kind.FLOW_RECORD: _check_flow_record,
    Kind.HTTP: _check_http,
}
