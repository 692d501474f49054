"""Calorimeter shower generators: ``fit(energy, showers, geometry)``, ``sample(energy)`` -> showers.

Factories import their module (and torch, zuko) on first call.
"""

from __future__ import annotations

from ..base import Baseline, Param, lazy_factory

_HERE = "hepbench.baselines.calo"
_DEMO = ("calo-diffusion", "calo-flow-matching")

_GENERATORS = (
    ("calo-gan", "gan:CaloGANGenerator", "CaloGAN-like WGAN-GP, fully connected, conditioned on log E_inc"),
    (
        "calo-flow",
        "flow:CaloFlowGenerator",
        "CaloFlow-like: flow I (RQS MAF) for layer energies given E_inc, "
        "flow II (RQS MAF) for voxels normalised per layer given layer energies and E_inc",
    ),
    ("calo-inn", "inn:CaloINNGenerator", "CaloINN-like invertible network of RQS coupling blocks over voxels / E_inc"),
    (
        "calo-diffusion",
        "diffusion:CaloDiffusionGenerator",
        "CaloDiffusion-like DDPM (v-prediction, MLP denoisers): layer energies given E_inc, "
        "then voxels normalised per layer",
    ),
    (
        "calo-flow-matching",
        "flow_matching:CaloFlowMatchingGenerator",
        "CaloDREAM-like conditional flow matching (MLP velocity networks, fixed-step ODE): "
        "layer energies given E_inc, then voxels normalised per layer",
    ),
)

_MLP_SPACE: dict[str, Param] = {
    "learning_rate": Param("float", 1e-4, 5e-3, log=True),
    "width": Param("int", 64, 1024, log=True),
    "depth": Param("int", 2, 4),
    "batch_size": Param("categorical", choices=(64, 128, 256)),
    # The shape network's floor: empty voxels read as deposits below it, deposits drawn below it
    # removed (MeV; 0 = none; LayerShapes). The reference's smallest deposits are near 0.1 MeV.
    "deposit_floor_mev": Param("categorical", choices=(0.0, 0.1, 0.5)),
}
SEARCH_SPACES: dict[str, dict[str, Param]] = {
    # n_steps: ODE steps of the sampler (fewer is faster, more integrates the flow more exactly).
    "calo-flow-matching": {**_MLP_SPACE, "n_steps": Param("int", 4, 40)},
    # n_steps: diffusion steps, trained and sampled.
    "calo-diffusion": {**_MLP_SPACE, "n_steps": Param("int", 20, 400, log=True)},
}
"""What ``hepbench baseline tune`` searches (the MLP generators; the flows cost too much per trial)."""

BASELINES: dict[str, Baseline] = {
    name: Baseline(
        name,
        "calo",
        description,
        lazy_factory(f"{_HERE}.{target}.from_size"),
        in_demo=name in _DEMO,
        search_space=SEARCH_SPACES.get(name, {}),
    )
    for name, target, description in _GENERATORS
}
