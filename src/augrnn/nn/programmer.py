"""Neural Programmer, Neelakantan, Le & Sutskever 2015 (arXiv 1511.04834).

Only wiring lives here; the operations are in :mod:`augrnn.functional.programmer`.

Two models:

* :class:`ArithmeticProgrammer` — the simplified model of Olah & Carter 2016
  (§Neural Programmer): given an arithmetic expression, a controller RNN emits
  one soft operation choice per step; each operation reads the outputs of
  earlier steps like a Unix pipe; the answer is the last step's output.
* :class:`TableProgrammer` — the paper's model (§2): question RNN, selector
  (operations and columns), history RNN and typed state (scalar answer, lookup
  answer, row selector).

Both controllers are cells with :class:`torch.nn.LSTMCell`'s contract run by
:func:`augrnn.nn.recurrent.unroll` (``fast`` = compiled step). A cell works on
one question: what it needs of the question (the question RNN's states, the
question's numbers, the table) is constant over the program and rides in the
state, next to the recurrent variables and this step's operation/column/pointer
distributions (which pictures read). ``hard`` in the state switches the soft
selections of training to the argmax selections of test time (§2.4: "soft
selection at training time, hard selection at test time").

Letters: B batch, L question length, F token features, H hidden size, T program
steps, K operations, M table rows, C table columns, Q numbers in the question,
V vocabulary, E word embedding size, P pivot operations.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn.functional import programmer as NP
from augrnn.nn.recurrent import unroll

__all__ = [
    "ArithmeticProgrammerState",
    "ArithmeticProgrammerCell",
    "ArithmeticProgrammer",
    "arithmetic_operation_names",
    "ProgrammerOutput",
    "TableProgrammerState",
    "TableProgrammerCell",
    "TableProgrammer",
    "select",
]


def select(logits: Tensor, hard: Tensor, mask: Tensor | None = None, noise: float = 0.0) -> Tensor:
    """Softmax over the last dim, or its argmax one-hot where ``hard`` (test-time selection, §2.4).

    Args:
        logits: ``[B, N]``.
        hard: ``[B]`` 1.0 for hard selection, 0.0 for soft.
        mask: ``[B, N]`` 1 for choosable entries (at least one per row), or None.
        noise: scale of Gumbel noise added to the logits of soft selections
            (0 = the paper's plain softmax; >0 = a Gumbel-softmax sample).

    Returns:
        ``[B, N]`` a distribution (one-hot rows where hard).
    """
    if mask is not None:
        logits = logits.masked_fill(mask <= 0, torch.finfo(logits.dtype).min)
    if noise > 0:
        uniform = torch.rand_like(logits).clamp(1e-9, 1 - 1e-9)
        gumbel = -torch.log(-torch.log(uniform)) * noise
        logits = logits + torch.where(hard.unsqueeze(-1) > 0.5, torch.zeros_like(gumbel), gumbel)
    soft = torch.softmax(logits, dim=-1)
    one_hot = F.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
    return torch.where(hard.unsqueeze(-1) > 0.5, one_hot, soft)


def _attend(keys: Tensor, query: Tensor, mask: Tensor, bias: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Dot-product attention over the question: ``[B, L, H] · [B, H]`` (+ ``bias [B, L]``) → context ``[B, H]``, weights ``[B, L]``."""
    scores = torch.einsum("blh,bh->bl", keys, query)
    if bias is not None:
        scores = scores + bias
    scores = scores.masked_fill(mask <= 0, torch.finfo(keys.dtype).min)
    weights = torch.softmax(scores, dim=-1)
    return torch.einsum("bl,blh->bh", weights, keys), weights


class ProgrammerOutput(NamedTuple):
    """What the programmer models return."""

    answer: Tensor  # arithmetic: [B] the last step's output; table: [B] scalar answer
    lookup: Tensor | None  # table: [B, M, C] lookup answer of the last step; arithmetic: None
    trace: object  # the per-step states stacked on dim 1 ([B, T, ...]), or None


# ======================================================================================
# Arithmetic version
# ======================================================================================


class ArithmeticProgrammerState(NamedTuple):
    """State of :class:`ArithmeticProgrammerCell` after step t."""

    history: Tensor  # [B, H]  h_t, the history RNN
    prev1: Tensor  # [B]  output of step t (the next step's "1 step ago")
    prev2: Tensor  # [B]  output of step t−1 ("2 steps ago")
    op_weights: Tensor  # [B, N + 4]  α^op_t over input_1..input_N, add, subtract, multiply, divide
    question_attention: Tensor  # [B, L]  attention over the question at step t
    # constant over the program:
    keys: Tensor  # [B, L, H]  question RNN states z_i
    operands: Tensor  # [B, N]  the expression's operands in order (0-padded)
    operand_mask: Tensor  # [B, N]  1 for real operands
    hard: Tensor  # [B]  1.0 = argmax selections (test time)


def arithmetic_operation_names(max_operands: int) -> tuple[str, ...]:
    """Names of the arithmetic model's operations, in α^op's order."""
    return tuple(f"input_{k + 1}" for k in range(max_operands)) + NP.ARITHMETIC_OPERATIONS


class ArithmeticProgrammerCell(nn.Module):
    r"""One program step of the arithmetic Neural Programmer.

    Given the question vector ``q`` and the t-th question token's state ``z_t``
    (``x``: the controller reads the expression as it writes the program), the
    previous history ``h_{t−1}`` and attention over the question ``c_t``, the
    selector emits α^op_t over ``input_1 … input_N`` (fetch the k-th operand)
    and add, subtract, multiply, divide (which read the outputs 2 steps and 1
    step ago); every operation runs and the outputs are averaged by α^op_t
    (:func:`~augrnn.functional.programmer.arithmetic_step`); the history RNN
    reads the weighted operation embedding and the attention context.

    Args:
        hidden_size: H.
        max_operands: N, the most operands an expression can have.
        eps: safe-divide epsilon.
        max_value: values clamped to ``±max_value``.
        selection_noise: Gumbel noise on the operation logits in training mode
            (0 = plain soft selection; see :func:`select`).

    Shape:
        - x: ``[B, 2H]`` ``[q; z_t]``
        - output: ``[B, 1]`` this step's output

    Example::

        >>> cell = ArithmeticProgrammerCell(8, max_operands=3)
        >>> context = (torch.randn(2, 5, 8), torch.tensor([[2., 3, 0], [1, 4, 0]]), torch.tensor([[1., 1, 0]] * 2))
        >>> state = cell.initial_state(2, context=context)
        >>> y, state = cell(torch.randn(2, 16), state)
        >>> y.shape, state.op_weights.shape
        (torch.Size([2, 1]), torch.Size([2, 7]))
    """

    def __init__(self, hidden_size: int, max_operands: int = 5, eps: float = 1e-4, max_value: float = 1e6,
                 selection_noise: float = 0.0) -> None:
        super().__init__()
        if selection_noise < 0:
            raise ValueError(f"ArithmeticProgrammerCell: selection_noise must be >= 0, got {selection_noise}")
        self.selection_noise = selection_noise
        if hidden_size < 1 or max_operands < 1:
            raise ValueError(f"ArithmeticProgrammerCell: hidden_size and max_operands must be >= 1, "
                             f"got {hidden_size}, {max_operands}")
        self.hidden_size, self.max_operands, self.eps, self.max_value = hidden_size, max_operands, eps, max_value
        K, H = max_operands + len(NP.ARITHMETIC_OPERATIONS), hidden_size
        self.question_query = nn.Linear(H, H)  # history → attention query over the question
        self.selector = nn.Linear(4 * H, H)  # tanh(W [q; z_t; h_{t−1}; c_t])
        self.op_embeddings = nn.Parameter(torch.empty(K, H))  # U, one row per operation
        self.history_rnn = nn.Linear(3 * H, H)  # h_t = tanh(W [Σ α U; c_t; h_{t−1}])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.question_query, self.selector, self.history_rnn):
            module.reset_parameters()
        nn.init.normal_(self.op_embeddings, std=self.hidden_size**-0.5)

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}, max_operands={self.max_operands}"

    def initial_state(
        self, batch_size: int, device=None, dtype=None, *, context: tuple[Tensor, Tensor, Tensor] | None = None,
        hard: bool = False,
    ) -> ArithmeticProgrammerState:
        """The state before step 1; ``context = (keys [B, L, H], operands [B, N], operand_mask [B, N])``."""
        if context is None:
            raise ValueError("ArithmeticProgrammerCell.initial_state: context=(keys, operands, operand_mask) is required")
        keys, operands, operand_mask = context
        B, L, H = keys.shape
        N = self.max_operands
        if B != batch_size or H != self.hidden_size or operands.shape != (B, N) or operand_mask.shape != (B, N):
            raise ValueError(
                f"ArithmeticProgrammerCell: context shapes must be keys [B={batch_size}, L, H={self.hidden_size}], "
                f"operands and operand_mask [B, N={N}]; got {list(keys.shape)}, {list(operands.shape)}, "
                f"{list(operand_mask.shape)}"
            )
        device = keys.device if device is None else device
        dtype = keys.dtype if dtype is None else dtype
        zeros = lambda *shape: torch.zeros(*shape, device=device, dtype=dtype)  # noqa: E731
        K = N + len(NP.ARITHMETIC_OPERATIONS)
        return ArithmeticProgrammerState(
            zeros(B, H), zeros(B), zeros(B), zeros(B, K), zeros(B, L),
            keys, operands.to(dtype), operand_mask.to(dtype), torch.full((B,), float(hard), device=device, dtype=dtype),
        )

    def forward(self, x: Tensor, state: ArithmeticProgrammerState) -> tuple[Tensor, ArithmeticProgrammerState]:
        if state is None:
            raise ValueError("ArithmeticProgrammerCell: a state from initial_state(..., context=...) is required")
        if x.dim() != 2 or x.shape[1] != 2 * self.hidden_size:
            raise ValueError(f"ArithmeticProgrammerCell: expected x of shape [B, {2 * self.hidden_size}], got {list(x.shape)}")
        token_mask = torch.ones_like(state.keys[..., 0])
        context, attention = _attend(state.keys, self.question_query(state.history), token_mask)  # c_t
        s = torch.tanh(self.selector(torch.cat([x, state.history, context], dim=-1)))  # [B, H]
        choosable = torch.cat([state.operand_mask, state.operand_mask.new_ones(x.shape[0], len(NP.ARITHMETIC_OPERATIONS))], -1)
        noise = self.selection_noise if self.training else 0.0
        op_weights = select(s @ self.op_embeddings.t(), state.hard, choosable, noise)  # α^op_t [B, N + 4]
        output = NP.arithmetic_step(op_weights, state.operands, state.prev1, state.prev2, eps=self.eps,
                                    max_value=self.max_value)
        history = torch.tanh(self.history_rnn(torch.cat([op_weights @ self.op_embeddings, context, state.history], -1)))
        new_state = state._replace(
            history=history, prev1=output, prev2=state.prev1, op_weights=op_weights, question_attention=attention,
        )
        return output.unsqueeze(-1), new_state


