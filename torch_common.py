"""The torch floor every network of hepbench stands on: device selection, the MLP builder and
THE training loop (:func:`fit`), used by the baselines of all three challenges and by the
calorimeter evaluation's classifier.

One loop, so that every network shuffles, steps and keeps its best epochs the same way; what
differs between methods (a focal loss, FGSM copies, an adversary, a critic, a cosine decay,
keeping the epochs with the best validation score) is passed in as a loss closure, options
and hooks. Imported only where a network is trained: ``import torch`` costs seconds.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from .checkpoints import current as current_checkpoints

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when torch sees a usable NVIDIA GPU."""
    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """Map ``auto`` to ``cuda`` when a GPU is present, else ``cpu``; refuse ``cuda`` without one."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return "cpu"
    available = cuda_available()
    if device == "cuda" and not available:
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is available; use --device cpu or auto")
    return "cuda" if available else "cpu"


def seeded_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def mlp(
    n_inputs: int,
    hidden: Sequence[int],
    n_outputs: int = 1,
    activation: type[nn.Module] = nn.ReLU,
    dropout: float | None = None,
) -> nn.Sequential:
    """Fully connected network: ``hidden`` layer widths, ``activation`` between layers (and a
    ``Dropout(dropout)`` after each activation when ``dropout`` is not None)."""
    layers: list[nn.Module] = []
    width = n_inputs
    for h in hidden:
        layers += [nn.Linear(width, h), activation()]
        if dropout is not None:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


Epoch = tuple[float, int, dict[str, Any]]
"""(validation value, epoch, state_dict) of a kept epoch."""


class Stateful(Protocol):
    """What a training checkpoint can save and restore: a module, an optimiser, a counter."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any) -> Any: ...


