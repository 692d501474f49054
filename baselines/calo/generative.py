"""What every calorimeter shower generator shares: checks, device, seeding, training loop, files.

A generator is a scikit-learn style estimator::

    model = CaloFlowGenerator(size="tiny").fit(incident_energy, showers, geometry)
    showers = model.sample(incident_energy, seed=1)    # (M, n_voxels) float32 MeV, >= 0
    model.save("flow.pt"); model = CaloFlowGenerator.load("flow.pt")

``incident_energy`` is (N,) in MeV, ``showers`` (N, n_voxels) in MeV in the official voxel order.
A saved file holds the networks' state, the fitted preprocessing tensors and the configuration and
geometry as JSON; it is read with ``torch.load(weights_only=True)``, so no code is unpickled.
"""

from __future__ import annotations

import abc
import contextlib
import gc
import inspect
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ...challenges.calo.geometry import Geometry, geometry_from_dict, geometry_to_dict
from ...torch_common import fit, mlp, resolve_device, seeded_generator
from ..base import with_overrides
from .preprocessing import (
    EnergyCondition,
    LayerRepresentation,
    VoxelFractions,
    check_deposit_floor,
    check_incident_energy,
    check_showers,
)

FILE_FORMAT = "hepbench-calo-generator-1"
SIZES: tuple[str, ...] = ("tiny", "small", "full")
# Working memory one sampling pass may take. A spline flow over the 6,480 voxels of data set 2
# needs several MB per shower, so a batch of 10,000 would not fit in a 24 GiB machine.
SAMPLE_MEMORY_BYTES = 2 * 1024**3
VALIDATION_FRACTION = 0.1
"""Share of the training showers held out to stop a generator's training (``patience``)."""
PATIENCE = 10
"""Epochs without a lower held-out loss after which the ``small`` and ``full`` configurations stop
training (``tiny`` trains its fixed epochs)."""
GC_BYTES = 64 * 1024**2
"""Sampling passes that may hold more than this are followed by a garbage collection."""
REPRESENTATIONS: tuple[str, ...] = ("layers", "voxels")
"""What the diffusion and flow-matching networks model (see :class:`TimeConditionedGenerator`)."""
TIME_FEATURES = 16
"""Sinusoidal features of the diffusion time or flow time fed to those networks."""


def spline_bytes_per_shower(n_voxels: int, bins: int) -> int:
    """Sampling memory per shower of a rational-quadratic spline flow over ``n_voxels``, bytes.

    The spline parameters (3 bins - 1 per voxel, float32) are held several times over while a
    pass is evaluated: measured on data set 2 (benchmarks/bench_calo_sampling_memory.py), about
    14 times for CaloFlow and 8 for the INN; 16 leaves a margin.
    """
    return 16 * 4 * n_voxels * (3 * bins - 1)


def train_generative(
    loss_fn: Callable[..., torch.Tensor],
    module: nn.Module,
    tensors: Sequence[torch.Tensor],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    max_grad_norm: float | None = 10.0,
    patience: int | None = None,
    validation_fraction: float = VALIDATION_FRACTION,
    description: str = "training",
) -> list[dict[str, float]]:
    """Minimise ``loss_fn(*batch)`` over ``module``'s parameters with the shared loop (Adam, a
    cosine learning-rate decay, gradient clipping, a stop on a non-finite loss); returns one
    record per epoch (mean loss, and ``validation_loss`` with ``patience``).

    ``tensors`` share their first dimension (the showers) and already live on the training
    device; the mini-batch order comes from a generator seeded with ``seed``.

    With ``patience``, ``validation_fraction`` of the showers (a seeded draw) are held out and
    training stops once ``patience`` epochs in a row did not lower their loss (at most
    ``epochs``); the module ends with the weights of the best epoch. The held-out loss is
    evaluated with the same random draws (noise, diffusion times) after every epoch, so that
    epochs are compared on equal terms.
    """
    validation = None
    if patience is not None:
        n = len(tensors[0])
        n_validation = int(round(validation_fraction * n))
        if not 0 < n_validation < n:
            raise ValueError(f"validation_fraction {validation_fraction} leaves no training or validation showers")
        order = torch.randperm(n, generator=seeded_generator(seed + 0x7661)).to(tensors[0].device)
        held_out = [t[order[:n_validation]] for t in tensors]
        tensors = [t[order[n_validation:]] for t in tensors]
        validation = _held_out_loss(loss_fn, held_out, batch_size, seed)
    result = fit(
        module,
        loss_fn,
        tensors,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        cosine_decay=True,
        max_grad_norm=max_grad_norm,
        require_finite=True,
        validation=validation,
        patience=patience,
        description=description,
    )
    if result.best:
        module.load_state_dict(result.best[0][2])
    return result.history


