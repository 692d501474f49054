"""The classifier two-sample test: chance for one distribution, near 1 for separated ones."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench.scoring.two_sample import two_sample_auc


def test_same_distribution_is_at_chance_and_a_shift_is_seen() -> None:
    rng = np.random.default_rng(3)
    real = rng.normal(size=(2000, 3))
    same = two_sample_auc(rng.normal(size=(4000, 3)), real)
    assert abs(same.auc - 0.5) < 0.04 and len(same.folds) == 5 and same.std > 0
    # A correlation that no single feature shows: the marginals are identical.
    x = rng.normal(size=(4000, 1))
    correlated = np.hstack([x, x + 0.3 * rng.normal(size=(4000, 1))])
    independent = np.hstack([rng.normal(size=(2000, 1)), rng.normal(size=(2000, 1)) * np.sqrt(1.09)])
    assert two_sample_auc(correlated, independent).auc > 0.8


def test_sizes_do_not_decide_the_auc() -> None:
    rng = np.random.default_rng(4)
    # 20x more generated rows than real ones: balanced weights keep chance at 0.5.
    result = two_sample_auc(rng.normal(size=(20_000, 2)), rng.normal(size=(1000, 2)), max_generated=None)
    assert abs(result.auc - 0.5) < 0.05 and result.n_generated == 20_000


@pytest.mark.parametrize(
    ("gen", "real", "message"),
    [
        (np.zeros((10, 2)), np.zeros((10, 3)), "same k"),
        (np.full((20, 2), np.nan), np.zeros((20, 2)), "finite"),
        (np.zeros((4, 2)), np.zeros((4, 2)), "too few"),
    ],
)
def test_bad_input_is_named(gen, real, message) -> None:
    with pytest.raises(ValueError, match=message):
        two_sample_auc(gen, real)
