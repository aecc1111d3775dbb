"""A case record's JSON (what its call report carries, to other plugins and to the xdist
controller) and its usage figures."""

from __future__ import annotations

from pytest_promptcheck.case_record import CaseRecord, Usage
from pytest_promptcheck.drift import NEW_CASE
from pytest_promptcheck.records import Completion
from tests.entries import make_entry, make_record, usage
from tests.typed import same


def test_the_json_holds_every_field_in_order_and_reads_back() -> None:
    """to_json is written out field by field: a field added later must not be left out."""
    now, before = make_entry(["cold", "hot"], 1), make_entry(["cold", "cold"])
    record = make_record("c", now, before, NEW_CASE, unused=("gone",), used=usage(samples=2))
    data = record.to_json()
    assert list(data) == list(CaseRecord._fields)
    assert data["tally"] == [1, 2, "failed", 0.5]
    assert data["usage"] == [2, 2, 0, 10, 0.5, [100.0, 100.0], "m-2025"]
    assert CaseRecord.from_json(data) == record
    # == of named tuples takes 1, 1.0 and True as equal: the read-back record's own JSON must
    # hold the same values of the same types
    assert same(CaseRecord.from_json(data).to_json(), data)


def test_a_record_without_entries_reads_back() -> None:
    record = make_record("c", make_entry(["cold"]))
    small = CaseRecord.from_json({**record.to_json(), "entry": None, "baseline_tally": None})
    assert small.entry is None and small.baseline_tally is None
    assert small.tally == record.tally


def test_usage_adds_up_every_call() -> None:
    calls = [
        Completion("a", "m-1", tokens_in=3, tokens_out=2, latency_ms=10.04, cost_usd=0.25),
        Completion("b", "m-2", tokens_in=1, tokens_out=1, latency_ms=20.06, cost_usd=0.5),
        Completion("c", "m-3", latency_ms=5.0, cost_usd=0.0, cached=True),
    ]
    got = Usage.of(2, calls)
    assert got == Usage(2, 3, 1, 7, 0.75, (10.0, 20.1, 5.0), "m-1")
    assert type(got.cached) is int and got.live == 2


def test_usage_cost_is_unknown_when_any_call_cost_is() -> None:
    calls = [Completion("a", "m", cost_usd=0.25), Completion("b", "m", cost_usd=None)]
    assert Usage.of(2, calls).cost_usd is None


def test_usage_of_no_call_is_zero() -> None:
    assert Usage.of(0, []) == Usage(0, 0, 0, 0, 0, (), "")
