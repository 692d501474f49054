"""Evaluation of generated calorimeter showers, after the CaloChallenge 2022 ``evaluate.py``.

Inputs are (N,) incident energies and (N, n_voxels) showers in MeV of one ``Geometry``. Metrics:
high-level features and their separation powers, a binary classifier reference vs generated (AUC,
JSD), FPD and KPD on the high-level features (as in jetnet), a multiclass classifier over several
models, and generation timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import roc_auc_score


class Geometry(Protocol):
    """The voxel geometry the metrics need (``hepbench.challenges.calo.geometry.Geometry`` is one):
    its name (``dataset_1_photons``, ``dataset_2``, ...), the number of voxels, the (z, r, alpha)
    centre of every voxel in mm and rad, and each layer's slice of the voxel axis."""

    name: str

    @property
    def n_voxels(self) -> int: ...

    def voxel_centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def layer_slices(self) -> dict[int, slice]: ...


DS1_THRESHOLD_MEV = 1.0
"""Voxel threshold of the evaluation for data set 1."""
DS23_THRESHOLD_MEV = 0.5e-3 / 0.033
"""0.5 keV visible in silicon, in the stored (sampling-fraction corrected) units of data sets 2 and 3."""


def evaluation_threshold(geometry: Geometry) -> float:
    return DS1_THRESHOLD_MEV if geometry.name.startswith("dataset_1") else DS23_THRESHOLD_MEV


def apply_threshold(showers: np.ndarray, threshold_mev: float) -> np.ndarray:
    """Copy of ``showers`` with voxels below ``threshold_mev`` set to 0."""
    out = np.array(showers, dtype=np.float64)
    out[out < threshold_mev] = 0.0
    return out


