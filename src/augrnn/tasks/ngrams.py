"""Dynamic N-grams, Graves et al. 2014 §4.4."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from augrnn.tasks.base import Batch, Task, TaskConfig, check_positive

__all__ = ["NGramsTask", "NGramsConfig", "optimal_cost"]


@dataclass
class NGramsConfig(TaskConfig):
    order: int = 6  # N: predict a bit from the previous N-1 bits
    min_length: int = 200
    max_length: int = 200
    beta: float = 0.5  # each table entry ~ Beta(beta, beta)


class NGramsTask(Task):
    """Predict the next bit of a sequence drawn from a random N-gram model.

    For every sequence a fresh table of ``2^(N-1)`` probabilities is drawn from
    ``Beta(1/2, 1/2)``; the first ``N-1`` bits are fair coins and every later bit
    is 1 with the probability the table gives its ``N-1`` predecessors. Input
    ``[B, T, 1]`` is the bit sequence; the target at step ``t`` is bit ``t+1``;
    every step whose target exists is scored (``T-1`` of them). The metric
    ``optimal_cost`` is the Bayes-optimal predictor's cost on the same batch,
    ``P(1 | N1, N0) = (N1 + 1/2) / (N1 + N0 + 1)`` per context (the paper's
    yardstick).
    """

    name = "ngrams"
    config_class = NGramsConfig
    size_name = "length"
    input_size, output_size = 1, 1

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, min_length=c.min_length, max_length=c.max_length)
        if not isinstance(c.order, int) or c.order < 2:
            raise ValueError(f"{self.name}: order must be an integer >= 2, got {c.order!r}")
        if c.min_length < c.order + 1:
            raise ValueError(f"{self.name}: min_length must be > order ({c.order}), got {c.min_length}")
        if c.min_length > c.max_length:
            raise ValueError(f"{self.name}: min_length ({c.min_length}) must be <= max_length ({c.max_length})")
        if not c.beta > 0:
            raise ValueError(f"{self.name}: beta must be > 0, got {c.beta}")

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.min_length, self.config.max_length

    def _generate(self, batch_size: int, length: int, rng: np.random.Generator):
        c = self.config
        B, T, k = batch_size, length, c.order - 1
        if T <= k:
            raise ValueError(f"{self.name}: length must be > order-1 ({k}), got {T}")
        table = rng.beta(c.beta, c.beta, size=(B, 2**k))
        bits = np.zeros((B, T), np.int64)
        bits[:, :k] = rng.integers(0, 2, size=(B, k))
        uniforms = rng.random((B, T))
        powers = 1 << np.arange(k - 1, -1, -1)  # context bits, oldest first, as a binary number
        rows = np.arange(B)
        for t in range(k, T):
            context = bits[:, t - k : t] @ powers
            bits[:, t] = uniforms[:, t] < table[rows, context]
        inputs = bits[:, :, None].astype(np.float32)
        targets = np.zeros((B, T, 1), np.float32)
        targets[:, :-1, 0] = bits[:, 1:]
        mask = np.ones((B, T), np.float32)
        mask[:, -1] = 0.0
        return inputs, targets, mask

    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, Tensor]:
        out = super().metrics(logits, batch)
        out["optimal_cost"] = optimal_cost(batch, self.config.order)
        return out


def optimal_cost(batch: Batch, order: int) -> Tensor:
    """Bits per sequence of the Bayes-optimal estimator for Beta(½,½) N-gram tables: ``[B]``."""
    bits = batch.inputs[..., 0].round().long()  # [B, T]
    B, T = bits.shape
    k = order - 1
    counts = torch.zeros(B, 2**k, 2, dtype=torch.float64, device=bits.device)
    powers = 2 ** torch.arange(k - 1, -1, -1, device=bits.device)
    rows = torch.arange(B, device=bits.device)
    cost = torch.zeros(B, dtype=torch.float64, device=bits.device)
    for t in range(k, T):  # predict bit t from its k predecessors, then count it
        context = (bits[:, t - k : t] * powers).sum(-1)
        n0, n1 = counts[rows, context, 0], counts[rows, context, 1]
        p1 = (n1 + 0.5) / (n0 + n1 + 1.0)
        bit = bits[:, t]
        p = torch.where(bit == 1, p1, 1 - p1)
        cost += -torch.log2(p) * batch.mask[:, t - 1].double()
        counts[rows, context, bit] += 1
    # bits 1..k-1 are fair coins: 1 bit each to any predictor (their targets sit on steps 0..k-2)
    cost += batch.mask[:, : k - 1].double().sum(-1)
    return cost.float()
