"""The ``record_property`` keys of an item, so that ``--junitxml`` carries scores and fingerprints.

They are written for JUnit XML only and derived from the case record; the run's own summary
reads the record itself. The prompt and model keys are also read back for an item that errored
before it had a record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_promptcheck.canonical import canonical_json

if TYPE_CHECKING:
    from pytest_promptcheck.case_record import CaseRecord
    from pytest_promptcheck.spec import Case, PromptSpec

PREFIX = "promptcheck_"
PROMPT = "promptcheck_prompt"
CASE = "promptcheck_case"
MODEL = "promptcheck_model"
FINGERPRINT = "promptcheck_fingerprint"
VERSION = "promptcheck_version"
MODEL_REPORTED = "promptcheck_model_reported"
SCORE = "promptcheck_score"
PASS_RATE = "promptcheck_pass_rate"
SAMPLES = "promptcheck_samples"
CACHED = "promptcheck_cached"
TOKENS = "promptcheck_tokens"
COST_USD = "promptcheck_cost_usd"
LATENCY_MS = "promptcheck_latency_ms"
DRIFT = "promptcheck_drift"
DRIFT_CAUSE = "promptcheck_drift_cause"
TOOL_CALLS = "promptcheck_tool_calls"

Properties = list[tuple[str, Any]]

REPEATED = frozenset(
    {PROMPT, MODEL, FINGERPRINT, VERSION, MODEL_REPORTED, SCORE, PASS_RATE, SAMPLES, CACHED}
    | {TOKENS, COST_USD, DRIFT, DRIFT_CAUSE}
)
"""Keys whose values repeat across a prompt file's items (token counts, and costs made of
them, span a few hundred values); the case id, latencies and tool calls mostly do not."""


class SharedProperties:
    """One tuple for each repeated property of a prompt file's items: items and their reports
    keep their properties until the run ends, so at 10,000 items equal tuples cost megabytes."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, type, Any], tuple[str, Any]] = {}

    def share(self, properties: Properties) -> Properties:
        seen, shared = self._seen, []
        for prop in properties:  # a loop, not a call per property: every item shares its own
            name, value = prop
            if name in REPEATED:
                # keyed by type too: 1 == 1.0 == True, but JUnit XML writes their str()
                prop = seen.setdefault((name, type(value), value), prop)
            shared.append(prop)
        return shared


def item_properties(spec: PromptSpec, case: Case, model: str) -> Properties:
    """What an item is, known at collection."""
    return [
        (PROMPT, spec.name),
        (CASE, case.id),
        (MODEL, model),
        (FINGERPRINT, spec.fingerprint),
        (VERSION, spec.version or ""),
    ]


def record_properties(record: CaseRecord) -> Properties:
    """What the item's run gave, from its record: scores, usage and drift."""
    tally, usage = record.tally, record.usage
    properties: Properties = [
        (MODEL_REPORTED, usage.model_reported),
        (SCORE, tally.score),
        (PASS_RATE, round(tally.rate, 4)),
        (SAMPLES, usage.samples),
        (CACHED, usage.cached),
        (TOKENS, usage.tokens),
        (COST_USD, usage.cost_usd),
        (LATENCY_MS, list(usage.latencies_ms)),
    ]
    if record.drift is not None:
        properties += [(DRIFT, record.drift["effect"]), (DRIFT_CAUSE, record.cause)]
    return properties


def tool_call_properties(records: list[list[dict[str, Any]]]) -> Properties:
    """Each sample's tool calls (``[{name, arguments}]``, in order) as compact JSON; none when
    no sample called a tool, so items of prompts without tools keep their properties."""
    if not any(records):
        return []
    return [(TOOL_CALLS, canonical_json(records if len(records) > 1 else records[0]))]


def prompt_and_model(properties: list[tuple[str, object]]) -> tuple[str, str] | None:
    """The prompt and model an item's properties name; None for items that are not cases."""
    found = dict(properties)
    if PROMPT not in found or MODEL not in found:
        return None
    return str(found[PROMPT]), str(found[MODEL])
