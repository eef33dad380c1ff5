"""The LSTM baseline: a stacked :class:`torch.nn.LSTM` with a linear read-out.

Same sequence interface as :class:`augrnn.nn.NTM`, so every task can compare the
two (Graves et al. 2014 used 3 layers of 256 units).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

__all__ = ["LSTM", "LSTMTrace"]


class LSTMTrace(NamedTuple):
    hidden: Tensor  # [B, T, C] the top layer's hidden state at every step


class LSTM(nn.Module):
    """Stacked LSTM baseline: ``inputs [B, T, I]`` → ``logits [B, T, O]``.

    Args:
        input_size: I.
        output_size: O.
        hidden_size: units per layer.
        num_layers: stacked layers.
        fast: accepted for interface parity; :class:`torch.nn.LSTM` already runs
            a fused kernel (MKL-DNN on CPU, cuDNN on GPU).

    Example:
        >>> LSTM(9, 8, hidden_size=16, num_layers=2)(torch.zeros(2, 5, 9)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 256, num_layers: int = 3, fast: bool = False) -> None:
        super().__init__()
        for name, value in [("input_size", input_size), ("output_size", output_size), ("hidden_size", hidden_size), ("num_layers", num_layers)]:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"LSTM: {name} must be an integer >= 1, got {value!r}")
        self.input_size = input_size
        self.fast = fast
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.output = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: Tensor, state=None, return_trace: bool = False):
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(f"LSTM: expected inputs of shape [batch, time, {self.input_size}], got {list(inputs.shape)}")
        hidden, _ = self.lstm(inputs, state)
        logits = self.output(hidden)
        return (logits, LSTMTrace(hidden)) if return_trace else logits
