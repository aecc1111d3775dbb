"""Load and validate prompt files into PromptSpec and Case objects.

Everything a run needs is checked here, at collection time, so a bad file is one clear
collection error (``file:line: what is wrong`` + a hint) and never a traceback later.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.case_files import RawCase, expand_cases
from pytest_promptcheck.check_specs import CheckCompiler, CheckItemError, CheckSpec
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.documents import Document, PathKey, load_document
from pytest_promptcheck.errors import CheckArgError, SpecError
from pytest_promptcheck.files import default_name
from pytest_promptcheck.flow_target import FlowTarget, flow_of
from pytest_promptcheck.project import OutsideProject, Project
from pytest_promptcheck.records import Message, ModelRequest
from pytest_promptcheck.render import (
    PromptTemplate,
    Template,
    TemplateError,
    compile_template,
    make_environment,
)
from pytest_promptcheck.schemas import Schema, load_schema
from pytest_promptcheck.tools import Tool, ToolChoice, load_tools
from pytest_promptcheck.turns import Turn, build_turns, turn_template
from pytest_promptcheck.validation import validate_case, validate_file


@dataclass(frozen=True)
class Case:
    """One (input, expected) pair, rendered and ready to send."""

    id: str
    vars: dict[str, Any]
    checks: tuple[CheckSpec, ...]
    threshold: float | None
    messages: tuple[Message, ...] | None
    prompt: str | None
    doc: Document = field(compare=False, repr=False)
    key: PathKey = ()
    turns: tuple[Turn, ...] = ()
    """A multi-turn case's turns (turns.py); its ``checks`` judge the last turn."""

    @property
    def source(self) -> Path:
        """The file the case is written in (the prompt file or a case file)."""
        return self.doc.path

    @property
    def line(self) -> int | None:
        return self.doc.line_of(self.key)


@dataclass(frozen=True)
class PromptSpec:
    path: Path
    name: str
    version: str | None
    description: str | None
    model: str | None
    params: dict[str, Any]
    format_type: str
    format_schema: Schema | None
    samples: int
    min_pass_rate: float
    cases: tuple[Case, ...]
    fingerprint: str
    template: PromptTemplate = field(default=PromptTemplate(), compare=False, repr=False)
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice = None
    flow: FlowTarget | None = field(default=None, compare=False, repr=False)
    """Set when the file names an application function (``flow:``) instead of a prompt."""

    def request(self, case: Case, model: str) -> ModelRequest:
        return ModelRequest(
            model=model,
            messages=case.messages,
            prompt=case.prompt,
            params=self.params,
            format=self.format_payload(),
            tools=tuple(tool.payload() for tool in self.tools),
            tool_choice=self.tool_choice,
        )

    def format_payload(self) -> dict[str, Any]:
        schema = None if self.format_schema is None else self.format_schema.payload()
        return {"type": self.format_type, "schema": schema}


def load_spec(path: Path, registry: CheckRegistry, *, require_cases: bool = False) -> PromptSpec:
    """``require_cases``: a collected file must have cases to run; the ``promptcheck`` fixture
    runs a prompt with vars of its own, so a prompt meant for it needs none."""
    _refuse_escaping_link(path, registry.project)
    doc = load_document(path)
    if not isinstance(doc.data, dict):
        raise SpecError(
            path,
            "a prompt file must be a mapping of fields",
            line=1,
            hint="start with e.g. 'prompt: ...' and 'cases: [...]'",
        )
    validate_file(doc, doc.data)
    spec = _build(doc, doc.data, registry)
    if require_cases and not spec.cases:
        raise SpecError(
            path,
            "no cases: nothing to run",
            line=doc.line_of(("cases",)),
            hint="add cases, e.g. 'cases: [{id: first, vars: {x: 1}}]' or '- file: cases.jsonl';"
            " a prompt run only from Python (the promptcheck fixture) belongs in a folder that"
            " pytest does not collect",
        )
    return spec


