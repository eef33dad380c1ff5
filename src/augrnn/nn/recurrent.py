"""Running a recurrent cell over a sequence, eagerly or on the fast path.

Every recurrent core in augrnn follows :class:`torch.nn.LSTMCell`'s contract,
``cell(x_t [B, I], state=None) -> (y_t [B, O], state)``, with a NamedTuple state.
:func:`unroll` is the one place that turns such a cell into a sequence model, and
the one place that owns the fast path: with ``fast=True`` each time step runs
as a single :func:`torch.compile`-d graph (forward and backward fused per
step), compiled once per cell and reused for every sequence length, because the
loop over time stays in Python and only the step is compiled. A cell can also
bring a hand-written kernel for the whole sequence (``cell.fused_unroll``, see
:mod:`augrnn.nn.fused_ntm`); ``unroll`` prefers it where it applies.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor, nn

__all__ = ["unroll", "stack_states", "compiled_step", "Unrolled"]

_COMPILED: "weakref.WeakKeyDictionary[nn.Module, Callable]" = weakref.WeakKeyDictionary()


class Unrolled(NamedTuple):
    """What :func:`unroll` returns."""

    outputs: Tensor  # [B, T, O]
    state: Any  # the state after the last step
    trace: Any  # the per-step states stacked on dim 1 ([B, T, ...]), or None


def compiled_step(cell: nn.Module) -> Callable:
    """The cell's ``forward`` compiled as one fused step (cached per cell).

    Shapes are static (``dynamic=False``): a step is specialised to its batch
    size, and a new batch size compiles once more. Inductor's on-disk caches
    (``TORCHINDUCTOR_CACHE_DIR``, default under the system temp dir) make the
    second process start warm.

    On CPU the step uses inductor's C++ wrapper (``cpp_wrapper``): a step is
    ~60 small kernels and buffers, and launching them from generated Python
    costs as much as the arithmetic at batch 32. Set ``AUGRNN_CPP_WRAPPER=0``
    to fall back to the Python wrapper (e.g. without a working C++ toolchain).
    """
    step = _COMPILED.get(cell)
    if step is None:
        param = next(cell.parameters(), None)
        on_cpu = param is None or param.device.type == "cpu"
        options = {"cpp_wrapper": True} if on_cpu and _cpp_wrapper_enabled() else None
        step = torch.compile(cell.forward, dynamic=False, fullgraph=True, options=options)
        _COMPILED[cell] = step
    return step


def stack_states(states: list, dim: int = 1) -> Any:
    """Stack a list of (nested) NamedTuple states along ``dim``, field by field."""
    first = states[0]
    if isinstance(first, Tensor):
        return torch.stack(states, dim=dim)
    if isinstance(first, tuple):
        fields = [stack_states([s[i] for s in states], dim) for i in range(len(first))]
        return type(first)(*fields) if hasattr(first, "_fields") else tuple(fields)
    return first


def unroll(
    cell: nn.Module,
    inputs: Tensor,
    state: Any = None,
    *,
    fast: bool = False,
    return_trace: bool = False,
) -> Unrolled:
    """Run ``cell`` over a batch-first sequence.

    Args:
        cell: a recurrent core with the LSTMCell contract and ``initial_state``.
        inputs: ``[B, T, I]`` batch-first inputs.
        state: the state before the first step; ``None`` asks the cell for its
            initial state on ``inputs``' device and dtype.
        fast: run each step through :func:`compiled_step`.
        return_trace: also return every step's state, stacked on dim 1.

    Returns:
        :class:`Unrolled` ``(outputs [B, T, O], state, trace or None)``.
    """
    if inputs.dim() != 3:
        raise ValueError(
            f"{type(cell).__name__}: expected batch-first inputs of shape [batch, time, features], "
            f"got {list(inputs.shape)}"
        )
    batch = inputs.shape[0]
    if state is None:
        state = cell.initial_state(batch, device=inputs.device, dtype=inputs.dtype)
    step = cell
    if fast and not _compile_disabled():
        # A cell may own a whole-sequence kernel (the NTM's, on the CPU); it returns
        # None where it does not apply, and the step is compiled instead.
        fused = getattr(cell, "fused_unroll", None)
        result = fused(inputs, state, return_trace=return_trace) if fused is not None else None
        if result is not None:
            return result
        step = compiled_step(cell)
        if torch.is_grad_enabled() and any(p.requires_grad for p in cell.parameters()):
            state = _requires_grad_like_later_steps(state)
    outputs, states = [], []
    # Time-major and freshly laid out, so every x_t has the same strides whatever T
    # is (a compiled step guards on strides: [:, t] views would recompile per
    # length). Not ``.contiguous()``: with batch 1 it keeps the transposed view,
    # whose batch stride (ignored for a size-1 dim by contiguity) still grows with T.
    time_major = torch.empty(
        (inputs.shape[1], batch, inputs.shape[2]), device=inputs.device, dtype=inputs.dtype
    ).copy_(inputs.transpose(0, 1))
    for x_t in time_major.unbind(0):
        y, state = step(x_t, state)
        outputs.append(y)
        if return_trace:
            states.append(state)
    trace = stack_states(states) if return_trace and states else None
    return Unrolled(torch.stack(outputs, dim=1), state, trace)


def _requires_grad_like_later_steps(state: Any) -> Any:
    """Make every floating tensor of ``state`` require grad, as it will after one step.

    A compiled step guards on ``requires_grad``: the initial state (zeros,
    constants) would otherwise get a graph of its own, doubling compile time.
    Tensors that do not require grad are replaced by detached leaves that do;
    their gradients are computed (a few µs) and dropped with them. The caller's
    tensors are not modified.
    """
    if isinstance(state, Tensor):
        if state.is_floating_point() and not state.requires_grad:
            return state.detach().requires_grad_()
        return state
    if isinstance(state, tuple):
        fields = [_requires_grad_like_later_steps(s) for s in state]
        return type(state)(*fields) if hasattr(state, "_fields") else tuple(fields)
    return state


def _cpp_wrapper_enabled() -> bool:
    return os.environ.get("AUGRNN_CPP_WRAPPER", "1") not in ("", "0")


def _compile_disabled() -> bool:
    return os.environ.get("AUGRNN_DISABLE_COMPILE", "") not in ("", "0")
