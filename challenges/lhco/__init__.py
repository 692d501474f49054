"""LHC Olympics 2020 resonant anomaly detection: find a dijet resonance without labels."""
