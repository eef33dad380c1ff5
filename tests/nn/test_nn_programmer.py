"""Neural Programmer models: float64 references, gradients, edge cases, fast path, learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from augrnn.functional import programmer as NP
from augrnn.nn import ArithmeticProgrammer, ArithmeticProgrammerCell, TableProgrammer, TableProgrammerCell
from augrnn.tasks.arithmetic import ArithmeticConfig, ArithmeticTask
from augrnn.tasks.table_qa import TEMPLATES, TableQAConfig, TableQATask

# -- arithmetic ---------------------------------------------------------------------------


def _arith_batch(depth=2, batch=5, seed=0, **config):
    task = ArithmeticTask(ArithmeticConfig(max_depth=max(depth, 1), **config))
    return task, task.sample(batch, np.random.default_rng(seed), size=depth)


def test_arithmetic_answer_is_the_soft_program_executed_in_float64():
    task, b = _arith_batch(depth=3)
    model = ArithmeticProgrammer(task.input_size, 8, max_operands=5).double()
    out = model(b.tokens.double(), b.operands.double(), b.number_mask, return_trace=True)
    alpha = out.trace.op_weights  # [B, T, 5 + 4]
    assert torch.allclose(alpha.sum(-1), torch.ones_like(alpha[..., 0]))
    assert alpha[..., 4].abs().max() == 0  # input_5 cannot be chosen: depth 3 has 4 operands
    for i in range(b.tokens.shape[0]):  # explicit loop, one example at a time
        numbers = b.operands[i, 0::2].tolist()
        prev1 = prev2 = 0.0
        for t in range(b.tokens.shape[1]):
            candidates = numbers + [0.0] + [prev2 + prev1, prev2 - prev1, prev2 * prev1,
                                            prev2 * prev1 / (prev1**2 + 1e-4)]
            value = sum(alpha[i, t, k].item() * c for k, c in enumerate(candidates))
            prev2, prev1 = prev1, value
        assert out.answer[i].item() == pytest.approx(prev1, rel=1e-9, abs=1e-9)


def test_arithmetic_hard_selection_is_one_hot():
    task, b = _arith_batch(depth=2)
    out = ArithmeticProgrammer(task.input_size, 8)(b.tokens, b.operands, b.number_mask, hard=True, return_trace=True)
    weights = out.trace.op_weights
    assert set(weights.unique().tolist()) <= {0.0, 1.0} and (weights.sum(-1) == 1).all()


def test_arithmetic_cell_gradcheck():
    torch.manual_seed(0)
    cell = ArithmeticProgrammerCell(3, max_operands=2).double()
    keys = torch.randn(2, 3, 3, dtype=torch.float64)
    operands = torch.tensor([[2.0, -3.0], [1.0, 4.0]], dtype=torch.float64)
    mask = torch.ones(2, 2, dtype=torch.float64)
    x = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)

    def two_steps(x, keys):
        state = cell.initial_state(2, context=(keys, operands, mask))
        y1, state = cell(x, state)
        y2, state = cell(x, state)
        return y2, state.op_weights, state.question_attention

    assert torch.autograd.gradcheck(two_steps, (x, keys.requires_grad_()))


@pytest.mark.parametrize("operands", ["zeros", "huge"])
def test_arithmetic_is_finite_on_divide_by_zero_and_huge_values(operands):
    task, b = _arith_batch(depth=3, batch=4)
    values = torch.zeros_like(b.operands) if operands == "zeros" else b.operands * 1e20
    model = ArithmeticProgrammer(task.input_size, 8)
    with torch.no_grad():  # huge logits in the selector
        model.cell.op_embeddings.mul_(1e4)
    out = model(b.tokens, values, b.number_mask)
    out.answer.sum().backward()
    assert torch.isfinite(out.answer).all()
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_arithmetic_one_number_question():
    task, _ = _arith_batch()
    tokens = torch.zeros(2, 1, task.input_size)
    tokens[:, 0, 1] = 1
    out = ArithmeticProgrammer(task.input_size, 4)(tokens, torch.tensor([[3.0], [0.0]]), torch.ones(2, 1), hard=True)
    assert torch.isfinite(out.answer).all()


def test_arithmetic_validates():
    with pytest.raises(ValueError, match="hidden_size"):
        ArithmeticProgrammer(6, 0)
    with pytest.raises(ValueError, match="context"):
        ArithmeticProgrammerCell(4).initial_state(2)
    model = ArithmeticProgrammer(6, 4)
    with pytest.raises(ValueError, match="1 to max_operands"):
        model(torch.zeros(1, 3, 6), torch.zeros(1, 3), torch.zeros(1, 3))


def test_arithmetic_fast_path_matches_eager(monkeypatch):
    monkeypatch.delenv("AUGRNN_DISABLE_COMPILE", raising=False)
    task, b = _arith_batch(depth=1, batch=4)
    torch.manual_seed(0)
    eager = ArithmeticProgrammer(task.input_size, 8, fast=False)
    fast = ArithmeticProgrammer(task.input_size, 8, fast=True)
    fast.load_state_dict(eager.state_dict())
    results = []
    for model in (eager, fast):
        out = model(b.tokens, b.operands, b.number_mask, return_trace=True)
        (out.answer.sum() + out.trace.op_weights.square().sum()).backward()
        results.append((out.answer.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (a_eager, g_eager), (a_fast, g_fast) = results
    torch.testing.assert_close(a_fast, a_eager, rtol=1e-4, atol=1e-5)
    for name in g_eager:
        assert g_eager[name].abs().max() > 0, name
        torch.testing.assert_close(g_fast[name], g_eager[name], rtol=1e-3, atol=1e-5)


# -- table ----------------------------------------------------------------------------------


def _table_task(**overrides):
    config = dict(columns=2, name_pool=3, min_rows=3, max_rows=6, value_low=-5, value_high=5, templates="all")
    return TableQATask(TableQAConfig(**{**config, **overrides}))


def test_table_programmer_shapes_and_hard_trace():
    task = _table_task()
    batch = task.sample(4, np.random.default_rng(0))
    model = TableProgrammer(task.input_size, 8, 6, steps=4)
    out = model(batch, hard=True, return_trace=True)
    assert out.answer.shape == (4,) and out.lookup.shape == (4, 6, 2)
    assert out.trace.op_weights.shape == (4, 4, len(NP.TABLE_OPERATIONS))
    assert out.trace.col_weights.shape == (4, 4, 2) and out.trace.rows1.shape == (4, 4, 6)
    assert set(out.trace.op_weights.unique().tolist()) <= {0.0, 1.0}
    assert (out.trace.rows1 * (1 - batch.row_mask[:, None])).abs().max() == 0  # padding rows never selected


@pytest.mark.parametrize("keep", [False, True])
def test_table_programmer_matches_table_step_in_float64(keep):
    """The model's last-step outputs are table_step applied to its own traced selections."""
    task = _table_task()
    batch = task.sample(3, np.random.default_rng(1))
    model = TableProgrammer(task.input_size, 8, 6, steps=3, keep=keep).double()
    batch = batch._replace(table=batch.table.double(), numbers=batch.numbers.double())
    out = model(batch, return_trace=True)
    tr = out.trace
    index = NP.table_index(batch.table)
    rows1 = rows2 = batch.row_mask.double()
    s1 = s2 = s3 = torch.zeros(3, dtype=torch.float64)
    lookup = torch.zeros_like(batch.table)
    for t in range(3):
        scalar, lookup, rows = NP.table_step(batch.table, batch.row_mask.double(), index, batch.numbers,
                                             tr.pivot_weights[:, t], tr.op_weights[:, t], tr.col_weights[:, t],
                                             rows1, rows2, s1, s3, lookup, keep=keep)
        rows1, rows2, s1, s2, s3 = rows, rows1, scalar, s1, s2
    torch.testing.assert_close(out.answer, scalar)
    torch.testing.assert_close(out.lookup, lookup)


