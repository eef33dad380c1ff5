"""Can gradient descent find a four-step table program at all? (diagnostics, not the benchmark)

Strips the table Neural Programmer down to its search problem: free operation logits θ [T = 4, K]
shared by every question of one template (the controller replaced by a table of numbers), the
columns and pivots given by an oracle (each operation reads the column its words name: ``greater``
the name after "greater", ``lesser`` the one after "lesser", ``sum`` the last name; in
``difference`` the first name for steps 1-2 and the second for steps 3-4), the soft execution of
:func:`augrnn.functional.programmer.table_step` over the 2015 paper's nine operations, the task's
loss, Adam. Prints the argmax program, the largest α per step and the hard accuracy on the batch.

    PYTHONPATH=src python benchmarks/probe_np_landscape.py and_count            # θ = 0: uniform start
    PYTHONPATH=src python benchmarks/probe_np_landscape.py and_count --keep     # other types keep their value
    PYTHONPATH=src python benchmarks/probe_np_landscape.py or_count --init 1 --seed 2
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from augrnn.functional import programmer as NP
from augrnn.nn.programmer import ProgrammerOutput
from augrnn.tasks.table_qa import TableQAConfig, TableQATask

FOUR_STEP = ("and_count", "or_count", "and_sum", "difference")


def column_word(template: str, operation: str, step: int) -> int:
    """Position in the question of the name the oracle gives ``operation`` at ``step``."""
    if template == "difference":  # "difference sum X sum Y"
        return 2 if step < 2 else 4
    # "greater <num> X and|or lesser <num> Y count|sum Z"
    return {"greater": 2, "lesser": 6, "sum": 8 if template == "and_sum" else 2}.get(operation, 2)


def execute(task: TableQATask, batch, weights: torch.Tensor, keep: bool) -> ProgrammerOutput:
    """The soft program ``weights [T, K]`` on ``batch``, each operation on its oracle column."""
    B, K = batch.words.shape[0], weights.shape[1]
    table, row_mask = batch.table, batch.row_mask
    index = NP.table_index(table)
    pivots = torch.zeros(B, len(NP.PIVOT_OPERATIONS), batch.numbers.shape[1])
    pivots[:, 0, 0] = pivots[:, 2, 0] = 1.0  # greater (and select): the first number
    pivots[:, 1, 1] = 1.0  # lesser: the second
    rows1, rows2 = row_mask.clone(), row_mask.clone()
    s1 = s2 = s3 = torch.zeros(B)
    lookup = torch.zeros_like(table)
    for t in range(weights.shape[0]):
        scalar, new_lookup, rows = torch.zeros(B), torch.zeros_like(table), torch.zeros_like(row_mask)
        for k, name in enumerate(NP.TABLE_OPERATIONS):  # table_step is linear in α for fixed columns
            if name not in NP.PAPER_OPERATIONS:
                continue
            position = column_word(task.config.templates, name, t)
            column = (batch.column_names == batch.words[:, position : position + 1]).float()
            one = F.one_hot(torch.tensor(k), K).float().expand(B, -1)
            sc, lk, rw = NP.table_step(table, row_mask, index, batch.numbers, pivots, one, column,
                                       rows1, rows2, s1, s3, lookup, keep=keep)
            scalar, new_lookup, rows = scalar + weights[t, k] * sc, new_lookup + weights[t, k] * lk, rows + weights[t, k] * rw
        lookup = new_lookup
        rows1, rows2, s1, s2, s3 = rows, rows1, scalar, s1, s2
    return ProgrammerOutput(s1, lookup, None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("template", choices=FOUR_STEP)
    p.add_argument("--keep", action="store_true", help="an operation of another type leaves a variable as it was")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--init", type=float, default=0.0, help="θ ~ N(0, init²) (0: the uniform distribution)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    task = TableQATask(TableQAConfig(columns=5, name_pool=5, templates=a.template))
    allowed = torch.tensor([n in NP.PAPER_OPERATIONS for n in NP.TABLE_OPERATIONS])
    theta = torch.nn.Parameter(torch.randn(4, len(NP.TABLE_OPERATIONS)) * a.init)
    optimizer = torch.optim.Adam([theta], lr=a.lr)
    rng = np.random.default_rng(0)
    for step in range(1, a.steps + 1):
        batch = task.sample(50, rng)
        weights = torch.softmax(theta.masked_fill(~allowed, float("-inf")), -1)
        loss = task.example_losses(execute(task, batch, weights, a.keep), batch).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([theta], 50.0)
        optimizer.step()
        if step % 250 == 0 or step == a.steps:
            program = [NP.TABLE_OPERATIONS[i] for i in weights.argmax(-1).tolist()]
            hard = F.one_hot(weights.argmax(-1), weights.shape[1]).float()
            accuracy = task.correct(execute(task, batch, hard, a.keep), batch).mean().item()
            print(f"{step} loss {loss.item():.1f} program {' '.join(program)} "
                  f"max α {[round(v, 2) for v in weights.amax(-1).tolist()]} hard accuracy {accuracy:.2f}", flush=True)


if __name__ == "__main__":
    main()
