"""Neural Programmer end to end: presets, training runs, gradient noise, figures; a learns-the-task run each."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from augrnn.train import ConfigError, prepare_run, train_run
from augrnn.train.config import apply_overrides, make_config
from augrnn.train.trainer import add_gradient_noise

#: lr 0.01 with the norm clipped at 1 (the preset's clip of 50 is for its lr of 1e-3: with lr 0.01 and clip 50
#: this tiny run ends at error 0.46 instead of < 0.1).
TINY_TABLE = ["fast=false", "hidden_size=32", "embedding_size=32", "columns=1", "name_pool=1", "min_rows=5",
              "max_rows=10", "templates=sum,count,greater_count,lesser_count", "batch_size=50", "eval_batches=1",
              "eval_batch_size=200", "log_every=10", "lr=0.01", "clip_norm=1.0",
              "train_extra=''", "train_weights=''",  # the default preset's are for the paper's templates
              "restarts=1"]


def test_presets_exist():
    for task, preset in [("arithmetic", "default"), ("table-qa", "default"), ("table-qa", "noise")]:
        cfg = make_config("neural-programmer", task, preset)
        assert cfg.model == "neural-programmer"
    assert make_config("neural-programmer", "table-qa", "noise").train.grad_noise_eta == 1.0
    both = make_config("neural-programmer", "table-qa", "dropout-noise")
    assert both.model_args.dropout == 0.1 and both.train.grad_noise_eta == 1.0
    assert make_config("neural-programmer", "table-qa", "dropout").train.grad_noise_eta == 0.0
    assert make_config("neural-programmer", "table-qa").model_args.operations == "paper"
    default = make_config("neural-programmer", "table-qa")
    assert default.model_args.column_inputs == "operation" and default.task_args.train_extra == "all"
    assert default.model_args.op_pointer and default.restarts == 6 and default.restart_workers == 2
    assert default.task_args.train_weights == "and_count=4,and_sum=4,or_count=4,or_sum=4,difference=4"
    assert default.model_args.column_anchor == 10.0 and default.task_args.op_entropy == 50.0
    text = make_config("neural-programmer", "table-qa", "text")  # session 17's preset, as measured
    assert text.task_args.text_columns == 2 and "select" in text.model_args.operations and text.restarts == 6
    assert text.model_args.column_anchor == 0 and text.task_args.op_entropy == 0
    assert text.task_args.train_extra == "sum_greater,sum_lesser,print_greater,print_lesser"
    assert text.task_args.train_weights == "and_count=4,and_sum=4,or_count=4"
    noise = make_config("neural-programmer", "table-qa", "noise")  # the np4 base it was measured with
    assert noise.model_args.column_inputs == "all" and noise.task_args.train_extra == ""


def test_gradient_noise_schedule(tmp_path):
    p = torch.nn.Parameter(torch.zeros(20000))
    p.grad = torch.zeros_like(p)
    sigma = add_gradient_noise([p], step=9, eta=1.0, gamma=0.55)
    assert sigma == pytest.approx((1.0 / 10**0.55) ** 0.5)
    assert p.grad.std().item() == pytest.approx(sigma, rel=0.05)
    bad = apply_overrides(make_config("neural-programmer", "arithmetic"), ["grad_noise_eta=-1"])
    with pytest.raises(ConfigError, match="grad_noise_eta"):
        train_run(bad, tmp_path / "bad", progress=False)


def test_arithmetic_run_and_figures(tmp_path):
    from augrnn.viz.run import plot_run

    run = tmp_path / "arith"
    cfg = prepare_run("neural-programmer", "arithmetic", run, [
        "hidden_size=8", "batch_size=8", "steps=6", "eval_every=3", "eval_batches=1", "eval_batch_size=16",
        "log_every=3", "max_depth=2", "grad_noise_eta=0.01"])
    final = train_run(cfg, run, progress=False)
    assert {"cost", "error", "soft_error", "program_correct"} <= set(final)
    paths = plot_run(run)
    assert any(p.name.startswith("program_depth2") for p in paths) and all(p.exists() for p in paths)


def test_table_qa_learns_a_tiny_one_column_variant_and_draws_programs(tmp_path):
    """≤ ~60 s on one core: the test-time (hard selection) error on the dev split falls below 10 %."""
    from augrnn.viz.run import plot_run

    run = tmp_path / "table"
    cfg = prepare_run("neural-programmer", "table-qa", run, TINY_TABLE + ["steps=250", "eval_every=50",
                                                                           "stop_error=0.05", "stop_after_evals=1"])
    torch.manual_seed(0)
    final = train_run(cfg, run, progress=False)
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert evals[0]["step"] == 50
    assert final["error"] <= 0.1, final
    paths = plot_run(run)
    assert any(p.name == "program_0.png" for p in paths) and all(p.exists() for p in paths)


def test_table_qa_evaluation_is_deterministic(tmp_path):
    from augrnn.train import build

    cfg = apply_overrides(make_config("neural-programmer", "table-qa"), TINY_TABLE)
    torch.manual_seed(0)
    model, task, device = build(cfg)
    from augrnn.train.trainer import evaluate

    a = evaluate(model, task, seed=1, batches=1, batch_size=20, device=device)
    b = evaluate(model, task, seed=2, batches=1, batch_size=20, device=device)
    assert a == b and model.training
    assert np.isfinite(list(a.values())).all()


def test_the_trainer_tells_the_task_its_progress(tmp_path, monkeypatch):
    """Trainer.train_step calls Task.start_step(step, steps) before every update (the annealed entropy
    bonus of table-qa reads it); a resumed run continues the count."""
    from augrnn.tasks.table_qa import TableQATask

    calls = []
    original = TableQATask.start_step
    monkeypatch.setattr(TableQATask, "start_step", lambda self, step, steps: (calls.append((step, steps)),
                                                                             original(self, step, steps))[1])
    run = tmp_path / "progress"
    cfg = prepare_run("neural-programmer", "table-qa", run, TINY_TABLE + ["steps=3", "eval_every=3", "op_entropy=1.0"])
    train_run(cfg, run, progress=False)
    assert calls == [(0, 3), (1, 3), (2, 3)]
    train_run(prepare_run("neural-programmer", "table-qa", run, ["steps=5"]), run, progress=False)  # resumes
    assert calls[3:] == [(3, 5), (4, 5)]
