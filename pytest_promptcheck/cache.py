"""Response cache on diskcache: canonical keys, modes, and JSON values (never pickle)."""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.records import Completion, ModelRequest

KEY_FORMAT = 1
HTTP_NAMESPACE = "http/"
"""Prefix of the keys of captured HTTP responses (capture.py), apart from model completions."""


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


class CacheHealth:
    """Whether the cache directory still works; shared by the response cache and the claims.

    The first failure (unwritable or full disk, a broken database, a corrupt value) disables
    both for the rest of the run: the cache only saves calls, so it must never cost a verdict.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self.read_only_reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the cache can still be read."""
        return self.reason is None

    @property
    def writable(self) -> bool:
        """Whether the cache and the claims can still be written."""
        return self.ok and self.read_only_reason is None

    def fail(self, exc: BaseException) -> None:
        if self.reason is None:
            self.reason = _why(exc)

    def read_only(self, exc: BaseException) -> None:
        """Writes failed, but what is recorded can still be read (a read-only directory)."""
        if self.read_only_reason is None:
            self.read_only_reason = _why(exc)

    def note(self) -> str | None:
        """The one line the run shows about it, if the cache failed."""
        if self.reason is not None:
            return f"promptcheck: cache disabled for this run: {self.reason}"
        if self.read_only_reason is not None:
            return (
                f"promptcheck: cache disabled for this run: {self.read_only_reason} "
                "(writes only: recorded answers are still read)"
            )
        return None


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no detail'}"


def cache_failures() -> tuple[type[BaseException], ...]:
    """What a failing cache directory raises: the OS, SQLite, diskcache's lock timeout, and a
    corrupt value (bad JSON or shape). Imported on first use, like diskcache itself."""
    import sqlite3

    import diskcache

    return (OSError, sqlite3.Error, diskcache.Timeout, ValueError, KeyError, TypeError)


class ResponseCache:
    """The on-disk store; opened on first use so ``off`` never touches the disk."""

    def __init__(self, directory: Path, mode: CacheMode, health: CacheHealth | None = None) -> None:
        self.directory = directory
        self.mode = mode
        self.health = health or CacheHealth()
        self._store: Any = None
        self._pending: dict[str, str] = {}
        """Answers put with ``put_soon``, written together by ``flush``; reads see them."""

    def _open(self) -> Any:
        if self._store is None:
            # diskcache is imported on first use: runs without prompt files never need it
            from pytest_promptcheck.stores import open_store

            directory = self.directory / "responses"
            try:
                self._store = open_store(directory)
            except cache_failures() as exc:
                self._store = self._read_only(directory, exc)
        return self._store

    def _read_only(self, directory: Path, exc: BaseException) -> Any:
        """A directory diskcache cannot open may still hold answers to read (a read-only
        mount of a restored cache); else the original failure stands."""
        import sqlite3

        from pytest_promptcheck.cache_readonly import ReadOnlyResponses

        if not self.mode.reads:
            raise exc
        try:
            store = ReadOnlyResponses(directory)
        except (OSError, sqlite3.Error):
            raise exc from None
        self.health.read_only(exc)
        return store

    def get(self, key: str) -> Completion | None:
        if not (self.mode.reads and self.health.ok):
            return None
        try:
            raw = self._pending.get(key) or self._open().get(key)
            if not isinstance(raw, str):
                return None
            return Completion.from_json(json.loads(raw), cached=True)
        except cache_failures() as exc:
            self._fail(exc)
            return None

    def holds(self, key: str) -> bool:
        """Whether a read would hit, without reading the value."""
        if not (self.mode.reads and self.health.ok):
            return False
        try:
            return key in self._pending or key in self._open()
        except cache_failures() as exc:
            self._fail(exc)
            return False

    def put(self, key: str, completion: Completion) -> None:
        if not (self.mode.writes and self.health.writable):
            return
        try:
            self._open().set(key, json.dumps(completion.to_json(), sort_keys=True))
        except cache_failures() as exc:  # a full disk: what is recorded can still be read
            self.health.read_only(exc)

    def put_soon(self, key: str, completion: Completion) -> None:
        """Write the answer with the others of the next ``flush``: one transaction per batch,
        not one per call (a commit each cost the event loop 0.3 ms and a wait on the disk)."""
        if self.mode.writes and self.health.writable:
            self._pending[key] = json.dumps(completion.to_json(), sort_keys=True)

    def flush(self) -> None:
        """Write what ``put_soon`` holds, in one transaction; a failure stops the writes only."""
        pending, self._pending = self._pending, {}
        if not (pending and self.health.writable):
            return
        try:
            store = self._open()
            with store.transact():
                for key, text in pending.items():
                    store.set(key, text)
        except cache_failures() as exc:
            self.health.read_only(exc)

    def get_record(self, key: str) -> Any:
        """A JSON value kept beside the responses (a flow case's requests), or None."""
        if not (self.mode.reads and self.health.ok):
            return None
        try:
            raw = self._open().get(key)
            return json.loads(raw) if isinstance(raw, str) else None
        except cache_failures() as exc:
            self._fail(exc)
            return None

    def put_record(self, key: str, value: Any) -> None:
        if not (self.mode.writes and self.health.writable):
            return
        try:
            self._open().set(key, json.dumps(value, sort_keys=True))
        except cache_failures() as exc:
            self.health.read_only(exc)

    def get_http(self, key: str) -> str | None:
        """A captured HTTP response's stored text (its own key namespace), if any."""
        if not (self.mode.reads and self.health.ok):
            return None
        try:
            raw = self._open().get(HTTP_NAMESPACE + key)
        except cache_failures() as exc:
            self._fail(exc)
            return None
        return raw if isinstance(raw, str) else None

    def put_http(self, key: str, text: str) -> None:
        if not (self.mode.writes and self.health.writable):
            return
        try:
            self._open().set(HTTP_NAMESPACE + key, text)
        except cache_failures() as exc:
            self.health.read_only(exc)

    def _fail(self, exc: BaseException) -> None:
        self.health.fail(exc)
        self.close()

    def close(self) -> None:
        self.flush()
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(*cache_failures()):
                store.close()
