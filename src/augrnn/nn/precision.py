"""bfloat16 autocast where the device runs it, fp32 where it does not.

``train.precision=bf16`` and g2p's ``decode_precision=bf16`` are speed settings: on a CPU with
native bfloat16 (AVX-512 BF16 or AMX) or a GPU that has it they halve the bytes moved. A CPU
without it (AVX2 only, most laptops before 2023) has no oneDNN bfloat16 LSTM at all — under
bf16 autocast ``nn.LSTM`` raises "could not create a primitive descriptor" — and would emulate
every other bfloat16 matmul more slowly than fp32. There :func:`autocast` runs in fp32 and warns
once, so a preset that asks for bf16 runs everywhere.
"""

from __future__ import annotations

import functools
import warnings

import torch

__all__ = ["autocast", "bf16_autocast_supported"]

_WARNED: set[tuple[str, str]] = set()


def bf16_autocast_supported(device: torch.device | str) -> bool:
    """Whether ``device`` runs the models here under bfloat16 autocast (CPU: probed once)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_runs_bf16_lstm()
    return True  # other backends: let torch.autocast decide


@functools.cache
def _cpu_runs_bf16_lstm() -> bool:
    lstm = torch.nn.LSTM(2, 2)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 1, 2))
    except RuntimeError:  # oneDNN has no bfloat16 LSTM for this CPU
        return False
    return True


def autocast(device: torch.device | str, precision: str, setting: str) -> torch.autocast:
    """``torch.autocast`` in bfloat16 when ``precision`` is ``"bf16"`` and ``device`` supports it.

    Args:
        device: where the computation runs.
        precision: ``"fp32"`` or ``"bf16"``.
        setting: the config key that asked for it, named in the warning (e.g. ``"train.precision"``).
    """
    device = torch.device(device)
    enabled = precision == "bf16"
    if enabled and not bf16_autocast_supported(device):
        enabled = False
        if (setting, device.type) not in _WARNED:
            _WARNED.add((setting, device.type))
            warnings.warn(
                f"augrnn: {setting}=bf16, but this {device.type} has no native bfloat16"
                f"{' (AVX-512 BF16 or AMX)' if device.type == 'cpu' else ''}; running in fp32",
                stacklevel=2,
            )
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)
