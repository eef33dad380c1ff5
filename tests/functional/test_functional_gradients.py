"""torch.autograd.gradcheck (float64) for every op of augrnn.functional."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

import augrnn.functional as AF

F64 = torch.float64


def _leaf(t):
    return t.detach().to(F64).requires_grad_(True)


def _dist(*shape):
    return torch.softmax(torch.randn(*shape, dtype=F64), dim=-1)


def _inputs(name):
    """Differentiable float64 inputs for one op; leading dims exercise broadcasting."""
    B, H, N, W, S = 2, 3, 5, 4, 3
    if name == "cosine_similarity":
        return AF.cosine_similarity, (torch.randn(B, 1, N, W), torch.randn(B, H, W))
    if name == "content_weights":
        return AF.content_weights, (torch.randn(B, 1, N, W), torch.randn(B, H, W), 2 * torch.rand(B, H))
    if name == "interpolate":
        return AF.interpolate, (_dist(B, H, N), _dist(B, H, N), torch.rand(B, H))
    if name == "circular_shift":
        return AF.circular_shift, (_dist(B, H, N), _dist(B, H, S))
    if name == "circular_shift_S5_N3":
        return AF.circular_shift, (_dist(B, 3), _dist(B, 5))
    if name == "sharpen":
        return AF.sharpen, (_dist(B, H, N), 1 + 2 * torch.rand(B, H))
    if name == "address":
        return AF.address, (
            torch.randn(B, 1, N, W),
            _dist(B, H, N),
            torch.randn(B, H, W),
            2 * torch.rand(B, H),
            torch.rand(B, H),
            _dist(B, H, S),
            1 + 2 * torch.rand(B, H),
        )
    if name == "read":
        return AF.read, (torch.randn(B, 1, N, W), _dist(B, H, N))
    if name == "write":
        return AF.write, (torch.randn(B, N, W), _dist(B, N), torch.rand(B, W), torch.randn(B, W))
    if name == "write_heads":
        return AF.write_heads, (torch.randn(B, N, W), _dist(B, H, N), torch.rand(B, H, W), torch.randn(B, H, W))
    raise KeyError(name)


OPS = [
    "cosine_similarity",
    "content_weights",
    "interpolate",
    "circular_shift",
    "circular_shift_S5_N3",
    "sharpen",
    "address",
    "read",
    "write",
    "write_heads",
]


@pytest.mark.parametrize("name", OPS)
def test_gradcheck(name):
    fn, args = _inputs(name)
    assert gradcheck(fn, tuple(_leaf(a) for a in args), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", ["content_weights", "sharpen", "address", "write_heads"])
def test_gradgradcheck(name):
    fn, args = _inputs(name)
    assert gradgradcheck(fn, tuple(_leaf(a) for a in args), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_gradcheck_one_slot_memory():
    """N = 1: every weighting is [1]; the gradients are (correctly) zero or tiny, but checked."""
    M, wp = torch.randn(2, 1, 3), torch.ones(2, 1)
    args = (M, wp, torch.randn(2, 3), torch.rand(2), torch.rand(2), _dist(2, 5), 1 + torch.rand(2))
    assert gradcheck(AF.address, tuple(_leaf(a) for a in args), eps=1e-6, atol=1e-7)


def test_gradcheck_cosine_at_zero_key_and_zero_row():
    """The ε-regularised norm keeps cosine similarity smooth through the zero vector."""
    M = torch.randn(4, 3, dtype=F64)
    M[1] = 0
    args = (M, torch.zeros(3, dtype=F64))
    assert gradcheck(AF.cosine_similarity, tuple(_leaf(a) for a in args), eps=1e-7, atol=1e-5, rtol=1e-3)


def test_gradients_are_not_trivially_zero():
    """gradcheck passes on a constant function too; make sure gradients actually flow."""
    fn, args = _inputs("address")
    leaves = tuple(_leaf(a) for a in args)
    out = fn(*leaves)
    (out * torch.randn_like(out)).sum().backward()
    for i, leaf in enumerate(leaves):
        assert leaf.grad is not None and leaf.grad.abs().sum() > 0, f"no gradient for argument {i}"
