"""Conditional density estimator p(x | mjj) for ANODE and CATHODE (SPEC section 2).

A masked autoregressive flow (``zuko.flows.MAF``: affine MADE blocks alternating their variable
order, one hidden layer each) conditioned on the standardised dijet mass. The features are first
scaled to (0, 1) with the training range, logit-transformed and standardised, which turns bounded,
sharply peaked distributions (jet masses, N-subjettiness ratios) into smooth ones a flow models
well. ``log_prob`` includes the Jacobian of that map, so it is a density in the original units
(TeV^-k): densities of two estimators fitted on different events can be divided (ANODE).

The flow is kept after every epoch; the estimator is the equal mixture of the ``n_best`` epochs
with the lowest validation loss (anchor: 10), and samples are drawn from every member equally.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import zuko
from scipy.special import expit

from ...torch_common import fit, resolve_device
from ..base import size_config

_MARGIN = 0.01
"""Fraction of each feature's training range added on both sides before the logit."""
_CLIP = 1e-6
"""Values outside the training range are clipped to (clip, 1 - clip) after scaling."""


@dataclass(frozen=True)
class FlowSize:
    transforms: int
    hidden: int
    epochs: int
    batch_size: int
    learning_rate: float
    n_best: int
    patience: int | None = None
    identity_start: bool = False


FLOW_SIZES: dict[str, FlowSize] = {
    "tiny": FlowSize(transforms=3, hidden=32, epochs=8, batch_size=256, learning_rate=3e-3, n_best=3),
    "small": FlowSize(transforms=8, hidden=64, epochs=30, batch_size=256, learning_rate=1e-3, n_best=5),
    # The anchor's recipe: 15 MADE blocks of 128 hidden units, 100 epochs, 10-epoch ensemble; the
    # training stops once 20 epochs in a row brought no lower validation loss (on two CPU cores an
    # epoch of the 870,000 sideband events takes about a minute), and the ensemble is then the 10
    # best epochs seen. Randomly initialised, 15 blocks stretch the sidebands' tails to log
    # densities of -1e28 and the first epoch ends in NaN (measured on the `full` data seed
    # 20261211); the anchor's flow has batch normalisation between its blocks, zuko's MAF has
    # none, so each block starts at the identity instead.
    "full": FlowSize(
        transforms=15,
        hidden=128,
        epochs=100,
        batch_size=256,
        learning_rate=1e-4,
        n_best=10,
        patience=20,
        identity_start=True,
    ),
}


def _as_2d(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{what} must be (n_events, n_features), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} has NaN or infinite values")
    return x


def _as_1d(m: np.ndarray, n: int, what: str) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    if len(m) != n:
        raise ValueError(f"{what} must have one value per event ({n}), got {len(m)}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{what} has NaN or infinite values")
    return m