def _refuse_escaping_link(path: Path, project: Project) -> None:
    """A prompt file in the project that is a symlink to a file outside it (a pull request can
    add one) is not read; a file pytest was pointed at outside the rootdir is its own choice."""
    if path.parent.resolve().is_relative_to(project.root):  # its folder may be a link too
        try:
            project.confine(path, path.name)
        except OutsideProject as exc:
            message = (
                f"the prompt file links to a file outside the project (rootdir {project.root})"
            )
            raise SpecError(path, message, hint=exc.hint) from None


def _build(doc: Document, data: dict[str, Any], registry: CheckRegistry) -> PromptSpec:
    base = doc.path.parent
    template = _template(doc, data)
    format_type = data.get("format", {}).get("type", "text")
    schema = _format_schema(doc, data, base, registry)
    compiler = CheckCompiler(registry)
    file_checks = _checks(doc, data.get("expect", []), ("expect",), compiler, base)
    cases = _cases(doc, data, template, file_checks, compiler)
    tools, tool_choice = load_tools(doc, data, base, registry.project)
    threshold = data.get("threshold")
    if threshold is not None:
        cases = tuple(
            c if c.threshold is not None else _with_threshold(c, threshold) for c in cases
        )
    sent: dict[str, Any] = {
        "messages": data.get("messages"),
        "prompt": data.get("prompt"),
        "params": data.get("params", {}),
        "format": {"type": format_type, "schema": None if schema is None else schema.payload()},
    }
    if tools:  # only when offered: the fingerprints of prompts without tools stay as they were
        sent["tools"] = [{**t.payload(), "parameters": t.parameters.payload()} for t in tools]
    if tool_choice is not None:
        sent["tool_choice"] = tool_choice
    if "flow" in data:  # only then: the fingerprints of prompt files stay as they were
        sent["flow"] = data["flow"]
    fingerprint = sha256_of(sent)
    version = data.get("version")
    return PromptSpec(
        path=doc.path,
        name=data.get("name") or default_name(doc.path),
        version=None if version is None else str(version),
        description=data.get("description"),
        model=data.get("model"),
        params=data.get("params", {}),
        format_type=format_type,
        format_schema=schema,
        samples=data.get("samples", 1),
        min_pass_rate=float(data.get("min_pass_rate", 1.0)),
        cases=cases,
        fingerprint=fingerprint,
        template=template,
        tools=tools,
        tool_choice=tool_choice,
        flow=flow_of(doc, data, registry.project),
    )


def _with_threshold(case: Case, threshold: float) -> Case:
    return replace(case, threshold=threshold)


def _with_turns(
    raw: RawCase, case: Case, template: PromptTemplate, compiler: CheckCompiler
) -> Case:
    if "turns" not in raw.data:
        return case

    def compile_text(source: str, key: PathKey) -> Template:  # the prompt's own sandbox
        return turn_template(source) or _compile(raw.doc, make_environment(), source, key)

    def compile_checks(items: list[Any], key: PathKey) -> tuple[CheckSpec, ...]:
        return _checks(raw.doc, items, key, compiler, raw.prompt_dir)

    chat = template.prompt is None
    return replace(case, turns=build_turns(raw, case.id, chat, compile_text, compile_checks))


def _template(doc: Document, data: dict[str, Any]) -> PromptTemplate:
    has_messages, has_prompt = "messages" in data, "prompt" in data
    if "flow" in data and (has_messages or has_prompt):
        raise SpecError(
            doc.path,
            "the prompt file has both 'flow' and '" + ("messages'" if has_messages else "prompt'"),
            line=doc.line_of(("flow",)),
            hint="a flow file names the function that makes the calls; its steps are prompt files",
        )
    if "flow" in data:
        return PromptTemplate()
    if has_messages == has_prompt:
        problem = (
            "has both 'messages' and 'prompt'" if has_messages else "needs 'messages' or 'prompt'"
        )
        raise SpecError(
            doc.path,
            f"the prompt file {problem}",
            line=doc.line_of(("prompt",)) or 1,
            hint="use 'messages' for a chat prompt, 'prompt' for a completion prompt",
        )
    env = make_environment()
    if has_prompt:
        return PromptTemplate(prompt=_compile(doc, env, data["prompt"], ("prompt",)))
    return PromptTemplate(
        messages=tuple(
            (m["role"], _compile(doc, env, m["content"], ("messages", i, "content")))
            for i, m in enumerate(data["messages"])
        )
    )


