"""Baselines of HiggsML Uncertainty: one module per method, and ``registry.py`` naming them."""
