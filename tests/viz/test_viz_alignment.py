"""Attention figures of the seq2seq family: alignment matrices and per-digit maps."""

import numpy as np
import pytest

from augrnn.cli import main
from augrnn.viz.alignment import plot_alignments, plot_image_attention, plot_retrieval_alignments


def test_alignment_and_image_attention_pngs(tmp_path):
    weights = np.eye(4)[:, :3]
    path = plot_alignments([(list("cat"), ["K", "AE1", "T", "</s>"], weights)] * 2, tmp_path / "a.png", title="t")
    assert path.stat().st_size > 0
    maps = np.random.default_rng(0).dirichlet(np.ones(12), size=3).reshape(3, 2, 6)
    path = plot_image_attention(np.zeros((4, 12)), maps, ["1", "2", "</s>"], tmp_path / "b.png")
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="maps"):
        plot_image_attention(np.zeros((4, 12)), maps, ["1"], tmp_path / "c.png")
    with pytest.raises(ValueError, match="example"):
        plot_alignments([], tmp_path / "d.png")


def test_retrieval_alignment_png_draws_letters_and_neighbours(tmp_path):
    memory = ["C", "A", "T", "s", "→", "/K/", "/AE1/", "/T/", "/S/", "|", "b", "A", "T", "→", "/B/", "/AE1/", "/T/", "|"]
    letters, neighbours = np.eye(4)[:, :3], np.random.default_rng(1).dirichlet(np.ones(len(memory)), size=4)
    path = plot_retrieval_alignments([("cat", memory, ["K", "AE1", "T", "</s>"], letters, neighbours)] * 2,
                                     tmp_path / "r.png", title="t")
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="example"):
        plot_retrieval_alignments([], tmp_path / "e.png")


def test_reader_run_plots_per_digit_maps(tmp_path):
    run = tmp_path / "reader"
    tiny = ["-s", "channels=4", "-s", "embedding_size=4", "-s", "decoder_size=8", "-s", "steps=2",
            "-s", "eval_every=2", "-s", "eval_strips=8", "-s", "batch_size=4"]
    assert main(["train", "reader", "digit-strips", "--run-dir", str(run), "--no-progress", *tiny]) == 0
    assert main(["plot", str(run), "--length", "3"]) == 0
    assert all((run / "figures" / f"attention_strip{b}.png").stat().st_size > 0 for b in range(3))
