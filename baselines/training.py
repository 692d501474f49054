"""The one training loop every torch classifier of hepbench shares.

Weighted binary cross-entropy or focal loss, optional FGSM adversarial examples, optional
adversary (a second network predicting a nuisance parameter from the classifier output, trained
against the classifier), Adam, mini-batches; the same code on CPU and GPU.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .device import resolve_device


def seeded_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int = 1, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Fully connected network: ``hidden`` layer widths, ``activation`` between layers."""
    layers: list[nn.Module] = []
    width = n_inputs
    for h in hidden:
        layers += [nn.Linear(width, h), activation()]
        width = h
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def fit_best_epochs(
    module: nn.Module,
    loss: Callable[..., torch.Tensor],
    train: Sequence[torch.Tensor],
    valid: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    n_best: int = 1,
    valid_loss: Callable[..., torch.Tensor] | None = None,
) -> tuple[list[tuple[float, int, dict]], list[dict[str, float]]]:
    """Adam on ``loss(*batch)`` over shuffled mini-batches of ``train`` (tensors, one row per event),
    keeping the ``n_best`` epochs with the lowest validation loss.

    The validation loss is ``valid_loss(*valid)`` (default ``loss``), computed after every epoch;
    a non-finite one never counts among the best. Returns the best epochs as ``(validation loss,
    epoch, state_dict)``, lowest loss first (ties: earlier epoch first; empty when no epoch had a
    finite loss), and the history (``epoch``, ``loss``, ``validation_loss``) per epoch. The
    mini-batch order comes from a generator seeded with ``seed``; ``module`` ends in eval mode.
    """
    valid_loss = valid_loss or loss
    optimiser = torch.optim.Adam(module.parameters(), lr=learning_rate)
    generator = seeded_generator(seed)
    n = len(train[0])
    kept: list[tuple[float, int, dict]] = []
    history: list[dict[str, float]] = []
    for epoch in range(epochs):
        module.train()
        order = torch.randperm(n, generator=generator).to(train[0].device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            batch_loss = loss(*(t[idx] for t in train))
            optimiser.zero_grad()
            batch_loss.backward()
            optimiser.step()
            total += float(batch_loss.detach()) * len(idx)
        module.eval()
        with torch.no_grad():
            value = float(valid_loss(*valid))
        history.append({"epoch": epoch, "loss": total / n, "validation_loss": value})
        if np.isfinite(value):
            kept.append((value, epoch, copy.deepcopy(module.state_dict())))
            kept = sorted(kept, key=lambda k: (k[0], k[1]))[:n_best]
    return kept, history


def binary_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, focal_gamma: float) -> torch.Tensor:
    """Weighted mean of BCE (``focal_gamma`` = 0) or focal loss (1 - p_t)^gamma * BCE."""
    bce = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if focal_gamma > 0.0:
        p_true = torch.exp(-bce)  # probability given to the true class
        bce = (1.0 - p_true) ** focal_gamma * bce
    return (weights * bce).sum() / weights.sum()


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of :func:`train_classifier`.

    ``fgsm_epsilon`` > 0 adds, for every batch, the adversarial copy x + eps sign(grad_x loss)
    (inputs standardised, so eps is in units of each feature's standard deviation).
    ``adversary_weight`` > 0 (with nuisance targets) trains an adversary that regresses the
    nuisance from the classifier output on background events; the classifier minimises its
    loss minus ``adversary_weight`` times the adversary's.
    """

    epochs: int = 20
    batch_size: int = 1024
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    focal_gamma: float = 0.0
    fgsm_epsilon: float = 0.0
    adversary_weight: float = 0.0
    adversary_hidden: tuple[int, ...] = (32, 32)
    adversary_steps: int = 1
    """Adversary updates per classifier update; a large ``adversary_weight`` needs several, or the
    classifier outruns the adversary instead of decorrelating (tests/test_baselines_training.py)."""


def train_classifier(
    network: nn.Module,
    inputs: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    config: TrainingConfig,
    *,
    nuisance: np.ndarray | None = None,
    device: str = "auto",
    seed: int = 0,
) -> list[dict[str, float]]:
    """Train ``network`` (inputs -> one logit) in place; returns the loss per epoch.

    Parameters
    ----------
    inputs:
        Standardised features, shape (n_events, n_inputs).
    targets:
        1 for signal, 0 for background, shape (n_events,).
    weights:
        Per-event training weights (n_events,), already class-balanced.
    nuisance:
        Standardised nuisance values per event, shape (n_events, n_nuisances); required when
        ``config.adversary_weight`` > 0.
    """
    device = resolve_device(device)
    torch.manual_seed(seed)
    network.to(device)
    x = torch.tensor(np.asarray(inputs, dtype=np.float32), device=device)
    y = torch.tensor(np.asarray(targets, dtype=np.float32), device=device)
    w = torch.tensor(np.asarray(weights, dtype=np.float32), device=device)
    use_adversary = config.adversary_weight > 0.0
    if use_adversary:
        if nuisance is None:
            raise ValueError("adversarial training needs the nuisance values of the training events")
        z = torch.as_tensor(np.asarray(nuisance, dtype=np.float32).reshape(len(inputs), -1), device=device)
        adversary = mlp(1, config.adversary_hidden, z.shape[1]).to(device)
        adversary_optimiser = torch.optim.Adam(adversary.parameters(), lr=config.learning_rate)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    generator = seeded_generator(seed)
    history = []
    n = len(x)
    for epoch in range(config.epochs):
        network.train()
        order = torch.randperm(n, generator=generator).to(device)
        total, total_adv, seen = 0.0, 0.0, 0.0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            xb, yb, wb = x[idx], y[idx], w[idx]
            if config.fgsm_epsilon > 0.0:
                xb_adv = xb.clone().requires_grad_(True)
                grad, = torch.autograd.grad(binary_loss(network(xb_adv).squeeze(1), yb, wb, config.focal_gamma), xb_adv)
                xb = torch.cat([xb, (xb + config.fgsm_epsilon * grad.sign()).detach()])
                yb, wb = torch.cat([yb, yb]), torch.cat([wb, wb])
            logits = network(xb).squeeze(1)
            loss = binary_loss(logits, yb, wb, config.focal_gamma)
            if use_adversary:
                zb = z[idx].repeat(len(xb) // len(idx), 1)
                background = yb < 0.5
                # The adversary learns the nuisance from the (frozen) classifier output...
                for _ in range(config.adversary_steps):
                    pred = adversary(torch.sigmoid(logits.detach()[background]).unsqueeze(1))
                    adv_loss = ((pred - zb[background]) ** 2).mean()
                    adversary_optimiser.zero_grad()
                    adv_loss.backward()
                    adversary_optimiser.step()
                # ...and the classifier is rewarded for leaving it nothing to learn.
                pred = adversary(torch.sigmoid(logits[background]).unsqueeze(1))
                adv_loss = ((pred - zb[background]) ** 2).mean()
                loss = loss - config.adversary_weight * adv_loss
                total_adv += float(adv_loss.detach()) * len(idx)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        record = {"epoch": epoch, "loss": total / seen}
        if use_adversary:
            record["adversary_loss"] = total_adv / seen
        history.append(record)
    network.eval()
    return history


@torch.no_grad()
def predict_logits(network: nn.Module, inputs: np.ndarray, device: str = "auto", batch_size: int = 65536) -> np.ndarray:
    """Logits of ``network`` on standardised ``inputs`` (n_events, n_inputs) -> (n_events,)."""
    device = resolve_device(device)
    network.to(device).eval()
    out = np.empty(len(inputs), dtype=np.float64)
    for start in range(0, len(inputs), batch_size):
        xb = torch.as_tensor(inputs[start : start + batch_size], dtype=torch.float32, device=device)
        out[start : start + batch_size] = network(xb).squeeze(1).double().cpu().numpy()
    return out
