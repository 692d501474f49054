"""Baselines of LHC Olympics anomaly detection: one module per method, and ``registry.py`` naming them."""
