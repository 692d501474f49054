"""Voxel geometry of the CaloChallenge data sets, read from the official binning XMLs.

A shower is a flat vector of voxel energies (MeV) ordered layer -> alpha -> r: within a layer
the radial bin runs fastest. Layers whose ``r_edges`` is just ``0`` hold no voxels (DS1 uses 5
of its 24 layers for photons).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class GeometryError(ValueError):
    """A binning XML is missing, malformed, or describes an impossible geometry."""


@dataclass(frozen=True)
class Layer:
    id: int
    r_edges: tuple[float, ...]
    """Radial bin edges in mm, starting at 0; a single edge means no voxels."""
    n_alpha: int
    """Number of angular bins over [-pi, pi)."""

    @property
    def n_radial(self) -> int:
        return len(self.r_edges) - 1

    @property
    def n_voxels(self) -> int:
        return self.n_radial * self.n_alpha


@dataclass(frozen=True)
class Geometry:
    name: str
    particle: str
    pid: int
    layers: tuple[Layer, ...]
    """Every layer of the XML, including those without voxels."""

    @property
    def active_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.n_voxels > 0)

    @property
    def n_voxels(self) -> int:
        return sum(layer.n_voxels for layer in self.layers)

    def layer_slices(self) -> dict[int, slice]:
        """Voxel index range of each active layer in the flat shower vector."""
        slices, start = {}, 0
        for layer in self.active_layers:
            slices[layer.id] = slice(start, start + layer.n_voxels)
            start += layer.n_voxels
        return slices

    def voxel_centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per voxel (n_voxels,): layer id, radial centre in mm, and alpha centre in rad.

        Order is layer -> alpha -> r, as in the official files.
        """
        layer_ids, radii, alphas = [], [], []
        for layer in self.active_layers:
            edges = np.asarray(layer.r_edges)
            r_centre = 0.5 * (edges[:-1] + edges[1:])
            alpha_width = 2 * np.pi / layer.n_alpha
            alpha_centre = -np.pi + alpha_width * (np.arange(layer.n_alpha) + 0.5) if layer.n_alpha > 1 else np.zeros(1)
            a, r = np.meshgrid(alpha_centre, r_centre, indexing="ij")
            layer_ids.append(np.full(layer.n_voxels, layer.id))
            radii.append(r.ravel())
            alphas.append(a.ravel())
        return np.concatenate(layer_ids), np.concatenate(radii), np.concatenate(alphas)


def geometry_to_dict(geometry: Geometry) -> dict[str, Any]:
    """The geometry as JSON-ready data (radial edges in mm), read back by :func:`geometry_from_dict`."""
    return {
        "name": geometry.name,
        "particle": geometry.particle,
        "pid": geometry.pid,
        "layers": [
            {"id": layer.id, "r_edges": list(layer.r_edges), "n_alpha": layer.n_alpha} for layer in geometry.layers
        ],
    }


def geometry_from_dict(data: dict[str, Any]) -> Geometry:
    layers = tuple(
        Layer(int(d["id"]), tuple(float(r) for r in d["r_edges"]), int(d["n_alpha"])) for d in data["layers"]
    )
    return Geometry(name=data["name"], particle=data["particle"], pid=int(data["pid"]), layers=layers)


def read_binning_xml(path: str | Path, name: str | None = None) -> Geometry:
    """Parse an official ``binning_dataset_*.xml`` into a ``Geometry``."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise GeometryError(f"{path}: cannot read binning XML ({err})") from err
    bins = root.findall("Bin")
    if len(bins) != 1:
        raise GeometryError(f"{path}: expected exactly one <Bin> element, found {len(bins)}")
    particle_bin = bins[0]
    layers = []
    for element in particle_bin.findall("Layer"):
        try:
            layer_id = int(element.attrib["id"])
            edges = tuple(float(v) for v in element.attrib["r_edges"].split(","))
            n_alpha = int(element.attrib["n_bin_alpha"])
        except (KeyError, ValueError) as err:
            raise GeometryError(
                f"{path}: layer {element.attrib.get('id', '?')}: bad or missing attribute ({err})"
            ) from err
        if edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise GeometryError(f"{path}: layer {layer_id}: r_edges must start at 0 and increase, got {edges}")
        if n_alpha < 1:
            raise GeometryError(f"{path}: layer {layer_id}: n_bin_alpha must be >= 1, got {n_alpha}")
        layers.append(Layer(layer_id, edges, n_alpha))
    if not layers:
        raise GeometryError(f"{path}: no <Layer> elements")
    try:
        pid = int(particle_bin.attrib["pid"])
    except (KeyError, ValueError) as err:
        raise GeometryError(f"{path}: <Bin> lacks an integer pid") from err
    return Geometry(
        name=name or path.stem.removeprefix("binning_"),
        particle=particle_bin.attrib.get("name", ""),
        pid=pid,
        layers=tuple(layers),
    )


DATASETS: tuple[str, ...] = ("dataset_1_photons", "dataset_1_pions", "dataset_2", "dataset_3")
"""Names of the official geometries; ``ds1-photons``, ``ds2`` ... are accepted as aliases."""

_ALIASES = {"ds1-photons": "dataset_1_photons", "ds1-pions": "dataset_1_pions", "ds2": "dataset_2", "ds3": "dataset_3"}


def builtin_geometry(name: str) -> Geometry:
    """Geometry of an official data set from the tables in ``binning_tables`` (no XML needed)."""
    from .binning_tables import BINNING

    key = _ALIASES.get(name, name)
    if key not in BINNING:
        raise GeometryError(f"unknown geometry {name!r}; known: {list(DATASETS)} or {list(_ALIASES)}")
    particle, pid, layers = BINNING[key]
    return Geometry(
        name=key,
        particle=particle,
        pid=pid,
        layers=tuple(Layer(i, tuple(edges), n_alpha) for i, edges, n_alpha in layers),
    )
