"""Multi-turn cases (DESIGN §2, ``turns:``): one model call per turn, keyed on the whole history.

Turn *k* sends the prompt's messages, then every earlier turn (its user message and the model's
own reply), then turn *k*'s user message. So turn *k*'s request, and its cache key, exist only
once turn *k-1* has answered: the turns of one case run in order, while cases (and the samples
of a case, each its own conversation) run concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.check_specs import CheckSpec
from pytest_promptcheck.checks.api import ModelCheck
from pytest_promptcheck.documents import PathKey
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.records import Completion, Message, ModelRequest
from pytest_promptcheck.render import Template, TemplateError, compile_template, make_environment

if TYPE_CHECKING:
    from pytest_promptcheck.case_files import RawCase
    from pytest_promptcheck.client import ModelClient

CompileText = Callable[[str, PathKey], Template]
CompileChecks = Callable[[list[Any], PathKey], tuple[CheckSpec, ...]]

NEEDS_MESSAGES_HINT = (
    "turns extend a chat conversation: write the prompt as 'messages:' (e.g. a system"
    " message), not 'prompt:'"
)


@dataclass(frozen=True)
class Turn:
    """One turn of a case: its user message, rendered from the case vars, and its checks."""

    user: str
    checks: tuple[CheckSpec, ...] = ()


def build_turns(
    raw: RawCase,
    case_id: str,
    chat: bool,
    compile_text: CompileText,
    compile_checks: CompileChecks,
) -> tuple[Turn, ...]:
    """The case's turns, compiled with the file's sandbox and rendered at collection, so a
    missing variable is a collection error naming the file, the case and the turn."""
    if "turns" not in raw.data:
        return ()
    if not chat:
        raise SpecError(
            raw.doc.path,
            f"case '{case_id}' has turns, but the prompt is a completion prompt ('prompt:')",
            line=raw.doc.line_of((*raw.key, "turns")),
            hint=NEEDS_MESSAGES_HINT,
        )
    turns = []
    for index, data in enumerate(raw.data["turns"]):
        key = (*raw.key, "turns", index)
        template = compile_text(data["user"], (*key, "user"))
        try:
            user = template.render(raw.data.get("vars", {}))
        except TemplateError as exc:
            raise SpecError(
                raw.doc.path,
                f"case '{case_id}' turn {index + 1}: {exc.message}",
                line=raw.doc.line_of((*key, "user")),
                hint=exc.hint,
            ) from None
        checks = compile_checks(data.get("expect", []), (*key, "expect"))
        _refuse_asking(raw, case_id, index, checks)
        turns.append(Turn(user, checks))
    return tuple(turns)


def _refuse_asking(raw: RawCase, case_id: str, index: int, checks: tuple[CheckSpec, ...]) -> None:
    """A check that asks a model is planned per sample (case_calls.py), not per turn yet."""
    for position, check in enumerate(checks):
        if isinstance(check.check, ModelCheck):
            raise SpecError(
                raw.doc.path,
                f"case '{case_id}' turn {index + 1}: '{check.kind}' asks a model, which a turn's"
                " expect does not support",
                line=raw.doc.line_of((*raw.key, "turns", index, "expect", position)),
                hint="put it in the case's expect: it judges the last turn's reply",
            )


@lru_cache(maxsize=1024)
def turn_template(source: str) -> Template | None:
    """Compiled once per text: a turn written in every case of a file costs one compile (about
    1 ms), not one per case; each render still has its own budget (render.py). None when it does
    not compile: the caller reports where."""
    try:
        return compile_template(make_environment(), source)
    except TemplateError:
        return None


def turn_request(base: ModelRequest, turns: Sequence[Turn], replies: Sequence[str]) -> ModelRequest:
    """The request of the turn after ``replies`` (the texts the model answered so far)."""
    history: list[Message] = []
    for turn, reply in zip(turns, replies, strict=False):
        history += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": reply}]
    user = {"role": "user", "content": turns[len(replies)].user}
    return replace(base, messages=(*(base.messages or ()), *history, user))


async def run_turns(
    client: ModelClient, base: ModelRequest, turns: Sequence[Turn], sample: int
) -> tuple[Completion, ...]:
    """One sample's conversation: every turn's answer, in order (made or found in the cache)."""
    answers: list[Completion] = []
    for _ in turns:
        request = turn_request(base, turns, [a.text for a in answers])
        answers.append(await client.sample(request, sample))
    return tuple(answers)


def finished_turns(
    client: ModelClient, base: ModelRequest, turns: Sequence[Turn], sample: int
) -> tuple[Completion, ...] | None:
    """The conversation when every turn's call already succeeded, without the event loop."""
    answers: list[Completion] = []
    for _ in turns:
        request = turn_request(base, turns, [a.text for a in answers])
        done = client.finished_jobs([(request, sample)])
        if done is None:
            return None
        answers += done
    return tuple(answers)


def plain_turns(turns: Any) -> bool:
    """The quick look of validation.py: a non-empty list of plain turns passes without the
    JSON Schema (slow); anything else goes to the schema, which words the error."""
    return turns != [] and all(_plain_turn(turn) for turn in turns)


def _plain_turn(turn: Any) -> bool:
    checks = turn.get("expect", []) if isinstance(turn, dict) else None
    return (
        isinstance(turn, dict)
        and set(turn) <= {"user", "expect"}
        and isinstance(turn.get("user"), str)
        and isinstance(checks, list)
        and all(isinstance(c, dict) and c for c in checks)
    )


@dataclass(frozen=True)
class TurnPlan:
    """What the cache tells of one sample's conversation before any call is made."""

    keys: frozenset[str]
    """The keys of the turns whose history is known (turn 1's always is)."""
    unknown: int
    """Turns after a reply the cache does not hold: counted, their keys unknown yet."""
    last: Completion | None
    """The last turn's cached answer, when the whole conversation is cached."""


def plan_turns(
    client: ModelClient, base: ModelRequest, turns: Sequence[Turn], sample: int
) -> TurnPlan:
    """Turn 1 by its key; each later turn by its key while the replies before it are cached,
    else by count (as the calls a check makes about an output not made yet)."""
    keys: set[str] = set()
    replies: list[str] = []
    for index in range(len(turns)):
        key = client.key(turn_request(base, turns, replies), sample)
        keys.add(key)
        answer = client.cache.get(key)
        if answer is None:
            return TurnPlan(frozenset(keys), len(turns) - index - 1, None)
        replies.append(answer.text)
    return TurnPlan(frozenset(keys), 0, answer)
