"""augrnn train/eval/predict/plot on a tiny seq2seq G2P run."""

import json

import pytest

from augrnn.cli import main

# the default preset (six retrieved neighbours per word, saved weights averaged) at a tiny size, on one
# thread; a short average (0.5) so that six steps move it
TINY = ["-s", "train_words=200", "-s", "eval_words=20", "-s", "embedding_size=8", "-s", "encoder_size=8",
        "-s", "decoder_size=16", "-s", "memory_encoder_size=4", "-s", "batch_size=16", "-s", "steps=6",
        "-s", "eval_every=3", "-s", "eval_batch_size=32", "-s", "log_every=3", "-s", "threads=1", "-s", "ema_decay=0.5"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("g2p") / "run"
    assert main(["train", "seq2seq", "g2p", "--run-dir", str(run), "--no-progress", *TINY]) == 0
    return run


def test_the_run_saves_the_weight_average_beside_the_trained_weights(run_dir):
    from augrnn.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run_dir / "last.pt")
    assert ckpt["config"]["train"]["ema_decay"] == 0.5 and set(ckpt["train_model"]) == set(ckpt["model"])
    assert any(not (ckpt["model"][k] == ckpt["train_model"][k]).all() for k in ckpt["model"])


def test_eval_on_test_split_with_beam(run_dir, capsys):
    assert main(["eval", str(run_dir), "--json", "-s", "eval_split=test", "-s", "beam_size=3"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("wer", "per", "wer_stress", "per_stress", "per_corpus", "per_corpus_stress", "nll"):
        assert result[key] >= 0
    assert not {"edits", "phones", "edits_stress", "phones_stress"} & set(result)  # summed into per_corpus
    assert result["wer"] <= result["wer_stress"] <= 100


def test_predict_text_and_plot(run_dir, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("cat\nphoneme\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert main(["predict", str(run_dir), "--text-in", str(words), "--text-out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in lines] == ["cat", "phoneme"]
    assert main(["plot", str(run_dir)]) == 0
    assert (run_dir / "figures" / "attention_g2p.png").stat().st_size > 0
    bad = tmp_path / "bad.txt"
    bad.write_text("c4t\n", encoding="utf-8")
    assert main(["predict", str(run_dir), "--text-in", str(bad), "--text-out", str(out)]) == 2
    assert "line 1" in capsys.readouterr().err


def test_predict_takes_overrides_beam_and_bf16(run_dir, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("cat\ndog\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert main(["predict", str(run_dir), "--text-in", str(words), "--text-out", str(out),
                 "-s", "beam_size=2", "-s", "decode_precision=bf16"]) == 0
    assert [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()] == ["cat", "dog"]
    assert main(["predict", str(run_dir), "--text-in", str(words), "--text-out", str(tmp_path / "x.txt"),
                 "-s", "decode_precision=half"]) == 2
    assert "decode_precision" in capsys.readouterr().err and not (tmp_path / "x.txt").exists()


def test_a_run_without_neighbours_trains_evaluates_predicts_and_plots(tmp_path):
    """task_args.neighbors=0: the plain seq2seq (no retrieved memory) through train, eval, predict and plot."""
    run = tmp_path / "run"
    assert main(["train", "seq2seq", "g2p", "--run-dir", str(run), "--no-progress", *TINY, "-s", "neighbors=0"]) == 0
    assert main(["eval", str(run), "--json", "-s", "beam_size=2"]) == 0
    words = tmp_path / "words.txt"
    words.write_text("cat\nphonemes\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    assert main(["predict", str(run), "--text-in", str(words), "--text-out", str(out)]) == 0
    assert [line.split("\t")[0] for line in out.read_text(encoding="utf-8").splitlines()] == ["cat", "phonemes"]
    assert main(["plot", str(run)]) == 0
    assert (run / "figures" / "attention_g2p.png").stat().st_size > 0
