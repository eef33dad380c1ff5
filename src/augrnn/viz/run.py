"""Figures of a saved run: the learning curve and what the model attended to.

Each model family registers the function that draws its pictures with
:func:`register_figures`; :func:`plot_run` loads the run, draws the learning
curve and calls the family's function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from augrnn.train import load_run, read_metrics
from augrnn.viz.figures import plot_attention, plot_learning_curve

__all__ = ["plot_run", "register_figures", "FIGURES"]

# model name -> figures(cfg, model, task, device, run_dir, size, seed) -> list[Path]
FIGURES: dict[str, Callable[..., list[Path]]] = {}


def register_figures(*model_names: str):
    """Decorator: register a family's ``figures(cfg, model, task, device, run_dir, size, seed)``.

    ``size`` is the task's size scalar chosen by the user (``None``: the task's
    default); the function returns the paths of the PNGs it wrote.
    """

    def decorator(function):
        for name in model_names:
            FIGURES[name] = function
        return function

    return decorator


def plot_run(run_dir: Path, length: int | None = None, seed: int = 1234, checkpoint: str = "best") -> list[Path]:
    """Write ``figures/learning_curve.png`` and the model family's pictures."""
    run_dir = Path(run_dir)
    if length is not None and length < 1:
        raise ValueError(f"--length must be >= 1, got {length}")
    cfg, model, task, device = load_run(run_dir, which=checkpoint)
    figures = FIGURES.get(cfg.model)
    paths = figures(cfg, model, task, device, run_dir, length, seed) if figures is not None else []
    records = read_metrics(run_dir / "metrics.jsonl")
    if records:
        paths.append(
            plot_learning_curve(
                records, run_dir / "figures" / "learning_curve.png", title=f"{cfg.model} on {cfg.task}",
                cost_key=task.cost_metric, error_key=task.error_metric,
                cost_label=task.cost_label, error_label=task.error_label,
            )
        )
    return paths


@register_figures("ntm", "lstm")
def _memory_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """One sequence at ``size`` (default: the largest training size): bits and head weightings."""
    size = size if size is not None else task.train_size_range[1]
    batch = task.sample(1, np.random.default_rng(seed), size=size, device=device)
    with torch.no_grad():
        logits, trace = model(batch.inputs, return_trace=True)
    as_np = lambda t: t[0].detach().cpu().numpy()  # noqa: E731
    weights = {}
    for name in ("write_weights", "read_weights"):
        if hasattr(trace, name):
            weights[name] = as_np(getattr(trace, name))
    return [
        plot_attention(
            as_np(batch.inputs), as_np(batch.targets), as_np(torch.sigmoid(logits)),
            run_dir / "figures" / f"attention_{task.size_name}{size}.png",
            mask=as_np(batch.mask), title=f"{cfg.model} on {cfg.task}, {task.size_name} {size}", **weights,
        )
    ]


@register_figures("seq2seq")
def _seq2seq_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """Attention matrices (output phones × input letters) of six words of the evaluation split.

    The words are drawn with ``seed`` among those with ``size`` letters (default: any length 5-10).
    """
    from augrnn.viz.alignment import plot_alignments, plot_retrieval_alignments

    words = sorted(task.split_words(task.config.eval_split))
    lengths = (size, size) if size is not None else (5, 10)
    words = [w for w in words if lengths[0] <= len(w) <= lengths[1]]
    if not words:
        raise ValueError(f"--length: no {task.config.eval_split} word has {size} letters")
    rng = np.random.default_rng(seed)
    chosen = [words[i] for i in sorted(rng.choice(len(words), size=min(6, len(words)), replace=False))]
    with torch.no_grad():
        decoded = task.decode_words(model, chosen, device)
    phones = task.phones_of(decoded.tokens, decoded.lengths)
    columns = task.attention_columns(chosen, decoded.weights.detach().float().cpu())  # letters (+ neighbours)
    path = run_dir / "figures" / "attention_g2p.png"
    if task.config.neighbors:  # the letters' and the neighbours' attention side by side, three words
        examples = [(w, labels[len(w):], list(p) + ["</s>"], weights[:, : len(w)].numpy(), weights[:, len(w):].numpy())
                    for w, (labels, weights), p in list(zip(chosen, columns, phones))[:3]]
        return [plot_retrieval_alignments(examples, path, title=f"{cfg.model} on {cfg.task}: attention of each output "
                                          "phone over the letters and over the retrieved neighbours")]
    examples = [(labels, list(p) + ["</s>"], weights.numpy()) for (labels, weights), p in zip(columns, phones)]
    return [plot_alignments(examples, path, title=f"{cfg.model} on {cfg.task}: attention (rows: output phones, "
                            "columns: letters)")]


