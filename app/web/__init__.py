"""The web layer: FastAPI routes, request models and serialisation around the NumPy core."""
