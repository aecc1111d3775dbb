"""What an application's HTTP request to a provider is cached under, and how its answer is stored.

A captured request is keyed on what decides the answer and nothing that identifies the caller:
the method, the path and query (minus credential-looking parameters), the canonical JSON body,
the API-version headers, the flow's sample and the occurrence of the same request within the
flow's run. The host is not keyed: a local server's port changes from run to run, and the model
named in the body already tells providers apart. The API key and every other header never reach
the key or the stored entry.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pytest_promptcheck.canonical import canonical_json, sha256_of

CAPTURE_KEY_FORMAT = 1

VERSION_HEADERS = (
    "anthropic-beta",
    "anthropic-version",
    "api-version",
    "openai-beta",
    "openai-version",
    "x-api-version",
)
"""Headers that choose the API's behaviour, so they are part of the key (SDK version headers such
as ``x-stainless-*`` are not: upgrading the SDK must not make every recording miss)."""

_SECRET_PARTS = ("key", "token", "secret", "signature", "sig", "auth", "password")
_SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "proxy-authorization")
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"}
)
"""The stored body is the decoded one, so framing and encoding headers would lie about it."""
_PRIVATE_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})


@dataclass(frozen=True)
class Origin:
    """A provider's base URL, split for matching."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url.strip())
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return cls(scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/"))

    def covers(self, scheme: str, host: str, port: int | None, path: str) -> bool:
        """Whether a request URL lies under this base URL (whole path segments only)."""
        default = 443 if scheme == "https" else 80
        if (scheme, host.lower(), port or default) != (self.scheme, self.host, self.port):
            return False
        return path == self.path or path.startswith(self.path + "/")


def canonical_body(raw: bytes) -> Any:
    """A JSON body as data (so key order and spacing do not matter), else the bytes' hash."""
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return {"sha256-of-bytes": sha256_of(base64.b64encode(raw).decode("ascii"))}


def public_query(query: str) -> list[list[str]]:
    """The query's parameters, sorted, without those that look like credentials (``?key=``)."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return sorted([name, value] for name, value in pairs if not _looks_secret(name))


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_PARTS)


def version_headers(headers: Any) -> dict[str, str]:
    """The API-version headers present on a request, by lower-case name."""
    return {name: headers[name] for name in VERSION_HEADERS if name in headers}


@dataclass(frozen=True)
class RequestShape:
    """Everything a captured request is keyed on, apart from the occurrence."""

    method: str
    path: str
    query: list[list[str]]
    body: Any
    versions: dict[str, str]
    sample: int

    def material(self, occurrence: int) -> dict[str, Any]:
        return {
            "format": CAPTURE_KEY_FORMAT,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "versions": self.versions,
            "sample": self.sample,
            "occurrence": occurrence,
        }

    def key(self, occurrence: int) -> str:
        return sha256_of(self.material(occurrence))

    @property
    def identity(self) -> str:
        """Identical requests of one scope share this (it counts their occurrences)."""
        return canonical_json(self.material(0))

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def streams(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


def secrets_of(headers: Any) -> list[str]:
    """The credential values a request carries, to be kept out of anything stored."""
    found: list[str] = []
    for name in _SECRET_HEADERS:
        value = headers.get(name)
        if value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token)
    return [value for value in found if len(value) >= 8]


@dataclass(frozen=True)
class StoredResponse:
    """A provider's 2xx answer as the cache keeps it: text JSON, never pickle."""

    status: int
    headers: list[list[str]]
    body: bytes
    latency_ms: float

    @classmethod
    def of(cls, status: int, headers: Any, body: bytes, latency_ms: float) -> StoredResponse:
        kept = [
            [name.lower(), value]
            for name, value in headers.multi_items()
            if name.lower() not in _DROPPED_RESPONSE_HEADERS | _PRIVATE_RESPONSE_HEADERS
        ]
        return cls(status, kept, body, round(latency_ms, 3))

    def to_text(self, request: dict[str, Any], secrets: list[str]) -> str:
        data: dict[str, Any] = {
            "format": CAPTURE_KEY_FORMAT,
            "status": self.status,
            "headers": self.headers,
            "latency_ms": self.latency_ms,
            "request": request,
        }
        try:
            data["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body_base64"] = base64.b64encode(self.body).decode("ascii")
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        for secret in secrets:  # a server that echoes the key back must not get it stored
            text = text.replace(secret, "[redacted]")
        return text

    @classmethod
    def from_text(cls, text: str) -> StoredResponse:
        """Raises ValueError (or KeyError, TypeError) on an entry of the wrong shape."""
        data = json.loads(text)
        if "body_base64" in data:
            body = base64.b64decode(data["body_base64"], validate=True)
        else:
            body = str(data["body"]).encode("utf-8")
        headers = [[str(name), str(value)] for name, value in data["headers"]]
        return cls(int(data["status"]), headers, body, float(data["latency_ms"]))


OWN_REQUEST = "promptcheck_own_request"
"""A request extension the plugin's own provider client sets: its requests are never captured."""