def _held_out_loss(
    loss_fn: Callable[..., torch.Tensor], held_out: Sequence[torch.Tensor], batch_size: int, seed: int
) -> Callable[[], float]:
    """The mean loss over the held-out showers, with the random draws fixed by ``seed``."""
    device = held_out[0].device
    devices = [device.index or 0] if device.type == "cuda" else []
    n = len(held_out[0])

    def value() -> float:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed + 0x7661)
            total = 0.0
            for start in range(0, n, batch_size):
                batch = [t[start : start + batch_size] for t in held_out]
                total += float(loss_fn(*batch)) * len(batch[0])
        return total / n

    return value


def merge_histories(parts: dict[str, list[dict[str, float]]], quantity: str) -> list[dict[str, float]]:
    """One record per epoch of the longest of several trainings run one after the other.

    Each record holds ``{part}_{quantity}`` (and ``{part}_validation_{quantity}``) of every part
    still training at that epoch: with early stopping the parts may stop at different epochs.
    """
    records = []
    for epoch in range(max(len(history) for history in parts.values())):
        record: dict[str, float] = {"epoch": epoch}
        for part, history in parts.items():
            if epoch < len(history):
                record[f"{part}_{quantity}"] = history[epoch]["loss"]
                if "validation_loss" in history[epoch]:
                    record[f"{part}_validation_{quantity}"] = history[epoch]["validation_loss"]
        records.append(record)
    return records


