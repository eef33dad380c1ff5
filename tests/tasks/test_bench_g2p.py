"""The system combination of ``benchmarks/bench_g2p.py --combine`` (our output rescored with Phonetisaurus' n-best)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from augrnn.nn import Seq2Seq
from augrnn.tasks import TASKS
from augrnn.tasks.g2p import G2PConfig


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_g2p.py"
    spec = importlib.util.spec_from_file_location("bench_g2p", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_combine_weighs_our_log_probability_against_phonetisaurus_score_by_hand(bench):
    a, b, c = ("AH0",), ("EY1",), ("IY1",)
    # ours prefers a (log P -1 vs -2); Phonetisaurus lists b at 10 and c at 10.5, not a (our own output)
    word = [(a, -1.0, None), (b, -2.0, 10.0), (c, -2.2, 10.5)]
    assert bench.combine([word], 0.0, 0.0) == [a]  # weight 0: our model alone
    # weight 1, missing 0: a counts at the worst listed score 10.5 → -11.5; b → -12.0; c → -12.7
    assert bench.combine([word], 1.0, 0.0) == [a]
    # missing 1: a → -1 - 11.5 = -12.5 loses to b's -12.0
    assert bench.combine([word], 1.0, 1.0) == [b]
    # a word Phonetisaurus gave nothing for keeps our output; several words are independent
    assert bench.combine([[(c, -3.0, None)], word], 5.0, 4.0) == [c, b]
    assert all((w, m) in bench.COMBINE_GRID for w, m in [(0.0, 0.0), (2.0, 4.0)])


def test_candidate_log_probs_are_the_task_nll_of_the_same_pairs(bench):
    torch.manual_seed(0)
    task = TASKS["g2p"](G2PConfig(train_words=20, eval_words=10))
    model = Seq2Seq(task.input_size, task.output_size, embedding_size=8, encoder_size=8, decoder_size=8).eval()
    batch = task.sample(6, np.random.default_rng(0))
    pairs = list(zip(batch.words, [r[0] for r in batch.references]))
    pairs[1] = (pairs[1][0], ("K", "AE1", "T"))  # any phones, not only a reference
    batch = task.make_batch([w for w, _ in pairs], [p for _, p in pairs], [(p,) for _, p in pairs])
    bits = task.metrics(task.forward(model, batch), batch)["nll"]
    log_probs = bench.candidate_log_probs(task, model, None, pairs, batch_size=4)  # two batches, reordered by length
    assert log_probs == pytest.approx((-bits * math.log(2)).tolist(), abs=1e-4)
    assert all(v < 0 for v in log_probs)
