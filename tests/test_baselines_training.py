"""The shared torch training loop: losses, FGSM copies, the adversary; seeded and on the CPU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from hepbench.scoring.anomaly import roc_auc
from hepbench.torch_common import TrainingConfig, binary_loss, mlp, predict_logits, train_classifier


def two_gaussians(n: int = 4000, seed: int = 0, nuisance_strength: float = 0.0):
    """Signal at +1, background at -1 in the first of 4 dimensions; the background's second
    feature follows a nuisance z (a shape systematic) when ``nuisance_strength`` > 0."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(float)
    x = rng.normal(size=(n, 4))
    x[:, 0] += np.where(y == 1, 1.0, -1.0)
    z = rng.normal(size=n)
    x[:, 1] += nuisance_strength * z * (y == 0) + 0.8 * y
    return x.astype(np.float32), y, np.ones(n), z


def test_focal_loss_reduces_to_bce_and_downweights_easy_events() -> None:
    logits = torch.tensor([4.0, -4.0, 0.1, -0.2])
    targets = torch.tensor([1.0, 0.0, 0.0, 1.0])
    weights = torch.ones(4)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    assert binary_loss(logits, targets, weights, 0.0) == pytest.approx(float(bce))
    focal = binary_loss(logits, targets, weights, 2.0)
    assert float(focal) < float(bce)
    # an easy event (p_true ~ 0.98) is suppressed far more than a hard one (p_true ~ 0.45)
    easy = binary_loss(logits[:1], targets[:1], weights[:1], 2.0) / binary_loss(
        logits[:1], targets[:1], weights[:1], 0.0
    )
    hard = binary_loss(logits[3:], targets[3:], weights[3:], 2.0) / binary_loss(
        logits[3:], targets[3:], weights[3:], 0.0
    )
    assert float(easy) < 0.01 < 0.2 < float(hard)


@pytest.mark.parametrize("options", [{}, {"focal_gamma": 2.0}, {"fgsm_epsilon": 0.05}], ids=["bce", "focal", "fgsm"])
def test_training_learns_and_is_reproducible(options) -> None:
    x, y, w, _ = two_gaussians()
    aucs, outputs = [], []
    for _ in range(2):
        torch.manual_seed(1)
        network = mlp(4, (16, 16))
        history = train_classifier(
            network, x, y, w, TrainingConfig(epochs=4, batch_size=256, **options), device="cpu", seed=3
        )
        assert history[-1]["loss"] < history[0]["loss"]
        logits = predict_logits(network, x, "cpu")
        outputs.append(logits)
        aucs.append(roc_auc(y, logits))
    assert aucs[0] > 0.85
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_adversary_decorrelates_the_score_from_the_nuisance() -> None:
    x, y, w, z = two_gaussians(n=6000, nuisance_strength=2.0)
    background = y == 0

    def score_nuisance_correlation(adversary_weight: float) -> tuple[float, float, list]:
        torch.manual_seed(0)
        network = mlp(4, (32, 32))
        config = TrainingConfig(epochs=8, batch_size=256, adversary_weight=adversary_weight)
        history = train_classifier(network, x, y, w, config, nuisance=z[:, None], device="cpu", seed=0)
        logits = predict_logits(network, x, "cpu")
        return abs(np.corrcoef(logits[background], z[background])[0, 1]), roc_auc(y, logits), history

    plain, plain_auc, _ = score_nuisance_correlation(0.0)
    decorrelated, auc, history = score_nuisance_correlation(1.0)
    assert "adversary_loss" in history[-1]
    assert plain > 0.3  # the plain classifier uses the nuisance-dependent feature
    assert decorrelated < 0.5 * plain
    assert auc > 0.9  # still a classifier (the first feature alone gives ~0.92)


def test_a_strong_adversary_needs_more_adversary_steps() -> None:
    """With weight 10 and one adversary update per batch the classifier outruns the adversary
    (measured: correlation 0.49, worse than no adversary); five updates restore the balance."""
    x, y, w, z = two_gaussians(n=6000, nuisance_strength=2.0)
    torch.manual_seed(0)
    network = mlp(4, (32, 32))
    config = TrainingConfig(epochs=8, batch_size=256, adversary_weight=10.0, adversary_steps=5)
    train_classifier(network, x, y, w, config, nuisance=z[:, None], device="cpu", seed=0)
    logits = predict_logits(network, x, "cpu")
    background = y == 0
    assert abs(np.corrcoef(logits[background], z[background])[0, 1]) < 0.15


def test_adversary_needs_nuisance_values() -> None:
    x, y, w, _ = two_gaussians(n=100)
    with pytest.raises(ValueError, match="nuisance"):
        train_classifier(mlp(4, (4,)), x, y, w, TrainingConfig(epochs=1, adversary_weight=1.0), device="cpu")


def test_adversarial_validation_needs_the_held_out_nuisance_values() -> None:
    x, y, w, z = two_gaussians(n=200)
    config = TrainingConfig(epochs=1, adversary_weight=1.0)
    with pytest.raises(ValueError, match="validation events needs their nuisance"):
        train_classifier(mlp(4, (4,)), x, y, w, config, nuisance=z[:, None], validation=(x, y, w), device="cpu")
    history = train_classifier(
        mlp(4, (4,)), x, y, w, config, nuisance=z[:, None], validation=(x, y, w, z[:, None]), device="cpu"
    )
    terms = history[0]["validation_classifier_loss"], history[0]["validation_adversary_loss"]
    assert history[0]["validation_loss"] == pytest.approx(terms[0] - terms[1])


def test_the_loop_trains_on_the_callers_float32_inputs_without_copying_them(monkeypatch) -> None:
    x, y, w, _ = two_gaussians(n=300)
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    shared = []
    original = torch.as_tensor

    def spy(data, *args, **kwargs):
        tensor = original(data, *args, **kwargs)
        if isinstance(data, np.ndarray) and data.ndim == 2:
            shared.append(np.shares_memory(tensor.numpy(), x32))
        return tensor

    monkeypatch.setattr(torch, "as_tensor", spy)
    train_classifier(mlp(4, (4,)), x32, y, w, TrainingConfig(epochs=1), device="cpu")
    assert shared == [True]
    x32.flags.writeable = False  # a read-only view (pandas copy-on-write) is copied, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_classifier(mlp(4, (4,)), x32, y, w, TrainingConfig(epochs=1), device="cpu")
    assert shared[-1] is False
