"""Particle-level inputs of the LHCO classifiers: jet images and constituent sequences.

Both start from the events' particles (``schema.particle_columns``, pT in GeV): anti-kT R = 1.0
jets are clustered (``real_data.jet_constituents``) and the two leading jets, ordered by mass
(j1 the lighter, as in ``schema``), become the two channels of an image or the two sets of a
sequence. Everything is relative to the jet (pT fractions, angles to the jet axis), so the
inputs carry the jets' substructure but not their absolute pT, which rises with mjj (a
classifier trained on sidebands against the signal region must not learn mjj).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...challenges.lhco.particles import frame_particles
from ...challenges.lhco.real_data import JET_RADIUS, jet_constituents
from ...challenges.lhco.schema import n_particles

PARTICLES_PER_JET = 50
"""The hardest constituents of each jet a sequence network sees."""
IMAGE_PIXELS = 25
"""Pixels per side of a jet image covering [-R, R] x [-R, R] around the jet (R = 1.0)."""
ANGLE_UNIT = 0.1
"""Angles to the jet axis are given in units of 0.1 (a TeV jet's prongs lie ~0.1-0.5 apart)."""
NO_PARTICLES = "generate particle-level data: hepbench data generate lhco --constituents 100"


def _constituents(frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-jet constituents (n, 2, PARTICLES_PER_JET, 3) and jets (n, 2, 4) of ``frame``'s particles."""
    n = n_particles(frame.columns)
    if n == 0:
        raise ValueError(f"{what} has no particle columns (pt_0, eta_0, phi_0, ...); {NO_PARTICLES}")
    pt, eta, phi = frame_particles(frame, n)
    if not (np.isfinite(pt).all() and np.isfinite(eta).all() and np.isfinite(phi).all()):
        raise ValueError(f"{what} has NaN or infinite particle values")
    constituents, jets, multiplicity = jet_constituents(pt, eta, phi, PARTICLES_PER_JET)
    if (multiplicity == 0).any():
        raise ValueError(f"{what}: {int((multiplicity[:, 0] == 0).sum())} event(s) have fewer than two jets")
    return constituents, jets


def _relative(constituents: np.ndarray, jets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """pT fraction, d eta, d phi (wrapped) of each constituent to its jet axis, and the mask of filled slots."""
    mask = constituents[..., 0] > 0
    fraction = constituents[..., 0] / jets[..., 0:1]
    deta = constituents[..., 1] - jets[..., 1:2]
    dphi = (constituents[..., 2] - jets[..., 2:3] + np.pi) % (2.0 * np.pi) - np.pi
    return fraction * mask, deta * mask, dphi * mask, mask


def constituent_sequences(frame: pd.DataFrame, what: str) -> np.ndarray:
    """Per-constituent inputs of the sequence and set networks, (n_events, 2, PARTICLES_PER_JET, 4)
    float32: pT fraction of the jet, log of it (0 in empty slots), d eta and d phi to the jet axis
    (in units of :data:`ANGLE_UNIT`);
    pT-descending, zero-padded (a slot is filled when its pT fraction is > 0)."""
    fraction, deta, dphi, mask = _relative(*_constituents(frame, what))
    log_fraction = np.where(mask, np.log(np.maximum(fraction, 1e-8)), 0.0)
    return np.stack([fraction, log_fraction, deta / ANGLE_UNIT, dphi / ANGLE_UNIT], axis=-1).astype(np.float32)


def jet_images(frame: pd.DataFrame, what: str, pixels: int = IMAGE_PIXELS) -> np.ndarray:
    """pT-weighted (eta, phi) images of the two jets, (n_events, 2, pixels, pixels) float32.

    The usual preprocessing: centred on the jet's pT centroid, rotated so that the principal
    axis of the pT-weighted constituent spread points along eta, flipped so that the halves
    with more pT lie at positive eta and positive phi; pixel = pT fraction of the jet.
    """
    fraction, deta, dphi, mask = _relative(*_constituents(frame, what))
    weight = fraction / np.maximum(fraction.sum(axis=-1, keepdims=True), 1e-12)
    centre_eta = (weight * deta).sum(axis=-1, keepdims=True)
    centre_phi = (weight * dphi).sum(axis=-1, keepdims=True)
    u, v = deta - centre_eta, dphi - centre_phi
    # Principal axis of the 2x2 pT-weighted covariance: angle 0.5 atan2(2 c_uv, c_uu - c_vv).
    c_uu, c_vv, c_uv = ((weight * a * b).sum(axis=-1, keepdims=True) for a, b in ((u, u), (v, v), (u, v)))
    angle = 0.5 * np.arctan2(2.0 * c_uv, c_uu - c_vv)
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * u + sin * v, -sin * u + cos * v
    u *= np.where((weight * u).sum(axis=-1, keepdims=True) < 0, -1.0, 1.0)
    v *= np.where((weight * v).sum(axis=-1, keepdims=True) < 0, -1.0, 1.0)
    edge = np.linspace(-JET_RADIUS, JET_RADIUS, pixels + 1)
    iu = np.clip(np.searchsorted(edge, u) - 1, 0, pixels - 1)
    iv = np.clip(np.searchsorted(edge, v) - 1, 0, pixels - 1)
    n_events = len(frame)
    rows = np.broadcast_to(np.arange(n_events * 2).reshape(n_events, 2, 1), mask.shape)
    flat = (rows * pixels + iu) * pixels + iv
    images = np.bincount(flat[mask], weights=weight[mask], minlength=n_events * 2 * pixels * pixels)
    return images.astype(np.float32).reshape(n_events, 2, pixels, pixels)
