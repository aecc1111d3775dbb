"""The ``promptcheck`` fixture: run a prompt from Python code through the same client and checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.check_specs import CheckItemError, CheckSpec, compile_check
from pytest_promptcheck.documents import Document
from pytest_promptcheck.errors import PromptcheckError, SpecError
from pytest_promptcheck.prompt_finder import PromptFinder
from pytest_promptcheck.prompt_result import PromptResult
from pytest_promptcheck.records import ModelRequest
from pytest_promptcheck.render import TemplateError
from pytest_promptcheck.report import quote
from pytest_promptcheck.scoring import score_sample
from pytest_promptcheck.spec import Case, PromptSpec

if TYPE_CHECKING:
    from pytest_promptcheck.session import PromptcheckSession


class Promptcheck:
    """Loads prompts by name or path and runs them with vars; see ``run`` and ``check``."""

    def __init__(self, session: PromptcheckSession, rootdir: Path) -> None:
        self._session = session
        self._finder = PromptFinder(session.registry, rootdir)

    def load(self, prompt: str | Path) -> PromptSpec:
        return self._finder.load(prompt)

    def run(self, prompt: str | Path, *, model: str | None = None, **vars: Any) -> PromptResult:
        spec = self.load(prompt)
        try:
            messages, text = spec.template.render(vars)
        except TemplateError as exc:
            raise SpecError(spec.path, exc.message, hint=exc.hint) from None
        chosen = model or self._session.models_for(spec)[0]
        self._session.check_model(chosen)
        request = ModelRequest(chosen, messages, text, spec.params, spec.format_payload())
        completions = self._session.run(self._session.client.samples(request, spec.samples))
        return PromptResult(spec, vars, tuple(completions), request)

    def check(self, result: PromptResult, checks: list[dict[str, Any]]) -> None:
        """Score the first sample as a prompt file's case would be (its format, then these
        checks, compiled by the same rules); raise AssertionError listing every check."""
        spec = result.spec
        compiled = tuple(self._compile(item, spec) for item in checks)
        case = Case("", result.vars, compiled, None, None, None, Document(spec.path, None))
        answers = self._session.answers(CaseCalls(spec, case, result.request))
        sample = score_sample(spec, case, answers, 0)
        if sample.passed:
            return
        failed = sum(not c.verdict.passed for c in sample.checks)
        head = f"{spec.name} failed: {failed} of {len(checks)} checks"
        lines = [head, f"  output  {quote(result.text)}"]
        if sample.format_error is not None:
            lines.append(f"  format  FAIL  {sample.format_error}")
        for c in sample.checks:
            lines.append(f"  check   {'ok  ' if c.verdict.passed else 'FAIL'}  {c.verdict.reason}")
        raise AssertionError("\n".join(lines))

    def _compile(self, item: Any, spec: PromptSpec) -> CheckSpec:
        try:
            return compile_check(item, self._session.registry, spec.path.parent)
        except CheckItemError as exc:
            shown = json.dumps(item, default=str)[:200]
            raise PromptcheckError(f"{exc.message} in {shown} (hint: {exc.hint})") from None
