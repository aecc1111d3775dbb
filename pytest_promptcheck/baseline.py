"""Committed baselines: ``__promptcheck__/<prompt name>.json`` beside each prompt file.

One entry per case, keyed by case id, written with sorted keys and indent 2 so that an update
reads as a clean git diff. Only ``--promptcheck-update-baseline`` writes them.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.entry import (
    FAILED,
    PASSED,
    BaselineEntry,
    CheckScore,
    EntryError,
    ModelStamp,
    PromptStamp,
    SampleRecord,
    Tally,
)
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.records import total_cost
from pytest_promptcheck.scoring import CaseOutcome, SampleResult
from pytest_promptcheck.spec import Case, PromptSpec
from pytest_promptcheck.tools import call_records

FORMAT = 1
FOLDER = "__promptcheck__"


def baseline_path(spec: PromptSpec) -> Path:
    return spec.path.parent / FOLDER / f"{spec.name}.json"


def request_fingerprint(spec: PromptSpec, case: Case) -> str:
    """What this case sends, apart from model and params: a change here is `prompt changed`."""
    messages = list(case.messages) if case.messages is not None else None
    sent: dict[str, Any] = {
        "messages": messages,
        "prompt": case.prompt,
        "format": spec.format_payload(),
    }
    if spec.flow is not None:  # a flow sends what its code makes of the vars
        sent["vars"] = case.vars
    if case.turns:  # only then: the fingerprints of cases without turns stay as they were
        sent["turns"] = [turn.user for turn in case.turns]
    return sha256_of(sent)


def checks_fingerprint(spec: PromptSpec, case: Case) -> str:
    """How outputs are judged: a change here is `checks changed`."""
    judged: dict[str, Any] = {
        "checks": [[c.kind, c.arg, c.weight] for c in case.checks],
        "threshold": case.threshold,
        "min_pass_rate": spec.min_pass_rate,
    }
    if case.turns:  # only then, as above
        judged["turns"] = [[[c.kind, c.arg, c.weight] for c in t.checks] for t in case.turns]
    return sha256_of(judged)


def tally_of(outcome: CaseOutcome) -> Tally:
    """A case's counts and verdict, as its baseline entry records them (without making it)."""
    verdict = PASSED if outcome.passed else FAILED
    return Tally(outcome.passed_count, len(outcome.samples), verdict, round(outcome.score, 4))


def entry_of(spec: PromptSpec, case: Case, model: str, outcome: CaseOutcome) -> BaselineEntry:
    """The baseline entry of a case's result."""
    samples = outcome.samples
    first = samples[0].completion
    cost = total_cost(s.completion.cost_usd for s in samples)
    tally = tally_of(outcome)
    return BaselineEntry(
        prompt=PromptStamp(
            spec.fingerprint,
            spec.version,
            request_fingerprint(spec, case),
            None if spec.flow is None else spec.flow.source_sha,
        ),
        model=ModelStamp(model, first.model_reported or None, first.system_fingerprint),
        params=_plain(spec.params),
        checks=checks_fingerprint(spec, case),
        samples=tuple(_sample(s) for s in samples),
        passed=tally.passed,
        n=tally.n,
        verdict=tally.verdict,
        score=tally.score,
        tokens=sum(s.completion.tokens for s in samples),
        cost_usd=None if cost is None else round(cost, 8),
        latency_ms=round(statistics.median(s.completion.latency_ms for s in samples), 1),
        judges=judges_of(case),
    )


def judges_of(case: Case) -> tuple[Mapping[str, Any], ...]:
    """The identities of the case's checks that ask a model and declare one (judges)."""
    asking = (c.asks for c in case.checks)
    return tuple(a.identity for a in asking if a is not None and a.identity is not None)


def _sample(sample: SampleResult) -> SampleRecord:
    completion = sample.completion
    return SampleRecord(
        output=completion.text,
        passed=sample.passed,
        score=round(sample.score, 4),
        format_error=sample.format_error,
        checks=tuple(
            CheckScore(
                c.label,
                c.verdict.passed,
                round(c.verdict.score, 4),
                c.verdict.reason if c.asks else None,
            )
            for c in sample.checks
        ),
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        cost_usd=completion.cost_usd,
        latency_ms=round(completion.latency_ms, 1),
        tool_calls=tuple(call_records(completion.tool_calls)),
        trace=tuple(step.to_json(cached=False) for step in sample.trace),
        turns=tuple(turn.completion.text for turn in sample.turns),
        truncated=completion.truncated,
    )


