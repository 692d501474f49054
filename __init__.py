"""hepbench: benchmarks and challenges for machine learning in particle physics."""

__version__ = "0.1.0"
