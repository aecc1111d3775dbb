"""A small application to test end to end: a question becomes SQL (a few-shot prompt), the SQL
runs on a SQLite database, and the result becomes a sentence (a second few-shot prompt).

`flow.prompt.yaml` names `answer` as its flow; pytest-promptcheck runs it once per case and
sample, and every model call inside it goes through the plugin's cache.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_promptcheck.flow_context import FlowContext

USERS = [
    ("Ana", "Rome"), ("Bruno", "Rome"), ("Chiara", "Rome"), ("Dario", "Rome"),
    ("Elena", "Madrid"), ("Felipe", "Madrid"),
    ("Greta", "Vienna"), ("Hans", "Vienna"), ("Ida", "Vienna"),
    ("Jack", "London"), ("Kate", "London"), ("Liam", "London"), ("Mia", "London"),
    ("Noah", "London"),
]  # fmt: skip
MAX_STEPS = 10_000_000
"""SQLite virtual-machine steps one query may take (a count here takes a few hundred)."""
ORDERS = [(1, 40.0), (1, 120.0), (2, 15.5), (5, 230.0), (7, 99.0), (7, 101.0), (10, 12.0)]


def database() -> sqlite3.Connection:
    """A fresh in-memory database, read-only once filled: the SQL comes from a model."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL)")
    db.executemany("INSERT INTO users (name, city) VALUES (?, ?)", USERS)
    db.executemany("INSERT INTO orders (user_id, total) VALUES (?, ?)", ORDERS)
    db.execute("PRAGMA query_only = ON")
    # a model can write a query that never ends (a recursive CTE): stop it after a bounded
    # amount of work, as an error the flow reports like any other
    db.set_progress_handler(lambda: 1, MAX_STEPS)
    return db


def run_sql(sql: str) -> int | str:
    """The single number a count query answers, or the database's error as text."""
    with database() as db:
        try:
            row = db.execute(sql).fetchone()  # one statement only: sqlite3 refuses more
        except sqlite3.Error as exc:
            return f"error: {exc}"
    return row[0] if row and isinstance(row[0], int) else f"not a count: {row!r}"


def answer(vars: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    question = vars["question"]
    sql = ctx.run("steps/to_sql.prompt.yaml", question=question).text.strip()
    result = run_sql(sql)
    phrased = ctx.run("steps/phrase.prompt.yaml", question=question, result=result)
    return {"sql": sql, "result": result, "answer": phrased.text.strip()}
