"""``flow: package.module:function``: the application function a prompt file names, imported at
collection under the rules of the ``python:`` check (the project's own modules, or those the ini
allowlist names, located before anything is imported), and the fingerprint of its code."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.documents import Document
from pytest_promptcheck.errors import CheckArgError, SpecError
from pytest_promptcheck.project import Project
from pytest_promptcheck.quoting import clip

FLOW_EXAMPLE = "flow: app.flows:answer_question, a function flow(vars, ctx)"
_IMPORT_HINT = "the module must be importable: add its folder to `pythonpath` in your pytest ini"


@dataclass(frozen=True)
class FlowTarget:
    """The flow function, whether it is a coroutine function, and what identifies its code."""

    target: str
    function: Callable[..., Any]
    is_async: bool
    source_sha: str
    """sha256 of the source file of the module that defines the function (`flow changed`)."""


def flow_of(doc: Document, data: dict[str, Any], project: Project) -> FlowTarget | None:
    """The file's ``flow:``, if it names one; a bad one is a SpecError at its line."""
    if "flow" not in data:
        return None
    try:
        return load_flow(data["flow"], project)
    except CheckArgError as exc:
        raise SpecError(
            doc.path, f"flow: {exc.message}", line=doc.line_of(("flow",)), hint=exc.hint
        ) from None


def load_flow(target: str, project: Project) -> FlowTarget:
    """Import and vet ``target``; raises CheckArgError with a hint (the caller adds file:line)."""
    function = _import(target, project)
    if not callable(function):
        raise CheckArgError(f"{target} is not a function", hint=FLOW_EXAMPLE)
    module = getattr(function, "__module__", None)
    project.check_defined_in(target, module)  # an allowed module may re-export os.system
    is_async = inspect.iscoroutinefunction(function)
    return FlowTarget(target, function, is_async, _source_sha(target, module))


def _import(target: str, project: Project) -> Any:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CheckArgError(f"'{target}' is not 'module:function'", hint=FLOW_EXAMPLE)
    project.check_module(target, module_name)  # before importing: an import runs code
    try:
        found: Any = importlib.import_module(module_name)
        for name in attribute.split("."):
            found = getattr(found, name)
    except Exception as exc:  # whatever importing the user's module raises is a collection error
        message = clip(f"cannot import {target}: {_one_line(exc)}")
        raise CheckArgError(message, hint=_IMPORT_HINT) from None
    return found


def _source_sha(target: str, module: str | None) -> str:
    """Only the defining module's file is fingerprinted: helpers it imports are not (README)."""
    path = getattr(sys.modules.get(module or ""), "__file__", None)
    if path is None:
        raise CheckArgError(f"{target}: its module has no source file", hint=FLOW_EXAMPLE)
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise CheckArgError(f"{target}: cannot read {path}: {exc}", hint=FLOW_EXAMPLE) from None


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