class ArithmeticProgrammer(nn.Module):
    r"""The arithmetic Neural Programmer: question RNN + controller cell, one program step per token.

    Args:
        token_size: F, features per question token.
        hidden_size: H.
        max_operands: N, the most operands an expression can have (``input_1 … input_N``).
        fast: run the controller through the compiled step.
        selection_noise: Gumbel noise on the operation logits in training mode (0 = off).

    Shape:
        - tokens: ``[B, L, F]``; number_mask ``[B, L]`` (1 on number tokens);
          values ``[B, L]`` (each number token's value)
        - returns :class:`ProgrammerOutput` with ``answer [B]`` (T = L steps)

    Example::

        >>> model = ArithmeticProgrammer(token_size=6, hidden_size=8, max_operands=3)
        >>> tokens = torch.randn(2, 3, 6)
        >>> out = model(tokens, torch.tensor([[2., 0, 3]] * 2), torch.tensor([[1., 0, 1]] * 2), return_trace=True)
        >>> out.answer.shape, out.trace.op_weights.shape
        (torch.Size([2]), torch.Size([2, 3, 7]))
    """

    def __init__(self, token_size: int, hidden_size: int = 64, max_operands: int = 5, fast: bool = False,
                 eps: float = 1e-4, max_value: float = 1e6, selection_noise: float = 0.0) -> None:
        super().__init__()
        if token_size < 1 or hidden_size < 1:
            raise ValueError(f"ArithmeticProgrammer: token_size and hidden_size must be >= 1, got {token_size}, {hidden_size}")
        self.fast, self.max_operands = fast, max_operands
        self.operation_names = arithmetic_operation_names(max_operands)
        self.question_rnn = nn.GRU(token_size, hidden_size, batch_first=True)  # z_i
        self.cell = ArithmeticProgrammerCell(hidden_size, max_operands, eps=eps, max_value=max_value,
                                             selection_noise=selection_noise)

    def forward(self, tokens: Tensor, values: Tensor, number_mask: Tensor, *, hard: bool = False,
                return_trace: bool = False) -> ProgrammerOutput:
        if tokens.dim() != 3:
            raise ValueError(f"ArithmeticProgrammer: expected tokens [B, L, F], got {list(tokens.shape)}")
        B, L, _ = tokens.shape
        counts = number_mask.sum(-1)
        if (counts < 1).any() or (counts > self.max_operands).any():
            raise ValueError(f"ArithmeticProgrammer: every question needs 1 to max_operands={self.max_operands} "
                             f"numbers (number_mask), got counts {counts.tolist()}")
        # the k-th number of the question: rank_l = how many numbers up to token l
        rank = torch.cumsum(number_mask, dim=-1) * number_mask  # [B, L], 0 on operator tokens
        k = torch.arange(1, self.max_operands + 1, device=tokens.device, dtype=rank.dtype)
        is_kth = (rank.unsqueeze(1) == k[None, :, None]).to(values.dtype)  # [B, N, L]
        operands = torch.einsum("bnl,bl->bn", is_kth, values)
        operand_mask = is_kth.sum(-1)
        keys, last = self.question_rnn(tokens)  # [B, L, H], [1, B, H]
        question = last[-1]  # q
        state = self.cell.initial_state(B, context=(keys, operands, operand_mask), hard=hard)
        inputs = torch.cat([question.unsqueeze(1).expand_as(keys), keys], dim=-1)  # [B, T = L, 2H]: [q; z_t]
        run = unroll(self.cell, inputs, state, fast=self.fast, return_trace=return_trace)
        return ProgrammerOutput(run.outputs[:, -1, 0], None, run.trace)


