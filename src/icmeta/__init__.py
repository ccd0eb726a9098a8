"""icmeta: in-context meta-learning, a reproducible companion to Minegishi et al. (ICML 2025)."""

__version__ = "0.1.0"
