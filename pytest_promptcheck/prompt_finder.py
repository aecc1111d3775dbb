"""Find a prompt file by name or by path, inside the project, and load it once."""

from __future__ import annotations

from pathlib import Path

from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.errors import PromptcheckError, SpecError
from pytest_promptcheck.files import default_name, is_prompt_file
from pytest_promptcheck.project import OutsideProject
from pytest_promptcheck.spec import PromptSpec, load_spec

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".promptcheck", ".tox"}


class PromptFinder:
    """The fixture's and the flows' way to a prompt file: ``load("classify_ticket")``."""

    def __init__(self, registry: CheckRegistry, rootdir: Path) -> None:
        self._registry = registry
        self._rootdir = rootdir
        self._specs: dict[str, PromptSpec] = {}

    def load(self, prompt: str | Path) -> PromptSpec:
        key = str(prompt)
        if key not in self._specs:
            self._specs[key] = load_spec(self._inside(self._find(prompt)), self._registry)
        return self._specs[key]

    def _inside(self, path: Path) -> Path:
        try:
            return self._registry.project.confine(path, str(path))
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