@pytest.mark.parametrize("variant", ["plain", "op_pointer", "column_anchor"])
def test_table_cell_gradcheck(variant):
    torch.manual_seed(0)
    task = _table_task(max_rows=4, min_rows=2, templates="difference,and_count,greater_sum")
    batch = task.sample(2, np.random.default_rng(2))
    options = {"op_pointer": dict(op_pointer=True),
               "column_anchor": dict(column_anchor=2.0, word_operations=task.word_operations)}.get(variant, {})
    model = TableProgrammer(task.input_size, 3, 3, steps=2, **options).double()
    occurrence, next_name = model.anchor_context(batch, torch.float64) if "column_anchor" in options else (None, None)
    keys = torch.randn(2, batch.words.shape[1], 3, dtype=torch.float64, requires_grad=True)
    columns = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    pivots = torch.softmax(torch.randn(2, 3, 2, dtype=torch.float64), -1)
    word_names = torch.randn(2, batch.words.shape[1], 3, dtype=torch.float64, requires_grad=True)
    word_ops = torch.randn(2, batch.words.shape[1], 3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    cell: TableProgrammerCell = model.cell
    anchor = (cell.anchor_weights if cell.anchor_weights is not None else torch.zeros(1)).detach().clone()

    def two_steps(x, keys, columns, word_names, word_ops, anchor_weights):
        context = dict(keys=keys, word_mask=batch.word_mask.double(), table=batch.table.double(),
                       row_mask=batch.row_mask.double(), numbers=batch.numbers.double(), pivot_weights=pivots,
                       columns=columns, word_names=word_names, column_mask=batch.column_mask.double(),
                       word_ops=word_ops if variant == "op_pointer" else None, word_occurrence=occurrence,
                       next_name=next_name)
        state = cell.initial_state(2, context=context)
        parameters = {"anchor_weights": anchor_weights} if cell.anchor_weights is not None else {}
        for _ in range(2):  # the second step's anchor depends on the first step's α^op
            y, state = torch.func.functional_call(cell, parameters, (x, state))
        return y, state.lookup, state.history, state.col_weights, state.op_weights

    inputs = (x, keys, columns, word_names, word_ops, anchor.double().requires_grad_(True))
    assert torch.autograd.gradcheck(two_steps, inputs)


def test_table_op_pointer_adds_the_attended_word_to_the_operation_logits():
    """op_pointer: α^op = softmax over the allowed operations of (tanh(W_op[q; h; c]) + Σ_l a_l V(word_l))·U_k,
    a the step's attention over the question; checked by hand with the selector's query zeroed."""
    torch.manual_seed(0)
    task = _table_task(columns=3, name_pool=3, templates="greater_sum")
    batch = task.sample(5, np.random.default_rng(4))
    model = TableProgrammer(task.input_size, 16, 16, steps=1, operations="paper", op_pointer=True).double()
    cell = model.cell
    with torch.no_grad():
        cell.op_selector.weight.zero_()
        cell.op_selector.bias.zero_()  # tanh(0) = 0: only the attended word scores the operations
    word_ops = model.op_projection(model.embeddings(batch.words).double())
    context = dict(keys=torch.randn(5, batch.words.shape[1], 16, dtype=torch.float64),
                   word_mask=batch.word_mask.double(), table=batch.table.double(), row_mask=batch.row_mask.double(),
                   numbers=batch.numbers.double(), pivot_weights=torch.full((5, 3, 2), 0.5, dtype=torch.float64),
                   columns=torch.randn(5, 3, 16, dtype=torch.float64), word_names=word_ops.detach(),
                   column_mask=batch.column_mask.double(), word_ops=word_ops)
    _, state = cell(torch.randn(5, 16, dtype=torch.float64), cell.initial_state(5, context=context))
    attended = torch.einsum("bl,blh->bh", state.question_attention, word_ops)
    logits = (attended @ cell.op_embeddings.t().double()).masked_fill(cell.op_mask == 0, float("-inf"))
    torch.testing.assert_close(state.op_weights, torch.softmax(logits, -1))
    assert TableProgrammer(task.input_size, 8, 8).op_projection is None
    out = model.train()(batch)
    (out.answer.sum() + out.lookup.sum()).backward()
    assert torch.isfinite(model.op_projection.weight.grad).all() and model.op_projection.weight.grad.abs().sum() > 0


def test_table_programmer_is_finite_on_edge_cases():
    task = _table_task(templates="sum,count", min_rows=1, max_rows=1, value_low=0, value_high=0)  # one row, zeros
    batch = task.sample(3, np.random.default_rng(0))
    batch = batch._replace(table=batch.table + torch.tensor([0.0, 1e6, -1e6])[:, None, None])
    model = TableProgrammer(task.input_size, 8, 6, steps=4)
    with torch.no_grad():
        model.cell.op_embeddings.mul_(1e4)  # huge logits
    out = model(batch)
    per_example = task.example_losses(out, batch)
    per_example.sum().backward()
    assert torch.isfinite(out.answer).all() and torch.isfinite(out.lookup).all() and torch.isfinite(per_example).all()
    for name, p in model.named_parameters():
        assert p.grad is None or torch.isfinite(p.grad).all(), name


def test_table_programmer_validates():
    with pytest.raises(ValueError, match="steps"):
        TableProgrammer(10, 8, 8, steps=0)
    with pytest.raises(ValueError, match="context"):
        TableProgrammerCell(4).initial_state(2)


def _fit(task, model, lr: float, updates: int, batch_size: int) -> None:
    """Adam with global-norm clipping at 1.0 on fresh batches of ``task`` (data seed 0)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    for _ in range(updates):
        batch = task.sample(batch_size, rng)
        loss = task.loss(task.forward(model, batch), batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()


def test_arithmetic_learns_depth_one():
    """≤ ~60 s on one core: with Gumbel selection noise the argmax program solves a + b and a × b."""
    torch.manual_seed(0)
    task = ArithmeticTask(ArithmeticConfig(min_depth=1, max_depth=1, operand_low=1, operators="+*"))
    model = ArithmeticProgrammer(task.input_size, 32, max_operands=2, selection_noise=1.0)
    _fit(task, model, lr=1e-2, updates=400, batch_size=64)
    model.eval()
    batch = task.sample(500, np.random.default_rng(1))
    metrics = task.metrics(task.forward(model, batch), batch)
    assert metrics["error"].mean() <= 0.1, {k: v.mean().item() for k, v in metrics.items()}


@pytest.mark.parametrize("anchor", [False, True])
def test_table_fast_path_matches_eager(monkeypatch, anchor):
    monkeypatch.delenv("AUGRNN_DISABLE_COMPILE", raising=False)
    task = _table_task()
    batch = task.sample(4, np.random.default_rng(0))
    options = dict(column_anchor=2.0, word_operations=task.word_operations, op_pointer=True) if anchor else {}
    torch.manual_seed(0)
    eager = TableProgrammer(task.input_size, 8, 8, steps=3, fast=False, **options)
    fast = TableProgrammer(task.input_size, 8, 8, steps=3, fast=True, **options)
    fast.load_state_dict(eager.state_dict())
    results = []
    for model in (eager, fast):
        out = model(batch, return_trace=True)
        (out.answer.sum() + out.lookup.sum() + out.trace.op_weights.square().sum()).backward()
        results.append((out.answer.detach(), out.lookup.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (a_eager, l_eager, g_eager), (a_fast, l_fast, g_fast) = results
    torch.testing.assert_close(a_fast, a_eager, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(l_fast, l_eager, rtol=1e-4, atol=1e-6)
    assert any(g.abs().max() > 0 for g in g_eager.values())
    for name in g_eager:
        torch.testing.assert_close(g_fast[name], g_eager[name], rtol=1e-3, atol=1e-5)


def test_table_column_distribution_is_not_saturated_at_init():
    """Regression: P·query column logits of order √H made the initial α^col nearly one-hot, so the
    column pointer of a comparison stuck on its first guess (the 5-column preset plateaued at 28 %)."""
    torch.manual_seed(0)
    task = _table_task(columns=5, name_pool=5, templates="paper")
    batch = task.sample(200, np.random.default_rng(0))
    model = TableProgrammer(task.input_size, 64, 64, steps=4)  # the preset's sizes
    with torch.no_grad():
        col_weights = model(batch, return_trace=True).trace.col_weights  # [B, T, C]
    assert col_weights.amax(-1).mean() < 0.35, col_weights.amax(-1).mean()  # uniform: 0.2


def test_table_column_pointer_follows_the_attended_word():
    """When the attended question word names column j, column j gets the largest α^col with no help
    from the selector's query (the attended word is matched against the column names)."""
    torch.manual_seed(0)
    task = _table_task(columns=3, name_pool=3, templates="greater_sum")
    batch = task.sample(8, np.random.default_rng(3))
    model = TableProgrammer(task.input_size, 16, 16, steps=1).double()
    cell = model.cell
    with torch.no_grad():
        cell.col_selector.weight.zero_()
        cell.col_selector.bias.zero_()  # tanh(0) = 0: no query, only the attended word decides
    x_word = 2  # "greater <num> X sum Y": the word naming X
    names = model.column_projection(model.embeddings(batch.column_names).double())  # P_j
    word_names = model.column_projection(model.embeddings(batch.words).double())
    attended_only = word_names[:, x_word:x_word + 1].expand_as(word_names)  # every word reads as X
    context = dict(keys=torch.randn(8, batch.words.shape[1], 16, dtype=torch.float64),
                   word_mask=batch.word_mask.double(), table=batch.table.double(), row_mask=batch.row_mask.double(),
                   numbers=batch.numbers.double(), pivot_weights=torch.full((8, 3, 2), 0.5, dtype=torch.float64),
                   columns=names, word_names=attended_only, column_mask=batch.column_mask.double())
    _, state = cell(torch.zeros(8, 16, dtype=torch.float64), cell.initial_state(8, context=context))
    named_x = (batch.column_names == batch.words[:, x_word:x_word + 1]).double().argmax(-1)  # [B]
    assert (state.col_weights.argmax(-1) == named_x).all()


def test_table_learns_two_column_programs():
    """≤ ~60 s on one core: "greater N X sum Y" needs the comparison on X and the sum on Y (different
    columns at different steps). Before the column attention asked by the operation, the model kept
    one column for every step and answered 0 whenever X ≠ Y (≈ 27 % right)."""
    torch.manual_seed(0)
    task = _table_task(columns=2, name_pool=3, min_rows=10, max_rows=30, value_low=-100, value_high=100,
                       templates="greater_sum")
    model = TableProgrammer(task.input_size, 32, 32, steps=4)
    _fit(task, model, lr=3e-3, updates=300, batch_size=50)
    model.eval()
    batch = next(task.eval_batches(0, 1, 400))
    outputs = task.forward(model, batch)
    right = task.correct(outputs.hard, batch)
    names = batch.words
    two_columns = names[:, 2] != names[:, 4]  # X ≠ Y
    assert batch.template.eq(TEMPLATES.index("greater_sum")).all() and two_columns.float().mean() > 0.3
    assert right[two_columns].mean() >= 0.6, (right[two_columns].mean(), right[~two_columns].mean())


def test_table_operation_set_masks_the_other_operations():
    task = _table_task(templates="paper")
    batch = task.sample(6, np.random.default_rng(4))
    torch.manual_seed(0)
    model = TableProgrammer(task.input_size, 8, 8, steps=4, operations="paper")
    others = [k for k, name in enumerate(NP.TABLE_OPERATIONS) if name not in NP.PAPER_OPERATIONS]
    for hard in (False, True):
        ops = model(batch, hard=hard, return_trace=True).trace.op_weights  # [B, T, K], still one entry per operation
        assert ops.shape[-1] == len(NP.TABLE_OPERATIONS)
        assert ops[..., others].abs().max() == 0
        torch.testing.assert_close(ops.sum(-1), torch.ones(ops.shape[:-1]))
    with pytest.raises(ValueError, match="operations must be"):
        TableProgrammer(task.input_size, 8, 8, operations="sum,nope")


def test_table_dropout_is_training_only_and_finite():
    task = _table_task(templates="paper")
    batch = task.sample(6, np.random.default_rng(5))
    torch.manual_seed(0)
    model = TableProgrammer(task.input_size, 8, 8, steps=4, dropout=0.5)
    model.eval()
    a, b = model(batch).answer, model(batch).answer
    assert torch.equal(a, b)  # no dropout at evaluation
    model.train()
    outs = [model(batch) for _ in range(2)]
    assert not torch.equal(outs[0].answer, outs[1].answer)
    loss = task.example_losses(outs[0], batch).mean()
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="dropout"):
        TableProgrammer(task.input_size, 8, 8, dropout=1.0)


