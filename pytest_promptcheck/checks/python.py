"""The ``python`` check: a function of the project's own code judges the output."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import (
    CheckFactory,
    CheckFn,
    SampleContext,
    Verdict,
    unevaluated,
    verdict,
)
from pytest_promptcheck.checks.args import arg_error
from pytest_promptcheck.checks.output import sample_json
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.quoting import clip

_PYTHON_HINT = "the module must be importable: add its folder to `pythonpath` in your pytest ini"
_PYTHON_EXAMPLE = "python: my_checks:is_polite, or python: {function: my_checks:score, min: 0.7}"


def python_check(project: Project) -> CheckFactory:
    """``python: package.module:function`` or ``{function: ..., min: 0.5}``: a custom check.

    Only functions defined in the project's own modules, or in modules the ini key
    ``promptcheck_python_modules`` allows, may be named: a prompt file must not be able to name
    ``builtins:exec``. Imported at collection time and called as ``f(output, {"id", "vars",
    "json"})`` (json: the parsed output or None). ``bool`` -> score 1/0; a number -> score
    clamped to [0, 1], passing at ``min`` or above; a Verdict is used as it is (unless it scores
    NaN or infinity, which fails the sample). Any other result, or an exception, fails the
    sample with a one-line reason.
    """

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        target, minimum = _python_arg(arg)
        function = _import_function(target, project)

        def run(ctx: SampleContext) -> Verdict:
            document, error = sample_json(ctx)
            case = {"id": ctx.case_id, "vars": ctx.vars, "json": None if error else document}
            try:
                result = function(ctx.text, case)
            except Exception as exc:  # the user's function failing is this sample's verdict
                return unevaluated(clip(f"python {target}: raised {_exception(exc)}"))
            return _pythonverdict(target, result, minimum)

        return run

    return factory


def _python_arg(arg: Any) -> tuple[str, float]:
    if isinstance(arg, str):
        return arg, 0.5
    if not isinstance(arg, dict) or not isinstance(arg.get("function"), str):
        raise arg_error("'module:function' or a mapping with 'function'", arg, _PYTHON_EXAMPLE)
    unknown = sorted(set(arg) - {"function", "min"})
    if unknown:
        raise CheckArgError(f"unknown key '{unknown[0]}'", hint="use 'function' and 'min'")
    minimum = arg.get("min", 0.5)
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
        raise arg_error("a number from 0 to 1", minimum, _PYTHON_EXAMPLE, where="min")
    return arg["function"], float(minimum)


def _import_function(target: str, project: Project) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise arg_error("'module:function'", target, _PYTHON_EXAMPLE)
    try:
        project.check_module(target, module_name)  # before importing: an import runs code
        found: Any = importlib.import_module(module_name)
        for name in attribute.split("."):
            found = getattr(found, name)
    except CheckArgError:  # the module is not the project's: said as it is
        raise
    except Exception as exc:  # whatever importing the user's module raises is a collection error
        message = clip(f"cannot import {target}: {_exception(exc)}")
        raise CheckArgError(message, hint=_PYTHON_HINT) from None
    if not callable(found):
        raise CheckArgError(f"{target} is not a function", hint=_PYTHON_EXAMPLE)
    # an allowed module can still hand out another's function (mycheck = os.system)
    project.check_defined_in(target, getattr(found, "__module__", None))
    return found  # type: ignore[no-any-return]


def _exception(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _pythonverdict(target: str, result: Any, minimum: float) -> Verdict:
    if isinstance(result, Verdict):
        # a NaN or infinite score has no place in a baseline or a report: the check's own failure
        if isinstance(result.score, float) and not math.isfinite(result.score):
            return unevaluated(f"python {target}: returned a Verdict scoring {result.score}")
        return result
    if isinstance(result, bool):
        return verdict(result, f"python {target}: returned {result}")
    if isinstance(result, (int, float)) and not math.isnan(result):
        score = min(1.0, max(0.0, float(result)))
        passed = score >= minimum
        return Verdict(passed, score, f"python {target}: score {score:.2f}, min {minimum:g}")
    kind = type(result).__name__
    return unevaluated(f"python {target}: returned {kind}, expected bool, number or Verdict")
