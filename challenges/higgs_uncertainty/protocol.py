"""What a HiggsML Uncertainty submission answers, and how an answer is checked.

Per pseudo-experiment a submission returns ``mu_hat``, ``delta_mu_hat``, ``p16`` and ``p84``
(the 68.27% interval on the signal strength). A missing key or a non-finite value fails that
pseudo-experiment with a message; a reversed interval (p16 > p84) is accepted and scored as
SPEC 1 says: its width counts and it is never covered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

ANSWER_KEYS: tuple[str, ...] = ("mu_hat", "delta_mu_hat", "p16", "p84")


class AnswerError(ValueError):
    """A pseudo-experiment's answer cannot be scored; the message names the field."""


def validate_answer(answer: Any) -> dict[str, float]:
    """Return the answer as four floats, or raise ``AnswerError`` naming what is wrong."""
    if not isinstance(answer, Mapping):
        raise AnswerError(f"answer must be a mapping with keys {ANSWER_KEYS}, got {type(answer).__name__}")
    missing = [k for k in ANSWER_KEYS if k not in answer]
    if missing:
        raise AnswerError(f"answer lacks key(s) {missing}; expected {list(ANSWER_KEYS)}")
    clean: dict[str, float] = {}
    for key in ANSWER_KEYS:
        try:
            value = float(answer[key])
        except (TypeError, ValueError):
            raise AnswerError(f"answer[{key!r}] = {answer[key]!r} is not a number") from None
        if not math.isfinite(value):
            raise AnswerError(f"answer[{key!r}] is {value}; a finite number is required")
        clean[key] = value
    if clean["delta_mu_hat"] < 0:
        raise AnswerError(f"answer['delta_mu_hat'] = {clean['delta_mu_hat']} is negative")
    return clean
