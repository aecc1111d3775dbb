"""The in-flight store's file: claims on cache keys, and the outcomes xdist workers publish.

One SQLite database (standard library ``sqlite3``, WAL, a busy timeout for the processes that
share it) with two tables, each row expiring. Claims are made and released by the batch, each
batch one statement run over many rows in one transaction: diskcache did a claim and its
release as a dozen statements per key in Python (0.5 s of a 10,000-call run,
benchmarks/README.md). Values are text the caller wrote; nothing read back is ever executed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

FILE_NAME = "claims.sqlite3"
_CHUNK = 500
"""Keys per ``IN (...)`` query: far below SQLite's limit on bound values."""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS claims "
    "(key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS published "
    "(name TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL) WITHOUT ROWID",
)
_CLAIM = (
    "INSERT INTO claims VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
    "SET holder = excluded.holder, expires = excluded.expires WHERE claims.expires <= ?"
)


class ClaimsDb:
    """Opened on first use; raises sqlite3.Error or OSError when the file fails."""

    def __init__(self, directory: Path, busy_timeout_s: float = 60.0) -> None:
        self._directory = directory
        self._busy_timeout_s = busy_timeout_s
        self._db: sqlite3.Connection | None = None

    def claim(
        self, keys: Sequence[str], holder: str, ttl_s: float, alive: Callable[[str], bool]
    ) -> dict[str, bool]:
        """Which of ``keys`` ``holder`` now holds: free ones, expired ones, and those whose
        holder is not ``alive`` (taken over); all in one transaction."""
        db = self._open()
        now = time.time()
        with _immediate(db):
            db.executemany(_CLAIM, [(key, holder, now + ttl_s, now) for key in keys])
            holders = self._holders(db, keys)
            # each other holder asked once (it parses JSON and signals a pid), not once per key
            others = {h: alive(h) for h in set(holders.values()) if h != holder}
            dead = [k for k, h in holders.items() if h != holder and not others[h]]
            db.executemany(
                "UPDATE claims SET holder = ?, expires = ? WHERE key = ?",
                [(holder, now + ttl_s, key) for key in dead],
            )
        return {key: holders.get(key) == holder or key in dead for key in keys}

    def release(self, keys: Iterable[str], holder: str) -> None:
        """Give up ``holder``'s claims on ``keys`` (one taken over meanwhile stays)."""
        db = self._open()
        with _immediate(db):
            db.executemany(
                "DELETE FROM claims WHERE key = ? AND holder = ?", [(k, holder) for k in keys]
            )

    def holder(self, key: str) -> str | None:
        """Who holds an unexpired claim on ``key``."""
        row = (
            self._open()
            .execute("SELECT holder FROM claims WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def publish(self, entries: Iterable[tuple[str, str]], ttl_s: float) -> None:
        """Store ``(name, value)`` pairs until ``ttl_s`` from now."""
        expires = time.time() + ttl_s
        db = self._open()
        with _immediate(db):
            db.executemany(
                "INSERT OR REPLACE INTO published VALUES (?, ?, ?)",
                [(name, value, expires) for name, value in entries],
            )

    def published(self, name: str) -> str | None:
        row = (
            self._open()
            .execute(
                "SELECT value FROM published WHERE name = ? AND expires > ?", (name, time.time())
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def _holders(self, db: sqlite3.Connection, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = db.execute(f"SELECT key, holder FROM claims WHERE key IN ({marks})", chunk)
            found.update((str(key), str(holder)) for key, holder in rows)
        return found

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            self._directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self._directory / FILE_NAME,
                timeout=self._busy_timeout_s,
                isolation_level=None,  # transactions are begun explicitly
                check_same_thread=False,
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    db.execute(statement)
                now = time.time()  # rows of runs long ended
                db.execute("DELETE FROM claims WHERE expires <= ?", (now,))
                db.execute("DELETE FROM published WHERE expires <= ?", (now,))
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db


class _immediate:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error): the write lock is taken
    at the start, so two processes claiming at once wait for each other, never deadlock."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