@register_figures("reader")
def _reader_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """Three test strips (``size`` digits each, default random): per-digit attention maps over the image."""
    from augrnn.viz.alignment import plot_image_attention

    batch = task.render(3, np.random.default_rng(seed), "test", size=size, device=device)
    with torch.no_grad():
        decoded = model.greedy(batch.images, max_length=task.config.max_digits + 1)
    grid = model.features(batch.images[:1]).shape[2:]  # (H/2, W/2)
    paths = []
    for b in range(3):
        steps = min(int(decoded.lengths[b]) + 1, decoded.tokens.shape[1])  # the digits and the end token, if any
        tokens = decoded.tokens[b, :steps].tolist()
        labels = [str(t - 3) if t >= 3 else "</s>" for t in tokens]
        maps = decoded.weights[b, :steps].reshape(steps, *grid).detach().cpu().numpy()
        truth = "".join(str(t - 3) for t in batch.target_out[b].tolist() if t >= 3)
        read = "".join(label for label in labels if label != "</s>")
        paths.append(plot_image_attention(
            batch.images[b, 0].detach().cpu().numpy(), maps, labels, run_dir / "figures" / f"attention_strip{b}.png",
            title=f"read {read!r} (truth {truth!r})"))
    return paths


@register_figures("act")
def _act_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """Ponder time per input step under the input, and the halting distribution of one example.

    Tasks with one input step (parity) show 16 examples of growing difficulty side by side.
    """
    from augrnn.viz.act_figures import plot_halting, plot_ponder

    rng = np.random.default_rng(seed)
    low, high = task.train_size_range
    if task.name == "parity" and size is None:
        sizes = np.unique(np.linspace(low, high, 16).round().astype(int))
        batches = [task.sample(1, rng, size=int(s), device=device) for s in sizes]
        inputs = torch.cat([b.inputs for b in batches], dim=0)  # [16, 1, I]
        labels, xlabel, tag = [str(s) for s in sizes], f"{task.size_name} (one example each)", "by_difficulty"
    else:
        size = size if size is not None else high
        batch = task.sample(1, rng, size=size, device=device)
        inputs = batch.inputs
        T = int(batch.valid[0].sum().item())
        inputs = inputs[:, :T]
        labels, xlabel, tag = None, "input step", f"{task.size_name}{size}"
    with torch.no_grad():
        _, trace = model(inputs, return_trace=True)
    as_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
    if inputs.shape[1] == 1:  # one step per example: examples become the columns
        x, ponder, steps, weights = (as_np(inputs[:, 0]), as_np(trace.ponder[:, 0]), as_np(trace.steps[:, 0]),
                                     as_np(trace.halting_weights[:, 0]))
    else:
        x, ponder, steps, weights = (as_np(inputs[0]), as_np(trace.ponder[0]), as_np(trace.steps[0]),
                                     as_np(trace.halting_weights[0]))
    figures = run_dir / "figures"
    title = f"act on {cfg.task} (τ = {cfg.model_args.time_penalty:g})"
    return [
        plot_ponder(x, ponder, figures / f"ponder_{tag}.png", steps=steps, labels=labels, title=title, xlabel=xlabel),
        plot_halting(weights, steps, figures / f"halting_{tag}.png", title=f"halting distribution, {title}",
                     xlabel=xlabel, labels=labels),
    ]


