"""Read the responses of a cache directory that cannot be written.

A CI job may restore a cache onto a read-only mount and run in ``replay`` mode: diskcache
cannot open such a directory (it creates files and sets pragmas), yet every recorded answer is
there to read. This reads diskcache's table with SQLite's read-only mode, only the kinds of
value the response cache writes (text inline, or in a file of the directory), never pickle.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_RAW, _TEXT = 1, 3
"""diskcache's modes for a value stored in the table, and for text stored in a file."""


class ReadOnlyResponses:
    def __init__(self, directory: Path) -> None:
        self._directory = directory.resolve()
        database = self._directory / "cache.db"
        if not database.is_file():
            raise FileNotFoundError(f"no cache database in {directory}")
        self._db = _connect(database)

    def get(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1", (key,)
        ).fetchone()
        if row is None:
            return None
        mode, filename, value = row
        if mode == _RAW and isinstance(value, str):
            return value
        if mode == _TEXT and isinstance(filename, str):
            return self._file(filename).read_text(encoding="utf-8")
        return None  # not a kind the response cache writes

    def __contains__(self, key: str) -> bool:
        found = self._db.execute("SELECT 1 FROM Cache WHERE key = ? AND raw = 1", (key,)).fetchone()
        return found is not None

    def _file(self, filename: str) -> Path:
        path = (self._directory / filename).resolve()
        if not path.is_relative_to(self._directory):
            raise ValueError(f"cache value file outside the cache directory: {filename}")
        return path

    def close(self) -> None:
        self._db.close()


def _connect(database: Path) -> sqlite3.Connection:
    """Read-only; ``immutable`` when even SQLite's shared-memory file cannot be made there."""
    uri = database.as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True)
        db.execute("SELECT 1 FROM Cache LIMIT 1")
        return db
    except sqlite3.Error:
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
