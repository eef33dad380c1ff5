"""Associative recall, Graves et al. 2014 §4.3."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augrnn.tasks.base import Task, TaskConfig, check_order, check_positive, random_bits

__all__ = ["AssociativeRecallTask", "AssociativeRecallConfig"]


@dataclass
class AssociativeRecallConfig(TaskConfig):
    width: int = 6  # bits per vector
    item_length: int = 3  # vectors per item
    min_items: int = 2
    max_items: int = 6


class AssociativeRecallTask(Task):
    """Given a list of items and one of them as a query, output the item after it.

    Input width ``W+2``. Each of the ``n`` items is a delimiter row (channel
    ``W``) followed by its ``item_length`` bit rows. Then the query: a row with
    channel ``W+1`` set, the query item's rows, and channel ``W+1`` again. Then
    ``item_length`` zero rows, on which the item that followed the query in the
    list is expected (output width ``W``). The query is drawn from the first
    ``n-1`` items. ``eval --length`` sets the item count ``n``.
    """

    name = "associative-recall"
    config_class = AssociativeRecallConfig
    size_name = "items"

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, width=c.width, item_length=c.item_length, max_items=c.max_items)
        if not isinstance(c.min_items, int) or c.min_items < 2:
            raise ValueError(f"{self.name}: min_items must be an integer >= 2, got {c.min_items!r}")
        check_order(self.name, "min_items", c.min_items, "max_items", c.max_items)
        self.input_size, self.output_size = c.width + 2, c.width

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.min_items, self.config.max_items

    def _generate(self, batch_size: int, items: int, rng: np.random.Generator):
        if items < 2:
            raise ValueError(f"{self.name}: items must be >= 2 (a query needs a next item), got {items}")
        c = self.config
        B, W, K, n = batch_size, c.width, c.item_length, items
        item_bits = random_bits(rng, B, n, K, W)
        query = rng.integers(0, n - 1, size=B)  # index of the query item, never the last
        T = n * (K + 1) + (K + 2) + K
        inputs = np.zeros((B, T, W + 2), np.float32)
        for i in range(n):  # n is small; each row block is vectorised over the batch
            start = i * (K + 1)
            inputs[:, start, W] = 1.0
            inputs[:, start + 1 : start + 1 + K, :W] = item_bits[:, i]
        q = n * (K + 1)
        rows = np.arange(B)
        inputs[:, q, W + 1] = 1.0
        inputs[:, q + 1 : q + 1 + K, :W] = item_bits[rows, query]
        inputs[:, q + 1 + K, W + 1] = 1.0
        targets = np.zeros((B, T, W), np.float32)
        targets[:, T - K :] = item_bits[rows, query + 1]
        mask = np.zeros((B, T), np.float32)
        mask[:, T - K :] = 1.0
        return inputs, targets, mask
