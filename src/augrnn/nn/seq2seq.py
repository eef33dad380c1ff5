"""Attentional sequence-to-sequence: a bidirectional encoder, an attention decoder, search.

Bahdanau, Cho & Bengio 2014 (arXiv 1409.0473): a bidirectional RNN encoder whose
annotations h_j the decoder attends over at every output step (§3.1-3.2).
Luong, Pham & Manning 2015 (arXiv 1508.04025): the decoder attends with its
current state h_t (§3.1), scores with *dot*, *general* or *concat* (= Bahdanau's
additive) functions (eq. 8), combines ``h̃_t = tanh(W_c [c_t; h_t])`` (eq. 5)
and feeds h̃_t into the next step's input ("input feeding", §3.3).

Letters: B batch, S source positions, T target positions, E embedding width,
H decoder width, M memory (annotation) width = 2 × encoder width, V vocabulary.
Masks are bool, ``True`` at real (non-padding) positions.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn.functional.attention import additive_scores_projected, dot_scores, masked_softmax
from augrnn.nn.recurrent import compiled_step, unroll

__all__ = ["AttentionDecoding", "BiRNNEncoder", "Encoded", "AttentionDecoderCell", "AttentionState", "Seq2Seq", "Decoded", "SCORES"]

SCORES = ("dot", "general", "additive")
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def _check_int(module: str, **values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{module}: {name} must be an integer >= 1, got {value!r}")


def _check_mask(module: str, mask: Tensor, shape: tuple) -> Tensor:
    if mask.shape != shape:
        raise ValueError(f"{module}: mask must have shape {list(shape)}, got {list(mask.shape)}")
    return mask.to(torch.bool)


class Encoded(NamedTuple):
    """What :class:`BiRNNEncoder` returns."""

    outputs: Tensor  # [B, S, 2·hidden] annotations h_j = [→h_j; ←h_j], zero at padding
    final: Tensor  # [B, 2·hidden] [→h at the last real position; ←h at position 0]
    mask: Tensor  # [B, S] bool


def _reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence ``x[b, :lengths[b]]`` in place of itself; padding stays put.

    Args:
        x: ``[B, S, F]``.
        lengths: ``[B]`` integer lengths.
    """
    positions = torch.arange(x.shape[1], device=x.device)  # [S]
    index = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)  # [B, S]
    return x.gather(1, index[:, :, None].expand_as(x))


class BiRNNEncoder(nn.Module):
    """Bidirectional GRU/LSTM encoder with a padding mask (Bahdanau et al. 2014 §3.2).

    Padding never changes results: the forward direction reads left to right
    (padding comes after the real positions), and the backward direction reads
    each sequence reversed within its own length, so neither sees padding
    before a real position. No packing (no lengths on the CPU).

    Args:
        input_size: I.
        hidden_size: units per direction (annotations are 2 × this wide).
        num_layers: stacked bidirectional layers.
        cell: ``"lstm"`` or ``"gru"``.
        dropout: between layers.

    Example:
        >>> enc = BiRNNEncoder(3, 4)
        >>> enc(torch.zeros(2, 5, 3), torch.ones(2, 5, dtype=torch.bool)).outputs.shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0) -> None:
        super().__init__()
        _check_int("BiRNNEncoder", input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        if cell not in CELLS:
            raise ValueError(f"BiRNNEncoder: cell must be one of {sorted(CELLS)}, got {cell!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"BiRNNEncoder: dropout must be in [0, 1), got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers, self.cell = input_size, hidden_size, num_layers, cell
        self.dropout = nn.Dropout(dropout)
        sizes = [input_size] + [2 * hidden_size] * (num_layers - 1)
        self.forward_rnns = nn.ModuleList(CELLS[cell](size, hidden_size, batch_first=True) for size in sizes)
        self.backward_rnns = nn.ModuleList(CELLS[cell](size, hidden_size, batch_first=True) for size in sizes)

    @property
    def output_size(self) -> int:
        return 2 * self.hidden_size

    def forward(self, inputs: Tensor, mask: Tensor) -> Encoded:
        """Encode.

        Args:
            inputs: ``[B, S, I]``.
            mask: ``[B, S]`` bool, ``True`` at real positions; real positions must
                come first (right padding).

        Returns:
            :class:`Encoded` ``(outputs [B, S, 2H], final [B, 2H], mask [B, S])``.
        """
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(f"BiRNNEncoder: inputs must have shape [batch, time, {self.input_size}], got {list(inputs.shape)}")
        mask = _check_mask("BiRNNEncoder", mask, inputs.shape[:2])
        lengths = mask.sum(1)  # [B]
        keep = mask[:, :, None].to(inputs.dtype)  # [B, S, 1]
        x = inputs * keep
        for layer, (forward_rnn, backward_rnn) in enumerate(zip(self.forward_rnns, self.backward_rnns)):
            if layer > 0:
                x = self.dropout(x)
            forwards, _ = forward_rnn(x)  # →h_j
            backwards, _ = backward_rnn(_reverse_within_length(x, lengths))
            backwards = _reverse_within_length(backwards, lengths)  # ←h_j
            x = torch.cat([forwards, backwards], dim=-1) * keep.to(forwards.dtype)  # [B, S, 2H] (bf16 under autocast)
        last = (lengths - 1).clamp_min(0)  # [B]; an all-padding row reads position 0 (zeros)
        forward_final = x[torch.arange(x.shape[0], device=x.device), last, : self.hidden_size]
        backward_final = x[:, 0, self.hidden_size :]
        return Encoded(x, torch.cat([forward_final, backward_final], dim=-1), mask)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, cell={self.cell!r}, bidirectional"


class AttentionState(NamedTuple):
    """State of :class:`AttentionDecoderCell`: the recurrent state, the memory it reads, and this step's attention."""

    hidden: Tensor  # h_t [B, H]
    cell: Tensor  # c_t [B, H] (LSTM memory cell)
    attentional: Tensor  # h̃_t = tanh(W_c [c_t; h_t]) [B, H], Luong eq. (5); fed to the next step (§3.3)
    keys: Tensor  # [B, S, H] the memory as the scorer needs it (W_a h̄_s for general, U_a h̄_s for additive)
    values: Tensor  # [B, S, M] the annotations h̄_s
    mask: Tensor  # [B, S] bool, True at real source positions
    weights: Tensor  # α_t [B, S] attention of this step (zeros before the first); [B, S + R] [α_t; β_t] with a retrieved memory
    # a second, retrieved memory (retrieved_size > 0), else None:
    retrieved_keys: Tensor | None = None  # [B, R, D]
    retrieved_values: Tensor | None = None  # [B, R, D]
    retrieved_mask: Tensor | None = None  # [B, R] bool