# ======================================================================================
# Table version (§2)
# ======================================================================================


class TableProgrammerState(NamedTuple):
    """State of :class:`TableProgrammerCell` after step t."""

    history: Tensor  # [B, H]  h_t, the history RNN (§2.2)
    rows1: Tensor  # [B, M]  row_select_t
    rows2: Tensor  # [B, M]  row_select_{t−1}
    scalar1: Tensor  # [B]  scalar_output_t
    scalar2: Tensor  # [B]  scalar_output_{t−1}
    scalar3: Tensor  # [B]  scalar_output_{t−2}
    lookup: Tensor  # [B, M, C]  lookup_output_t
    op_weights: Tensor  # [B, K]  α^op_t over TABLE_OPERATIONS
    col_weights: Tensor  # [B, C]  α^col_t
    question_attention: Tensor  # [B, L]  attention over the question at step t
    # constant over the program:
    keys: Tensor  # [B, L, H]  question RNN states z_i
    word_mask: Tensor  # [B, L]
    table: Tensor  # [B, M, C]
    row_mask: Tensor  # [B, M]
    index: NP.TableIndex  # sort orders and value ids of the table (long tensors)
    numbers: Tensor  # [B, Q]
    pivot_weights: Tensor  # [B, P, Q]  β^op for the pivot operations (greater, lesser, select)
    columns: Tensor  # [B, C, H]  column name representations P_j
    word_names: Tensor  # [B, L, H]  the question's words in the column names' space (P applied to every word)
    column_mask: Tensor  # [B, C]
    hard: Tensor  # [B]  1.0 = argmax selections (test time)
    word_ops: Tensor | None = None  # [B, L, H]  the question's words in the operations' space (op_pointer)
    op_usage: Tensor | None = None  # [B, K]  Σ_{s≤t} α^op_s: how often each operation ran so far (column_anchor)
    word_occurrence: Tensor | None = None  # [B, L, K]  j where word l is the j-th word naming operation k, else 0
    next_name: Tensor | None = None  # [B, L, L]  1 where word l' is the first column name after word l