@register_figures("memn2n")
def _memn2n_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """A test story of task ``size`` (default: the run's first task) with each hop's attention over its sentences."""
    from augrnn.viz.figures import plot_hop_attention

    task_id = size if size is not None else task.task_ids[0]
    split = task.split("test")
    indices = task._task_indices(split, task_id)
    index = int(indices[np.random.default_rng(seed).integers(len(indices))])
    batch = task._batch(split, np.array([index]), device)
    with torch.no_grad():
        logits, trace = model(batch.story, batch.query)
    real = batch.story[0].ne(0).any(-1).cpu().numpy()
    words = lambda ids: " ".join(task.vocab[i] for i in ids if i)  # noqa: E731
    sentences = [words(s) for s, keep in zip(batch.story[0].tolist(), real) if keep]
    weights = trace.attention[0].cpu().numpy()[:, : len(real)][:, real].T  # [S, K]
    recency = [int(r) for r in split.support[index] if r >= 0]
    supporting = [len(sentences) - 1 - r for r in recency if r < len(sentences)]
    path = run_dir / "figures" / f"hop_attention_task{task_id}.png"
    source = "generated data" if not task.config.data_dir else task.config.data_dir
    note = ", linear start: raw scores uᵀm" if getattr(model, "linear", False) else ""
    return [
        plot_hop_attention(
            sentences, weights, words(batch.query[0].tolist()) + "?", task.vocab[int(batch.answer[0])],
            task.vocab[int(logits[0].argmax())], path, supporting=supporting,
            title=f"{cfg.model} on bAbI task {task_id} ({source}{note}); * = supporting fact",
        )
    ]


@register_figures("neural-programmer")
def _programmer_figures(cfg, model, task, device, run_dir: Path, size: int | None, seed: int) -> list[Path]:
    """The program written for a few questions: operations (and columns, selected rows) × steps."""
    from augrnn.tasks.arithmetic import ArithmeticTask
    from augrnn.tasks.table_qa import VOCABULARY
    from augrnn.viz.figures import plot_program

    rng = np.random.default_rng(seed)
    paths = []
    if isinstance(task, ArithmeticTask):
        depth = size if size is not None else task.train_size_range[1]
        batch = task.sample(3, rng, size=depth, device=device)
        with torch.no_grad():
            out = model(batch.tokens, batch.operands, batch.number_mask, hard=True, return_trace=True)
        symbols = "+-*/"
        for i in range(3):
            tokens = batch.tokens[i].cpu().numpy()
            words = [f"{batch.operands[i, j].item():g}" if tokens[j, 1] > 0 else symbols[int(tokens[j, 2:].argmax())]
                     for j in range(tokens.shape[0])]
            ops = out.trace.op_weights[i].cpu().numpy()
            program = " ".join(model.operation_names[k] for k in ops.argmax(-1))
            paths.append(plot_program(
                run_dir / "figures" / f"program_depth{depth}_{i}.png", ops, model.operation_names,
                title=f"{' '.join(words)} = {batch.answer[i].item():g}",
                caption=f"answer {out.answer[i].item():g}; program: {program}",
            ))
        return paths
    from augrnn.functional.programmer import TABLE_OPERATIONS

    batch = next(task.eval_batches(seed, 1, 3, device=device, split="test"))
    with torch.no_grad():
        out = model(batch, hard=True, return_trace=True)
    for i in range(3):
        words = [VOCABULARY[w] for w in batch.words[i].tolist() if w > 0]
        numbers = iter(f"{n:g}" for n in batch.numbers[i].tolist())
        question = " ".join(next(numbers) if w == "<num>" else w for w in words)
        real_rows = int(batch.row_mask[i].sum().item())
        ops = out.trace.op_weights[i].cpu().numpy()
        cols = out.trace.col_weights[i].cpu().numpy()
        names = [VOCABULARY[c] for c in batch.column_names[i].tolist()]
        program = ", ".join(f"{TABLE_OPERATIONS[k]}({names[j]})" for k, j in zip(ops.argmax(-1), cols.argmax(-1)))
        if batch.is_lookup[i] > 0.5:
            got = int((out.lookup[i] > 0.5).sum().item())
            answer = f"lookup: {got} cells selected, {int(batch.lookup_answer[i].sum().item())} expected"
        else:
            answer = f"answer {out.answer[i].item():g}, expected {batch.scalar_answer[i].item():g}"
        paths.append(plot_program(
            run_dir / "figures" / f"program_{i}.png", ops, TABLE_OPERATIONS, title=question,
            col_weights=cols, col_names=names, rows=out.trace.rows1[i, :, :real_rows].cpu().numpy(),
            caption=f"{answer}\nprogram: {program}",
        ))
    return paths
