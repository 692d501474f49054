"""Black boxes: data sets with a hidden signal (or none) whose truth only the organiser holds.

The organiser writes a secret configuration (JSON, kept outside any shared folder)::

    {"seed": 913, "preset": "full", "n_signal": 800,
     "m_wprime": 3.9, "m_x": 0.3, "m_y": 0.15}

``n_signal = 0`` makes a box without signal (the masses are then ignored). Optional keys:
``width_wprime`` (relative), ``jet_energy_scale``, ``jet_mass_scale``, ``tau21_shift`` (a
systematic difference between the box and the simulation) and ``correlated``.

:func:`make_black_box` writes the participants' ``data.parquet`` (unlabelled, ``schema.COLUMNS``,
TeV) and, when the preset's simulation is to be shared, ``background_reference.parquet``; the
truth (``data_truth.parquet`` and ``truth.json``) goes to a separate organiser folder.

An answer is JSON::

    {"significance": 4.2, "mass": 3.85, "mass_uncertainty": 0.1, "scores": "scores.npy"}

``mass`` / ``mass_uncertainty`` (TeV) may be null when no signal is claimed; ``scores``
(optional) names a ``.npy`` or ``.parquet`` (column ``score``) file with one anomaly score per
data row. :func:`score_answer` compares it with the hidden truth.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...datafiles import read_table, write_table
from ...output import read_json
from ...scoring.anomaly import MIN_BACKGROUND, anomaly_metrics
from ..secrets import record_secrets, secret_seed
from .dataset import _metadata, generate_frames
from .generator import SignalModel
from .presets import get_preset
from .schema import COLUMNS, LABEL
from .systematics import Systematics

EVIDENCE_Z = 3.0
"""A claimed significance at or above this is a claim of a signal."""


@dataclass(frozen=True)
class BlackBoxConfig:
    seed: int
    preset: str = "full"
    n_signal: int = 0
    m_wprime: float = 3.5
    m_x: float = 0.5
    m_y: float = 0.1
    width_wprime: float = SignalModel.width_wprime
    jet_energy_scale: float = 1.0
    jet_mass_scale: float = 1.0
    tau21_shift: float = 0.0
    correlated: bool = False
    share_background_reference: bool = False

    def __post_init__(self) -> None:
        get_preset(self.preset)
        if self.n_signal < 0:
            raise ValueError(f"n_signal must be >= 0, got {self.n_signal}")
        if self.n_signal > 0 and not (self.m_y > 0 and self.m_x > 0 and self.m_x + self.m_y < self.m_wprime):
            raise ValueError(
                f"masses must satisfy 0 < m_x, m_y and m_x + m_y < m_wprime, got {self.m_wprime}, {self.m_x}, {self.m_y}"
            )

    @property
    def signal(self) -> SignalModel:
        return SignalModel(m_wprime=self.m_wprime, m_x=self.m_x, m_y=self.m_y, width_wprime=self.width_wprime)

    @property
    def shift(self) -> Systematics:
        return Systematics(self.jet_energy_scale, self.jet_mass_scale, self.tau21_shift)


def read_config(path: str | Path) -> BlackBoxConfig:
    """Read and check an organiser's configuration; errors name the file and the field.

    The configuration is the box's truth: the file must be readable by its owner only (mode
    0600). Without a ``seed`` the data are drawn from a secret one (the operating system's
    entropy), recorded with the truth in the organiser folder.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: black-box configuration not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object")
    known = {f.name: f for f in fields(BlackBoxConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {unknown}; known: {sorted(known)}")
    if mode & 0o077:
        raise ValueError(f"{path}: readable by others (mode {mode:04o}); it holds the box's truth: chmod 600 {path}")
    raw.setdefault("seed", secret_seed())
    for name, value in raw.items():
        expected = {"int": int, "float": (int, float), "str": str, "bool": bool}[known[name].type]
        if isinstance(value, bool) and expected is not bool or not isinstance(value, expected):
            raise ValueError(f"{path}: field {name!r} must be {known[name].type}, got {value!r}")
        if isinstance(value, float) and not np.isfinite(value):  # JSON's NaN / Infinity
            raise ValueError(f"{path}: field {name!r} must be finite, got {value!r}")
    try:
        return BlackBoxConfig(**raw)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def make_black_box(
    config: BlackBoxConfig | str | Path, public_dir: str | Path, organiser_dir: str | Path
) -> dict[str, Any]:
    """Generate the box: data (and optionally simulated background) to ``public_dir``, truth to
    ``organiser_dir``. Returns the truth summary written to ``organiser_dir/truth.json``."""
    cfg = config if isinstance(config, BlackBoxConfig) else read_config(config)
    public_dir, organiser_dir = Path(public_dir), Path(organiser_dir)
    if public_dir.resolve() == organiser_dir.resolve():
        raise ValueError("the organiser folder must differ from the public folder: it holds the truth")
    spec = get_preset(cfg.preset)
    record_secrets(organiser_dir, data_seed=cfg.seed)
    frames = generate_frames(
        spec, cfg.seed, n_signal=cfg.n_signal, signal=cfg.signal, shift=cfg.shift, correlated=cfg.correlated
    )
    data = frames["data"]
    # The public sidecar says nothing about the signal: only the box's name and size.
    public_meta = {"challenge": "lhco", "kind": "black box", "units": "TeV"}
    write_table(data[list(COLUMNS)], public_dir / "data.parquet", public_meta)
    if cfg.share_background_reference:
        write_table(
            frames["background_reference"][list(COLUMNS)], public_dir / "background_reference.parquet", public_meta
        )
    extra = {"black_box": asdict(cfg)}
    write_table(
        data[[LABEL]], organiser_dir / "data_truth.parquet", _metadata(spec, cfg.seed, "data_truth", data, extra)
    )
    signal = data[data[LABEL] == 1]
    truth = {
        "config": asdict(cfg),
        "has_signal": cfg.n_signal > 0,
        "n_signal": int(len(signal)),
        "n_events": int(len(data)),
        "m_wprime": cfg.m_wprime if cfg.n_signal > 0 else None,
        "signal_mjj_median": float(signal["mjj"].median()) if len(signal) else None,
    }
    organiser_dir.mkdir(parents=True, exist_ok=True)
    (organiser_dir / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
    return truth


def _number(answer: dict[str, Any], key: str, source: str, *, required: bool) -> float | None:
    value = answer.get(key)
    if value is None:
        if required:
            raise ValueError(f"{source}: field {key!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ValueError(f"{source}: field {key!r} must be a finite number, got {value!r}")
    return float(value)


def _read_scores(path: Path, n_rows: int) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{path}: scores file not found")
    if path.suffix == ".npy":
        scores = np.load(path, allow_pickle=False)
    elif path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        if "score" not in frame:
            raise ValueError(f"{path}: no column 'score'")
        scores = frame["score"].to_numpy()
    else:
        raise ValueError(f"{path}: scores must be .npy or .parquet")
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if scores.size != n_rows:
        raise ValueError(
            f"{path}: {scores.size} scores for {n_rows} data rows (field 'score': one per row of data.parquet)"
        )
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise ValueError(f"{path}: field 'score' has {bad} non-finite value(s)")
    return scores


def read_answer(answer: dict[str, Any] | str | Path) -> tuple[dict[str, Any], str, Path]:
    """A black-box answer (a dict or a JSON file) with its fields checked: ``significance``
    (>= 0), optional ``mass`` with ``mass_uncertainty`` (> 0, TeV), optional ``scores`` file.
    Returns the answer, its name in errors and the folder its scores file is relative to."""
    source, base = "answer", Path(".")
    if not isinstance(answer, dict):
        path = Path(answer)
        source, base = str(path), path.parent
        answer = read_json(path)
        if not isinstance(answer, dict):
            raise ValueError(f"{path}: must be a JSON object with field 'significance'")
    z = _number(answer, "significance", source, required=True)
    if z is not None and z < 0:
        raise ValueError(f"{source}: field 'significance' must be >= 0, got {z}")
    mass = _number(answer, "mass", source, required=False)
    sigma = _number(answer, "mass_uncertainty", source, required=mass is not None)
    if mass is not None and not (sigma is not None and sigma > 0):
        raise ValueError(f"{source}: field 'mass_uncertainty' must be > 0, got {sigma}")
    scores = answer.get("scores")
    if scores is not None and not isinstance(scores, str):
        raise ValueError(f"{source}: field 'scores' must be a file name, got {scores!r}")
    if scores is not None and (Path(scores).is_absolute() or ".." in Path(scores).parts):
        # the scores file sits beside the answer: nothing outside its folder is read
        raise ValueError(f"{source}: field 'scores' must name a file beside the answer, got {scores!r}")
    return {"significance": z, "mass": mass, "mass_uncertainty": sigma, "scores": scores}, source, base


def read_box_truth(organiser_dir: str | Path) -> dict[str, Any]:
    """A black box's ``truth.json``: ``has_signal`` and, with a signal, ``m_wprime`` (TeV)."""
    path = Path(organiser_dir) / "truth.json"
    truth = read_json(path)
    if not isinstance(truth, dict) or not isinstance(truth.get("has_signal"), bool):
        raise ValueError(f"{path}: field 'has_signal' must be true or false")
    if truth["has_signal"]:
        mass = _number(truth, "m_wprime", str(path), required=True)
        if mass is not None and mass <= 0:
            raise ValueError(f"{path}: field 'm_wprime' must be > 0 (TeV), got {mass:g}")
    return truth


def score_answer(
    answer: dict[str, Any] | str | Path, organiser_dir: str | Path, *, min_background: float = MIN_BACKGROUND
) -> dict[str, Any]:
    """Compare an answer with the truth in ``organiser_dir``.

    Returns ``has_signal``, ``claimed`` (significance >= 3), ``detection_correct``, and with a
    signal: ``mass_error`` (TeV), ``mass_pull`` ((mass - true) / uncertainty),
    ``mass_within_1sigma``, ``mass_within_2sigma``; with per-event scores and a signal: the
    anomaly metrics (``auc``, ``max_sic`` over cuts keeping at least ``min_background``
    background events...) of the scores against the data's truth labels.
    """
    checked, _, base = read_answer(answer)
    organiser_dir = Path(organiser_dir)
    truth = read_box_truth(organiser_dir)
    z, mass, sigma = checked["significance"], checked["mass"], checked["mass_uncertainty"]
    claimed = z >= EVIDENCE_Z
    out: dict[str, Any] = {
        "has_signal": truth["has_signal"],
        "significance": z,
        "claimed": claimed,
        "detection_correct": claimed == truth["has_signal"],
    }
    if truth["has_signal"] and mass is not None:
        pull = (mass - truth["m_wprime"]) / sigma
        out.update(
            mass_error=abs(mass - truth["m_wprime"]),
            mass_pull=pull,
            mass_within_1sigma=abs(pull) <= 1.0,
            mass_within_2sigma=abs(pull) <= 2.0,
        )
    if checked["scores"] is not None:
        labels = read_table(organiser_dir / "data_truth.parquet")[LABEL].to_numpy()
        scores = _read_scores(base / checked["scores"], len(labels))
        if truth["has_signal"]:
            out.update(anomaly_metrics(labels, scores, min_background=min_background))
    return out
