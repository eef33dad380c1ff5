"""NaN/inf safety of augrnn.functional, in values and in gradients.

Edge cases named by ARCHITECTURE.md: zero vectors, one-slot memories, huge
strengths/logits; plus one-hot weightings sharpened hard, erase = 1 writes and
weightings with exact zeros. Mostly float32, where overflow bites first.
"""

from __future__ import annotations

import pytest
import torch

import augrnn.functional as AF

F32 = torch.float32


def _check_finite(fn, *inputs, dtype=F32):
    """Value and gradient (w.r.t. every input, under a random projection) are finite.

    Returns the output and the input gradients for further checks.
    """
    leaves = [torch.as_tensor(x, dtype=dtype).clone().requires_grad_(True) for x in inputs]
    out = fn(*leaves)
    assert torch.isfinite(out).all(), f"non-finite value: {out}"
    projection = torch.randn(out.shape, dtype=dtype)
    (out * projection).sum().backward()
    grads = [leaf.grad for leaf in leaves]
    for i, g in enumerate(grads):
        assert g is not None, f"no gradient reached input {i}"
        assert torch.isfinite(g).all(), f"non-finite gradient for input {i}: {g}"
    return out.detach(), grads


def _onehot(n, i, *lead):
    w = torch.zeros(*lead, n)
    w[..., i] = 1
    return w


def _dist(*shape):
    return torch.softmax(torch.randn(*shape), -1)


# --------------------------------------------------------------------------------------
# content addressing
# --------------------------------------------------------------------------------------


def _memory_with_zero_rows():
    M = torch.randn(2, 6, 4)
    M[:, [1, 4]] = 0
    return M


CONTENT_CASES = [
    pytest.param(lambda: (torch.randn(2, 6, 4), torch.zeros(2, 4), torch.full((2,), 5.0)), id="zero-key"),
    pytest.param(lambda: (_memory_with_zero_rows(), torch.randn(2, 4), torch.full((2,), 5.0)), id="zero-rows"),
    pytest.param(lambda: (torch.zeros(2, 6, 4), torch.zeros(2, 4), torch.full((2,), 5.0)), id="all-zero"),
    pytest.param(lambda: (torch.zeros(2, 6, 4), torch.randn(2, 4), torch.full((2,), 1e30)), id="zero-memory-1e30"),
    pytest.param(lambda: (torch.randn(2, 1, 4), torch.randn(2, 4), torch.full((2,), 5.0)), id="one-slot"),
    pytest.param(lambda: (torch.zeros(2, 1, 4), torch.zeros(2, 4), torch.full((2,), 1e30)), id="one-slot-zero-1e30"),
    pytest.param(lambda: (torch.randn(2, 6, 4), torch.randn(2, 4), torch.full((2,), 1e6)), id="strength-1e6"),
    pytest.param(lambda: (torch.randn(2, 6, 4), torch.randn(2, 4), torch.full((2,), 1e30)), id="strength-1e30"),
    pytest.param(
        lambda: (torch.randn(2, 1, 4).expand(2, 6, 4), torch.randn(2, 4), torch.full((2,), 1e30)),
        id="tied-rows-1e30",
    ),
    pytest.param(lambda: (torch.randn(2, 6, 4) * 1e-20, torch.randn(2, 4), torch.full((2,), 1e6)), id="tiny-rows"),
    pytest.param(lambda: (torch.randn(2, 6, 4), torch.randn(2, 4), torch.zeros(2)), id="strength-0"),
]


@pytest.mark.parametrize("make", CONTENT_CASES)
def test_content_weights_finite(make):
    w, _ = _check_finite(AF.content_weights, *make())
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))


@pytest.mark.parametrize("make", CONTENT_CASES)
def test_cosine_similarity_finite(make):
    M, k, _ = make()
    sim, _ = _check_finite(AF.cosine_similarity, M, k)
    assert sim.abs().max() <= 1 + 1e-6


def test_content_weights_huge_strength_is_one_hot_at_best_match():
    M = torch.randn(3, 8, 5)
    target = torch.tensor([2, 7, 0])
    k = M[torch.arange(3), target]
    for beta in (1e6, 1e30):
        w = AF.content_weights(M, k, torch.full((3,), beta))
        torch.testing.assert_close(w, torch.nn.functional.one_hot(target, 8).float())


