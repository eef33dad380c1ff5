"""augrnn.functional against explicit float64 loops written from Graves et al. 2014, §3.

Each ``ref_*`` below works on plain Python lists of floats (one example, no
broadcasting, no torch) and transcribes one equation of the paper:

* eq. (2)      read          r = Σ_i w(i) M(i)
* eqs. (3)-(4) write         M(i) ← M(i) ⊙ (1 − w(i) e) + w(i) a
* §3.2         write_heads   M(i) ← M(i) ⊙ Π_h (1 − w_h(i) e_h) + Σ_h w_h(i) a_h
* eq. (6)      cosine        K(u, v) = u·v / (|u| |v|)
* eq. (5)      content       w^c(i) = exp(β K(k, M(i))) / Σ_j exp(β K(k, M(j)))
* eq. (7)      interpolate   w^g = g w^c + (1 − g) w_prev
* eq. (8)      circular_shift w̃(i) = Σ_j w(j) s(i − j mod N)
* eq. (9)      sharpen       w(i) = w̃(i)^γ / Σ_j w̃(j)^γ

:func:`_batched` broadcasts the leading dims and loops over them in Python, so
the tensors under test may carry any leading shape.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import augrnn.functional as AF

F64 = torch.float64


# --------------------------------------------------------------------------------------
# Reference implementations: one example, plain Python floats.
# --------------------------------------------------------------------------------------


def ref_cosine(M, k):
    """eq. (6) for every row of M; both vectors are assumed non-zero."""
    k_norm = math.sqrt(sum(x * x for x in k))
    out = []
    for row in M:
        dot = sum(a * b for a, b in zip(row, k))
        row_norm = math.sqrt(sum(a * a for a in row))
        out.append(dot / (k_norm * row_norm))
    return out


def ref_content(M, k, beta):
    """eq. (5)."""
    e = [math.exp(beta * K) for K in ref_cosine(M, k)]
    total = sum(e)
    return [x / total for x in e]


def ref_interpolate(wc, wp, g):
    """eq. (7)."""
    return [g * a + (1 - g) * b for a, b in zip(wc, wp)]


def ref_circular_shift(w, s):
    """eq. (8): w̃(i) = Σ_j w(j) s(i − j mod N).

    The kernel s is given over offsets -S//2..S//2 (s[S//2 + k] is offset k); its
    value "at i − j mod N" is the sum of every tap whose offset is congruent to
    i − j modulo N (offsets wider than the memory wrap around).
    """
    N, S = len(w), len(s)
    half = S // 2
    out = [0.0] * N
    for i in range(N):
        for j in range(N):
            s_ij = sum(s[half + k] for k in range(-half, half + 1) if (i - j - k) % N == 0)
            out[i] += w[j] * s_ij
    return out


def ref_sharpen(w, gamma):
    """eq. (9)."""
    p = [x**gamma for x in w]
    total = sum(p)
    return [x / total for x in p]


def ref_address(M, wp, k, beta, g, s, gamma):
    """Figure 2: content → interpolate → shift → sharpen."""
    wc = ref_content(M, k, beta)
    wg = ref_interpolate(wc, wp, g)
    return ref_sharpen(ref_circular_shift(wg, s), gamma)


def ref_read(M, w):
    """eq. (2)."""
    W = len(M[0])
    return [sum(w[i] * M[i][c] for i in range(len(M))) for c in range(W)]


def ref_write(M, w, e, a):
    """eqs. (3)-(4): erase, then add."""
    erased = [[M[i][c] * (1 - w[i] * e[c]) for c in range(len(e))] for i in range(len(M))]
    return [[erased[i][c] + w[i] * a[c] for c in range(len(a))] for i in range(len(M))]


def ref_write_heads(M, w, e, a):
    """§3.2, several heads: erasures multiply, additions sum."""
    H, N, W = len(w), len(M), len(M[0])
    out = []
    for i in range(N):
        row = []
        for c in range(W):
            keep = 1.0
            for h in range(H):
                keep *= 1 - w[h][i] * e[h][c]
            row.append(M[i][c] * keep + sum(w[h][i] * a[h][c] for h in range(H)))
        out.append(row)
    return out


def _batched(ref, args, core_dims):
    """Broadcast the leading dims of ``args`` and apply ``ref`` example by example.

    ``core_dims[n]`` is how many trailing dims of ``args[n]`` belong to one example.
    """
    leads = [a.shape[: a.dim() - c] for a, c in zip(args, core_dims)]
    lead = torch.broadcast_shapes(*leads)
    expanded = [a.expand(tuple(lead) + tuple(a.shape[a.dim() - c :])) for a, c in zip(args, core_dims)]
    outs = []
    for idx in itertools.product(*(range(n) for n in lead)):
        outs.append(ref(*[e[idx].tolist() for e in expanded]))
    t = torch.tensor(outs, dtype=F64)
    return t.reshape(*lead, *t.shape[1:])


# --------------------------------------------------------------------------------------
# Random inputs
# --------------------------------------------------------------------------------------


def _dist(*shape):
    """A random distribution over the last dim, strictly positive."""
    return torch.softmax(torch.randn(*shape, dtype=F64), dim=-1)


def _close(actual, expected, tol=1e-10):
    assert actual.dtype == F64
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol)


# Shapes: (lead_memory, lead_head, N, W). Heads broadcast against memory's leading dims.
SHAPES = [
    pytest.param((), (), 5, 3, id="unbatched"),
    pytest.param((2,), (2,), 4, 6, id="batch"),
    pytest.param((2, 1), (2, 3), 6, 2, id="memory[B,1]-heads[B,H]"),
    pytest.param((3, 2), (3, 2), 1, 4, id="one-slot"),
    pytest.param((), (4,), 7, 5, id="shared-memory"),
]


# --------------------------------------------------------------------------------------
# cosine similarity, content addressing (eqs. 5-6)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead_m, lead_h, N, W", SHAPES)
def test_cosine_similarity_matches_loop(lead_m, lead_h, N, W):
    M = torch.randn(*lead_m, N, W, dtype=F64)
    k = torch.randn(*lead_h, W, dtype=F64)
    # The implementation regularises norms by ~1e-8, so agreement is ~1e-8 relative.
    _close(AF.cosine_similarity(M, k), _batched(ref_cosine, [M, k], [2, 1]), tol=1e-7)


@pytest.mark.parametrize("lead_m, lead_h, N, W", SHAPES)
@pytest.mark.parametrize("beta", [0.0, 0.7, 5.0, 40.0])
def test_content_weights_matches_loop(lead_m, lead_h, N, W, beta):
    M = torch.randn(*lead_m, N, W, dtype=F64)
    k = torch.randn(*lead_h, W, dtype=F64)
    strength = torch.full(lead_h, beta, dtype=F64) * (1 + torch.rand(lead_h, dtype=F64))
    expected = _batched(ref_content, [M, k, strength], [2, 1, 0])
    _close(AF.content_weights(M, k, strength), expected, tol=1e-6)


def test_content_weights_hand_computed():
    M = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]], dtype=F64)  # cos with [1,0]: 1, 0, -1
    k = torch.tensor([1.0, 0.0], dtype=F64)
    e = [math.e, 1.0, 1 / math.e]
    expected = torch.tensor([x / sum(e) for x in e], dtype=F64)
    _close(AF.content_weights(M, k, torch.tensor(1.0, dtype=F64)), expected, tol=1e-7)
    # β = 0 ignores the key: uniform.
    _close(AF.content_weights(M, k, torch.tensor(0.0, dtype=F64)), torch.full((3,), 1 / 3, dtype=F64))


def test_cosine_similarity_hand_computed_and_scale_invariant():
    M = torch.tensor([[3.0, 4.0], [-6.0, -8.0], [4.0, -3.0], [1.0, 1.0]], dtype=F64)
    k = torch.tensor([0.6, 0.8], dtype=F64)
    expected = torch.tensor([1.0, -1.0, 0.0, 1.4 / math.sqrt(2)], dtype=F64)
    _close(AF.cosine_similarity(M, k), expected, tol=1e-7)
    _close(AF.cosine_similarity(10 * M, 7 * k), expected, tol=1e-7)


def test_cosine_similarity_of_zero_vector_is_zero():
    M = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=F64)
    k = torch.tensor([1.0, -1.0, 0.5], dtype=F64)
    sim = AF.cosine_similarity(M, k)
    assert sim[0].item() == 0.0
    assert AF.cosine_similarity(M, torch.zeros(3, dtype=F64)).abs().max().item() == 0.0


def test_cosine_similarity_bounded():
    M = torch.randn(50, 8, 3, dtype=torch.float32) * torch.logspace(-3, 3, 50).view(50, 1, 1)
    k = torch.randn(50, 3, dtype=torch.float32)
    sim = AF.cosine_similarity(M, k)
    assert sim.abs().max().item() <= 1 + 1e-6


def test_content_weights_is_a_distribution_and_prefers_the_match():
    M = torch.randn(4, 10, 6, dtype=F64)
    target = torch.tensor([3, 0, 9, 5])
    k = M[torch.arange(4), target] * 2.5  # a scaled copy of one row: cosine 1
    w = AF.content_weights(M, k, torch.full((4,), 50.0, dtype=F64))
    assert (w >= 0).all()
    _close(w.sum(-1), torch.ones(4, dtype=F64))
    assert torch.equal(w.argmax(-1), target)


# --------------------------------------------------------------------------------------
# interpolation (eq. 7)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", [(), (3,), (2, 4)])
@pytest.mark.parametrize("N", [1, 6])
def test_interpolate_matches_loop(lead, N):
    wc, wp = _dist(*lead, N), _dist(*lead, N)
    g = torch.rand(lead, dtype=F64)
    _close(AF.interpolate(wc, wp, g), _batched(ref_interpolate, [wc, wp, g], [1, 1, 0]))


@pytest.mark.parametrize(
    "g, expected",
    [(0.0, [0.0, 0.0, 1.0]), (1.0, [1.0, 0.0, 0.0]), (0.25, [0.25, 0.0, 0.75])],
)
def test_interpolate_hand_computed(g, expected):
    wc = torch.tensor([1.0, 0.0, 0.0], dtype=F64)
    wp = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    _close(AF.interpolate(wc, wp, torch.tensor(g, dtype=F64)), torch.tensor(expected, dtype=F64))


def test_interpolate_broadcasts_gate_per_head():
    wc, wp = _dist(2, 3, 5), _dist(2, 3, 5)
    g = torch.rand(2, 3, dtype=F64)
    out = AF.interpolate(wc, wp, g)
    for b, h in itertools.product(range(2), range(3)):
        _close(out[b, h], g[b, h] * wc[b, h] + (1 - g[b, h]) * wp[b, h])


# --------------------------------------------------------------------------------------
# circular convolution (eq. 8)
# --------------------------------------------------------------------------------------


CIRCULAR_CASES = [
    # (w, s, expected)   s[S//2 + k] is offset +k: weight at slot j moves to slot j + k
    pytest.param([1, 0, 0, 0], [0, 0, 1], [0, 1, 0, 0], id="+1"),
    pytest.param([1, 0, 0, 0], [1, 0, 0], [0, 0, 0, 1], id="-1-wraps"),
    pytest.param([0, 0, 0, 1], [0, 0, 1], [1, 0, 0, 0], id="+1-wraps"),
    pytest.param([0.1, 0.2, 0.3, 0.4], [0, 1, 0], [0.1, 0.2, 0.3, 0.4], id="identity"),
    pytest.param([1, 2, 3, 4], [0.5, 0, 0.5], [3, 2, 3, 2], id="blur"),
    pytest.param([0.2, 0.8, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0.2, 0.8, 0], id="S5+2"),
    pytest.param([0.2, 0.8, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0.2, 0.8], id="S5-2"),
    pytest.param([1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 1], id="S5+2-on-N3"),
    # N = 2, S = 5: offsets -2, 0, +2 land on slot 0, offsets -1, +1 on slot 1.
    pytest.param([1, 0], [0.1, 0.2, 0.3, 0.15, 0.25], [0.65, 0.35], id="S5-on-N2-wraps"),
    pytest.param([1.0], [0.2, 0.5, 0.3], [1.0], id="N1-S3"),
    pytest.param([1.0], [0.1, 0.2, 0.3, 0.2, 0.2], [1.0], id="N1-S5"),
    pytest.param([0.5], [0.2, 0.2, 0.2], [0.3], id="N1-scales-by-sum-s"),
]


@pytest.mark.parametrize("w, s, expected", CIRCULAR_CASES)
def test_circular_shift_hand_computed(w, s, expected):
    w, s, expected = (torch.tensor(v, dtype=F64) for v in (w, s, expected))
    _close(AF.circular_shift(w, s), expected)
    _close(torch.tensor(ref_circular_shift(w.tolist(), s.tolist()), dtype=F64), expected)  # the oracle too


def test_circular_shift_documented_example_float32():
    out = AF.circular_shift(torch.tensor([1.0, 0, 0, 0]), torch.tensor([0.0, 0, 1]))
    assert out.dtype == torch.float32
    assert out.tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("N", [1, 2, 3, 4, 9])
@pytest.mark.parametrize("S", [1, 3, 5, 7])
@pytest.mark.parametrize("lead_w, lead_s", [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((), (4,))])
def test_circular_shift_matches_loop(N, S, lead_w, lead_s):
    w, s = _dist(*lead_w, N), _dist(*lead_s, S)
    _close(AF.circular_shift(w, s), _batched(ref_circular_shift, [w, s], [1, 1]))


def test_circular_shift_preserves_mass():
    w, s = _dist(5, 8), _dist(5, 3)
    _close(AF.circular_shift(w, s).sum(-1), torch.ones(5, dtype=F64))


@pytest.mark.parametrize("S", [0, 2, 4, 6])
def test_circular_shift_rejects_even_kernel(S):
    with pytest.raises(ValueError, match="odd"):
        AF.circular_shift(torch.ones(5) / 5, torch.ones(S) / max(S, 1))


# --------------------------------------------------------------------------------------
# sharpening (eq. 9)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", [(), (3,), (2, 4)])
@pytest.mark.parametrize("N", [1, 5])
@pytest.mark.parametrize("gamma", [1.0, 1.7, 3.0, 20.0])
def test_sharpen_matches_loop(lead, N, gamma):
    w = _dist(*lead, N)
    g = torch.full(lead, gamma, dtype=F64) + torch.rand(lead, dtype=F64)
    _close(AF.sharpen(w, g), _batched(ref_sharpen, [w, g], [1, 0]), tol=1e-9)


@pytest.mark.parametrize(
    "w, gamma, expected",
    [
        ([0.5, 0.25, 0.25], 2.0, [2 / 3, 1 / 6, 1 / 6]),
        ([0.5, 0.25, 0.25], 1.0, [0.5, 0.25, 0.25]),
        ([0.2, 0.2, 0.6], 1.0, [0.2, 0.2, 0.6]),
        ([0.0, 0.5, 0.5], 3.0, [0.0, 0.5, 0.5]),  # exact zeros stay zero
        ([0.0, 1.0, 0.0], 1.0, [0.0, 1.0, 0.0]),
        ([0.1, 0.3], 2.0, [0.1, 0.9]),  # 0.01 : 0.09
        ([1.0, 3.0], 0.5, [1 / (1 + math.sqrt(3)), math.sqrt(3) / (1 + math.sqrt(3))]),  # unnormalised input
    ],
)
def test_sharpen_hand_computed(w, gamma, expected):
    out = AF.sharpen(torch.tensor(w, dtype=F64), torch.tensor(gamma, dtype=F64))
    _close(out, torch.tensor(expected, dtype=F64))


# --------------------------------------------------------------------------------------
# the whole addressing pipeline
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead_m, lead_h, N, W", SHAPES)
@pytest.mark.parametrize("S", [1, 3, 5])
def test_address_matches_loop(lead_m, lead_h, N, W, S):
    M = torch.randn(*lead_m, N, W, dtype=F64)
    wp = _dist(*lead_h, N)
    k = torch.randn(*lead_h, W, dtype=F64)
    beta = 3 * torch.rand(lead_h, dtype=F64)
    g = torch.rand(lead_h, dtype=F64)
    s = _dist(*lead_h, S)
    gamma = 1 + 2 * torch.rand(lead_h, dtype=F64)
    out = AF.address(M, wp, k, beta, g, s, gamma)
    expected = _batched(ref_address, [M, wp, k, beta, g, s, gamma], [2, 1, 1, 0, 0, 1, 0])
    _close(out, expected, tol=1e-6)


def test_address_pure_location_shift():
    """g = 0 ignores the content; a one-hot +1 shift and γ = 1 just moves w_prev."""
    M = torch.randn(6, 3, dtype=F64)
    wp = torch.tensor([0.0, 0.7, 0.3, 0.0, 0.0, 0.0], dtype=F64)
    out = AF.address(
        M,
        wp,
        torch.randn(3, dtype=F64),
        torch.tensor(10.0, dtype=F64),
        torch.tensor(0.0, dtype=F64),
        torch.tensor([0.0, 0.0, 1.0], dtype=F64),
        torch.tensor(1.0, dtype=F64),
    )
    _close(out, torch.tensor([0.0, 0.0, 0.7, 0.3, 0.0, 0.0], dtype=F64))


# --------------------------------------------------------------------------------------
# read and write (eqs. 2-4, §3.2)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("lead_m, lead_h, N, W", SHAPES)
def test_read_matches_loop(lead_m, lead_h, N, W):
    M = torch.randn(*lead_m, N, W, dtype=F64)
    w = _dist(*lead_h, N)
    _close(AF.read(M, w), _batched(ref_read, [M, w], [2, 1]))


def test_read_hand_computed():
    M = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=F64)
    _close(AF.read(M, torch.tensor([0.5, 0.5, 0.0], dtype=F64)), torch.tensor([2.0, 3.0], dtype=F64))
    _close(AF.read(M, torch.tensor([0.0, 0.0, 1.0], dtype=F64)), torch.tensor([5.0, 6.0], dtype=F64))


@pytest.mark.parametrize("lead_m, lead_h, N, W", SHAPES)
def test_write_matches_loop(lead_m, lead_h, N, W):
    M = torch.randn(*lead_m, N, W, dtype=F64)
    w = _dist(*lead_h, N)
    e = torch.rand(*lead_h, W, dtype=F64)
    a = torch.randn(*lead_h, W, dtype=F64)
    _close(AF.write(M, w, e, a), _batched(ref_write, [M, w, e, a], [2, 1, 1, 1]))


def test_write_hand_computed():
    M = torch.ones(2, 2, dtype=F64)
    out = AF.write(
        M,
        torch.tensor([1.0, 0.0], dtype=F64),
        torch.tensor([1.0, 0.0], dtype=F64),
        torch.tensor([2.0, 3.0], dtype=F64),
    )
    _close(out, torch.tensor([[2.0, 4.0], [1.0, 1.0]], dtype=F64))
    # Half a weight, half an erase: 1 * (1 - 0.5 * 0.5) + 0.5 * 4 = 2.75
    out = AF.write(
        torch.ones(1, 1, dtype=F64),
        torch.tensor([0.5], dtype=F64),
        torch.tensor([0.5], dtype=F64),
        torch.tensor([4.0], dtype=F64),
    )
    _close(out, torch.tensor([[2.75]], dtype=F64))


def test_write_does_not_modify_its_input():
    M = torch.randn(3, 4, dtype=F64)
    before = M.clone()
    AF.write(M, _dist(3), torch.rand(4, dtype=F64), torch.randn(4, dtype=F64))
    AF.write_heads(M, _dist(2, 3), torch.rand(2, 4, dtype=F64), torch.randn(2, 4, dtype=F64))
    assert torch.equal(M, before)


@pytest.mark.parametrize("lead", [(), (2,), (3, 2)])
@pytest.mark.parametrize("H", [1, 2, 4])
@pytest.mark.parametrize("N, W", [(1, 3), (5, 4)])
def test_write_heads_matches_loop(lead, H, N, W):
    M = torch.randn(*lead, N, W, dtype=F64)
    w = _dist(*lead, H, N)
    e = torch.rand(*lead, H, W, dtype=F64)
    a = torch.randn(*lead, H, W, dtype=F64)
    _close(AF.write_heads(M, w, e, a), _batched(ref_write_heads, [M, w, e, a], [2, 2, 2, 2]))


@pytest.mark.parametrize("lead", [(), (3,), (2, 2)])
def test_write_heads_with_one_head_equals_write(lead):
    M = torch.randn(*lead, 6, 4, dtype=F64)
    w = _dist(*lead, 1, 6)
    e = torch.rand(*lead, 1, 4, dtype=F64)
    a = torch.randn(*lead, 1, 4, dtype=F64)
    _close(AF.write_heads(M, w, e, a), AF.write(M, w.squeeze(-2), e.squeeze(-2), a.squeeze(-2)))


def test_write_heads_two_heads_erase_product_then_sum():
    B, N, W = 3, 5, 4
    M = torch.randn(B, N, W, dtype=F64)
    w = _dist(B, 2, N)
    e = torch.rand(B, 2, W, dtype=F64)
    a = torch.randn(B, 2, W, dtype=F64)
    # Closed form of §3.2 in tensor ops (independent of write()).
    keep = (1 - w[:, 0, :, None] * e[:, 0, None, :]) * (1 - w[:, 1, :, None] * e[:, 1, None, :])
    added = w[:, 0, :, None] * a[:, 0, None, :] + w[:, 1, :, None] * a[:, 1, None, :]
    expected = M * keep + added
    out = AF.write_heads(M, w, e, a)
    _close(out, expected)
    # Order-free: swapping the heads gives the same memory ...
    _close(AF.write_heads(M, w.flip(1), e.flip(1), a.flip(1)), out)
    # ... and it is not the same as two sequential writes (which erase head 0's add).
    sequential = AF.write(AF.write(M, w[:, 0], e[:, 0], a[:, 0]), w[:, 1], e[:, 1], a[:, 1])
    assert not torch.allclose(out, sequential, atol=1e-6)


def test_write_heads_hand_computed():
    M = torch.tensor([[1.0, 1.0], [2.0, 2.0]], dtype=F64)
    w = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)  # both heads on slot 0
    e = torch.tensor([[0.5, 0.0], [0.5, 1.0]], dtype=F64)
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    # slot 0: [1 * 0.5 * 0.5 + 4, 1 * 1 * 0 + 6] = [4.25, 6]; slot 1 untouched.
    expected = torch.tensor([[4.25, 6.0], [2.0, 2.0]], dtype=F64)
    _close(AF.write_heads(M, w, e, a), expected)


def test_write_heads_with_zero_heads_is_identity():
    M = torch.randn(2, 4, 3, dtype=F64)
    empty_w = torch.zeros(2, 0, 4, dtype=F64)
    empty_v = torch.zeros(2, 0, 3, dtype=F64)
    _close(AF.write_heads(M, empty_w, empty_v, empty_v), M)


# --------------------------------------------------------------------------------------
# dtype
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ops_preserve_dtype(dtype):
    M = torch.randn(2, 5, 3, dtype=dtype)
    w = torch.softmax(torch.randn(2, 5, dtype=dtype), -1)
    k, e, a = torch.randn(2, 3, dtype=dtype), torch.rand(2, 3, dtype=dtype), torch.randn(2, 3, dtype=dtype)
    s = torch.softmax(torch.randn(2, 3, dtype=dtype), -1)
    scalar = torch.rand(2, dtype=dtype) + 1
    outs = [
        AF.cosine_similarity(M, k),
        AF.content_weights(M, k, scalar),
        AF.interpolate(w, w, scalar - 1),
        AF.circular_shift(w, s),
        AF.sharpen(w, scalar),
        AF.address(M, w, k, scalar, scalar - 1, s, scalar),
        AF.read(M, w),
        AF.write(M, w, e, a),
        AF.write_heads(M, w.unsqueeze(1), e.unsqueeze(1), a.unsqueeze(1)),
    ]
    assert all(o.dtype == dtype for o in outs)
