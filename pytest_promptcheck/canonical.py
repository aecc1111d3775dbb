"""Canonical JSON and hashes: the same data always gives the same key."""

from __future__ import annotations

import hashlib
import json
from typing import Any

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
"""Made once: json.dumps with options other than the defaults makes an encoder per call, and
every cache key and fingerprint is canonical JSON."""


def canonical_json(data: Any) -> str:
    return _ENCODER.encode(data)


def sha256_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
