"""Rendering prompt templates in the Jinja2 sandbox with StrictUndefined."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from typing import Any

import pytest

from pytest_promptcheck.render import (
    PromptTemplate,
    Template,
    TemplateError,
    compile_template,
    make_environment,
)

SECRET = "promptcheck-render-secret-value"


def compile_(source: str) -> Template:
    return compile_template(make_environment(), source)


def render(source: str, **case_vars: Any) -> str:
    return compile_(source).render(case_vars)


def render_error(source: str, **case_vars: Any) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        render(source, **case_vars)
    return info.value


# variables


def test_variables_are_substituted() -> None:
    assert render("Hello {{ name }}!", name="Ada") == "Hello Ada!"


def test_template_lists_the_variables_it_reads() -> None:
    assert compile_("{{ a }} {{ b.c }} {% for x in items %}{{ x }}{% endfor %}").variables == {
        "a",
        "b",
        "items",
    }


def test_missing_variable_is_named_in_the_error() -> None:
    error = render_error("Hi {{ who }} and {{ other }}", other="x")
    assert error.message == "template variable 'who' is missing from the case's vars"
    assert error.hint.startswith("add who to this case's vars")


def test_several_missing_variables_are_all_named() -> None:
    error = render_error("{{ b }}{{ a }}")
    assert error.message == "template variable 'a', 'b' is missing from the case's vars"


def test_missing_attribute_is_an_error_not_empty_text() -> None:
    error = render_error("{{ t.missing }}", t={"x": 1})
    assert error.message == "template error: 'dict object' has no attribute 'missing'"


def test_filters_still_work() -> None:
    assert render("{{ name | upper }}", name="bob") == "BOB"


def test_loops_and_conditions_work() -> None:
    source = "{% for i in items %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}"
    assert render(source, items=[1, 2, 3]) == "1,2,3"


def test_trailing_newline_is_kept() -> None:
    assert render("line {{ x }}\n", x=1) == "line 1\n"


def test_no_html_autoescape() -> None:
    assert render("{{ x }}", x="<b>&</b>") == "<b>&</b>"


def test_var_holding_template_syntax_is_rendered_literally() -> None:
    assert render("Q: {{ q }}", q="{{ 7*7 }}") == "Q: {{ 7*7 }}"


def test_var_holding_statement_syntax_is_rendered_literally() -> None:
    assert render("{{ q }}", q="{% for x in range(3) %}x{% endfor %}") == (
        "{% for x in range(3) %}x{% endfor %}"
    )


# syntax errors


def test_syntax_error_carries_its_line() -> None:
    with pytest.raises(TemplateError) as info:
        compile_("first\nsecond {{ x }\nthird")
    assert info.value.line == 2
    assert info.value.message == "template syntax error: unexpected '}'"


def test_unclosed_block_is_a_syntax_error() -> None:
    with pytest.raises(TemplateError) as info:
        compile_("a\nb\n{% if x %}\nc\n")
    assert info.value.message.startswith("template syntax error: ")
    assert info.value.line is not None


def test_arithmetic_error_is_a_template_error() -> None:
    assert render_error("{{ 1 / x }}", x=0).message == "template error: division by zero"


# the sandbox


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ x.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ joiner.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__.os }}",
        "{{ self._TemplateReference__context }}",
        "{{ x | attr('__class__') }}",
        "{{ '{0.__class__.__mro__}'.format(x) }}",
        "{{ x.__class__.__mro__[1].__subclasses__() }}",
        "{{ [].pop.__self__ }}",
    ],
)
def test_sandbox_blocks_python_internals(source: str) -> None:
    error = render_error(source, x="text")
    assert error.message.startswith(
        "template tries to reach Python internals, which is not allowed"
    )
    assert error.hint == "templates may only use case vars and Jinja2 filters"


INTERNALS = "template tries to reach Python internals"


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        ("{{ cycler.__init__.__globals__.os.environ }}", INTERNALS),
        ("{{ self.__init__.__globals__ }}", INTERNALS),
        ("{{ x.__class__.__base__.__subclasses__() }}", INTERNALS),
        # lipsum is removed from the globals, so it is a case var the case does not have
        ("{{ lipsum.__globals__['os'].environ }}", "template variable 'lipsum' is missing"),
    ],
)
def test_sandbox_escape_is_refused_and_leaks_no_environment(
    monkeypatch: pytest.MonkeyPatch, source: str, refusal: str
) -> None:
    monkeypatch.setenv("PROMPTCHECK_RENDER_SECRET", SECRET)
    error = render_error(source, x="text")
    assert error.message.startswith(refusal)
    assert SECRET not in str(error) + error.hint
    assert "<module 'os'" not in str(error)


def test_sandbox_bounds_range() -> None:
    error = render_error("{{ range(1000001) | list | length }}")
    assert error.message.startswith("template error: Range too big.")


# PromptTemplate


def test_prompt_template_renders_a_completion_prompt() -> None:
    template = PromptTemplate(prompt=compile_("Q: {{ q }}\nA:"))
    assert template.render({"q": "why"}) == (None, "Q: why\nA:")


def test_prompt_template_renders_chat_messages() -> None:
    template = PromptTemplate(
        messages=(("system", compile_("Be brief.")), ("user", compile_("{{ q }}")))
    )
    messages, prompt = template.render({"q": "why"})
    assert prompt is None
    assert messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "why"},
    )


# bounded work (issue 8, point 5): each of these hung or exhausted memory before

HOSTILE = {
    "nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}.{% endfor %}{% endfor %}"
    ),
    "power folded at compile time": "{{ 7 ** (10 ** 8) }}",
    "repeated string": "{{ 'x' * 10 ** 10 }}",
    "repeated list": "{{ [1] * 10 ** 10 }}",
    "%-format width": "{{ '%0*d' % (10 ** 9, 1) }}",
    "%-format written width": "{{ '%01000000000d' % 1 }}",
    "center": "{{ 'x' | center(10 ** 9) }}",
    "indent": "{{ 'x\ny' | indent(10 ** 9) }}",
    "wordwrap": "{{ 'x' | wordwrap(10 ** 9) }}",
    "format filter": "{{ '%01000000000d' | format(1) }}",
    "str.format width": "{{ '{:>1000000000}'.format(1) }}",
    "str.format nested width": "{{ '{:>{w}}'.format(1, w=10 ** 9) }}",
    "str method width": "{{ 'x'.ljust(10 ** 9) }}",
    "namespace doubling": (
        "{% set ns = namespace(s='ab') %}"
        "{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "namespace doubling with +": (
        "{% set ns = namespace(s='ab') %}"
        "{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"
    ),
    "list doubling": "{% set l = [1] %}{% for i in range(64) %}{{ l.extend(l) }}{% endfor %}",
    "number doubling": (
        "{% set ns = namespace(n=7) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}"
        "{% endfor %}{{ ns.n > 0 }}"
    ),
    "join": "{{ (['x' * 1000000] * 1000) | join }}",
    "join of a generator": "{{ range(100000) | map('center', 1000000) | join }}",
    "replace": "{{ ('x' * 1000000) | replace('x', 'yy') }}",
    "output": "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    "shared references": "{% set a = [1] * 1000 %}{% set b = [a] * 1000 %}{{ b }}",
    "shared references in a literal": (
        "{% set a = [1] * 600000 %}{% set b = [a, a] %}{{ b | tojson }}"
    ),
    "sum of lists": "{{ ([[1] * 1000] * 1000) | sum(start=[]) }}",
    "indent with a text width": "{{ ('\\n' * 1000) | indent('x' * 1000, true) }}",
    "wordwrap with a long wrapstring": "{{ ('x ' * 100000) | wordwrap(2, wrapstring='y' * 1000) }}",
    "expandtabs": "{{ ('\\t' * 1000000).expandtabs(1000000) }}",
    "translate": "{{ ('x' * 1000000).translate({120: 'y' * 1000}) }}",
    "bytes replace": "{{ ('x' * 1000000).encode().replace('x'.encode(), 'yy'.encode()) }}",
    "str.join of a generator": "{{ ''.join(range(100000) | map('center', 1000000)) }}",
    "urlize": "{{ ('http://a.b ' * 1000) | urlize(target='x' * 1000) }}",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_template_is_refused_with_the_limit_it_exceeds(source: str) -> None:
    error = render_error(source)
    assert error.message.startswith("template exceeds "), error.message
    assert "(limit " in error.message
    assert error.hint.startswith("a template should lay out case vars")


def test_a_template_that_calls_itself_forever_is_refused() -> None:
    error = render_error("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}")
    assert error.message == "template calls itself too deeply"


def test_lipsum_is_not_available() -> None:
    error = render_error("{{ lipsum(10 ** 7) }}")
    assert error.message == "template variable 'lipsum' is missing from the case's vars"


def test_the_rendered_size_limit_names_the_limit() -> None:
    error = render_error("{% for i in range(20000) %}{{ 'x' * 100 }}{% endfor %}")
    assert error.message == "template exceeds the rendered-size limit (limit 1,000,000 characters)"


def test_work_within_the_limits_renders() -> None:
    source = (
        "{% set ns = namespace(s='') %}{% for i in range(1000) %}{% set ns.s = ns.s ~ i %}"
        "{% endfor %}{{ ns.s | length }} {{ '%05.1f' % 3.14159 }} {{ 'x' | center(5) }}|"
        "{{ '{:>4}'.format(7) }} {{ items | join(', ') }} {{ 2 ** 10 }} {{ 'ab' * 3 }}"
    )
    assert render(source, items=["a", "b"]) == "2890 003.1   x  |   7 a, b 1024 ababab"


def test_big_numbers_in_vars_are_values_not_widths() -> None:
    assert render("{{ n }} {{ '%d' % n }} {{ '{}'.format(n) }}", n=10**12) == (
        "1000000000000 1000000000000 1000000000000"
    )


def test_each_render_has_its_own_budget() -> None:
    template = compile_(
        "{% for j in range(4) %}{% for i in range(100000) %}{% endfor %}{% endfor %}ok"
    )
    assert [template.render({}) for _ in range(3)] == ["ok", "ok", "ok"]


def test_counted_loops_keep_loop_variables_and_recursion() -> None:
    source = (
        "{% for x in items %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}!{% endif %} "
        "{% else %}none{% endfor %}|{% for n in tree recursive %}{{ n.name }}({{ loop(n.kids) }})"
        "{% endfor %}"
    )
    tree = [{"name": "r", "kids": [{"name": "c", "kids": []}]}]
    assert render(source, items=["p", "q"], tree=tree) == "1/2 2/2! |r(c())"
    assert render(source, items=[], tree=[]) == "none|"


@pytest.mark.parametrize(
    "source",
    [
        "{{ '%(a)s' % {} }}",
        "{{ '{x}'.format() }}",
        "{{ {}.popitem() }}",
        "{{ '{0}'.format() }}",
        "{{ [].pop() }}",
        "{{ 'a'.encode('nope') }}",
        "{% set c = cycler() %}{{ c.next() }}",
        "{{ {'a': 1}|dictsort(by='x') }}",
    ],
)
def test_a_template_that_fails_while_rendering_is_a_template_error(source: str) -> None:
    assert render_error(source).message.startswith("template error: ")


@pytest.mark.parametrize(
    "source",
    [
        "{{ (range(300)|list)|tojson(indent=999999)|length }}",
        "{% set a = 'x' * 1000000 %}{{ (" + " ~ ".join(["a"] * 200) + ")|length }}",
        "{% set a = 'x' * 1000000 %}{{ ('{0}' * 200).format(a)|length }}",
        "{% set a = 'x' * 1000000 %}{{ ('{x}' * 200).format(x=a)|length }}",
    ],
    ids=["tojson indent", "~ chain", "format fields", "format keyword fields"],
)
def test_what_an_operation_would_build_is_refused_before_it_is_built(source: str) -> None:
    """Checked after the fact, each of these built hundreds of MB first (gigabytes at 10x)."""
    tracemalloc.start()
    try:
        error = render_error(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.message.startswith("template exceeds the size limit for one value")
    assert peak < 50 * 2**20


def test_reading_a_large_var_through_a_method_is_not_a_size_error() -> None:
    """Only methods that change their receiver (append, update) have it sized again."""
    table = {f"k{i}": i for i in range(150_000)}
    assert render("{{ table.get('k1') }}", table=table) == "1"


# templates that only lay out vars: rendered without Jinja, as Jinja renders them

LAYOUTS = [
    "Echo {{ x }}",
    "",
    "plain text\n",
    "a{# a comment #}b {{x}}{{y}}\n",
    "{{- x -}}  \n {{ y }}",
    "{% raw %}{{x}}{% endraw %} {{y}}",
    "line\n\n{{x}}\n\n",
]
LAYOUT_VARS = [
    {"x": 1, "y": None},
    {"x": "a\nb", "y": [1, {"a": True}]},
    {"x": 1.5, "y": "é"},
    {"x": {"y": 2}, "y": False},
]


@pytest.mark.parametrize("source", LAYOUTS)
def test_a_layout_renders_what_jinja_renders(source: str) -> None:
    template = compile_(source)
    assert template.layout is not None
    through_jinja = replace(template, layout=None)
    for case_vars in LAYOUT_VARS:
        assert template.render(case_vars) == through_jinja.render(case_vars)


def test_names_jinja_resolves_itself_are_rendered_by_jinja() -> None:
    """``self`` and Jinja's globals (``range``...) are no case vars: left to Jinja, a case var
    named ``self`` does not replace the template's reference, and ``{{ range }}`` without a
    var renders as in Jinja rather than failing as a missing var."""
    own = compile_("Hi {{ self }}")
    assert own.layout is None
    assert own.render({"self": "me"}) != "Hi me"
    for source in ("{{ range }}", "{{ namespace }}"):
        template = compile_(source)
        assert template.layout is None
        assert template.render({}).startswith("<")


@pytest.mark.parametrize("source", ["{{ x.y }}", "{{ x|upper }}", "{% if x %}{{ x }}{% endif %}"])
def test_a_template_that_computes_is_rendered_by_jinja(source: str) -> None:
    assert compile_(source).layout is None


def test_a_layout_keeps_the_rendered_size_limit() -> None:
    template = compile_("{{ x }}{{ x }}")
    big = {"x": "x" * 600_000}
    assert template.layout is not None
    layout_error = render_error("{{ x }}{{ x }}", **big)
    with pytest.raises(TemplateError) as jinja_error:
        replace(template, layout=None).render(big)
    assert (layout_error.message, layout_error.hint) == (
        jinja_error.value.message,
        jinja_error.value.hint,
    )
    assert "rendered-size limit" in layout_error.message
