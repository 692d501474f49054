"""Input checks and invertible transforms shared by the calorimeter shower generators.

Showers are (N, n_voxels) voxel energies in MeV, incident energies (N,) in MeV. The generators
learn in a transformed space:

- condition: ``log(E_inc)`` standardised over the training set, shape (N, 1);
- voxel fractions: ``E_voxel / E_inc`` clipped to [0, 1], then ``logit(alpha + (1 - 2 alpha) x)``,
  then standardised per voxel (CaloFlow / CaloDiffusion style);
- layer energies (CaloFlow flow I): ``u_0 = E_tot / (s E_inc)``, ``u_i = E_i / sum_{j >= i} E_j``,
  each logit-transformed and standardised;
- layer shapes (CaloFlow flow II): ``E_voxel / E_layer`` per layer, logit-transformed and standardised,
  optionally with the empty voxels read as deposits below a floor in MeV (:class:`LayerShapes`).

Exact zeros would become a spike at ``logit(alpha)`` that a density estimator cannot model, so
during fitting a uniform noise in [0, alpha) is added to every fraction (dequantisation); on the
way back fractions below ``alpha`` are set to zero. Every transform keeps its fitted state as
float64 tensors so it can be saved with the network weights.
"""

from __future__ import annotations

import numpy as np
import torch

from ...challenges.calo.geometry import Geometry
from ...torch_common import seeded_generator

DEFAULT_ALPHA = 1e-6


# -- input checks ------------------------------------------------------------------------------
def check_incident_energy(incident_energy: np.ndarray, field: str = "incident_energy") -> np.ndarray:
    """Incident energies as a float64 vector (N,) in MeV; (N, 1) as in the official files is accepted."""
    energy = np.asarray(incident_energy, dtype=np.float64)
    if energy.ndim == 2 and energy.shape[1] == 1:
        energy = energy[:, 0]
    if energy.ndim != 1:
        raise ValueError(f"{field}: expected shape (N,) or (N, 1) in MeV, got {energy.shape}")
    if len(energy) == 0:
        raise ValueError(f"{field}: no showers (empty array)")
    if not np.all(np.isfinite(energy)):
        raise ValueError(
            f"{field}: contains NaN or infinite values (first at index {int(np.argmin(np.isfinite(energy)))})"
        )
    if np.any(energy <= 0):
        raise ValueError(f"{field}: incident energies must be > 0 MeV (minimum {energy.min():g})")
    return energy


