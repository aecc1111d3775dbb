"""Collection: a prompt file is a pytest.File, each case and model a pytest.Item."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest

from pytest_promptcheck.agreement import Agreement
from pytest_promptcheck.baseline import Baseline, entry_of, tally_of
from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.case_record import CaseRecord, Usage
from pytest_promptcheck.drift import NEW_CASE, Drift, Effect, classify
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.errors import CallLimitError, PromptcheckError, SpecError, UsageError
from pytest_promptcheck.listener import RECORD_KEY
from pytest_promptcheck.policy import DriftMode
from pytest_promptcheck.properties import (
    SharedProperties,
    item_properties,
    record_properties,
    tool_call_properties,
)
from pytest_promptcheck.report import drift_lines, failure_text, gate_text, header_lines
from pytest_promptcheck.scoring import CaseAnswers, CaseOutcome
from pytest_promptcheck.session import PromptcheckSession
from pytest_promptcheck.spec import Case, PromptSpec, load_spec
from pytest_promptcheck.tools import call_records

MODEL_HINT = "set another model with 'model:' in the file or --promptcheck-model"


class CaseFailed(Exception):
    """Raised by runtest; repr_failure turns it into the failure report."""

    def __init__(self, outcome: CaseOutcome, drift_text: list[str], gate: bool) -> None:
        super().__init__("case failed")
        self.outcome = outcome
        self.drift_text = drift_text
        self.gate = gate


class PromptFile(pytest.File):
    """A prompt file; the plugin hands it the run's session (items never look it up)."""

    def __init__(self, *, promptcheck: PromptcheckSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.promptcheck = promptcheck

    def collect(self) -> Iterator[pytest.Item]:
        session = self.promptcheck
        try:
            spec = load_spec(self.path, session.registry, require_cases=True)
            models = self._models(session, spec)
            baseline = session.baseline(spec)
        except SpecError as exc:
            raise self.CollectError(str(exc)) from None
        context = FileContext(
            session=session,
            baseline=baseline,
            unused=tuple(baseline.unused(case.id for case in spec.cases)),
            items=len(spec.cases) * len(models),
            reference_model=models[0],
            properties=SharedProperties(),
            new_case=NEW_CASE.to_json(),
        )
        for case in spec.cases:
            for model in models:
                name = case.id if len(models) == 1 else f"{case.id}[{model}]"
                item = CaseItem.from_parent(
                    self, name=name, spec=spec, case=case, model=model, context=context
                )
                session.add_case(item.nodeid, item.calls, item.baseline_entry)
                yield item

    def _models(self, session: PromptcheckSession, spec: PromptSpec) -> tuple[str, ...]:
        models = session.models_for(spec)
        asked = {m for case in spec.cases for c in case.checks if c.asks for m in c.asks.models}
        for model in [*models, *sorted(asked)]:
            try:
                session.check_model(model)
            except UsageError as exc:
                raise SpecError(self.path, f"model: {exc}", hint=MODEL_HINT) from None
        return models


@dataclass(frozen=True)
class FileContext:
    """What the items of one prompt file share: the run's session, its baseline and its size."""

    session: PromptcheckSession
    baseline: Baseline
    unused: tuple[str, ...]
    """Baseline entries of cases that no longer exist."""
    items: int
    reference_model: str
    """The model whose results an update records (the first of several)."""
    properties: SharedProperties
    new_case: dict[str, Any]
    """The drift of every case without a baseline entry: its records share it (a first run
    of 10,000 cases would hold 10,000 equal dicts until the end); nothing mutates a record."""
    relative: dict[Any, str] = field(default_factory=dict)
    """The path pytest shows for each case source of the file (see CaseItem.location)."""


class CaseItem(pytest.Item):
    def __init__(
        self, *, spec: PromptSpec, case: Case, model: str, context: FileContext, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.case = case
        self.model = model
        self.context = context
        flow = None if spec.flow is None else context.session.flow_run(spec, case, model)
        entry = self.baseline_entry
        recorded = None if entry is None else tuple(s.output for s in entry.samples)
        self.calls = CaseCalls(spec, case, spec.request(case, model), flow, recorded)
        self.answers: CaseAnswers | None = None
        self.scored: CaseOutcome | None = None
        self.agreements: tuple[Agreement, ...] = ()
        self.user_properties.extend(context.properties.share(item_properties(spec, case, model)))

    @property
    def baseline_entry(self) -> BaselineEntry | None:
        return self.context.baseline.entries.get(self.case.id)

    def entry(self, outcome: CaseOutcome) -> BaselineEntry:
        return entry_of(self.spec, self.case, self.model, outcome)

    def setup(self) -> None:
        # Model calls happen in setup so that a failed call makes the item an error, not a failure.
        session = self.context.session
        try:
            self.answers = session.answers(self.calls)
            # scored here too: a judge's reply that is no verdict makes the item an error
            self.scored = session.outcome(self.nodeid, self.answers)
            self.agreements = session.agreements(self.calls)  # a distrusted judge errors
        except PromptcheckError as exc:
            error = f"{self.case.id} errored: {exc}"
            if isinstance(exc, CallLimitError):
                self.session.shouldstop = str(exc)
        else:
            return
        # Raised outside the except block, so pytest shows this message alone, not the chain.
        lines = [error, *header_lines(self.spec, self.case, self.model)]
        pytest.fail("\n".join(lines), pytrace=False)

    def runtest(self) -> None:
        session = self.context.session
        outcome = self.scored or session.outcome(self.nodeid, self.answers)
        self.answers, self.scored = None, None  # scored once; items live as long as the session
        settings = session.settings
        baseline = self.baseline_entry
        # The whole entry (fingerprints, every sample's record) only when something reads it:
        # a baseline entry to compare with, a baseline update or a report file. A run without
        # them (a first run, a large replay) skips most of an item's own work.
        keeps = settings.update_baseline or bool(settings.reports)
        entry = self.entry(outcome) if keeps or baseline is not None else None
        drift = self._drift(baseline, entry)
        record = self._record(outcome, baseline, entry if keeps else None, drift)
        self.stash[RECORD_KEY] = record  # the call report carries it (plugin.py)
        self.user_properties.extend(self.context.properties.share(record_properties(record)))
        tool_calls = [call_records(sample.completion.tool_calls) for sample in outcome.samples]
        self.user_properties.extend(tool_call_properties(tool_calls))
        gating = settings.drift.mode is DriftMode.FAIL and not settings.update_baseline
        gating = gating and settings.shard is None  # a shard's gate is applied by merge
        regressed = drift is not None and drift.effect is Effect.REGRESSED
        if outcome.passed and not (gating and regressed):
            return
        text = [] if drift is None else drift_lines(drift, baseline, entry, self._accept())
        raise CaseFailed(outcome, text, gate=outcome.passed)

    def _drift(self, baseline: BaselineEntry | None, entry: BaselineEntry | None) -> Drift | None:
        """None with --promptcheck-drift=off; a case without a baseline entry is new."""
        session = self.context.session
        policy = session.settings.drift
        if policy.mode is DriftMode.OFF:
            return None
        if baseline is None or entry is None:
            return NEW_CASE
        return classify(baseline, entry, policy, session.significance.get(self.nodeid))

    def _accept(self) -> str:
        """The command that records this case's result as its baseline.

        With several models an update records the first one's results, so the command names
        this item's model alone (and the case's node id has no model suffix then).
        """
        if not self.context.session.settings.models:
            return f"pytest {_shell_word(self.nodeid)} --promptcheck-update-baseline"
        case = f"{self.parent.nodeid}::{self.case.id}" if self.parent else self.nodeid
        model = shlex.quote(self.model)  # plain unless it holds a shell character
        return (
            f"pytest {_shell_word(case)} --promptcheck-model {model} --promptcheck-update-baseline"
        )

    def _record(
        self,
        outcome: CaseOutcome,
        baseline: BaselineEntry | None,
        entry: BaselineEntry | None,
        drift: Drift | None,
    ) -> CaseRecord:
        """Everything the end of the run needs about this case; it travels on the test report,
        so under xdist it reaches the controller. Whole entries (every sample's output) only
        when a baseline update or a report file needs them (``entry`` is then given): a large
        suite keeps one per item."""
        return CaseRecord(
            prompt=self.spec.name,
            file=str(self.spec.path),
            baseline=str(self.context.baseline.path),
            case=self.case.id,
            model=self.model,
            reference=self.model == self.context.reference_model,
            file_items=self.context.items,
            unused=self.context.unused,
            tally=tally_of(outcome),
            baseline_tally=None if baseline is None else baseline.tally,
            usage=Usage.of(
                len(outcome.samples), [call for sample in outcome.samples for call in sample.calls]
            ),
            entry=entry,
            baseline_entry=None if entry is None else baseline,
            drift=self._drift_json(drift),
            agreements=tuple([agreement.to_json() for agreement in self.agreements]),
        )

    def _drift_json(self, drift: Drift | None) -> dict[str, Any] | None:
        if drift is None:
            return None
        return self.context.new_case if drift is NEW_CASE else drift.to_json()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        failed = excinfo.value
        if isinstance(failed, CaseFailed):
            if failed.gate:
                return gate_text(self.spec, self.case, self.model, failed.drift_text)
            text = failure_text(self.spec, self.case, self.model, failed.outcome)
            return "\n".join([text, *failed.drift_text])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.case.line - 1 if self.case.line else None
        return self.case.source, line, f"{self.spec.name}::{self.name}"

    @cached_property
    def location(self) -> tuple[str, int | None, str]:
        """pytest's own, with the source's relative path worked out once per file: pytest
        makes the path absolute and relative again for every item (a tenth of a second in
        10,000 items of one file), and it is the same for all cases of one source."""
        source, line, domain = self.reportinfo()
        relative = self.context.relative.get(source)
        if relative is None:
            relative = self.context.relative[source] = super().location[0]
        return relative, line, domain


def _shell_word(text: str) -> str:
    """Single-quoted for a POSIX shell (a quote inside is closed, escaped and reopened), so the
    printed accept command selects the item whatever its file path holds."""
    return "'" + text.replace("'", "'\\''") + "'"
