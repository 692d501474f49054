"""Calorimeter shower generators: ``fit(energy, showers, geometry)``, ``sample(energy)`` -> showers.

Factories import their module (and torch, zuko) on first call.
"""

from __future__ import annotations

from ..base import Baseline, lazy_factory

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
        "CaloDiffusion-like DDPM (v-prediction, MLP denoiser) over voxels / E_inc",
    ),
    (
        "calo-flow-matching",
        "flow_matching:CaloFlowMatchingGenerator",
        "CaloDREAM-like conditional flow matching, fixed-step ODE sampling",
    ),
)

BASELINES: dict[str, Baseline] = {
    name: Baseline(name, "calo", description, lazy_factory(f"{_HERE}.{target}.from_size"), in_demo=name in _DEMO)
    for name, target, description in _GENERATORS
}