def check_showers(
    incident_energy: np.ndarray, showers: np.ndarray, geometry: Geometry
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (incident_energy (N,), showers (N, n_voxels)) as float64, with errors naming the field."""
    energy = check_incident_energy(incident_energy)
    voxels = np.asarray(showers, dtype=np.float64)
    if voxels.ndim != 2 or voxels.shape[1] != geometry.n_voxels:
        raise ValueError(
            f"showers: expected shape (N, {geometry.n_voxels}) for geometry {geometry.name!r}, got {voxels.shape}"
        )
    if len(voxels) != len(energy):
        raise ValueError(f"showers: {len(voxels)} showers but incident_energy has {len(energy)} entries")
    finite = np.isfinite(voxels)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"showers: contains NaN or infinite values (first at shower {row}, voxel {col})")
    if np.any(voxels < 0):
        raise ValueError(f"showers: voxel energies must be >= 0 MeV (minimum {voxels.min():g})")
    return energy, voxels


def check_deposit_floor(value: float, field: str = "deposit_floor") -> float:
    """A deposit floor (MeV) as a float: finite and >= 0 (0: no floor)."""
    floor = float(value)
    if not (np.isfinite(floor) and floor >= 0):
        raise ValueError(f"{field}: must be a finite number of MeV >= 0, got {value!r}")
    return floor


# -- elementwise transforms --------------------------------------------------------------------
def logit(fraction: torch.Tensor, alpha: float, *, inplace: bool = False) -> torch.Tensor:
    """``logit(alpha + (1 - 2 alpha) x)`` for x in [0, 1]; ``inplace`` overwrites ``fraction``
    (one temporary instead of four: a DS2 training set is 2 GB per copy)."""
    u = (fraction if inplace else fraction.clone()).mul_(1.0 - 2.0 * alpha).add_(alpha)
    return torch.log(u).sub_(u.neg_().log1p_())


def inverse_logit(y: torch.Tensor, alpha: float) -> torch.Tensor:
    """Inverse of :func:`logit`, clipped to [0, 1]; fractions below ``alpha`` become exactly 0."""
    x = ((torch.sigmoid(y) - alpha) / (1.0 - 2.0 * alpha)).clamp(0.0, 1.0)
    return torch.where(x < alpha, torch.zeros_like(x), x)


def dequantise(
    fraction: torch.Tensor, alpha: float, generator: torch.Generator, *, inplace: bool = False
) -> torch.Tensor:
    """Add uniform noise in [0, alpha) so exact zeros do not form a delta peak; ``inplace``
    overwrites ``fraction``."""
    noise = torch.rand(fraction.shape, generator=generator, dtype=fraction.dtype).mul_(alpha)
    return (fraction if inplace else fraction.clone()).add_(noise).clamp_(0.0, 1.0)


class Standardiser:
    """Per-feature ``(x - mean) / std`` fitted on training data (std floored to avoid division by 0)."""

    def __init__(self) -> None:
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def fit(self, x: torch.Tensor) -> Standardiser:
        self.mean = x.mean(0)
        self.std = x.std(0).clamp_min(1e-3) if len(x) > 1 else torch.ones_like(x[0])
        return self

    def transform(self, x: torch.Tensor, *, inplace: bool = False) -> torch.Tensor:
        """``inplace`` overwrites ``x``."""
        return (x if inplace else x.clone()).sub_(self.mean.to(x)).div_(self.std.to(x))

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std.to(z) + self.mean.to(z)

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}.mean": self.mean.cpu(), f"{prefix}.std": self.std.cpu()}

    def load(self, state: dict[str, torch.Tensor], prefix: str) -> Standardiser:
        self.mean, self.std = state[f"{prefix}.mean"].double(), state[f"{prefix}.std"].double()
        return self


# -- the three representations -----------------------------------------------------------------
class EnergyCondition:
    """Standardised ``log(E_inc / MeV)``: the conditioning input of every generator, shape (N, 1)."""

    def __init__(self) -> None:
        self.scaler = Standardiser()

    def fit(self, incident_energy: np.ndarray) -> EnergyCondition:
        self.scaler.fit(torch.as_tensor(np.log(incident_energy), dtype=torch.float64)[:, None])
        return self

    def transform(self, incident_energy: np.ndarray) -> torch.Tensor:
        return self.scaler.transform(torch.as_tensor(np.log(incident_energy), dtype=torch.float64)[:, None]).float()

    def state(self) -> dict[str, torch.Tensor]:
        return self.scaler.state("condition")

    def load(self, state: dict[str, torch.Tensor]) -> EnergyCondition:
        self.scaler.load(state, "condition")
        return self


class VoxelFractions:
    """Voxels as standardised logits of ``E_voxel / E_inc``; (N, n_voxels) both ways."""

    def __init__(self, alpha: float = DEFAULT_ALPHA) -> None:
        self.alpha = alpha
        self.scaler = Standardiser()
        self.upper: torch.Tensor | None = None

    def _logits(self, incident_energy: np.ndarray, showers: np.ndarray, generator: torch.Generator) -> torch.Tensor:
        # In place after the one copy of the division: same values, a third of the peak memory.
        fraction = torch.as_tensor(np.divide(showers, incident_energy[:, None], dtype=np.float64)).clamp_(0.0, 1.0)
        return logit(dequantise(fraction, self.alpha, generator, inplace=True), self.alpha, inplace=True)

    def fit_transform(self, incident_energy: np.ndarray, showers: np.ndarray, seed: int) -> torch.Tensor:
        y = self._logits(incident_energy, showers, seeded_generator(seed))
        self.upper = y.max(0).values
        return self.scaler.fit(y).transform(y, inplace=True).float()

    def inverse(self, incident_energy: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Showers in MeV (M, n_voxels) from standardised logits ``z`` and ``incident_energy`` (M,) MeV.

        Each voxel's fraction is capped at the largest seen in training: one tail draw in a
        voxel that is usually empty would otherwise decode to a sizeable part of ``E_inc``.
        """
        y = torch.minimum(self.scaler.inverse(z.double()), self.upper.to(z.device))
        return inverse_logit(y, self.alpha) * incident_energy.double()[:, None]

    def state(self) -> dict[str, torch.Tensor]:
        return {**self.scaler.state("voxels"), "voxels.upper": self.upper.cpu()}

    def load(self, state: dict[str, torch.Tensor]) -> VoxelFractions:
        self.scaler.load(state, "voxels")
        self.upper = state["voxels.upper"].double()
        return self


def layer_energies(showers: np.ndarray | torch.Tensor, geometry: Geometry) -> np.ndarray | torch.Tensor:
    """Energy per active layer (N, n_layers) in MeV."""
    columns = [showers[:, s].sum(1) for s in geometry.layer_slices().values()]
    return torch.stack(columns, 1) if isinstance(showers, torch.Tensor) else np.stack(columns, 1)


class LayerEnergies:
    """CaloFlow flow-I variables: ``u_0 = E_tot / (s E_inc)`` and ``u_i = E_i / sum_{j >= i} E_j``.

    ``s`` is 1.1 times the largest ``E_tot / E_inc`` seen in training, so ``u_0`` stays below 1.
    There are as many variables as active layers: the last layer takes the remaining energy.
    """

    def __init__(self, alpha: float = DEFAULT_ALPHA) -> None:
        self.alpha = alpha
        self.scaler = Standardiser()
        self.total_scale: torch.Tensor | None = None

    def _u(self, incident_energy: np.ndarray, layers: np.ndarray) -> torch.Tensor:
        e = torch.as_tensor(layers, dtype=torch.float64)
        total = e.sum(1)
        remaining = torch.flip(torch.cumsum(torch.flip(e, [1]), 1), [1])  # sum_{j >= i} E_j
        ratios = torch.where(remaining[:, :-1] > 0, e[:, :-1] / remaining[:, :-1].clamp_min(1e-300), 0.0)
        u0 = total / (self.total_scale * torch.as_tensor(incident_energy, dtype=torch.float64))
        return torch.cat([u0[:, None], ratios], 1).clamp(0.0, 1.0)

    def fit_transform(self, incident_energy: np.ndarray, layers: np.ndarray, seed: int) -> torch.Tensor:
        self.total_scale = torch.tensor(
            1.1 * float(np.max(layers.sum(1) / incident_energy)) or 1.0, dtype=torch.float64
        )
        u = dequantise(self._u(incident_energy, layers), self.alpha, seeded_generator(seed), inplace=True)
        y = logit(u, self.alpha, inplace=True)
        return self.scaler.fit(y).transform(y, inplace=True).float()

    def transform(self, incident_energy: np.ndarray, layers: np.ndarray) -> torch.Tensor:
        return self.scaler.transform(logit(self._u(incident_energy, layers), self.alpha)).float()

    def inverse(self, incident_energy: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Layer energies (M, n_layers) in MeV."""
        u = inverse_logit(self.scaler.inverse(z.double()), self.alpha)
        remaining = u[:, 0] * self.total_scale.to(u.device) * incident_energy.double()
        columns = []
        for i in range(1, u.shape[1]):
            columns.append(u[:, i] * remaining)
            remaining = remaining - columns[-1]
        columns.append(remaining)
        return torch.stack(columns, 1)

    def state(self) -> dict[str, torch.Tensor]:
        return {**self.scaler.state("layers"), "layers.total_scale": self.total_scale.cpu()}

    def load(self, state: dict[str, torch.Tensor]) -> LayerEnergies:
        self.scaler.load(state, "layers")
        self.total_scale = state["layers.total_scale"].double()
        return self


class LayerShapes:
    """CaloFlow flow-II variables: voxels as standardised logits of ``E_voxel / E_layer``.

    With a ``deposit_floor`` (MeV, > 0) the empty voxels are read as deposits below that floor:
    in fitting each gets a uniform deposit in [0, floor) MeV, divided like the hits by the layer's
    true energy; on the way back deposits below the floor are set to zero and each layer is
    renormalised to its energy, so that a shower without deposits below the floor comes back as
    it was. Without it an empty voxel's logit is a spike several units below those of the hits,
    and a network trained on both puts mass in the gap between them: a fog of deposits far below
    any readout threshold, and hits drawn too soft (``docs/results.md``). The floor closes that
    gap from below. A layer with energy keeps at least its largest deposit.
    """

    def __init__(self, geometry: Geometry, alpha: float = DEFAULT_ALPHA, deposit_floor: float = 0.0) -> None:
        self.alpha = alpha
        self.deposit_floor = check_deposit_floor(deposit_floor)
        self.geometry = geometry
        self.slices = list(geometry.layer_slices().values())
        self.scaler = Standardiser()

    def fit_transform(self, showers: np.ndarray, seed: int) -> torch.Tensor:
        generator = seeded_generator(seed)
        deposits = torch.as_tensor(showers, dtype=torch.float64)
        layers = layer_energies(deposits, self.geometry)
        if self.deposit_floor > 0:
            deposits = deposits.clone()  # the caller's showers stay as they are
            empty = deposits == 0
            noise = torch.rand(int(empty.sum()), generator=generator, dtype=torch.float64)
            deposits[empty] = noise.mul_(self.deposit_floor)
            del empty, noise
        parts = []
        for i, s in enumerate(self.slices):
            total = layers[:, i : i + 1]
            parts.append(torch.where(total > 0, deposits[:, s] / total.clamp_min(1e-300), 0.0).clamp_(0.0, 1.0))
        del deposits
        fraction = torch.cat(parts, 1)
        del parts
        y = logit(dequantise(fraction, self.alpha, generator, inplace=True), self.alpha, inplace=True)
        return self.scaler.fit(y).transform(y, inplace=True).float()

    def inverse(self, layers: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Showers (M, n_voxels) in MeV: each layer's deposits renormalised to sum to its energy ``layers`` (M, n_layers)."""
        fraction = inverse_logit(self.scaler.inverse(z.double()), self.alpha)
        parts = []
        for i, s in enumerate(self.slices):
            energy = layers[:, i : i + 1].double()
            deposits = fraction[:, s] * energy
            if self.deposit_floor > 0:
                deposits = self._above_floor(deposits, energy)
            norm = deposits.sum(1, keepdim=True)
            parts.append(torch.where(norm > 0, deposits / norm.clamp_min(1e-300), 0.0) * energy)
        return torch.cat(parts, 1)

    def _above_floor(self, deposits: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """A layer's drawn ``deposits`` (M, n) MeV with only its k largest kept: the most that are
        each at or above the floor both as drawn and once rescaled to the layer ``energy`` (M, 1);
        at least one. Both conditions hold for a prefix of the deposits sorted in decreasing order,
        so k is a count, and no kept deposit falls below the floor in the renormalisation."""
        top, order = deposits.sort(1, descending=True)
        # The dequantisation noise of the fractions adds up to alpha * E_layer to a deposit.
        drawn_above = top >= self.deposit_floor + self.alpha * energy
        rescaled_above = top * energy >= self.deposit_floor * top.cumsum(1)
        n_kept = (drawn_above & rescaled_above).sum(1, keepdim=True).clamp_min(1)
        rank = torch.empty_like(order).scatter_(
            1, order, torch.arange(order.shape[1], device=order.device).expand_as(order)
        )
        return torch.where(rank < n_kept, deposits, 0.0)

    def state(self) -> dict[str, torch.Tensor]:
        return self.scaler.state("shapes")

    def load(self, state: dict[str, torch.Tensor]) -> LayerShapes:
        self.scaler.load(state, "shapes")
        return self


class LayerRepresentation:
    """CaloFlow's two-stage variables: :class:`LayerEnergies` (flow I, the energy network) and
    :class:`LayerShapes` (flow II, the shape network), fitted and inverted together."""

    def __init__(self, geometry: Geometry, alpha: float = DEFAULT_ALPHA, deposit_floor: float = 0.0) -> None:
        self.geometry = geometry
        self.energies = LayerEnergies(alpha)
        self.shapes = LayerShapes(geometry, alpha, deposit_floor)

    def fit_transform(
        self, incident_energy: np.ndarray, showers: np.ndarray, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(shape variables (N, n_voxels), layer-energy variables (N, n_layers)), standardised."""
        u = self.energies.fit_transform(incident_energy, layer_energies(showers, self.geometry), seed)
        return self.shapes.fit_transform(showers, seed + 1), u

    def inverse(self, incident_energy: torch.Tensor, u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Showers (M, n_voxels) in MeV: shapes ``x`` rescaled per layer to the energies of ``u``."""
        return self.shapes.inverse(self.energies.inverse(incident_energy, u), x)

    def state(self) -> dict[str, torch.Tensor]:
        return {**self.energies.state(), **self.shapes.state()}

    def load(self, state: dict[str, torch.Tensor]) -> LayerRepresentation:
        self.energies.load(state)
        self.shapes.load(state)
        return self
