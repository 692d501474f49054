"""Baselines of every challenge: ``<challenge>/`` holds one module per method and the registry; ``base.py`` what they share."""
