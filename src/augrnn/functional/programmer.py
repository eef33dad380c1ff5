"""Built-in operations of the Neural Programmer (Neelakantan, Le & Sutskever 2015, arXiv 1511.04834).

Pure, parameter-free, differentiable math. The model runs *every* operation at
every step and averages their outputs with the controller's operation
distribution α^op_t (and, for column operations, the column distribution
α^col_t), so a program made of discrete operations is differentiable and can be
trained from the final answer alone (§2.3).

Two operation sets live here:

* the **arithmetic** version of Olah & Carter 2016 (§Neural Programmer), a
  "Unix pipe": each operation reads the outputs of earlier steps
  (:data:`ARITHMETIC_OPERATIONS`, :func:`arithmetic_step`);
* the **table** version of the paper (:data:`TABLE_OPERATIONS`,
  :func:`table_step`) with its three typed variables: the scalar answer, the
  lookup answer (a soft selection of table cells) and the row selector. Only
  outputs of the same type are merged: scalar operations write the scalar
  answer, ``print`` writes the lookup answer, row operations write the row
  selector (§2.3, eqs. for ``scalar_output``, ``lookup_output``, ``row_select``).

Letters: B batch, M table rows, C table columns, K operations, Q numbers in the
question.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "ARITHMETIC_OPERATIONS",
    "TABLE_OPERATIONS",
    "SCALAR_OPERATIONS",
    "ROW_OPERATIONS",
    "LOOKUP_OPERATIONS",
    "PIVOT_OPERATIONS",
    "PAPER_OPERATIONS",
    "operation_set",
    "safe_divide",
    "arithmetic_step",
    "soft_compare",
    "TableIndex",
    "table_index",
    "soft_first",
    "soft_last",
    "soft_extreme",
    "soft_most_frequent",
    "table_step",
    "huber",
]

#: The arithmetic version's binary operations, in the order of the last 4 entries of α^op
#: (the first N entries are the ``input_k`` operations that fetch the k-th operand,
#: the identity on an operand). A binary operation reads the output 2 steps ago (left
#: operand) and 1 step ago (right operand), like a Unix pipe.
ARITHMETIC_OPERATIONS = ("add", "subtract", "multiply", "divide")

#: The table version's operations, in the order of α^op's last dim (paper Table 1,
#: plus the superlatives and table operations of Neelakantan et al. 2017, arXiv
#: 1611.08945). ``print`` is the 2015 paper's "assign" (lookup answer ← the
#: selected rows of the selected column).
TABLE_OPERATIONS = (
    "sum", "count", "difference",  # scalar answer
    "greater", "lesser", "select", "and", "or", "reset",  # row selector
    "first", "last", "argmax", "argmin", "most_frequent",  # row selector (from the previous one)
    "print",  # lookup answer
)
SCALAR_OPERATIONS = ("sum", "count", "difference")
ROW_OPERATIONS = ("greater", "lesser", "select", "and", "or", "reset", "first", "last", "argmax", "argmin", "most_frequent")
LOOKUP_OPERATIONS = ("print",)
#: Operations that compare with a number of the question (pointer attention β^op, §2.3 "pivot").
PIVOT_OPERATIONS = ("greater", "lesser", "select")
#: The operations of the 2015 paper (Table 1: sum, count, difference, greater, lesser, and, or,
#: assign = our ``print``, reset); the others are the 2017 paper's (arXiv 1611.08945).
PAPER_OPERATIONS = ("sum", "count", "difference", "greater", "lesser", "and", "or", "reset", "print")


def operation_set(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The table operations named by ``spec``, in :data:`TABLE_OPERATIONS` order.

    ``"all"`` (every operation), ``"paper"`` (:data:`PAPER_OPERATIONS`), a comma-separated
    string or a sequence of names.
    """
    if isinstance(spec, str):
        names = TABLE_OPERATIONS if spec == "all" else PAPER_OPERATIONS if spec == "paper" else \
            tuple(s.strip() for s in spec.split(",") if s.strip())
    else:
        names = tuple(spec)
    bad = [n for n in names if n not in TABLE_OPERATIONS]
    if not names or bad:
        raise ValueError(f"operations must be 'all', 'paper' or names from {', '.join(TABLE_OPERATIONS)}; "
                         f"got {spec!r}")
    return tuple(n for n in TABLE_OPERATIONS if n in names)


