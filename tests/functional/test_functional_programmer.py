"""Neural Programmer operations: hand-built tables, float64 references, gradients, edge cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from augrnn.functional import programmer as NP

OPS = NP.TABLE_OPERATIONS

# A 4-row, 2-column table plus one padding row (row 4).
TABLE = torch.tensor([[[3.0, 10.0], [5.0, -2.0], [5.0, 7.0], [1.0, 7.0], [0.0, 0.0]]], dtype=torch.float64)
ROW_MASK = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
NUMBERS = torch.tensor([[4.0, 5.0]], dtype=torch.float64)


def _one_hot(name: str, dtype=torch.float64) -> torch.Tensor:
    return F.one_hot(torch.tensor([OPS.index(name)]), len(OPS)).to(dtype)


def _run(op: str, column: int, rows1=None, rows2=None, pivot: int = 0, scalar1=0.0, scalar3=0.0):
    rows1 = ROW_MASK.clone() if rows1 is None else torch.tensor([rows1], dtype=torch.float64)
    rows2 = ROW_MASK.clone() if rows2 is None else torch.tensor([rows2], dtype=torch.float64)
    pivots = F.one_hot(torch.full((1, len(NP.PIVOT_OPERATIONS)), pivot), 2).to(torch.float64)
    col = F.one_hot(torch.tensor([column]), 2).to(torch.float64)
    return NP.table_step(
        TABLE, ROW_MASK, NP.table_index(TABLE), NUMBERS, pivots, _one_hot(op), col, rows1, rows2,
        torch.tensor([scalar1], dtype=torch.float64), torch.tensor([scalar3], dtype=torch.float64),
    )


@pytest.mark.parametrize(
    "op, column, rows1, rows2, pivot, expected_rows",
    [
        ("greater", 0, None, None, 0, [0, 1, 1, 0, 0]),  # > 4
        ("lesser", 0, None, None, 1, [1, 0, 0, 1, 0]),  # < 5
        ("select", 0, None, None, 1, [0, 1, 1, 0, 0]),  # == 5
        ("greater", 1, None, None, 0, [1, 0, 1, 1, 0]),
        ("and", 0, [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], 0, [0, 1, 0, 0, 0]),
        ("or", 0, [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], 0, [1, 1, 1, 0, 0]),
        ("reset", 0, [0, 0, 0, 0, 0], None, 0, [1, 1, 1, 1, 0]),
        ("first", 0, [0, 1, 1, 0, 0], None, 0, [0, 1, 0, 0, 0]),
        ("last", 0, [0, 1, 1, 0, 0], None, 0, [0, 0, 1, 0, 0]),
        ("first", 0, [0, 0, 0, 0, 0], None, 0, [0, 0, 0, 0, 0]),  # empty selection
        ("argmax", 0, None, None, 0, [0, 1, 0, 0, 0]),  # tie 5, 5: the earliest row
        ("argmax", 0, [1, 0, 0, 1, 0], None, 0, [1, 0, 0, 0, 0]),  # among the selected rows only
        ("argmin", 1, None, None, 0, [0, 1, 0, 0, 0]),
        ("argmin", 1, [0, 0, 0, 0, 0], None, 0, [0, 0, 0, 0, 0]),  # empty selection
        ("most_frequent", 1, None, None, 0, [0, 0, 1, 1, 0]),  # 7 twice
        ("most_frequent", 0, [1, 0, 1, 1, 0], None, 0, [1, 0, 1, 1, 0]),  # all values once: a tie
        ("most_frequent", 0, None, None, 0, [0, 1, 1, 0, 0]),  # 5 twice
    ],
)
def test_row_operations_on_a_hand_built_table(op, column, rows1, rows2, pivot, expected_rows):
    scalar, lookup, rows = _run(op, column, rows1, rows2, pivot)
    assert rows[0].tolist() == expected_rows
    assert scalar.item() == 0 and lookup.abs().sum() == 0  # type discipline: a row op writes only rows


@pytest.mark.parametrize(
    "op, column, rows1, scalar1, scalar3, expected",
    [
        ("sum", 0, None, 0, 0, 14.0),
        ("sum", 1, [1, 0, 1, 0, 0], 0, 0, 17.0),
        ("sum", 1, [0, 0, 0, 0, 0], 0, 0, 0.0),  # empty selection
        ("count", 0, None, 0, 0, 4.0),  # padding rows never count
        ("count", 0, [0, 1, 1, 0, 0], 0, 0, 2.0),
        ("difference", 0, None, 2.5, 10.0, 7.5),  # scalar_{t−3} − scalar_{t−1}
    ],
)
def test_scalar_operations(op, column, rows1, scalar1, scalar3, expected):
    scalar, lookup, rows = _run(op, column, rows1, scalar1=scalar1, scalar3=scalar3)
    assert scalar.item() == pytest.approx(expected)
    assert lookup.abs().sum() == 0 and rows.abs().sum() == 0  # a scalar op never writes lookup or rows


def test_print_writes_only_the_lookup_answer():
    scalar, lookup, rows = _run("print", 1, [0, 1, 1, 0, 0])
    expected = torch.zeros(1, 5, 2, dtype=torch.float64)
    expected[0, 1:3, 1] = 1
    assert torch.equal(lookup, expected)
    assert scalar.item() == 0 and rows.abs().sum() == 0


@pytest.mark.parametrize("keep", [False, True])
def test_soft_step_is_the_weighted_average_of_the_hard_steps(keep):
    torch.manual_seed(3 + keep)
    alpha = torch.softmax(torch.randn(1, len(OPS), dtype=torch.float64), -1)
    col = torch.softmax(torch.randn(1, 2, dtype=torch.float64), -1)
    rows1 = torch.tensor([[0.2, 0.9, 0.5, 0.1, 0.0]], dtype=torch.float64)
    rows2 = torch.tensor([[0.7, 0.3, 0.5, 1.0, 0.0]], dtype=torch.float64)
    lookup1 = torch.rand(1, 5, 2, dtype=torch.float64) * ROW_MASK.unsqueeze(-1)
    pivots = torch.softmax(torch.randn(1, 3, 2, dtype=torch.float64), -1)
    args = (torch.tensor([1.5], dtype=torch.float64), torch.tensor([-4.0], dtype=torch.float64), lookup1)
    index = NP.table_index(TABLE)
    soft = NP.table_step(TABLE, ROW_MASK, index, NUMBERS, pivots, alpha, col, rows1, rows2, *args, keep=keep)
    expected = [torch.zeros_like(t) for t in soft]
    for k in range(len(OPS)):  # explicit loop over operations and columns in float64
        for j in range(2):
            hard = NP.table_step(TABLE, ROW_MASK, index, NUMBERS, pivots, F.one_hot(torch.tensor([k]), len(OPS)).double(),
                                 F.one_hot(torch.tensor([j]), 2).double(), rows1, rows2, *args, keep=keep)
            for e, h in zip(expected, hard):
                e += alpha[0, k] * col[0, j] * h
    for s, e in zip(soft, expected):
        torch.testing.assert_close(s, e)


def _gradcheck_table(B, M, C):
    """A small random integer table (ties on purpose), a padding row in example 0, two numbers."""
    table = torch.randint(-3, 4, (B, M, C)).double()
    row_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.float64)
    numbers = torch.tensor([[0.5, -1.5], [1.5, 0.0]], dtype=torch.float64)
    return table, row_mask, numbers, NP.table_index(table)


def test_table_step_gradcheck():
    torch.manual_seed(0)
    B, M, C, Q = 2, 4, 3, 2
    table, row_mask, numbers, index = _gradcheck_table(B, M, C)
    leaves = [
        torch.softmax(torch.randn(B, 3, Q, dtype=torch.float64), -1).requires_grad_(),
        torch.softmax(torch.randn(B, len(OPS), dtype=torch.float64), -1).requires_grad_(),
        torch.softmax(torch.randn(B, C, dtype=torch.float64), -1).requires_grad_(),
        torch.rand(B, M, dtype=torch.float64).requires_grad_(),
        torch.rand(B, M, dtype=torch.float64).requires_grad_(),
        torch.randn(B, dtype=torch.float64).requires_grad_(),
        torch.randn(B, dtype=torch.float64).requires_grad_(),
    ]

    def step(pivots, ops, cols, rows1, rows2, s1, s3):
        # rows2 must not tie rows1 (min/max are not differentiable at ties)
        return NP.table_step(table, row_mask, index, numbers, pivots, ops, cols, rows1, rows2 + 0.05, s1, s3)

    assert torch.autograd.gradcheck(step, leaves)


def test_table_step_is_finite_on_edge_cases():
    B, M, C, Q = 2, 6, 2, 2
    table = torch.full((B, M, C), 1e6)
    table[1] = 0.0
    row_mask = torch.zeros(B, M)  # all padding
    row_mask[1, 0] = 1.0  # one real row
    numbers = torch.zeros(B, Q)
    pivots = torch.zeros(B, 3, Q)  # questions without numbers
    ops = torch.softmax(torch.full((B, len(OPS)), 1e4), -1).requires_grad_()  # huge logits
    cols = torch.full((B, C), 0.5, requires_grad=True)
    rows = torch.zeros(B, M, requires_grad=True)
    s = torch.zeros(B, requires_grad=True)
    outputs = NP.table_step(table, row_mask, NP.table_index(table), numbers, pivots, ops, cols, rows, rows, s, s)
    sum(o.sum() for o in outputs).backward()
    for t in (*outputs, ops.grad, cols.grad, rows.grad, s.grad):
        assert torch.isfinite(t).all()


# -- arithmetic ---------------------------------------------------------------------------


def test_safe_divide_values_and_divide_by_zero():
    a = torch.tensor([6.0, 1.0, -3.0, 5.0])
    b = torch.tensor([3.0, 0.0, 2.0, -0.0])
    q = NP.safe_divide(a, b)
    assert q[1] == 0 and q[3] == 0
    torch.testing.assert_close(q[[0, 2]], torch.tensor([2.0, -1.5]), rtol=1e-4, atol=0)


@pytest.mark.parametrize(
    "op, expected", [("input_1", 7.0), ("input_2", -1.0), ("add", 5.0), ("subtract", 1.0), ("multiply", 6.0),
                     ("divide", 1.5)]
)
def test_arithmetic_operations_read_two_steps_ago_then_one(op, expected):
    names = ("input_1", "input_2") + NP.ARITHMETIC_OPERATIONS
    alpha = F.one_hot(torch.tensor([names.index(op)]), len(names)).double()
    out = NP.arithmetic_step(alpha, torch.tensor([[7.0, -1.0]]).double(), prev1=torch.tensor([2.0]).double(),
                             prev2=torch.tensor([3.0]).double(), eps=0.0)
    assert out.item() == pytest.approx(expected)


def test_soft_arithmetic_program_matches_a_float64_loop():
    torch.manual_seed(1)
    T, B, N = 5, 3, 2
    alpha = torch.softmax(torch.randn(T, B, N + 4, dtype=torch.float64), -1)
    operands = torch.randn(B, N, dtype=torch.float64) * 3
    prev1 = prev2 = torch.zeros(B, dtype=torch.float64)
    ref1 = [0.0] * B
    ref2 = [0.0] * B
    for t in range(T):
        out = NP.arithmetic_step(alpha[t], operands, prev1, prev2, eps=1e-4)
        for b in range(B):  # the article's definition, written out
            a, c = ref2[b], ref1[b]
            candidates = [operands[b, 0].item(), operands[b, 1].item(), a + c, a - c, a * c, a * c / (c * c + 1e-4)]
            value = sum(alpha[t, b, k].item() * candidates[k] for k in range(len(candidates)))
            ref2[b], ref1[b] = ref1[b], value
        prev2, prev1 = prev1, out
    torch.testing.assert_close(prev1, torch.tensor(ref1, dtype=torch.float64))


def test_arithmetic_step_gradcheck():
    torch.manual_seed(2)
    alpha = torch.softmax(torch.randn(3, 6, dtype=torch.float64), -1).requires_grad_()
    operands = torch.randn(3, 2, dtype=torch.float64).requires_grad_()
    prev1, prev2 = (torch.randn(3, dtype=torch.float64).requires_grad_() for _ in range(2))
    assert torch.autograd.gradcheck(lambda *a: NP.arithmetic_step(*a, eps=1e-2), (alpha, operands, prev1, prev2))


def test_arithmetic_step_is_finite_for_zero_and_huge_values():
    alpha = torch.full((4, 5), 0.2, requires_grad=True)
    big = torch.tensor([0.0, 1e30, -1e30, 3.0], requires_grad=True)
    zero = torch.tensor([0.0, 0.0, 1e30, 0.0], requires_grad=True)
    out = NP.arithmetic_step(alpha, big.unsqueeze(-1), prev1=zero, prev2=big)
    out.sum().backward()
    assert torch.isfinite(out).all() and out.abs().max() <= 1e6
    for t in (alpha.grad, big.grad, zero.grad):
        assert torch.isfinite(t).all()
    with pytest.raises(ValueError, match="N \\+ 4"):
        NP.arithmetic_step(alpha, torch.zeros(4, 2), zero, zero)


def test_huber():
    e = torch.tensor([-3.0, 0.5, 2.0])
    torch.testing.assert_close(NP.huber(e, 1.0), torch.tensor([2.5, 0.125, 1.5]))


# -- operation sets; keeping a variable across steps of another type ---------------------------


def test_operation_set():
    assert NP.operation_set("all") == OPS
    assert NP.operation_set("paper") == NP.PAPER_OPERATIONS
    assert set(NP.PAPER_OPERATIONS) == {"sum", "count", "difference", "greater", "lesser", "and", "or", "reset", "print"}
    assert NP.operation_set("reset, sum") == ("sum", "reset")  # TABLE_OPERATIONS order
    with pytest.raises(ValueError, match="operations must be"):
        NP.operation_set("sum,bogus")
    with pytest.raises(ValueError, match="operations must be"):
        NP.operation_set("")


def _keep_run(op: str, rows1, scalar1: float, lookup1):
    pivots = F.one_hot(torch.zeros(1, len(NP.PIVOT_OPERATIONS), dtype=torch.long), 2).to(torch.float64)
    return NP.table_step(
        TABLE, ROW_MASK, NP.table_index(TABLE), NUMBERS, pivots, _one_hot(op), F.one_hot(torch.tensor([1]), 2).double(),
        torch.tensor([rows1], dtype=torch.float64), ROW_MASK.clone(), torch.tensor([scalar1], dtype=torch.float64),
        torch.tensor([0.0], dtype=torch.float64), lookup1, keep=True,
    )


def test_keep_leaves_the_other_types_as_they_were():
    rows1 = [0.0, 1.0, 1.0, 0.0, 0.0]
    lookup1 = torch.zeros(1, 5, 2, dtype=torch.float64)
    lookup1[0, 3, 0] = 1.0
    scalar, lookup, rows = _keep_run("count", rows1, 7.0, lookup1)  # a scalar op keeps rows and lookup
    assert scalar.item() == 2.0 and rows[0].tolist() == rows1 and torch.equal(lookup, lookup1)
    scalar, lookup, rows = _keep_run("greater", rows1, 7.0, lookup1)  # a row op keeps scalar and lookup
    assert scalar.item() == 7.0 and rows[0].tolist() == [1, 0, 1, 1, 0] and torch.equal(lookup, lookup1)
    scalar, lookup, rows = _keep_run("print", rows1, 7.0, lookup1)  # print keeps scalar and rows
    assert scalar.item() == 7.0 and rows[0].tolist() == rows1
    assert lookup[0, :, 1].tolist() == [0, 1, 1, 0, 0] and lookup[0, :, 0].abs().sum() == 0


def test_table_step_with_keep_gradcheck():
    torch.manual_seed(6)
    B, M, C, Q = 2, 4, 3, 2
    table, row_mask, numbers, index = _gradcheck_table(B, M, C)
    leaves = [
        torch.softmax(torch.randn(B, len(OPS), dtype=torch.float64), -1).requires_grad_(),
        torch.softmax(torch.randn(B, C, dtype=torch.float64), -1).requires_grad_(),
        torch.rand(B, M, dtype=torch.float64).requires_grad_(),
        torch.randn(B, dtype=torch.float64).requires_grad_(),
        torch.rand(B, M, C, dtype=torch.float64).requires_grad_(),
    ]
    pivots = torch.softmax(torch.randn(B, 3, Q, dtype=torch.float64), -1)

    def step(ops, cols, rows1, s1, lookup1):
        return NP.table_step(table, row_mask, index, numbers, pivots, ops, cols, rows1, rows1 + 0.05, s1, -s1,
                             lookup1, keep=True)

    assert torch.autograd.gradcheck(step, leaves)