@dataclass(frozen=True)
class Baseline:
    """A prompt's baseline file as read (empty when the file does not exist)."""

    path: Path
    entries: Mapping[str, BaselineEntry] = field(default_factory=dict)

    def unused(self, case_ids: Iterable[str]) -> list[str]:
        """Entries whose case no longer exists in the prompt file."""
        return sorted(set(self.entries) - set(case_ids))


def load_baseline(path: Path) -> Baseline:
    return _parse(path, _read(path))


def _read(path: Path) -> str | None:
    """The file's text, or None when there is no file yet."""
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(path, f"cannot read the baseline: {exc}", hint=_REPAIR) from None


def _parse(path: Path, text: str | None) -> Baseline:
    if text is None:
        return Baseline(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            path, f"the baseline is not valid JSON: {exc.msg}", line=exc.lineno, hint=_REPAIR
        ) from None
    return Baseline(path, _entries(path, data))


_REPAIR = (
    "a merge conflict? resolve it, or delete the file and rerun with "
    "--promptcheck-update-baseline to record a new one"
)


def _entries(path: Path, data: Any) -> dict[str, BaselineEntry]:
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise SpecError(path, "the baseline has no 'cases' mapping", hint=_REPAIR)
    if data.get("format") != FORMAT:
        raise SpecError(
            path,
            f"baseline format {data.get('format')!r} is not supported (this reads {FORMAT})",
            hint="rerun with --promptcheck-update-baseline to rewrite it",
        )
    return {case_id: _entry(path, case_id, entry) for case_id, entry in data["cases"].items()}


def _entry(path: Path, case_id: str, data: Any) -> BaselineEntry:
    try:
        return BaselineEntry.from_json(data)
    except EntryError as exc:
        raise SpecError(
            path, f"baseline entry '{case_id}' is incomplete or malformed: {exc}", hint=_REPAIR
        ) from None


@dataclass(frozen=True)
class BaselineUpdate:
    """What an update did to one file."""

    path: Path
    written: int
    removed: tuple[str, ...]
    changed: bool


def update_baseline(
    path: Path,
    prompt_name: str,
    new_entries: Mapping[str, BaselineEntry],
    remove_unlisted: Iterable[str] = (),
    now: datetime | None = None,
) -> BaselineUpdate:
    """Merge entries into the file at ``path`` and write it atomically.

    An entry whose content is the same as the recorded one keeps its ``recorded_at``, so that
    re-recording an unchanged suite from the cache changes no byte of the file.
    """
    before = _read(path)
    old = dict(_parse(path, before).entries)
    stamp = (now or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    merged = dict(old)
    for case_id, entry in new_entries.items():
        merged[case_id] = _stamped(entry, old.get(case_id), stamp)
    removed = tuple(sorted(case_id for case_id in remove_unlisted if case_id in merged))
    for case_id in removed:
        del merged[case_id]
    text = baseline_text(prompt_name, merged)
    changed = before != text
    if changed:
        _write_atomically(path, text)
    return BaselineUpdate(path, len(new_entries), removed, changed)


def baseline_text(prompt_name: str, entries: Mapping[str, BaselineEntry]) -> str:
    """The file's text: sorted keys and indent 2, so an update reads as a clean git diff."""
    cases = {case_id: entry.to_json() for case_id, entry in entries.items()}
    document = {"format": FORMAT, "prompt": prompt_name, "cases": cases}
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _stamped(entry: BaselineEntry, old: BaselineEntry | None, stamp: str) -> BaselineEntry:
    if old is not None and old.stamped(None).to_json() == entry.stamped(None).to_json():
        return entry.stamped(old.recorded_at or stamp)
    return entry.stamped(stamp)


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """The data as it reads back from JSON (tuples become lists, dates strings): comparisons
    with a recorded entry are fair, and xdist can carry it."""
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp makes the file private; a committed file gets the usual permissions.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