@pytest.mark.parametrize("column_inputs", ["all", "history", "operation"])
def test_table_column_inputs_decide_what_alpha_col_reads(column_inputs):
    """With the operation fixed (op selector zeroed), α^col of a step changes with the question
    vector q only for "all", and with the history h only for "all" and "history"."""
    torch.manual_seed(0)
    task = _table_task(columns=3, name_pool=3, templates="greater_sum")
    batch = task.sample(6, np.random.default_rng(2))
    model = TableProgrammer(task.input_size, 16, 16, steps=1, column_inputs=column_inputs).double()
    cell = model.cell
    with torch.no_grad():
        cell.op_selector.weight.zero_()  # the same α^op whatever q and h are
    names = model.column_projection(model.embeddings(batch.column_names).double())
    context = dict(keys=torch.randn(6, batch.words.shape[1], 16, dtype=torch.float64),
                   word_mask=batch.word_mask.double(), table=batch.table.double(), row_mask=batch.row_mask.double(),
                   numbers=batch.numbers.double(), pivot_weights=torch.full((6, 3, 2), 0.5, dtype=torch.float64),
                   columns=names, word_names=model.column_projection(model.embeddings(batch.words).double()),
                   column_mask=batch.column_mask.double())
    start = cell.initial_state(6, context=context)
    q = torch.randn(6, 16, dtype=torch.float64)
    run = lambda x, state: cell(x, state)[1].col_weights  # noqa: E731
    other_q = run(torch.randn(6, 16, dtype=torch.float64), start)
    other_h = run(q, start._replace(history=torch.randn(6, 16, dtype=torch.float64)))
    same = run(q, start)
    assert torch.allclose(same, other_q) == (column_inputs != "all")
    assert torch.allclose(same, other_h) == (column_inputs == "operation")
    with pytest.raises(ValueError, match="column_inputs"):
        TableProgrammerCell(8, column_inputs="question")


