"""Copy and repeat copy, Graves et al. 2014 §4.1–4.2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augrnn.tasks.base import Task, TaskConfig, check_order, check_positive, random_bits

__all__ = ["CopyTask", "CopyConfig", "RepeatCopyTask", "RepeatCopyConfig"]


@dataclass
class CopyConfig(TaskConfig):
    width: int = 8  # bits per vector
    min_length: int = 1
    max_length: int = 20


class CopyTask(Task):
    """Copy a sequence of random bit vectors after a delimiter (§4.1).

    Encoding (pinned in ARCHITECTURE.md): input ``[B, 2L+1, W+1]``; rows
    ``0..L-1`` carry the bits in channels ``0..W-1``; row ``L`` has a 1 in
    channel ``W`` (the delimiter); rows ``L+1..2L`` are zero; the target bits
    are scored on output rows ``L+1..2L`` (output width ``W``). One length is
    drawn per batch, uniformly in ``[min_length, max_length]``.
    """

    name = "copy"
    config_class = CopyConfig
    size_name = "length"

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, width=c.width, min_length=c.min_length, max_length=c.max_length)
        check_order(self.name, "min_length", c.min_length, "max_length", c.max_length)
        self.input_size, self.output_size = c.width + 1, c.width

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.min_length, self.config.max_length

    def _generate(self, batch_size: int, length: int, rng: np.random.Generator):
        B, L, W = batch_size, length, self.config.width
        bits = random_bits(rng, B, L, W)
        inputs = np.zeros((B, 2 * L + 1, W + 1), np.float32)
        inputs[:, :L, :W] = bits
        inputs[:, L, W] = 1.0
        targets = np.zeros((B, 2 * L + 1, W), np.float32)
        targets[:, L + 1 :] = bits
        mask = np.zeros((B, 2 * L + 1), np.float32)
        mask[:, L + 1 :] = 1.0
        return inputs, targets, mask


@dataclass
class RepeatCopyConfig(TaskConfig):
    width: int = 8
    min_length: int = 1
    max_length: int = 10
    min_repeats: int = 1
    max_repeats: int = 10


class RepeatCopyTask(Task):
    """Output a sequence a given number of times, then an end marker (§4.2).

    Input ``[B, L+2+nL+1, W+2]``: rows ``0..L-1`` bits; row ``L`` the delimiter
    (channel ``W``); row ``L+1`` the repeat count ``n`` on channel ``W+1``,
    normalised by the mean and standard deviation of the training range of
    counts (as in the paper: "normalised to have mean zero and variance one");
    then ``nL+1`` zero rows. Output width ``W+1``: the ``n`` copies on rows
    ``L+2..L+1+nL`` and the end marker (channel ``W``) on the last row; all
    those rows are scored. ``eval --length`` sets the repeat count ``n``; the
    sequence length is drawn from the training range.
    """

    name = "repeat-copy"
    config_class = RepeatCopyConfig
    size_name = "repeats"

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, width=c.width, min_length=c.min_length, max_length=c.max_length,
                        min_repeats=c.min_repeats, max_repeats=c.max_repeats)
        check_order(self.name, "min_length", c.min_length, "max_length", c.max_length)
        check_order(self.name, "min_repeats", c.min_repeats, "max_repeats", c.max_repeats)
        self.input_size, self.output_size = c.width + 2, c.width + 1
        counts = np.arange(c.min_repeats, c.max_repeats + 1)
        self.repeat_mean = float(counts.mean())
        self.repeat_std = float(counts.std()) or 1.0

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.min_repeats, self.config.max_repeats

    def normalise_repeats(self, repeats: int) -> float:
        return (repeats - self.repeat_mean) / self.repeat_std

    def _generate(self, batch_size: int, repeats: int, rng: np.random.Generator):
        c = self.config
        B, W, n = batch_size, c.width, repeats
        L = int(rng.integers(c.min_length, c.max_length + 1))
        T = L + 2 + n * L + 1
        bits = random_bits(rng, B, L, W)
        inputs = np.zeros((B, T, W + 2), np.float32)
        inputs[:, :L, :W] = bits
        inputs[:, L, W] = 1.0
        inputs[:, L + 1, W + 1] = self.normalise_repeats(n)
        targets = np.zeros((B, T, W + 1), np.float32)
        targets[:, L + 2 : L + 2 + n * L, :W] = np.tile(bits, (1, n, 1))
        targets[:, T - 1, W] = 1.0
        mask = np.zeros((B, T), np.float32)
        mask[:, L + 2 :] = 1.0
        return inputs, targets, mask

