"""Toy regression as a :class:`hepbench.challenges.base.Challenge`.

Submissions get ``train_x.npy``, ``train_y.npy`` and ``test_x.npy`` (float64) with
``metadata.json`` in ``/input`` and write ``/output/predictions.npy``: one prediction per row of
``test_x.npy``. They are ranked by the RMSE against the hidden test targets (lower is better);
R² and the MAE are shown beside it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from hepbench.challenges.base import Challenge, MetricColumn, RankingMetric, check_options
from hepbench.challenges.outputs import OutputError, read_npy_output
from hepbench.records import Score

from . import data

PREDICTIONS = "predictions.npy"
TRUTH_FILE = "truth.npz"
DEFAULT_BOOTSTRAP = 200


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of ``y_pred`` against ``y_true`` (both shape (n,))."""
    residual = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": 1.0 - float(np.sum(residual**2)) / total if total > 0 else float("nan"),
    }


def bootstrap_rmse_std(y_true: np.ndarray, y_pred: np.ndarray, n_bootstrap: int, seed: int = 0) -> float | None:
    """Standard deviation of the RMSE over ``n_bootstrap`` resamplings of the test rows."""
    if n_bootstrap < 2:
        return None
    rng = np.random.default_rng(seed)
    squared = (y_pred - y_true) ** 2
    index = rng.integers(0, len(squared), size=(n_bootstrap, len(squared)))
    return float(np.sqrt(squared[index].mean(axis=1)).std(ddof=1))


def _truth_targets(truth: Path) -> np.ndarray:
    """The hidden test targets: the organiser folder of :meth:`write_inputs` or its ``truth.npz``."""
    path = truth / TRUTH_FILE if truth.is_dir() else truth
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the hidden truth of toy-regression is missing")
    with np.load(path, allow_pickle=False) as npz:
        return np.asarray(npz["y_test"], dtype=np.float64)


def read_predictions(outputs: Path, n_rows: int) -> np.ndarray:
    """``predictions.npy`` in an output folder (or a ``.npy`` file itself), validated: numeric,
    shape (n_rows,), finite; otherwise ``OutputError`` naming the file."""
    outputs = Path(outputs)
    folder, name = (outputs, PREDICTIONS) if outputs.is_dir() else (outputs.parent, outputs.name)
    return read_npy_output(folder, name, (n_rows,), "one prediction per row of test_x.npy")


