"""Seq2Seq, BiRNNEncoder and AttentionDecoderCell: references, edge inputs, search, learning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from augrnn.nn import AttentionDecoderCell, AttentionState, BiRNNEncoder, Seq2Seq, unroll

D64 = torch.float64


def _mask(lengths, S):
    return torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]


# -- (1) math against references -------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_encoder_matches_packed_bidirectional_torch_rnn(cell):
    torch.manual_seed(0)
    enc = BiRNNEncoder(3, 4, num_layers=2, cell=cell).double()
    ref = getattr(nn, cell.upper())(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    with torch.no_grad():
        for layer in range(2):
            for direction, rnn in (("", enc.forward_rnns[layer]), ("_reverse", enc.backward_rnns[layer])):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(ref, f"{name}_l{layer}{direction}").copy_(getattr(rnn, f"{name}_l0"))
    lengths = [5, 2, 1, 4]
    x = torch.randn(4, 5, 3, dtype=D64)
    out = enc(x, _mask(lengths, 5))
    packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    expected, _ = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=5)
    torch.testing.assert_close(out.outputs, expected)
    for b, n in enumerate(lengths):
        torch.testing.assert_close(out.final[b], torch.cat([expected[b, n - 1, :4], expected[b, 0, 4:]]))


def _reference_step(cell, x, state):
    """Luong et al. 2015 eq. (5), (7), (8) written out per example in float64."""
    h, c = cell.lstm(torch.cat([x, state.attentional], -1), (state.hidden, state.cell))
    memory = state.values
    outs, weights = [], []
    for b in range(x.shape[0]):
        scores = []
        for s in range(memory.shape[1]):
            hs = memory[b, s]
            if cell.score == "dot":
                e = h[b] @ hs
            elif cell.score == "general":
                e = h[b] @ (cell.key_projection.weight @ hs)
            else:
                e = cell.score_vector @ torch.tanh(cell.query_projection(h[b]) + cell.key_projection.weight @ hs)
            scores.append(e if state.mask[b, s] else torch.tensor(float("-inf"), dtype=D64))
        a = torch.softmax(torch.stack(scores), 0)
        context = (a[:, None] * memory[b]).sum(0)
        outs.append(torch.tanh(cell.combine.weight @ torch.cat([context, h[b]])))
        weights.append(a)
    return torch.stack(outs), torch.stack(weights)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_decoder_cell_matches_written_out_equations(score):
    torch.manual_seed(1)
    cell = AttentionDecoderCell(3, 4, 4 if score == "dot" else 6, score=score).double()
    memory = torch.randn(3, 5, cell.memory_size, dtype=D64)
    state = cell.initial_state(3, memory=memory, mask=_mask([5, 1, 3], 5))
    for _ in range(3):  # several steps: input feeding carries h̃ forward
        x = torch.randn(3, 3, dtype=D64)
        expected_out, expected_weights = _reference_step(cell, x, state)
        out, state = cell(x, state)
        torch.testing.assert_close(out, expected_out)
        torch.testing.assert_close(state.weights, expected_weights)
        torch.testing.assert_close(state.attentional, out)


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_gradcheck_seq2seq(score):
    torch.manual_seed(2)
    model = Seq2Seq(6, 5, embedding_size=3, encoder_size=2, decoder_size=3, score=score).double()
    source = torch.tensor([[3, 4, 5], [2, 0, 0]])
    target = torch.tensor([[1, 3], [1, 4]])
    memory = model.encode(source, source != 0)
    cell_inputs = torch.randn(2, 2, 3, dtype=D64, requires_grad=True)
    values = memory.values.detach().clone().requires_grad_(True)

    def run(x, values):
        state = model.decoder.initial_state(2, memory=values, mask=source != 0)
        return unroll(model.decoder, x, state).outputs

    assert torch.autograd.gradcheck(run, (cell_inputs, values))
    embedded = model.source_embedding(source).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: model.encoder(e, source != 0).outputs, (embedded,))
    assert model(source, source != 0, target).shape == (2, 2, 5)


def test_state_is_a_namedtuple_with_attention_and_nothing_on_self():
    torch.manual_seed(3)
    model = Seq2Seq(6, 5, embedding_size=3, encoder_size=2, decoder_size=3)
    source = torch.tensor([[3, 4, 5], [2, 0, 0]])
    logits, trace = model(source, source != 0, torch.tensor([[1, 3, 3, 4], [1, 4, 4, 4]]), return_trace=True)
    assert isinstance(trace, AttentionState)
    assert trace.weights.shape == (2, 4, 3)
    torch.testing.assert_close(trace.weights.sum(-1), torch.ones(2, 4))
    assert torch.all(trace.weights[1, :, 1:] == 0)  # never on padding
    assert not [k for k, v in vars(model).items() if isinstance(v, torch.Tensor)]


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_without_input_feeding_the_whole_sequence_path_equals_the_steps(score):
    """forward_sequence (one fused LSTM, batched attention) = T calls of the cell, values and gradients."""
    torch.manual_seed(11)
    model = Seq2Seq(7, 9, embedding_size=5, encoder_size=4, decoder_size=6, score=score, input_feeding=False).double()
    source = torch.tensor([[3, 4, 5, 6, 3], [2, 5, 0, 0, 0], [6, 0, 0, 0, 0]])
    _assert_sequence_path_equals_the_steps(model, source, source != 0, torch.randint(3, 9, (3, 4)))
    state = model.encode(source, source != 0)
    x = torch.randn(3, 4, 5, dtype=D64, requires_grad=True)
    outputs, weights = model.decoder.forward_sequence(x, state)
    _, trace = unroll(model.decoder, x, state, return_trace=True)[1:]
    torch.testing.assert_close(weights, trace.weights)
    assert torch.all(weights[1, :, 2:] == 0) and torch.all(weights[2, :, 1:] == 0)  # never on padding
    assert torch.autograd.gradcheck(lambda x: model.decoder.forward_sequence(x, state)[0], (x,))


def _assert_sequence_path_equals_the_steps(model, source, mask, target_in, **memory):
    """Teacher forcing through forward_sequence = through the step loop (the trace asks for it), values
    and gradients; leaves the gradients of the step loop on the model."""
    results = []
    for return_trace in (False, True):
        model.zero_grad()
        logits = model(source, mask, target_in, return_trace=return_trace, **memory)
        logits = logits[0] if return_trace else logits
        logits.square().sum().backward()
        results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-12, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_forward_sequence_needs_a_decoder_without_input_feeding():
    cell = AttentionDecoderCell(3, 4, 6)
    state = cell.initial_state(2, memory=torch.zeros(2, 5, 6))
    with pytest.raises(ValueError, match="input_feeding=False"):
        cell.forward_sequence(torch.zeros(2, 3, 3), state)
    with pytest.raises(ValueError, match="input_feeding must be"):
        AttentionDecoderCell(3, 4, 6, input_feeding="no")


# -- (2) edge inputs -------------------------------------------------------------------------
@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_all_padding_length_one_and_huge_inputs_stay_finite(score):
    torch.manual_seed(4)
    model = Seq2Seq(6, 5, embedding_size=3, encoder_size=2, decoder_size=4, score=score)
    with torch.no_grad():
        model.source_embedding.weight.mul_(1e4)  # huge inputs saturate the gates, huge logits in attention
        model.target_embedding.weight[3].zero_()  # a zero vector
    source = torch.tensor([[3, 4, 5], [0, 0, 0], [2, 0, 0]])  # full, all padding, length 1
    logits = model(source, source != 0, torch.tensor([[1, 3], [1, 3], [1, 4]]))
    logits.sum().backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    decoded = model.beam_search(source, source != 0, beam_size=3, max_length=4)
    assert torch.isfinite(decoded.scores).all() and torch.all(decoded.weights[1] == 0)
    cell = model.decoder  # no memory at all: a one-slot, fully masked memory, zero context
    y, state = cell(torch.randn(2, 3))
    assert torch.isfinite(y).all() and torch.all(state.weights == 0)


# -- search and padding ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def random_model():
    torch.manual_seed(5)
    return Seq2Seq(10, 12, embedding_size=8, encoder_size=6, decoder_size=8, score="additive").eval()


def _random_batch(seed, lengths, S):
    g = torch.Generator().manual_seed(seed)
    mask = _mask(lengths, S)
    return torch.randint(3, 10, (len(lengths), S), generator=g).masked_fill(~mask, 0), mask


def test_beam_one_equals_greedy(random_model):
    source, mask = _random_batch(0, [7, 3, 5, 1, 6], 7)
    greedy = random_model.greedy(source, mask, max_length=9)
    beam = random_model.beam_search(source, mask, beam_size=1, max_length=9)
    assert torch.equal(greedy.tokens, beam.tokens) and torch.equal(greedy.lengths, beam.lengths)
    torch.testing.assert_close(greedy.scores, beam.scores)
    torch.testing.assert_close(greedy.weights, beam.weights)


def _written_out_greedy(model, source, mask, max_length):
    """Greedy decoding of the whole batch at every step, row by row bookkeeping (no rows dropped)."""
    state = model.encode(source, mask)
    B = source.shape[0]
    previous = torch.full((B,), model.bos_id)
    ended = [False] * B
    tokens, weights = torch.zeros(B, max_length, dtype=torch.long), torch.zeros(B, max_length, source.shape[1])
    lengths, scores = torch.zeros(B, dtype=torch.long), torch.zeros(B)
    steps = 0
    with torch.no_grad():
        for t in range(max_length):
            out, state = model.decoder(model.target_embedding(previous), state)
            log_probs = model._log_probs(out)
            for b in range(B):
                if ended[b]:
                    previous[b] = model.pad_id
                    continue
                token = int(log_probs[b].argmax())
                tokens[b, t], weights[b, t] = token, state.weights[b]
                scores[b] += log_probs[b, token]
                ended[b] = token == model.eos_id
                lengths[b] += not ended[b]
                previous[b] = token
            steps = t + 1
            if all(ended):
                break
    return tokens[:, :steps], lengths, weights[:, :steps], scores


def test_greedy_with_rows_ending_early_matches_written_out_greedy(monkeypatch):
    """Rows that end leave the batch (eager) or stay masked (fast path); both equal the written-out loop."""
    torch.manual_seed(7)
    model = Seq2Seq(10, 12, embedding_size=8, encoder_size=6, decoder_size=8).eval()
    with torch.no_grad():
        model.output.bias[model.eos_id] += 0.4  # rows end after 1, 2, 3 steps or never
    source, mask = _random_batch(4, [7, 3, 5, 1, 6, 2, 7, 4, 5, 3, 6, 1], 7)
    expected = _written_out_greedy(model, source, mask, max_length=12)
    assert len(set(expected[1].tolist())) >= 3 and (expected[0] == model.eos_id).any(1).sum() >= 3
    eager = model.greedy(source, mask, max_length=12)
    model.fast = True  # the fast path's bookkeeping (no rows dropped), with the eager step
    monkeypatch.setattr(model, "_step", lambda: model.decoder)
    kept = model.greedy(source, mask, max_length=12)
    for decoded in (eager, kept):
        assert torch.equal(decoded.tokens, expected[0]) and torch.equal(decoded.lengths, expected[1])
        torch.testing.assert_close(decoded.weights[..., :7], expected[2])  # the fast path pads sources to 8
        torch.testing.assert_close(decoded.scores, expected[3])


def test_beam_hypothesis_scores_are_its_log_probability(random_model):
    source, mask = _random_batch(1, [4, 6], 6)
    beam = random_model.beam_search(source, mask, beam_size=4, max_length=8, length_penalty=0.0)
    for b in range(2):  # re-score the chosen output with teacher forcing
        n = int(beam.lengths[b]) + 1  # with the end token
        ended = bool((beam.tokens[b] == random_model.eos_id).any())
        tokens = beam.tokens[b, :n]
        target_in = torch.cat([torch.tensor([random_model.bos_id]), tokens[:-1]])[None]
        with torch.no_grad():
            log_probs = torch.log_softmax(random_model(source[b : b + 1], mask[b : b + 1], target_in), -1)
        total = log_probs[0].gather(1, tokens[:, None]).sum()
        if ended:
            torch.testing.assert_close(total, beam.scores[b])


def test_padding_and_batch_composition_never_change_results(random_model):
    source, mask = _random_batch(2, [7, 3, 5, 1], 7)
    padded = torch.cat([source, torch.zeros(4, 5, dtype=torch.long)], 1)
    target_in = torch.randint(3, 12, (4, 5))
    with torch.no_grad():
        logits = random_model(source, mask, target_in)
        torch.testing.assert_close(random_model(padded, padded != 0, target_in), logits)
        torch.testing.assert_close(random_model(source[1:2, :3], mask[1:2, :3], target_in[1:2]), logits[1:2])
    for search in (lambda s, m: random_model.greedy(s, m, max_length=9),
                   lambda s, m: random_model.beam_search(s, m, beam_size=3, max_length=9)):
        a, b, c = search(source, mask), search(padded, padded != 0), search(source[1:2, :3], mask[1:2, :3])
        assert torch.equal(a.tokens, b.tokens) and torch.equal(a.tokens[1:2, : c.tokens.shape[1]], c.tokens)
        torch.testing.assert_close(a.weights, b.weights[..., :7])


def test_fast_and_eager_agree_in_outputs_and_gradients(monkeypatch):
    monkeypatch.delenv("AUGRNN_DISABLE_COMPILE", raising=False)
    torch.manual_seed(6)
    eager = Seq2Seq(10, 12, embedding_size=8, encoder_size=6, decoder_size=8, fast=False)
    fast = Seq2Seq(10, 12, embedding_size=8, encoder_size=6, decoder_size=8, fast=True)
    fast.load_state_dict(eager.state_dict())
    source, mask = _random_batch(3, [8, 3, 5], 8)
    target_in = torch.randint(3, 12, (3, 4))
    outputs = []
    for model in (eager, fast):
        logits = model(source, mask, target_in)
        logits.square().sum().backward()
        outputs.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(outputs[1][0], outputs[0][0], rtol=1e-4, atol=1e-5)
    for g_fast, g_eager in zip(outputs[1][1], outputs[0][1]):
        torch.testing.assert_close(g_fast, g_eager, rtol=1e-3, atol=1e-5)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="score"):
        AttentionDecoderCell(3, 4, 6, score="cosine")
    with pytest.raises(ValueError, match="memory_size == hidden_size"):
        AttentionDecoderCell(3, 4, 6, score="dot")
    with pytest.raises(ValueError, match="cell"):
        BiRNNEncoder(3, 4, cell="rnn")
    model = Seq2Seq(6, 5, embedding_size=3, encoder_size=2, decoder_size=3)
    with pytest.raises(ValueError, match="source"):
        model(torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(torch.ones(1, 2, dtype=torch.long), torch.ones(1, 2, dtype=torch.bool), beam_size=0)


# -- (3) learns a task -----------------------------------------------------------------------
@pytest.mark.parametrize("input_feeding", [True, False])
def test_learns_to_reverse_sequences(input_feeding):
    """Reversal of 2-7 random symbols: exact-match accuracy > 90% after 500 batches (eager, one core)."""
    torch.manual_seed(7)
    g = torch.Generator().manual_seed(7)
    V, S = 10, 7  # symbols 3..9

    def batch(n):
        lengths = torch.randint(2, S + 1, (n,), generator=g)
        mask = torch.arange(S)[None] < lengths[:, None]
        source = torch.randint(3, V, (n, S), generator=g).masked_fill(~mask, 0)
        index = torch.where(mask, lengths[:, None] - 1 - torch.arange(S)[None], 0)
        reversed_ = source.gather(1, index).masked_fill(~mask, 0)
        target_out = torch.cat([reversed_, torch.zeros(n, 1, dtype=torch.long)], 1)
        target_out[torch.arange(n), lengths] = 2  # end token
        target_in = torch.cat([torch.ones(n, 1, dtype=torch.long), reversed_], 1)
        return source, mask, target_in, target_out

    model = Seq2Seq(V, V, embedding_size=16, encoder_size=32, decoder_size=48, score="general",
                    input_feeding=input_feeding)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(500):
        source, mask, target_in, target_out = batch(64)
        logits = model(source, mask, target_in)
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), target_out, ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    source, mask, _, target_out = batch(500)
    decoded = model.greedy(source, mask, max_length=S + 2)
    L = decoded.tokens.shape[1]
    padded = torch.nn.functional.pad(target_out, (0, max(0, L - target_out.shape[1])))[:, :L]
    exact = (decoded.tokens == padded).all(1).float().mean().item()
    assert exact > 0.9, exact


# -- a retrieved memory beside the source (retrieved_size > 0) ------------------------------------
def _reference_retrieved_step(cell, x, state):
    """A decoder step with a retrieved memory written out per example in float64: α over the source
    (Luong's general score), β = softmax((W_r h) · k_r) over the retrieved memory, h̃ = tanh(W_c [c; m; h])."""
    h, c = cell.lstm(torch.cat([x, state.attentional], -1) if cell.input_feeding else x, (state.hidden, state.cell))
    outs, weights = [], []
    for b in range(x.shape[0]):
        parts, weight = [], []
        for keys, values, mask, query in (
                (state.keys[b], state.values[b], state.mask[b], h[b]),
                (state.retrieved_keys[b], state.retrieved_values[b], state.retrieved_mask[b],
                 cell.retrieved_query.weight @ h[b])):
            chosen = [s for s in range(keys.shape[0]) if mask[s]]
            a = torch.zeros(keys.shape[0], dtype=D64)
            if chosen:  # an empty part reads zeros
                a[chosen] = torch.softmax(torch.stack([query @ keys[s] for s in chosen]), 0)
            parts.append((a[:, None] * values).sum(0))
            weight.append(a)
        outs.append(torch.tanh(cell.combine.weight @ torch.cat(parts + [h[b]])))
        weights.append(torch.cat(weight))
    return torch.stack(outs), torch.stack(weights)


def _memory_model(**kwargs):
    return Seq2Seq(10, 12, embedding_size=6, encoder_size=4, decoder_size=5, memory_vocab=9, memory_encoder_size=3,
                   **kwargs)


def _memory_batch():
    source, mask = _random_batch(8, [5, 2, 4], 5)
    memory = torch.tensor([[[3, 4, 5, 0], [6, 7, 0, 0]],  # two retrieved items per row, each 0-padded
                           [[2, 8, 8, 8], [0, 0, 0, 0]],  # one
                           [[0, 0, 0, 0], [0, 0, 0, 0]]])  # none: the last row retrieved nothing
    return source, mask, memory


@pytest.mark.parametrize("input_feeding", [True, False])
def test_retrieved_attention_matches_written_out_equations(input_feeding):
    torch.manual_seed(12)
    model = _memory_model(input_feeding=input_feeding).double()
    source, mask, memory = _memory_batch()
    state = model.encode(source, mask, memory)
    assert state.retrieved_values.shape == (3, 8, 6) and torch.equal(state.retrieved_mask, memory.flatten(1) != 0)
    for _ in range(3):
        x = torch.randn(3, 6, dtype=D64)
        expected_out, expected_weights = _reference_retrieved_step(model.decoder, x, state)
        out, state = model.decoder(x, state)
        torch.testing.assert_close(out, expected_out)
        torch.testing.assert_close(state.weights, expected_weights)
    # each part sums to one where it has a real position; the empty memory of row 2 gets none
    torch.testing.assert_close(state.weights[:, :5].sum(-1), torch.ones(3, dtype=D64))
    torch.testing.assert_close(state.weights[:, 5:].sum(-1), torch.tensor([1.0, 1.0, 0.0], dtype=D64))


def test_retrieved_sequence_path_equals_the_steps_and_gradchecks():
    torch.manual_seed(13)
    model = _memory_model(input_feeding=False).double()
    source, mask, memory = _memory_batch()
    _assert_sequence_path_equals_the_steps(model, source, mask, torch.randint(3, 12, (3, 4)), memory=memory)
    assert all(p.grad.abs().sum() > 0 for name, p in model.named_parameters() if name.startswith("memory_")), \
        "the retrieved memory's encoder must receive gradients"
    state = model.encode(source, mask, memory)
    x = torch.randn(3, 2, 6, dtype=D64, requires_grad=True)
    values = state.retrieved_values.detach().clone().requires_grad_(True)
    keys = state.retrieved_keys.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x, k, v: model.decoder.forward_sequence(x, state._replace(retrieved_keys=k, retrieved_values=v))[0],
        (x, keys, values))