def safe_divide(numerator: Tensor, denominator: Tensor, eps: float = 1e-4) -> Tensor:
    """``a·b / (b² + eps)``: ``a / b`` up to a relative ``eps/b²``, and exactly 0 when ``b = 0``.

    Smooth everywhere (a divide-by-zero gives 0, never inf/NaN), with gradients
    bounded by ``|a|/eps`` near ``b = 0``. Broadcasts.
    """
    return numerator * denominator / (denominator * denominator + eps)


def arithmetic_step(
    op_weights: Tensor, operands: Tensor, prev1: Tensor, prev2: Tensor, *, eps: float = 1e-4, max_value: float = 1e6
) -> Tensor:
    """One step of the arithmetic Neural Programmer: every operation, averaged by α^op_t.

    Args:
        op_weights: ``[..., N + 4]`` α^op_t: ``input_1 … input_N`` then
            :data:`ARITHMETIC_OPERATIONS` (sums to 1).
        operands: ``[..., N]`` the expression's operands (``input_k`` returns ``operands[..., k]``).
        prev1: ``[...]`` the output 1 step ago (right operand).
        prev2: ``[...]`` the output 2 steps ago (left operand).
        eps: the safe divide's ``eps`` (:func:`safe_divide`).
        max_value: inputs and outputs are clamped to ``[-max_value, max_value]`` so
            that products of products stay finite in float32.

    Returns:
        ``[...]`` the step's output ``Σ_k α^op_t(k)·op_k``.
    """
    if op_weights.shape[-1] != operands.shape[-1] + len(ARITHMETIC_OPERATIONS):
        raise ValueError(f"arithmetic_step: op_weights needs N + 4 = {operands.shape[-1] + 4} entries "
                         f"for N = {operands.shape[-1]} operands, got {op_weights.shape[-1]}")
    operands, prev1, prev2 = (v.clamp(-max_value, max_value) for v in (operands, prev1, prev2))
    binary = torch.stack([prev2 + prev1, prev2 - prev1, prev2 * prev1, safe_divide(prev2, prev1, eps)], dim=-1)
    candidates = torch.cat([operands, binary], dim=-1)
    return (op_weights * candidates).sum(-1).clamp(-max_value, max_value)


# -- table operations ------------------------------------------------------------------


def soft_compare(table: Tensor, numbers: Tensor, pivot_weights: Tensor, kind: str) -> Tensor:
    """Comparison of every cell with a pivot chosen among the question's numbers.

    The pivot is a soft choice (pointer attention β over the Q numbers, §2.3);
    the comparison with each candidate number is exact, so the result is
    ``Σ_q β_q·[M_ij ⋄ n_q]`` — differentiable in β, and the exact comparison
    when β is one-hot (``greater 17.27 A`` is hard at test time, soft in training).

    Args:
        table: ``[B, M, C]`` numbers.
        numbers: ``[B, Q]`` the question's numbers (padding anywhere; give it β = 0).
        pivot_weights: ``[B, Q]`` β (sums to 1 over real numbers).
        kind: ``"greater"`` (>), ``"lesser"`` (<) or ``"select"`` (==).

    Returns:
        ``[B, M, C]`` in ``[0, 1]``.
    """
    cells, pivots = table.unsqueeze(-1), numbers[:, None, None, :]  # [B, M, C, 1], [B, 1, 1, Q]
    if kind == "greater":
        hit = cells > pivots
    elif kind == "lesser":
        hit = cells < pivots
    elif kind == "select":
        hit = cells == pivots
    else:
        raise ValueError(f"soft_compare: kind must be 'greater', 'lesser' or 'select', got {kind!r}")
    return (hit.to(table.dtype) * pivot_weights[:, None, None, :]).sum(-1)


class TableIndex(NamedTuple):
    """Orders of a table's cells, computed once per table (no gradients): what the
    superlative and most-frequent operations need, in O(M·C) per step."""

    descending: Tensor  # [B, M, C] long: rows sorted by value, largest first (stable: ties by row order)
    ascending: Tensor  # [B, M, C] long: rows sorted by value, smallest first (stable)
    value_ids: Tensor  # [B, M, C] long: one id in [0, M) per distinct value of the column


