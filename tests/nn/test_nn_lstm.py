"""The LSTM baseline: same sequence interface as NTM."""

from __future__ import annotations

import pytest
import torch

from augrnn.nn import LSTM

I, O, C, B, T = 5, 3, 7, 2, 6


@pytest.mark.parametrize("num_layers", [1, 3])
def test_lstm_shapes_and_trace(num_layers):
    model = LSTM(I, O, hidden_size=C, num_layers=num_layers)
    x = torch.randn(B, T, I)
    y = model(x)
    assert y.shape == (B, T, O)
    y2, trace = model(x, return_trace=True)
    torch.testing.assert_close(y2, y, rtol=0, atol=0)
    assert isinstance(trace, tuple) and hasattr(trace, "_fields")
    assert trace.hidden.shape == (B, T, C)
    # The logits are the read-out of the traced top-layer hidden state.
    torch.testing.assert_close(model.output(trace.hidden), y)


def test_lstm_matches_torch_lstm_loop():
    """Batch-first and causal: the same as stepping nn.LSTMCell with the same weights."""
    model = LSTM(I, O, hidden_size=C, num_layers=1)
    cell = torch.nn.LSTMCell(I, C)
    with torch.no_grad():
        cell.weight_ih.copy_(model.lstm.weight_ih_l0)
        cell.weight_hh.copy_(model.lstm.weight_hh_l0)
        cell.bias_ih.copy_(model.lstm.bias_ih_l0)
        cell.bias_hh.copy_(model.lstm.bias_hh_l0)
    x = torch.randn(B, T, I)
    _, trace = model(x, return_trace=True)
    h = c = torch.zeros(B, C)
    for t in range(T):
        h, c = cell(x[:, t], (h, c))
        torch.testing.assert_close(trace.hidden[:, t], h, rtol=1e-5, atol=1e-6)


def test_lstm_gradients_finite_and_nonzero():
    model = LSTM(I, O, hidden_size=C, num_layers=2)
    for x in (torch.randn(B, T, I), torch.zeros(B, T, I), 1e4 * torch.randn(B, T, I)):
        model.zero_grad()
        y = model(x)
        assert torch.isfinite(y).all()
        (y * torch.randn_like(y)).sum().backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.output.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("shape", [(B, I), (B, T, I + 1), (B, T, I, 1)])
def test_lstm_rejects_wrong_input_shape(shape):
    with pytest.raises(ValueError, match="LSTM"):
        LSTM(I, O, hidden_size=C)(torch.zeros(shape))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(input_size=0), "input_size"),
        (dict(output_size=0), "output_size"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(num_layers=0), "num_layers"),
    ],
)
def test_lstm_rejects_bad_arguments(kwargs, name):
    args = dict(input_size=I, output_size=O, hidden_size=C, num_layers=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        LSTM(**args)


def test_lstm_float64_and_fast_flag():
    model = LSTM(I, O, hidden_size=C, num_layers=1, fast=True).double()
    y = model(torch.randn(B, T, I, dtype=torch.float64))
    assert y.dtype == torch.float64 and y.shape == (B, T, O)
