"""Quick probe: can the table Neural Programmer learn a few question templates? (diagnostics, not the benchmark)

Trains a :class:`augrnn.nn.TableProgrammer` on a subset of the table-QA templates with a plain
loop (Adam, global-norm clip) and prints, every ``--every`` batches, the test-time (hard) and soft
accuracy on 500 fixed dev examples, per template; at the end, the argmax programs of a few dev
questions (wrong ones first), then :func:`diagnose` (saturation of the soft selections; accuracy of
the four-step templates with their operations forced to the right program). Used to find why the
5-column preset plateaued (BENCHMARKS.md).

    PYTHONPATH=src taskset -c 1 python benchmarks/probe_table_programmer.py --operations paper --lr 1e-3 --clip 50 \
        --grad-noise 1 --steps 5000 --every 500        # the default preset's setting
    PYTHONPATH=src taskset -c 1 python benchmarks/probe_table_programmer.py --templates and_count --selection-noise 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from augrnn.functional.programmer import TABLE_OPERATIONS
from augrnn.nn.programmer import TableProgrammer
from augrnn.tasks.table_qa import ALL_TEMPLATES, VOCABULARY, TableQAConfig, TableQATask


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--templates", default="paper")
    p.add_argument("--columns", type=int, default=5)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--selection-noise", type=float, default=0.0, help="Gumbel noise on the operation logits")
    p.add_argument("--grad-noise", type=float, default=0.0, help="η of the annealed gradient noise (γ = 0.55)")
    p.add_argument("--operations", default="all", help="all | paper | comma-separated operation names")
    p.add_argument("--init", default="default", help="default | uniform:A (every parameter U(-A, A), the paper: 0.1)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--train-weights", default="", help="training template weights, e.g. and_count=3,or_count=3")
    p.add_argument("--train-extra", default="", help="training-only templates: all | names (task_args.train_extra)")
    p.add_argument("--column-inputs", default="all", help="model_args.column_inputs: all | history | operation")
    p.add_argument("--op-pointer", action="store_true", help="model_args.op_pointer")
    p.add_argument("--column-anchor", type=float, default=0.0, help="model_args.column_anchor (κ's initial value, 0 = off)")
    p.add_argument("--op-entropy", type=float, default=0.0, help="task_args.op_entropy: β of the annealed entropy bonus on α^op")
    p.add_argument("--keep", action="store_true", help="an operation of another type leaves a variable as it was")
    p.add_argument("--adam-eps", type=float, default=1e-8)
    p.add_argument("--diagnose-every", type=int, default=0, help="also run diagnose every this many batches (0: at the end only)")
    p.add_argument("--save", default="", help="write the trained model's state_dict here")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    task = TableQATask(TableQAConfig(columns=a.columns, name_pool=max(5, a.columns), templates=a.templates,
                                     train_weights=a.train_weights, train_extra=a.train_extra,
                                     op_entropy=a.op_entropy))
    model = TableProgrammer(task.input_size, a.hidden, a.hidden, 4, selection_noise=a.selection_noise,
                            operations=a.operations, keep=a.keep,
                            dropout=a.dropout, column_inputs=a.column_inputs, op_pointer=a.op_pointer,
                            column_anchor=a.column_anchor, word_operations=task.word_operations)
    if a.init.startswith("uniform:"):
        with torch.no_grad():
            for q in model.parameters():
                q.uniform_(-float(a.init.split(":")[1]), float(a.init.split(":")[1]))
            model.embeddings.weight[0].zero_()  # the padding word stays 0
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr, eps=a.adam_eps)
    rng = np.random.default_rng(a.seed)
    dev = list(task.eval_batches(0, 2, 250))

    def evaluate():
        model.eval()
        with torch.no_grad():
            runs = [(task.forward(model, b), b) for b in dev]
        model.train()
        hard = torch.cat([task.correct(o.hard, b) for o, b in runs])
        soft = torch.cat([task.correct(o.soft, b) for o, b in runs])
        template = torch.cat([b.template for _, b in runs])
        per = {ALL_TEMPLATES[i]: round(100 * hard[template == i].mean().item()) for i in template.unique().tolist()}
        return hard.mean().item(), soft.mean().item(), per, runs[0]

    start = time.time()
    norms: list[float] = []
    for step in range(1, a.steps + 1):
        batch = task.sample(a.batch, rng)
        task.start_step(step - 1, a.steps)
        loss = task.loss(task.forward(model, batch), batch)
        optimizer.zero_grad()
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)))
        if a.grad_noise > 0:
            sd = (a.grad_noise / (1 + step) ** 0.55) ** 0.5
            for q in model.parameters():
                if q.grad is not None:
                    q.grad.add_(torch.randn_like(q.grad) * sd)
        optimizer.step()
        if step % a.every == 0:
            hard, soft, per, _ = evaluate()
            print(f"{step} batches {time.time() - start:.0f}s loss {loss.item():.2f} grad norm median "
                  f"{np.median(norms):.3g} hard {hard:.3f} soft {soft:.3f} {per}", flush=True)
            norms = []
        if a.diagnose_every and step % a.diagnose_every == 0 and step < a.steps:
            diagnose(model, task)
            model.train()
    if a.save:
        torch.save(model.state_dict(), a.save)
    if a.column_anchor:
        print("anchor weights", {n: round(w, 2) for n, w in zip(TABLE_OPERATIONS, model.cell.anchor_weights.tolist())
                                 if n in model.cell.operations})
    _, _, _, (out, b) = evaluate()
    ok, trace = task.correct(out.hard, b), out.hard.trace
    order = [i for i in range(len(ok)) if ok[i] < 0.5][:10] + [i for i in range(len(ok)) if ok[i] > 0.5][:3]
    for i in order:
        words = " ".join(VOCABULARY[w] for w in b.words[i].tolist() if w)
        cols = [VOCABULARY[w] for w in b.column_names[i].tolist()]
        program = " ".join(f"{TABLE_OPERATIONS[o]}({cols[c]})" for o, c in
                           zip(trace.op_weights[i].argmax(-1).tolist(), trace.col_weights[i].argmax(-1).tolist()))
        print(int(ok[i].item()), words, "|", program, f"| answer {b.scalar_answer[i].item():.0f} "
              f"got {out.hard.answer[i].item():.0f}")
    diagnose(model, task)


#: The programs that answer the four-step templates (BENCHMARKS.md): forced by :func:`diagnose`.
FOUR_STEP = {"and_count": "greater,lesser,and,count", "or_count": "greater,lesser,or,count",
             "and_sum": "greater,lesser,and,sum", "difference": "sum,reset,sum,difference"}


@torch.no_grad()
def diagnose(model: TableProgrammer, task: TableQATask) -> None:
    """Saturation of the soft selections (mean largest α^op, α^col per step) on 500 dev questions, and
    for each four-step template the hard accuracy when the operations are forced to the right program
    (columns and pivots still the model's), with how often each step's column is the right one."""
    model.eval()
    batch = next(task.eval_batches(0, 1, 500))
    trace = model(batch, return_trace=True).trace
    print("mean max alpha_op per step", [round(v, 3) for v in trace.op_weights.amax(-1).mean(0).tolist()],
          "| mean max alpha_col per step", [round(v, 3) for v in trace.col_weights.amax(-1).mean(0).tolist()])
    cell = model.cell
    for template, program in FOUR_STEP.items():
        if template not in task.template_names:
            continue
        forced_task = TableQATask(TableQAConfig(**{**vars(task.config), "templates": template, "train_weights": "",
                                                   "train_extra": ""}))
        b = next(forced_task.eval_batches(0, 1, 300))
        own = forced_task.correct(model(b, hard=True), b).mean().item()
        ops = [TABLE_OPERATIONS.index(n) for n in program.split(",")]
        mask = cell.op_mask.clone()
        out = _forced_run(model, b, ops)
        cell.op_mask.copy_(mask)
        forced = forced_task.correct(out, b).mean().item()
        # the question's column words: X at 2 (comparisons) or 2 (difference), Y at 6 (and/or) or 4, Z at 8
        positions = {"difference": (2, None, 4, None), "and_sum": (2, 6, None, 8)}.get(template, (2, 6, None, None))
        chosen = b.column_names.gather(1, out.trace.col_weights.argmax(-1))  # [B, T] column names per step
        right = [f"{(chosen[:, t] == b.words[:, p]).float().mean().item():.2f}" if p is not None else "-"
                 for t, p in enumerate(positions)]
        print(f"{template}: own program {own:.3f}, forced {program} {forced:.3f}; "
              f"per step, the column is the question's: {right}")


def _forced_run(model: TableProgrammer, batch, ops: list[int]):
    """The hard program with step t's operation forced to ``ops[t]`` (only that operation choosable)."""
    cell, original = model.cell, model.cell.op_mask.clone()
    step = {"t": 0}
    forward = cell.forward

    def forced_forward(x, state):
        cell.op_mask.zero_()
        cell.op_mask[ops[step["t"]]] = 1.0
        step["t"] += 1
        return forward(x, state)

    cell.forward = forced_forward
    try:
        return model(batch, hard=True, return_trace=True)
    finally:
        cell.forward = forward
        cell.op_mask.copy_(original)


if __name__ == "__main__":
    main()
