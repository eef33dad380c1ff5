"""bf16 autocast where the device has it, fp32 with one warning where it has not."""

import warnings

import pytest
import torch

from augrnn.nn import precision
from augrnn.nn.precision import autocast, bf16_autocast_supported

BF16 = bf16_autocast_supported("cpu")


@pytest.fixture
def no_native_bf16(monkeypatch):
    monkeypatch.setattr(precision, "bf16_autocast_supported", lambda device: False)
    monkeypatch.setattr(precision, "_WARNED", set())


def test_the_cpu_probe_agrees_with_running_an_lstm_under_bf16_autocast():
    lstm = torch.nn.LSTM(3, 4, bidirectional=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.randn(2, 5, 3))
        ran = True
    except RuntimeError:
        ran = False
    assert BF16 == ran


@pytest.mark.skipif(not BF16, reason="this CPU has no native bfloat16")
def test_bf16_autocasts_where_supported():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with autocast("cpu", "bf16", "train.precision"):
            assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_without_native_bf16_it_runs_fp32_and_warns_once_per_setting(no_native_bf16):
    lstm = torch.nn.LSTM(3, 4)
    with pytest.warns(UserWarning, match=r"train\.precision=bf16, but this cpu has no native bfloat16"):
        with autocast("cpu", "bf16", "train.precision"):
            assert not torch.is_autocast_enabled("cpu")
            out, _ = lstm(torch.randn(2, 5, 3))
    assert out.dtype == torch.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same setting does not warn again
        with autocast("cpu", "bf16", "train.precision"):
            pass
    with pytest.warns(UserWarning, match="task_args.decode_precision"):
        with autocast("cpu", "bf16", "task_args.decode_precision"):
            pass


def test_fp32_never_autocasts_or_warns(no_native_bf16):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with autocast(torch.device("cpu"), "fp32", "train.precision"):
            assert not torch.is_autocast_enabled("cpu")
