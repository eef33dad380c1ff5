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
    target_in = torch.randint(3, 9, (3, 4))
    results = []
    for return_trace in (False, True):  # the trace asks for the step-by-step path
        model.zero_grad()
        logits = model(source, source != 0, target_in, return_trace=return_trace)
        logits = logits[0] if return_trace else logits
        logits.square().sum().backward()
        results.append((logits.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-12, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    state = model.encode(source, source != 0)
    x = torch.randn(3, 4, 5, dtype=D64, requires_grad=True)
    outputs, weights = model.decoder.forward_sequence(x, state)
    _, trace = unroll(model.decoder, x, state, return_trace=True)[1:]
    torch.testing.assert_close(weights, trace.weights)
    assert torch.all(weights[1, :, 2:] == 0) and torch.all(weights[2, :, 1:] == 0)  # never on padding
    assert torch.autograd.gradcheck(lambda x: model.decoder.forward_sequence(x, state)[0], (x,))


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
