"""The example flow's database runs SQL a model wrote: whatever it writes ends, and changes
nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SHOP = Path(__file__).parent.parent / "examples" / "flows" / "shop.py"


def shop() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_shop", SHOP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_count_query_gives_its_number() -> None:
    assert shop().run_sql("SELECT COUNT(*) FROM users WHERE city = 'Rome';") == 4


def test_a_query_that_never_ends_is_stopped_as_an_error() -> None:
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    assert shop().run_sql(endless) == "error: interrupted"


def test_a_second_statement_or_a_write_is_refused() -> None:
    module = shop()
    assert str(module.run_sql("SELECT 1; DROP TABLE users")).startswith("error:")
    assert str(module.run_sql("DELETE FROM users")).startswith("error:")
    assert module.run_sql("SELECT COUNT(*) FROM users") == 14
