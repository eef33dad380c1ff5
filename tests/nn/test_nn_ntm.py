"""NTMCell and NTM: the LSTMCell-style contract, state, validation, gradients, numerics."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import augrnn.functional as AF
from augrnn.nn import NTM, NTMCell, NTMState
from augrnn.nn.ntm import CONSTANT_MEMORY_VALUE

CONTROLLERS = ["lstm", "gru", "feedforward"]
I, O, C, N, W = 3, 2, 8, 5, 4
B = 3


def small_cell(**kwargs):
    config = dict(controller_size=C, memory_slots=N, memory_width=W)
    config.update(kwargs)
    return NTMCell(I, O, **config)


def assert_distribution(w, atol=1e-5):
    assert (w >= 0).all(), "negative weight"
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1], dtype=w.dtype), atol=atol, rtol=0)


def all_tensors(tree):
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [t for item in tree for t in all_tensors(item)]


# --------------------------------------------------------------------------------------
# the cell contract
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "controller, read_heads, write_heads",
    list(itertools.product(CONTROLLERS, [1, 2], [0, 1, 3])),
)
def test_cell_contract(controller, read_heads, write_heads):
    R, H = read_heads, write_heads
    cell = small_cell(controller=controller, read_heads=R, write_heads=H)
    state = None
    for _ in range(3):
        y, state = cell(torch.randn(B, I), state)
        assert y.shape == (B, O)
        assert isinstance(state, NTMState) and isinstance(state, tuple) and hasattr(state, "_fields")
        assert state.memory.shape == (B, N, W)
        assert state.read_weights.shape == (B, R, N)
        assert state.write_weights.shape == (B, H, N)
        assert state.reads.shape == (B, R, W)
        assert_distribution(state.read_weights)
        assert_distribution(state.write_weights)
        # r_t is read from this step's memory with this step's read weights (eq. 2).
        torch.testing.assert_close(state.reads, AF.read(state.memory.unsqueeze(1), state.read_weights))
        assert all(torch.isfinite(t).all() for t in all_tensors(state))
    expected_controller_len = {"lstm": 2, "gru": 1, "feedforward": 0}[controller]
    assert len(state.controller) == expected_controller_len
    assert all(t.shape == (B, C) for t in state.controller)


@pytest.mark.parametrize("write_heads", [0, 1])
def test_memory_changes_only_when_there_are_write_heads(write_heads):
    cell = small_cell(write_heads=write_heads, memory_init="random")
    state = cell.initial_state(B)
    _, new_state = cell(torch.randn(B, I), state)
    if write_heads:
        assert not torch.allclose(new_state.memory, state.memory)
    else:
        assert torch.equal(new_state.memory, state.memory)
        assert torch.equal(new_state.write_weights, state.write_weights)


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_initial_state_honours_dtype_and_starts_on_slot_zero(controller):
    cell = small_cell(controller=controller, read_heads=2, write_heads=3)
    state = cell.initial_state(4, device=torch.device("cpu"), dtype=torch.float64)
    assert isinstance(state, NTMState)
    for t in all_tensors(state):
        assert t.dtype == torch.float64 and t.device.type == "cpu"
    assert state.memory.shape == (4, N, W)
    assert state.read_weights.shape == (4, 2, N) and state.write_weights.shape == (4, 3, N)
    assert state.reads.shape == (4, 2, W)
    slot0 = torch.zeros(N, dtype=torch.float64)
    slot0[0] = 1
    assert torch.equal(state.read_weights, slot0.expand(4, 2, N))
    assert torch.equal(state.write_weights, slot0.expand(4, 3, N))
    # Default dtype follows the parameters.
    assert all(t.dtype == torch.float32 for t in all_tensors(cell.initial_state(2)))
    # A float64 cell runs on a float64 state.
    y, new_state = cell.double()(torch.randn(4, I, dtype=torch.float64), state)
    assert y.dtype == torch.float64 and new_state.memory.dtype == torch.float64


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_state_none_equals_initial_state(controller):
    cell = small_cell(controller=controller, read_heads=2, write_heads=1)
    x = torch.randn(B, I)
    y_none, s_none = cell(x)
    y_init, s_init = cell(x, cell.initial_state(B))
    torch.testing.assert_close(y_none, y_init, rtol=0, atol=0)
    for a, b in zip(all_tensors(s_none), all_tensors(s_init)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_state_none_uses_input_dtype():
    cell = small_cell().double()
    y, state = cell(torch.randn(B, I, dtype=torch.float64))
    assert y.dtype == torch.float64 and state.memory.dtype == torch.float64


def test_nothing_tensor_valued_is_stored_on_the_module_between_calls():
    cell = small_cell(read_heads=2, write_heads=2)
    before = {k: v for k, v in vars(cell).items() if isinstance(v, torch.Tensor)}
    params_before = {k: v.clone() for k, v in cell.state_dict().items()}
    cell(torch.randn(B, I))
    after = {k: v for k, v in vars(cell).items() if isinstance(v, torch.Tensor)}
    assert after.keys() == before.keys()
    for k, v in cell.state_dict().items():
        assert torch.equal(v, params_before[k]), k


def test_batch_elements_are_independent():
    cell = small_cell(read_heads=2, write_heads=2)
    x = torch.randn(4, I)
    y_all, s_all = cell(x)
    y_one, s_one = cell(x[2:3])
    torch.testing.assert_close(y_all[2:3], y_one, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(s_all.memory[2:3], s_one.memory, atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------------------
# memory initialisation
# --------------------------------------------------------------------------------------


def test_memory_init_constant():
    cell = small_cell(memory_init="constant")
    memory = cell.initial_state(B).memory
    assert torch.equal(memory, torch.full((B, N, W), CONSTANT_MEMORY_VALUE))
    assert CONSTANT_MEMORY_VALUE == pytest.approx(1e-6)
    assert not any(p.shape == (N, W) for p in cell.parameters())


def test_memory_init_learned_is_a_parameter_that_trains():
    cell = small_cell(memory_init="learned")
    learned = [p for name, p in cell.named_parameters() if p.shape == (N, W)]
    assert len(learned) == 1 and isinstance(learned[0], nn.Parameter)
    memory = cell.initial_state(B).memory
    assert memory.shape == (B, N, W)
    torch.testing.assert_close(memory, learned[0].detach().expand(B, N, W))
    state = None
    loss = 0
    for _ in range(2):
        y, state = cell(torch.randn(B, I), state)
        loss = loss + (y * torch.randn_like(y)).sum()
    loss.backward()
    grad = learned[0].grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # The same memory is used across a batch: a state_dict round-trip restores it.
    clone = small_cell(memory_init="learned")
    clone.load_state_dict(cell.state_dict())
    torch.testing.assert_close(clone.initial_state(B).memory, memory)


def test_memory_init_random_differs_between_calls():
    cell = small_cell(memory_init="random")
    m1, m2 = cell.initial_state(B).memory, cell.initial_state(B).memory
    assert m1.shape == (B, N, W)
    assert not torch.allclose(m1, m2)
    assert not torch.allclose(m1[0], m1[1])  # and between sequences of a batch
    x = torch.randn(B, I)
    assert not torch.allclose(cell(x)[0], cell(x)[0])


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(memory_slots=0), "memory_slots"),
        (dict(memory_width=0), "memory_width"),
        (dict(controller_size=0), "controller_size"),
        (dict(read_heads=0), "read_heads"),
        (dict(write_heads=-1), "write_heads"),
        (dict(shift_range=-1), "shift_range"),
        (dict(memory_slots=2.5), "memory_slots"),
        (dict(controller="foo"), "controller"),
        (dict(memory_init="bar"), "memory_init"),
    ],
)
def test_invalid_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        small_cell(**kwargs)


@pytest.mark.parametrize("args, name", [((0, O), "input_size"), ((I, 0), "output_size")])
def test_invalid_sizes(args, name):
    with pytest.raises(ValueError, match=name):
        NTMCell(*args, controller_size=C, memory_slots=N, memory_width=W)


@pytest.mark.parametrize("shape", [(B, I + 1), (B, I - 1), (B, 1, I), (I,)])
def test_cell_rejects_wrong_input_shape(shape):
    cell = small_cell()
    with pytest.raises(ValueError, match="NTMCell"):
        cell(torch.zeros(shape))


@pytest.mark.parametrize("shape", [(B, I), (B, 2, I, 1), (B, 2, I + 1)])
def test_ntm_rejects_wrong_input_shape(shape):
    model = NTM(I, O, controller_size=C, memory_slots=N, memory_width=W)
    with pytest.raises(ValueError, match="NTM"):
        model(torch.zeros(shape))


def test_ntm_rejects_bad_cell_arguments():
    with pytest.raises(ValueError, match="memory_slots"):
        NTM(I, O, memory_slots=0)


# --------------------------------------------------------------------------------------
# the sequence model
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("read_heads, write_heads", [(1, 1), (2, 0), (2, 3)])
def test_ntm_trace_matches_manual_loop(controller, read_heads, write_heads):
    R, H, T = read_heads, write_heads, 5
    model = NTM(I, O, controller=controller, controller_size=C, memory_slots=N, memory_width=W,
                read_heads=R, write_heads=H, memory_init="random")
    x = torch.randn(B, T, I)
    start = model.cell.initial_state(B)

    y = model(x, start)
    assert y.shape == (B, T, O)
    y2, trace = model(x, start, return_trace=True)
    torch.testing.assert_close(y2, y, rtol=0, atol=0)
    assert isinstance(trace, NTMState)
    assert trace.memory.shape == (B, T, N, W)
    assert trace.read_weights.shape == (B, T, R, N)
    assert trace.write_weights.shape == (B, T, H, N)
    assert trace.reads.shape == (B, T, R, W)
    assert all(t.shape == (B, T, C) for t in trace.controller)

    state, manual = start, []
    for t in range(T):
        y_t, state = model.cell(x[:, t], state)
        torch.testing.assert_close(y[:, t], y_t, rtol=1e-6, atol=1e-6)
        for stacked, single in zip(all_tensors(trace), all_tensors(state)):
            torch.testing.assert_close(stacked[:, t], single, rtol=1e-6, atol=1e-6)
        manual.append(state)
    # The last step of the trace is the cell's state after the loop.
    for stacked, final in zip(all_tensors(trace), all_tensors(manual[-1])):
        torch.testing.assert_close(stacked[:, -1], final, rtol=1e-6, atol=1e-6)


def test_ntm_state_none_and_batch_first():
    model = NTM(I, O, controller_size=C, memory_slots=N, memory_width=W)
    x = torch.randn(B, 4, I)
    y = model(x)
    # batch-first: the first sequence alone gives the first row.
    torch.testing.assert_close(model(x[:1]), y[:1], rtol=1e-5, atol=1e-6)
    # causal: the first two outputs don't depend on later inputs.
    x2 = x.clone()
    x2[:, 2:] = torch.randn(B, 2, I)
    torch.testing.assert_close(model(x2)[:, :2], y[:, :2], rtol=0, atol=0)


def test_ntm_float64():
    model = NTM(I, O, controller_size=C, memory_slots=N, memory_width=W).double()
    y, trace = model(torch.randn(B, 3, I, dtype=torch.float64), return_trace=True)
    assert y.dtype == torch.float64 and trace.memory.dtype == torch.float64


# --------------------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_gradcheck_cell_over_steps(controller):
    cell = NTMCell(2, 2, controller_size=4, controller=controller, memory_slots=3, memory_width=2,
                   read_heads=2, write_heads=2, memory_init="learned").double()
    state0 = cell.initial_state(2)

    def run(x):  # x [B, T=3, I]
        state, outs = state0, []
        for t in range(x.shape[1]):
            y, state = cell(x[:, t], state)
            outs.append(y)
        return torch.stack(outs, 1), state.memory, state.read_weights

    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(run, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("controller", CONTROLLERS)
def test_every_parameter_receives_gradient(controller):
    model = NTM(I, O, controller=controller, controller_size=C, memory_slots=N, memory_width=W,
                read_heads=2, write_heads=2, memory_init="learned")
    y = model(torch.randn(B, 4, I))
    (y * torch.randn_like(y)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


# --------------------------------------------------------------------------------------
# numerics: no NaN/inf in outputs or gradients
# --------------------------------------------------------------------------------------


def _assert_finite_run(model, x):
    y, trace = model(x, return_trace=True)
    assert torch.isfinite(y).all()
    assert all(torch.isfinite(t).all() for t in all_tensors(trace))
    loss = (y * torch.randn_like(y)).sum() + trace.memory.sum() + trace.reads.sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert_distribution(trace.read_weights)
    assert_distribution(trace.write_weights)


INPUTS = {
    "zeros": lambda shape: torch.zeros(shape),
    "huge-1e4": lambda shape: 1e4 * torch.randn(shape),
    "huge-const-1e4": lambda shape: torch.full(shape, 1e4),
}


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("inputs", list(INPUTS))
@pytest.mark.parametrize("memory_slots, shift_range", [(N, 1), (1, 1), (1, 2)])
@pytest.mark.parametrize("memory_init", ["constant", "learned"])
def test_no_nan_or_inf(controller, inputs, memory_slots, shift_range, memory_init):
    model = NTM(I, O, controller=controller, controller_size=C, memory_slots=memory_slots, memory_width=W,
                read_heads=2, write_heads=2, shift_range=shift_range, memory_init=memory_init)
    _assert_finite_run(model, INPUTS[inputs]((2, 6, I)))


@pytest.mark.parametrize("controller", CONTROLLERS)
@pytest.mark.parametrize("memory_slots", [1, N])
def test_no_nan_or_inf_with_huge_head_logits(controller, memory_slots):
    """Scale the head layer so β, γ and the gate/shift logits reach ~1e4."""
    model = NTM(I, O, controller=controller, controller_size=C, memory_slots=memory_slots, memory_width=W,
                read_heads=2, write_heads=2, memory_init="constant")
    with torch.no_grad():
        model.cell.head_params.weight.mul_(1e4)
        model.cell.head_params.bias.mul_(1e4)
    _assert_finite_run(model, 10 * torch.randn(2, 6, I))