def _map_state(state: AttentionState, fn) -> AttentionState:
    """``fn`` applied to every tensor of ``state`` (``None`` fields stay ``None``)."""
    return AttentionState(*(None if field is None else fn(field) for field in state))


class AttentionDecoderCell(nn.Module):
    """LSTM decoder step with content attention over a memory (Luong et al. 2015 §3.1, §3.3).

    ``cell(x_t [B, E], state) -> (h̃_t [B, H], state)``: h_t, c_t = LSTM([x_t; h̃_{t−1}]),
    α_t = softmax over unmasked s of score(h_t, h̄_s), c_t = Σ α_ts h̄_s,
    h̃_t = tanh(W_c [c_t; h_t]).

    With ``input_feeding=False`` the LSTM reads x_t alone (Luong's model without
    §3.3): the recurrence then no longer passes through the attention, so
    :meth:`forward_sequence` runs teacher forcing for all T steps at once — one
    fused LSTM over the sequence and the attention of every step as batched
    matrix products — with the same values as T calls of the cell.

    Scores (Luong eq. 8): ``dot`` h_t · h̄_s (needs M = H), ``general``
    h_t^T W_a h̄_s, ``additive`` v_a^T tanh(W_a h_t + U_a h̄_s) (Bahdanau's).
    The key projections W_a h̄_s / U_a h̄_s are computed once per source by
    :meth:`initial_state` and ride in the state's ``keys``.

    With ``retrieved_size`` D > 0 the cell also reads a second memory of width D (e.g.
    retrieved examples: keys k_r, values v_r, given to :meth:`initial_state`) with its own
    attention, β_t = softmax over unmasked r of (W_r h_t) · k_r, m_t = Σ β_tr v_r, and
    h̃_t = tanh(W_c [c_t; m_t; h_t]); the state's ``weights`` hold α_t and β_t side by
    side, ``[B, S + R]`` (each sums to 1 over its part, 0 where a part is all padding).

    Args:
        input_size: E (embedded previous token).
        hidden_size: H.
        memory_size: M (annotation width).
        score: ``dot``, ``general`` or ``additive``.
        attention_size: hidden width of the additive scorer (default H).
        dropout: on h_t before the attentional layer.
        input_feeding: feed h̃_{t−1} into the LSTM (Luong §3.3).
        retrieved_size: D, the width of a second (retrieved) memory's keys and values; 0 = none.

    Example:
        >>> cell = AttentionDecoderCell(3, 4, 6)
        >>> state = cell.initial_state(2, memory=torch.zeros(2, 5, 6), mask=torch.ones(2, 5, dtype=torch.bool))
        >>> y, state = cell(torch.zeros(2, 3), state)
        >>> y.shape, state.weights.shape
        (torch.Size([2, 4]), torch.Size([2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, memory_size: int, score: str = "general",
                 attention_size: int | None = None, dropout: float = 0.0, input_feeding: bool = True,
                 retrieved_size: int = 0) -> None:
        super().__init__()
        _check_int("AttentionDecoderCell", input_size=input_size, hidden_size=hidden_size, memory_size=memory_size)
        if not isinstance(retrieved_size, int) or retrieved_size < 0:
            raise ValueError(f"AttentionDecoderCell: retrieved_size must be an integer >= 0, got {retrieved_size!r}")
        self.retrieved_size = retrieved_size
        # W_r: h_t → the query of the retrieved memory's attention
        self.retrieved_query = nn.Linear(hidden_size, retrieved_size, bias=False) if retrieved_size else None
        if not isinstance(input_feeding, bool):
            raise ValueError(f"AttentionDecoderCell: input_feeding must be True or False, got {input_feeding!r}")
        if score not in SCORES:
            raise ValueError(f"AttentionDecoderCell: score must be one of {SCORES}, got {score!r}")
        if score == "dot" and memory_size != hidden_size:
            raise ValueError(f"AttentionDecoderCell: score='dot' needs memory_size == hidden_size, got {memory_size} and {hidden_size}")
        attention_size = hidden_size if attention_size is None else attention_size
        _check_int("AttentionDecoderCell", attention_size=attention_size)
        self.input_size, self.hidden_size, self.memory_size = input_size, hidden_size, memory_size
        self.score, self.attention_size, self.input_feeding = score, attention_size, input_feeding
        # input feeding: the LSTM reads [x_t; h̃_{t−1}]; without it, x_t
        self.lstm = nn.LSTMCell(input_size + (hidden_size if input_feeding else 0), hidden_size)
        if score == "general":
            self.key_projection = nn.Linear(memory_size, hidden_size, bias=False)  # W_a
        elif score == "additive":
            self.key_projection = nn.Linear(memory_size, attention_size, bias=False)  # U_a
            self.query_projection = nn.Linear(hidden_size, attention_size, bias=True)  # W_a (+ bias)
            self.score_vector = nn.Parameter(torch.empty(attention_size))  # v_a
        self.combine = nn.Linear(memory_size + retrieved_size + hidden_size, hidden_size, bias=False)  # W_c, eq. (5)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if self.score == "additive":
            nn.init.uniform_(self.score_vector, -self.attention_size ** -0.5, self.attention_size ** -0.5)

    def project_keys(self, memory: Tensor) -> Tensor:
        """``[B, S, M]`` annotations → ``[B, S, K]`` keys the scorer dots with."""
        return memory if self.score == "dot" else self.key_projection(memory)

    def initial_state(self, batch_size: int, device=None, dtype=None, *, memory: Tensor | None = None,
                      mask: Tensor | None = None, hidden: tuple[Tensor, Tensor] | None = None,
                      retrieved: tuple[Tensor, Tensor, Tensor] | None = None) -> AttentionState:
        """The state before the first step.

        Args:
            batch_size: B.
            memory: ``[B, S, M]`` annotations to attend over; ``None`` gives a
                one-slot, fully masked memory (the context is then zero).
            mask: ``[B, S]`` bool, ``True`` at real positions (default: all).
            hidden: ``(h_0 [B, H], c_0 [B, H])``; default zeros.
            retrieved: ``(keys [B, R, D], values [B, R, D], mask [B, R] bool)``, the second
                memory (``retrieved_size`` > 0 only; default: a one-slot, fully masked one).
        """
        if memory is None:
            memory = torch.zeros(batch_size, 1, self.memory_size, device=device, dtype=dtype)
            mask = torch.zeros(batch_size, 1, dtype=torch.bool, device=device)
        if memory.dim() != 3 or memory.shape[0] != batch_size or memory.shape[2] != self.memory_size:
            raise ValueError(f"AttentionDecoderCell: memory must have shape [{batch_size}, S, {self.memory_size}], got {list(memory.shape)}")
        device, dtype = memory.device, memory.dtype
        B, S = memory.shape[:2]
        mask = torch.ones(B, S, dtype=torch.bool, device=device) if mask is None else _check_mask("AttentionDecoderCell", mask, (B, S))
        if hidden is None:
            zeros = torch.zeros(B, self.hidden_size, device=device, dtype=dtype)
            hidden = (zeros, zeros)
        R, extra = 0, {}
        if self.retrieved_size:
            D = self.retrieved_size
            if retrieved is None:
                retrieved = (torch.zeros(B, 1, D, device=device, dtype=dtype),) * 2 + \
                    (torch.zeros(B, 1, dtype=torch.bool, device=device),)
            keys, values, retrieved_mask = retrieved
            R = keys.shape[1]
            if keys.shape != (B, R, D) or values.shape != (B, R, D):
                raise ValueError(f"AttentionDecoderCell: retrieved keys and values must have shape [{B}, R, {D}], "
                                 f"got {list(keys.shape)} and {list(values.shape)}")
            extra = dict(retrieved_keys=keys, retrieved_values=values,
                         retrieved_mask=_check_mask("AttentionDecoderCell", retrieved_mask, (B, R)))
        elif retrieved is not None:
            raise ValueError("AttentionDecoderCell: a retrieved memory needs retrieved_size > 0")
        return AttentionState(
            hidden=hidden[0], cell=hidden[1],
            attentional=torch.zeros(B, self.hidden_size, device=device, dtype=dtype),
            keys=self.project_keys(memory), values=memory, mask=mask,
            weights=torch.zeros(B, S + R, device=device, dtype=dtype), **extra,
        )

    def _read(self, query: Tensor, scores: Tensor, state: AttentionState) -> tuple[Tensor, Tensor]:
        """Queries ``[B, T, H]`` and source scores ``[B, T, S]`` → context ``[B, T, M (+ D)]`` and
        weights ``[B, T, S (+ R)]``: c_t (and m_t, β_t from the retrieved memory)."""
        weights = masked_softmax(scores, state.mask[:, None, :])  # α_t
        context = weights @ state.values  # c_t
        if self.retrieved_query is None:
            return context, weights
        retrieved_scores = self.retrieved_query(query) @ state.retrieved_keys.transpose(1, 2)  # [B, T, R]
        beta = masked_softmax(retrieved_scores, state.retrieved_mask[:, None, :])
        return torch.cat([context, beta @ state.retrieved_values], -1), torch.cat([weights, beta], -1)

    def forward(self, x: Tensor, state: AttentionState | None = None) -> tuple[Tensor, AttentionState]:
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise ValueError(f"AttentionDecoderCell: x must have shape [batch, {self.input_size}], got {list(x.shape)}")
        if state is None:
            state = self.initial_state(x.shape[0], device=x.device, dtype=x.dtype)
        lstm_input = torch.cat([x, state.attentional], dim=-1) if self.input_feeding else x
        hidden, cell = self.lstm(lstm_input, (state.hidden, state.cell))  # h_t, c_t
        query = self.dropout(hidden)
        if self.score == "additive":
            scores = additive_scores_projected(self.query_projection(query), state.keys, self.score_vector)
        else:  # dot: h_t · h̄_s; general: h_t · (W_a h̄_s)
            scores = dot_scores(query, state.keys)
        context, weights = self._read(query[:, None], scores[:, None], state)  # c_t [B, 1, M] (and m_t), α_t
        context, weights = context.squeeze(1), weights.squeeze(1)
        attentional = torch.tanh(self.combine(torch.cat([context, query], dim=-1)))  # h̃_t, eq. (5)
        return attentional, state._replace(hidden=hidden, cell=cell, attentional=attentional, weights=weights)

    def forward_sequence(self, inputs: Tensor, state: AttentionState) -> tuple[Tensor, Tensor]:
        """All T steps of teacher forcing at once (only without input feeding).

        Args:
            inputs: ``[B, T, E]`` the embedded previous tokens x_1..x_T.
            state: the state before the first step (:meth:`initial_state`).

        Returns:
            ``(h̃ [B, T, H], α [B, T, S])``: what T calls of the cell return, stacked.
        """
        if self.input_feeding:
            raise ValueError("AttentionDecoderCell: forward_sequence needs input_feeding=False "
                             "(with input feeding every step waits for the previous step's attention)")
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(f"AttentionDecoderCell: inputs must have shape [batch, time, {self.input_size}], got {list(inputs.shape)}")
        lstm = self.lstm  # the cell's own weights, run by ATen's fused sequence LSTM
        hidden, _, _ = torch.lstm(inputs, (state.hidden[None], state.cell[None]),
                                  [lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh],
                                  True, 1, 0.0, False, False, True)  # h_1..h_T [B, T, H]
        query = self.dropout(hidden)
        if self.score == "additive":  # queries [B, T, A] against keys [B, 1, S, A]
            scores = additive_scores_projected(self.query_projection(query), state.keys[:, None], self.score_vector)
        else:
            scores = query @ state.keys.transpose(1, 2)  # [B, T, S]
        context, weights = self._read(query, scores, state)  # [B, T, M (+ D)], α [B, T, S (+ R)]
        return torch.tanh(self.combine(torch.cat([context, query], dim=-1))), weights

    def extra_repr(self) -> str:
        feeding = "" if self.input_feeding else ", input_feeding=False"
        retrieved = f", retrieved_size={self.retrieved_size}" if self.retrieved_size else ""
        return f"{self.input_size}, {self.hidden_size}, memory_size={self.memory_size}, score={self.score!r}{feeding}{retrieved}"


def _encode_by_length(encoder: BiRNNEncoder, inputs: Tensor, mask: Tensor, groups: int = 4) -> Tensor:
    """``encoder(inputs, mask).outputs`` computed on ``groups`` groups of rows of similar length, each
    cut to its longest row: the same values (padding never changes results) with less padding run
    through the RNNs, e.g. retrieved items of 8 to 40 tokens. ``[N, R, I]`` → ``[N, R, 2H]``.
    """
    N, R = mask.shape
    lengths = mask.sum(1)
    if N < 2 * groups:
        return encoder(inputs, mask).outputs
    outputs = None
    for rows in lengths.argsort().chunk(groups):
        r = int(lengths[rows[-1]])  # the group's longest row (sorted): one device read per group
        if r == 0:
            continue
        part = encoder(inputs[rows, :r], mask[rows, :r]).outputs  # [n, r, 2H]
        if outputs is None:
            outputs = part.new_zeros(N, R, part.shape[-1])
        outputs[rows, :r] = part
    return outputs if outputs is not None else encoder(inputs, mask).outputs


class Decoded(NamedTuple):
    """What :meth:`Seq2Seq.greedy` and :meth:`Seq2Seq.beam_search` return."""

    tokens: Tensor  # [B, L] output tokens, the end token included, padding after it
    lengths: Tensor  # [B] tokens before the end token
    weights: Tensor  # [B, L, S] attention of each output step over the source
    scores: Tensor  # [B] total log-probability of the output (end token included)


class AttentionDecoding(nn.Module):
    """Greedy and beam-search decoding shared by attention decoders over any encoder.

    A subclass provides ``decoder`` (:class:`AttentionDecoderCell`),
    ``target_embedding``, ``output`` (H → V), ``target_vocab``, ``pad_id``,
    ``bos_id``, ``eos_id`` and ``fast``, and builds the decoder's initial state.
    """

    def _never(self, device) -> Tensor:
        """``[V]`` bool, ``True`` at the tokens a decoder never emits (padding and begin)."""
        never = torch.zeros(self.target_vocab, dtype=torch.bool, device=device)
        never[[self.pad_id, self.bos_id]] = True
        return never

    def _log_probs(self, out: Tensor, never: Tensor | None = None) -> Tensor:
        """``[N, H]`` decoder outputs → ``[N, V]`` log-probabilities; padding and begin are never emitted."""
        never = self._never(out.device) if never is None else never
        return torch.log_softmax(self.output(out).masked_fill(never, float("-inf")), dim=-1)

    def _step(self):
        return compiled_step(self.decoder) if self.fast else self.decoder

    @staticmethod
    def _memory_in_autocast_dtype(state: AttentionState) -> AttentionState:
        """The memories every decoding step reads (keys, values), cast once to the autocast dtype when
        autocast is on (under bf16 autocast each step would otherwise cast them again)."""
        device_type = state.values.device.type
        if not torch.is_autocast_enabled(device_type):
            return state
        dtype = torch.get_autocast_dtype(device_type)
        cast = lambda t: None if t is None else t.to(dtype)  # noqa: E731
        return state._replace(keys=cast(state.keys), values=cast(state.values),
                              retrieved_keys=cast(state.retrieved_keys), retrieved_values=cast(state.retrieved_values))

    @torch.inference_mode()
    def decode_greedy(self, state: AttentionState, max_length: int) -> Decoded:
        """Batched greedy decoding from the decoder's initial ``state``: the most likely
        token at each step, until every row has ended or ``max_length`` steps.

        Rows that have emitted the end token are masked, and once a quarter of the
        batch has ended they leave it (their state rows are dropped), so later
        steps compute mostly rows still decoding; outputs are written into
        preallocated ``[B, L]`` / ``[B, L, S]`` buffers. On the fast path (a
        compiled step specialised to one batch size) ended rows stay in the batch.
        """
        B, device = state.hidden.shape[0], state.hidden.device
        S, dtype = state.weights.shape[1], state.values.dtype  # S source (+ retrieved) positions
        state = self._memory_in_autocast_dtype(state)
        step = self._step()
        never = self._never(device)
        tokens = torch.full((B, max_length), self.pad_id, dtype=torch.long, device=device)
        weights = torch.zeros(B, max_length, S, device=device, dtype=dtype)
        lengths = torch.zeros(B, dtype=torch.long, device=device)
        scores = torch.zeros(B, device=device, dtype=dtype)
        rows = torch.arange(B, device=device)  # the original row of each row in the batch
        live = torch.ones(B, dtype=torch.bool, device=device)  # rows of the batch still decoding
        previous = torch.full((B,), self.bos_id, dtype=torch.long, device=device)
        steps, all_live = 0, True
        for t in range(max_length):
            out, state = step(self.target_embedding(previous), state)
            best, token = self._log_probs(out, never).max(-1)  # log p and argmax, [N]
            attention = state.weights
            if not all_live:  # ended rows still in the batch: no output, no score
                token, best = token.masked_fill(~live, self.pad_id), best.masked_fill(~live, 0.0)
                attention = attention * live[:, None].to(dtype)
            steps = t + 1
            tokens[rows, t] = token
            weights[rows, t] = attention.to(dtype)  # (under bf16 autocast the step may return bf16)
            scores[rows] += best
            live = live & (token != self.eos_id)  # [N]
            lengths[rows] += live.long()
            alive = int(live.sum())
            if alive == 0:
                break
            all_live = alive == live.shape[0]
            if not self.fast and 4 * alive <= 3 * live.shape[0]:  # a quarter has ended: drop those rows
                keep = live.nonzero().squeeze(1)
                rows, token, live, all_live = rows[keep], token[keep], live[keep], True
                state = _map_state(state, lambda field: field.index_select(0, keep))
            previous = token
        return Decoded(tokens[:, :steps], lengths, weights[:, :steps], scores)

    @torch.no_grad()
    def decode_beam(self, state: AttentionState, beam_size: int, max_length: int, length_penalty: float = 1.0) -> Decoded:
        """Batched beam search; the final choice is length-normalised.

        Every row keeps ``beam_size`` hypotheses ranked by total log-probability;
        an ended hypothesis keeps its score and competes with the open ones. At
        the end the best hypothesis per row maximises
        ``log p / length ** length_penalty`` (length counts the end token;
        ``length_penalty=0`` is plain log-probability). ``beam_size=1`` is greedy.

        Args:
            state: the decoder's initial state (batch B).
            beam_size: K, at most the target vocabulary size.
            max_length: most output steps.
            length_penalty: α ≥ 0.
        """
        if not isinstance(beam_size, int) or not 1 <= beam_size <= self.target_vocab:
            raise ValueError(f"{type(self).__name__}: beam_size must be an integer in [1, {self.target_vocab}], got {beam_size!r}")
        if length_penalty < 0:
            raise ValueError(f"{type(self).__name__}: length_penalty must be >= 0, got {length_penalty}")
        K, V = beam_size, self.target_vocab
        state = self._memory_in_autocast_dtype(state)
        B, device = state.hidden.shape[0], state.hidden.device
        state = _map_state(state, lambda field: field.repeat_interleave(K, dim=0))  # [B·K, ...]
        step = self._step()
        scores = torch.full((B, K), float("-inf"), device=device)
        scores[:, 0] = 0.0  # one open hypothesis per row at first
        ended = torch.zeros(B, K, dtype=torch.bool, device=device)
        lengths = torch.zeros(B, K, dtype=torch.long, device=device)
        never = self._never(device)
        ended_row = torch.full((V,), float("-inf"), device=device)
        ended_row[self.eos_id] = 0.0  # an ended hypothesis only continues with a free end token
        previous = torch.full((B * K,), self.bos_id, dtype=torch.long, device=device)
        row_base = (torch.arange(B, device=device) * K)[:, None]  # [B, 1]
        token_history, parent_history, weight_history = [], [], []
        for _ in range(max_length):
            out, state = step(self.target_embedding(previous), state)
            log_probs = self._log_probs(out, never).view(B, K, V)
            log_probs = torch.where(ended[:, :, None], ended_row, log_probs)
            candidates = (scores[:, :, None] + log_probs).view(B, K * V)
            scores, index = candidates.topk(K, dim=1)  # [B, K]
            parent, token = index // V, index % V
            was_ended = ended.gather(1, parent)
            lengths = lengths.gather(1, parent) + (~was_ended).long()
            ended = was_ended | (token == self.eos_id)
            flat = (row_base + parent).view(-1)  # [B·K] rows of the parents
            state = _map_state(state, lambda field: field.index_select(0, flat))
            token = token.masked_fill(was_ended, self.pad_id)
            token_history.append(token)
            parent_history.append(parent)
            weight_history.append(state.weights.view(B, K, -1) * (~was_ended)[:, :, None].to(state.weights.dtype))
            previous = token.view(-1)
            if bool(ended.all()):
                break
        normalised = scores / lengths.clamp_min(1).to(scores.dtype) ** length_penalty
        best = normalised.argmax(1)  # [B]
        rows = torch.arange(B, device=device)
        beam = best
        tokens, weights = [], []
        for t in range(len(token_history) - 1, -1, -1):  # backtrack through the parents
            tokens.append(token_history[t][rows, beam])
            weights.append(weight_history[t][rows, beam])
            beam = parent_history[t][rows, beam]
        tokens, weights = torch.stack(tokens[::-1], 1), torch.stack(weights[::-1], 1)
        output_lengths = (lengths[rows, best] - ended[rows, best].long()).clamp_min(0)
        return Decoded(tokens, output_lengths, weights, scores[rows, best])


class Seq2Seq(AttentionDecoding):
    """Attentional encoder-decoder over token ids, with teacher forcing, greedy and beam search.

    Args:
        source_vocab: source vocabulary size (id ``pad_id`` is padding).
        target_vocab: target vocabulary size (including pad, begin and end).
        embedding_size: E for both sides.
        encoder_size: units per direction of the bidirectional encoder.
        encoder_layers: stacked encoder layers.
        encoder_cell: ``lstm`` or ``gru``.
        decoder_size: H.
        score: ``dot`` (the annotations are first projected to H), ``general`` or ``additive``.
        dropout: on embeddings, between encoder layers, in the decoder.
        input_feeding: feed the attentional vector into the next decoder step
            (Luong §3.3); without it, teacher forcing runs all target steps at
            once (:meth:`AttentionDecoderCell.forward_sequence`), several times
            faster on a CPU.
        pad_id, bos_id, eos_id: special target ids (``pad_id`` also pads sources).
        fast: run decoder steps through :func:`augrnn.nn.recurrent.compiled_step`;
            sources are then padded to a multiple of 8 positions so that few
            shapes are compiled (padding does not change results).
        memory_vocab: 0, or the vocabulary size of a second input, the *retrieved memory*
            ``memory [B, N, R]`` (N items of R ids, ``pad_id`` padding; ``[B, R]`` is one item):
            e.g. the spellings and pronunciations of known words that resemble the source.
            It gets its own embedding and a one-layer bidirectional encoder of
            ``memory_encoder_size`` units per direction (each item encoded apart), whose
            states are the values (and, through a linear map, the keys) of a second
            attention of the decoder (:class:`AttentionDecoderCell` with ``retrieved_size``
            = 2 × ``memory_encoder_size``), so at every step it reads both the source and
            the retrieved examples (``weights [.., S + N·R]``).
        memory_encoder_size: units per direction of the memory encoder.

    Example:
        >>> model = Seq2Seq(5, 6, embedding_size=4, encoder_size=3, decoder_size=4)
        >>> src = torch.tensor([[1, 2, 3], [4, 1, 0]]); mask = src != 0
        >>> model(src, mask, torch.tensor([[1, 3], [1, 4]])).shape
        torch.Size([2, 2, 6])
        >>> model.greedy(src, mask, max_length=4).tokens.shape[0]
        2
    """

    def __init__(self, source_vocab: int, target_vocab: int, embedding_size: int = 64, encoder_size: int = 128,
                 encoder_layers: int = 1, encoder_cell: str = "lstm", decoder_size: int = 256, score: str = "general",
                 dropout: float = 0.0, input_feeding: bool = True, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2,
                 fast: bool = False, memory_vocab: int = 0, memory_encoder_size: int = 64) -> None:
        super().__init__()
        _check_int("Seq2Seq", source_vocab=source_vocab, target_vocab=target_vocab, embedding_size=embedding_size,
                   encoder_size=encoder_size, encoder_layers=encoder_layers, decoder_size=decoder_size,
                   memory_encoder_size=memory_encoder_size)
        if not isinstance(memory_vocab, int) or memory_vocab < 0:
            raise ValueError(f"Seq2Seq: memory_vocab must be an integer >= 0 (0 = no retrieved memory), got {memory_vocab!r}")
        for name, value in (("pad_id", pad_id), ("bos_id", bos_id), ("eos_id", eos_id)):
            if not 0 <= value < target_vocab:
                raise ValueError(f"Seq2Seq: {name} must be in [0, {target_vocab}), got {value}")
        self.pad_id, self.bos_id, self.eos_id, self.fast = pad_id, bos_id, eos_id, fast
        self.target_vocab = target_vocab
        self.source_embedding = nn.Embedding(source_vocab, embedding_size, padding_idx=pad_id)
        self.target_embedding = nn.Embedding(target_vocab, embedding_size, padding_idx=pad_id)
        self.encoder = BiRNNEncoder(embedding_size, encoder_size, encoder_layers, encoder_cell, dropout)
        memory_size = self.encoder.output_size
        self.memory_projection = nn.Linear(memory_size, decoder_size) if score == "dot" else None
        if self.memory_projection is not None:
            memory_size = decoder_size
        self.bridge = nn.Linear(self.encoder.output_size, 2 * decoder_size)  # [h_0; c_0] from the encoder's final states
        self.decoder = AttentionDecoderCell(embedding_size, decoder_size, memory_size, score=score, dropout=dropout,
                                            input_feeding=input_feeding,
                                            retrieved_size=2 * memory_encoder_size if memory_vocab else 0)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(decoder_size, target_vocab)
        self.memory_vocab = memory_vocab
        if memory_vocab:  # the retrieved memory: embedding → BiLSTM states (values) → keys
            self.memory_embedding = nn.Embedding(memory_vocab, embedding_size, padding_idx=pad_id)
            self.memory_encoder = BiRNNEncoder(embedding_size, memory_encoder_size, 1, encoder_cell)
            self.memory_keys = nn.Linear(self.memory_encoder.output_size, self.memory_encoder.output_size)

    def _check_source(self, source: Tensor, source_mask: Tensor) -> Tensor:
        if source.dim() != 2 or source.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"Seq2Seq: source must be integer ids of shape [batch, source_length], got {source.dtype} {list(source.shape)}")
        return _check_mask("Seq2Seq", source_mask, tuple(source.shape))

    def _check_memory(self, memory: Tensor | None, memory_mask: Tensor | None, batch: int) -> Tensor | None:
        if (memory is None) != (self.memory_vocab == 0):
            raise ValueError(f"Seq2Seq: memory ids [batch, N, R] are required when memory_vocab > 0 and refused when it is 0 "
                             f"(memory_vocab={self.memory_vocab}, got {'no memory' if memory is None else 'a memory'})")
        if memory is None:
            return None
        if memory.dim() not in (2, 3) or memory.shape[0] != batch or memory.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"Seq2Seq: memory must be integer ids of shape [{batch}, R] or [{batch}, N, R], "
                             f"got {memory.dtype} {list(memory.shape)}")
        return memory != self.pad_id if memory_mask is None else _check_mask("Seq2Seq", memory_mask, tuple(memory.shape))

    def encode(self, source: Tensor, source_mask: Tensor, memory: Tensor | None = None,
               memory_mask: Tensor | None = None) -> AttentionState:
        """The decoder's initial state: memory, mask and bridged encoder state.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            memory: ``[B, N, R]`` (or ``[B, R]``) retrieved-memory ids (only with ``memory_vocab`` > 0).
            memory_mask: same shape, bool (default: ``memory != pad_id``).

        Returns:
            :class:`AttentionState` with ``values [B, S', M]`` (S' = S, or S rounded up to a
            multiple of 8 on the fast path) and, with a memory, ``retrieved_keys`` /
            ``retrieved_values [B, N·R, D]`` and ``retrieved_mask [B, N·R]`` (item by item).
        """
        source_mask = self._check_source(source, source_mask)
        memory_mask = self._check_memory(memory, memory_mask, source.shape[0])
        if self.fast and source.shape[1] % 8:  # fewer distinct shapes for the compiled step
            extra = 8 - source.shape[1] % 8
            source = F.pad(source, (0, extra), value=self.pad_id)
            source_mask = F.pad(source_mask, (0, extra), value=False)
        encoded = self.encoder(self.dropout(self.source_embedding(source)), source_mask)
        values = encoded.outputs if self.memory_projection is None else self.memory_projection(encoded.outputs)
        h0, c0 = torch.tanh(self.bridge(encoded.final)).chunk(2, dim=-1)
        if memory is not None:  # the retrieved memory: its own attention over its N·R positions
            if memory.dim() == 2:  # one item
                memory, memory_mask = memory[:, None], memory_mask[:, None]
            if self.fast and memory.shape[2] % 8:
                extra = 8 - memory.shape[2] % 8
                memory = F.pad(memory, (0, extra), value=self.pad_id)
                memory_mask = F.pad(memory_mask, (0, extra), value=False)
            B, N, R = memory.shape
            items = self.dropout(self.memory_embedding(memory.reshape(B * N, R)))  # each item encoded apart
            retrieved = _encode_by_length(self.memory_encoder, items, memory_mask.reshape(B * N, R)).reshape(B, N * R, -1)
            memory_mask = memory_mask.reshape(B, N * R)
            return self.decoder.initial_state(source.shape[0], memory=values, mask=source_mask, hidden=(h0, c0),
                                              retrieved=(self.memory_keys(retrieved), retrieved, memory_mask))
        return self.decoder.initial_state(source.shape[0], memory=values, mask=source_mask, hidden=(h0, c0))

    def forward(self, source: Tensor, source_mask: Tensor, target_in: Tensor, return_trace: bool = False,
                memory: Tensor | None = None, memory_mask: Tensor | None = None):
        """Teacher forcing: logits of every next target token.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            target_in: ``[B, T]`` ids (begin token, then the target without its end).
            memory, memory_mask: the retrieved memory (see :meth:`encode`).

        Returns:
            ``logits [B, T, V]``; with ``return_trace`` also the per-step
            :class:`AttentionState` stacked on dim 1 (``weights [B, T, S']``).
        """
        if target_in.dim() != 2 or target_in.shape[0] != source.shape[0]:
            raise ValueError(f"Seq2Seq: target_in must have shape [{source.shape[0]}, T], got {list(target_in.shape)}")
        state = self.encode(source, source_mask, memory, memory_mask)
        inputs = self.dropout(self.target_embedding(target_in))  # [B, T, E]
        if not self.decoder.input_feeding and not return_trace:  # every step at once
            outputs, _ = self.decoder.forward_sequence(inputs, state)
            return self.output(self.dropout(outputs))
        run = unroll(self.decoder, inputs, state, fast=self.fast, return_trace=return_trace)
        logits = self.output(self.dropout(run.outputs))  # [B, T, V]
        return (logits, run.trace) if return_trace else logits


    def greedy(self, source: Tensor, source_mask: Tensor, max_length: int | None = None,
               memory: Tensor | None = None, memory_mask: Tensor | None = None) -> Decoded:
        """Batched greedy decoding: the most likely token at each step, until every row has ended.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            max_length: most output steps (default ``2 S + 10``).
            memory, memory_mask: the retrieved memory (see :meth:`encode`).
        """
        max_length = 2 * source.shape[1] + 10 if max_length is None else max_length
        return self.decode_greedy(self.encode(source, source_mask, memory, memory_mask), max_length)

    def beam_search(self, source: Tensor, source_mask: Tensor, beam_size: int = 5, max_length: int | None = None,
                    length_penalty: float = 1.0, memory: Tensor | None = None,
                    memory_mask: Tensor | None = None) -> Decoded:
        """Batched beam search; the final choice is length-normalised.

        Every row keeps ``beam_size`` hypotheses ranked by total log-probability;
        an ended hypothesis keeps its score and competes with the open ones. At
        the end the best hypothesis per row maximises
        ``log p / length ** length_penalty`` (length counts the end token;
        ``length_penalty=0`` is plain log-probability). ``beam_size=1`` is greedy.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            beam_size: K, at most the target vocabulary size.
            max_length: most output steps (default ``2 S + 10``).
            length_penalty: α ≥ 0.
            memory, memory_mask: the retrieved memory (see :meth:`encode`).
        """
        max_length = 2 * source.shape[1] + 10 if max_length is None else max_length
        return self.decode_beam(self.encode(source, source_mask, memory, memory_mask), beam_size, max_length,
                                length_penalty)