class TableProgrammerCell(nn.Module):
    r"""One program step of the table Neural Programmer (§2.2–2.3).

    The operation selector reads ``[q; h_{t−1}; c_t]`` (question vector, history,
    attention over the question asked by ``[q; h_{t−1}]``) and emits
    α^op_t = softmax(U·tanh(W_op [q; h; c])) over
    :data:`~augrnn.functional.programmer.TABLE_OPERATIONS`. The column selector
    then asks a second attention over the question with ``[q; h_{t−1}; Σα^op U]``
    — which column does *this* operation refer to ("greater N **X** sum Y") —
    giving ``c^col_t`` and the attended word ``w_t = Σ_l a^col_t(l)·P(word_l)``
    seen through the column-name map P, and emits
    α^col_t = softmax(P·(tanh(W_col [q; h; c^col]) + w_t) / √H) over the table's
    columns (pointer attention by name). Every operation runs
    (:func:`~augrnn.functional.programmer.table_step`) and only same-type
    outputs merge. The history RNN reads the weighted operation and column
    representations: h_t = tanh(W_hist [Σα^op U; Σα^col P; h_{t−1}]).

    Our departures from the paper's selector (α^col from ``[q; h]`` alone), each
    measured (BENCHMARKS.md): without the operation-asked attention the column
    choice could not differ between the steps of one program, so "compare X,
    aggregate Y" programs were never found (the preset plateaued at 28 %); the
    1/√H keeps the initial α^col from being nearly one-hot (logits of order
    √H otherwise), which froze the comparisons' columns on their first guess.

    Args:
        hidden_size: H.
        selection_noise: Gumbel noise on the operation logits in training mode
            (0 = the paper's plain soft selection; see :func:`select`).
        operations: the operations the selector may choose
            (:func:`~augrnn.functional.programmer.operation_set`: ``"all"``, ``"paper"`` — the 2015
            paper's nine — or names); α^op keeps one entry per
            :data:`~augrnn.functional.programmer.TABLE_OPERATIONS`, exactly 0 for the others.
        keep: False (the paper): a step sets every typed variable to the weighted sum of the
            operations of its type (a scalar operation empties the row selector); True: an
            operation of another type leaves a variable as it was (see
            :func:`~augrnn.functional.programmer.table_step`).
        dropout: dropout rate (training only) on the selector's query vectors and the history
            RNN's input.
        column_inputs: what the column selector (its attention's query and ``W_col``) reads
            besides the chosen operation and the attention over the words: ``"all"`` (default) q
            and h; ``"history"`` h only (q replaced by zeros); ``"operation"`` neither (zeros),
            so α^col is "the column this operation's words name" — the same function of the
            words in every question form, rather than a guess from q or the history about where
            the name stands (measured: BENCHMARKS.md).
        op_pointer: the operation logits also score the word the step attends to, seen as an
            operation name through a learned map of the word embeddings.
        column_anchor: κ's initial value (0 = off). Each use of an operation is anchored at the
            question's word that names it — the n-th use at the n-th such word, the last one if
            there are fewer (n counted softly from the earlier steps' α^op) — and the column
            attention's score of the first column name after that word gains κ_k (learned per
            operation): "difference sum **X** sum **Y**" reads X at its first ``sum`` step and Y at
            its second, which an attention asked by the operation alone cannot tell apart.
            Needs ``word_occurrence`` and ``next_name`` in the context
            (:meth:`TableProgrammer.anchor_context`).

    Shape:
        - x: ``[B, H]`` the question vector q (the same at every step)
        - output: ``[B, 1]`` this step's scalar output
    """

    def __init__(self, hidden_size: int, selection_noise: float = 0.0, operations: str | tuple[str, ...] = "all",
                 keep: bool = False, dropout: float = 0.0, column_inputs: str = "all",
                 op_pointer: bool = False, column_anchor: float = 0.0) -> None:
        super().__init__()
        self.op_pointer, self.column_anchor = bool(op_pointer), float(column_anchor)
        if hidden_size < 1:
            raise ValueError(f"TableProgrammerCell: hidden_size must be >= 1, got {hidden_size}")
        if not self.column_anchor >= 0:
            raise ValueError(f"TableProgrammerCell: column_anchor must be >= 0, got {column_anchor}")
        if column_inputs not in ("all", "history", "operation"):
            raise ValueError(f"TableProgrammerCell: column_inputs must be 'all', 'history' or 'operation', "
                             f"got {column_inputs!r}")
        self.column_inputs = column_inputs
        if selection_noise < 0:
            raise ValueError(f"TableProgrammerCell: selection_noise must be >= 0, got {selection_noise}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"TableProgrammerCell: dropout must be in [0, 1), got {dropout!r}")
        self.selection_noise, self.keep, self.dropout = selection_noise, keep, dropout
        self.operations = NP.operation_set(operations)
        self.register_buffer("op_mask", torch.tensor([float(n in self.operations) for n in NP.TABLE_OPERATIONS]),
                             persistent=False)
        self.hidden_size = H = hidden_size
        K = len(NP.TABLE_OPERATIONS)
        self.question_query = nn.Linear(2 * H, H)  # [q; h_{t−1}] → attention query over the question
        self.op_selector = nn.Linear(3 * H, H)  # W_op
        self.col_selector = nn.Linear(3 * H, H)  # W_col
        self.column_query = nn.Linear(3 * H, H)  # [q; h_{t−1}; Σα^op U] → the column attention's query
        self.op_embeddings = nn.Parameter(torch.empty(K, H))  # U
        self.history_rnn = nn.Linear(3 * H, H)  # W_history
        # column_anchor: the column attention's score of the first name after this use's operation word gains κ_op
        self.anchor_weights = nn.Parameter(torch.full((K,), float(self.column_anchor))) if self.column_anchor else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in (self.question_query, self.op_selector, self.col_selector, self.column_query, self.history_rnn):
            module.reset_parameters()
        nn.init.normal_(self.op_embeddings, std=self.hidden_size**-0.5)
        if self.anchor_weights is not None:
            nn.init.constant_(self.anchor_weights, self.column_anchor)

    def extra_repr(self) -> str:
        return (f"hidden_size={self.hidden_size}, operations={len(self.operations)}, keep={self.keep}"
                + ("" if self.column_inputs == "all" else f", column_inputs={self.column_inputs}")
                + (f", column_anchor={self.column_anchor}" if self.column_anchor else ""))

    def initial_state(self, batch_size: int, device=None, dtype=None, *, context: dict | None = None,
                      hard: bool = False) -> TableProgrammerState:
        """The state before step 1: row selector = every row, scalars 0.

        ``context`` holds ``keys [B, L, H]``, ``word_mask [B, L]``, ``table [B, M, C]``,
        ``row_mask [B, M]``, ``numbers [B, Q]``, ``pivot_weights [B, P, Q]``,
        ``columns [B, C, H]``, ``column_mask [B, C]``.
        """
        if context is None:
            raise ValueError("TableProgrammerCell.initial_state: context=dict(keys=..., table=..., ...) is required")
        table, keys = context["table"], context["keys"]
        B, M, C = table.shape
        if B != batch_size or keys.shape[0] != B or keys.shape[-1] != self.hidden_size:
            raise ValueError(f"TableProgrammerCell: context batch/hidden sizes must be {batch_size}/{self.hidden_size}, "
                             f"got table {list(table.shape)}, keys {list(keys.shape)}")
        if self.column_anchor and (context.get("word_occurrence") is None or context.get("next_name") is None):
            raise ValueError("TableProgrammerCell: column_anchor needs word_occurrence and next_name in the context "
                             "(TableProgrammer.anchor_context)")
        dtype = table.dtype if dtype is None else dtype
        device = table.device if device is None else device
        zeros = lambda *shape: torch.zeros(*shape, device=device, dtype=dtype)  # noqa: E731
        row_mask = context["row_mask"].to(dtype)
        return TableProgrammerState(
            zeros(B, self.hidden_size), row_mask, row_mask, zeros(B), zeros(B), zeros(B), zeros(B, M, C),
            zeros(B, len(NP.TABLE_OPERATIONS)), zeros(B, C), zeros(B, keys.shape[1]),
            keys, context["word_mask"].to(dtype), table, row_mask, NP.table_index(table), context["numbers"].to(dtype),
            context["pivot_weights"], context["columns"], context["word_names"], context["column_mask"].to(dtype),
            torch.full((B,), float(hard), device=device, dtype=dtype), context.get("word_ops"),
            zeros(B, len(NP.TABLE_OPERATIONS)) if self.column_anchor else None,
            context.get("word_occurrence") if self.column_anchor else None,
            context.get("next_name") if self.column_anchor else None,
        )

    def forward(self, x: Tensor, state: TableProgrammerState) -> tuple[Tensor, TableProgrammerState]:
        if state is None:
            raise ValueError("TableProgrammerCell: a state from initial_state(..., context=...) is required")
        if x.dim() != 2 or x.shape[1] != self.hidden_size:
            raise ValueError(f"TableProgrammerCell: expected x of shape [B, {self.hidden_size}], got {list(x.shape)}")
        h = state.history
        context, attention = _attend(state.keys, self.question_query(torch.cat([x, h], -1)), state.word_mask)  # c_t
        noise = self.selection_noise if self.training else 0.0
        drop = (lambda v: F.dropout(v, self.dropout, self.training)) if self.dropout > 0 else (lambda v: v)
        op_query = drop(torch.tanh(self.op_selector(torch.cat([x, h, context], -1))))
        if self.op_pointer:  # the attended word seen as an operation name ("greater" points at greater)
            op_query = op_query + torch.einsum("bl,blh->bh", attention, state.word_ops)
        op_logits = op_query @ self.op_embeddings.t()
        op_weights = select(op_logits, state.hard, self.op_mask.to(x.dtype).expand(x.shape[0], -1), noise=noise)
        operation = op_weights @ self.op_embeddings  # Σ α^op_t U: the operation chosen at this step
        # α^col_t: a second attention over the question, asked by the chosen operation ("which column
        # does this greater refer to?"); the column names P_j are scored against the selector's query
        # and against the attended word in the names' space (attending to the word "B" points at
        # column B), scaled by 1/√H so that the initial column distribution is not saturated
        q_col = x if self.column_inputs == "all" else torch.zeros_like(x)  # the column selector's view of q
        h_col = torch.zeros_like(h) if self.column_inputs == "operation" else h  # ... and of h
        bias, op_usage = None, state.op_usage
        if self.column_anchor:
            bias = self._anchor_bias(op_weights, state)
            op_usage = op_usage + op_weights
        col_context, col_attention = _attend(state.keys, self.column_query(torch.cat([q_col, h_col, operation], -1)),
                                             state.word_mask, bias)
        col_query = drop(torch.tanh(self.col_selector(torch.cat([q_col, h_col, col_context], -1))))
        attended_name = torch.einsum("bl,blh->bh", col_attention, state.word_names)
        col_logits = torch.einsum("bch,bh->bc", state.columns, col_query + attended_name) * self.hidden_size**-0.5
        col_weights = select(col_logits, state.hard, state.column_mask)
        scalar, lookup, rows = NP.table_step(
            state.table, state.row_mask, state.index, state.numbers, state.pivot_weights, op_weights, col_weights,
            state.rows1, state.rows2, state.scalar1, state.scalar3, state.lookup, keep=self.keep,
        )
        column_summary = torch.einsum("bc,bch->bh", col_weights, state.columns)
        history = torch.tanh(self.history_rnn(drop(torch.cat([operation, column_summary, h], -1))))
        new_state = state._replace(
            history=history, rows1=rows, rows2=state.rows1, scalar1=scalar, scalar2=state.scalar1,
            scalar3=state.scalar2, lookup=lookup, op_weights=op_weights, col_weights=col_weights,
            question_attention=attention, op_usage=op_usage,
        )
        return scalar.unsqueeze(-1), new_state

    def _anchor_bias(self, op_weights: Tensor, state: TableProgrammerState) -> Tensor:
        """The column attention's bias from the word that names this use of the operation.

        The n-th use of operation k (n = 1 + Σ_{s<t} α^op_s(k), soft) is anchored at the question's
        n-th word naming k (the last one if there are fewer): "difference sum X sum Y" anchors the
        first ``sum`` step at the first "sum" and the second at the second. The first column
        name after the anchor gains κ_k (learned, per operation).
        """
        occurrence = state.word_occurrence  # [B, L, K]
        named = (occurrence > 0).to(op_weights.dtype)
        count = occurrence.amax(1)  # [B, K] how many words name each operation
        target = torch.minimum(state.op_usage + 1, count.clamp_min(1)).unsqueeze(1)  # [B, 1, K]
        match = torch.relu(1 - (occurrence - target).abs()) * named  # [B, L, K]
        anchor = torch.einsum("blk,bk->bl", match, op_weights * self.anchor_weights)  # [B, L]
        return torch.einsum("bl,blm->bm", anchor, state.next_name)


class TableProgrammer(nn.Module):
    r"""The table Neural Programmer (§2): question RNN, selector, history RNN, T steps.

    Args:
        vocabulary_size: V, word ids of questions and column names.
        hidden_size: H.
        embedding_size: E, word embeddings.
        steps: T, program steps (the paper: 4).
        fast: run the controller through the compiled step.
        selection_noise: Gumbel noise on the operation logits in training mode (0 = off).
        operations: the operations the selector may choose (``"all"``, ``"paper"`` or names).
        keep: an operation of another type leaves a typed variable as it was (see
            :class:`TableProgrammerCell`; False = the paper).
        dropout: dropout rate (training only) on the word embeddings, the selector's query
            vectors and the history RNN's input (0 = off).
        column_inputs: what the column selector reads: ``"all"`` (q and h, default),
            ``"history"`` or ``"operation"`` (see :class:`TableProgrammerCell`).
        op_pointer, column_anchor: see :class:`TableProgrammerCell`.
        word_operations: with ``column_anchor``, the operation each word id names (a
            :data:`~augrnn.functional.programmer.TABLE_OPERATIONS` name or None), one entry per
            vocabulary word (``TableQATask.word_operations``).

    ``forward(batch)`` takes a :class:`augrnn.tasks.table_qa.TableQABatch` (or
    anything with its fields) and returns :class:`ProgrammerOutput` with the last
    step's ``answer [B]`` (scalar answer) and ``lookup [B, M, C]``.

    Pivots (§2.3): for each comparison operation, attention over the question's
    numbers, scored by the question RNN state of the word left of each number:
    β^op = softmax(z_{left(n)} · U_op).
    """

    def __init__(self, vocabulary_size: int, hidden_size: int = 64, embedding_size: int = 64, steps: int = 4,
                 fast: bool = False, selection_noise: float = 0.0, operations: str | tuple[str, ...] = "all",
                 keep: bool = False, dropout: float = 0.0, column_inputs: str = "all",
                 op_pointer: bool = False, column_anchor: float = 0.0,
                 word_operations: tuple[str | None, ...] | None = None) -> None:
        super().__init__()
        if min(vocabulary_size, hidden_size, embedding_size, steps) < 1:
            raise ValueError("TableProgrammer: vocabulary_size, hidden_size, embedding_size and steps must be >= 1, "
                             f"got {vocabulary_size}, {hidden_size}, {embedding_size}, {steps}")
        self.steps, self.fast = steps, fast
        self.embeddings = nn.Embedding(vocabulary_size, embedding_size, padding_idx=0)
        self.question_rnn = nn.GRU(embedding_size, hidden_size, batch_first=True)
        self.column_projection = nn.Linear(embedding_size, hidden_size)  # column names → P_j
        self.pivot_embeddings = nn.Parameter(torch.randn(len(NP.PIVOT_OPERATIONS), hidden_size) * hidden_size**-0.5)
        self.cell = TableProgrammerCell(hidden_size, selection_noise=selection_noise, operations=operations, keep=keep,
                                        dropout=dropout, column_inputs=column_inputs, op_pointer=op_pointer,
                                        column_anchor=column_anchor)
        if column_anchor and (word_operations is None or len(word_operations) != vocabulary_size):
            raise ValueError("TableProgrammer: column_anchor needs word_operations, the operation each word id "
                             "names (or None), one entry per vocabulary word")
        unknown = sorted({n for n in (word_operations or ()) if n is not None and n not in NP.TABLE_OPERATIONS})
        if unknown:
            raise ValueError(f"TableProgrammer: word_operations must name operations of TABLE_OPERATIONS or be None, "
                             f"got {unknown}")
        lexicon = [-1 if n is None else NP.TABLE_OPERATIONS.index(n) for n in (word_operations or ())]
        self.register_buffer("word_operation", torch.tensor(lexicon, dtype=torch.long), persistent=False)
        self.op_projection = nn.Linear(embedding_size, hidden_size) if op_pointer else None  # words → operation space
        self.dropout = dropout

    def anchor_context(self, batch, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
        """What ``column_anchor`` reads of the question: ``word_occurrence [B, L, K]`` (j where word l
        is the j-th word naming operation k, else 0) and ``next_name [B, L, L]`` (1 where word m is
        the first word after word l that names a column of the table)."""
        if not self.cell.column_anchor:
            raise ValueError("TableProgrammer.anchor_context: the model was built without column_anchor")
        words, word_mask = batch.words, batch.word_mask > 0
        op_of_word = self.word_operation[words]  # [B, L], -1 for words that name no operation
        names = F.one_hot(op_of_word.clamp_min(0), len(NP.TABLE_OPERATIONS)).to(dtype)
        names = names * ((op_of_word >= 0) & word_mask).unsqueeze(-1).to(dtype)
        occurrence = torch.cumsum(names, 1) * names
        is_name = ((words.unsqueeze(-1) == batch.column_names.unsqueeze(1))
                   & (batch.column_mask.unsqueeze(1) > 0)).any(-1) & word_mask  # [B, L]
        before = torch.cumsum(is_name.long(), 1)  # names up to and including word l
        position = torch.arange(words.shape[1], device=words.device)
        after = position[None, None, :] > position[None, :, None]  # [1, l, m]: m after l
        none_between = (before - is_name.long()).unsqueeze(1) == before.unsqueeze(2)  # names before m = names up to l
        return occurrence, (is_name.unsqueeze(1) & after & none_between).to(dtype)

    def forward(self, batch, *, hard: bool = False, return_trace: bool = False) -> ProgrammerOutput:
        words, word_mask = batch.words, batch.word_mask.float()
        B, L = words.shape
        if (word_mask.sum(-1) < 1).any():
            raise ValueError("TableProgrammer: every question needs at least one word (word_mask)")
        embedded = self.embeddings(words)
        if self.dropout > 0:
            embedded = F.dropout(embedded, self.dropout, self.training)
        keys, _ = self.question_rnn(embedded)  # z_i: [B, L, H]
        last = (word_mask.sum(-1).long() - 1).clamp_min(0)
        question = keys[torch.arange(B, device=words.device), last]  # q = z at the last real word
        # pivots: β^op over the question's numbers, from the state of the word left of each number
        left = (batch.number_positions - 1).clamp_min(0)  # [B, Q]
        left_states = torch.gather(keys, 1, left.unsqueeze(-1).expand(-1, -1, keys.shape[-1]))  # [B, Q, H]
        pivot_logits = torch.einsum("bqh,ph->bpq", left_states, self.pivot_embeddings)
        number_mask = batch.number_mask.unsqueeze(1)  # [B, 1, Q]
        has_number = number_mask.sum(-1, keepdim=True) > 0
        pivot_logits = pivot_logits.masked_fill(number_mask <= 0, torch.finfo(keys.dtype).min)
        pivots = torch.softmax(pivot_logits, -1) * has_number  # all-zero when the question has no number
        if hard:
            pivots = F.one_hot(pivots.argmax(-1), pivots.shape[-1]).to(pivots.dtype) * has_number
        columns = self.column_projection(self.embeddings(batch.column_names))  # P: [B, C, H]
        word_names = self.column_projection(self.embeddings(words))  # the question's words as names: [B, L, H]
        word_ops = None if self.op_projection is None else self.op_projection(embedded)
        occurrence, next_name = self.anchor_context(batch, keys.dtype) if self.cell.column_anchor else (None, None)
        context = dict(keys=keys, word_mask=word_mask, table=batch.table, row_mask=batch.row_mask,
                       word_ops=word_ops, word_occurrence=occurrence, next_name=next_name, numbers=batch.numbers, pivot_weights=pivots, columns=columns, word_names=word_names,
                       column_mask=batch.column_mask)
        state = self.cell.initial_state(B, context=context, hard=hard)
        inputs = question.unsqueeze(1).expand(B, self.steps, question.shape[-1])
        run = unroll(self.cell, inputs, state, fast=self.fast, return_trace=return_trace)
        return ProgrammerOutput(run.state.scalar1, run.state.lookup, run.trace)