def test_table_learns_text_match_questions():
    """≤ ~30 s on one core: on tables whose first column holds words, "W X count" needs ``select`` on
    the text column with the question word as pivot, then ``count`` (hard accuracy 1.0 from ~400
    updates on; 0 at 300, where the argmax program was still ``select`` everywhere)."""
    torch.manual_seed(0)
    task = _table_task(columns=2, name_pool=2, text_columns=1, text_pool=4, min_rows=5, max_rows=15,
                       value_low=-20, value_high=20, templates="text_count")
    model = TableProgrammer(task.input_size, 32, 32, steps=4, operations="sum,count,select,reset")
    _fit(task, model, lr=3e-3, updates=500, batch_size=50)
    model.eval()
    batch = next(task.eval_batches(0, 1, 400))
    right = task.correct(task.forward(model, batch).hard, batch)
    assert right.mean() >= 0.9, right.mean()


# -- column anchor and entropy bonus --------------------------------------------------------


def _question_batch(task, questions: list[str]):
    """A batch of ``task`` whose questions are replaced by ``questions`` (letters name the table's columns)."""
    from augrnn.tasks.table_qa import VOCABULARY

    batch = task.sample(len(questions), np.random.default_rng(0))
    ids = {w: i for i, w in enumerate(VOCABULARY)}
    words = torch.zeros_like(batch.words)
    for b, q in enumerate(questions):
        words[b, :len(q.split())] = torch.tensor([ids[w] for w in q.split()])
    names = torch.tensor([[ids[c] for c in "ABC"]] * len(questions))
    return batch._replace(words=words, word_mask=(words > 0).float(), column_names=names)


