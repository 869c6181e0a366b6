"""Gradient-descent playground: a NumPy core (app.ml) served by a thin FastAPI layer (app.web)."""

__version__ = "0.1.0"