# --- high-level features ----------------------------------------------------------------------
def _checked_showers(
    geometry: Geometry, incident_energy: np.ndarray, showers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Incident energies (N,) and showers (N, n_voxels) as float64, or one error naming the shapes."""
    energy = np.asarray(incident_energy, dtype=np.float64).reshape(-1)
    showers = np.asarray(showers, dtype=np.float64)
    if showers.shape != (len(energy), geometry.n_voxels):
        raise ValueError(
            f"showers must be ({len(energy)}, {geometry.n_voxels}) for {geometry.name}, got {showers.shape}"
        )
    return energy, showers


def high_level_features(geometry: Geometry, incident_energy: np.ndarray, showers: np.ndarray) -> dict[str, np.ndarray]:
    """Per shower (N,) features: ``etot_einc``, then per active layer L ``e_L`` (MeV), energy-weighted
    centre ``ec_x_L``, ``ec_y_L``, ``ec_r_L`` (mm; x = r cos alpha ~ eta, y = r sin alpha ~ phi),
    widths ``width_x_L``, ``width_y_L``, ``width_r_L`` (mm) and ``sparsity_L`` (fraction of voxels
    with energy). Layers without energy get centre and width 0, as the anchor's nan_to_num does."""
    energy, showers = _checked_showers(geometry, incident_energy, showers)
    _, r, alpha = geometry.voxel_centres()
    x, y = r * np.cos(alpha), r * np.sin(alpha)
    feats = {"etot_einc": showers.sum(axis=1) / energy}
    for layer_id, sl in geometry.layer_slices().items():
        e = showers[:, sl]
        e_layer = e.sum(axis=1)
        feats[f"e_{layer_id}"] = e_layer
        safe = np.where(e_layer > 0, e_layer, 1.0)
        for name, coord in (("x", x[sl]), ("y", y[sl]), ("r", r[sl])):
            mean = e @ coord / safe
            second = e @ coord**2 / safe
            feats[f"ec_{name}_{layer_id}"] = np.where(e_layer > 0, mean, 0.0)
            feats[f"width_{name}_{layer_id}"] = np.where(e_layer > 0, np.sqrt(np.maximum(second - mean**2, 0.0)), 0.0)
        feats[f"sparsity_{layer_id}"] = (e > 0).mean(axis=1)
    return feats


def separation_power(h1: np.ndarray, h2: np.ndarray) -> float:
    """S = 1/2 sum (h1 - h2)^2 / (h1 + h2) over the histograms normalised to unit sum (0 .. 1)."""
    h1 = np.asarray(h1, dtype=np.float64)
    h2 = np.asarray(h2, dtype=np.float64)
    if h1.shape != h2.shape or h1.sum() <= 0 or h2.sum() <= 0:
        raise ValueError("separation_power needs two non-empty histograms of the same binning")
    h1, h2 = h1 / h1.sum(), h2 / h2.sum()
    denom = h1 + h2
    nonzero = denom > 0
    return float(0.5 * np.sum((h1[nonzero] - h2[nonzero]) ** 2 / denom[nonzero]))


def feature_bins(reference: np.ndarray, n_bins: int = 50) -> np.ndarray:
    """Equal-width bins over the reference's 0.1 .. 99.9 % range, with open under/overflow bins."""
    lo, hi = np.quantile(reference, [0.001, 0.999])
    if hi <= lo:
        hi = lo + max(abs(lo), 1.0) * 1e-6
    return np.concatenate([[-np.inf], np.linspace(lo, hi, n_bins + 1), [np.inf]])


def separation_powers(
    reference: dict[str, np.ndarray], generated: dict[str, np.ndarray], n_bins: int = 50
) -> dict[str, float]:
    """Separation power of each high-level feature's histogram, reference binning."""
    out = {}
    for name, ref in reference.items():
        bins = feature_bins(ref, n_bins)
        out[name] = separation_power(np.histogram(ref, bins)[0], np.histogram(generated[name], bins)[0])
    return out


# --- FPD / KPD (jetnet) -------------------------------------------------------------------------
def scale_by_reference(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Divide every feature by the maximum |value| it takes in the reference."""
    scale = np.max(np.abs(reference), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return [reference / scale, *(o / scale for o in others)]


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _frechet(x: np.ndarray, y: np.ndarray) -> float:
    """|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)); tr (C1 C2)^(1/2) from the symmetric
    C1^(1/2) C2 C1^(1/2), which stays well defined when a feature is constant."""
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    c1, c2 = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    s1 = _psd_sqrt(c1)
    tr_covmean = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(s1 @ c2 @ s1), 0.0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * tr_covmean)


def fpd(
    reference: np.ndarray,
    generated: np.ndarray,
    *,
    min_samples: int | None = None,
    max_samples: int = 50_000,
    n_points: int = 10,
    n_batches: int = 10,
    seed: int = 0,
) -> tuple[float, float]:
    """Frechet physics distance extrapolated to infinite sample size, with its fit uncertainty.

    As jetnet's ``fpd``: the Frechet distance is averaged over ``n_batches`` random subsets at
    ``n_points`` sizes between ``min_samples`` and ``max_samples``, and a straight line in 1/N
    is fitted; the intercept is the value at N -> infinity. Inputs are (N, d) feature matrices.
    """
    rng = np.random.default_rng(seed)
    n_max = min(max_samples, len(reference), len(generated))
    n_min = min_samples or max(2, n_max // 4)
    sizes = np.linspace(n_min, n_max, n_points).astype(int)
    values = []
    for n in sizes:
        vals = [
            _frechet(
                reference[rng.choice(len(reference), n, replace=False)],
                generated[rng.choice(len(generated), n, replace=False)],
            )
            for _ in range(n_batches)
        ]
        values.append(np.mean(vals))
    (slope, intercept), cov = np.polyfit(1.0 / sizes, values, 1, cov=True)
    return float(intercept), float(np.sqrt(cov[1, 1]))


def _mmd_poly_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 4, (y @ y.T / d + 1) ** 4, (x @ y.T / d + 1) ** 4
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def kpd(
    reference: np.ndarray, generated: np.ndarray, *, n_batches: int = 10, batch_size: int = 5000, seed: int = 0
) -> tuple[float, float]:
    """Kernel physics distance: median over batches of the unbiased MMD^2 with the kernel
    (x.y / d + 1)^4, and half the interquartile range, as jetnet's ``kpd``."""
    rng = np.random.default_rng(seed)
    size = min(batch_size, len(reference), len(generated))
    vals = [
        _mmd_poly_unbiased(
            reference[rng.choice(len(reference), size, replace=False)],
            generated[rng.choice(len(generated), size, replace=False)],
        )
        for _ in range(n_batches)
    ]
    q25, q50, q75 = np.percentile(vals, [25, 50, 75])
    return float(q50), float((q75 - q25) / 2)


