"""Checking a pseudo-experiment's answer."""

from __future__ import annotations

import math

import pytest

from hepbench.challenges.higgs_uncertainty.protocol import AnswerError, validate_answer

GOOD = {"mu_hat": 1.0, "delta_mu_hat": 0.2, "p16": 0.8, "p84": 1.2}


def test_good_answer_passes_and_reversed_is_kept() -> None:
    assert validate_answer(GOOD) == GOOD
    reversed_interval = {**GOOD, "p16": 1.3, "p84": 0.7}
    assert validate_answer(reversed_interval)["p16"] == 1.3


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "p84"}, r"lacks key\(s\) \['p84'\]"),
        ({**GOOD, "mu_hat": math.nan}, r"answer\['mu_hat'\] is nan"),
        ({**GOOD, "p16": math.inf}, r"answer\['p16'\] is inf"),
        ({**GOOD, "p84": "high"}, r"answer\['p84'\] = 'high' is not a number"),
        ({**GOOD, "delta_mu_hat": -0.1}, r"negative"),
        ([1, 2, 3, 4], r"must be a mapping"),
    ],
)
def test_bad_answers_name_the_field(answer: object, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        validate_answer(answer)
