"""What a prompt file may reach: files under pytest's rootdir, and the project's own Python code.

Prompt files and case files come from pull requests, so the paths and functions they name are
confined here, in one place: a path must resolve (symlinks followed) inside the rootdir, and a
``python:`` check may name only a function defined in the project's own modules (files under the
rootdir, not in a virtualenv or site-packages there) or in a module the ini allowlist names.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pytest_promptcheck.errors import CheckArgError

ALLOW_KEY = "promptcheck_python_modules"
_PACKAGE_DIRS = frozenset({"site-packages", "dist-packages"})
_OUTSIDE_HINT = (
    "a prompt file reads only files under the rootdir (symlinks are followed first); "
    "move the file into the project"
)


class OutsideProject(CheckArgError):
    """A prompt file names a path or a function outside the project; callers add file:line.
    A check argument error like any other, so a check's factory raises it as it is."""


@dataclass(frozen=True)
class Project:
    """pytest's rootdir (resolved) and the modules the ini allows besides the project's own."""

    root: Path
    python_modules: tuple[str, ...] = ()

    @classmethod
    def at(cls, rootdir: Path, python_modules: Iterable[str] = ()) -> Project:
        return cls(rootdir.resolve(), tuple(python_modules))

    def confine(self, path: Path, given: str, *, tree: Path | None = None) -> Path:
        """``path`` resolved, if it lies under the rootdir (and under ``tree`` when given)."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise OutsideProject(
                f"{given} cannot be resolved: {exc}", hint="fix the symlink"
            ) from None
        if not resolved.is_relative_to(self.root):
            raise OutsideProject(
                f"{given} is outside the project (rootdir {self.root})", hint=_OUTSIDE_HINT
            )
        if tree is not None and not resolved.is_relative_to(tree):
            raise OutsideProject(
                f"{given} is outside the folder {tree}",
                hint="refer only to files in this folder or below it",
            )
        return resolved

    def check_module(self, target: str, module: str) -> None:
        """Refuse ``module`` unless it is allowed, found without running it.

        Importing ``a.b.c`` runs ``a``, ``a.b`` and ``a.b.c``: each is located in turn (finding
        ``a.b`` imports ``a``, which by then is known to be allowed) and must be allowed.
        """
        if self._allowlisted(module):
            return
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):  # the import itself reports what is wrong
                return
            if spec is None:
                return
            if spec.origin is None and spec.submodule_search_locations is not None:
                continue  # a namespace package: no code of its own runs
            origin = spec.origin if spec.has_location else None
            self._check_file(target, f"module {name}", name, origin)

    def check_defined_in(self, target: str, module: str | None) -> None:
        """Refuse a function whose ``__module__`` is not allowed, e.g. a re-exported os.system."""
        if module is None:
            raise _refusal(target, "it belongs to no module", target.partition(":")[0])
        if not self._allowlisted(module):
            origin = getattr(sys.modules.get(module), "__file__", None)
            self._check_file(target, f"it is defined in {module}, which", module, origin)

    def holds_code(self, file: Path) -> bool:
        """The file is the project's own: under the rootdir, not in an environment there."""
        resolved = file.resolve()
        if not resolved.is_relative_to(self.root):
            return False
        folders = resolved.relative_to(self.root).parts[:-1]
        if _PACKAGE_DIRS.intersection(folders):
            return False
        folder = self.root
        for part in folders:
            folder /= part
            if (folder / "pyvenv.cfg").is_file():  # a virtualenv (.venv, .tox/py311, ...)
                return False
        return not any(resolved.is_relative_to(prefix) for prefix in _installations(self.root))

    def _allowlisted(self, module: str) -> bool:
        return any(module == m or module.startswith(f"{m}.") for m in self.python_modules)

    def _check_file(self, target: str, subject: str, module: str, origin: str | None) -> None:
        if origin is not None and self.holds_code(Path(origin)):
            return
        if origin is None:
            why = f"{subject} is built into Python"
        elif Path(origin).resolve().is_relative_to(self.root):
            why = f"{subject} is installed in an environment inside the rootdir ({origin})"
        else:
            why = f"{subject} is at {origin}, outside the rootdir {self.root}"
        raise _refusal(target, why, module)


def _refusal(target: str, why: str, module: str) -> OutsideProject:
    trust = module.split(".")[0]
    return OutsideProject(
        f"{target} is not the project's code: {why}",
        hint="a prompt file may name only functions defined in modules under the rootdir; "
        f"to trust {trust}, list it in the ini key {ALLOW_KEY} (one module per line)",
    )


@cache  # the interpreter's prefixes do not change: worked out once, not per python: check
def _installations(root: Path) -> frozenset[Path]:
    """Python installations inside the rootdir (a conda env, a bundled interpreter)."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    found = {Path(prefix).resolve() for prefix in prefixes}
    return frozenset(p for p in found if p != root and p.is_relative_to(root))
