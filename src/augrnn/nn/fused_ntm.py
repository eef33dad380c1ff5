"""The NTM's whole-sequence CPU kernel: one C++ forward and one hand-written backward.

:func:`augrnn.nn.recurrent.unroll` calls :func:`fused_unroll` on the fast path.
It applies to an :class:`~augrnn.nn.ntm.NTMCell` with an LSTM controller on the
CPU in float32/float64; anything else (a GPU, another controller) returns
``None`` and the step is compiled with :func:`torch.compile` instead.

Why a kernel of our own: a compiled step still pays ~1 ms per time step for
autograd bookkeeping and per-step kernel launches at batch 32, several times the
arithmetic. Here the recurrence (LSTM cell, addressing, erase/add write, read) is
one C++ loop over time forward and one in reverse, with three small matmuls per
step; everything that is not recurrent stays in ordinary autograd ops over all
steps at once (the controller's input projection, the output layer).

The C++ source (``csrc/ntm_sequence.cpp``) is built on first use with
:func:`torch.utils.cpp_extension.load` into torch's extension cache (about a
minute, once per machine and source version). ``AUGRNN_DISABLE_FUSED=1`` (or
``AUGRNN_DISABLE_COMPILE=1``) turns it off; a failed build warns once and falls
back to the compiled step.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["fused_unroll", "load_kernel", "fused_available"]

_LOG = logging.getLogger(__name__)
_SOURCE = Path(__file__).with_name("csrc") / "ntm_sequence.cpp"
_KERNEL: Any = None
_KERNEL_ERROR: str | None = None


def _machine_tag() -> str:
    """Short hash of the CPU's features: the build uses ``-march=native``, so a cache
    shared by different machines (a cluster's home directory) keeps one build per CPU."""
    flags = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags += line
                break
    except OSError:
        pass
    return hashlib.sha1(flags.encode()).hexdigest()[:8]


def load_kernel():
    """Build (first time) and import the C++ kernel; ``None`` if that is impossible."""
    global _KERNEL, _KERNEL_ERROR
    if _KERNEL is not None or _KERNEL_ERROR is not None:
        return _KERNEL
    try:
        from torch.utils.cpp_extension import load

        name = f"augrnn_ntm_{_machine_tag()}"
        if not _is_built(name):
            _LOG.warning("augrnn: building the fused NTM kernel (once per machine, about a minute) ...")
        native = ["-march=native"] if platform.machine() in ("x86_64", "AMD64") else []
        _KERNEL = load(
            name=name,
            sources=[str(_SOURCE)],
            extra_cflags=["-O3", "-fopenmp", *native],
            extra_ldflags=["-fopenmp"],
            verbose=False,
        )
    except Exception as error:  # no compiler, no headers, a read-only cache: use the compiled step
        _KERNEL_ERROR = f"{type(error).__name__}: {error}"
        warnings.warn(f"augrnn: the fused NTM kernel could not be built, using torch.compile instead ({_KERNEL_ERROR})",
                      RuntimeWarning, stacklevel=2)
    return _KERNEL


def _is_built(name: str) -> bool:
    try:
        from torch.utils.cpp_extension import _get_build_directory

        return any(Path(_get_build_directory(name, verbose=False)).glob(f"{name}*.so"))
    except Exception:  # a private helper of torch; only decides whether to announce the build
        return True


def _disabled() -> bool:
    return any(os.environ.get(name, "") not in ("", "0") for name in ("AUGRNN_DISABLE_FUSED", "AUGRNN_DISABLE_COMPILE"))


def fused_available(cell, inputs: Tensor) -> bool:
    """Whether :func:`fused_unroll` runs ``cell`` on ``inputs`` (else it returns ``None``)."""
    from augrnn.nn.controllers import LSTMController

    return (
        not _disabled()
        and inputs.device.type == "cpu"
        and not torch.is_autocast_enabled("cpu")  # bf16 autocast: the compiled step (the kernel is fp32/fp64)
        and inputs.dtype in (torch.float32, torch.float64)
        and isinstance(cell.controller, LSTMController)
        and all(p.device.type == "cpu" and p.dtype == inputs.dtype for p in cell.parameters())
        and load_kernel() is not None
    )


class _NTMSequence(torch.autograd.Function):
    """States of all steps from the projected inputs; see ``csrc/ntm_sequence.cpp``."""

    @staticmethod
    def forward(ctx, xg, w_ih, w_hh, w_hp, b_hp, memory0, wr0, ww0, r0, h0, c0, shift_size, eps):
        kernel = load_kernel()
        zs, cs, mem, wr, ww, wz, *saved = kernel.forward(xg, w_ih, w_hh, w_hp, b_hp, memory0, wr0, ww0, r0, h0, c0,
                                                         shift_size, eps)
        ctx.save_for_backward(wz, w_hp, zs, cs, mem, wr, ww, *saved)
        ctx.shift_size, ctx.eps, ctx.input_size = shift_size, eps, w_ih.shape[1] - (zs.shape[2] - h0.shape[1])
        ctx.set_materialize_grads(False)
        return zs, cs, mem, wr, ww

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_zs, g_cs, g_mem, g_wr, g_ww):
        wz, w_hp, zs, cs, mem, wr, ww, *saved = ctx.saved_tensors
        grads = load_kernel().backward(ctx.input_size, wz, w_hp, zs, cs, mem, wr, ww, *saved, g_zs, g_cs, g_mem,
                                       g_wr, g_ww, ctx.shift_size, ctx.eps, ctx.needs_input_grad[5])
        return (*grads, None, None)


