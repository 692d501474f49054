"""Named sizes of the LHC Olympics challenge: ``tiny`` (tests), ``small`` (demo), ``full`` (anchor).

A preset fixes the events of each file of a data set (see ``dataset``):

- ``data``: the unlabelled mixture, ``n_background`` QCD events over the full mjj range plus
  ``n_signal`` W' events. ``full`` is the anchor's 1M background with 1,000 signal events,
  S/B ~ 0.6% in the signal region with generator 2.0.0 (75% of the signal and 12.8% of the
  background fall in it; the anchor quotes ~0.6%); the smaller presets keep that ratio.
- ``background_reference``: independent background (the idealized detector's "perfect
  simulation"), as many events as the data's background.
- ``labelled``: signal and background with labels for the supervised upper bound.
- ``test``: labelled events inside the signal region for scoring (CATHODE: 20k signal and
  340k background).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    n_background: int
    n_signal: int
    n_reference: int
    labelled_signal: int
    labelled_background: int
    test_signal: int
    test_background: int
    description: str


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", 30_000, 30, 30_000, 2_000, 10_000, 2_000, 10_000, "unit tests: 30k background events"),
    "small": Preset(
        "small",
        200_000,
        200,
        200_000,
        20_000,
        60_000,
        10_000,
        60_000,
        "demo: 200k background events, a minute to generate and fit",
    ),
    "full": Preset(
        "full",
        1_000_000,
        1_000,
        1_000_000,
        100_000,
        500_000,
        20_000,
        340_000,
        "anchor size: 1M background, 1,000 signal events",
    ),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