# --- classifiers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassifierConfig:
    """An evaluation classifier. The default is the anchor's (``evaluate.py``): an input layer
    and two hidden layers of 2048 (``n_layers`` counts all three), LeakyReLU, no dropout, Adam
    2e-4, batch 1000, 50 epochs, float64."""

    hidden: int = 2048
    n_layers: int = 3
    learning_rate: float = 2e-4
    batch_size: int = 1000
    epochs: int = 50
    dropout: float = 0.0
    float64: bool = True


CLASSIFIER_SIZES = {
    "tiny": ClassifierConfig(hidden=64, n_layers=2, learning_rate=2e-3, batch_size=64, epochs=20, float64=False),
    "small": ClassifierConfig(hidden=256, n_layers=3, learning_rate=5e-4, batch_size=500, epochs=20, float64=False),
    "full": ClassifierConfig(),
}
"""Every size takes the same inputs (:func:`low_level_inputs`, :func:`high_level_inputs`), split and
calibration; ``tiny`` and ``small`` shrink the network and the epochs for small data sets."""

ANCHOR_SPLIT_SIZES: dict[str, tuple[int, int]] = {
    "dataset_1_photons": (80_000, 20_000),
    "dataset_1_pions": (80_000, 20_000),
    "dataset_2": (60_000, 20_000),
    "dataset_3": (60_000, 20_000),
}
"""Showers per class in the anchor's train and test splits of the official evaluation files (the
validation split is the rest: 21,000, 20,800, 20,000, 20,000)."""


def classifier_config(config: ClassifierConfig | str) -> ClassifierConfig:
    """A :class:`ClassifierConfig`, or the one :data:`CLASSIFIER_SIZES` names."""
    return CLASSIFIER_SIZES[config] if isinstance(config, str) else config


def low_level_inputs(
    incident_energy: np.ndarray, showers: np.ndarray, dtype: type[np.floating] = np.float64
) -> np.ndarray:
    """(N, 1 + n_voxels): [log10(E_inc / MeV), voxel energies / E_inc], as the anchor's
    ``prepare_low_data_for_classifier`` (the evaluation threshold is applied to ``showers`` before).
    Computed in float64 and stored as ``dtype`` (float32 for a float32 classifier: the same
    values it would cast them to, in half the memory)."""
    energy = np.asarray(incident_energy, dtype=np.float64).reshape(-1, 1)
    showers = np.asarray(showers)
    out = np.empty((len(energy), 1 + showers.shape[1]), dtype=dtype)  # one copy, not two
    out[:, :1] = np.log10(energy)
    np.divide(showers, energy, out=out[:, 1:])
    return out