def sinusoidal_embedding(t: torch.Tensor, dim: int = TIME_FEATURES) -> torch.Tensor:
    """Features (M, dim) of a time ``t`` in [0, 1] (M,) for the diffusion and flow-matching networks."""
    frequencies = torch.exp(torch.linspace(0.0, np.log(1000.0), dim // 2, device=t.device))
    angles = t[:, None] * frequencies[None, :] * np.pi
    return torch.cat([torch.sin(angles), torch.cos(angles)], 1)


class CaloGenerator(abc.ABC):
    """Base class: subclasses set ``name``, ``PRESETS`` and implement the four hooks below.

    Hooks: ``_fit_transforms(energy, voxels) -> tensors`` (fit the preprocessing, return the
    training tensors), ``_build()`` (create ``self.networks_``, a ``nn.ModuleDict``),
    ``_train(tensors) -> history``, ``_generate(energy, condition) -> showers`` (torch, MeV),
    plus ``_transform_state()`` / ``_load_transforms(state)`` for the preprocessing tensors.
    """

    name: ClassVar[str]
    PRESETS: ClassVar[dict[str, dict[str, Any]]]
    _classes: ClassVar[dict[str, type[CaloGenerator]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # concrete generators only
            CaloGenerator._classes[cls.name] = cls

    @classmethod
    def from_size(cls, size: str, device: str = "auto", seed: int = 0, **overrides: Any) -> CaloGenerator:
        """An unfitted generator with the ``tiny`` / ``small`` / ``full`` preset (``full`` = anchor-like);
        ``overrides`` replace preset entries (``width`` / ``depth`` reshape ``hidden``)."""
        if size not in cls.PRESETS:
            raise ValueError(f"size must be one of {tuple(cls.PRESETS)}, got {size!r}")
        return cls(**with_overrides(cls.PRESETS[size], overrides), device=device, seed=seed)

    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    # -- estimator API -----------------------------------------------------------------------
    def fit(self, incident_energy: np.ndarray, showers: np.ndarray, geometry: Geometry) -> CaloGenerator:
        """Train on showers (N, n_voxels) MeV of ``geometry`` with incident energies (N,) MeV."""
        energy, voxels = check_showers(incident_energy, showers, geometry)
        self.geometry_ = geometry
        self.device_ = resolve_device(self.device)
        self.condition_ = EnergyCondition().fit(energy)
        started = time.perf_counter()
        tensors = [t.to(self.device_) for t in self._fit_transforms(energy, voxels)]
        torch.manual_seed(self.seed)
        self._build_on_device()
        self.setup_seconds_ = time.perf_counter() - started
        self.networks_.train()
        self.history_ = self._train(tensors)
        self.networks_.eval()
        self.training_seconds_ = time.perf_counter() - started
        return self

    def _build_on_device(self) -> None:
        """Create the networks directly on ``device_``.

        zuko's masked networks compute their masks when they are created: about 20 s per
        transform of DS2's 6,480 voxels on one CPU core, milliseconds on a GPU. On the CPU this
        is the same as building and moving; on a GPU the initial weights come from its generator.
        """
        with torch.device(self.device_):
            self._build()
        self.networks_.to(self.device_)

    @torch.no_grad()
    def sample(self, incident_energy: np.ndarray, seed: int | None = None, batch_size: int | None = None) -> np.ndarray:
        """Showers (M, n_voxels) float32 in MeV, all >= 0, for incident energies (M,) MeV.

        Showers are generated ``batch_size`` at a time; by default as many as fit in
        ``SAMPLE_MEMORY_BYTES`` (at most 10,000). With ``seed`` the draw is reproducible (on the
        same device and batch size) and the global torch RNG is left untouched; without, the draw
        uses (and advances) the global torch RNG.
        """
        if not hasattr(self, "networks_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load() first")
        energy = check_incident_energy(incident_energy)
        if batch_size is None:
            batch_size = self.default_sample_batch
        devices = [torch.device(self.device_).index or 0] if self.device_ == "cuda" else []
        out = np.empty((len(energy), self.geometry_.n_voxels), dtype=np.float32)
        # A seeded draw runs on a forked RNG; an unseeded one advances the global RNG, so that
        # repeated unseeded calls differ.
        with torch.random.fork_rng(devices=devices) if seed is not None else contextlib.nullcontext():
            if seed is not None:
                torch.manual_seed(seed)
            for start in range(0, len(energy), batch_size):
                chunk = energy[start : start + batch_size]
                condition = self.condition_.transform(chunk).to(self.device_)
                e = torch.as_tensor(chunk, dtype=torch.float64, device=self.device_)
                showers = self._generate(e, condition)
                out[start : start + len(chunk)] = showers.clamp_min(0.0).float().cpu().numpy()
                del showers
                if len(chunk) * self._sample_bytes_per_shower() > GC_BYTES:
                    # zuko's flow objects form reference cycles that keep a pass's tensors alive
                    # until the cyclic collector runs, which counts objects, not bytes: without
                    # this, sampling DS2 in batches grew by 0.5 GB per batch.
                    gc.collect()
        return out

    @property
    def default_sample_batch(self) -> int:
        """Showers per sampling pass: as many as fit in ``SAMPLE_MEMORY_BYTES``, 1 to 10,000."""
        return int(np.clip(SAMPLE_MEMORY_BYTES // self._sample_bytes_per_shower(), 1, 10_000))

    def _sample_bytes_per_shower(self) -> int:
        """Working memory per generated shower, bytes (an upper estimate; flows override it)."""
        return 64 * 4 * self.geometry_.n_voxels

    @property
    def n_parameters(self) -> int:
        if not hasattr(self, "networks_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: the network size depends on the geometry")
        return sum(p.numel() for p in self.networks_.parameters())

    # -- files -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write weights, preprocessing state, configuration and geometry to one file."""
        if not hasattr(self, "networks_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: nothing to save")
        path = Path(path)
        payload = {
            "format": FILE_FORMAT,
            "generator": self.name,
            "config": json.dumps(self.get_params()),
            "geometry": json.dumps(geometry_to_dict(self.geometry_)),
            "history": json.dumps(self.history_),
            "preprocessing": {**self.condition_.state(), **self._transform_state()},
            "networks": {k: v.cpu() for k, v in self.networks_.state_dict().items()},
        }
        torch.save(payload, path)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> CaloGenerator:
        """Read a file written by :meth:`save`; ``device`` overrides the saved one."""
        path = Path(path)
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
            raise ValueError(f"{path}: not a readable generator file ({err})") from err
        if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
            raise ValueError(f"{path}: field 'format' is not {FILE_FORMAT!r}")
        # The concrete generators register themselves on import.
        from . import diffusion, flow, flow_matching, gan, inn  # noqa: F401

        target = CaloGenerator._classes.get(payload["generator"])
        if target is None or not issubclass(target, cls):
            raise ValueError(f"{path}: field 'generator' is {payload['generator']!r}, not a {cls.__name__}")
        config = target._upgrade_config(json.loads(payload["config"]))
        if device is not None:
            config["device"] = device
        model = target(**config)
        model.geometry_ = geometry_from_dict(json.loads(payload["geometry"]))
        model.device_ = resolve_device(model.device)
        model.condition_ = EnergyCondition().load(payload["preprocessing"])
        model._load_transforms(payload["preprocessing"])
        model._build_on_device()
        model.networks_.load_state_dict(payload["networks"])
        model.networks_.eval()
        model.history_ = json.loads(payload["history"])
        return model

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The configuration of a file written before a parameter was added, with that parameter
        at the value those files were made with."""
        return config

    # -- hooks -------------------------------------------------------------------------------
    @abc.abstractmethod
    def _fit_transforms(self, energy: np.ndarray, voxels: np.ndarray) -> list[torch.Tensor]: ...

    @abc.abstractmethod
    def _build(self) -> None: ...

    @abc.abstractmethod
    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]: ...

    @abc.abstractmethod
    def _generate(self, energy: torch.Tensor, condition: torch.Tensor) -> torch.Tensor: ...

    @abc.abstractmethod
    def _transform_state(self) -> dict[str, torch.Tensor]: ...

    @abc.abstractmethod
    def _load_transforms(self, state: dict[str, torch.Tensor]) -> None: ...


class VoxelSpaceGenerator(CaloGenerator):
    """Generators that model all voxels at once as standardised logits of ``E_voxel / E_inc``."""

    def _fit_transforms(self, energy: np.ndarray, voxels: np.ndarray) -> list[torch.Tensor]:
        self.voxels_ = VoxelFractions(self.alpha)
        z = self.voxels_.fit_transform(energy, voxels, self.seed)
        return [z, self.condition_.transform(energy)]

    def _transform_state(self) -> dict[str, torch.Tensor]:
        return self.voxels_.state()

    def _load_transforms(self, state: dict[str, torch.Tensor]) -> None:
        self.voxels_ = VoxelFractions(self.alpha).load(state)

    def _generate(self, energy: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.voxels_.inverse(energy, self._sample_latent(condition))

    @abc.abstractmethod
    def _sample_latent(self, condition: torch.Tensor) -> torch.Tensor:
        """Standardised voxel logits (M, n_voxels) given the condition (M, 1)."""
        ...


class TimeConditionedGenerator(CaloGenerator):
    """Diffusion and flow matching: networks of ``(x_t, t, context)``, in one of two representations.

    - ``voxels``: one network over all voxels as standardised logits of ``E_voxel / E_inc``,
      conditioned on the standardised ``log(E_inc)``.
    - ``layers`` (CaloDREAM's split, and CaloFlow's variables): an energy network over CaloFlow's flow-I variables of
      the layer energies given ``log(E_inc)``, and a shape network over the voxels normalised to
      their layer's energy, given ``log(E_inc)`` and those variables (the true ones in training,
      the energy network's draw in sampling). Every layer of a sampled shower carries the energy
      the energy network drew for it: errors of the shape network move energy within a layer
      instead of adding it.

    Subclasses set ``NETWORK`` (the name of the voxel representation's network) and implement
    :meth:`_loss` and :meth:`_draw`; their ``__init__`` stores ``hidden``, ``representation``,
    ``epochs``, ``batch_size``, ``learning_rate``, ``patience``, ``alpha`` and
    ``deposit_floor_mev`` (the layer representation's :class:`LayerShapes` floor, MeV; 0: none).
    """

    NETWORK: ClassVar[str]
    hidden: tuple[int, ...]
    representation: str
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int | None
    alpha: float
    deposit_floor_mev: float

    @classmethod
    def _upgrade_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        # Files written before the layer representation modelled the voxels, and before the
        # shape network had a deposit floor.
        return {"representation": "voxels", "deposit_floor_mev": 0.0, **config}

    @staticmethod
    def _check_representation(representation: str, deposit_floor_mev: float = 0.0) -> None:
        if representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {REPRESENTATIONS}, got {representation!r}")
        if check_deposit_floor(deposit_floor_mev, "deposit_floor_mev") > 0 and representation != "layers":
            raise ValueError("deposit_floor_mev applies to the 'layers' representation only; set it to 0 for 'voxels'")

    @abc.abstractmethod
    def _loss(self, network: nn.Module, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Training loss of ``network`` on a batch: targets ``x`` (B, F), ``context`` (B, C)."""

    @abc.abstractmethod
    def _draw(self, network: nn.Module, context: torch.Tensor, n_features: int) -> torch.Tensor:
        """Samples (M, n_features) of ``network``'s standardised variables given ``context`` (M, C)."""

    def _network(self, n_features: int, n_context: int) -> nn.Module:
        return mlp(n_features + n_context + TIME_FEATURES, self.hidden, n_features, activation=nn.SiLU)

    def _forward(self, network: nn.Module, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The network's output for ``x`` (M, F) at times ``t`` (M,) in [0, 1] given ``context`` (M, C)."""
        return network(torch.cat([x, context, sinusoidal_embedding(t)], 1))

    @property
    def _n_layers(self) -> int:
        return len(self.geometry_.active_layers)

    def _fit_transforms(self, energy: np.ndarray, voxels: np.ndarray) -> list[torch.Tensor]:
        condition = self.condition_.transform(energy)
        if self.representation == "voxels":
            self.voxels_ = VoxelFractions(self.alpha)
            return [self.voxels_.fit_transform(energy, voxels, self.seed), condition]
        self.layers_ = LayerRepresentation(self.geometry_, self.alpha, self.deposit_floor_mev)
        x, u = self.layers_.fit_transform(energy, voxels, self.seed)
        return [x, u, condition]

    def _transform_state(self) -> dict[str, torch.Tensor]:
        return self.voxels_.state() if self.representation == "voxels" else self.layers_.state()

    def _load_transforms(self, state: dict[str, torch.Tensor]) -> None:
        if self.representation == "voxels":
            self.voxels_ = VoxelFractions(self.alpha).load(state)
        else:
            self.layers_ = LayerRepresentation(self.geometry_, self.alpha, self.deposit_floor_mev).load(state)

    def _build(self) -> None:
        n_voxels = self.geometry_.n_voxels
        if self.representation == "voxels":
            self.networks_ = nn.ModuleDict({self.NETWORK: self._network(n_voxels, 1)})
        else:
            self.networks_ = nn.ModuleDict(
                {"energy": self._network(self._n_layers, 1), "shape": self._network(n_voxels, 1 + self._n_layers)}
            )

    def _train(self, tensors: list[torch.Tensor]) -> list[dict[str, float]]:
        def train(name: str, part: list[torch.Tensor], seed: int, description: str) -> list[dict[str, float]]:
            network = self.networks_[name]
            return train_generative(
                lambda x, context: self._loss(network, x, context),
                network,
                part,
                epochs=self.epochs,
                batch_size=self.batch_size,
                learning_rate=self.learning_rate,
                seed=seed,
                patience=self.patience,
                description=description,
            )

        if self.representation == "voxels":
            return train(self.NETWORK, tensors, self.seed, self.name)
        x, u, condition = tensors
        energy = train("energy", [u, condition], self.seed, f"{self.name}: energy")
        # The shape network sees the true layer energies in training, the energy network's in sampling.
        shape = train("shape", [x, torch.cat([condition, u], 1)], self.seed + 1, f"{self.name}: shape")
        return merge_histories({"energy": energy, "shape": shape}, "loss")

    def _generate(self, energy: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        if self.representation == "voxels":
            z = self._draw(self.networks_[self.NETWORK], condition, self.geometry_.n_voxels)
            return self.voxels_.inverse(energy, z)
        u = self._draw(self.networks_["energy"], condition, self._n_layers)
        x = self._draw(self.networks_["shape"], torch.cat([condition, u], 1), self.geometry_.n_voxels)
        return self.layers_.inverse(energy, u, x)
