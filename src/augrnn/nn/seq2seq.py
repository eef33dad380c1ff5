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

from augrnn.functional.attention import additive_scores_projected, attend, dot_scores, masked_softmax
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
            x = torch.cat([forwards, backwards], dim=-1) * keep  # [B, S, 2H]
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
    weights: Tensor  # α_t [B, S] attention of this step (zeros before the first)


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

    Args:
        input_size: E (embedded previous token).
        hidden_size: H.
        memory_size: M (annotation width).
        score: ``dot``, ``general`` or ``additive``.
        attention_size: hidden width of the additive scorer (default H).
        dropout: on h_t before the attentional layer.
        input_feeding: feed h̃_{t−1} into the LSTM (Luong §3.3).

    Example:
        >>> cell = AttentionDecoderCell(3, 4, 6)
        >>> state = cell.initial_state(2, memory=torch.zeros(2, 5, 6), mask=torch.ones(2, 5, dtype=torch.bool))
        >>> y, state = cell(torch.zeros(2, 3), state)
        >>> y.shape, state.weights.shape
        (torch.Size([2, 4]), torch.Size([2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, memory_size: int, score: str = "general",
                 attention_size: int | None = None, dropout: float = 0.0, input_feeding: bool = True) -> None:
        super().__init__()
        _check_int("AttentionDecoderCell", input_size=input_size, hidden_size=hidden_size, memory_size=memory_size)
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
        self.combine = nn.Linear(memory_size + hidden_size, hidden_size, bias=False)  # W_c, eq. (5)
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
                      mask: Tensor | None = None, hidden: tuple[Tensor, Tensor] | None = None) -> AttentionState:
        """The state before the first step.

        Args:
            batch_size: B.
            memory: ``[B, S, M]`` annotations to attend over; ``None`` gives a
                one-slot, fully masked memory (the context is then zero).
            mask: ``[B, S]`` bool, ``True`` at real positions (default: all).
            hidden: ``(h_0 [B, H], c_0 [B, H])``; default zeros.
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
        return AttentionState(
            hidden=hidden[0], cell=hidden[1],
            attentional=torch.zeros(B, self.hidden_size, device=device, dtype=dtype),
            keys=self.project_keys(memory), values=memory, mask=mask,
            weights=torch.zeros(B, S, device=device, dtype=dtype),
        )

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
        context, weights = attend(scores, state.values, state.mask)  # c_t [B, M], α_t [B, S]
        attentional = torch.tanh(self.combine(torch.cat([context, query], dim=-1)))  # h̃_t, eq. (5)
        return attentional, AttentionState(hidden, cell, attentional, state.keys, state.values, state.mask, weights)

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
        weights = masked_softmax(scores, state.mask[:, None, :])  # α [B, T, S]
        context = weights @ state.values  # [B, T, M]
        return torch.tanh(self.combine(torch.cat([context, query], dim=-1))), weights

    def extra_repr(self) -> str:
        feeding = "" if self.input_feeding else ", input_feeding=False"
        return f"{self.input_size}, {self.hidden_size}, memory_size={self.memory_size}, score={self.score!r}{feeding}"


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
        S, dtype = state.values.shape[1], state.values.dtype
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
                state = AttentionState(*(field.index_select(0, keep) for field in state))
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
        B, device = state.hidden.shape[0], state.hidden.device
        state = AttentionState(*(field.repeat_interleave(K, dim=0) for field in state))  # [B·K, ...]
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
            state = AttentionState(*(field.index_select(0, flat) for field in state))
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
                 fast: bool = False) -> None:
        super().__init__()
        _check_int("Seq2Seq", source_vocab=source_vocab, target_vocab=target_vocab, embedding_size=embedding_size,
                   encoder_size=encoder_size, encoder_layers=encoder_layers, decoder_size=decoder_size)
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
                                            input_feeding=input_feeding)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(decoder_size, target_vocab)

    def _check_source(self, source: Tensor, source_mask: Tensor) -> Tensor:
        if source.dim() != 2 or source.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"Seq2Seq: source must be integer ids of shape [batch, source_length], got {source.dtype} {list(source.shape)}")
        return _check_mask("Seq2Seq", source_mask, tuple(source.shape))

    def encode(self, source: Tensor, source_mask: Tensor) -> AttentionState:
        """The decoder's initial state: memory, mask and bridged encoder state.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.

        Returns:
            :class:`AttentionState` with ``values [B, S', M]`` (S' = S, or S
            rounded up to a multiple of 8 on the fast path).
        """
        source_mask = self._check_source(source, source_mask)
        if self.fast and source.shape[1] % 8:  # fewer distinct shapes for the compiled step
            extra = 8 - source.shape[1] % 8
            source = F.pad(source, (0, extra), value=self.pad_id)
            source_mask = F.pad(source_mask, (0, extra), value=False)
        encoded = self.encoder(self.dropout(self.source_embedding(source)), source_mask)
        memory = encoded.outputs if self.memory_projection is None else self.memory_projection(encoded.outputs)
        h0, c0 = torch.tanh(self.bridge(encoded.final)).chunk(2, dim=-1)
        return self.decoder.initial_state(source.shape[0], memory=memory, mask=source_mask, hidden=(h0, c0))

    def forward(self, source: Tensor, source_mask: Tensor, target_in: Tensor, return_trace: bool = False):
        """Teacher forcing: logits of every next target token.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            target_in: ``[B, T]`` ids (begin token, then the target without its end).

        Returns:
            ``logits [B, T, V]``; with ``return_trace`` also the per-step
            :class:`AttentionState` stacked on dim 1 (``weights [B, T, S']``).
        """
        if target_in.dim() != 2 or target_in.shape[0] != source.shape[0]:
            raise ValueError(f"Seq2Seq: target_in must have shape [{source.shape[0]}, T], got {list(target_in.shape)}")
        state = self.encode(source, source_mask)
        inputs = self.dropout(self.target_embedding(target_in))  # [B, T, E]
        if not self.decoder.input_feeding and not return_trace:  # every step at once
            outputs, _ = self.decoder.forward_sequence(inputs, state)
            return self.output(self.dropout(outputs))
        run = unroll(self.decoder, inputs, state, fast=self.fast, return_trace=return_trace)
        logits = self.output(self.dropout(run.outputs))  # [B, T, V]
        return (logits, run.trace) if return_trace else logits


    def greedy(self, source: Tensor, source_mask: Tensor, max_length: int | None = None) -> Decoded:
        """Batched greedy decoding: the most likely token at each step, until every row has ended.

        Args:
            source: ``[B, S]`` ids. source_mask: ``[B, S]`` bool.
            max_length: most output steps (default ``2 S + 10``).
        """
        max_length = 2 * source.shape[1] + 10 if max_length is None else max_length
        return self.decode_greedy(self.encode(source, source_mask), max_length)

    def beam_search(self, source: Tensor, source_mask: Tensor, beam_size: int = 5, max_length: int | None = None,
                    length_penalty: float = 1.0) -> Decoded:
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
        """
        max_length = 2 * source.shape[1] + 10 if max_length is None else max_length
        return self.decode_beam(self.encode(source, source_mask), beam_size, max_length, length_penalty)
