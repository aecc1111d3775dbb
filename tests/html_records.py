"""Case records that exercise every part of the .html report: moved cases with causes, JSON
outputs, sampled cases with grouped outputs, a judge's reasoning, tool calls, a flow trace, an
output that tries to be markup; and a large run of plain cases for the size benchmark."""

from __future__ import annotations

from dataclasses import replace

from pytest_promptcheck.case_record import CaseRecord
from pytest_promptcheck.drift import classify
from pytest_promptcheck.entry import BaselineEntry, CheckScore, SampleRecord
from pytest_promptcheck.policy import DriftMode, DriftPolicy
from tests.entries import make_entry, make_record, sample

HOSTILE = "</script><img src=x onerror=alert(1)><!-- & \u2028 <h1 id=owned>owned</h1>"
POLICY = DriftPolicy(mode=DriftMode.FAIL)


def _record(
    case: str,
    baseline: BaselineEntry | None,
    now: BaselineEntry,
    prompt: str = "support",
    policy: DriftPolicy = POLICY,
) -> CaseRecord:
    return make_record(case, now, baseline, classify(baseline, now, policy), prompt=prompt)


def _with_samples(entry: BaselineEntry, samples: list[SampleRecord]) -> BaselineEntry:
    passed = sum(s.passed for s in samples)
    verdict = "passed" if passed == len(samples) else "failed"
    return replace(entry, samples=tuple(samples), passed=passed, n=len(samples), verdict=verdict)


def _judged(output: str, passed: bool, reason: str) -> SampleRecord:
    judge = CheckScore('judge "polite and on topic"', passed, 1.0 if passed else 0.0, reason)
    return replace(sample(output, passed), checks=(*sample(output, passed).checks, judge))


def showcase() -> list[CaseRecord]:
    refund_old = "Sure, I can help with your refund. " + (
        "Please send the order number and we will reply within two days."
    )
    refund_new = (
        "I can help with your refund. Send me the order number and I will reply within one day."
    )
    tools_old = replace(
        sample("Looking up the order."),
        tool_calls=({"name": "lookup_order", "arguments": {"id": "A-17"}},),
    )
    tools_new = replace(
        sample("Looking up the order and the customer."),
        tool_calls=(
            {"name": "lookup_order", "arguments": {"id": "A-17"}},
            {"name": "lookup_customer", "arguments": {"email": "a@example.com"}},
        ),
    )
    trace = (
        {"step": "classify", "model": "openai:a", "output": "billing", "tool_calls": []},
        {
            "step": "answer",
            "model": "openai:a",
            "output": "Your invoice is attached.",
            "tool_calls": [["attach", {"n": 1}]],
        },
    )
    sampled_old = [sample("Yes.", True)] * 9 + [sample("No.", False)]
    sampled_new = (
        [sample("Yes.", True)] * 3 + [sample("No.", False)] * 6 + [sample("Maybe.", False)]
    )
    return [
        _record("refund", make_entry([refund_old]), make_entry([refund_new], 0)),
        _record(
            "refund",
            make_entry([refund_old], model="openai:b"),
            make_entry([refund_new], model="openai:b"),
        ),
        _record(
            "json-ticket",
            make_entry(['{"queue": "billing", "priority": 2, "tags": ["refund"]}']),
            make_entry(
                ['{"queue": "billing", "priority": 1, "tags": ["refund", "vip"]}'], request="r2"
            ),
        ),
        _record(
            "polite",
            _with_samples(
                make_entry(), [_judged("Happy to help!", True, "Friendly, answers the question.")]
            ),
            _with_samples(
                make_entry(),
                [
                    _judged(
                        "Read the manual.", False, "Curt; it does not answer the refund question."
                    )
                ],
            ),
        ),
        _record(
            "tools",
            _with_samples(make_entry(), [tools_old]),
            _with_samples(make_entry(), [tools_new]),
        ),
        _record(
            "flow",
            _with_samples(make_entry(), [replace(sample("done"), trace=trace)]),
            _with_samples(make_entry(), [replace(sample("done"), trace=trace)]),
        ),
        _record(
            "sampled",
            _with_samples(make_entry(), sampled_old),
            _with_samples(make_entry(), sampled_new),
        ),
        _record("hostile", make_entry(["plain"]), make_entry([HOSTILE])),
        _record("brand-new", None, make_entry(["first answer"])),
        _record("steady", make_entry(["same words"]), make_entry(["same words"]), prompt="faq"),
    ]


def single(case: str, was: str, now: str, prompt: str = "support") -> CaseRecord:
    """A one-sample case whose output moved from ``was`` to ``now``."""
    return _record(case, make_entry([was]), make_entry([now]), prompt=prompt)


def many(count: int) -> list[CaseRecord]:
    """A large run: mostly unchanged cases, one in twenty moved, outputs of a few hundred bytes."""
    records = []
    for index in range(count):
        text = f"Case {index}: the answer explains the policy in a few sentences. " * 4
        moved = index % 20 == 0
        now = make_entry([text + ("Changed ending." if moved else "")], 0 if index % 40 == 0 else 1)
        records.append(
            _record(f"case-{index:05d}", make_entry([text]), now, prompt=f"p{index % 7}")
        )
    return records
