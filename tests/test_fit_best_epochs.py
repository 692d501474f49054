"""The shared loop's keep-the-best-epochs mode of the LHCO detectors and density estimators."""

from __future__ import annotations

import math

import pytest
import torch

from hepbench.torch_common import fit


def fit_best_epochs(model, loss, train, valid, *, valid_loss=None, **options):
    """The keep-the-best-epochs use of the one loop, as the LHCO networks call it."""
    result = fit(model, loss, train, validation=lambda: (valid_loss or loss)(*valid), **options)
    return result.best, result.history


def _problem():
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(256)
    model = torch.nn.Linear(3, 1)
    return model, (lambda xb, yb: ((model(xb).squeeze(1) - yb) ** 2).mean()), [x[:200], y[:200]], [x[200:], y[200:]]


def test_keeps_the_lowest_validation_losses_best_first() -> None:
    model, loss, train, valid = _problem()
    kept, history = fit_best_epochs(
        model, loss, train, valid, epochs=12, batch_size=32, learning_rate=0.05, seed=1, n_best=3
    )
    assert len(history) == 12 and len(kept) == 3
    losses = [h["validation_loss"] for h in history]
    assert [k[1] for k in kept] == sorted(range(12), key=lambda e: (losses[e], e))[:3]
    assert [k[0] for k in kept] == sorted(losses)[:3]
    assert history[-1]["loss"] < history[0]["loss"]
    assert not model.training
    # The kept state is a snapshot of its epoch, not the final weights.
    model.load_state_dict(kept[0][2])
    with torch.no_grad():
        assert float(loss(*valid)) == kept[0][0]


def test_non_finite_epochs_are_never_kept() -> None:
    model, loss, train, valid = _problem()
    calls = iter(range(100))

    def every_other_nan(xv, yv):
        value = loss(xv, yv)
        return value if next(calls) % 2 else value * math.nan

    kept, history = fit_best_epochs(
        model,
        loss,
        train,
        valid,
        epochs=6,
        batch_size=64,
        learning_rate=0.05,
        seed=1,
        n_best=6,
        valid_loss=every_other_nan,
    )
    assert sorted(k[1] for k in kept) == [1, 3, 5]
    assert all(math.isnan(history[e]["validation_loss"]) for e in (0, 2, 4))
    nothing, _ = fit_best_epochs(
        model,
        loss,
        train,
        valid,
        epochs=2,
        batch_size=64,
        learning_rate=0.05,
        seed=1,
        valid_loss=lambda xv, yv: loss(xv, yv) * math.inf,
    )
    assert nothing == []


def test_stops_after_the_first_epoch_at_the_stop_value() -> None:
    """A classifier at test accuracy 1 (validation -1) cannot improve: the anchor stops there."""
    model, loss, train, _ = _problem()
    values = iter([-0.6, -0.8, -1.0, -0.9, -0.7])
    result = fit(
        model,
        loss,
        train,
        epochs=5,
        batch_size=32,
        learning_rate=0.05,
        seed=1,
        validation=lambda: next(values),
        stop_at=-1.0,
    )
    assert len(result.history) == 3 and result.best[0][:2] == (-1.0, 2)


def test_patience_stops_once_the_validation_loss_stops_falling() -> None:
    model, loss, train, _ = _problem()
    values = iter([3.0, 2.0, 2.5, 1.9, 2.2, 2.1, 2.0, 1.0, 0.5])
    result = fit(
        model,
        loss,
        train,
        epochs=9,
        batch_size=32,
        learning_rate=0.05,
        seed=1,
        validation=lambda: next(values),
        patience=3,
    )
    # Epoch 3 is the last improvement; epochs 4, 5, 6 bring none, so training stops after epoch 6.
    assert len(result.history) == 7 and result.best[0][:2] == (1.9, 3)
    with pytest.raises(ValueError, match="patience needs a validation"):
        fit(model, loss, train, epochs=2, batch_size=32, learning_rate=0.05, seed=1, patience=3)


def test_a_training_away_from_a_terminal_logs_its_epochs(monkeypatch, capsys) -> None:
    """Long trainings in a log file print epoch, loss and time left; quick ones print nothing."""
    import hepbench.output as output

    model, loss, train, valid = _problem()
    options = {"epochs": 3, "batch_size": 64, "learning_rate": 0.05, "seed": 1, "description": "toy"}
    fit(model, loss, train, **options)
    assert "toy" not in capsys.readouterr().out
    monkeypatch.setattr(output, "LOG_EVERY_SECONDS", 0.0)
    fit(model, loss, train, validation=lambda: loss(*valid), **options)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("toy")]
    assert len(lines) == 3 and lines[-1].startswith("toy (epochs): 3/3, loss ") and "validation" in lines[-1]