def test_table_anchor_context_marks_operation_words_and_the_next_name():
    task = _table_task(columns=3, name_pool=3)
    model = TableProgrammer(task.input_size, 8, 8, column_anchor=5.0, word_operations=task.word_operations)
    batch = _question_batch(task, ["difference sum A sum C", "greater <num> B and lesser <num> A count"])
    occurrence, next_name = model.anchor_context(batch)
    k = NP.TABLE_OPERATIONS.index
    assert occurrence[0, :, k("sum")].tolist()[:5] == [0, 1, 0, 2, 0]
    assert occurrence[0, :, k("difference")].tolist()[:5] == [1, 0, 0, 0, 0]
    assert occurrence[1, :, k("lesser")].tolist()[:8] == [0, 0, 0, 0, 1, 0, 0, 0]
    assert occurrence[1, :, k("count")].tolist()[:8] == [0, 0, 0, 0, 0, 0, 0, 1]
    first_name_after = next_name.argmax(-1).masked_fill(next_name.sum(-1) == 0, -1)  # [B, L]
    assert first_name_after[0, :5].tolist() == [2, 2, 4, 4, -1]
    assert first_name_after[1, :8].tolist() == [2, 2, 6, 6, 6, 6, -1, -1]
    assert next_name.sum(-1).max() == 1  # at most one name per word


