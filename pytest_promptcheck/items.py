"""Collection: a prompt file is a pytest.File, each case and model a pytest.Item."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_promptcheck.client import Job
from pytest_promptcheck.errors import PromptcheckError, SpecError, UsageError
from pytest_promptcheck.plugin import get_session
from pytest_promptcheck.report import (
    failure_text,
    header_lines,
    item_properties,
    outcome_properties,
)
from pytest_promptcheck.scoring import CaseOutcome, score_case
from pytest_promptcheck.session import PromptcheckSession
from pytest_promptcheck.spec import Case, PromptSpec, load_spec

MODEL_HINT = "set another model with 'model:' in the file or --promptcheck-model"


def jobs_of(items: list[pytest.Item]) -> list[Job]:
    """Every model call the selected items need: (request, sample index)."""
    return [
        (item.request, index)
        for item in items
        if isinstance(item, CaseItem)
        for index in range(item.spec.samples)
    ]


class CaseFailed(Exception):
    """Raised by runtest; repr_failure turns it into the failure report."""

    def __init__(self, outcome: CaseOutcome) -> None:
        super().__init__("case failed")
        self.outcome = outcome


class PromptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        session = get_session(self.config)
        try:
            spec = load_spec(self.path, session.registry)
            models = self._models(session, spec)
        except SpecError as exc:
            raise self.CollectError(str(exc)) from None
        for case in spec.cases:
            for model in models:
                name = case.id if len(models) == 1 else f"{case.id}[{model}]"
                yield CaseItem.from_parent(self, name=name, spec=spec, case=case, model=model)

    def _models(self, session: PromptcheckSession, spec: PromptSpec) -> tuple[str, ...]:
        models = session.models_for(spec)
        for model in models:
            try:
                session.check_model(model)
            except UsageError as exc:
                raise SpecError(self.path, f"model: {exc}", hint=MODEL_HINT) from None
        return models


class CaseItem(pytest.Item):
    def __init__(self, *, spec: PromptSpec, case: Case, model: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.case = case
        self.model = model
        self.request = spec.request(case, model)
        self.completions: list[Any] = []
        self.user_properties.extend(item_properties(spec, case, model))

    def setup(self) -> None:
        # Model calls happen in setup so that a failed call makes the item an error, not a failure.
        try:
            self.completions = get_session(self.config).completions(self.request, self.spec.samples)
        except PromptcheckError as exc:
            lines = [
                f"{self.case.id} errored: {exc}",
                *header_lines(self.spec, self.case, self.model),
            ]
            pytest.fail("\n".join(lines), pytrace=False)

    def runtest(self) -> None:
        outcome = score_case(self.spec, self.case, self.completions)
        self.user_properties.extend(outcome_properties(outcome))
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseFailed):
            return failure_text(self.spec, self.case, self.model, excinfo.value.outcome)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        line = self.case.line - 1 if self.case.line else None
        return self.case.source, line, f"{self.spec.name}::{self.name}"