def fused_unroll(cell, inputs: Tensor, state, return_trace: bool = False):
    """Run an :class:`~augrnn.nn.ntm.NTMCell` over ``inputs [B, T, I]`` with the C++ kernel.

    Returns what :func:`augrnn.nn.recurrent.unroll` returns, with the same values
    and gradients as the step-by-step cell, or ``None`` when the kernel does not
    apply (see :func:`fused_available`).
    """
    from augrnn.functional.addressing import COSINE_EPS
    from augrnn.nn.ntm import NTMState
    from augrnn.nn.recurrent import Unrolled

    if inputs.shape[1] == 0 or not fused_available(cell, inputs):
        return None
    if state is None:
        state = cell.initial_state(inputs.shape[0], device=inputs.device, dtype=inputs.dtype)
    B, T, I = inputs.shape
    R, W, C = cell.read_heads, cell.memory_width, cell.controller_size
    lstm = cell.controller.lstm
    # The controller reads [x_t, r_{t-1}]: the x part of every step in one matmul here; the
    # kernel applies the recurrent part to Z = [h, r] with [W_hh, W_ih's r columns].
    xg = torch.addmm(lstm.bias_ih + lstm.bias_hh, inputs.transpose(0, 1).reshape(T * B, I), lstm.weight_ih[:, :I].t())
    h0, c0 = state.controller
    zs, cs, mem, wr, ww = _NTMSequence.apply(
        xg.reshape(T, B, 4 * C), lstm.weight_ih.contiguous(), lstm.weight_hh.contiguous(),
        cell.head_params.weight.contiguous(), cell.head_params.bias,
        state.memory.contiguous(), state.read_weights.contiguous(), state.write_weights.contiguous(),
        state.reads.contiguous(), h0.contiguous(), c0.contiguous(), 2 * cell.shift_range + 1, COSINE_EPS,
    )
    # The output layer maps [h_t, r_t] to logits: Z itself, for every step at once.
    logits = torch.addmm(cell.output.bias, zs[1:].reshape(T * B, C + R * W), cell.output.weight.t())
    outputs = logits.reshape(T, B, -1).transpose(0, 1)
    mem = mem.transpose(-1, -2)  # the kernel keeps memory as [.., W, N]
    h, reads = zs.split([C, R * W], dim=2)
    reads = reads.reshape(T + 1, B, R, W)

    final = NTMState(mem[T], wr[T], ww[T], reads[T], (h[T], cs[T]))
    trace = None
    if return_trace:
        trace = type(final)(*(x.transpose(0, 1) for x in (mem[1:], wr[1:], ww[1:], reads[1:])),
                            (h[1:].transpose(0, 1), cs[1:].transpose(0, 1)))
    return Unrolled(outputs, final, trace)