def test_retrieved_search_padding_and_validation():
    torch.manual_seed(14)
    model = _memory_model().eval()
    source, mask, memory = _memory_batch()
    greedy = model.greedy(source, mask, max_length=7, memory=memory)
    beam = model.beam_search(source, mask, beam_size=1, max_length=7, memory=memory)
    assert torch.equal(greedy.tokens, beam.tokens)
    torch.testing.assert_close(greedy.scores, beam.scores)
    assert greedy.weights.shape[-1] == 5 + 8  # source then memory positions
    padded = torch.cat([memory, torch.zeros(3, 2, 3, dtype=torch.long)], 2)  # more padding in every item
    again = model.greedy(source, mask, max_length=7, memory=padded)
    assert torch.equal(greedy.tokens, again.tokens)
    columns = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15]  # the same positions among 5 + 2 * 7
    torch.testing.assert_close(greedy.weights, again.weights[..., columns])
    target_in = torch.randint(3, 12, (3, 4))
    with torch.no_grad():  # the memory is read: another memory, other logits (not for the row without one)
        changed = model(source, mask, target_in, memory=memory) - model(source, mask, target_in, memory=memory.flip(2))
    assert changed[:2].abs().amax() > 1e-4 and changed[2].abs().amax() == 0
    with pytest.raises(ValueError, match="memory ids"):
        model.greedy(source, mask)  # the model was built with a memory
    with pytest.raises(ValueError, match="memory ids"):
        Seq2Seq(10, 12, embedding_size=6, encoder_size=4, decoder_size=5).greedy(source, mask, memory=memory)
    with pytest.raises(ValueError, match="memory must be integer ids"):
        model.greedy(source, mask, memory=memory[:2])
    with pytest.raises(ValueError, match="memory_vocab"):
        Seq2Seq(10, 12, memory_vocab=-1)
    with pytest.raises(ValueError, match="retrieved_size"):
        AttentionDecoderCell(3, 4, 6, retrieved_size=-1)
    with pytest.raises(ValueError, match="retrieved_size > 0"):
        AttentionDecoderCell(3, 4, 6).initial_state(1, memory=torch.zeros(1, 2, 6), retrieved=(torch.zeros(1, 2, 3),) * 3)
    with pytest.raises(ValueError, match="retrieved keys and values"):
        AttentionDecoderCell(3, 4, 6, retrieved_size=2).initial_state(
            1, memory=torch.zeros(1, 2, 6), retrieved=(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.ones(1, 2)))


