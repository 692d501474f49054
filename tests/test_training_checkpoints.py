"""Per-epoch checkpoints of the one training loop: a training stopped after any epoch continues
where it stopped and ends exactly as the uninterrupted one (weights, history, kept epochs, the
random state after it), for a plain network, an adversarial classifier, a WGAN and the runs of
the LHCO and calorimeter challenges."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hepbench import challenges, reference_data
from hepbench.challenges.calo.geometry import read_binning_xml
from hepbench.challenges.calo.testing import sample_test_showers
from hepbench.checkpoints import resumable_run, training_checkpoints
from hepbench.torch_common import TrainingConfig, fit, mlp, train_classifier


def _regression(epochs_seen: list[int], *, learning_rate: float = 1e-2):
    torch.manual_seed(0)
    net = mlp(3, (16,), 1, dropout=0.1)  # dropout: the global random state matters
    x, y = torch.randn(300, 3), torch.randn(300, 1)

    def loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((net(a) - b) ** 2).mean()

    def on_epoch(record: dict) -> None:
        epochs_seen.append(int(record["epoch"]))
        record["root_loss"] = np.sqrt(np.float64(record["loss"]))  # a hook may add numpy scalars

    result = fit(
        net,
        loss,
        [x, y],
        epochs=6,
        batch_size=32,
        learning_rate=learning_rate,
        seed=1,
        cosine_decay=True,
        validation=lambda: loss(x, y),
        n_best=2,
        on_epoch=on_epoch,
    )
    return net, result, torch.rand(3)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_stopped_training_continues_at_its_next_epoch_and_ends_as_the_whole_one(
    tmp_path, stop_training_after
) -> None:
    seen: list[int] = []
    net, whole, after = _regression(seen)
    assert seen == list(range(6))

    stop_training_after(3)
    seen = []
    with pytest.raises(stop_training_after.error), training_checkpoints(tmp_path / "run"):
        _regression(seen)
    assert seen == [0, 1, 2]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["01-training.pt"]

    seen = []
    with training_checkpoints(tmp_path / "run") as store:
        net2, resumed, after2 = _regression(seen)
    assert seen == [3, 4, 5]  # epochs 0-2 were not trained again
    assert store is not None and store.resumed_seconds > 0
    assert _same_weights(net, net2)
    assert resumed.history == whole.history
    assert [(v, e) for v, e, _ in resumed.best] == [(v, e) for v, e, _ in whole.best]
    assert torch.equal(after, after2)  # what follows the training draws the same numbers

    # A finished training is not redone: its result comes back at once.
    seen = []
    with training_checkpoints(tmp_path / "run"):
        net3, again, after3 = _regression(seen)
    assert seen == [] and _same_weights(net, net3) and again.history == whole.history and torch.equal(after, after3)


def test_a_checkpoint_of_another_training_is_refused_naming_the_field(tmp_path, stop_training_after) -> None:
    stop_training_after(2)
    with pytest.raises(stop_training_after.error), training_checkpoints(tmp_path / "run"):
        _regression([])
    with (
        pytest.raises(ValueError, match="learning_rate = 0.01, this training has 0.02"),
        training_checkpoints(tmp_path / "run"),
    ):
        _regression([], learning_rate=2e-2)


def test_an_unreadable_checkpoint_is_one_clear_error(tmp_path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "01-training.pt").write_bytes(b"cut short")
    with (
        pytest.raises(ValueError, match=r"01-training.pt: not a readable training checkpoint .*; remove it"),
        training_checkpoints(tmp_path / "run"),
    ):
        _regression([])


def test_the_adversary_and_its_optimiser_are_part_of_the_checkpoint(tmp_path, stop_training_after) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(np.float32)
    nuisance = rng.normal(size=(400, 1)).astype(np.float32)
    config = TrainingConfig(epochs=4, batch_size=64, adversary_weight=1.0, fgsm_epsilon=0.05)

    def train() -> tuple[torch.nn.Module, list]:
        torch.manual_seed(5)
        net = mlp(4, (16,), 1)
        history = train_classifier(net, x, y, np.ones(400), config, nuisance=nuisance, device="cpu", seed=2)
        return net, history

    net, history = train()
    stop_training_after(2)
    with pytest.raises(stop_training_after.error), training_checkpoints(tmp_path / "run"):
        train()
    with training_checkpoints(tmp_path / "run"):
        net2, history2 = train()
    assert _same_weights(net, net2)
    assert history2 == history  # adversary losses included


def test_a_stopped_wgan_resumes_with_its_generator(tmp_path, stop_training_after) -> None:
    geometry = read_binning_xml(reference_data.path("calo-binning") / "binning_dataset_1_photons.xml")
    energy, showers = sample_test_showers(geometry, 300, seed=1)

    def train():
        model = challenges.get("calo").baseline("calo-gan").factory("tiny", "cpu", 0)
        model.epochs = 3
        return model.fit(energy, showers, geometry)

    whole = train()
    stop_training_after(1)
    with pytest.raises(stop_training_after.error), training_checkpoints(tmp_path / "run"):
        train()
    with training_checkpoints(tmp_path / "run"):
        resumed = train()
    assert _same_weights(whole.networks_, resumed.networks_)  # the generator too, not only the critic
    assert np.array_equal(whole.sample(energy[:50], seed=4), resumed.sample(energy[:50], seed=4))


def test_a_run_folder_is_claimed_refused_without_resume_and_removed_at_the_end(tmp_path, stop_training_after) -> None:
    folder = tmp_path / "run"
    identity = {"method": "x", "model_seed": 1}
    stop_training_after(1)
    with pytest.raises(stop_training_after.error), resumable_run(folder, identity, resume=False):
        _regression([])
    assert json.loads((folder / "identity.json").read_text()) == identity
    with (
        pytest.raises(ValueError, match="holds a stopped run; pass --resume"),
        resumable_run(folder, identity, resume=False),
    ):
        pass
    with (
        pytest.raises(ValueError, match="field 'model_seed' is 1 there but 2"),
        resumable_run(folder, {**identity, "model_seed": 2}, resume=True),
    ):
        pass
    with resumable_run(folder, identity, resume=True):
        _regression([])
    assert not folder.exists()
    with pytest.raises(ValueError, match="--resume needs --checkpoint"), resumable_run(None, identity, resume=True):
        pass


def _metrics_without_timing(record: dict) -> dict:
    return {k: v for k, v in record["metrics"].items() if "seconds" not in k and "per_shower" not in k}


@pytest.mark.slow
def test_lhco_cathode_stopped_inside_its_flow_resumes_to_the_same_record(tmp_path, stop_training_after) -> None:
    lhco = challenges.get("lhco")
    options = {"preset": "tiny", "seed": 3, "data_dir": tmp_path / "data", "device": "cpu", "progress": False}
    whole = lhco.run_baseline("cathode", **options)
    stop_training_after(3)  # inside the flow's training (8 epochs at the tiny size)
    with pytest.raises(stop_training_after.error):
        lhco.run_baseline("cathode", checkpoint=tmp_path / "ckpt", **options)
    assert (tmp_path / "ckpt" / "identity.json").exists()
    resumed = lhco.run_baseline("cathode", checkpoint=tmp_path / "ckpt", resume=True, **options)
    assert not (tmp_path / "ckpt").exists()
    assert resumed["metrics"] == whole["metrics"]
    assert resumed["sic_curve"] == whole["sic_curve"]
