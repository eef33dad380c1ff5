"""Figures: cropping of circular slot windows, and PNGs that open."""

import numpy as np
import pytest

from augrnn.viz import plot_attention, plot_learning_curve, used_slots


def _weights(n, slots):
    w = np.zeros((len(slots), 1, n))
    for t, s in enumerate(slots):
        w[t, 0, s] = 1.0
    return w


@pytest.mark.parametrize(
    "slots, expected",
    [
        ([3, 4, 5], list(range(1, 8))),  # margin 2 each side
        ([126, 127, 0, 1], [124, 125, 126, 127, 0, 1, 2, 3]),  # wraps around the end
        ([0, 64], None),  # most of memory used on a circle -> crop keeps a window of 0..64 or all
    ],
)
def test_used_slots(slots, expected):
    rows = used_slots(_weights(128, slots))
    if expected is not None:
        assert rows.tolist() == expected
    assert all(s in rows for s in slots)


def test_used_slots_with_nothing_used_shows_everything():
    assert used_slots(np.zeros((3, 1, 10))).tolist() == list(range(10))


def test_pngs_are_written(tmp_path):
    T, N = 9, 16
    w = _weights(N, range(T))
    path = plot_attention(np.random.rand(T, 4), np.random.rand(T, 3), np.random.rand(T, 3), tmp_path / "a.png",
                          write_weights=w, read_weights=w, mask=np.ones(T), title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = [{"split": "train", "step": s, "cost": 10 / s, "bit_errors": 5 / s} for s in range(1, 5)]
    records += [{"split": "eval", "step": 4, "cost": 1.0, "bit_errors": 0.0}]
    curve = plot_learning_curve(records, tmp_path / "c.png")
    assert curve.read_bytes()[:4] == b"\x89PNG"
