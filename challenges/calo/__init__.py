"""Calorimeter fast simulation: learn a surrogate of calorimeter showers (CaloChallenge 2022 formats)."""