def _compile(doc: Document, env: Any, source: str, key: PathKey) -> Template:
    try:
        return compile_template(env, source)
    except TemplateError as exc:
        line = doc.content_line_of(key)
        if line is not None and exc.line is not None:
            line += exc.line - 1
        raise SpecError(
            doc.path, f"{'.'.join(map(str, key))}: {exc.message}", line=line, hint=exc.hint
        ) from None


def _format_schema(
    doc: Document, data: dict[str, Any], base: Path, registry: CheckRegistry
) -> Schema | None:
    fmt = data.get("format", {})
    if "schema" not in fmt:
        return None
    if fmt.get("type", "text") != "json":
        raise SpecError(
            doc.path,
            "format.schema needs format.type: json",
            line=doc.line_of(("format", "schema")),
            hint="add 'type: json' to format",
        )
    try:
        return load_schema(fmt["schema"], base, registry.project)
    except CheckArgError as exc:
        raise SpecError(
            doc.path,
            f"format.schema: {exc.message}",
            line=doc.line_of(("format", "schema")),
            hint=exc.hint,
        ) from None


def _checks(
    doc: Document, items: list[Any], key: PathKey, compiler: CheckCompiler, base: Path
) -> tuple[CheckSpec, ...]:
    return tuple(_check(doc, item, (*key, i), compiler, base) for i, item in enumerate(items))


def _check(
    doc: Document, item: dict[str, Any], key: PathKey, compiler: CheckCompiler, base: Path
) -> CheckSpec:
    try:
        return compiler.compile(item, base)
    except CheckItemError as exc:
        at = key if exc.field is None else (*key, exc.field)
        raise SpecError(doc.path, exc.message, line=doc.line_of(at), hint=exc.hint) from None


def _cases(
    doc: Document,
    data: dict[str, Any],
    template: PromptTemplate,
    file_checks: tuple[CheckSpec, ...],
    compiler: CheckCompiler,
) -> tuple[Case, ...]:
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for number, raw in enumerate(expand_cases(doc, compiler.registry.project), start=1):
        validate_case(raw.doc, raw.data, raw.key)
        case = _case(raw, number, template, file_checks, compiler)
        if case.id in seen:
            first = seen[case.id]
            raise SpecError(
                case.source,
                f"duplicate case id '{case.id}' (first at {first.source.name}:{first.line})",
                line=case.line,
                hint="case ids must be unique in a prompt file; rename one",
            )
        seen[case.id] = case
        cases.append(case)
    return tuple(cases)


def _case(
    raw: RawCase,
    number: int,
    template: PromptTemplate,
    file_checks: tuple[CheckSpec, ...],
    compiler: CheckCompiler,
) -> Case:
    data, doc = raw.data, raw.doc
    case_id = str(data.get("id", f"case-{number}"))
    case_vars = data.get("vars", {})
    checks = file_checks + _checks(
        doc, data.get("expect", []), (*raw.key, "expect"), compiler, raw.prompt_dir
    )
    try:
        messages, prompt = template.render(case_vars)
    except TemplateError as exc:
        raise SpecError(
            doc.path, f"case '{case_id}': {exc.message}", line=doc.line_of(raw.key), hint=exc.hint
        ) from None
    case = Case(case_id, case_vars, checks, data.get("threshold"), messages, prompt, doc, raw.key)
    return _with_turns(raw, case, template, compiler)
