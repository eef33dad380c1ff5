"""Neural Turing Machine, Graves, Wayne & Danihelka 2014 (arXiv 1410.5401).

Only wiring lives here; the equations are in :mod:`augrnn.functional`.

Letters: B batch, I input size, O output size, C controller size, N memory slots,
W word width, R read heads, H write heads, S shift-kernel size (2·shift_range+1).

One step (Figure 1):

1. the controller reads ``[x_t, r_{t−1}]`` (the previous step's read vectors);
2. one linear layer emits every head's parameters, split once into named pieces;
3. write heads address ``M_{t−1}`` and write (all erase, then all add, §3.2);
4. read heads address ``M_t`` and read (eq. 2), so a read sees this step's write;
5. the output layer maps ``[h_t, r_t]`` to logits.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn import functional as AF
from augrnn.nn import fused_ntm
from augrnn.nn.controllers import make_controller
from augrnn.nn.recurrent import unroll

__all__ = ["NTMState", "NTMCell", "NTM", "MEMORY_INITS"]

MEMORY_INITS = ("constant", "learned", "random")

#: The small constant that ``memory_init="constant"`` fills memory with (Collier & Beel 2018).
CONSTANT_MEMORY_VALUE = 1e-6


class NTMState(NamedTuple):
    """Everything the next step needs, and the weights that produced this step."""

    memory: Tensor  # [B, N, W]  M_t
    read_weights: Tensor  # [B, R, N]  w^r_t, one row per read head
    write_weights: Tensor  # [B, H, N]  w^w_t, one row per write head
    reads: Tensor  # [B, R, W]  r_t
    controller: tuple  # the controller's own state: LSTM (h, c), GRU (h,), feed-forward ()


class _HeadParams(NamedTuple):
    key: Tensor  # [B, heads, W]  k_t
    strength: Tensor  # [B, heads]  β_t ≥ 0, §3.3.1
    gate: Tensor  # [B, heads]  g_t ∈ [0, 1], §3.3.2
    shift: Tensor  # [B, heads, S]  s_t, a softmax over offsets
    gamma: Tensor  # [B, heads]  γ_t ≥ 1


class NTMCell(nn.Module):
    r"""One time step of a Neural Turing Machine.

    Follows :class:`torch.nn.LSTMCell`'s contract: ``cell(x, state=None)`` returns
    ``(logits, state)``; ``state`` is an :class:`NTMState` that also carries this
    step's read and write weightings, for pictures and extra losses.

    Args:
        input_size: I, features of ``x``.
        output_size: O, logits per step (apply a sigmoid for bit probabilities).
        controller_size: C, units of the controller.
        controller: ``"lstm"`` (default), ``"gru"`` or ``"feedforward"``.
        memory_slots: N, rows of memory.
        memory_width: W, width of each row.
        read_heads: R ≥ 1.
        write_heads: H ≥ 0.
        shift_range: largest shift offset; the kernel has ``2·shift_range+1`` taps.
        memory_init: ``"constant"`` (small constant, Collier & Beel 2018),
            ``"learned"`` (a trained matrix) or ``"random"`` (fresh normal noise
            for every sequence).

    Shape:
        - x: ``[B, I]``
        - output: ``[B, O]`` logits

    Example:
        >>> cell = NTMCell(9, 8, memory_slots=16, memory_width=4)
        >>> y, state = cell(torch.zeros(2, 9))
        >>> y.shape, state.memory.shape, state.read_weights.shape
        (torch.Size([2, 8]), torch.Size([2, 16, 4]), torch.Size([2, 1, 16]))
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        controller_size: int = 100,
        controller: str = "lstm",
        memory_slots: int = 128,
        memory_width: int = 20,
        read_heads: int = 1,
        write_heads: int = 1,
        shift_range: int = 1,
        memory_init: str = "constant",
    ) -> None:
        super().__init__()
        for name, value, low in [
            ("input_size", input_size, 1),
            ("output_size", output_size, 1),
            ("controller_size", controller_size, 1),
            ("memory_slots", memory_slots, 1),
            ("memory_width", memory_width, 1),
            ("read_heads", read_heads, 1),
            ("write_heads", write_heads, 0),
            ("shift_range", shift_range, 0),
        ]:
            if not isinstance(value, int) or value < low:
                raise ValueError(f"NTMCell: {name} must be an integer >= {low}, got {value!r}")
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"NTMCell: memory_init must be one of {MEMORY_INITS}, got {memory_init!r}")
        self.input_size, self.output_size = input_size, output_size
        self.controller_size = controller_size
        self.memory_slots, self.memory_width = memory_slots, memory_width
        self.read_heads, self.write_heads = read_heads, write_heads
        self.shift_range, self.memory_init = shift_range, memory_init
        W, S = memory_width, 2 * shift_range + 1
        self._address_size = W + 3 + S  # key, β, g, γ, shift per head

        self.controller = make_controller(controller, input_size + read_heads * W, controller_size)
        heads = read_heads + write_heads
        self.head_params = nn.Linear(controller_size, heads * self._address_size + write_heads * 2 * W)
        self.output = nn.Linear(controller_size + read_heads * W, output_size)
        if memory_init == "learned":
            self.initial_memory = nn.Parameter(torch.empty(memory_slots, memory_width))
        else:
            self.register_parameter("initial_memory", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Default PyTorch init for the layers; Glorot-uniform for a learned memory."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        if self.initial_memory is not None:
            bound = math.sqrt(6.0 / (self.memory_slots + self.memory_width))
            nn.init.uniform_(self.initial_memory, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, output_size={self.output_size}, "
            f"memory={self.memory_slots}x{self.memory_width}, read_heads={self.read_heads}, "
            f"write_heads={self.write_heads}, shift_range={self.shift_range}, memory_init={self.memory_init!r}"
        )

    def initial_state(self, batch_size: int, device=None, dtype=None) -> NTMState:
        """The state before the first step: initial memory, heads on slot 0.

        Args:
            batch_size: B.
            device, dtype: default to the parameters'.
        """
        param = self.output.weight
        device = param.device if device is None else device
        dtype = param.dtype if dtype is None else dtype
        B, N, W = batch_size, self.memory_slots, self.memory_width
        if self.memory_init == "constant":
            memory = torch.full((B, N, W), CONSTANT_MEMORY_VALUE, device=device, dtype=dtype)
        elif self.memory_init == "learned":
            memory = self.initial_memory.to(device=device, dtype=dtype).expand(B, N, W).contiguous()
        else:  # random
            memory = 0.5 * torch.randn(B, N, W, device=device, dtype=dtype)
        # Fresh contiguous tensors (not expanded views): the compiled step is
        # specialised to strides, so the first step must look like every other.
        read_weights = torch.zeros(B, self.read_heads, N, device=device, dtype=dtype)
        read_weights[..., 0] = 1.0
        write_weights = torch.zeros(B, self.write_heads, N, device=device, dtype=dtype)
        write_weights[..., 0] = 1.0
        reads = AF.read(memory.unsqueeze(1), read_weights)  # [B, R, W]
        controller = self.controller.initial_state(B, device=device, dtype=dtype)
        return NTMState(memory, read_weights, write_weights, reads, controller)

    def _split_addressing(self, raw: Tensor) -> _HeadParams:
        """Name the pieces of ``raw [B, heads, W+3+S]`` and squash each to its range."""
        W = self.memory_width
        key, strength, gate, gamma, shift = raw.split([W, 1, 1, 1, 2 * self.shift_range + 1], dim=-1)
        return _HeadParams(
            key=key,
            strength=F.softplus(strength.squeeze(-1)),
            gate=torch.sigmoid(gate.squeeze(-1)),
            shift=torch.softmax(shift, dim=-1),
            gamma=1 + F.softplus(gamma.squeeze(-1)),
        )

    def forward(self, x: Tensor, state: NTMState | None = None) -> tuple[Tensor, NTMState]:
        """One step: ``x [B, I]`` → ``(logits [B, O], state)``."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"NTMCell: expected input of shape [batch, {self.input_size}], got {list(x.shape)}")
        if state is None:
            state = self.initial_state(x.shape[0], device=x.device, dtype=x.dtype)
        B, W, R, H = x.shape[0], self.memory_width, self.read_heads, self.write_heads

        h, controller_state = self.controller(torch.cat([x, state.reads.reshape(B, R * W)], dim=-1), state.controller)

        raw = self.head_params(h)
        raw_address, raw_write = raw.split([(R + H) * self._address_size, H * 2 * W], dim=-1)
        params = self._split_addressing(raw_address.reshape(B, R + H, self._address_size))
        write_p = _HeadParams(*(p[:, R:] for p in params))
        read_p = _HeadParams(*(p[:, :R] for p in params))

        memory = state.memory
        write_weights = state.write_weights
        if H:
            erase, add = raw_write.reshape(B, H, 2 * W).split([W, W], dim=-1)
            write_weights = AF.address(memory.unsqueeze(1), state.write_weights, *write_p)  # [B, H, N]
            memory = AF.write_heads(memory, write_weights, torch.sigmoid(erase), torch.tanh(add))

        read_weights = AF.address(memory.unsqueeze(1), state.read_weights, *read_p)  # [B, R, N]
        reads = AF.read(memory.unsqueeze(1), read_weights)  # [B, R, W]

        logits = self.output(torch.cat([h, reads.reshape(B, R * W)], dim=-1))
        return logits, NTMState(memory, read_weights, write_weights, reads, controller_state)

    def fused_unroll(self, inputs: Tensor, state: NTMState | None = None, return_trace: bool = False):
        """The whole sequence in one C++ kernel (LSTM controller, CPU), or ``None`` where
        it does not apply; :func:`~augrnn.nn.recurrent.unroll` calls it on the fast path."""
        return fused_ntm.fused_unroll(self, inputs, state, return_trace=return_trace)


class NTM(nn.Module):
    """A Neural Turing Machine over batch-first sequences.

    Takes the same arguments as :class:`NTMCell`, plus ``fast``: run each step
    as one compiled graph (see :func:`augrnn.nn.recurrent.unroll`).

    Example:
        >>> model = NTM(9, 8, memory_slots=16, memory_width=4)
        >>> logits, trace = model(torch.zeros(2, 5, 9), return_trace=True)
        >>> logits.shape, trace.write_weights.shape
        (torch.Size([2, 5, 8]), torch.Size([2, 5, 1, 16]))
    """

    def __init__(self, input_size: int, output_size: int, *, fast: bool = False, **cell_kwargs) -> None:
        super().__init__()
        self.cell = NTMCell(input_size, output_size, **cell_kwargs)
        self.fast = fast

    def extra_repr(self) -> str:
        return f"fast={self.fast}"

    def forward(self, inputs: Tensor, state: NTMState | None = None, return_trace: bool = False):
        """``inputs [B, T, I]`` → ``logits [B, T, O]``; with ``return_trace``, also
        the :class:`NTMState` of every step stacked on dim 1 (e.g. ``read_weights
        [B, T, R, N]``)."""
        if inputs.dim() != 3 or inputs.shape[-1] != self.cell.input_size:
            raise ValueError(
                f"NTM: expected inputs of shape [batch, time, {self.cell.input_size}], got {list(inputs.shape)}"
            )
        result = unroll(self.cell, inputs, state, fast=self.fast, return_trace=return_trace)
        return (result.outputs, result.trace) if return_trace else result.outputs
