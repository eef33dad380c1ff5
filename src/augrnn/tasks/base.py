"""What every task provides: batches, a loss, and the paper's metrics.

A task draws batches from a :class:`numpy.random.Generator` (its state is saved
in checkpoints, so a resumed run sees the same data as an uninterrupted one) and
scores a model's logits with the metrics of Graves et al. 2014 §4: the cost in
bits per sequence (cross-entropy in base 2, summed over the scored outputs) and
bit errors per sequence (outputs thresholded at 0.5).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Batch", "Task", "TaskConfig", "bits_cost", "bit_errors", "check_order", "check_positive", "random_bits"]


class Batch(NamedTuple):
    inputs: Tensor  # [B, T, I] float
    targets: Tensor  # [B, T, O] float, 0/1 (or probabilities)
    mask: Tensor  # [B, T] float, 1 where the output is scored


@dataclass
class TaskConfig:
    """Base for task configs (each task adds its own fields)."""


def bits_cost(logits: Tensor, batch: Batch) -> Tensor:
    """Cross-entropy in bits per sequence: ``[B]``, summed over scored outputs."""
    nats = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").sum(-1)  # [B, T]
    return (nats * batch.mask).sum(-1) / math.log(2)


def bit_errors(logits: Tensor, batch: Batch) -> Tensor:
    """Bit errors per sequence: ``[B]``, outputs thresholded at probability 0.5."""
    wrong = ((logits > 0).to(batch.targets.dtype) != (batch.targets > 0.5).to(batch.targets.dtype)).sum(-1)
    return (wrong * batch.mask).sum(-1)


class Task(ABC):
    """Base class of the algorithmic tasks.

    Subclasses set ``name``, ``config_class``, ``size_name`` (the scalar that
    ``eval --length`` sets: a length, a repeat count or an item count),
    ``input_size`` and ``output_size``, and implement :meth:`_generate`.

    The trainer knows nothing of models or data beyond these hooks, so a task
    with another batch type (a seq2seq pair, a story and a question) overrides
    :meth:`sample`, :meth:`forward`, :meth:`loss`, :meth:`metrics` and, for a
    fixed dev split, :meth:`eval_batches`:

    * ``forward(model, batch) -> outputs`` runs the model (default
      ``model(batch.inputs)``); ``outputs`` can be anything ``loss`` and
      ``metrics`` understand (logits, or ``(logits, state)`` for extra loss terms).
    * ``metrics`` returns per-example ``[B]`` tensors; the trainer averages them
      over examples. ``cost_metric`` (lower is better) picks the ``best``
      checkpoint; ``error_metric`` drives the curriculum and ``train.stop_error``.
    """

    name: str = ""
    config_class: type = TaskConfig
    size_name: str = "length"
    input_size: int
    output_size: int
    cost_metric: str = "cost"  # lower is better: picks the ``best`` checkpoint
    error_metric: str = "bit_errors"  # drives the curriculum and ``train.stop_error``
    cost_label: str = "cost (bits / sequence)"  # axis labels of the learning curve
    error_label: str = "bit errors / sequence"

    def __init__(self, config: TaskConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad field."""

    @property
    @abstractmethod
    def train_size_range(self) -> tuple[int, int]:
        """The (min, max) of the size scalar during training."""

    def sample(
        self,
        batch_size: int,
        rng: np.random.Generator,
        size: int | None = None,
        max_size: int | None = None,
        device: torch.device | str | None = None,
    ) -> Batch:
        """Draw a batch.

        Args:
            batch_size: B.
            rng: the data generator.
            size: fix the size scalar (e.g. evaluate copy at length 40).
            max_size: draw the size from ``[min, max_size]`` (curriculum).
            device: where the tensors go.
        """
        size = self.draw_size(batch_size, rng, size, max_size)
        inputs, targets, mask = self._generate(batch_size, size, rng)
        as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)  # noqa: E731
        return Batch(as_tensor(inputs), as_tensor(targets), as_tensor(mask))

    def eval_batches(
        self,
        seed: int,
        batches: int,
        batch_size: int,
        size: int | None = None,
        device: torch.device | str | None = None,
    ) -> Iterator:
        """The evaluation batches: ``batches`` fresh batches drawn from ``seed``.

        The same seed gives the same batches, so evaluations are comparable.
        Dataset tasks override this to iterate their dev split instead.
        """
        rng = np.random.default_rng(seed)
        for _ in range(batches):
            yield self.sample(batch_size, rng, size=size, device=device)

    def forward(self, model: torch.nn.Module, batch) -> Any:
        """Run ``model`` on ``batch``; the result goes to :meth:`loss` and :meth:`metrics`."""
        return model(batch.inputs)

    def probabilities(self, logits: Tensor) -> Tensor:
        """``augrnn predict --input``: the model's ``[B, T, O]`` logits as probabilities
        (independent sigmoids for bit-vector tasks; tasks with softmax outputs override)."""
        return torch.sigmoid(logits)

    def predict_text(self, model: torch.nn.Module, lines: list[str], device=None) -> list[str]:
        """``augrnn predict --text-in``: one output line per input line (text tasks only)."""
        raise ValueError(
            f"--text-in/--text-out: task {self.name!r} is not a text task; use --input X.npy --output Y.npy"
        )

    def draw_size(
        self, batch_size: int, rng: np.random.Generator, size: int | None = None, max_size: int | None = None
    ) -> int:
        """Check ``batch_size`` and return the batch's size scalar: ``size`` if given, else
        uniform on the training range, capped at ``max_size`` (the curriculum)."""
        if batch_size < 1:
            raise ValueError(f"{self.name}: batch_size must be >= 1, got {batch_size}")
        low, high = self.train_size_range
        if size is None:
            high = high if max_size is None else max(low, min(high, max_size))
            return int(rng.integers(low, high + 1))
        if size < 1:
            raise ValueError(f"{self.name}: {self.size_name} must be >= 1, got {size}")
        return int(size)

    def _generate(self, batch_size: int, size: int, rng: np.random.Generator):
        """Numpy ``(inputs [B, T, I], targets [B, T, O], mask [B, T])`` at the given size.

        Bit-vector tasks implement this; tasks with their own batch type override
        :meth:`sample` instead and never reach it.
        """
        raise TypeError(f"{type(self).__name__}: implement _generate() or override sample()")

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        """Training loss: mean binary cross-entropy over the scored outputs."""
        nats = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none").mean(-1)  # [B, T]
        return (nats * batch.mask).sum() / batch.mask.sum().clamp_min(1)

    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, Tensor]:
        """Per-sequence metrics, each ``[B]``: ``cost`` (bits), ``bit_errors``."""
        return {"cost": bits_cost(logits, batch), "bit_errors": bit_errors(logits, batch)}

    def start_step(self, step: int, steps: int) -> None:
        """Called by the trainer before training step ``step`` (0-based) of ``steps``.

        The default does nothing; a task whose loss follows a schedule over training (table-qa's
        annealed entropy bonus) reads its progress here.
        """

    def summarize(self, means: dict[str, float]) -> dict[str, float]:
        """The evaluation's metrics from the means of :meth:`metrics` over all examples.

        The default keeps them. A task whose metric is a ratio of totals (g2p's corpus PER: all
        edits over all reference phones) returns per-example numerators and denominators from
        :meth:`metrics` and divides their means here.
        """
        return means

    def describe(self) -> str:
        low, high = self.train_size_range
        return f"{self.size_name} {low}-{high}, input width {self.input_size}, output width {self.output_size}"


def random_bits(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Independent fair bits, as float32."""
    return rng.integers(0, 2, size=shape).astype(np.float32)


def check_positive(task: str, **values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{task}: {name} must be an integer >= 1, got {value!r}")


def check_order(task: str, low_name: str, low: int, high_name: str, high: int) -> None:
    if low > high:
        raise ValueError(f"{task}: {low_name} ({low}) must be <= {high_name} ({high})")


