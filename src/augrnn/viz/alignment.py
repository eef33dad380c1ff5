"""Attention matrices of a seq2seq model: output tokens × input tokens (Bahdanau et al. 2014, Fig. 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from augrnn.viz.figures import _save  # noqa: E402

__all__ = ["plot_alignments", "plot_retrieval_alignments", "plot_image_attention"]


def plot_alignments(examples: Sequence[tuple[Sequence[str], Sequence[str], np.ndarray]], path: Path,
                    title: str = "") -> Path:
    """One panel per example: ``weights [L, S]`` with output tokens as rows and input tokens as columns.

    Args:
        examples: ``(input_tokens [S], output_tokens [L], weights [L, S])`` each;
            weights of step ``l`` over source position ``s`` (rows sum to 1).
        path: the PNG to write (directories are created).
        title: figure title.

    Returns:
        ``path``.
    """
    if not examples:
        raise ValueError("plot_alignments: need at least one example")
    columns = min(3, len(examples))
    rows = (len(examples) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(examples):]:
        ax.axis("off")
    for ax, (inputs, outputs, weights) in zip(axes.flat, examples):
        _matrix(ax, weights, list(inputs), list(outputs), "input")
        ax.set_title("".join(inputs), fontsize=10)
        ax.set_ylabel("output")
    return _save(fig, path, title)


def _matrix(ax, weights: np.ndarray, columns: list[str], rows: list[str], xlabel: str, small: bool = False) -> None:
    """``weights [rows, columns]`` as a grey matrix, column names on top (turned and small for long memories)."""
    weights = np.asarray(weights)[: len(rows), : len(columns)]
    ax.imshow(weights, cmap="gray_r", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(columns)), columns, fontsize=7 if small else 10, rotation=90 if small else 0)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.set_xlabel(xlabel)


def plot_retrieval_alignments(examples: Sequence[tuple[str, Sequence[str], Sequence[str], np.ndarray, np.ndarray]],
                              path: Path, title: str = "") -> Path:
    """One row per example, two panels: the attention over the word's letters and, beside it, the
    attention over the retrieved neighbours (a second memory), output tokens as rows.

    Args:
        examples: ``(word, memory_labels [R], output_tokens [L], letter_weights [L, S], memory_weights [L, R])``
            each; ``S = len(word)``; a memory label ``"|"`` ends a neighbour (drawn as a line).
        path: the PNG to write (directories are created).
        title: figure title.

    Returns:
        ``path``.
    """
    if not examples:
        raise ValueError("plot_retrieval_alignments: need at least one example")
    widest = max(len(word) + len(memory) for word, memory, *_ in examples)
    fig, axes = plt.subplots(len(examples), 2, squeeze=False,
                             figsize=(min(22.0, 2.5 + 0.2 * widest), 2.6 + 2.4 * len(examples)),
                             gridspec_kw={"width_ratios": [max(len(e[0]) for e in examples) + 2,
                                                           max(len(e[1]) for e in examples)]})
    for (word, memory, outputs, letter_weights, memory_weights), (left, right) in zip(examples, axes):
        _matrix(left, letter_weights, list(word), list(outputs), "letters")
        _matrix(right, memory_weights, list(memory), list(outputs), "neighbours", small=True)
        for end in [i for i, label in enumerate(memory) if label == "|"][:-1]:
            right.axvline(end + 0.5, color="#1f77b4", linewidth=0.8)
        left.set_ylabel(f"{word}\noutput")
    return _save(fig, path, title)


def plot_image_attention(image: np.ndarray, maps: np.ndarray, labels: Sequence[str], path: Path, title: str = "") -> Path:
    """The image, then one panel per output token with its attention map over the image.

    Args:
        image: ``[H, W]`` grey image in [0, 1].
        maps: ``[L, h, w]`` attention of each output token over the feature grid
            (upsampled to ``[H, W]`` by pixel repetition; ``H``, ``W`` multiples of ``h``, ``w``).
        labels: L token names.
        path: the PNG to write.

    Returns:
        ``path``.
    """
    image, maps = np.asarray(image), np.asarray(maps)
    if maps.ndim != 3 or len(labels) != len(maps):
        raise ValueError(f"plot_image_attention: maps must be [L, h, w] with one label each, got {maps.shape} and {len(labels)} labels")
    H, W = image.shape
    ry, rx = H // maps.shape[1], W // maps.shape[2]
    fig, axes = plt.subplots(len(maps) + 1, 1, figsize=(W / 8 + 1.5, 0.9 * (len(maps) + 1) + 0.6), squeeze=False)
    axes[0, 0].imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    axes[0, 0].set_ylabel("input", rotation=0, ha="right", va="center")
    for ax, attention, label in zip(axes[1:, 0], maps, labels):
        up = np.kron(attention, np.ones((ry, rx)))
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.imshow(up, cmap="inferno", alpha=0.6, vmin=0, vmax=max(float(up.max()), 1e-6), interpolation="bilinear",
                  extent=(-0.5, up.shape[1] - 0.5, up.shape[0] - 0.5, -0.5))
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=12)
    for ax in axes[:, 0]:
        ax.set_xticks([]), ax.set_yticks([])
    return _save(fig, path, title)
