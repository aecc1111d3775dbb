"""Render prompt templates with case vars in a Jinja2 sandbox.

Prompt files may come from a pull request, so templates must not reach Python internals:
SandboxedEnvironment blocks unsafe attributes and calls, StrictUndefined turns a missing
variable into an error instead of an empty string, and sandbox.py bounds each render's work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes

from pytest_promptcheck.errors import PromptcheckError
from pytest_promptcheck.records import Message
from pytest_promptcheck.sandbox import (
    BUDGET_KEY,
    HINT,
    BoundedEnvironment,
    LimitExceeded,
    new_budget,
)


class TemplateError(PromptcheckError):
    """A template cannot compile or render; the spec loader adds file and line."""

    def __init__(self, message: str, hint: str, line: int | None = None) -> None:
        self.message = message
        self.hint = hint
        self.line = line
        super().__init__(message)


def make_environment() -> BoundedEnvironment:
    # keep_trailing_newline: what the file says is what the model gets
    return BoundedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


Layout = tuple[tuple[str, bool], ...]
"""A template of text and ``{{ name }}`` alone, as (text, False) and (name, True) parts."""

_MAX_LAYOUT_PARTS = 1000
"""Far below what one render may output in steps (sandbox.MAX_OPS), so a layout never meets it."""


@dataclass(frozen=True)
class Template:
    """A compiled template and the variables it reads."""

    source: str
    compiled: jinja2.Template
    variables: frozenset[str]
    layout: Layout | None = None
    """Set when the template only lays out vars: rendered without Jinja (a context, a
    generator and a sandbox per case cost more than the rest of loading a case)."""

    def render(self, case_vars: Mapping[str, Any]) -> str:
        missing = sorted(self.variables - case_vars.keys())
        if missing:
            names = ", ".join(f"'{name}'" for name in missing)
            raise TemplateError(
                f"template variable {names} is missing from the case's vars",
                hint=f"add {missing[0]} to this case's vars, or remove it from the template",
            )
        budget = new_budget()
        try:
            if self.layout is not None:  # the chunks Jinja yields: text, and str() of a var
                return budget.output([str(case_vars[p]) if var else p for p, var in self.layout])
            return budget.output(self.compiled.generate({**case_vars, BUDGET_KEY: budget}))
        except LimitExceeded as exc:
            raise TemplateError(str(exc), hint=HINT) from None
        except RecursionError:
            raise TemplateError("template calls itself too deeply", hint=HINT) from None
        except MemoryError:
            raise TemplateError("template ran out of memory", hint=HINT) from None
        except jinja2.exceptions.SecurityError as exc:
            raise _unsafe(str(exc)) from None
        except jinja2.UndefinedError as exc:
            if "unsafe" in str(exc):
                raise _unsafe(str(exc)) from None
            raise TemplateError(
                f"template error: {exc}", hint="check the variable's structure in the case"
            ) from None
        except (
            TypeError,
            ValueError,
            ArithmeticError,
            LookupError,  # '{x}'.format(), [].pop(), 'a'.encode('nope')
            RuntimeError,  # cycler().next() past its end
            jinja2.TemplateRuntimeError,  # a filter's bad argument
        ) as exc:
            raise TemplateError(f"template error: {exc}", hint="check the template") from None


def _unsafe(detail: str) -> TemplateError:
    return TemplateError(
        f"template tries to reach Python internals, which is not allowed ({detail})",
        hint="templates may only use case vars and Jinja2 filters",
    )


def compile_template(env: BoundedEnvironment, source: str) -> Template:
    try:
        ast = env.parse(source)
        variables = frozenset(meta.find_undeclared_variables(ast))
        layout = _layout(env, ast, variables)
        compiled = env.from_string(env.bounded(ast))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message}",
            hint="check the {{ }} and {% %} pairs",
            line=exc.lineno,
        ) from None
    return Template(source, compiled, variables, layout)


def _layout(
    env: BoundedEnvironment, ast: nodes.Template, variables: frozenset[str]
) -> Layout | None:
    """The parts of a template made of text and ``{{ name }}`` only, or None. Jinja outputs
    such a template as its text and ``str()`` of each var (no finalize, no escaping). A name
    Jinja resolves itself (``self``, a global such as ``range``) is not among ``variables``,
    the template's undeclared names: such a template is left to Jinja."""
    if env.finalize is not None or env.autoescape is not False:
        return None
    if not ast.body:
        return ()
    if len(ast.body) != 1 or type(ast.body[0]) is not nodes.Output:
        return None
    parts: list[tuple[str, bool]] = []
    for node in ast.body[0].nodes:
        if type(node) is nodes.Name and node.ctx == "load" and node.name in variables:
            parts.append((node.name, True))
        elif type(node) is not nodes.TemplateData:
            return None
        elif parts and not parts[-1][1]:  # Jinja yields adjacent texts as one chunk
            parts[-1] = (parts[-1][0] + node.data, False)
        else:
            parts.append((node.data, False))
    return tuple(parts) if len(parts) <= _MAX_LAYOUT_PARTS else None


@dataclass(frozen=True)
class PromptTemplate:
    """A completion template (``prompt``) or chat templates (``messages``): one of the two."""

    prompt: Template | None = None
    messages: tuple[tuple[str, Template], ...] | None = None

    def render(self, case_vars: Mapping[str, Any]) -> tuple[tuple[Message, ...] | None, str | None]:
        """Rendered (messages, prompt); exactly one of them is None."""
        if self.prompt is not None:
            return None, self.prompt.render(case_vars)
        messages = self.messages or ()
        return tuple({"role": role, "content": t.render(case_vars)} for role, t in messages), None
