"""Figures of a saved run: the learning curve and what the heads did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from augrnn.train import load_run, read_metrics
from augrnn.viz.figures import plot_attention, plot_learning_curve

__all__ = ["plot_run"]


def plot_run(run_dir: Path, length: int | None = None, seed: int = 1234, checkpoint: str = "best") -> list[Path]:
    """Write ``figures/learning_curve.png`` and ``figures/attention_<size>.png``.

    One sequence is drawn from the task at ``length`` (the task's size scalar;
    default: the largest training size) and run through the saved model.
    """
    run_dir = Path(run_dir)
    cfg, model, task, device = load_run(run_dir, which=checkpoint)
    size = length if length is not None else task.train_size_range[1]
    if size < 1:
        raise ValueError(f"--length must be >= 1, got {size}")
    batch = task.sample(1, np.random.default_rng(seed), size=size, device=device)
    with torch.no_grad():
        logits, trace = model(batch.inputs, return_trace=True)
    as_np = lambda t: t[0].detach().cpu().numpy()  # noqa: E731
    weights = {}
    for name in ("write_weights", "read_weights"):
        if hasattr(trace, name):
            weights[name] = as_np(getattr(trace, name))
    paths = [
        plot_attention(
            as_np(batch.inputs), as_np(batch.targets), as_np(torch.sigmoid(logits)),
            run_dir / "figures" / f"attention_{task.size_name}{size}.png",
            mask=as_np(batch.mask), title=f"{cfg.model} on {cfg.task}, {task.size_name} {size}", **weights,
        )
    ]
    records = read_metrics(run_dir / "metrics.jsonl")
    if records:
        paths.append(plot_learning_curve(records, run_dir / "figures" / "learning_curve.png", title=f"{cfg.model} on {cfg.task}"))
    return paths
