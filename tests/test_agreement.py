"""Agreement statistics on textbook values."""

from __future__ import annotations

import pytest

from pytest_promptcheck.agreement import (
    Agreement,
    Confusion,
    cohen_kappa,
    confusion,
    self_agreement,
)


def _pairs(counts: dict[tuple[int, int], int]) -> tuple[list[int], list[int]]:
    people = [p for (p, _), n in counts.items() for _ in range(n)]
    judge = [j for (_, j), n in counts.items() for _ in range(n)]
    return people, judge


def test_kappa_of_the_textbook_table() -> None:
    # Wikipedia's "Cohen's kappa" example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
    # no/no 15: observed agreement 0.7, chance 0.5, kappa 0.4
    people, judge = _pairs({(1, 1): 20, (1, 0): 5, (0, 1): 10, (0, 0): 15})
    assert cohen_kappa(people, judge, [0, 1], weighted=False) == pytest.approx(0.4)


def test_kappa_of_a_second_textbook_table() -> None:
    # the same article: 45/15/25/15 -> observed 0.6, chance 0.54, kappa 0.1304
    people, judge = _pairs({(1, 1): 45, (1, 0): 15, (0, 1): 25, (0, 0): 15})
    assert cohen_kappa(people, judge, [0, 1], weighted=False) == pytest.approx(0.1304, abs=1e-4)


def test_quadratic_weights_on_two_categories_are_plain_kappa() -> None:
    people, judge = _pairs({(1, 1): 20, (1, 0): 5, (0, 1): 10, (0, 0): 15})
    assert cohen_kappa(people, judge, [0, 1], weighted=True) == pytest.approx(0.4)


def test_weighted_kappa_of_perfect_and_reversed_raters() -> None:
    scale = [1, 2, 3, 4, 5]
    assert cohen_kappa(scale, scale, scale, weighted=True) == pytest.approx(1.0)
    assert cohen_kappa(scale, scale[::-1], scale, weighted=True) == pytest.approx(-1.0)


def test_weighted_kappa_counts_near_misses_as_partial_agreement() -> None:
    # a 3x3 table worked by hand: people 1,1,2,2,3,3 / judge 1,2,2,3,3,3; weights 1/4 for a
    # miss by one, 1 by two. Observed disagreement 2/6 * 1/4 = 1/12; chance, from the margins
    # (people 1/3 each, judge 1/6, 2/6, 3/6): 24/72 = 1/3; kappa 1 - (1/12)/(1/3) = 0.75
    people, judge = [1, 1, 2, 2, 3, 3], [1, 2, 2, 3, 3, 3]
    assert cohen_kappa(people, judge, [1, 2, 3], weighted=True) == pytest.approx(0.75)
    assert cohen_kappa(people, judge, [1, 2, 3], weighted=False) == pytest.approx(0.5)


def test_kappa_is_undefined_without_a_chance_to_disagree() -> None:
    assert cohen_kappa([1, 1], [1, 1], [0, 1], weighted=False) is None
    assert cohen_kappa([], [], [0, 1], weighted=False) is None


def test_confusion_and_rates() -> None:
    counts = confusion([True, True, True, False, False], [True, True, False, False, True])
    assert counts == Confusion(tp=2, fp=1, fn=1, tn=1)
    assert counts.tpr == pytest.approx(2 / 3)
    assert counts.tnr == pytest.approx(1 / 2)
    assert Confusion(0, 0, 0, 3).tpr is None


def test_self_agreement_is_the_mean_pairwise_share() -> None:
    # item 1: 3 votes, pairs (T,T) (T,F) (T,F): 1/3; item 2: unanimous: 1
    assert self_agreement([[True, True, False], [False, False, False]]) == pytest.approx(2 / 3)
    assert self_agreement([[True], [False]]) is None


def test_an_agreement_travels_as_json_and_reads_as_a_line() -> None:
    agreement = Agreement("openai:j", "labels.jsonl", 5, 0.4, False, Confusion(2, 1, 1, 1), None)
    assert Agreement.from_json(agreement.to_json()) == agreement
    assert agreement.describe() == (
        "openai:j on labels.jsonl (5 labels): kappa 0.40, TPR 0.67, TNR 0.50 "
        "(tp 2, fp 1, fn 1, tn 1)"
    )
