"""The comparison table's Markdown: rows, the coverage band, systematics-aware versus nominal."""

from __future__ import annotations

import numpy as np
import pytest

from hepbench.challenges.higgs_uncertainty.comparison import comparison_markdown, section_name, write_section
from hepbench.challenges.sections import section_markers


def record(method: str, coverage: float, width: float) -> dict:
    return {
        "method": method,
        "preset": "small",
        "data_seed": 0,
        "plan_seed": 0,
        "n_sets": 10,
        "n_pseudo_experiments": 100,
        "device": "cpu",
        "train_seconds": 12.0,
        "predict_seconds_mean": 0.1,
        "metrics": {
            "coverage_score": -0.1,
            "coverage": coverage,
            "width": width,
            "rmse": 0.5,
            "mae": 0.4,
            "auc": 0.9,
            "ams": 1.5,
            "n_failed": 0,
        },
    }


@pytest.fixture()
def section() -> str:
    records = [
        record("nn-deep-all-template-fit", 0.69, 1.2),
        record("nn-adversarial-template-fit", 0.70, 0.9),
        record("bdt-likelihood-ratio", 0.52, 0.8),
    ]
    return comparison_markdown(records, command="hepbench baseline compare higgs-uncertainty", machine="m", date="d")


def test_table_flags_coverage_outside_the_band(section) -> None:
    # N = 1000: the band is 0.6827 +- 2 x 0.0147 = [0.653, 0.712]
    assert "[0.653, 0.712]" in section
    row = next(line for line in section.splitlines() if line.startswith("| bdt-likelihood-ratio"))
    assert "**no**" in row
    assert "Outside the coverage band: bdt-likelihood-ratio." in section


def test_systematics_aware_width_ratio_is_computed(section) -> None:
    row = next(line for line in section.splitlines() if line.startswith("| nn-adversarial-template-fit | nn-deep-all"))
    assert "| 0.750 |" in row  # 0.9 / 1.2


def test_write_section_replaces_only_its_section(tmp_path, section) -> None:
    path = tmp_path / "results.md"
    path.write_text("# Results\n\nbefore\n")
    write_section(path, section)
    write_section(path, section.replace("0.750", "0.751"))
    text = path.read_text()
    begin, end = section_markers(section_name("small"))
    assert begin == "<!-- comparison:higgs-uncertainty:small:begin -->"
    assert text.count(begin) == 1 and text.count(end) == 1
    assert "before" in text and "0.751" in text and "0.750" not in text


def test_empty_results_are_an_error() -> None:
    with pytest.raises(ValueError, match="no results"):
        comparison_markdown([], command="c", machine="m", date="d")


def test_paired_width_ratio_uses_the_same_pseudo_experiments() -> None:
    from hepbench.challenges.higgs_uncertainty.comparison import paired_width_ratio

    a, b = record("a", 0.68, 0.9), record("b", 0.68, 1.0)
    widths_b = np.linspace(0.5, 1.5, 50)
    b["pseudo_experiments"] = [{"p16": 0.0, "p84": w} for w in widths_b]
    a["pseudo_experiments"] = [{"p16": 0.0, "p84": 0.9 * w} for w in widths_b]  # exactly 0.9 each time
    ratio, error = paired_width_ratio(a, b)
    assert ratio == pytest.approx(0.9) and error == pytest.approx(0.0, abs=1e-12)
    a["pseudo_experiments"] = [{"p16": 0.0, "p84": 0.9 * w + (0.1 if i % 2 else -0.1)} for i, w in enumerate(widths_b)]
    ratio, error = paired_width_ratio(a, b)
    assert 0.0 < error < 0.05
    del a["pseudo_experiments"]
    assert np.isnan(paired_width_ratio(a, b)[1])


def test_calibration_table_from_the_answers() -> None:
    # Two sets of two answered pseudo-experiments and one failed one, which has no interval.
    rows = [
        {"set_index": 0, "mu_true": 1.0, "mu_hat": 0.5, "p16": 0.0, "p84": 1.0, "status": "ok"},
        {"set_index": 0, "mu_true": 1.0, "mu_hat": 1.5, "p16": 0.5, "p84": 2.0, "status": "ok"},
        {"set_index": 1, "mu_true": 2.0, "mu_hat": 3.0, "p16": 2.5, "p84": 4.0, "status": "ok"},
        {"set_index": 1, "mu_true": 2.0, "mu_hat": 2.0, "p16": 1.5, "p84": 2.5, "status": "ok"},
        {"set_index": 1, "mu_true": 2.0, "mu_hat": np.nan, "p16": np.nan, "p84": np.nan, "status": "failed"},
    ]
    answered = dict(record("bdt-template-fit", 0.75, 1.25), pseudo_experiments=rows)
    section = comparison_markdown(
        [answered, record("nn-focal-template-fit", 0.7, 1.0)], command="c", machine="m", date="d"
    )
    row = next(line for line in section.splitlines() if line.startswith("| bdt-template-fit | +0.250"))
    # The failed answer is left out: offset +0.25; without it 2 of 4 cover; the sets cover 2/2
    # and 1/2; pulls -1, 0.5, 2, 0 (sd 1.25).
    assert "| 0.500 |" in row and "| 0.50 to 1.00 |" in row and "| 1.250 |" in row
    # A record without its answers gets no calibration row.
    assert not any(line.startswith("| nn-focal-template-fit | +") for line in section.splitlines())
