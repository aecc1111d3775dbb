"""The ``promptcheck`` fixture: run a prompt from Python code through the same client and checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.check_specs import CheckItemError, CheckSpec, compile_check
from pytest_promptcheck.checks.output import output_json_text
from pytest_promptcheck.documents import Document
from pytest_promptcheck.errors import PromptcheckError, SpecError
from pytest_promptcheck.files import default_name, is_prompt_file
from pytest_promptcheck.project import OutsideProject
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall
from pytest_promptcheck.render import TemplateError
from pytest_promptcheck.report import quote
from pytest_promptcheck.scoring import score_sample
from pytest_promptcheck.spec import Case, PromptSpec, load_spec

if TYPE_CHECKING:
    from pytest_promptcheck.session import PromptcheckSession

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".promptcheck", ".tox"}


@dataclass(frozen=True)
class PromptResult:
    """What ``promptcheck.run`` returns: the first sample, plus all of them."""

    spec: PromptSpec
    vars: dict[str, Any]
    completions: tuple[Completion, ...]
    request: ModelRequest

    @property
    def completion(self) -> Completion:
        return self.completions[0]

    @property
    def text(self) -> str:
        return self.completion.text

    @property
    def json(self) -> Any:
        """The output parsed as JSON (fences allowed); raises ValueError when it is not JSON."""
        parsed, error = output_json_text(self.text)
        if error is not None:
            raise ValueError(f"{self.spec.name}: {error}")
        return parsed

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.completion.tool_calls

    @property
    def cached(self) -> bool:
        return self.completion.cached

    @property
    def latency_ms(self) -> float:
        return self.completion.latency_ms

    @property
    def cost_usd(self) -> float | None:
        return self.completion.cost_usd

    @property
    def tokens(self) -> int:
        return self.completion.tokens


class Promptcheck:
    """Loads prompts by name or path and runs them with vars; see ``run`` and ``check``."""

    def __init__(self, session: PromptcheckSession, rootdir: Path) -> None:
        self._session = session
        self._rootdir = rootdir
        self._specs: dict[str, PromptSpec] = {}

    def load(self, prompt: str | Path) -> PromptSpec:
        key = str(prompt)
        if key not in self._specs:
            self._specs[key] = load_spec(self._inside(self._find(prompt)), self._session.registry)
        return self._specs[key]

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

    def _inside(self, path: Path) -> Path:
        try:
            return self._session.registry.project.confine(path, str(path))
        except OutsideProject as exc:
            raise PromptcheckError(f"{exc.message}\n  hint: {exc.hint}") from None

    def _find(self, prompt: str | Path) -> Path:
        path = Path(prompt)
        if is_prompt_file(path):
            found = path if path.is_absolute() else self._rootdir / path
            if not found.is_file():
                raise PromptcheckError(f"prompt file not found: {found}")
            return found
        matches = [p for p in self._prompt_files() if self._named(p, str(prompt))]
        if len(matches) != 1:
            problem = "no prompt file" if not matches else f"{len(matches)} prompt files"
            raise PromptcheckError(
                f"{problem} named '{prompt}' under {self._rootdir}; pass the file's path instead"
            )
        return matches[0]

    def _named(self, path: Path, name: str) -> bool:
        if default_name(path) == name:
            return True
        try:
            return self.load(path).name == name
        except SpecError:
            return False

    def _prompt_files(self) -> list[Path]:
        return sorted(
            p
            for p in self._rootdir.rglob("*.prompt.*")
            if is_prompt_file(p) and not _SKIP_DIRS.intersection(p.relative_to(self._rootdir).parts)
        )
