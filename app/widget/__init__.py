"""The playground in a notebook: anywidget widgets driven by app.ml in the kernel, drawn by static/js's
figures.

    from app.widget import Playground

    w = Playground(surface="himmelblau", optimizers=["sgd", "adam"])
    w            # the cell shows the contour, paths, loss plot and controls; press Play (or w.play())
    w.traces     # {run id: {"step": array, "x": array, "y": array, "loss": array, ...}}

    from app.widget import NetworkPlayground

    n = NetworkPlayground("circle", hidden=[8], optimizer="adam", epochs=50)  # the API's network fields
    n.traces["network"]  # {"epoch": array, "train_loss": array, "val_loss": array, ...}

Needs the ``notebook`` extra (``pip install -e '.[notebook]'``: anywidget, JupyterLab).
"""

from app.widget.network import NetworkPlayground
from app.widget.surface import Playground

__all__ = ["NetworkPlayground", "Playground"]
