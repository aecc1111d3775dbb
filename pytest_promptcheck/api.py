"""The ``promptcheck`` fixture: run a prompt from Python code through the same client and checks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import NOT_JSON, ModelCheck, SampleContext
from pytest_promptcheck.checks.output import output_json_text
from pytest_promptcheck.errors import CheckArgError, PromptcheckError, SpecError
from pytest_promptcheck.files import default_name, is_prompt_file
from pytest_promptcheck.project import OutsideProject
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.render import TemplateError
from pytest_promptcheck.report import quote
from pytest_promptcheck.scoring import parse_format
from pytest_promptcheck.session import PromptcheckSession
from pytest_promptcheck.spec import PromptSpec, load_spec

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".promptcheck", ".tox"}


@dataclass(frozen=True)
class PromptResult:
    """What ``promptcheck.run`` returns: the first sample, plus all of them."""

    spec: PromptSpec
    vars: dict[str, Any]
    completions: tuple[Completion, ...]

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
        return PromptResult(spec, vars, tuple(completions))

    def check(self, result: PromptResult, checks: list[dict[str, Any]]) -> None:
        """Run checks on the first sample; raise AssertionError listing every check."""
        ctx = self._context(result)
        lines, failed = [], 0
        for item in checks:
            kind, arg = self._one_check(item)
            try:
                compiled = self._session.registry.compile(kind, arg, result.spec.path.parent)
            except CheckArgError as exc:
                raise PromptcheckError(f"check '{kind}': {exc.message} ({exc.hint})") from None
            if isinstance(compiled, ModelCheck):  # the fixture scores through scoring next
                raise PromptcheckError(f"check '{kind}' asks a model: use it in a prompt file")
            verdict = compiled(ctx)
            failed += not verdict.passed
            lines.append(f"  check   {'ok  ' if verdict.passed else 'FAIL'}  {verdict.reason}")
        if failed:
            head = f"{result.spec.name} failed: {failed} of {len(checks)} checks"
            raise AssertionError("\n".join([head, f"  output  {quote(result.text)}", *lines]))

    def _context(self, result: PromptResult) -> SampleContext:
        json_format = result.spec.format_type == "json"
        parsed, _ = parse_format(result.text, None) if json_format else (NOT_JSON, None)
        return SampleContext(result.text, result.completion, parsed, json_format, "", result.vars)

    @staticmethod
    def _one_check(item: dict[str, Any]) -> tuple[str, Any]:
        kinds = [k for k in item if k != "weight"]
        if len(kinds) != 1:
            raise PromptcheckError(
                f"each check is a one-key mapping like {{'contains': 'x'}}, got {json.dumps(item)}"
            )
        return kinds[0], item[kinds[0]]

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