def test_content_weights_zero_key_is_uniform():
    w = AF.content_weights(torch.randn(7, 3), torch.zeros(3), torch.tensor(1e6))
    torch.testing.assert_close(w, torch.full((7,), 1 / 7))


# --------------------------------------------------------------------------------------
# sharpening
# --------------------------------------------------------------------------------------


SHARPEN_CASES = [
    pytest.param(lambda: (_onehot(5, 2, 3), torch.full((3,), 50.0)), id="one-hot-gamma50"),
    pytest.param(lambda: (_onehot(5, 2, 3), torch.full((3,), 1e6)), id="one-hot-gamma1e6"),
    pytest.param(lambda: (_onehot(5, 2, 3), torch.full((3,), 1e30)), id="one-hot-gamma1e30"),
    pytest.param(lambda: (_onehot(1, 0, 3), torch.full((3,), 1e30)), id="one-slot-gamma1e30"),
    pytest.param(lambda: (torch.tensor([[0.0, 0.3, 0.0, 0.7]]), torch.tensor([20.0])), id="exact-zeros"),
    pytest.param(lambda: (torch.tensor([[0.0, 0.3, 0.0, 0.7]]), torch.tensor([1.0])), id="exact-zeros-gamma1"),
    pytest.param(lambda: (torch.tensor([[0.0, 0.5, 0.0, 0.5]]), torch.tensor([1e30])), id="tie-gamma1e30"),
    pytest.param(lambda: (torch.full((2, 4), 0.25), torch.full((2,), 1e6)), id="uniform-gamma1e6"),
    pytest.param(lambda: (torch.zeros(2, 4), torch.full((2,), 5.0)), id="all-zero"),
    pytest.param(lambda: (torch.tensor([[1e-30, 1e-38, 1.0]]), torch.tensor([100.0])), id="tiny-values"),
    pytest.param(lambda: (torch.tensor([[1e-45, 2e-45, 0.0]]), torch.tensor([3.0])), id="subnormals"),
    pytest.param(lambda: (_dist(3, 6), torch.full((3,), 1e30)), id="random-gamma1e30"),
]