def test_table_column_anchor_points_the_nth_use_at_the_nth_operation_word():
    """Bias of the column attention = κ on the first name after the anchor word; the n-th use of an
    operation (n counted softly) is anchored at its n-th word, the last one if there are fewer."""
    from types import SimpleNamespace

    task = _table_task(columns=3, name_pool=3)
    model = TableProgrammer(task.input_size, 8, 8, operations="paper", column_anchor=3.0,
                            word_operations=task.word_operations).double()
    cell, K = model.cell, len(NP.TABLE_OPERATIONS)
    batch = _question_batch(task, ["difference sum A sum C", "lesser <num> B sum A"])
    occurrence, next_name = model.anchor_context(batch, torch.float64)

    def bias(op: str, usage: dict[str, float]) -> list[list[float]]:
        weights = torch.zeros(2, K, dtype=torch.float64)
        weights[:, NP.TABLE_OPERATIONS.index(op)] = 1
        used = torch.zeros(2, K, dtype=torch.float64)
        for name, n in usage.items():
            used[:, NP.TABLE_OPERATIONS.index(name)] = n
        state = SimpleNamespace(word_occurrence=occurrence, next_name=next_name, op_usage=used)
        return cell._anchor_bias(weights, state)[:, :6].tolist()

    assert bias("sum", {}) == [[0, 0, 3, 0, 0, 0], [0, 0, 0, 0, 3, 0]]  # first sum → A; the one sum → A
    assert bias("sum", {"sum": 1}) == [[0, 0, 0, 0, 3, 0], [0, 0, 0, 0, 3, 0]]  # second sum → C; clamped
    assert bias("sum", {"sum": 0.5}) == [[0, 0, 1.5, 0, 1.5, 0], [0, 0, 0, 0, 3, 0]]  # soft count: halfway
    assert bias("lesser", {"lesser": 2}) == [[0] * 6, [0, 0, 3, 0, 0, 0]]  # a repeated lesser keeps its name
    assert bias("reset", {}) == [[0] * 6, [0] * 6]  # an operation no word names: no bias
    # through the model: hard selection forced to sum at every step reads A, then C, C
    with torch.no_grad():
        cell.column_query.weight.zero_()
        cell.column_query.bias.zero_()  # the attention's query is 0: only the anchor scores the words
    mask = cell.op_mask.clone()
    cell.op_mask.zero_()
    cell.op_mask[NP.TABLE_OPERATIONS.index("sum")] = 1
    try:
        trace = model(batch._replace(table=batch.table.double()), hard=True, return_trace=True).trace
    finally:
        cell.op_mask.copy_(mask)
    assert trace.op_usage[0, :, 0].tolist() == [1, 2, 3, 4]
    assert TableProgrammer(task.input_size, 8, 8).cell.anchor_weights is None


