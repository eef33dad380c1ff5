"""Reading from and writing to an external memory, Graves et al. 2014 §3.1–3.2.

==============  =========  =============================================
function        equation   math
==============  =========  =============================================
``read``        (2)        r = Σ_i w(i) M(i)
``write``       (3), (4)   M(i) ← M(i) ⊙ (1 − w(i) e) + w(i) a
``write_heads`` §3.2       all heads erase, then all heads add (order-free)
==============  =========  =============================================

Letters: N memory slots, W word width, H heads. Leading dims broadcast, so a
stack of heads ``w [..., H, N]`` reads a shared memory ``M.unsqueeze(-3)``.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["read", "write", "write_heads"]


def read(memory: Tensor, w: Tensor) -> Tensor:
    """Read vector, eq. (2): the attention-weighted sum of memory rows.

    Args:
        memory: ``[..., N, W]`` memory M_t.
        w: ``[..., N]`` read weighting w_t.

    Returns:
        ``[..., W]`` read vector r_t.
    """
    return (w.unsqueeze(-2) @ memory).squeeze(-2)


def write(memory: Tensor, w: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """One head's write, eqs. (3)–(4): erase then add.

    With ``erase`` in ``[0, 1]`` and ``w`` a distribution, each row becomes a
    convex combination of its old value and the add vector when ``erase = 1``.

    Args:
        memory: ``[..., N, W]`` memory M_{t−1}.
        w: ``[..., N]`` write weighting w_t.
        erase: ``[..., W]`` erase vector e_t, entries in ``[0, 1]``.
        add: ``[..., W]`` add vector a_t.

    Returns:
        ``[..., N, W]`` memory M_t.
    """
    w = w.unsqueeze(-1)  # [..., N, 1]
    return memory * (1 - w * erase.unsqueeze(-2)) + w * add.unsqueeze(-2)


def write_heads(memory: Tensor, w: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """Several heads write at once, §3.2: erasures multiply, additions sum.

    ``M(i) ← M(i) ⊙ Π_h (1 − w_h(i) e_h) + Σ_h w_h(i) a_h``. With one head this
    is exactly :func:`write`.

    Args:
        memory: ``[..., N, W]`` memory M_{t−1}.
        w: ``[..., H, N]`` write weightings, one row per head.
        erase: ``[..., H, W]`` erase vectors.
        add: ``[..., H, W]`` add vectors.

    Returns:
        ``[..., N, W]`` memory M_t.
    """
    if w.shape[-2] == 1 and erase.shape[-2] == 1 and add.shape[-2] == 1:
        # One head: no product over heads and no [N, 1] @ [1, W] matmul, which
        # compiles to simpler kernels (and fewer saved tensors) than the general form.
        return write(memory, w.squeeze(-2), erase.squeeze(-2), add.squeeze(-2))
    keep = (1 - w.unsqueeze(-1) * erase.unsqueeze(-2)).prod(dim=-3)  # [..., N, W]
    added = w.transpose(-1, -2) @ add  # [..., N, H] @ [..., H, W] -> [..., N, W]
    return memory * keep + added