@pytest.mark.parametrize("make", SHARPEN_CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sharpen_finite(make, dtype):
    w, gamma = make()
    out, _ = _check_finite(AF.sharpen, w, gamma, dtype=dtype)
    assert (out >= 0).all()
    torch.testing.assert_close(out.sum(-1), torch.ones(out.shape[:-1], dtype=dtype))


def test_sharpen_huge_gamma_picks_the_largest():
    w = torch.tensor([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    for gamma in (1e6, 1e30):
        out = AF.sharpen(w, torch.full((2,), gamma))
        torch.testing.assert_close(out, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))


def test_sharpen_keeps_exact_zeros_at_zero():
    out = AF.sharpen(torch.tensor([0.0, 0.3, 0.0, 0.7]), torch.tensor(2.0))
    assert out[0].item() == 0.0 and out[2].item() == 0.0
    torch.testing.assert_close(out[[1, 3]], torch.tensor([0.09, 0.49]) / 0.58)


# --------------------------------------------------------------------------------------
# circular shift on tiny memories
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("S", [1, 3, 5, 7])
@pytest.mark.parametrize("N", [1, 2])
def test_circular_shift_small_memory_finite(N, S):
    w, s = _dist(3, N), _dist(3, S)
    out, _ = _check_finite(AF.circular_shift, w, s)
    torch.testing.assert_close(out.sum(-1), torch.ones(3))
    if N == 1:
        torch.testing.assert_close(out, torch.ones(3, 1))


def test_circular_shift_with_exact_zero_weights():
    out, grads = _check_finite(AF.circular_shift, _onehot(6, 0, 2), torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    torch.testing.assert_close(out, torch.stack([_onehot(6, 1), _onehot(6, 5)]))


# --------------------------------------------------------------------------------------
# the whole pipeline
# --------------------------------------------------------------------------------------


ADDRESS_CASES = {
    # name: (N, S, memory, key, strength, gamma, w_prev)
    "one-slot-S3": (1, 3, "randn", "randn", 5.0, 2.0, "dist"),
    "one-slot-S5": (1, 5, "randn", "randn", 5.0, 2.0, "dist"),
    "one-slot-zero-huge": (1, 5, "zeros", "zeros", 1e30, 1e30, "dist"),
    "zero-key": (6, 3, "randn", "zeros", 5.0, 2.0, "dist"),
    "zero-memory": (6, 3, "zeros", "randn", 5.0, 2.0, "dist"),
    "huge-strength-1e6": (6, 3, "randn", "randn", 1e6, 2.0, "dist"),
    "huge-strength-1e30": (6, 3, "randn", "randn", 1e30, 2.0, "dist"),
    "huge-gamma-1e6": (6, 3, "randn", "randn", 5.0, 1e6, "dist"),
    "huge-gamma-1e30": (6, 3, "randn", "randn", 5.0, 1e30, "dist"),
    "huge-both-1e30": (6, 3, "randn", "randn", 1e30, 1e30, "onehot"),
    "one-hot-prev-huge-gamma": (6, 3, "randn", "randn", 5.0, 1e6, "onehot"),
    "two-slots-S5": (2, 5, "randn", "randn", 1e30, 1e30, "onehot"),
}


@pytest.mark.parametrize("name", list(ADDRESS_CASES))
@pytest.mark.parametrize("gate", [0.0, 0.5, 1.0])
def test_address_finite(name, gate):
    N, S, mem, key, strength, gamma, prev = ADDRESS_CASES[name]
    B, H, W = 2, 3, 4
    M = torch.randn(B, 1, N, W) if mem == "randn" else torch.zeros(B, 1, N, W)
    k = torch.randn(B, H, W) if key == "randn" else torch.zeros(B, H, W)
    wp = _dist(B, H, N) if prev == "dist" else _onehot(N, N - 1, B, H)
    s = _dist(B, H, S)
    w, _ = _check_finite(
        AF.address,
        M,
        wp,
        k,
        torch.full((B, H), strength),
        torch.full((B, H), gate),
        s,
        torch.full((B, H), gamma),
    )
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(B, H))
    if N == 1:
        torch.testing.assert_close(w, torch.ones(B, H, 1))


# --------------------------------------------------------------------------------------
# reading and writing
# --------------------------------------------------------------------------------------


def test_write_erase_one_replaces_the_row():
    M = torch.randn(2, 5, 3)
    w = _onehot(5, 3, 2)
    a = torch.randn(2, 3)
    out, _ = _check_finite(AF.write, M, w, torch.ones(2, 3), a)
    assert torch.equal(out[:, 3], a)
    assert torch.equal(out[:, [0, 1, 2, 4]], M[:, [0, 1, 2, 4]])


def test_write_heads_erase_one_and_exact_zero_weights():
    M = torch.randn(2, 5, 3)
    w = torch.stack([_onehot(5, 0, 2), torch.zeros(2, 5)], dim=1)  # head 1 writes nowhere
    e = torch.ones(2, 2, 3)
    a = torch.randn(2, 2, 3)
    out, _ = _check_finite(AF.write_heads, M, w, e, a)
    torch.testing.assert_close(out[:, 0], a[:, 0])
    torch.testing.assert_close(out[:, 1:], M[:, 1:])


def test_write_heads_one_slot_erase_one():
    out, _ = _check_finite(AF.write_heads, torch.randn(2, 1, 3), torch.ones(2, 3, 1), torch.ones(2, 3, 3), torch.randn(2, 3, 3))
    assert out.shape == (2, 1, 3)


def test_read_with_zero_weights_and_zero_memory():
    out, _ = _check_finite(AF.read, torch.randn(2, 4, 3), torch.zeros(2, 4))
    assert torch.equal(out, torch.zeros(2, 3))
    out, _ = _check_finite(AF.read, torch.zeros(2, 1, 3), torch.ones(2, 1))
    assert torch.equal(out, torch.zeros(2, 3))
