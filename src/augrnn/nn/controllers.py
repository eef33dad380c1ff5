"""Controllers for memory-augmented cells: LSTM, GRU or feed-forward.

All share one small contract so a cell can swap them:
``controller(x [B, I], state) -> (h [B, H], state)`` and
``controller.initial_state(batch_size, device, dtype) -> tuple of tensors``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["make_controller", "CONTROLLERS"]


class LSTMController(nn.Module):
    """An :class:`torch.nn.LSTMCell`; state ``(h, c)``."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTMCell(input_size, hidden_size)

    def initial_state(self, batch_size: int, device=None, dtype=None) -> tuple[Tensor, Tensor]:
        # Two distinct tensors: aliased inputs would make a compiled step recompile.
        h = torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype)
        return (h, torch.zeros_like(h))

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = self.lstm(x, state)
        return h, (h, c)


class GRUController(nn.Module):
    """An :class:`torch.nn.GRUCell`; state ``(h,)``."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = nn.GRUCell(input_size, hidden_size)

    def initial_state(self, batch_size: int, device=None, dtype=None) -> tuple[Tensor]:
        return (torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),)

    def forward(self, x: Tensor, state: tuple[Tensor]) -> tuple[Tensor, tuple[Tensor]]:
        h = self.gru(x, state[0])
        return h, (h,)


class FeedForwardController(nn.Module):
    """One tanh layer; no state of its own (the memory is its only recurrence)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.linear = nn.Linear(input_size, hidden_size)

    def initial_state(self, batch_size: int, device=None, dtype=None) -> tuple[()]:
        return ()

    def forward(self, x: Tensor, state: tuple[()]) -> tuple[Tensor, tuple[()]]:
        return torch.tanh(self.linear(x)), ()


CONTROLLERS = {"lstm": LSTMController, "gru": GRUController, "feedforward": FeedForwardController}


def make_controller(kind: str, input_size: int, hidden_size: int) -> nn.Module:
    """Build a controller by name: one of ``lstm``, ``gru``, ``feedforward``."""
    if kind not in CONTROLLERS:
        raise ValueError(f"controller must be one of {sorted(CONTROLLERS)}, got {kind!r}")
    return CONTROLLERS[kind](input_size, hidden_size)