class ToyRegression(Challenge):
    id = "toy-regression"
    title = "Toy regression"
    description = (
        "Predict a noisy, mildly non-linear function of five Gaussian features; "
        "ranked by the RMSE on hidden test targets."
    )
    presets = tuple(data.PRESETS)
    ranking = (RankingMetric("rmse", False, "root-mean-square error on the hidden test targets", "RMSE"),)
    columns = (MetricColumn("r2", "R²"), MetricColumn("mae", "MAE"))
    baseline_registry = "hepbench_toy_challenge.baselines:BASELINES"
    template_package = "hepbench_toy_challenge"
    score_options = ("n_bootstrap",)

    # -- data -----------------------------------------------------------------------------------
    def generate(self, preset: str, seed: int, out: Path, *, client: Any = None) -> dict[str, Any]:
        self.check_preset(preset)
        return data.write_dataset(data.generate_dataset(preset, seed), Path(out))

    def load(self, folder: Path) -> data.ToyDataset:
        return data.load_dataset(Path(folder))

    def is_generated(self, folder: Path) -> bool:
        return data.is_generated(Path(folder))

    def ensure_data(self, preset: str, seed: int, data_dir: Path | None = None, **options: Any) -> data.ToyDataset:
        dataset = super().ensure_data(preset, seed, data_dir)
        if (dataset.preset, dataset.seed) != (preset, seed):
            raise ValueError(
                f"{data_dir} holds preset {dataset.preset!r} seed {dataset.seed}, not {preset!r} seed {seed}"
            )
        return dataset

    # -- baselines ------------------------------------------------------------------------------
    def run_baseline(
        self,
        method: str,
        *,
        preset: str = "small",
        seed: int = 0,
        data_dir: Path | None = None,
        size: str | None = None,
        device: str = "auto",
        model_seed: int | None = None,
        progress: bool = True,
        scheduler: str = "serial",
        workers: int | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Fit ``method`` on the training split and score its test predictions (numpy, CPU)."""
        check_options(self, options, ())
        baseline = self.baseline(method)
        dataset = self.ensure_data(preset, seed, data_dir)
        model_seed = seed if model_seed is None else model_seed
        model = baseline.factory(size or preset, "cpu", model_seed)
        start = time.perf_counter()
        model.fit(dataset.x_train, dataset.y_train)
        train_seconds = time.perf_counter() - start
        prediction = np.asarray(model.predict(dataset.x_test), dtype=np.float64).reshape(-1)
        if prediction.shape != dataset.y_test.shape or not np.all(np.isfinite(prediction)):
            raise ValueError(f"{method}: expected {len(dataset.y_test)} finite predictions")
        score = self._score_arrays(dataset.y_test, prediction, DEFAULT_BOOTSTRAP)
        return score.record(
            method,
            preset=preset,
            data_seed=dataset.seed,
            size=size or preset,
            model_seed=model_seed,
            device="cpu",
            train_seconds=train_seconds,
            n_train=int(len(dataset.y_train)),
        )

    # -- submissions ----------------------------------------------------------------------------
    def write_inputs(
        self, input_dir: Path, organiser_dir: Path, *, preset: str = "tiny", seed: int = 0, data_dir: Path | None = None
    ) -> dict[str, Any]:
        """The public arrays to ``input_dir``; the test targets to ``organiser_dir/truth.npz``."""
        input_dir, organiser_dir = Path(input_dir), Path(organiser_dir)
        dataset = self.load(data_dir) if data_dir is not None else data.generate_dataset(preset, seed)
        input_dir.mkdir(parents=True, exist_ok=True)
        organiser_dir.mkdir(parents=True, exist_ok=True)
        organiser_dir.chmod(0o700)
        np.save(input_dir / "train_x.npy", dataset.x_train)
        np.save(input_dir / "train_y.npy", dataset.y_train)
        np.save(input_dir / "test_x.npy", dataset.x_test)
        metadata = {
            "challenge": self.id,
            "n_features": int(dataset.x_train.shape[1]),
            "files": {"train_x": "train_x.npy", "train_y": "train_y.npy", "test_x": "test_x.npy"},
            "n_train": int(len(dataset.y_train)),
            "n_test": int(len(dataset.y_test)),
            "outputs": {"predictions": PREDICTIONS},
        }
        (input_dir / "metadata.json").write_text(json.dumps(metadata, indent=1))
        np.savez(organiser_dir / TRUTH_FILE, y_test=dataset.y_test)
        summary = {
            "preset": dataset.preset,
            "data_seed": dataset.seed,
            "n_train": int(len(dataset.y_train)),
            "n_test": int(len(dataset.y_test)),
        }
        (organiser_dir / "inputs.json").write_text(json.dumps(summary, indent=1))
        return summary

    def read_outputs(self, output_dir: Path, organiser_dir: Path) -> np.ndarray:
        return read_predictions(Path(output_dir), len(_truth_targets(Path(organiser_dir))))

    def check_submission(self, outputs: Path, truth: Path | None = None) -> None:
        """At submission: ``predictions.npy`` (or the submitted ``.npy`` file) must be a numeric
        numpy array with one axis; its length is checked against the truth when it is scored."""
        outputs = Path(outputs)
        path = outputs / PREDICTIONS if outputs.is_dir() else outputs
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                reader = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = reader(handle)
        except (ValueError, OSError, SyntaxError) as err:
            raise OutputError(f"{path.name}: not a numpy .npy file ({err})") from None
        if dtype.kind not in "biuf" or len(shape) != 1:
            raise OutputError(
                f"{path.name}: {dtype} array of shape {tuple(shape)}; expected one number per row of test_x.npy"
            )

    def describe_outputs(self, outputs: Any) -> str:
        return f"{len(outputs)} finite predictions, schema valid"

    def score(self, outputs: Path, truth: Path | None, **options: Any) -> Score:
        """``predictions.npy`` (an output folder, or the file itself) against the hidden targets (the
        organiser folder of :meth:`write_inputs`, or its ``truth.npz``): RMSE with its bootstrap
        error, R², MAE. ``n_bootstrap`` (default 200) resamplings of the test rows."""
        check_options(self, options, self.score_options)
        if truth is None:
            raise ValueError("toy-regression scoring needs the organiser's truth folder (or its truth.npz)")
        y_true = _truth_targets(Path(truth))
        y_pred = read_predictions(Path(outputs), len(y_true))
        return self._score_arrays(y_true, y_pred, int(options.get("n_bootstrap", DEFAULT_BOOTSTRAP)))

    def _score_arrays(self, y_true: np.ndarray, y_pred: np.ndarray, n_bootstrap: int) -> Score:
        metrics = regression_metrics(y_true, y_pred)
        return Score(
            self.id,
            metrics=metrics,
            errors={"rmse": bootstrap_rmse_std(y_true, y_pred, n_bootstrap)},
            details={"n_test": int(len(y_true)), "n_bootstrap": n_bootstrap},
        )


CHALLENGE = ToyRegression()

__all__ = ["CHALLENGE", "OutputError", "PREDICTIONS", "ToyRegression", "read_predictions", "regression_metrics"]
