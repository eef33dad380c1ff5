"""Shared test setup: one CPU thread (CI runs several workers on 2 cores) and a fixed seed."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# --- tiny trained runs for the report, explorer and browser tests (augrnn show / serve) -------------
# Trained once per session, a few dozen steps: those tests check that the pages and the API work,
# not that the model learned.

TINY_TRAINING = ["fast=false", "train.batch_size=8", "train.steps=40", "train.eval_every=20", "train.eval_batches=1",
                 "train.eval_batch_size=8", "train.log_every=5", "task_args.width=4", "task_args.max_length=5"]
TINY_NTM = TINY_TRAINING + ["model_args.controller_size=16", "model_args.memory_slots=16", "model_args.memory_width=6"]
TINY_LSTM = TINY_TRAINING + ["model_args.hidden_size=16", "model_args.num_layers=2"]


def _train_tiny(root, model, overrides, task="copy"):
    from augrnn.train import prepare_run, train_run

    run_dir = root / f"{model}-{task}"
    cfg = prepare_run(model, task, run_dir, overrides)
    train_run(cfg, run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="session")
def ntm_run(tmp_path_factory):
    """A tiny NTM trained 40 steps on copy (width 4, lengths 1-5): its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "ntm", TINY_NTM)


@pytest.fixture(scope="session")
def lstm_run(tmp_path_factory):
    """A tiny 2-layer LSTM trained 40 steps on copy: its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "lstm", TINY_LSTM)


TINY_ACT = ["train.batch_size=16", "train.steps=40", "train.eval_every=20", "train.eval_batches=1",
            "train.eval_batch_size=16", "train.log_every=5", "model_args.hidden_size=16"]


@pytest.fixture(scope="session")
def act_parity_run(tmp_path_factory):
    """A tiny ACT (RNN, 16 units, M = 10) trained 40 steps on parity of 8-element vectors: its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "act", TINY_ACT, task="parity")


# seq2seq on G2P: a small model on 300 training words (loading the dictionary costs a few seconds);
# pinned here, not inherited from the preset: the browser test steps through >= 3 decoded phones
TINY_G2P = ["fast=false", "train.batch_size=16", "train.steps=30", "train.eval_every=15", "train.eval_batch_size=32",
            "train.log_every=5", "task_args.train_words=300", "task_args.eval_words=16", "model_args.embedding_size=8",
            "model_args.encoder_size=8", "model_args.encoder_layers=1", "model_args.decoder_size=16",
            "model_args.dropout=0.0", "train.precision=fp32", "train.ema_decay=0.0", "task_args.neighbors=0", "threads=1"]
# reader on digit strips: a small CNN and decoder, 16 evaluation strips
TINY_READER = ["fast=false", "train.batch_size=8", "train.steps=30", "train.eval_every=15", "train.eval_batch_size=16",
               "train.log_every=5", "task_args.eval_strips=16", "model_args.channels=8", "model_args.embedding_size=4",
               "model_args.decoder_size=16"]


@pytest.fixture(scope="session")
def g2p_run(tmp_path_factory):
    """A tiny attentional seq2seq trained 30 steps on G2P (300 training words): its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "seq2seq", TINY_G2P, task="g2p")


@pytest.fixture(scope="session")
def g2p_neighbors_run(tmp_path_factory):
    """The tiny G2P run with two retrieved neighbours per word (``task_args.neighbors=2``)."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "seq2seq",
                       TINY_G2P + ["task_args.neighbors=2", "model_args.memory_encoder_size=4"], task="g2p")


@pytest.fixture(scope="session")
def reader_run(tmp_path_factory):
    """A tiny image reader trained 30 steps on digit strips: its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "reader", TINY_READER, task="digit-strips")
TINY_MEMN2N = ["fast=false", "tasks=1", "size=1k", "train.batch_size=16", "train.steps=40", "train.eval_every=20",
               "train.log_every=5", "model_args.embedding_size=8", "model_args.hops=3", "model_args.linear_start_updates=0"]


@pytest.fixture(scope="session")
def memn2n_run(tmp_path_factory):
    """A tiny MemN2N trained 40 steps on generated bAbI task 1 (1k): its run directory.

    The generated data lives in the session's own ``AUGRNN_CACHE`` (set for the whole session,
    so that loading the run later finds the same data).
    """
    root = tmp_path_factory.mktemp("viz-runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUGRNN_CACHE", str(root / "cache"))
        yield _train_tiny(root, "memn2n", TINY_MEMN2N, task="babi")


# Neural Programmer (views of issue 8): tiny table-qa (3 columns, 4-10 rows) and arithmetic runs.
TINY_PROGRAMMER = ["fast=false", "train.batch_size=8", "train.steps=30", "train.eval_every=15", "train.eval_batches=1",
                   "train.eval_batch_size=8", "train.log_every=5", "model_args.hidden_size=16"]
TINY_TABLE_QA = TINY_PROGRAMMER + ["model_args.embedding_size=16", "task_args.columns=3", "task_args.min_rows=4",
                                   "task_args.max_rows=10", "task_args.train_examples=200", "task_args.test_examples=50",
                                   "restarts=2", "restart_workers=1"]  # the views read a restarts run dir
TINY_ARITHMETIC = TINY_PROGRAMMER + ["task_args.max_depth=2"]


@pytest.fixture(scope="session")
def table_qa_run(tmp_path_factory):
    """A tiny Neural Programmer trained 30 steps on table-qa (3 columns, 4-10 rows): its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "neural-programmer", TINY_TABLE_QA, task="table-qa")


@pytest.fixture(scope="session")
def arithmetic_run(tmp_path_factory):
    """A tiny Neural Programmer trained 30 steps on arithmetic (depth 1-2): its run directory."""
    return _train_tiny(tmp_path_factory.mktemp("viz-runs"), "neural-programmer", TINY_ARITHMETIC, task="arithmetic")