def test_table_column_anchor_validates():
    task = _table_task()
    with pytest.raises(ValueError, match="word_operations"):
        TableProgrammer(task.input_size, 8, 8, column_anchor=1.0)
    with pytest.raises(ValueError, match="word_operations"):
        TableProgrammer(task.input_size, 8, 8, column_anchor=1.0, word_operations=task.word_operations[:-1])
    with pytest.raises(ValueError, match="word_operations must name"):
        TableProgrammer(task.input_size, 8, 8, column_anchor=1.0, word_operations=("fly",) * task.input_size)
    with pytest.raises(ValueError, match="column_anchor"):
        TableProgrammerCell(4, column_anchor=-1.0)
    batch = task.sample(2, np.random.default_rng(0))
    context = dict(keys=torch.zeros(2, batch.words.shape[1], 4), word_mask=batch.word_mask, table=batch.table,
                   row_mask=batch.row_mask, numbers=batch.numbers, pivot_weights=torch.zeros(2, 3, 2),
                   columns=torch.zeros(2, 2, 4), word_names=torch.zeros(2, batch.words.shape[1], 4),
                   column_mask=batch.column_mask)
    with pytest.raises(ValueError, match="without column_anchor"):
        TableProgrammer(task.input_size, 8, 8).anchor_context(batch)
    with pytest.raises(ValueError, match="word_occurrence and next_name"):
        TableProgrammerCell(4, column_anchor=1.0).initial_state(2, context=context)
    with pytest.raises(ValueError, match="op_entropy"):
        _table_task(op_entropy=-1.0)