class ConditionalDensity:
    """Masked autoregressive flow for p(x | mjj), an ensemble of its best epochs.

    Parameters
    ----------
    transforms:
        Number of MADE blocks (anchor: 15).
    hidden:
        Hidden units of each block's single hidden layer (anchor: 128).
    epochs, batch_size, learning_rate:
        Adam training on the negative log-likelihood.
    validation_fraction:
        Fraction of the events kept out of training to rank epochs.
    n_best:
        Number of best epochs (lowest validation loss) in the mixture.
    patience:
        Stop once this many epochs in a row brought no lower validation loss (None: train all
        ``epochs``).
    identity_start:
        Start every block at the identity map (zero output layer of its MADE network), so that a
        deep flow begins as the standard normal density of the standardised features.
    device:
        ``auto`` | ``cpu`` | ``cuda``.
    seed:
        Seeds the split, the initialisation, the batch order and :meth:`sample`.
    """

    def __init__(
        self,
        transforms: int = 15,
        hidden: int = 128,
        epochs: int = 100,
        batch_size: int = 256,
        learning_rate: float = 1e-4,
        validation_fraction: float = 0.2,
        n_best: int = 10,
        patience: int | None = None,
        identity_start: bool = False,
        device: str = "auto",
        seed: int = 0,
    ) -> None:
        self.transforms = transforms
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_best = n_best
        self.patience = patience
        self.identity_start = identity_start
        self.device = device
        self.seed = seed

    @classmethod
    def for_size(cls, size: str, device: str = "auto", seed: int = 0) -> ConditionalDensity:
        cfg = size_config(FLOW_SIZES, size)
        return cls(
            transforms=cfg.transforms,
            hidden=cfg.hidden,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            n_best=cfg.n_best,
            patience=cfg.patience,
            identity_start=cfg.identity_start,
            device=device,
            seed=seed,
        )

    def _flow(self, n_features: int) -> zuko.flows.MAF:
        flow = zuko.flows.MAF(n_features, context=1, transforms=self.transforms, hidden_features=(self.hidden,))
        if self.identity_start:
            for block in flow.transform.transforms:
                torch.nn.init.zeros_(block.hyper[-1].weight)
                torch.nn.init.zeros_(block.hyper[-1].bias)
        return flow

    # -- preprocessing: x (original units) <-> z (what the flow models) --------------------------
    def _to_latent(self, x: np.ndarray, mjj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(z, context, log |dz/dx| per event)."""
        u = np.clip((x - self.low_) / self.width_, _CLIP, 1.0 - _CLIP)
        y = np.log(u) - np.log1p(-u)
        z = (y - self.logit_mean_) / self.logit_std_
        log_jacobian = (-np.log(u) - np.log1p(-u) - np.log(self.width_) - np.log(self.logit_std_)).sum(axis=1)
        context = ((mjj - self.mjj_mean_) / self.mjj_std_)[:, None]
        return z, context, log_jacobian

    def _from_latent(self, z: np.ndarray) -> np.ndarray:
        y = z * self.logit_std_ + self.logit_mean_
        return self.low_ + self.width_ * expit(y)

    def fit(self, x: np.ndarray, mjj: np.ndarray) -> ConditionalDensity:
        """Fit p(x | mjj) to events ``x`` (n_events, n_features) with dijet masses ``mjj`` (n_events,) in TeV."""
        x = _as_2d(x, "x")
        mjj = _as_1d(mjj, len(x), "mjj")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction}")
        n_valid = int(round(self.validation_fraction * len(x)))
        if len(x) - n_valid < 2 or n_valid < 1:
            raise ValueError(f"too few events ({len(x)}) to fit a density with a validation split")
        low, high = x.min(axis=0), x.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        self.low_ = low - _MARGIN * span
        self.width_ = span * (1.0 + 2.0 * _MARGIN)
        u = (x - self.low_) / self.width_
        logits = np.log(u) - np.log1p(-u)
        self.logit_mean_, self.logit_std_ = logits.mean(axis=0), logits.std(axis=0)
        self.logit_std_[self.logit_std_ == 0] = 1.0
        self.mjj_mean_, self.mjj_std_ = float(mjj.mean()), float(mjj.std()) or 1.0
        z, context, _ = self._to_latent(x, mjj)

        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(x))
        valid, train = order[:n_valid], order[n_valid:]
        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        flow = self._flow(x.shape[1]).to(device)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        zv, cv = tensor(z[valid]), tensor(context[valid])
        result = fit(
            flow,
            lambda zb, cb: -flow(cb).log_prob(zb).mean(),
            [tensor(z[train]), tensor(context[train])],
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            n_best=self.n_best,
            patience=self.patience,
            validation=lambda: -self._batched_log_prob(flow, zv, cv).mean(),
            description="density (flow)",
        )
        kept, self.history_ = result.best, result.history
        if not kept:
            raise RuntimeError("the flow diverged in every epoch; lower learning_rate")
        self.best_epochs_ = [epoch for _, epoch, _ in kept]
        self.flows_ = []
        for _, _, state in kept:
            member = self._flow(x.shape[1])
            member.load_state_dict(state)
            self.flows_.append(member.to(device).eval())
        self.device_ = device
        self.n_features_ = x.shape[1]
        return self

    @staticmethod
    def _batched_log_prob(
        flow: zuko.flows.MAF, z: torch.Tensor, context: torch.Tensor, batch_size: int = 65536
    ) -> torch.Tensor:
        return torch.cat(
            [flow(context[s : s + batch_size]).log_prob(z[s : s + batch_size]) for s in range(0, len(z), batch_size)]
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "flows_"):
            raise RuntimeError("ConditionalDensity is not fitted; call fit first")

    @torch.no_grad()
    def log_prob(self, x: np.ndarray, mjj: np.ndarray) -> np.ndarray:
        """log p(x | mjj) of the best-epoch mixture in the original units, shape (n_events,)."""
        self._check_fitted()
        x = _as_2d(x, "x")
        if x.shape[1] != self.n_features_:
            raise ValueError(f"x has {x.shape[1]} features, the density was fitted on {self.n_features_}")
        z, context, log_jacobian = self._to_latent(x, _as_1d(mjj, len(x), "mjj"))
        # Evaluated in float64: each block may scale by up to 1e3, so a deep flow can carry a
        # tail event to |z| > 1e19, whose Gaussian term overflows float32 (log p = -inf; ANODE's
        # difference of two such densities is then not a number). Training stays in float32.
        zt = torch.as_tensor(z, dtype=torch.float64, device=self.device_)
        ct = torch.as_tensor(context, dtype=torch.float64, device=self.device_)
        members = torch.stack([self._batched_log_prob(copy.deepcopy(flow).double(), zt, ct) for flow in self.flows_])
        mixture = torch.logsumexp(members, dim=0) - np.log(len(self.flows_))
        return mixture.cpu().numpy() + log_jacobian

    @torch.no_grad()
    def sample(self, mjj: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One event x ~ p(x | mjj) per given mass (TeV), shape (len(mjj), n_features).

        Each mass goes to one member of the mixture, the members in equal shares.
        """
        self._check_fitted()
        mjj = np.asarray(mjj, dtype=np.float64).reshape(-1)
        mjj = _as_1d(mjj, len(mjj), "mjj")
        seed = self.seed if seed is None else seed
        member = np.random.default_rng(seed).permutation(len(mjj)) % len(self.flows_)
        context = torch.as_tensor(
            ((mjj - self.mjj_mean_) / self.mjj_std_)[:, None], dtype=torch.float32, device=self.device_
        )
        z = np.empty((len(mjj), self.n_features_), dtype=np.float64)
        torch.manual_seed(seed)
        for k, flow in enumerate(self.flows_):
            rows = np.flatnonzero(member == k)
            if len(rows):
                z[rows] = flow(context[torch.as_tensor(rows, device=self.device_)]).sample().double().cpu().numpy()
        return self._from_latent(z)
