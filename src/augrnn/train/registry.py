"""Registries of models and tasks, and the per-task presets.

Add a model with :func:`register_model`; tasks come from :data:`augrnn.tasks.TASKS`.
A preset is a set of config overrides for a (model, task) pair; ``default`` is
what ``augrnn train`` uses, ``paper`` the published settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from augrnn.nn import LSTM, NTM
from augrnn.tasks import TASKS, Task

__all__ = ["MODELS", "TASKS", "PRESETS", "ModelSpec", "register_model", "build_model", "NTMConfig", "LSTMConfig"]


@dataclass
class ModelSpec:
    name: str
    config_class: type
    build: Callable[..., nn.Module]  # build(config, task, fast) -> nn.Module
    description: str


MODELS: dict[str, ModelSpec] = {}


def register_model(name: str, config_class: type, description: str):
    """Decorator: register ``build(config, task, fast) -> nn.Module`` under ``name``."""

    def decorator(build):
        MODELS[name] = ModelSpec(name, config_class, build, description)
        return build

    return decorator


@dataclass
class NTMConfig:
    controller: str = "lstm"  # lstm | gru | feedforward
    controller_size: int = 100
    memory_slots: int = 128  # N
    memory_width: int = 20  # W
    read_heads: int = 1
    write_heads: int = 1
    shift_range: int = 1  # shifts -1, 0, +1
    memory_init: str = "constant"  # constant | learned | random


@register_model("ntm", NTMConfig, "Neural Turing Machine (Graves et al. 2014)")
def _build_ntm(config: NTMConfig, task: Task, fast: bool) -> nn.Module:
    return NTM(task.input_size, task.output_size, fast=fast, **vars(config))


@dataclass
class LSTMConfig:
    hidden_size: int = 256
    num_layers: int = 3


@register_model("lstm", LSTMConfig, "stacked LSTM baseline (Graves et al. 2014 §4)")
def _build_lstm(config: LSTMConfig, task: Task, fast: bool) -> nn.Module:
    return LSTM(task.input_size, task.output_size, fast=fast, **vars(config))


def build_model(name: str, config, task: Task, fast: bool) -> nn.Module:
    return MODELS[name].build(config, task, fast)


def _paper_training(lr: float) -> dict:
    """Graves et al. 2014 §4: RMSProp with momentum 0.9, gradients clipped
    elementwise to [-10, 10], one sequence per update."""
    return {
        "train.optimizer": "rmsprop",
        "train.lr": lr,
        "train.momentum": 0.9,
        "train.clip_value": 10.0,
        "train.clip_norm": 0.0,
        "train.batch_size": 1,
    }


def _paper(heads: int, lr: float) -> dict:
    """Graves et al. 2014 Table 2 (NTM with an LSTM controller); "heads" is read + write pairs."""
    return {
        "model_args.controller_size": 100,
        "model_args.memory_slots": 128,
        "model_args.memory_width": 20,
        "model_args.read_heads": heads,
        "model_args.write_heads": heads,
        **_paper_training(lr),
    }


def _paper_lstm(hidden: int, lr: float) -> dict:
    """Graves et al. 2014 Table 3 (LSTM baselines, 3 layers)."""
    return {"model_args.hidden_size": hidden, "model_args.num_layers": 3, **_paper_training(lr)}


#: Batched training that converges in minutes on a laptop CPU (measured; see BENCHMARKS.md):
#: the paper's RMSProp with momentum, on batches of 32 with a 3x larger learning rate.
#: (Adam at 1e-3 or 3e-3 learned copy far more slowly in our runs.)
_FAST_TRAINING = {
    "train.optimizer": "rmsprop",
    "train.lr": 3e-4,
    "train.momentum": 0.9,
    "train.batch_size": 32,
    "train.clip_value": 0.0,
    "train.clip_norm": 10.0,
}


@dataclass
class Preset:
    overrides: dict  # dotted key -> value
    source: str  # where the values come from


PRESETS: dict[tuple[str, str, str], Preset] = {}
for _task, _heads, _lr, _lstm_hidden, _lstm_lr, _steps in [
    ("copy", 1, 1e-4, 256, 3e-5, 20000),
    ("repeat-copy", 1, 1e-4, 512, 3e-5, 20000),
    ("associative-recall", 4, 1e-4, 256, 1e-4, 30000),
    ("ngrams", 1, 3e-5, 128, 1e-4, 20000),
    ("priority-sort", 8, 3e-5, 128, 3e-5, 30000),
]:
    PRESETS[("ntm", _task, "paper")] = Preset(_paper(_heads, _lr), "Graves et al. 2014, Table 2")
    PRESETS[("lstm", _task, "paper")] = Preset(_paper_lstm(_lstm_hidden, _lstm_lr), "Graves et al. 2014, Table 3")
    for _model, _arch in [("ntm", _paper(_heads, _lr)), ("lstm", _paper_lstm(_lstm_hidden, _lstm_lr))]:
        _arch_only = {k: v for k, v in _arch.items() if k.startswith("model_args.")}
        PRESETS[(_model, _task, "default")] = Preset(
            {**_arch_only, **_FAST_TRAINING, "train.steps": _steps},
            "architecture from Graves et al. 2014 Tables 2-3; batched RMSProp training (augrnn)",
        )

# Measured (BENCHMARKS.md): with one read and one write head the NTM solved associative
# recall in 1,500 batches (4 min); with the paper's 4 + 4 it was still at 6.2 bit errors/seq
# after 1,500 batches. The paper's 4 + 4 stays in the `paper` preset.
PRESETS[("ntm", "associative-recall", "default")].overrides.update(
    {"model_args.read_heads": 1, "model_args.write_heads": 1}
)


# -- attentional seq2seq (issue 4) ------------------------------------------------------------------
from augrnn.nn import ImageReader, Seq2Seq  # noqa: E402


@dataclass
class Seq2SeqConfig:
    embedding_size: int = 64
    encoder_size: int = 128  # per direction
    encoder_layers: int = 1
    encoder_cell: str = "lstm"  # lstm | gru
    decoder_size: int = 256
    score: str = "general"  # dot | general | additive (Luong et al. 2015 eq. 8)
    dropout: float = 0.2
    input_feeding: bool = True  # Luong et al. 2015 §3.3; False: teacher forcing runs every step at once
    memory_encoder_size: int = 64  # per direction: the encoder of the retrieved memory (tasks with one, e.g. g2p neighbors)


@register_model("seq2seq", Seq2SeqConfig, "attentional encoder-decoder (Bahdanau et al. 2014; Luong et al. 2015)")
def _build_seq2seq(config: Seq2SeqConfig, task: Task, fast: bool) -> nn.Module:
    # a task with a retrieved memory (g2p with neighbors > 0) tells its vocabulary size
    return Seq2Seq(task.input_size, task.output_size, fast=fast, memory_vocab=getattr(task, "memory_vocab", 0),
                   **vars(config))

PRESETS[("seq2seq", "g2p", "default")] = Preset(
    {
        "fast": False,  # measured: the compiled decoder step was slower here (one graph per source length)
        "threads": 2,  # the budget is 45 min on a 2-core CPU: 2 threads ran 1.4x the steps/s of 1 (BENCHMARKS.md)
        "model_args.embedding_size": 64,
        "model_args.encoder_size": 192,
        "model_args.encoder_layers": 2,
        "model_args.decoder_size": 384,
        "model_args.score": "general",
        "model_args.dropout": 0.2,
        # measured: without input feeding teacher forcing runs every step at once, 1.4x the
        # words/s at the same size, which buys a 2-layer encoder and ~20 epochs in the budget
        "model_args.input_feeding": False,
        # measured (dev split, BENCHMARKS.md): retrieved train-split neighbours read by a second attention
        # (task_args.neighbors) took dev WER from 26.2 to 24.3 with two; four beat two by 0.9 points at
        # 2,500 steps; a 2x32 memory encoder matched 2x64 there at 1.25x the training steps/s; with the
        # weight average below, six beat four at every evaluation (final dev WER 23.01 vs 23.37)
        "task_args.neighbors": 6,
        "model_args.memory_encoder_size": 32,
        "task_args.label_smoothing": 0.1,
        "train.optimizer": "adam",
        "train.lr": 2e-3,
        "train.lr_schedule": "cosine",  # measured: a learning-rate drop late in training helped most
        "train.lr_final_ratio": 0.02,
        "train.batch_size": 256,
        "train.precision": "bf16",  # measured 1.6x the words/s of fp32 on an AVX512-BF16 CPU (BENCHMARKS.md)
        "train.clip_norm": 5.0,
        # measured (dev split, BENCHMARKS.md): scoring and shipping the moving average of the weights
        # took the final dev WER / PER from 23.76 / 5.90 to 23.37 / 5.74 at the same cost
        "train.ema_decay": 0.999,
        "train.steps": 13000,  # ~31 epochs of the 107k train pairs in ~41 min on the 2 cores (BENCHMARKS.md)
        "train.eval_every": 3250,
        "train.eval_batch_size": 512,
        "train.log_every": 50,
    },
    "augrnn: sized for <= 45 min on a 2-core CPU (BENCHMARKS.md)",
)


@dataclass
class ReaderConfig:
    channels: int = 64
    embedding_size: int = 32
    decoder_size: int = 128
    score: str = "general"  # dot | general | additive
    dropout: float = 0.0


@register_model("reader", ReaderConfig, "CNN features + attention decoder reading digit strips (Xu et al. 2015)")
def _build_reader(config: ReaderConfig, task: Task, fast: bool) -> nn.Module:
    return ImageReader(task.output_size, fast=fast, **vars(config))


PRESETS[("reader", "digit-strips", "default")] = Preset(
    {
        "fast": False,
        "model_args.channels": 32,
        "model_args.embedding_size": 16,
        "model_args.decoder_size": 64,
        "train.optimizer": "adam",
        "train.lr": 3e-3,
        "train.batch_size": 32,
        "train.clip_norm": 5.0,
        "train.steps": 2000,
        "train.eval_every": 500,
        "train.eval_batch_size": 250,
        "train.log_every": 50,
    },
    "augrnn: a few minutes on a 2-core CPU (BENCHMARKS.md)",
)
# -- Adaptive Computation Time (Graves 2016) --------------------------------------------
from augrnn.nn import ACT  # noqa: E402


@dataclass
class ACTConfig:
    cell: str = "lstm"  # rnn | gru | lstm: the inner cell
    hidden_size: int = 128
    time_penalty: float = 1e-3  # τ, eq. (12)
    epsilon: float = 0.01  # ε, eq. (7)
    max_steps: int = 100  # M, eq. (13); 1 = the network without ACT (the baseline)
    halt_bias: float = 1.0  # initial b_h of the halting unit (§3)


@register_model("act", ACTConfig, "RNN/GRU/LSTM with Adaptive Computation Time (Graves 2016); max_steps=1 = no ACT")
def _build_act(config: ACTConfig, task: Task, fast: bool) -> nn.Module:
    return ACT(task.input_size, task.output_size, fast=fast, **vars(config))


def _act_paper(cell: str, hidden: int, batch: int, tau: float, max_steps: int = 100) -> dict:
    """Graves 2016 §3: Adam at 1e-4, b_h = 1, ε = 0.01, M = 100 (20 for addition); 1M iterations
    on each of 16 Hogwild threads (here: one synchronous worker)."""
    return {
        "model_args.cell": cell,
        "model_args.hidden_size": hidden,
        "model_args.time_penalty": tau,
        "model_args.epsilon": 0.01,
        "model_args.max_steps": max_steps,
        "model_args.halt_bias": 1.0,
        "train.optimizer": "adam",
        "train.lr": 1e-4,
        "train.batch_size": batch,
        "train.steps": 1_000_000,
        "train.clip_value": 0.0,
        "train.clip_norm": 0.0,
        # Measured (BENCHMARKS.md): the compiled ponder step was slower than eager for these small
        # cells (every ponder step ends in a host sync to test whether all sequences halted).
        "fast": False,
    }


for _task, _cell, _hidden, _batch, _tau, _m in [
    ("parity", "rnn", 128, 128, 1e-3, 100),  # §3.1: 128 tanh units; τ ≤ 0.03 gave < 5% error
    ("logic", "lstm", 128, 16, 1e-3, 100),  # §3.2: τ ≤ 0.01 gave ~0% error
    ("addition", "lstm", 512, 32, 1e-3, 20),  # §3.3: M = 20
    ("sort", "lstm", 512, 16, 1e-3, 100),  # §3.4
]:
    PRESETS[("act", _task, "paper")] = Preset(_act_paper(_cell, _hidden, _batch, _tau, _m), "Graves 2016 §3")
    PRESETS[("act", _task, "paper-baseline")] = Preset(
        {**_act_paper(_cell, _hidden, _batch, 0.0, 1), "model_args.max_steps": 1},
        "Graves 2016 §3, the network without ACT (max_steps=1)",
    )

#: Small versions that run on a 2-core CPU in minutes (the paper trains 1M iterations on 16 threads):
#: smaller problems and networks, Adam at 1e-3, M = 10 (low τ tends to ponder up to M early on).
_ACT_SMALL = {
    "parity": {"task_args.vector_size": 8, "task_args.max_bits": 8, "model_args.cell": "rnn",
               "model_args.hidden_size": 64, "train.batch_size": 128},
    "logic": {"task_args.max_length": 5, "task_args.max_gates": 5, "model_args.cell": "lstm",
              "model_args.hidden_size": 64, "train.batch_size": 32},
    "addition": {"task_args.max_length": 3, "task_args.max_digits": 2, "model_args.cell": "lstm",
                 "model_args.hidden_size": 128, "train.batch_size": 32},
    "sort": {"task_args.max_length": 5, "model_args.cell": "lstm", "model_args.hidden_size": 128,
             "train.batch_size": 32},
}
for _task, _small in _ACT_SMALL.items():
    _base = {**PRESETS[("act", _task, "paper")].overrides, **_small, "model_args.max_steps": 10,
             "train.lr": 1e-3, "train.steps": 5000, "train.clip_norm": 10.0, "train.eval_every": 250,
             "fast": False}
    PRESETS[("act", _task, "default")] = Preset(
        _base, "small version of Graves 2016 §3 for a laptop CPU (augrnn; see BENCHMARKS.md)"
    )
    PRESETS[("act", _task, "baseline")] = Preset(
        {**_base, "model_args.max_steps": 1, "model_args.time_penalty": 0.0},
        "the default preset without ACT (max_steps=1)",
    )

# -- end-to-end memory networks on bAbI (issue 7) ----------------------------------------
from augrnn.nn import MemN2N  # noqa: E402


@dataclass
class MemN2NConfig:
    embedding_size: int = 20  # d (paper: 20 per task, 50 joint)
    hops: int = 3  # K
    memory_size: int = 50  # most recent sentences kept
    tying: str = "adjacent"  # adjacent | layerwise
    encoding: str = "position"  # position (PE) | bow
    temporal: bool = True  # temporal encoding (TE)
    random_noise: float = 0.1  # RN: fraction of empty memories inserted at training time
    linear_start_updates: int = 0  # LS: updates without the memory softmax (0 = off)
    init_std: float = 0.1


@register_model("memn2n", MemN2NConfig, "end-to-end memory network (Sukhbaatar et al. 2015)")
def _build_memn2n(config: MemN2NConfig, task: Task, fast: bool) -> nn.Module:
    if not hasattr(task, "vocab_size"):
        raise ValueError(f"memn2n: task {task.name!r} has no vocabulary; memn2n runs on text tasks such as babi")
    return MemN2N(task.vocab_size, fast=fast, **vars(config))


__all__ += ["MemN2NConfig"]

#: MemN2N on bAbI. The paper (§4.2) trains with SGD (lr 0.01, halved every 25 epochs; joint:
#: 60 epochs, halved every 15) and re-inserts the LS softmax when the validation loss stops
#: falling. The presets use Adam with global-norm clipping at 40 (the paper's clip), halve the
#: rate on a fixed step schedule (`lr_schedule=step`) and end linear start after a fixed number of
#: updates. A long LS mattered (measured, BENCHMARKS.md): on generated tasks 16+18 (1k) task 16
#: went to 0% dev error within 1,000 updates while still linear; the joint run with LS for only
#: the first 1,000 of 20,000 updates left task 16 at 49% test error. The joint preset's 90,000
#: updates of 32 are 19 epochs of the 153,000 generated training questions (the paper: 60 epochs).
_MEMN2N_TRAINING = {
    "train.optimizer": "adam",
    "train.lr": 0.01,
    "train.batch_size": 32,
    "train.clip_value": 0.0,
    "train.clip_norm": 40.0,
    "train.eval_every": 500,
    "train.log_every": 100,
}
PRESETS[("memn2n", "babi", "default")] = Preset(
    {**_MEMN2N_TRAINING, "model_args.embedding_size": 20, "model_args.linear_start_updates": 2500, "train.lr": 0.005,
     "train.steps": 6000},
    "Sukhbaatar et al. 2015: 3 hops, PE, TE, RN, LS, adjacent tying, d=20 (Adam, augrnn)",
)
PRESETS[("memn2n", "babi", "joint")] = Preset(
    {**_MEMN2N_TRAINING, "task_args.tasks": "all", "task_args.size": "10k", "model_args.embedding_size": 50,
     "model_args.linear_start_updates": 12000, "train.lr": 0.005, "train.steps": 90000, "train.eval_every": 1000,
     "train.lr_schedule": "step", "train.lr_step_every": 20000},
    "Sukhbaatar et al. 2015: joint PE LS RN 3 hops, d=50, on generated 10k tasks (Adam, lr halved every 20k, augrnn)",
)
PRESETS[("memn2n", "babi", "paper")] = Preset(
    {**_MEMN2N_TRAINING, "task_args.tasks": "all", "task_args.size": "1k", "model_args.embedding_size": 50,
     "model_args.linear_start_updates": 12000, "train.lr": 0.005, "train.steps": 32000, "train.eval_every": 1000,
     "train.lr_schedule": "step", "train.lr_step_every": 8000},
    "Sukhbaatar et al. 2015 Table 1 setting: joint PE LS RN 3 hops, d=50, 1k data (Adam instead of SGD)",
)


# -- Neural Programmer (issue 6) ---------------------------------------------------------


@dataclass
class NeuralProgrammerConfig:
    hidden_size: int = 64  # H: question RNN, selector and history RNN
    program_steps: int = 4  # T, program steps of the table version (the arithmetic version runs one per token)
    embedding_size: int = 64  # E, word embeddings of the table version
    safe_divide_eps: float = 1e-4  # arithmetic version: a·b / (b² + eps)
    max_operands: int = 0  # arithmetic version: input_1..input_N; 0 = the task's max_depth + 1
    selection_noise: float = 0.0  # Gumbel noise on the operation logits in training (0 = off; both versions)
    operations: str = "all"  # table version: the operations the selector may choose (all | paper | names)
    dropout: float = 0.0  # table version: dropout on word embeddings, selector vectors and history input (training)
    keep: bool = False  # table version: an operation of another type leaves a typed variable as it was (paper: False)
    op_pointer: bool = False  # table version: the operation logits also score the attended word as an operation name
    column_inputs: str = "all"  # table version: what the column selector reads besides the op: all (q, h) | history | operation
    column_anchor: float = 0.0  # table version: κ (initial), the bonus of the name after the operation's word (0 = off)


@register_model("neural-programmer", NeuralProgrammerConfig,
                "Neural Programmer (Neelakantan, Le & Sutskever 2015): arithmetic and table-QA versions")
def _build_neural_programmer(config: NeuralProgrammerConfig, task: Task, fast: bool) -> nn.Module:
    from augrnn.nn.programmer import ArithmeticProgrammer
    from augrnn.tasks.arithmetic import ArithmeticTask

    if isinstance(task, ArithmeticTask):
        operands = config.max_operands or task.config.max_depth + 1
        return ArithmeticProgrammer(task.input_size, config.hidden_size, operands, fast=fast,
                                    eps=config.safe_divide_eps, selection_noise=config.selection_noise)
    from augrnn.nn.programmer import TableProgrammer
    from augrnn.tasks.table_qa import TableQATask

    if isinstance(task, TableQATask):
        return TableProgrammer(task.input_size, config.hidden_size, config.embedding_size, config.program_steps, fast=fast,
                               selection_noise=config.selection_noise, operations=config.operations,
                               keep=config.keep, dropout=config.dropout,
                               column_inputs=config.column_inputs, op_pointer=config.op_pointer,
                               column_anchor=config.column_anchor,
                               word_operations=task.word_operations if config.column_anchor else None)
    raise ValueError(f"neural-programmer: no version for task {task.name!r}; use arithmetic or table-qa")


PRESETS[("neural-programmer", "arithmetic", "default")] = Preset(
    {"model_args.hidden_size": 32, "model_args.selection_noise": 1.0,
     "train.optimizer": "adam", "train.lr": 1e-2, "train.batch_size": 64, "train.steps": 6000,
     "train.clip_norm": 1.0, "train.curriculum": True, "train.curriculum_start": 1,
     "train.curriculum_threshold": 0.1, "train.eval_every": 250, "train.stop_error": 0.01,
     "train.stop_after_evals": 2, "fast": False},
    "augrnn choice (measured, BENCHMARKS.md); Adam as in Neelakantan et al. 2015",
)

#: Table QA (Neelakantan et al. 2015 §3-4: the 9 operations of its Table 1, T = 4 steps, Adam with
#: its default learning rate 1e-3, batches of 50, gradient clipping with a threshold from its grid
#: {1, 5, 50}). Sizes H = E = 64 and 10,000 steps are our choice for a 2-core CPU (the paper: d = 256);
#: ``noise`` adds the annealed gradient noise of arXiv 1511.06807 §4.3 (η = 1.0, γ = 0.55, after
#: clipping), ``dropout`` dropout 0.1. The global-norm clip of 50 matters for the noise: the
#: gradient norm is ~300-1000 before clipping, so at a clip of 1 the noise (norm ≈ √#params·σ_t ≈ 30-300)
#: swamped the signal (BENCHMARKS.md).
_TABLE_QA = {
    "model_args.hidden_size": 64, "model_args.embedding_size": 64, "model_args.program_steps": 4,
    "model_args.operations": "paper",
    "train.optimizer": "adam", "train.lr": 1e-3, "train.batch_size": 50, "train.steps": 10000,
    "train.clip_norm": 50.0, "train.eval_every": 250, "train.eval_batches": 4, "train.eval_batch_size": 250,
    "fast": False,
}
#: Session 17's default preset (BENCHMARKS.md; the ``text`` preset keeps it). Since session np5: the
#: column selector reads only the chosen operation (``column_inputs=operation``) and the training split
#: adds the training-only templates with the comparison on the second name; since session 17: the
#: four-step templates drawn 4× as often in training, the operation pointer by name, and six restarts
#: (seeds 0-5, two at a time), the one with the lowest dev error kept. 93.0 %: ``difference`` unsolved.
_TABLE_QA_SESSION17 = {
    **_TABLE_QA, "model_args.column_inputs": "operation",
    "task_args.train_extra": "sum_greater,sum_lesser,print_greater,print_lesser",
    "task_args.train_weights": "and_count=4,and_sum=4,or_count=4", "model_args.op_pointer": True,
    "restarts": 6, "restart_workers": 2,
}
#: The default preset (session 21, BENCHMARKS.md): session 17's plus the column anchor (the n-th use of
#: an operation reads the first column name after the question's n-th word naming it: the two ``sum``
#: steps of ``difference sum X sum Y`` read X and Y), an entropy bonus β = 50 on the operation choices
#: annealed to 0 over training (keeps the search over programs open), and the training-only ``or_sum``
#: (``or_count``'s program with a sum, whose answer "sum every row" does not approximate), the four-step
#: templates and ``or_sum`` 4× in training.
_TABLE_QA_DEFAULT = {
    **_TABLE_QA_SESSION17, "model_args.column_anchor": 10.0, "task_args.op_entropy": 50.0,
    "task_args.train_extra": "all",
    "task_args.train_weights": "and_count=4,and_sum=4,or_count=4,or_sum=4,difference=4",
}
PRESETS[("neural-programmer", "table-qa", "default")] = Preset(
    dict(_TABLE_QA_DEFAULT), "the 2015 paper's operations, T = 4, Adam 1e-3, batch 50, clip 50 (Neelakantan et al. "
    "2015); column selector asked by the operation alone, operation pointer, column anchor, annealed entropy "
    "bonus, training-only templates, four-step templates 4x in training, sizes, 10,000 steps and 6 restarts "
    "kept by dev: augrnn choices (measured, BENCHMARKS.md)")
#: Text entries (arXiv 1511.06807 §4.3's variant; the layout is ours, see augrnn.tasks.table_qa): two of
#: the five columns hold words, three text templates join the paper's twelve, and ``select`` (exact
#: equality with a pivot) joins the nine operations as the paper's text match.
PRESETS[("neural-programmer", "table-qa", "text")] = Preset(
    {**_TABLE_QA_SESSION17, "task_args.text_columns": 2,
     "model_args.operations": "sum,count,difference,greater,lesser,and,or,reset,print,select"},
    "session 17's default preset on tables with text entries (2 of 5 columns words, + text_count/text_sum/"
    "text_print; select as the text match): augrnn's choice, the papers do not give the data")
PRESETS[("neural-programmer", "table-qa", "noise")] = Preset(
    {**_TABLE_QA, "train.grad_noise_eta": 1.0, "train.grad_noise_gamma": 0.55},
    "the np4 base (no column_inputs/train_extra) + annealed gradient noise η = 1.0 after clipping "
    "(arXiv 1511.06807 §4.3)")
PRESETS[("neural-programmer", "table-qa", "dropout")] = Preset(
    {**_TABLE_QA, "model_args.dropout": 0.1}, "the np4 base + dropout 0.1 (arXiv 1511.06807 Table 4's dropout "
    "variant; the rate is ours)")
PRESETS[("neural-programmer", "table-qa", "dropout-noise")] = Preset(
    {**_TABLE_QA, "model_args.dropout": 0.1, "train.grad_noise_eta": 1.0, "train.grad_noise_gamma": 0.55},
    "the np4 base + dropout 0.1 + gradient noise η = 1.0")