def test_retrieved_attention_is_finite_on_edge_inputs():
    torch.manual_seed(15)
    model = _memory_model()
    with torch.no_grad():
        model.memory_embedding.weight.mul_(1e4)  # huge memory inputs
    source = torch.tensor([[3, 4], [0, 0]])  # a real word, an all-padding one
    memory = torch.tensor([[3, 4, 5], [0, 0, 0]])  # a memory, none
    logits = model(source, source != 0, torch.tensor([[1, 3], [1, 4]]), memory=memory)
    logits.sum().backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    decoded = model.eval().beam_search(source, source != 0, beam_size=2, max_length=3, memory=memory)
    assert torch.isfinite(decoded.scores).all() and torch.all(decoded.weights[1] == 0)


def test_learns_to_copy_from_the_retrieved_memory():
    """Look-up by key: two retrieved items ``[key, 1-4 values]`` with different keys, the source is one
    of the keys, the target the values of its item: only the retrieved attention can answer (the items
    are told apart by content). Exact match > 90% after 400 batches (eager, one core, ~8 s), with the
    attention's mass on the asked item."""
    torch.manual_seed(8)
    g = torch.Generator().manual_seed(8)
    V, R = 12, 5  # keys 3..5, values 6..11

    def batch(n):
        lengths = torch.randint(2, R + 1, (n, 2), generator=g)
        values = torch.randint(6, V, (n, 2, R - 1), generator=g)
        keys = torch.stack([torch.randperm(3, generator=g)[:2] + 3 for _ in range(n)])  # two different keys
        items = torch.cat([keys[..., None], values], -1).masked_fill(torch.arange(R) >= lengths[..., None], 0)
        which = torch.randint(0, 2, (n,), generator=g)
        copied, keep = items[torch.arange(n), which, 1:], lengths[torch.arange(n), which] - 1
        target_out = torch.cat([copied, torch.zeros(n, 1, dtype=torch.long)], 1)
        target_out[torch.arange(n), keep] = 2  # end token
        target_in = torch.cat([torch.ones(n, 1, dtype=torch.long), copied], 1)
        source = keys[torch.arange(n), which][:, None]
        return source, source != 0, items, which, target_in, target_out

    model = Seq2Seq(V, V, embedding_size=16, encoder_size=16, decoder_size=48, input_feeding=False,
                    memory_vocab=V, memory_encoder_size=24)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        source, mask, memory, _, target_in, target_out = batch(64)
        logits = model(source, mask, target_in, memory=memory)
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), target_out, ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    source, mask, memory, which, _, target_out = batch(500)
    decoded = model.greedy(source, mask, max_length=R + 1, memory=memory)
    L = decoded.tokens.shape[1]
    padded = torch.nn.functional.pad(target_out, (0, max(0, L - target_out.shape[1])))[:, :L]
    exact = (decoded.tokens == padded).all(1).float().mean().item()
    assert exact > 0.9, exact
    # weights: [the source position, item 1's R positions, item 2's]: the copying steps read the asked item
    steps = torch.arange(L)[None] < target_out.ne(0).sum(1, keepdim=True) - 1  # [B, L] steps before the end
    on_item = decoded.weights[:, :, 1:].unflatten(-1, (2, R)).sum(-1)  # [B, L, 2]
    asked = on_item[torch.arange(500), :, which]  # [B, L]
    assert asked[steps].mean() > 0.9, asked[steps].mean()


def test_encoding_by_length_groups_equals_the_plain_encoder():
    """_encode_by_length (rows grouped by length, each group cut to its longest row) = the encoder on
    the padded batch, values and gradients; all-padding rows stay zero."""
    from augrnn.nn.seq2seq import _encode_by_length

    torch.manual_seed(16)
    enc = BiRNNEncoder(3, 4).double()
    lengths = [7, 1, 3, 0, 5, 2, 7, 4, 6, 1]
    mask = _mask(lengths, 7)
    x = torch.randn(10, 7, 3, dtype=D64, requires_grad=True)
    plain = enc(x, mask).outputs
    grouped = _encode_by_length(enc, x, mask, groups=3)
    torch.testing.assert_close(grouped, plain)
    assert torch.all(grouped[3] == 0)
    weights = torch.randn_like(plain)
    a = torch.autograd.grad((plain * weights).sum(), [x] + list(enc.parameters()))
    b = torch.autograd.grad((_encode_by_length(enc, x, mask, groups=3) * weights).sum(), [x] + list(enc.parameters()))
    for ga, gb in zip(a, b):
        torch.testing.assert_close(ga, gb)
