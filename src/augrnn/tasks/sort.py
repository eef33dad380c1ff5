"""Priority sort, Graves et al. 2014 §4.5."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augrnn.tasks.base import Task, TaskConfig, check_positive, random_bits

__all__ = ["PrioritySortTask", "PrioritySortConfig"]


@dataclass
class PrioritySortConfig(TaskConfig):
    width: int = 8  # bits per vector
    num_inputs: int = 20
    num_outputs: int = 16


class PrioritySortTask(Task):
    """Output the highest-priority vectors, sorted by priority (§4.5).

    Input ``[B, n+1+k, W+2]``: rows ``0..n-1`` carry a random bit vector in
    channels ``0..W-1`` and its priority, uniform in ``[-1, 1]``, in channel
    ``W``; row ``n`` is the delimiter (channel ``W+1``); then ``k`` zero rows on
    which the ``k`` highest-priority vectors are expected in decreasing priority
    order (output width ``W``). The paper uses ``n = 20``, ``k = 16``.
    ``eval --length`` sets ``n``; ``k`` keeps the configured ratio.
    """

    name = "priority-sort"
    config_class = PrioritySortConfig
    size_name = "inputs"

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, width=c.width, num_inputs=c.num_inputs, num_outputs=c.num_outputs)
        if c.num_outputs > c.num_inputs:
            raise ValueError(f"{self.name}: num_outputs ({c.num_outputs}) must be <= num_inputs ({c.num_inputs})")
        self.input_size, self.output_size = c.width + 2, c.width

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.num_inputs, self.config.num_inputs

    def _generate(self, batch_size: int, n: int, rng: np.random.Generator):
        c = self.config
        B, W = batch_size, c.width
        k = max(1, round(n * c.num_outputs / c.num_inputs))
        bits = random_bits(rng, B, n, W)
        priority = rng.uniform(-1.0, 1.0, size=(B, n)).astype(np.float32)
        order = np.argsort(-priority, axis=1, kind="stable")[:, :k]  # highest first
        T = n + 1 + k
        inputs = np.zeros((B, T, W + 2), np.float32)
        inputs[:, :n, :W] = bits
        inputs[:, :n, W] = priority
        inputs[:, n, W + 1] = 1.0
        targets = np.zeros((B, T, W), np.float32)
        targets[:, n + 1 :] = np.take_along_axis(bits, order[:, :, None], axis=1)
        mask = np.zeros((B, T), np.float32)
        mask[:, n + 1 :] = 1.0
        return inputs, targets, mask
