"""Training speed of the NumPy networks: `python -m benchmarks.nets` prints epochs/s (and torch's too).

Targets (2-core dev machine, recording off, Adam): a 2-16-1 network on 700 points at batch 32
(22 iterations an epoch) ≥ 1,000 epochs/s; 2-16-16-1 on 1,000 points (32 iterations) ≥ 500 epochs/s.
Other processes (browser tests) may share the machine, so each figure is the best of several repeats.
"""

from __future__ import annotations

import itertools
import time

from app.ml.datasets import make_dataset
from app.ml.training import TrainConfig, TrainData, Training

CASES = (((16,), 700, 1_000), ((16, 16), 1_000, 500))


def _data(n: int) -> TrainData:
    return TrainData.from_dataset(make_dataset("circle", n), val_fraction=0.0)


def numpy_rate(hidden: tuple[int, ...], n: int, epochs: int, repeats: int) -> float:
    """Epochs per second of Training with recording off (the best of ``repeats`` runs)."""
    data, best = _data(n), 0.0
    for _ in range(repeats):
        config = TrainConfig(
            hidden=hidden,
            optimizer="adam",
            hyperparameters={"lr": 0.01},
            epochs=epochs,
            batch_size=32,
            record="none",
        )
        training = Training(config, data)
        t0 = time.perf_counter()
        for _ in training:
            pass
        best = max(best, epochs / (time.perf_counter() - t0))
    return best


def torch_rate(hidden: tuple[int, ...], n: int, epochs: int, repeats: int) -> float | None:
    """The same training in torch (float64, DataLoader-free index batching, one thread), or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    data = _data(n)
    x = torch.from_numpy(data.X_train)
    y = torch.from_numpy(data.y_train.astype(float)).reshape(-1, 1)
    best = 0.0
    for _ in range(repeats):
        sizes = (2, *hidden)
        layers: list[torch.nn.Module] = []
        for a, b in itertools.pairwise(sizes):
            layers += [torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], 1, dtype=torch.float64))
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        t0 = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(n)
            for start in range(0, n, 32):
                idx = order[start : start + 32]
                opt.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
        best = max(best, epochs / (time.perf_counter() - t0))
    return best


def nets_rows(quick: bool) -> list[tuple[str, str, str]]:
    """The figures as (name, measured, target) rows for benchmarks.run."""
    repeats, epochs = (2, 100) if quick else (5, 300)
    rows: list[tuple[str, str, str]] = []
    for hidden, n, target in CASES:
        shape = "-".join(str(s) for s in (2, *hidden, 1))
        ours = numpy_rate(hidden, n, epochs, repeats)
        rows.append(
            (f"net {shape}, {n} pts, batch 32, adam, NumPy", f"{ours:,.0f} epochs/s", f"≥ {target:,}")
        )
        theirs = torch_rate(hidden, n, max(epochs // 5, 20), repeats)
        if theirs is None:
            rows.append((f"net {shape}, torch (reference)", "not installed", ""))
        else:
            rows.append((f"net {shape}, torch 1 thread (reference)", f"{theirs:,.0f} epochs/s", ""))
            rows.append((f"net {shape}, NumPy / torch", f"{ours / theirs:.1f}×", ""))
    return rows


def main() -> None:
    rows = nets_rows(quick=False)
    width = max(len(r[0]) for r in rows)
    print("best of 5 repeats each; other processes may share the CPU")
    print(f"{'benchmark':<{width}}  {'measured':>18}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>18}  {target}")


if __name__ == "__main__":
    main()
