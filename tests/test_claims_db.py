"""The in-flight store's file: claims by the batch, takeovers, expiry, and a file that is junk."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from pytest_promptcheck.cache import CacheHealth
from pytest_promptcheck.claims_db import FILE_NAME, ClaimsDb
from pytest_promptcheck.records import Completion
from pytest_promptcheck.shared import SharedCalls

KEYS = [f"{i:064x}" for i in range(3)]


def alive(holder: str) -> bool:
    return True


def dead(holder: str) -> bool:
    return False


def test_a_held_key_is_not_claimed_again_until_released(tmp_path: Path) -> None:
    first, second = ClaimsDb(tmp_path), ClaimsDb(tmp_path)
    assert first.claim(KEYS, "a", 60, alive) == dict.fromkeys(KEYS, True)
    assert second.claim(KEYS, "b", 60, alive) == dict.fromkeys(KEYS, False)
    assert second.holder(KEYS[0]) == "a"
    first.release(KEYS[:2], "a")
    assert second.claim(KEYS, "b", 60, alive) == {KEYS[0]: True, KEYS[1]: True, KEYS[2]: False}
    first.close()
    second.close()


def test_a_release_by_another_holder_leaves_the_claim(tmp_path: Path) -> None:
    db = ClaimsDb(tmp_path)
    db.claim(KEYS[:1], "a", 60, alive)
    db.release(KEYS[:1], "b")  # b's claim expired and was taken over by a
    assert db.holder(KEYS[0]) == "a"
    db.close()


def test_an_expired_claim_is_taken_over(tmp_path: Path) -> None:
    db = ClaimsDb(tmp_path)
    db.claim(KEYS[:1], "a", 0.01, alive)
    time.sleep(0.05)
    assert db.holder(KEYS[0]) is None
    assert db.claim(KEYS[:1], "b", 60, alive) == {KEYS[0]: True}
    assert db.holder(KEYS[0]) == "b"
    db.close()


def test_a_dead_holders_claim_is_taken_over(tmp_path: Path) -> None:
    db = ClaimsDb(tmp_path)
    db.claim(KEYS[:1], "a", 60, alive)
    assert db.claim(KEYS[:1], "b", 60, dead) == {KEYS[0]: True}
    assert db.holder(KEYS[0]) == "b"
    db.close()


def test_published_values_are_read_until_they_expire(tmp_path: Path) -> None:
    db = ClaimsDb(tmp_path)
    db.publish([("run:done:k", "v"), ("run:error:j", "e")], 60)
    db.publish([("old:done:k", "v")], 0.01)
    time.sleep(0.05)
    assert (db.published("run:done:k"), db.published("run:error:j")) == ("v", "e")
    assert db.published("old:done:k") is None
    db.close()


def test_a_junk_file_fails_as_sqlite_and_the_calls_go_ahead(tmp_path: Path) -> None:
    """The cache directory may come from elsewhere: junk where the database should be costs the
    claims (the cache turns read-only), never a call or a traceback."""
    (tmp_path / "in-flight").mkdir()
    (tmp_path / "in-flight" / FILE_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        ClaimsDb(tmp_path / "in-flight").claim(KEYS, "a", 60, alive)

    health = CacheHealth()
    shared = SharedCalls(tmp_path, None, 60, health)

    async def call() -> Completion:
        return Completion(text="ok", model_reported="m")

    answer = asyncio.run(shared.once(KEYS[0], call, asyncio.Semaphore(1), lambda: None))
    assert answer.text == "ok"
    assert not health.writable
    shared.close()


def test_a_holder_nested_too_deep_for_json_is_no_holder(tmp_path: Path) -> None:
    """A planted claim whose holder is not readable JSON is taken over, not a traceback."""
    db = ClaimsDb(tmp_path / "in-flight")
    db.claim(KEYS[:1], "[" * 100_000, 60, alive)
    db.close()
    shared = SharedCalls(tmp_path, None, 60, CacheHealth())

    async def call() -> Completion:
        return Completion(text="ok", model_reported="m")

    answer = asyncio.run(shared.once(KEYS[0], call, asyncio.Semaphore(1), lambda: None))
    assert answer.text == "ok"
    shared.close()
