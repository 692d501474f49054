"""Toy regression: a hepbench challenge provided by a package of its own (entry point
``hepbench.challenges``). numpy only."""

__version__ = "0.1.0"
