"""The NTM's fused C++ kernel (augrnn.nn.fused_ntm) against the step-by-step eager cell.

Three ways: exact agreement with the eager NTM (float64 to rounding, float32 within 1e-5,
outputs, every parameter's gradient, the trace and the final state, gradients entering
through the trace and the final state too) plus ``gradcheck``; finite values and
gradients on edge inputs; and where the kernel applies (LSTM controller, CPU, float) and
where ``unroll`` falls back to the compiled step. The learns-the-task test of the NTM
(tests/train) trains with the default fast path, so it runs through this kernel.

The first test in a fresh environment builds the kernel (about a minute).
"""

from __future__ import annotations

import shutil

import pytest
import torch

from augrnn.nn import NTM
from augrnn.nn import fused_ntm
from augrnn.nn.recurrent import unroll

pytestmark = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                                reason="no C++ compiler: the fused kernel cannot be built")

CONFIGS = {
    "1+1 heads": dict(controller_size=8, memory_slots=6, memory_width=4, read_heads=1, write_heads=1),
    "2+2 heads, learned memory": dict(controller_size=8, memory_slots=6, memory_width=4, read_heads=2,
                                      write_heads=2, memory_init="learned"),
    "one slot, shift range 2": dict(controller_size=5, memory_slots=1, memory_width=3, read_heads=2,
                                    write_heads=3, shift_range=2, memory_init="random"),
    "no write head": dict(controller_size=6, memory_slots=5, memory_width=3, read_heads=1, write_heads=0),
    "wide memory": dict(controller_size=7, memory_slots=19, memory_width=11, read_heads=1, write_heads=1),
}
I, O, B, T = 3, 2, 4, 6


@pytest.fixture(autouse=True)
def _kernel_on(monkeypatch):
    monkeypatch.delenv("AUGRNN_DISABLE_COMPILE", raising=False)
    monkeypatch.delenv("AUGRNN_DISABLE_FUSED", raising=False)
    assert fused_ntm.load_kernel() is not None, fused_ntm._KERNEL_ERROR


def _relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def _run(model, runner, x, weights):
    """Forward + a loss that reaches outputs, the trace's read weights and the final memory."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(5)  # the same initial state for both runs ("random" memory is a fresh draw)
    state = model.cell.initial_state(x.shape[0], dtype=x.dtype)
    result = runner(model.cell, x, state, return_trace=True)
    loss = ((result.outputs * weights).sum() + result.trace.read_weights.square().sum()
            + 0.5 * result.state.memory.sum() + 0.1 * result.trace.controller[1].sum())
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return result, grads


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_matches_eager(name, dtype, tolerance):
    torch.manual_seed(0)
    model = NTM(I, O, **CONFIGS[name]).to(dtype)
    x = torch.randn(B, T, I, dtype=dtype)
    weights = torch.randn(B, T, O, dtype=dtype)
    eager, g_eager = _run(model, lambda *a, **k: unroll(*a, **k, fast=False), x, weights)
    fused, g_fused = _run(model, fused_ntm.fused_unroll, x, weights)

    assert fused.outputs.shape == eager.outputs.shape == (B, T, O)
    assert _relative_error(fused.outputs, eager.outputs) <= tolerance
    for field in ("memory", "read_weights", "write_weights", "reads"):
        for a, b in ((getattr(fused.trace, field), getattr(eager.trace, field)),
                     (getattr(fused.state, field), getattr(eager.state, field))):
            assert a.shape == b.shape, field
            if b.numel():
                assert _relative_error(a.detach(), b.detach()) <= tolerance, field
    for a, b in zip(fused.state.controller, eager.state.controller):
        assert _relative_error(a.detach(), b.detach()) <= tolerance
    assert g_fused.keys() == g_eager.keys()
    for param, grad in g_eager.items():
        assert grad.abs().max() > 0, param  # a real comparison, not 0 == 0
        assert _relative_error(g_fused[param], grad) <= tolerance, param


def test_fused_gradients_reach_the_initial_state():
    """A state carried in from an earlier chunk (truncated BPTT) gets its gradient."""
    torch.manual_seed(1)
    model = NTM(I, O, **CONFIGS["2+2 heads, learned memory"]).double()
    x = torch.randn(B, T, I, dtype=torch.float64)
    grads = []
    for runner in (lambda *a, **k: unroll(*a, **k, fast=False), fused_ntm.fused_unroll):
        state = model.cell.initial_state(B, dtype=torch.float64)
        state = type(state)(*(s.detach().requires_grad_() for s in state[:4]),
                            tuple(c.detach().requires_grad_() for c in state.controller))
        runner(model.cell, x, state).outputs.square().sum().backward()
        grads.append([s.grad for s in state[:4]] + [c.grad for c in state.controller])
    for a, b in zip(*grads):
        assert _relative_error(a, b) <= 1e-12


def test_fused_gradcheck():
    torch.manual_seed(2)
    model = NTM(2, 2, controller_size=3, memory_slots=4, memory_width=3, read_heads=1, write_heads=1).double()
    cell = model.cell
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    memory = (0.5 * torch.randn(2, 4, 3, dtype=torch.float64)).requires_grad_()

    def run(x, memory):
        state = cell.initial_state(2, dtype=torch.float64)._replace(memory=memory)
        result = fused_ntm.fused_unroll(cell, x, state, return_trace=True)
        return result.outputs, result.trace.write_weights, result.state.memory

    assert torch.autograd.gradcheck(run, (x, memory), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", ["zero inputs and memory", "huge logits", "one slot"])
def test_fused_is_finite_on_edge_inputs(case):
    torch.manual_seed(3)
    slots = 1 if case == "one slot" else 8
    model = NTM(I, O, controller_size=6, memory_slots=slots, memory_width=4, read_heads=2, write_heads=1)
    x = torch.zeros(B, T, I) if case == "zero inputs and memory" else torch.randn(B, T, I)
    state = model.cell.initial_state(B)
    if case == "zero inputs and memory":
        state = state._replace(memory=torch.zeros_like(state.memory))
    if case == "huge logits":
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1e3)
    result = fused_ntm.fused_unroll(model.cell, x, state, return_trace=True)
    (result.outputs.sum() + result.trace.read_weights.sum()).backward()
    assert torch.isfinite(result.outputs).all()
    assert torch.isfinite(result.trace.memory).all()
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_unroll_uses_the_kernel_where_it_applies(monkeypatch):
    model = NTM(I, O, fast=True, controller_size=6, memory_slots=5, memory_width=3)
    x = torch.randn(B, T, I)
    calls = []
    original = fused_ntm._NTMSequence.apply
    monkeypatch.setattr(fused_ntm._NTMSequence, "apply", lambda *a: calls.append(1) or original(*a))
    model(x)
    assert calls == [1]
    monkeypatch.setenv("AUGRNN_DISABLE_FUSED", "1")
    assert not fused_ntm.fused_available(model.cell, x)


@pytest.mark.parametrize("case", ["gru controller", "bfloat16", "empty sequence"])
def test_fused_declines_what_it_does_not_cover(case):
    kwargs = dict(controller_size=6, memory_slots=5, memory_width=3)
    model = NTM(I, O, controller="gru" if case == "gru controller" else "lstm", **kwargs)
    x = torch.randn(B, 0 if case == "empty sequence" else T, I)
    if case == "bfloat16":
        model, x = model.bfloat16(), x.bfloat16()
    assert fused_ntm.fused_unroll(model.cell, x, None) is None
