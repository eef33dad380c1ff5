"""Interactive views of a saved run: what ``augrnn show`` and ``augrnn serve`` draw.

A *view* is one model family's plug-in. It turns ``(cfg, model, task, device,
example)`` into JSON-able data plus the name of a front-end view, the JavaScript
function that draws that data in the browser. The report (:mod:`augrnn.viz.report`)
and the live explorer (:mod:`augrnn.viz.serve`) know nothing of any family:
they ask the view of ``cfg.model`` for examples and data, and inline every
front-end view found in ``augrnn/viz/static/views/*.js``.

Adding a family (the full recipe is in ``docs/views.md``):

1. subclass :class:`View` and register it, at the end of this file, with
   ``@register_view("<model>", ...)``;
2. write ``static/views/<frontend>.js`` calling ``AugrnnViews.register(...)``.

An *example* is a plain JSON object (a dict): what the user can edit in
``augrnn serve`` (a bit grid, a word, a story and a question). ``sample`` draws
one from the task, ``parse`` validates one sent by the browser, ``run`` runs the
model on it. The data ``run`` returns has a ``steps`` entry (the number of
positions the time slider walks through; 0 or absent for no slider) and may have
``step_label`` (what a position is) and ``help`` (one line shown above the pictures).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

__all__ = ["View", "VIEWS", "register_view", "get_view", "view_payload", "to_list",
           "MemoryView", "ACTView", "AttentionView", "ImageAttentionView", "HopAttentionView",
           "ProgrammerView"]

#: model name -> the view instance that draws it
VIEWS: dict[str, "View"] = {}


def register_view(*model_names: str):
    """Class decorator: register a :class:`View` subclass for ``model_names``.

    Mirrors :func:`augrnn.viz.run.register_figures`; the class is instantiated
    once (views hold no state between calls).
    """
    if not model_names:
        raise ValueError("register_view: give at least one model name")

    def decorator(cls):
        if not (isinstance(cls, type) and issubclass(cls, View)):
            raise ValueError(f"register_view: expected a View subclass, got {cls!r}")
        if not cls.frontend:
            raise ValueError(f"register_view: {cls.__name__}.frontend must name a front-end view")
        instance = cls()
        for name in model_names:
            VIEWS[name] = instance
        return cls

    return decorator


def get_view(model_name: str) -> "View | None":
    """The view registered for ``model_name``, or ``None``."""
    return VIEWS.get(model_name)


class View(ABC):
    """One model family's interactive pictures.

    Subclasses set :attr:`frontend` and implement :meth:`sample`, :meth:`parse`
    and :meth:`run`. Everything they return must be JSON-able (lists, dicts,
    str, int, finite float, None): use :func:`to_list` for arrays.
    """

    #: name of the JavaScript view, ``AugrnnViews.register(frontend, ...)`` in static/views/
    frontend: str = ""
    #: largest size scalar ``augrnn serve`` accepts for a sampled example (e.g. copy length)
    max_size: int = 1000

    @abstractmethod
    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        """Draw one example of ``task`` at ``size`` (``None``: the task's largest training size)."""

    @abstractmethod
    def parse(self, cfg, task, example: Any) -> dict:
        """Validate an example sent by the browser; return it normalised.

        Raise ``ValueError`` with a message naming the bad field (the server
        answers 400 with it). Bound every size: the server runs whatever passes.
        """

    @abstractmethod
    def run(self, cfg, model, task, device, example: dict) -> dict:
        """Run ``model`` on ``example`` (already under ``torch.no_grad()``); the data to draw."""

    def limits(self, cfg, task) -> dict:
        """Bounds shown to the user by ``/api/info``."""
        return {"max_size": self.max_size}


def view_payload(view: View, cfg, model, task, device, example: dict) -> dict:
    """``{"view", "example", "data"}``: one example drawn, as the front end expects it.

    Runs the model without gradients.
    """
    with torch.no_grad():
        data = view.run(cfg, model, task, device, example)
    return {"view": view.frontend, "example": example, "data": data}


def to_list(array, decimals: int = 3) -> list:
    """A numpy array or tensor as nested lists of rounded floats; NaN becomes ``None``."""
    if isinstance(array, torch.Tensor):
        array = array.detach().to("cpu").numpy()
    array = np.round(np.asarray(array, dtype=np.float64), decimals)
    if np.isnan(array).any():
        return np.where(np.isnan(array), None, array).tolist()
    return array.tolist()


# ---------------------------------------------------------------------------------------------
# NTM and LSTM on the bit-sequence tasks: input, target, output and head weightings over time,
# and the memory contents at the selected step.
# ---------------------------------------------------------------------------------------------

#: longest sequence (time steps) the memory view accepts: copy of length 1,000 is 2·1000+1 steps
MAX_STEPS = 2001
#: largest absolute value of an input entry
MAX_INPUT_VALUE = 10.0
#: most memory values (steps × slots × width) stored per example; beyond, every k-th step is kept
MEMORY_BUDGET = 400_000


def _copy_targets(task, inputs: np.ndarray):
    """Copy: the bits before the delimiter, expected after it (ARCHITECTURE.md's pinned encoding)."""
    W = task.config.width
    delimiters = np.flatnonzero(inputs[:, W] > 0.5)
    if len(delimiters) != 1:
        return None
    L = int(delimiters[0])
    if L < 1 or inputs.shape[0] != 2 * L + 1:
        return None
    targets = np.zeros((inputs.shape[0], W), np.float32)
    targets[L + 1 :] = (inputs[:L, :W] > 0.5)
    mask = np.zeros(inputs.shape[0], np.float32)
    mask[L + 1 :] = 1.0
    return targets, mask


def _repeat_copy_targets(task, inputs: np.ndarray):
    """Repeat copy: the bits before the delimiter, ``n`` times, then the end marker."""
    W = task.config.width
    delimiters = np.flatnonzero(inputs[:, W] > 0.5)
    if len(delimiters) != 1:
        return None
    L = int(delimiters[0])
    if L < 1 or inputs.shape[0] < L + 3:
        return None
    n = int(round(inputs[L + 1, W + 1] * task.repeat_std + task.repeat_mean))
    T = L + 2 + n * L + 1
    if n < 1 or inputs.shape[0] != T:
        return None
    targets = np.zeros((T, W + 1), np.float32)
    targets[L + 2 : L + 2 + n * L, :W] = np.tile(inputs[:L, :W] > 0.5, (n, 1))
    targets[T - 1, W] = 1.0
    mask = np.zeros(T, np.float32)
    mask[L + 2 :] = 1.0
    return targets, mask


#: task name -> targets_for(task, inputs [T, I]) -> (targets [T, O], mask [T]) or None, for edited inputs
TARGET_RULES = {"copy": _copy_targets, "repeat-copy": _repeat_copy_targets}


def _crop_slots(weights: np.ndarray) -> np.ndarray:
    from augrnn.viz.figures import used_slots

    return used_slots(weights)


def parse_input_grid(cfg, task, example: Any, *, max_rows: int, what: str = "time steps") -> np.ndarray:
    """Check an edited bit-vector example ``{"inputs": [[...], ...]}`` and return it as float32 ``[T, I]``.

    ``targets`` and ``mask`` may be sent and are ignored (views derive them); every
    row must have the task's input width, every entry be a finite number within
    ``±MAX_INPUT_VALUE``; at most ``max_rows`` rows. Raises ``ValueError`` naming the problem.
    """
    if not isinstance(example, dict):
        raise ValueError("example must be a JSON object with an 'inputs' array")
    unknown = set(example) - {"inputs", "targets", "mask"}
    if unknown:
        raise ValueError(f"example has unknown fields {sorted(unknown)}; expected 'inputs' (and optionally 'targets', 'mask')")
    inputs = example.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ValueError(f"example.inputs must be a non-empty list of {what}, each a list of {task.input_size} numbers")
    if len(inputs) > max_rows:
        raise ValueError(f"example.inputs has {len(inputs)} {what}; at most {max_rows} are allowed")
    for t, row in enumerate(inputs):
        if not isinstance(row, list) or len(row) != task.input_size:
            raise ValueError(f"example.inputs[{t}] must be a list of {task.input_size} numbers (the input width of {cfg.task})")
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > MAX_INPUT_VALUE:
                raise ValueError(f"example.inputs[{t}] holds {value!r}; entries must be finite numbers in [-{MAX_INPUT_VALUE:g}, {MAX_INPUT_VALUE:g}]")
    return np.asarray(inputs, dtype=np.float32)


@register_view("ntm", "lstm")
class MemoryView(View):
    """NTM and LSTM on the bit tasks: bit grids and head weightings, slots × time.

    Example: ``{"inputs": [T][I], "targets": [T][O] or null, "mask": [T] or null}``.
    Data: ``steps`` (T), ``panels`` (heat maps over time: input, target, output,
    then each write and read head's weighting over the used memory slots, or the
    LSTM's top hidden layer) and, for the NTM, ``memory`` (the contents of the
    shown slots after chosen steps, and which panels are heads).
    """

    frontend = "memory"

    def limits(self, cfg, task) -> dict:
        return {"max_size": self.max_size, "max_steps": MAX_STEPS, "max_input_value": MAX_INPUT_VALUE}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        if size is not None and not (1 <= size <= self.max_size):
            raise ValueError(f"size ({task.size_name}) must be between 1 and {self.max_size}, got {size}")
        size = task.train_size_range[1] if size is None else size
        batch = task.sample(1, np.random.default_rng(seed), size=size)
        inputs = batch.inputs[0].numpy()
        if inputs.shape[0] > MAX_STEPS:
            raise ValueError(
                f"{task.size_name} {size} gives a sequence of {inputs.shape[0]} steps; at most {MAX_STEPS} are shown"
            )
        return {"inputs": to_list(inputs, 4), "targets": to_list(batch.targets[0], 4), "mask": to_list(batch.mask[0], 4)}

    def parse(self, cfg, task, example: Any) -> dict:
        array = parse_input_grid(cfg, task, example, max_rows=MAX_STEPS)
        rule = TARGET_RULES.get(task.name)
        derived = rule(task, array) if rule is not None else None
        out = {"inputs": to_list(array, 4), "targets": None, "mask": None}
        if derived is not None:
            out["targets"], out["mask"] = to_list(derived[0], 4), to_list(derived[1], 4)
        return out

    def run(self, cfg, model, task, device, example: dict) -> dict:
        inputs = torch.tensor(example["inputs"], dtype=torch.float32, device=device).unsqueeze(0)  # [1, T, I]
        logits, trace = model(inputs, return_trace=True)
        T = inputs.shape[1]
        outputs = torch.sigmoid(logits[0]).cpu().numpy()  # [T, O]
        targets = np.asarray(example["targets"], np.float32) if example.get("targets") is not None else None
        mask = np.asarray(example["mask"], np.float32) if example.get("mask") is not None else None
        if mask is not None:
            outputs = np.where(mask[:, None] > 0, outputs, np.nan)
            if targets is not None:
                targets = np.where(mask[:, None] > 0, targets, np.nan)

        def bits_panel(name, values, kind="bits"):
            return {"name": name, "kind": kind, "rows": [f"channel {i}" for i in range(values.shape[1])],
                    "z": to_list(values.T, 3)}

        panels = [bits_panel("input", np.asarray(example["inputs"], np.float32), "input")]
        if targets is not None:
            panels.append(bits_panel("target", targets))
        panels.append(bits_panel("output", outputs, "output"))

        data: dict[str, Any] = {"steps": T, "step_label": "time step", "title": f"{cfg.model} on {cfg.task}",
                                "panels": panels, "scored": None if mask is None else to_list(mask, 0)}
        if hasattr(trace, "write_weights"):  # NTM: heads and memory
            write = trace.write_weights[0].cpu().numpy()  # [T, H, N]
            read = trace.read_weights[0].cpu().numpy()  # [T, R, N]
            slots = _crop_slots(np.concatenate([write, read], axis=1))
            labels = [f"slot {s}" for s in slots]
            heads = []
            for kind, weights in (("write", write), ("read", read)):
                for h in range(weights.shape[1]):
                    heads.append(len(panels))
                    panels.append({"name": f"{kind} head {h}", "kind": kind, "rows": labels,
                                   "z": to_list(weights[:, h, slots].T, 3)})
            memory = trace.memory[0][:, torch.as_tensor(slots, device=trace.memory.device)].cpu().numpy()  # [T, n, W]
            every = max(1, math.ceil(memory.size / MEMORY_BUDGET))
            kept = list(range(0, T, every))
            if kept[-1] != T - 1:
                kept.append(T - 1)
            data["help"] = ("The outlined column is the selected time step. Below: the memory after that step, "
                            "each head's weighting at that step, and the slot each head focuses on, outlined.")
            data["memory"] = {
                "rows": labels,
                "columns": [f"word {i}" for i in range(memory.shape[-1])],
                "steps": kept,  # memory is stored after these steps (all of them unless the sequence is long)
                "values": [to_list(memory[t], 3) for t in kept],
                "heads": heads,  # indices into panels of the head weightings
                "range": [float(np.round(memory.min(), 3)), float(np.round(memory.max(), 3))],
            }
        elif hasattr(trace, "hidden"):  # LSTM: the top layer's hidden state
            hidden = trace.hidden[0].cpu().numpy()  # [T, C]
            panels.append({"name": "hidden state (top layer)", "kind": "activation",
                           "rows": [f"unit {i}" for i in range(hidden.shape[1])], "z": to_list(hidden.T, 3)})
            data["help"] = "The outlined column is the selected time step. The LSTM has no memory or heads: its top layer's hidden state is shown instead."
        return data


# ---------------------------------------------------------------------------------------------
# ACT (Graves 2016) on parity, logic, addition and sort: the input over input steps, target and
# output, the ponder time per input step under the input (Graves's Figures 6, 10, 13, 17) and the
# halting distribution p_t^n (ponder steps × input steps).
# ---------------------------------------------------------------------------------------------

#: parity: how many vectors (independent one-step sequences, shown side by side) an example holds
ACT_PARITY_VECTORS = 8
#: parity: most vectors an edited example may hold
ACT_MAX_VECTORS = 64
#: the other ACT tasks: longest input sequence accepted (sort of 200 numbers is 400 steps)
ACT_MAX_STEPS = 400


def _act_is_parity(task) -> bool:
    return task.name == "parity"


def _act_input_rows(task) -> list[str]:
    """Names of the input elements: what each row of the input picture encodes (the tasks' docstrings)."""
    if task.name == "logic":  # b0, b1, then max_gates one-hot chunks over Table 1's gates
        from augrnn.tasks.act import LOGIC_GATES

        return ["b0", "b1"] + [f"gate {i + 1}: {g}" for i in range(task.config.max_gates) for g in LOGIC_GATES]
    if task.name == "addition":  # max_digits one-hot digits, most significant first
        return [f"digit {d + 1}: {k}" for d in range(task.config.max_digits) for k in range(10)]
    if task.name == "sort":
        return ["number", "end flag"]
    return [f"element {i}" for i in range(task.input_size)]


@register_view("act")
class ACTView(View):
    """ACT on its four tasks: input, target, output, ponder bars and halting distribution per input step.

    Example: ``{"inputs": [T][I], "targets": [T][G] or null, "mask": [T] or null}``.
    For parity, each of the ``T`` rows is one input vector, an independent
    one-step sequence (the model runs them as a batch), entries in {−1, 0, +1};
    ``sample`` draws :data:`ACT_PARITY_VECTORS` of them with 1 to ``size`` non-zero
    bits (growing difficulty, as in Graves's Figure 6); ``parse`` recomputes the
    targets of an edited grid. For logic, addition and sort, ``T`` is one
    sequence's input steps; ``sample`` gives its targets and mask, an example sent
    by the browser is run without targets (``targets`` and ``mask`` are ignored).

    Data: ``steps`` (T), ``input``/``target``/``output`` panels (``rows``, ``z`` [rows][T]),
    ``ponder`` (ρ_t = N(t) + R(t), eq. (10)), ``ponder_steps`` (N(t)), ``halting``
    (p_t^n, ``z`` [n][T] for n up to the largest N(t)), ``max_steps`` (M).
    """

    frontend = "act"
    max_size = 200

    def limits(self, cfg, task) -> dict:
        if _act_is_parity(task):
            return {"max_size": task.config.vector_size, "max_vectors": ACT_MAX_VECTORS, "values": [-1, 0, 1]}
        return {"max_size": self.max_size, "max_steps": ACT_MAX_STEPS, "max_input_value": MAX_INPUT_VALUE}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        largest = task.config.vector_size if _act_is_parity(task) else self.max_size
        if size is not None and not (1 <= size <= largest):
            raise ValueError(f"size ({task.size_name}) must be between 1 and {largest}, got {size}")
        size = task.train_size_range[1] if size is None else size
        rng = np.random.default_rng(seed)
        if _act_is_parity(task):  # vectors of growing difficulty: 1 .. size non-zero bits
            bits = np.linspace(1, size, ACT_PARITY_VECTORS).round().astype(int)
            batches = [task.sample(1, rng, size=int(b)) for b in bits]
            inputs = torch.cat([b.inputs[:, 0] for b in batches]).numpy()  # [K, V]
            targets = torch.cat([b.targets[:, 0] for b in batches]).numpy()  # [K, 1]
            return {"inputs": to_list(inputs, 0), "targets": to_list(targets, 0), "mask": None}
        batch = task.sample(1, rng, size=size)  # raises ValueError beyond the task's largest size
        T = int(batch.valid[0].sum().item())
        if T > ACT_MAX_STEPS:
            raise ValueError(f"{task.size_name} {size} gives {T} input steps; at most {ACT_MAX_STEPS} are shown")
        targets = batch.targets[0, :T]
        return {"inputs": to_list(batch.inputs[0, :T], 4),
                "targets": targets.tolist() if task.classes else to_list(targets, 0),
                "mask": to_list(batch.mask[0, :T], 0)}

    def parse(self, cfg, task, example: Any) -> dict:
        parity = _act_is_parity(task)
        what = "input vectors" if parity else "input steps"
        array = parse_input_grid(cfg, task, example, max_rows=ACT_MAX_VECTORS if parity else ACT_MAX_STEPS, what=what)
        if parity and not np.isin(array, (-1.0, 0.0, 1.0)).all():
            t = int(np.argwhere(~np.isin(array, (-1.0, 0.0, 1.0)))[0, 0])
            bad = next(v for v in example["inputs"][t] if v not in (-1, 0, 1))
            raise ValueError(f"example.inputs[{t}] holds {bad!r}; parity entries must be -1, 0 or 1")
        if parity:  # the target of an edited vector: 1 if the number of +1s is odd (§3.1)
            targets = ((array == 1).sum(-1, keepdims=True) % 2).astype(np.float32)
            return {"inputs": to_list(array, 0), "targets": to_list(targets, 0), "mask": None}
        return {"inputs": to_list(array, 4), "targets": None, "mask": None}

    def run(self, cfg, model, task, device, example: dict) -> dict:
        parity = _act_is_parity(task)
        inputs = torch.tensor(example["inputs"], dtype=torch.float32, device=device)  # [T, I]
        # parity: T independent one-step sequences (a batch); otherwise one sequence of T steps
        batch = inputs.unsqueeze(1) if parity else inputs.unsqueeze(0)
        logits, trace = model(batch, return_trace=True)
        pick = (lambda x: x[:, 0]) if parity else (lambda x: x[0])  # noqa: E731 - [T, ...] either way
        logits = pick(logits)  # [T, O]
        ponder, taken, weights = pick(trace.ponder), pick(trace.steps), pick(trace.halting_weights)  # [T], [T], [T, M]
        T = inputs.shape[0]
        mask = np.asarray(example["mask"], np.float32) if example.get("mask") is not None else np.ones(T, np.float32)
        scored = mask[:, None] > 0
        if task.classes:
            G = logits.shape[-1] // task.classes
            outputs = logits.reshape(T, G, task.classes).argmax(-1).cpu().numpy().astype(np.float64)  # [T, G]
            kind, rows = "class", [f"digit {g}" for g in range(G)] if G > 1 else ["index"]
        else:
            outputs = torch.sigmoid(logits).cpu().numpy().astype(np.float64)  # [T, O]
            kind, rows = "probability", ["output"]
        outputs = np.where(scored, outputs, np.nan)
        targets = None
        if example.get("targets") is not None:
            targets = np.where(scored, np.asarray(example["targets"], np.float64), np.nan)
        n_max = max(1, int(taken.max().item()))
        if parity:
            labels = [f"vector {k}" for k in range(T)]
            help_text = ("Each column is one input vector (a separate sequence). The outlined column is the selected one; "
                         "bars: ponder time ρ = N + R, how long ACT thought; bottom: its halting distribution over ponder steps.")
        else:
            labels = [f"step {t}" for t in range(T)]
            help_text = ("The outlined column is the selected input step. Bars under the input: ponder time ρ = N + R at each "
                         "step; bottom: the halting distribution, the weight p of each ponder step in the step's output.")
        input_rows = _act_input_rows(task)
        return {
            "steps": T, "step_label": "input vector" if parity else "input step",
            "title": f"act on {cfg.task} (τ = {cfg.model_args.time_penalty:g}, M = {cfg.model_args.max_steps})",
            "help": help_text, "columns": labels, "kind": kind,
            "input": {"rows": input_rows, "z": to_list(inputs.T, 3)},
            "target": None if targets is None else {"rows": rows, "z": to_list(targets.T, 3)},
            "output": {"rows": rows, "z": to_list(outputs.T, 3)},
            "classes": task.classes,
            "ponder": to_list(ponder, 3), "ponder_steps": to_list(taken, 0),
            "halting": {"rows": [f"ponder step {n}" for n in range(1, n_max + 1)], "z": to_list(weights[:, :n_max].T, 3)},
            "max_steps": int(cfg.model_args.max_steps),
            "scored": to_list(mask, 0),
        }


# ---------------------------------------------------------------------------------------------
# Attentional seq2seq on G2P: a word in, phones out; the attention matrix (output phones × input
# letters), the most likely phones at every output step, and greedy against beam search.
# ---------------------------------------------------------------------------------------------

#: longest word the G2P view accepts (CMUdict's longest headword has 28 letters)
MAX_WORD_LETTERS = 40
#: most likely phones listed per output step
TOP_CANDIDATES = 5
#: beam of the beam search shown next to the run's own decoding
VIEW_BEAM = 5


def _check_fields(example: Any, allowed: set, required: set, what: str) -> None:
    if not isinstance(example, dict):
        raise ValueError(f"example must be a JSON object {what}")
    unknown = set(example) - allowed
    if unknown:
        raise ValueError(f"example has unknown fields {sorted(unknown)}; expected {what}")
    missing = required - set(example)
    if missing:
        raise ValueError(f"example is missing {sorted(missing)}; expected {what}")


@register_view("seq2seq")
class AttentionView(View):
    """Seq2seq on G2P: which letters each output phone attends to.

    Example: ``{"word": "cat"}`` (lower-case ``a-z`` and ``'``, 1 to :data:`MAX_WORD_LETTERS` letters).
    Data: ``steps`` (output steps, the end token included when emitted), ``inputs``
    (letters), ``outputs`` (phones, then ``</s>``), ``weights [step][letter]`` (the
    decoding's attention α_t, Bahdanau et al. 2014 §3.1), ``candidates`` (per step the
    :data:`TOP_CANDIDATES` most likely next phones given the output so far, teacher-forced
    on the decoded output), ``decodings`` (the run's decoding and a beam search of
    :data:`VIEW_BEAM`, each with its phones and log-probability) and ``references``
    (the word's CMUdict pronunciations and split, if it is a headword).
    """

    frontend = "attention"
    max_size = MAX_WORD_LETTERS

    def limits(self, cfg, task) -> dict:
        return {"max_size": self.max_size, "max_word_letters": MAX_WORD_LETTERS, "alphabet": "a-z and '"}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        """A word with ``size`` letters (any length if ``None``) of the evaluation split, unseen in training.

        When the evaluation split has no word that long (its longest words are shorter
        than the training split's), a training word; the view then says it was seen in
        training. ``ValueError`` if no CMUdict word has ``size`` letters.
        """
        if size is not None and not (1 <= size <= self.max_size):
            raise ValueError(f"size ({task.size_name}) must be between 1 and {self.max_size}, got {size}")
        rng = np.random.default_rng(seed)
        for split in (task.config.eval_split, "train"):
            words = [w for w in task.split_words(split) if size is None or len(w) == size]
            if words:
                return {"word": words[int(rng.integers(0, len(words)))]}
        from augrnn.tasks.g2p import load_lexicon

        longest = max(len(w) for split in load_lexicon().values() for w in split)
        raise ValueError(f"size ({task.size_name}): no CMUdict word has {size} letters (the longest has {longest})")

    def parse(self, cfg, task, example: Any) -> dict:
        _check_fields(example, {"word"}, {"word"}, "with a 'word' string")
        word = example["word"]
        if not isinstance(word, str):
            raise ValueError(f"example.word must be a string, got {type(word).__name__}")
        if not 1 <= len(word) <= MAX_WORD_LETTERS:
            raise ValueError(f"example.word must have 1 to {MAX_WORD_LETTERS} letters, got {len(word)}")
        from augrnn.tasks.g2p import WORD_PATTERN

        if not WORD_PATTERN.match(word):
            bad = next(ch for ch in word if not WORD_PATTERN.match(ch))
            raise ValueError(f"example.word may hold only lower-case letters a-z and the apostrophe ', got {bad!r} in {word!r}")
        return {"word": word}

    def run(self, cfg, model, task, device, example: dict) -> dict:
        from augrnn.tasks.g2p import BOS, EOS, _vocab, load_lexicon

        word = example["word"]
        inputs = task.model_inputs([word], device)  # source [1, S] (and the retrieved memory)
        decoded = task.decode(model, **inputs)
        n = int(decoded.lengths[0])
        ended = n < decoded.tokens.shape[1] and int(decoded.tokens[0, n]) == EOS
        steps = n + int(ended)
        phones = list(task.phones_of(decoded.tokens, decoded.lengths)[0])
        labels, weights = task.attention_columns([word], decoded.weights[:, :steps])[0]  # α [L, S (+ R)]

        # the most likely next phones at every step, given the decoded output before it (teacher forcing)
        target_in = torch.cat([torch.full((1, 1), BOS, dtype=torch.long, device=device), decoded.tokens[:, : steps - 1]], 1)
        memory = {"memory": inputs["memory"]} if "memory" in inputs else {}
        logits = model(inputs["source"], inputs["source_mask"], target_in, **memory)[0]  # [L, V]
        never = torch.zeros(logits.shape[-1], dtype=torch.bool, device=device)
        never[:BOS + 1] = True  # padding and begin are never emitted
        probs = torch.softmax(logits.masked_fill(never, float("-inf")), -1)
        top = probs.topk(min(TOP_CANDIDATES, probs.shape[-1]), -1)
        _, names = _vocab()

        decodings = [{"name": "greedy" if task.config.beam_size == 1 else f"beam search, beam {task.config.beam_size}",
                      "phones": phones, "log_prob": round(float(decoded.scores[0]), 3)}]
        if task.config.beam_size != VIEW_BEAM:
            beam = model.beam_search(beam_size=VIEW_BEAM, length_penalty=task.config.length_penalty, **inputs)
            decodings.append({"name": f"beam search, beam {VIEW_BEAM}",
                              "phones": list(task.phones_of(beam.tokens, beam.lengths)[0]),
                              "log_prob": round(float(beam.scores[0]), 3)})
        split, references = None, []
        for name, words in load_lexicon().items():
            if word in words:
                split, references = name, [list(r) for r in words[word]]
        return {
            "steps": steps, "step_label": "output phone", "title": f"{cfg.model} on {cfg.task}",
            "help": ("Rows: the phones the model wrote (top to bottom), columns: the letters of the word"
                     + (" then the retrieved neighbours (their letters, upper case where shared with the word, "
                        "→ their phones /…/, | between neighbours; the model attends over the word and over the "
                        "neighbours apart, each row of each part sums to 1)" if len(labels) > len(word) else "")
                     + ". The outlined row is the selected output step; below, its attention over the letters "
                     "and the phones it found most likely at that step."),
            "inputs": labels, "outputs": phones + (["</s>"] if ended else []),
            "input_label": "letters, then retrieved neighbours" if len(labels) > len(word) else "input letters",
            "weights": to_list(weights, 3),
            "candidates": {"tokens": [[names[i] for i in row] for row in top.indices.tolist()],
                           "probs": to_list(top.values, 3)},
            "decodings": decodings, "split": split, "references": references,
        }


# ---------------------------------------------------------------------------------------------
# The image reader on digit strips: the strip with each output digit's attention over it.
# ---------------------------------------------------------------------------------------------

#: largest seed of an edited strip (it picks the handwriting, gaps and offsets)
MAX_STRIP_SEED = 2**32 - 1


@register_view("reader")
class ImageAttentionView(View):
    """The reader on digit strips: where on the image each output digit looks.

    Example: ``{"digits": [3, 1, 4], "seed": 0}``: the strip shows these digits
    (1 to the task's ``max_digits``, each 0-9), each a test-split image of that
    digit, with gaps and offsets drawn from ``seed`` (:meth:`DigitStripTask.render_digits`).
    Data: ``steps`` (output tokens, the end token included when emitted), ``image
    [H][W]``, ``outputs`` (token labels), ``maps [step][H][W]`` (attention α_t over
    the feature grid, Xu et al. 2015 §3.1.2, repeated over the pixels it covers; each
    map sums to 1 over the grid), ``columns [step][W]`` (attention per pixel column),
    ``truth`` and ``read`` (digit strings).
    """

    frontend = "image-attention"
    max_size = 64  # the task's canvas bounds it further (max_digits)

    def limits(self, cfg, task) -> dict:
        return {"max_size": task.config.max_digits, "max_digits": task.config.max_digits, "max_seed": MAX_STRIP_SEED}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        top = task.config.max_digits
        if size is not None and not (1 <= size <= top):
            raise ValueError(f"size ({task.size_name}) must be between 1 and {top} (the strip's width), got {size}")
        size = top if size is None else size
        digits = np.random.default_rng(seed).integers(0, 10, size).tolist()
        return {"digits": digits, "seed": int(seed)}

    def parse(self, cfg, task, example: Any) -> dict:
        top = task.config.max_digits
        _check_fields(example, {"digits", "seed"}, {"digits"}, "with 'digits' (a list of 0-9) and optionally 'seed'")
        digits, seed = example["digits"], example.get("seed", 0)
        if not isinstance(digits, list) or not 1 <= len(digits) <= top:
            raise ValueError(f"example.digits must be a list of 1 to {top} digits, got {digits!r:.80}")
        for d in digits:
            if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 9:
                raise ValueError(f"example.digits holds {d!r}; each digit must be an integer 0-9")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_STRIP_SEED:
            raise ValueError(f"example.seed must be an integer between 0 and {MAX_STRIP_SEED}, got {seed!r:.40}")
        return {"digits": list(digits), "seed": seed}

    def run(self, cfg, model, task, device, example: dict) -> dict:
        image = task.render_digits(example["digits"], np.random.default_rng(example["seed"]))  # [H, W]
        images = torch.as_tensor(image, device=device)[None, None]  # [1, 1, H, W]
        decoded = model.greedy(images, max_length=task.config.max_digits + 1)
        h, w = model.features(images).shape[2:]  # the feature grid
        H, W = image.shape
        steps = min(int(decoded.lengths[0]) + 1, decoded.tokens.shape[1])  # the digits and the end token, if any
        tokens = decoded.tokens[0, :steps].tolist()
        labels = [str(t - 3) if t >= 3 else "</s>" for t in tokens]
        maps = decoded.weights[0, :steps].reshape(steps, h, w).cpu().numpy()  # α [L, h, w]
        ry, rx = H // h, W // w  # pixels per grid cell (2x2: the CNN's max-pool)
        up = np.zeros((steps, H, W))  # [L, H, W]: a grid cell's weight on each of its pixels; a last odd
        up[:, : h * ry, : w * rx] = np.kron(maps, np.ones((1, ry, rx)))  # row/column the pool drops stays 0
        columns = up.sum(1) / (ry * rx)  # [L, W]: the attention falling on each pixel column (sums to 1)
        return {
            "steps": steps, "step_label": "output digit", "title": f"{cfg.model} on {cfg.task}",
            "help": ("Top: the strip, with the attention of the selected output digit over it (bright = attended). "
                     "Below: for every output digit (rows), how much attention falls on each pixel column; "
                     "the outlined row is the selected digit."),
            "image": to_list(image, 3), "outputs": labels, "grid": [int(h), int(w)],
            "maps": to_list(up, 4), "columns": to_list(columns, 4),
            "truth": "".join(str(d) for d in example["digits"]), "read": "".join(l for l in labels if l != "</s>"),
        }
# End-to-end memory networks on bAbI: the story's sentences × hops attention, the question and
# the answer (Sukhbaatar et al. 2015, §2: p^k = Softmax(u^kᵀ m^k) for hop k).
# ---------------------------------------------------------------------------------------------

#: most story sentences the memn2n view accepts (the paper's memory size)
MAX_SENTENCES = 50
#: most UTF-8 bytes of story + question text
MAX_TEXT_BYTES = 1024
#: answers listed with their probability
TOP_ANSWERS = 5


@register_view("memn2n")
class HopAttentionView(View):
    """MemN2N on bAbI: which sentence of the story each hop attends to.

    Example: ``{"story": "one sentence per line", "question": str, "answer": str or null (the
    truth, if known), "supporting": [sentence index] or null (the supporting facts, if known)}``.
    ``sample``'s size is the bAbI task id; stories come from the run's test split.

    Data: ``steps`` (K hops), ``sentences`` [S], ``question``, ``attention`` [S][K] (p^k_i; raw
    scores uᵀm_i while the model is in linear start, ``linear`` true), ``focus`` [K] (the most
    attended sentence per hop), ``supporting``, and ``answer``: ``{"predicted", "truth",
    "correct", "top": [{"word", "p"}]}`` (softmax over the vocabulary, padding excluded).
    """

    frontend = "memn2n"
    max_size = 20  # bAbI task ids

    def _max_sentences(self, task) -> int:
        return min(MAX_SENTENCES, int(task.config.memory_size))

    def limits(self, cfg, task) -> dict:
        return {"max_size": self.max_size, "max_sentences": self._max_sentences(task), "max_text_bytes": MAX_TEXT_BYTES}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        task_id = task.task_ids[0] if size is None else size
        if task_id not in task.task_ids:
            raise ValueError(f"size (bAbI task) must be one of this run's tasks {list(task.task_ids)}, got {task_id}")
        split = task.split("test")
        indices = task._task_indices(split, task_id)
        index = int(indices[np.random.default_rng(seed).integers(len(indices))])
        rows = task.story_rows[split.starts[index]:split.ends[index]][-self._max_sentences(task):]
        words = lambda ids: " ".join(task.vocab[i] for i in ids if i)  # noqa: E731
        sentences = [words(task.sentences[r]) + "." for r in rows]
        supporting = sorted(len(sentences) - 1 - int(r) for r in split.support[index] if 0 <= r < len(sentences))
        return {"story": "\n".join(sentences), "question": words(split.query[index]) + "?",
                "answer": task.vocab[int(split.answer[index])], "supporting": supporting}

    def parse(self, cfg, task, example: Any) -> dict:
        from augrnn.tasks.babi.format import tokenize

        if not isinstance(example, dict):
            raise ValueError("example must be a JSON object with 'story' and 'question' strings")
        unknown = set(example) - {"story", "question", "answer", "supporting"}
        if unknown:
            raise ValueError(f"example has unknown fields {sorted(unknown)}; expected 'story', 'question' "
                             f"(and optionally 'answer', 'supporting')")
        story, question = example.get("story"), example.get("question")
        if not isinstance(story, str) or not isinstance(question, str):
            raise ValueError("example.story and example.question must be strings (the story one sentence per line)")
        size = len(story.encode("utf-8")) + len(question.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise ValueError(f"example.story and example.question hold {size} bytes of text; at most {MAX_TEXT_BYTES} are allowed")
        sentences = [line.strip() for line in story.splitlines() if tokenize(line)]
        limit = self._max_sentences(task)
        if not sentences:
            raise ValueError("example.story must hold at least one sentence (one per line)")
        if len(sentences) > limit:
            raise ValueError(f"example.story has {len(sentences)} sentences; at most {limit} are allowed")
        question = question.strip()
        if not tokenize(question):
            raise ValueError("example.question must hold at least one word")
        answer = example.get("answer")
        if answer is not None and (not isinstance(answer, str) or len(tokenize(answer)) != 1 or len(answer) > 64):
            raise ValueError(f"example.answer must be null or one word (the true answer), got {answer!r}")
        vocabulary = set(task.vocab[1:])
        texts = sentences + [question] + ([answer] if answer is not None else [])
        missing = sorted({w for text in texts for w in tokenize(text) if w not in vocabulary})
        if missing:
            raise ValueError(f"words not in the run's vocabulary: {', '.join(repr(w) for w in missing[:20])}"
                             f"{' ...' if len(missing) > 20 else ''} (the vocabulary of {task.describe()})")
        supporting = example.get("supporting")
        if supporting is not None:
            if (not isinstance(supporting, list) or len(supporting) > limit
                    or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(sentences) for i in supporting)):
                raise ValueError(f"example.supporting must be null or a list of sentence indices in [0, {len(sentences)})")
            supporting = sorted(set(supporting))
        return {"story": "\n".join(sentences), "question": question,
                "answer": None if answer is None else tokenize(answer)[0], "supporting": supporting}

    def run(self, cfg, model, task, device, example: dict) -> dict:
        sentences = example["story"].split("\n")
        batch = task.encode(sentences, example["question"], device)  # the same encoding as `augrnn predict`
        logits, trace = task.forward(model, batch)
        attention = trace.attention[0, :, : len(sentences)].T  # p^k_i: [S, K]
        probs = torch.softmax(logits[0, 1:], dim=-1)  # the padding symbol is never an answer
        top = torch.topk(probs, min(TOP_ANSWERS, probs.shape[0]))
        words = [task.vocab[int(i) + 1] for i in top.indices]
        predicted, truth = words[0], example.get("answer")
        linear = bool(getattr(model, "linear", False))
        return {
            "steps": int(attention.shape[1]), "step_label": "hop",
            "title": f"{cfg.model} on {task.describe()}",
            "help": ("Each column is a hop: the colour of a sentence is how much that hop attends to it; ★ marks the "
                     "supporting facts, the outlined column is the selected hop and the box its most attended sentence."
                     + (" The model is in linear start: the values are raw scores uᵀm, not probabilities." if linear else "")),
            "sentences": sentences, "question": example["question"], "linear": linear,
            "attention": to_list(attention, 3),
            "focus": [int(i) for i in attention.argmax(0)],
            "supporting": example.get("supporting") or [],
            "answer": {"predicted": predicted, "truth": truth, "correct": None if truth is None else predicted == truth,
                       "top": [{"word": w, "p": round(float(p), 4)} for w, p in zip(words, top.values)]},
        }


# Neural Programmer: the program the model wrote, operations (and columns) × program steps; for
# table-qa the table with the rows selected after the chosen step, and the answer vs the truth.
# ---------------------------------------------------------------------------------------------

#: largest absolute value of a number typed into an arithmetic expression or a table question
NP_MAX_NUMBER = 1e6
#: longest question text (UTF-8 bytes)
NP_MAX_TEXT_BYTES = 1024
#: largest table seed (the table is example ``table_seed`` of the task's test split)
NP_MAX_SEED = 2**32 - 1


def _np_number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > NP_MAX_NUMBER:
        raise ValueError(f"{field} holds {value!r}; expected a finite number in [-{NP_MAX_NUMBER:g}, {NP_MAX_NUMBER:g}]")
    return float(value)


def _np_check_fields(example: Any, required: set[str], what: str) -> None:
    if not isinstance(example, dict):
        raise ValueError(f"example must be a JSON object with {what}")
    unknown = set(example) - required
    missing = required - set(example)
    if unknown or missing:
        raise ValueError(f"example has unknown fields {sorted(unknown)} / lacks {sorted(missing)}; expected {what}")


def _np_arithmetic_operands(cfg, task) -> int:
    """N, the most operands the arithmetic model reads (as the registry builds it)."""
    return cfg.model_args.max_operands or task.config.max_depth + 1


def _np_table_example(task, example: dict) -> dict:
    """The task's example dict (words, numbers, table, names, template, scalar, lookup) of an edited question.

    The table, its column names and the allowed templates come from example ``table_seed`` of the
    test split; the words must fit one of the task's question forms (raises ``ValueError`` otherwise).
    """
    from augrnn.tasks.table_qa import (MAX_NUMBERS, MAX_QUESTION, TEXT_WORDS, VOCABULARY, answer_question,
                                       parse_question, text_code)

    base = task.examples("test", [example["table_seed"]])[0]
    tokens = example["question"].split()
    if not tokens or len(tokens) > MAX_QUESTION:
        raise ValueError(f"example.question must have 1 to {MAX_QUESTION} words, got {len(tokens)}")
    words, numbers = [], []
    vocabulary = VOCABULARY[2:task.input_size]  # a text variant's words are its last ones
    for token in tokens:
        if token in TEXT_WORDS and token in vocabulary:  # a text entry: its code is its "number"
            words.append(token)
            numbers.append(float(text_code(task.config, TEXT_WORDS.index(token))))
            continue
        if token in vocabulary:
            words.append(token)
            continue
        try:
            number = float(token)
        except ValueError:
            raise ValueError(f"example.question: {token!r} is neither a number nor a word of the task's vocabulary "
                             f"({' '.join(vocabulary)})") from None
        numbers.append(_np_number(number, f"example.question's number {token!r}"))
        words.append("<num>")
    if len(numbers) > MAX_NUMBERS:
        raise ValueError(f"example.question has {len(numbers)} numbers; at most {MAX_NUMBERS} are allowed")
    template, columns = parse_question(words, base["names"], task.template_names)
    scalar, lookup = answer_question(template, base["table"], columns, numbers)
    return {"words": words, "numbers": numbers, "table": base["table"], "names": base["names"], "template": template,
            "scalar": scalar, "lookup": lookup}


@register_view("neural-programmer")
class ProgrammerView(View):
    """Neural Programmer on arithmetic and table-qa: the program written, step by step.

    Examples: arithmetic ``{"numbers": [a_0 … a_d], "operators": "+-*/"-string of d symbols}``;
    table-qa ``{"question": "greater 17.5 A sum B", "table_seed": S}`` (the table is example S of
    the test split; the question must fit one of the task's question forms with that table's
    column names). Data: ``kind`` (arithmetic|table), ``steps`` (program steps), ``operations``
    and ``ops`` ([K][T] α^op of the test-time program), the program's text, its answer and the
    truth; table-qa adds ``columns``, ``cols`` ([C][T] α^col), ``table`` ([M][C]), ``rows``
    ([T][M] the row selection after each step) and the lookup cells of the answer and the truth.
    """

    frontend = "programmer"

    def limits(self, cfg, task) -> dict:
        if cfg.task == "table-qa":
            from augrnn.tasks.table_qa import QUESTION_FORMS

            return {"max_size": self.max_size, "max_text_bytes": NP_MAX_TEXT_BYTES, "max_table_seed": NP_MAX_SEED,
                    "max_number": NP_MAX_NUMBER,
                    "question_forms": [QUESTION_FORMS[t].replace("<num>", "N").replace("<word>", "W")
                                       for t in task.template_names]}
        return {"max_size": self.max_size, "max_operands": _np_arithmetic_operands(cfg, task), "max_number": NP_MAX_NUMBER}

    def sample(self, cfg, task, size: int | None, seed: int) -> dict:
        if cfg.task == "table-qa":
            if size is not None and size != task.config.columns:
                raise ValueError(f"size (columns) is fixed by the run: {task.config.columns}, got {size}")
            if not (0 <= seed <= NP_MAX_SEED):
                raise ValueError(f"seed must be between 0 and {NP_MAX_SEED}, got {seed}")
            ex = task.examples("test", [seed])[0]
            numbers = iter(f"{n:g}" for n in ex["numbers"])
            return {"question": " ".join(next(numbers) if w == "<num>" else w for w in ex["words"]), "table_seed": seed}
        largest = _np_arithmetic_operands(cfg, task) - 1
        if size is not None and not (1 <= size <= largest):
            raise ValueError(f"size ({task.size_name}) must be between 1 and {largest} (the model reads at most "
                             f"{largest + 1} operands), got {size}")
        batch = task.sample(1, np.random.default_rng(seed), size=task.train_size_range[1] if size is None else size)
        tokens = batch.tokens[0].numpy()
        return {"numbers": [float(v) for v in batch.operands[0, 0::2].tolist()],
                "operators": "".join("+-*/"[int(k)] for k in tokens[1::2, 2:].argmax(-1))}

    def parse(self, cfg, task, example: Any) -> dict:
        if cfg.task == "table-qa":
            _np_check_fields(example, {"question", "table_seed"}, "'question' (text) and 'table_seed' (an integer)")
            question, seed = example["question"], example["table_seed"]
            if not isinstance(question, str):
                raise ValueError("example.question must be a string of words and numbers")
            if len(question.encode("utf-8")) > NP_MAX_TEXT_BYTES:
                raise ValueError(f"example.question is longer than {NP_MAX_TEXT_BYTES} bytes")
            if isinstance(seed, bool) or not isinstance(seed, int) or not (0 <= seed <= NP_MAX_SEED):
                raise ValueError(f"example.table_seed must be an integer between 0 and {NP_MAX_SEED}, got {seed!r}")
            normalised = {"question": " ".join(question.split()), "table_seed": seed}
            _np_table_example(task, normalised)  # raises ValueError for a question the task cannot ask
            return normalised
        _np_check_fields(example, {"numbers", "operators"}, "'numbers' (a list) and 'operators' (a string of + - * /)")
        numbers, operators = example["numbers"], example["operators"]
        largest = _np_arithmetic_operands(cfg, task)
        if not isinstance(numbers, list) or not (1 <= len(numbers) <= largest):
            raise ValueError(f"example.numbers must be a list of 1 to {largest} numbers (the model reads at most {largest})")
        numbers = [_np_number(v, f"example.numbers[{k}]") for k, v in enumerate(numbers)]
        if not isinstance(operators, str) or len(operators) != len(numbers) - 1 or any(o not in "+-*/" for o in operators):
            raise ValueError(f"example.operators must be a string of {len(numbers) - 1} symbols from + - * / "
                             f"(one between each two numbers), got {operators!r}")
        return {"numbers": numbers, "operators": operators}

    def run(self, cfg, model, task, device, example: dict) -> dict:
        if cfg.task == "table-qa":
            return self._run_table(cfg, model, task, device, example)
        from augrnn.tasks.arithmetic import encode_expression

        numbers = np.asarray([example["numbers"]], np.float64)
        operators = np.asarray([["+-*/".index(o) for o in example["operators"]]], np.int64).reshape(1, -1)
        batch = encode_expression(numbers, operators, device)
        out = model(batch.tokens, batch.operands, batch.number_mask, hard=True, return_trace=True)
        ops = out.trace.op_weights[0]  # [T, K] α^op of the argmax program
        names = list(model.operation_names)
        tokens = [f"{example['numbers'][0]:g}"]
        for symbol, value in zip(example["operators"], example["numbers"][1:]):
            tokens += [symbol, f"{value:g}"]
        answer, truth = float(out.answer[0]), float(batch.answer[0])
        tolerance = task.config.tolerance * max(1.0, abs(truth))
        return {
            "kind": "arithmetic", "steps": ops.shape[0], "step_label": "program step", "title": f"{cfg.model} on {cfg.task}",
            "expression": " ".join(tokens), "tokens": tokens, "operations": names, "ops": to_list(ops.T, 3),
            "outputs": to_list(out.trace.prev1[0], 3),  # each step's output
            "program": [names[k] for k in ops.argmax(-1).tolist()],
            "answer": round(answer, 4), "truth": round(truth, 4), "correct": bool(abs(answer - truth) <= tolerance),
            "help": ("One program step per token, left to right. The outlined column is the selected step: the operation "
                     "chosen there (input_k fetches the k-th number; add … divide combine the outputs 2 and 1 steps ago) "
                     "and its output."),
        }

    def _run_table(self, cfg, model, task, device, example: dict) -> dict:
        from augrnn.functional.programmer import TABLE_OPERATIONS

        ex = _np_table_example(task, example)
        batch = task.collate([ex], device)
        out = model(batch, hard=True, return_trace=True)
        M = ex["table"].shape[0]
        ops, cols = out.trace.op_weights[0], out.trace.col_weights[0]  # [T, K], [T, C]
        names = list(ex["names"])
        is_lookup = bool(batch.is_lookup[0] > 0.5)
        cells = lambda grid: [[int(r), int(c)] for r, c in np.argwhere(grid)]  # noqa: E731
        lookup = out.lookup[0, :M].cpu().numpy() > 0.5
        return {
            "kind": "table", "steps": ops.shape[0], "step_label": "program step", "title": f"{cfg.model} on {cfg.task}",
            "question": example["question"], "template": ex["template"], "table_seed": example["table_seed"],
            "operations": list(TABLE_OPERATIONS), "ops": to_list(ops.T, 3), "columns": names, "cols": to_list(cols.T, 3),
            "program": [f"{TABLE_OPERATIONS[k]}({names[j]})" for k, j in zip(ops.argmax(-1).tolist(), cols.argmax(-1).tolist())],
            "table": ex["table"].astype(int).tolist(),
            "rows": to_list(out.trace.rows1[0, :, :M], 3),  # [T][M] row selection after each step
            "answer_type": "lookup" if is_lookup else "scalar",
            "answer": round(float(out.answer[0]), 4), "answer_cells": cells(lookup),
            "truth": round(float(ex["scalar"]), 4), "truth_cells": cells(ex["lookup"] > 0.5),
            "correct": bool(task.correct(out, batch)[0] > 0.5),
            "help": ("The outlined column is the selected program step: the operation and the column chosen there; the "
                     "table's shaded rows are the rows selected after that step. Lookup answers: cells printed by the "
                     "model in blue, the true cells in bold green."),
        }