def high_level_inputs(geometry: Geometry, incident_energy: np.ndarray, showers: np.ndarray) -> np.ndarray:
    """(N, d) high-level inputs in the column order of the anchor's ``prepare_high_data_for_classifier``.

    Columns: log10(E_inc / MeV); log10(E_layer / MeV + 1e-8) of every active layer; for the
    layers binned in alpha only, the centres of energy in eta (r cos alpha) and phi (r sin alpha)
    / 100, then their widths / 100; log10(E_tot / MeV + 1e-8); the sparsity (fraction of voxels
    without energy) of every active layer; the centre of energy and the width in r / 100 (mm / 100)
    of every active layer. Centres and widths divide by (layer energy + 1e-16), so an empty layer
    gives 0. ``showers`` have the evaluation threshold applied already.
    """
    energy, showers = _checked_showers(geometry, incident_energy, showers)
    _, r, alpha = geometry.voxel_centres()
    eta, phi = r * np.cos(alpha), r * np.sin(alpha)
    slices = geometry.layer_slices()
    binned_in_alpha = [layer_id for layer_id, sl in slices.items() if len(np.unique(alpha[sl])) > 1]

    def centre_and_width(coord: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = e.sum(axis=1) + 1e-16
        mean = e @ coord / total
        return mean, np.sqrt(np.clip(e @ coord**2 / total - mean**2, 0.0, None))

    e_layer = [showers[:, sl].sum(axis=1) for sl in slices.values()]
    eta_c: list[np.ndarray] = []
    eta_w: list[np.ndarray] = []
    phi_c: list[np.ndarray] = []
    phi_w: list[np.ndarray] = []
    for layer_id in binned_in_alpha:
        sl = slices[layer_id]
        for coord, centres, widths in ((eta, eta_c, eta_w), (phi, phi_c, phi_w)):
            c, w = centre_and_width(coord[sl], showers[:, sl])
            centres.append(c)
            widths.append(w)
    sparsity = [1.0 - (showers[:, sl] > 0).mean(axis=1) for sl in slices.values()]
    r_c, r_w = zip(*(centre_and_width(r[sl], showers[:, sl]) for sl in slices.values()))
    columns = [
        [np.log10(energy)],
        [np.log10(e + 1e-8) for e in e_layer],
        [c / 1e2 for c in eta_c],
        [c / 1e2 for c in phi_c],
        [w / 1e2 for w in eta_w],
        [w / 1e2 for w in phi_w],
        [np.log10(showers.sum(axis=1) + 1e-8)],
        sparsity,
        [c / 1e2 for c in r_c],
        [w / 1e2 for w in r_w],
    ]
    return np.column_stack([col for group in columns for col in group])


def _train_mlp(x_train, y_train, x_test, y_test, n_classes: int, config: ClassifierConfig, seed: int, device: str):
    """``n_classes`` 1 is a binary classifier (one sigmoid output), else a softmax over the classes.
    Trained with the shared loop on the raw inputs (no standardisation, as the anchor); the weights
    of the first epoch with the best test accuracy are kept, and training stops once the test
    accuracy is 1. Returns a predict function (probabilities)."""
    import torch

    from ..torch_common import fit, mlp

    torch.manual_seed(seed)
    dtype = torch.float64 if config.float64 else torch.float32
    model = mlp(
        x_train.shape[1],
        [config.hidden] * config.n_layers,
        n_classes,
        activation=torch.nn.LeakyReLU,
        dropout=config.dropout,
    ).to(device=device, dtype=dtype)
    xt = torch.as_tensor(x_train, dtype=dtype, device=device)
    yt = torch.as_tensor(y_train, device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss() if n_classes == 1 else torch.nn.CrossEntropyLoss()

    def predict(x: np.ndarray) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            out = torch.cat(
                [
                    model(torch.as_tensor(x[i : i + 10_000], dtype=dtype, device=device))
                    for i in range(0, max(len(x), 1), 10_000)
                ]
            )
            prob = torch.sigmoid(out[:, 0]) if n_classes == 1 else torch.softmax(out, dim=1)
        return prob.cpu().numpy().astype(np.float64)

    def loss(xb, yb):
        out = model(xb)
        return loss_fn(out[:, 0], yb.to(dtype)) if n_classes == 1 else loss_fn(out, yb.long())

    def test_error() -> float:
        prob = predict(x_test)
        pred = np.round(prob).astype(int) if n_classes == 1 else prob.argmax(axis=1)
        return -float((pred == y_test).mean())

    result = fit(
        model,
        loss,
        [xt, yt],
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=seed,
        validation=test_error,
        stop_at=-1.0,
    )
    model.load_state_dict(result.best[0][2])
    return predict


def split_per_class(
    n: int, rng: np.random.Generator, sizes: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / test / validation indices of one class of ``n`` rows, shuffled: ``sizes`` (train,
    test) with the rest for validation when the class has more rows than those (the anchor's
    official split), else 60 / 20 / 20 % (the anchor's default)."""
    order = rng.permutation(n)
    if sizes is not None and n > sizes[0] + sizes[1]:
        a, b = sizes[0], sizes[0] + sizes[1]
    else:
        a, b = int(0.6 * n), int(0.6 * n) + int(0.2 * n)
    return order[:a], order[a:b], order[b:]


def _stack_split(
    classes: list[np.ndarray],
    rng: np.random.Generator,
    sizes: tuple[int, int] | None = None,
    rows: list[np.ndarray] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Split every class (label = its index) as :func:`split_per_class`; (x, y) of train, test,
    validation, shuffled. ``rows``: per class, the rows of its array that form it (default all).

    Each split is gathered once from the class arrays: the inputs of DS2 are 2.6 GB per 50,000
    showers, and stacking then shuffling copies would hold three times that."""
    rows = [np.arange(len(x)) for x in classes] if rows is None else rows
    per_class = [[r[idx] for idx in split_per_class(len(r), rng, sizes)] for r in rows]
    out = []
    for k in range(3):
        labels = np.concatenate(
            [np.full(len(split[k]), label, dtype=np.int64) for label, split in enumerate(per_class)]
        )
        source = np.concatenate([split[k] for split in per_class])
        order = rng.permutation(len(labels))
        labels, source = labels[order], source[order]
        x = np.empty((len(labels), classes[0].shape[1]), dtype=np.result_type(*classes))
        for label, data in enumerate(classes):
            mask = labels == label
            x[mask] = data[source[mask]]
        out.append((x, labels))
    return tuple(out)


def classifier_test(
    reference: np.ndarray,
    generated: np.ndarray,
    *,
    config: ClassifierConfig | str = "tiny",
    n_runs: int = 1,
    seed: int = 0,
    device: str = "auto",
    split_sizes: tuple[int, int] | None = None,
) -> dict[str, float]:
    """Binary classifier reference (label 1) vs generated (label 0) on (N, d) inputs, as the anchor.

    Both classes are cut to the same size; per run each class is split into train / test /
    validation (:func:`split_per_class` with ``split_sizes``), the network is trained keeping the
    epoch with the best test accuracy, its sigmoid output is calibrated by isotonic regression
    (clipped to [1e-6, 1 - 1e-6]) on the test split, and AUC and JSD = (ln 2 - BCE) / ln 2 are
    measured on the validation split. Returns mean and std over ``n_runs`` trainings (training
    seeds ``seed * 1000 + run``).
    """
    from ..torch_common import resolve_device

    config = classifier_config(config)
    device = resolve_device(device)
    n = min(len(reference), len(generated))
    rng = np.random.default_rng(seed)
    generated, reference = np.asarray(generated), np.asarray(reference)
    rows = [rng.permutation(len(generated))[:n], rng.permutation(len(reference))[:n]]
    aucs, jsds = [], []
    for run in range(n_runs):
        (x_tr, y_tr), (x_te, y_te), (x_va, y_va) = _stack_split(
            [generated, reference], np.random.default_rng([seed, run]), split_sizes, rows
        )
        predict = _train_mlp(x_tr, y_tr, x_te, y_te, 1, config, seed * 1000 + run, device)
        iso = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip").fit(predict(x_te), y_te)
        p = iso.predict(predict(x_va))
        bce = -np.mean(y_va * np.log(p) + (1 - y_va) * np.log(1 - p))
        aucs.append(roc_auc_score(y_va, p))
        jsds.append((np.log(2) - bce) / np.log(2))
    return {
        "auc": float(np.mean(aucs)),
        "auc_std": float(np.std(aucs)),
        "jsd": float(np.mean(jsds)),
        "jsd_std": float(np.std(jsds)),
        "n_runs": n_runs,
        "n_per_class": n,
    }


@dataclass
class Multiclass:
    """A multiclass classifier over submitted models, evaluated on reference showers.

    ``log_posterior[name]`` = L_i, the mean over the reference showers of log p(model i | x)
    (higher is better; ln(1 / K) for K indistinguishable models). ``matrix[i][j]`` = mean of
    log p(model i | x) over the held-out (validation) showers of model j."""

    names: list[str]
    log_posterior: dict[str, float]
    matrix: list[list[float]]
    n_reference: int
    n_per_model: int

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "definition": (
                "log_posterior[i] = mean over held-out reference showers of log p(model i | x); "
                "matrix[i][j] = mean over model j's held-out showers of log p(model i | x); "
                "classifier trained on the models' showers only (no reference class)"
            ),
        }


def multiclass_scores(
    reference: np.ndarray,
    models: dict[str, np.ndarray],
    *,
    config: ClassifierConfig | str = "tiny",
    seed: int = 0,
    device: str = "auto",
) -> Multiclass:
    """One class per model and no reference class (the anchor's "multi cls"): trained on the
    models' (N_i, d) inputs only (cut to the smallest model, split 60 / 20 / 20 per class, best
    test accuracy kept), then evaluated on the (M, d) ``reference`` inputs, none of which it saw."""
    from ..torch_common import resolve_device

    config = classifier_config(config)
    device = resolve_device(device)
    names = list(models)
    if len(names) < 2:
        raise ValueError("the multiclass score needs at least two models")
    n = min(len(v) for v in models.values())
    rng = np.random.default_rng(seed)
    classes = [np.asarray(models[k])[rng.permutation(len(models[k]))[:n]] for k in names]
    (x_tr, y_tr), (x_te, y_te), (x_va, y_va) = _stack_split(classes, rng)
    predict = _train_mlp(x_tr, y_tr, x_te, y_te, len(names), config, seed, device)
    log_ref = np.log(np.clip(predict(np.asarray(reference)), 1e-12, 1.0))
    log_va = np.log(np.clip(predict(x_va), 1e-12, 1.0))
    matrix = [[float(log_va[y_va == j, i].mean()) for j in range(len(names))] for i in range(len(names))]
    return Multiclass(
        names=names,
        log_posterior={name: float(log_ref[:, i].mean()) for i, name in enumerate(names)},
        matrix=matrix,
        n_reference=len(reference),
        n_per_model=n,
    )


# --- timing ---------------------------------------------------------------------------------
def generation_timing(
    sample: Callable[[np.ndarray], object],
    incident_energy: np.ndarray,
    batch_sizes: tuple[int, ...] = (1, 100, 10_000),
    repeats: int = 5,
) -> dict[int, dict[str, float]]:
    """Wall time per shower (ms) of ``sample(incident_energy[:batch])``, mean and std over ``repeats``
    (after one untimed warm-up call); CUDA work is synchronised before the clock stops."""
    try:
        import torch

        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    except ImportError:  # pragma: no cover - torch is a dependency

        def sync():
            return None

    energy = np.asarray(incident_energy, dtype=np.float64).reshape(-1)
    out = {}
    for batch in batch_sizes:
        e = np.resize(energy, batch)
        sample(e)
        sync()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sample(e)
            sync()
            times.append((time.perf_counter() - start) / batch * 1e3)
        out[batch] = {"ms_per_shower": float(np.mean(times)), "ms_per_shower_std": float(np.std(times))}
    return out


@dataclass
class CaloScores:
    """Summary of one generated sample against the reference."""

    auc_low: float
    auc_low_std: float
    jsd_low: float
    auc_high: float
    auc_high_std: float
    jsd_high: float
    fpd: float
    fpd_err: float
    kpd: float
    kpd_err: float
    separation_power_mean: float
    separation_powers: dict[str, float]
    n_reference: int
    n_generated: int

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    geometry: Geometry,
    reference: tuple[np.ndarray, np.ndarray],
    generated: tuple[np.ndarray, np.ndarray],
    *,
    classifier: ClassifierConfig | str = "tiny",
    n_runs: int = 1,
    seed: int = 0,
    device: str = "auto",
    kpd_batch_size: int = 5000,
) -> CaloScores:
    """All metrics of a generated sample; ``reference`` and ``generated`` are (incident energy (N,),
    showers (N, n_voxels)) in MeV. The evaluation threshold is applied to both first."""
    threshold = evaluation_threshold(geometry)
    e_ref, s_ref = np.asarray(reference[0], dtype=np.float64).reshape(-1), apply_threshold(reference[1], threshold)
    e_gen, s_gen = np.asarray(generated[0], dtype=np.float64).reshape(-1), apply_threshold(generated[1], threshold)
    f_ref = high_level_features(geometry, e_ref, s_ref)
    f_gen = high_level_features(geometry, e_gen, s_gen)
    seps = separation_powers(f_ref, f_gen)
    # The anchor's classifier inputs, and its FPD / KPD inputs (the high-level classifier inputs,
    # scaled by the reference's largest |value| as jetnet does).
    high_ref, high_gen = high_level_inputs(geometry, e_ref, s_ref), high_level_inputs(geometry, e_gen, s_gen)
    dtype = np.float64 if classifier_config(classifier).float64 else np.float32
    low_ref, low_gen = low_level_inputs(e_ref, s_ref, dtype), low_level_inputs(e_gen, s_gen, dtype)
    del s_ref, s_gen  # 2.6 GB each for 50,000 DS2 showers; only the classifier inputs are needed now
    hl_ref, hl_gen = scale_by_reference(high_ref, high_gen)
    fpd_value, fpd_err = fpd(hl_ref, hl_gen, seed=seed)
    kpd_value, kpd_err = kpd(hl_ref, hl_gen, batch_size=kpd_batch_size, seed=seed)
    options: dict[str, Any] = {
        "config": classifier,
        "n_runs": n_runs,
        "seed": seed,
        "device": device,
        "split_sizes": ANCHOR_SPLIT_SIZES.get(geometry.name),
    }
    low = classifier_test(low_ref, low_gen, **options)
    high = classifier_test(high_ref, high_gen, **options)
    return CaloScores(
        auc_low=low["auc"],
        auc_low_std=low["auc_std"],
        jsd_low=low["jsd"],
        auc_high=high["auc"],
        auc_high_std=high["auc_std"],
        jsd_high=high["jsd"],
        fpd=fpd_value,
        fpd_err=fpd_err,
        kpd=kpd_value,
        kpd_err=kpd_err,
        separation_power_mean=float(np.mean(list(seps.values()))),
        separation_powers=seps,
        n_reference=len(e_ref),
        n_generated=len(e_gen),
    )


def feature_histograms(
    reference: dict[str, np.ndarray], generated: dict[str, np.ndarray], names: list[str], n_bins: int = 30
) -> dict[str, dict[str, list[float]]]:
    """Histograms of the high-level features ``names`` (see :func:`high_level_features`) of the
    reference and the generated showers in the reference's binning (0.1 .. 99.9 % range; values
    outside count in the first or last bin), for plots: ``{name: {"edges", "reference",
    "generated"}}`` with ``n_bins + 1`` edges and ``n_bins`` counts each; JSON-ready."""
    out = {}
    for name in names:
        edges = feature_bins(reference[name], n_bins)[1:-1]
        clip = (edges[0], edges[-1])
        out[name] = {
            "edges": edges.tolist(),
            "reference": np.histogram(np.clip(reference[name], *clip), edges)[0].astype(float).tolist(),
            "generated": np.histogram(np.clip(generated[name], *clip), edges)[0].astype(float).tolist(),
        }
    return out