def table_index(table: Tensor) -> TableIndex:
    """:class:`TableIndex` of ``table [B, M, C]`` (sorts only: O(M log M) per column)."""
    descending = torch.sort(table, dim=1, descending=True, stable=True).indices
    ascending = torch.sort(table, dim=1, stable=True).indices
    ordered = torch.gather(table, 1, ascending)  # [B, M, C] values, smallest first
    starts = torch.ones_like(ordered, dtype=torch.long)
    starts[:, 1:] = (ordered[:, 1:] != ordered[:, :-1]).long()
    run_ids = torch.cumsum(starts, dim=1) - 1  # equal values share an id in [0, M)
    value_ids = torch.zeros_like(run_ids).scatter(1, ascending, run_ids)
    return TableIndex(descending, ascending, value_ids)


def soft_first(rows: Tensor) -> Tensor:
    """The first selected row along dim 1: ``r_i · Π_{k<i} (1 − r_k)``.

    ``[B, M, ...] -> [B, M, ...]``; an empty selection gives all 0; exact for a hard selection.
    """
    keep = torch.cumprod(torch.cat([torch.ones_like(rows[:, :1]), 1 - rows[:, :-1]], dim=1), dim=1)
    return rows * keep


def soft_last(rows: Tensor) -> Tensor:
    """The last selected row along dim 1: ``r_i · Π_{k>i} (1 − r_k)``. ``[B, M, ...] -> [B, M, ...]``."""
    return soft_first(rows.flip(1)).flip(1)


def soft_extreme(rows: Tensor, order: Tensor) -> Tensor:
    """The selected row holding each column's largest (``order`` descending) or smallest value.

    The first selected row in value order: ``r_i · Π_{k before i} (1 − r_k)``.
    Exact for a hard selection (ties: the earliest row in table order, as the
    sort is stable), differentiable in ``rows``; empty selection → all 0.

    Args:
        rows: ``[B, M]`` row selector in ``[0, 1]``.
        order: ``[B, M, C]`` :attr:`TableIndex.descending` (argmax) or ``.ascending`` (argmin).

    Returns:
        ``[B, M, C]``: per column, the selected extreme row.
    """
    per_column = rows.unsqueeze(-1).expand(order.shape)
    first_in_order = soft_first(torch.gather(per_column, 1, order))  # [B, M (sorted), C]
    return torch.zeros_like(first_in_order).scatter(1, order, first_in_order)


def soft_most_frequent(rows: Tensor, value_ids: Tensor) -> Tensor:
    """Selected rows whose value is the most frequent among the selected rows (per column).

    count_ij = Σ_k r_k·[M_kj = M_ij]; row i survives if ``count_ij`` reaches the
    largest count of a selected row (within 0.5). Exact for a hard selection
    (ties: every most frequent value); gradients flow through the ``r_i`` factor.

    Args:
        rows: ``[B, M]``.
        value_ids: ``[B, M, C]`` :attr:`TableIndex.value_ids`.

    Returns:
        ``[B, M, C]``.
    """
    per_column = rows.unsqueeze(-1).expand(value_ids.shape)
    by_value = torch.zeros_like(per_column).scatter_add(1, value_ids, per_column)  # [B, M (value id), C]
    counts = torch.gather(by_value, 1, value_ids)  # [B, M, C]
    best = (counts * per_column).amax(1, keepdim=True)
    return per_column * (counts > best - 0.5).to(rows.dtype)


