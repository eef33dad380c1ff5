"""The compiled step (torch.compile of one NTM step) agrees with the eager model.

On the CPU the NTM's fast path is its fused C++ kernel (tests/nn/test_nn_fused_ntm.py);
here that kernel is switched off (``AUGRNN_DISABLE_FUSED=1``), so ``fast=True`` runs the
compiled step, which is also what a GPU or another controller gets.

One small configuration only: compiling costs tens of seconds on a cold cache,
and a compiled step is reused for every sequence length with the same batch size.
"""

from __future__ import annotations

import pytest
import torch

from augrnn.nn import NTM

CONFIG = dict(controller="lstm", controller_size=8, memory_slots=6, memory_width=4,
              read_heads=2, write_heads=2, shift_range=1, memory_init="learned")
I, O, B = 3, 2, 4


def _max_relative_error(actual, expected):
    scale = expected.abs().max().clamp_min(1e-12)
    return ((actual - expected).abs().max() / scale).item()


@pytest.fixture(scope="module")
def models():
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AUGRNN_DISABLE_COMPILE", raising=False)  # the fast path must really compile here
        mp.setenv("AUGRNN_DISABLE_FUSED", "1")
        torch.manual_seed(1234)
        eager = NTM(I, O, fast=False, **CONFIG)
        fast = NTM(I, O, fast=True, **CONFIG)
        fast.load_state_dict(eager.state_dict())
        yield eager, fast


def _run(model, x, projection, return_trace=False):
    model.zero_grad(set_to_none=True)
    if return_trace:
        y, trace = model(x, return_trace=True)
    else:
        y, trace = model(x), None
    (y * projection).sum().backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    return y.detach(), trace, grads


@pytest.mark.parametrize("T", [7, 3, 7])
def test_fast_path_matches_eager(models, T):
    eager, fast = models
    x = torch.randn(B, T, I)
    projection = torch.randn(B, T, O)
    y_eager, trace_eager, g_eager = _run(eager, x, projection, return_trace=(T == 3))
    y_fast, trace_fast, g_fast = _run(fast, x, projection, return_trace=(T == 3))

    assert y_fast.shape == (B, T, O)
    assert _max_relative_error(y_fast, y_eager) <= 1e-5
    assert g_fast.keys() == g_eager.keys()
    assert len(g_eager) == len(list(eager.parameters()))
    for name in g_eager:
        assert torch.isfinite(g_fast[name]).all(), name
        assert g_eager[name].abs().max() > 0, name  # a real comparison, not 0 == 0
        assert _max_relative_error(g_fast[name], g_eager[name]) <= 1e-5, name
    if trace_eager is not None:
        assert type(trace_fast) is type(trace_eager)
        for field in ("memory", "read_weights", "write_weights", "reads"):
            a, b = getattr(trace_fast, field), getattr(trace_eager, field)
            assert a.shape == b.shape, field
            assert _max_relative_error(a.detach(), b.detach()) <= 1e-5, field


def test_fast_path_compiles_once_for_every_length(models):
    """The step really is compiled, and a new sequence length reuses the graph."""
    counters = pytest.importorskip("torch._dynamo.utils").counters
    eager, fast = models
    fast(torch.randn(B, 2, I)).sum().backward()  # warm (already compiled by the tests above)
    graphs = counters["stats"]["unique_graphs"]
    assert graphs >= 1
    for T in (5, 1, 9):
        fast(torch.randn(B, T, I)).sum().backward()
    assert counters["stats"]["unique_graphs"] == graphs


def test_fast_path_does_not_change_parameters(models):
    eager, fast = models
    for (name, p), q in zip(eager.named_parameters(), fast.parameters()):
        assert torch.equal(p, q), name
