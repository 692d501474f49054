"""Baselines of calorimeter fast simulation: one module per method, and ``registry.py`` naming them."""