def table_step(
    table: Tensor,
    row_mask: Tensor,
    index: TableIndex,
    numbers: Tensor,
    pivot_weights: Tensor,
    op_weights: Tensor,
    col_weights: Tensor,
    rows_prev1: Tensor,
    rows_prev2: Tensor,
    scalar_prev1: Tensor,
    scalar_prev3: Tensor,
    lookup_prev1: Tensor | None = None,
    keep: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of the table Neural Programmer (§2.3): every operation, merged by type.

    Args:
        table: ``[B, M, C]`` the table's numbers (padding rows: any value).
        row_mask: ``[B, M]`` 1 for real rows, 0 for padding.
        index: :func:`table_index` of ``table``.
        numbers: ``[B, Q]`` the question's numbers.
        pivot_weights: ``[B, P, Q]`` β for each of :data:`PIVOT_OPERATIONS`.
        op_weights: ``[B, K]`` α^op_t over :data:`TABLE_OPERATIONS`.
        col_weights: ``[B, C]`` α^col_t (0 on padding columns).
        rows_prev1: ``[B, M]`` row_select_{t−1}.
        rows_prev2: ``[B, M]`` row_select_{t−2}.
        scalar_prev1: ``[B]`` scalar_output_{t−1}.
        scalar_prev3: ``[B]`` scalar_output_{t−3}.
        lookup_prev1: ``[B, M, C]`` lookup_output_{t−1} (needed with ``keep``; None = zeros).
        keep: False (the paper's equations): a variable is the α-weighted sum of the
            operations of its type, so an operation of another type sets it to 0 (count
            empties the row selector). True: an operation of another type leaves it as it
            was, ``v_t = Σ_{op of v's type} α(op)·op_t + (1 − Σ_{op of v's type} α(op))·v_{t−1}``.

    Returns:
        ``(scalar_output [B], lookup_output [B, M, C], row_select [B, M])`` of step t.
    """
    a = dict(zip(TABLE_OPERATIONS, op_weights.unbind(-1)))  # α^op_t(op): [B] each
    col = col_weights.unsqueeze(1)  # [B, 1, C]

    def by_column(per_cell: Tensor) -> Tensor:  # [B, M, C] -> [B, M]: Σ_j α^col_t(j)·x_ij
        return (per_cell * col).sum(-1)

    # scalar answer (§2.3): Σ_j α^col(j)·α(sum)·sum_j + α(count)·count + α(difference)·diff
    column_sums = (rows_prev1.unsqueeze(-1) * table * row_mask.unsqueeze(-1)).sum(1)  # [B, C]
    scalar = (
        a["sum"] * (column_sums * col_weights).sum(-1)
        + a["count"] * rows_prev1.sum(-1)
        + a["difference"] * (scalar_prev3 - scalar_prev1)
    )
    # lookup answer: print (the 2015 paper's "assign"): α(print)·α^col(j)·row_select_{t−1}[i]
    lookup = a["print"][:, None, None] * rows_prev1.unsqueeze(-1) * col
    # row selector: only row operations write it
    pivots = dict(zip(PIVOT_OPERATIONS, pivot_weights.unbind(1)))
    selected = rows_prev1 * row_mask
    row_terms = {
        "greater": by_column(soft_compare(table, numbers, pivots["greater"], "greater")),
        "lesser": by_column(soft_compare(table, numbers, pivots["lesser"], "lesser")),
        "select": by_column(soft_compare(table, numbers, pivots["select"], "select")),
        "and": torch.minimum(rows_prev1, rows_prev2),
        "or": torch.maximum(rows_prev1, rows_prev2),
        "reset": torch.ones_like(rows_prev1),
        "first": soft_first(selected),
        "last": soft_last(selected),
        "argmax": by_column(soft_extreme(selected, index.descending)),
        "argmin": by_column(soft_extreme(selected, index.ascending)),
        "most_frequent": by_column(soft_most_frequent(selected, index.value_ids)),
    }
    rows = sum(a[name].unsqueeze(-1) * term for name, term in row_terms.items())
    if keep:
        other = lambda names: 1 - sum(a[n] for n in names if n in a)  # noqa: E731  weight of the other types
        scalar = scalar + other(SCALAR_OPERATIONS) * scalar_prev1
        rows = rows + other(ROW_OPERATIONS).unsqueeze(-1) * rows_prev1
        if lookup_prev1 is not None:
            lookup = lookup + other(LOOKUP_OPERATIONS)[:, None, None] * lookup_prev1
    return scalar, lookup * row_mask.unsqueeze(-1), rows * row_mask


def huber(error: Tensor, delta: float) -> Tensor:
    """Huber loss (the paper's scalar-answer loss): ``½e²`` if ``|e| ≤ δ`` else ``δ|e| − ½δ²``."""
    abs_error = error.abs()
    return torch.where(abs_error <= delta, 0.5 * error * error, delta * abs_error - 0.5 * delta * delta)
