"""Response cache on diskcache: canonical keys, modes, and JSON values (never pickle)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.records import Completion, ModelRequest

KEY_FORMAT = 1


class CacheMode(StrEnum):
    USE = "use"
    """Read; call on a miss and write (default)."""
    REPLAY = "replay"
    """Read only; a miss is an error and no call is made."""
    REFRESH = "refresh"
    """Always call and overwrite."""
    OFF = "off"
    """Neither read nor write."""

    @property
    def reads(self) -> bool:
        return self in (CacheMode.USE, CacheMode.REPLAY)

    @property
    def writes(self) -> bool:
        return self in (CacheMode.USE, CacheMode.REFRESH)


def cache_key(request: ModelRequest, identity: dict[str, Any], sample: int) -> str:
    """Provider, identity (base URL, model file...), the full request and the sample index."""
    return sha256_of(
        {
            "format": KEY_FORMAT,
            "provider": request.provider,
            "identity": identity,
            "request": request.payload(),
            "sample": sample,
        }
    )


class ResponseCache:
    """The on-disk store; opened on first use so ``off`` never touches the disk."""

    def __init__(self, directory: Path, mode: CacheMode) -> None:
        self.directory = directory
        self.mode = mode
        self._store: Any = None

    def _open(self) -> Any:
        if self._store is None:
            import diskcache  # imported on first use: runs without prompt files never need it

            self._store = diskcache.Cache(str(self.directory / "responses"))
        return self._store

    def get(self, key: str) -> Completion | None:
        if not self.mode.reads:
            return None
        raw = self._open().get(key)
        if not isinstance(raw, str):
            return None
        return Completion.from_json(json.loads(raw), cached=True)

    def holds(self, key: str) -> bool:
        """Whether a read would hit, without reading the value."""
        return self.mode.reads and key in self._open()

    def put(self, key: str, completion: Completion) -> None:
        if self.mode.writes:
            self._open().set(key, json.dumps(completion.to_json(), sort_keys=True))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