class Counters(dict[str, Any]):
    """Numbers a hook keeps across epochs (a step count), saved with a training checkpoint."""

    def state_dict(self) -> dict[str, Any]:
        return dict(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.clear()
        self.update(state)


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: Mapping[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _save_atomically(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file, flush it to disk, then rename: a stop mid-write keeps the
    previous epoch's checkpoint whole."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _load_checkpoint(path: Path, identity: Mapping[str, Any]) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file: say which, never a traceback
        raise ValueError(f"{path}: not a readable training checkpoint ({type(error).__name__}); remove it") from None
    kept = state.get("identity", {}) if isinstance(state, dict) else {}
    for key, value in identity.items():
        if kept.get(key) != value:
            raise ValueError(
                f"{path}: the checkpoint was made with {key} = {kept.get(key)!r}, this training has "
                f"{value!r}; remove the folder or rerun with the options of the stopped run"
            )
    return state


@dataclass
class Fit:
    """What :func:`fit` returns: the kept epochs (lowest validation value first; empty without
    validation or when no epoch had a finite value) and one history record per epoch."""

    best: list[Epoch] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)


def fit(
    module: nn.Module,
    loss: Callable[..., torch.Tensor],
    train: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    parameters: Iterable[nn.Parameter] | None = None,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    cosine_decay: bool = False,
    max_grad_norm: float | None = None,
    require_finite: bool = False,
    validation: Callable[[], float] | None = None,
    n_best: int = 1,
    after_step: Callable[..., None] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    stop_at: float | None = None,
    patience: int | None = None,
    description: str = "training",
    extra_state: Mapping[str, Stateful] | None = None,
) -> Fit:
    """Adam on ``loss(*batch)`` over mini-batches of ``train`` shuffled by a generator seeded
    with ``seed``; the one training loop of hepbench.

    Parameters
    ----------
    module:
        The network (``train()`` during each epoch, ``eval()`` for validation and at the end).
    loss:
        ``loss(*batch) -> scalar``; ``batch`` is the rows of every tensor of ``train`` (one
        row per event or shower, all on the training device). It may update other networks
        itself (an adversary) before returning the loss of ``module``.
    parameters:
        What the optimiser updates (default ``module.parameters()``).
    cosine_decay:
        Cosine learning-rate decay per step down to 1% of ``learning_rate``.
    max_grad_norm:
        Clip the gradients' total norm before each step.
    require_finite:
        Raise ``FloatingPointError`` when a batch loss is not finite.
    validation:
        ``validation() -> value`` after each epoch (lower is better; evaluated in ``eval()``
        mode without gradients); the ``n_best`` epochs with the lowest finite values are kept
        (ties: the earlier epoch).
    after_step:
        ``after_step(*batch)`` after each optimiser step (a GAN's generator update).
    on_epoch:
        ``on_epoch(record)`` at the end of each epoch; it may add entries to the record.
    stop_at:
        Stop after the first epoch whose validation value is at most ``stop_at`` (a classifier
        with perfect test accuracy cannot improve).
    patience:
        Stop once this many epochs in a row brought no lower validation value (early stopping;
        needs ``validation`` and ``n_best`` >= 1).
    description:
        What is trained, for the bar shown over the epochs on a terminal (and the name of its
        checkpoint file).
    extra_state:
        What else a checkpoint must hold for the training to continue exactly where it stopped:
        networks and optimisers that the hooks update (a GAN's generator, an adversary), counters.

    Inside :func:`hepbench.checkpoints.training_checkpoints`, the state (weights, optimiser, learning-rate schedule,
    batch order, random generators, kept epochs, history, ``extra_state``) is saved after every
    epoch, and a training that finds its checkpoint continues at the next epoch: the result
    equals that of an uninterrupted training (on the same device).

    The history records ``epoch``, ``loss`` (mean over events) and ``validation_loss``.
    """
    if patience is not None and (validation is None or patience < 1 or n_best < 1):
        raise ValueError("patience needs a validation function, patience >= 1 and n_best >= 1")
    params = list(module.parameters() if parameters is None else parameters)
    optimiser = torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay, betas=betas)
    n = len(train[0])
    schedule = None
    if cosine_decay:
        n_batches = max(1, -(-n // batch_size))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimiser, T_max=max(1, epochs * n_batches), eta_min=0.01 * learning_rate
        )
    generator = seeded_generator(seed)
    result = Fit()
    extra = dict(extra_state or {})
    store = current_checkpoints()
    path = store.next_path(description) if store is not None else None
    identity = {
        "description": description,
        "events": n,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "n_best": n_best,
        "patience": patience,
        "parameters": [list(p.shape) for p in params],
    }
    first_epoch = 0
    seconds_before = 0.0
    if path is not None and path.exists():
        state = _load_checkpoint(path, identity)
        seconds_before = float(state["seconds"])
        assert store is not None
        store.resumed_seconds += seconds_before
        module.load_state_dict(state["module"])
        for name, thing in extra.items():
            thing.load_state_dict(state["extra"][name])
        result = Fit(best=state["best"], history=state["history"])
        _set_rng_states(state["rng"])
        if state["finished"]:
            module.eval()
            return result
        optimiser.load_state_dict(state["optimiser"])
        if schedule is not None:
            schedule.load_state_dict(state["schedule"])
        generator.set_state(state["batch_order"])
        first_epoch = len(result.history)

    started = time.perf_counter()

    def save(finished: bool) -> None:
        if path is None:
            return
        _save_atomically(
            {
                "identity": identity,
                "finished": finished,
                "seconds": seconds_before + time.perf_counter() - started,
                "module": module.state_dict(),
                "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict() if schedule is not None else None,
                "batch_order": generator.get_state(),
                "rng": _rng_states(),
                "best": result.best,
                # Plain numbers only (a hook may add numpy scalars): the file is read back with
                # torch's weights-only loader, which unpickles nothing else.
                "history": json.loads(json.dumps(result.history, default=float)),
                "extra": {name: thing.state_dict() for name, thing in extra.items()},
            },
            path,
        )

    from .output import progress

    with progress(f"{description} (epochs)", epochs) as advance:
        if first_epoch:
            advance(first_epoch, note="resumed from its checkpoint")
        for epoch in range(first_epoch, epochs):
            module.train()
            order = torch.randperm(n, generator=generator).to(train[0].device)
            total = 0.0
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                batch = [t[idx] for t in train]
                batch_loss = loss(*batch)
                if require_finite and not torch.isfinite(batch_loss):
                    raise FloatingPointError(
                        f"training loss became {float(batch_loss)} in epoch {epoch}; lower learning_rate"
                    )
                optimiser.zero_grad()
                batch_loss.backward()
                if max_grad_norm is not None:
                    nn.utils.clip_grad_norm_(params, max_grad_norm)
                optimiser.step()
                if schedule is not None:
                    schedule.step()
                if after_step is not None:
                    after_step(*batch)
                total += float(batch_loss.detach()) * len(idx)
            record: dict[str, float] = {"epoch": epoch, "loss": total / n}
            if validation is not None:
                module.eval()
                with torch.no_grad():
                    value = float(validation())
                record["validation_loss"] = value
                if np.isfinite(value):
                    result.best.append((value, epoch, copy.deepcopy(module.state_dict())))
                    result.best = sorted(result.best, key=lambda k: (k[0], k[1]))[:n_best]
            if on_epoch is not None:
                on_epoch(record)
            result.history.append(record)
            note = f"loss {record['loss']:.4g}"
            if "validation_loss" in record:
                note += f", validation {record['validation_loss']:.4g}"
            advance(note=note)
            if stop_at is not None and record.get("validation_loss", np.inf) <= stop_at:
                break
            # result.best[0] is the epoch with the lowest value so far (the earlier one on ties).
            if patience is not None and epoch - (result.best[0][1] if result.best else -1) >= patience:
                break
            save(finished=False)

    module.eval()
    save(finished=True)
    return result


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
    ``patience`` (with validation events) stops the training once this many epochs in a row
    brought no lower validation loss; the epoch with the lowest one is kept either way.
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
    patience: int | None = None


def _float32_tensor(values: np.ndarray, device: str) -> torch.Tensor:
    """``values`` as a float32 tensor on ``device``; on the CPU a float32 array is shared, not
    copied (a training set can be several GB, and the loop never writes into it). A read-only
    array (pandas' copy-on-write views) is copied, as torch cannot share it."""
    array = np.asarray(values, dtype=np.float32)
    if not array.flags.writeable:
        array = array.copy()
    return torch.as_tensor(array, device=device)


def train_classifier(
    network: nn.Module,
    inputs: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    config: TrainingConfig,
    *,
    nuisance: np.ndarray | None = None,
    validation: tuple[np.ndarray, ...] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    device: str = "auto",
    seed: int = 0,
) -> list[dict[str, float]]:
    """Train ``network`` (inputs -> one logit) in place with :func:`fit`; returns the loss per epoch.

    With ``validation`` the network ends at its epoch of lowest validation loss, and
    ``config.patience`` may stop the training early. The validation loss is the objective the
    network minimises, on the held-out events: its own loss, minus ``adversary_weight`` times
    the adversary's when there is one (the adversary as it stands after the epoch, not updated
    on them), so that the epoch kept is not one that bought classification with the nuisances.

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
    validation:
        Held-out ``(inputs, targets, weights)`` in the same layout, events the training never
        sees; with an adversary, ``(inputs, targets, weights, nuisance)``.
    on_epoch:
        ``on_epoch(record)`` after each epoch (epoch, loss, validation_loss; with an adversary
        also adversary_loss and the two terms of the validation loss), the network in
        ``eval()`` mode: a diagnostic may score it there (benchmarks/higgs_overtraining.py).
    """
    device = resolve_device(device)
    torch.manual_seed(seed)
    network.to(device)
    x, y, w = (_float32_tensor(a, device) for a in (inputs, targets, weights))
    tensors = [x, y, w]
    use_adversary = config.adversary_weight > 0.0
    if use_adversary:
        if nuisance is None:
            raise ValueError("adversarial training needs the nuisance values of the training events")
        tensors.append(torch.as_tensor(np.asarray(nuisance, dtype=np.float32).reshape(len(inputs), -1), device=device))
        adversary = mlp(1, config.adversary_hidden, tensors[3].shape[1]).to(device)
        adversary_optimiser = torch.optim.Adam(adversary.parameters(), lr=config.learning_rate)
    adversary_total = [0.0]
    validation_terms: dict[str, float] = {}

    def loss(xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor, zb: torch.Tensor | None = None) -> torch.Tensor:
        n_rows = len(xb)
        if config.fgsm_epsilon > 0.0:
            xb_adv = xb.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(binary_loss(network(xb_adv).squeeze(1), yb, wb, config.focal_gamma), xb_adv)
            xb = torch.cat([xb, (xb + config.fgsm_epsilon * grad.sign()).detach()])
            yb, wb = torch.cat([yb, yb]), torch.cat([wb, wb])
        logits = network(xb).squeeze(1)
        value = binary_loss(logits, yb, wb, config.focal_gamma)
        if zb is None:
            return value
        zb = zb.repeat(len(xb) // n_rows, 1)
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
        adversary_total[0] += float(adv_loss.detach()) * n_rows
        return value - config.adversary_weight * adv_loss

    def after_epoch(record: dict[str, float]) -> None:
        if use_adversary:
            record["adversary_loss"] = adversary_total[0] / len(x)
            adversary_total[0] = 0.0
        record.update(validation_terms)
        if on_epoch is not None:
            on_epoch(record)

    validation_loss = None
    if validation is not None:
        if use_adversary and len(validation) != 4:
            raise ValueError("adversarial training with validation events needs their nuisance values")
        xv, yv, wv, *zv = (torch.as_tensor(np.asarray(a, dtype=np.float32), device=device) for a in validation)

        def validation_loss() -> float:
            # Batched as in predict_logits: a 256-wide layer over a million rows is a GiB.
            total, squared_error, n_background = 0.0, 0.0, 0
            for start in range(0, len(xv), 16384):
                part = slice(start, start + 16384)
                logits = network(xv[part]).squeeze(1)
                total += float(binary_loss(logits, yv[part], wv[part], config.focal_gamma)) * float(wv[part].sum())
                if use_adversary:
                    background = yv[part] < 0.5
                    pred = adversary(torch.sigmoid(logits[background]).unsqueeze(1))
                    squared_error += float(((pred - zv[0][part][background]) ** 2).mean(dim=1).sum())
                    n_background += int(background.sum())
            classifier_loss = total / float(wv.sum())
            if not use_adversary:
                return classifier_loss
            # The training's adversary loss: squared error averaged over background rows and nuisances.
            adversary_loss = squared_error / max(n_background, 1)
            validation_terms.update(
                validation_classifier_loss=classifier_loss, validation_adversary_loss=adversary_loss
            )
            return classifier_loss - config.adversary_weight * adversary_loss

    result = fit(
        network,
        loss,
        tensors,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        seed=seed,
        validation=validation_loss,
        patience=config.patience if validation is not None else None,
        on_epoch=after_epoch,
        extra_state={"adversary": adversary, "adversary_optimiser": adversary_optimiser} if use_adversary else None,
    )
    if validation is not None:
        if not result.best:
            raise RuntimeError("the classifier's validation loss was never finite; lower learning_rate")
        network.load_state_dict(result.best[0][2])
        network.eval()
    return result.history


@torch.no_grad()
def predict_logits(network: nn.Module, inputs: np.ndarray, device: str = "auto", batch_size: int = 16384) -> np.ndarray:
    """Logits of ``network`` on standardised ``inputs`` (n_events, n_inputs) -> (n_events,).

    Batches of 16,384 rows keep a 256-wide layer's activations near the CPU caches: a 4 x 256
    network scores 1.8 times as fast as with 65,536-row batches on one core, with identical logits
    (docs/benchmarks.md)."""
    device = resolve_device(device)
    network.to(device).eval()
    out = np.empty(len(inputs), dtype=np.float64)
    for start in range(0, len(inputs), batch_size):
        xb = torch.as_tensor(inputs[start : start + batch_size], dtype=torch.float32, device=device)
        out[start : start + batch_size] = network(xb).squeeze(1).double().cpu().numpy()
    return out