def test_table_entropy_bonus_is_annealed_and_finite_with_masked_operations():
    """loss = mean answer loss + β·(1 − step/steps)·mean_{b,t} Σ_k α log α, in float64 by hand; the
    operations masked out (α = 0 exactly) keep every gradient finite."""
    torch.manual_seed(0)
    task = _table_task(op_entropy=7.0)
    batch = task.sample(6, np.random.default_rng(1))
    model = TableProgrammer(task.input_size, 8, 8, operations="paper").double()
    batch = batch._replace(table=batch.table.double(), numbers=batch.numbers.double())
    outputs = task.forward(model.train(), batch)
    alpha = outputs.soft.trace.op_weights
    assert (alpha == 0).any()  # masked operations
    answer_loss = task.example_losses(outputs.soft, batch).mean()
    negative_entropy = sum(a * math.log(a) for a in alpha.flatten().tolist() if a > 0) / (alpha.shape[0] * alpha.shape[1])
    task.start_step(0, 10)
    torch.testing.assert_close(task.loss(outputs, batch), answer_loss + 7.0 * negative_entropy)
    task.start_step(7, 10)
    torch.testing.assert_close(task.loss(outputs, batch), answer_loss + 7.0 * 0.3 * negative_entropy)
    task.start_step(10, 10)
    torch.testing.assert_close(task.loss(outputs, batch), answer_loss)
    task.start_step(0, 10)
    task.loss(outputs, batch).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    model.eval()
    assert task.forward(model, batch).soft.trace is None  # the trace is a training-time cost only
    task.start_step(0, 10)


def test_table_learns_difference_with_the_column_anchor():
    """≤ ~40 s on one core: "difference sum X sum Y" needs its two sum steps on two columns (20 %,
    X = Y only, before the anchor: BENCHMARKS.md) and the program sum, reset, sum, difference. Found
    between 200 and 300 updates with this seed (seeds 1 and 2: not by 400 / by 300, measured)."""
    torch.manual_seed(0)
    task = _table_task(columns=5, name_pool=5, min_rows=30, max_rows=100, value_low=-100, value_high=100,
                       templates="difference,sum", op_entropy=300.0)
    model = TableProgrammer(task.input_size, 64, 64, steps=4, operations="paper", column_inputs="operation",
                            op_pointer=True, column_anchor=10.0, word_operations=task.word_operations)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng, updates = np.random.default_rng(0), 300
    for step in range(updates):
        batch = task.sample(50, rng)
        task.start_step(step, updates)
        loss = task.loss(task.forward(model, batch), batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()
    model.eval()
    batch = next(task.eval_batches(0, 1, 400))
    right = task.correct(task.forward(model, batch).hard, batch)
    difference = batch.template == TEMPLATES.index("difference")
    two_columns = difference & (batch.words[:, 2] != batch.words[:, 4])
    assert two_columns.float().mean() > 0.25
    assert right[two_columns].mean() >= 0.9, right[difference].mean()
