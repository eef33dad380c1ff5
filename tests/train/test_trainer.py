"""Trainer: checkpoints, resume, logs; and a real learns-the-task run."""

import json

import pytest
import torch

from augrnn.train import load_run, prepare_run, train_run
from augrnn.train.checkpoint import load_checkpoint, save_checkpoint

SMALL = [
    "fast=false", "controller_size=16", "memory_slots=8", "memory_width=4",
    "width=3", "max_length=3", "batch_size=4", "eval_batches=1", "eval_batch_size=8", "log_every=2",
]


def _train(run_dir, steps, extra=()):
    cfg = prepare_run("ntm", "copy", run_dir, SMALL + [f"steps={steps}", "eval_every=5", *extra])
    return train_run(cfg, run_dir, progress=False)


def test_run_dir_contents_and_logs(tmp_path):
    run = tmp_path / "run"
    final = _train(run, 10)
    assert {"config.yaml", "last.pt", "best.pt", "metrics.jsonl", "tb"} <= {p.name for p in run.iterdir()}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["split"] == "eval"] == [5, 10]
    assert {"cost", "bit_errors", "loss"} <= set(records[0])
    assert final["cost"] == records[-1]["cost"]
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tb").iterdir())


def test_resume_equals_uninterrupted(tmp_path):
    _train(tmp_path / "straight", 20)
    _train(tmp_path / "split", 10)
    _train(tmp_path / "split", 20)  # re-running train on the run dir resumes it
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "split" / "last.pt")
    assert a["train_state"]["step"] == b["train_state"]["step"] == 20
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    evals = [json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in evals if r["split"] == "eval"] == [5, 10, 15, 20]
    straight = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert [r["cost"] for r in evals if r["split"] == "eval"] == [r["cost"] for r in straight if r["split"] == "eval"]


def test_resume_with_other_model_is_refused(tmp_path):
    from augrnn.train import RunError

    _train(tmp_path / "r", 5)
    with pytest.raises(RunError, match="cannot resume"):
        prepare_run("lstm", "copy", tmp_path / "r")


def test_checkpoint_roundtrip_and_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"x": torch.arange(3), "step": 7})
    loaded = load_checkpoint(path)
    assert loaded["step"] == 7 and torch.equal(loaded["x"], torch.arange(3))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(path, {"x": Unpicklable()})
    assert load_checkpoint(path)["step"] == 7  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left behind


def test_load_run_restores_the_model(tmp_path):
    _train(tmp_path / "r", 5)
    cfg, model, task, device = load_run(tmp_path / "r", which="last")
    saved = load_checkpoint(tmp_path / "r" / "last.pt")["model"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key])
    assert not model.training and cfg.model == "ntm"


def test_ntm_learns_small_copy(tmp_path):
    """A real learning test: a small NTM solves short copy within the CI budget (fixed seed)."""
    cfg = prepare_run(
        "ntm", "copy", tmp_path / "learn",
        ["fast=false", "seed=0", "controller_size=32", "memory_slots=16", "memory_width=6", "width=4",
         "max_length=5", "batch_size=32", "lr=1e-3", "steps=1500", "eval_every=100", "eval_batches=2",
         "stop_error=0.05", "log_every=50"],
    )
    final = train_run(cfg, tmp_path / "learn", progress=False)
    assert final["bit_errors"] <= 0.05, final


@pytest.mark.parametrize("model", ["ntm", "lstm"])
@pytest.mark.parametrize("task", ["copy", "repeat-copy", "associative-recall", "ngrams", "priority-sort"])
def test_every_task_trains_with_its_default_preset(tmp_path, model, task):
    """The preset's full-size model takes real optimiser steps on every task (a smoke run, not a solve)."""
    cfg = prepare_run(model, task, tmp_path / "r", ["fast=false", "steps=2", "batch_size=2", "eval_every=2",
                                                   "eval_batches=1", "eval_batch_size=2", "log_every=1"])
    before = {k: v.clone() for k, v in load_run_model_state(cfg).items()}
    final = train_run(cfg, tmp_path / "r", progress=False)
    assert final["cost"] > 0 and torch.isfinite(torch.tensor(final["cost"]))
    after = load_checkpoint(tmp_path / "r" / "last.pt")["model"]
    assert any(not torch.equal(before[k], after[k]) for k in before)


def load_run_model_state(cfg):
    from augrnn.train import build

    torch.manual_seed(cfg.seed)
    model, _, _ = build(cfg)
    return model.state_dict()


@pytest.mark.parametrize("threshold, expected", [(1000.0, 3), (-1.0, 2)])
def test_curriculum_grows_the_size_only_when_training_succeeds(tmp_path, threshold, expected):
    cfg = prepare_run("ntm", "copy", tmp_path / "c", SMALL + ["steps=4", "eval_every=4", "curriculum=true",
                                                            "curriculum_start=2", f"curriculum_threshold={threshold}"])
    train_run(cfg, tmp_path / "c", progress=False)
    sizes = [json.loads(line).get("curriculum_size") for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    assert sizes[-2] == expected  # last train record (the eval record follows)
    assert load_checkpoint(tmp_path / "c" / "last.pt")["train_state"]["curriculum_size"] == expected


def test_lr_schedule_is_applied_and_resumes_exactly(tmp_path):
    schedule = ["lr_schedule=step", "lr_step_every=4", "lr_step_factor=0.5"]
    _train(tmp_path / "straight", 12, schedule)
    _train(tmp_path / "split", 6, schedule)
    _train(tmp_path / "split", 12, schedule)
    _train(tmp_path / "constant", 12)
    a, b, c = (load_checkpoint(tmp_path / name / "last.pt") for name in ("straight", "split", "constant"))
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    assert any(not torch.equal(a["model"][key], c["model"][key]) for key in a["model"])
    # the last update (step index 11) ran at lr · 0.5^(11 // 4) = lr / 4
    lr = a["optimizer"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(prepare_run("ntm", "copy", tmp_path / "x", SMALL).train.lr / 4)


def test_scheduled_lr_cosine_ends_at_the_final_ratio():
    from augrnn.train.config import TrainConfig
    from augrnn.train.trainer import scheduled_lr

    cfg = TrainConfig(lr=2e-3, steps=1000, lr_schedule="cosine", lr_final_ratio=0.05)
    values = [scheduled_lr(cfg, step) for step in range(0, 1001, 50)]
    assert values[0] == pytest.approx(2e-3) and values[-1] == pytest.approx(1e-4)
    assert all(x >= y for x, y in zip(values, values[1:]))  # never increases


@pytest.mark.parametrize("override, message", [
    ("lr_schedule=linear", "train.lr_schedule must be one of"),
    ("lr_final_ratio=2.0", "train.lr_final_ratio must be in [0, 1]"),
    ("lr_step_factor=0", "train.lr_step_factor must be in (0, 1]"),
    ("precision=fp16", "train.precision must be one of"),
])
def test_bad_lr_schedule_is_a_clear_config_error(tmp_path, override, message):
    from augrnn.train import ConfigError

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        _train(tmp_path / "bad", 2, [override])


def test_bf16_precision_autocasts_the_training_step_only(tmp_path):
    """precision=bf16: the training forward pass runs in bfloat16 (in fp32 on a CPU without native
    bfloat16); weights, evaluation and checkpoints stay fp32."""
    from augrnn.nn.precision import bf16_autocast_supported
    from augrnn.train.run import build
    from augrnn.train.trainer import Trainer

    cfg = prepare_run("seq2seq", "g2p", tmp_path / "run", [
        "train_words=64", "eval_words=16", "embedding_size=4", "encoder_size=3", "decoder_size=4",
        "input_feeding=false", "batch_size=8", "steps=3", "eval_every=3", "precision=bf16"])
    model, task, _ = build(cfg)
    seen = []
    model.output.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    Trainer(model, task, cfg.train, tmp_path / "run", progress=False).fit()
    assert seen[:3] == [torch.bfloat16 if bf16_autocast_supported("cpu") else torch.float32] * 3  # the training steps
    assert seen[3:] and all(dtype == torch.float32 for dtype in seen[3:])  # the evaluation
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())
    assert all(v.dtype == torch.float32 for v in load_checkpoint(tmp_path / "run" / "last.pt")["model"].values())


def test_restarts_keep_the_lowest_dev_error_and_resume(tmp_path):
    run = tmp_path / "r"
    final = _train(run, 10, ["restarts=3"])
    summary = json.loads((run / "restarts.json").read_text())
    results = summary["restarts"]
    assert [r["seed"] for r in results] == [0, 1, 2]
    chosen = min(range(3), key=lambda k: (results[k]["bit_errors"], results[k]["cost"]))
    assert summary["chosen"] == chosen and final["bit_errors"] == results[chosen]["bit_errors"]
    for name in ("last.pt", "best.pt", "metrics.jsonl"):  # the chosen restart's files, byte for byte
        assert (run / name).read_bytes() == (run / "restarts" / str(chosen) / name).read_bytes()
    # each restart is the plain run of its seed, and the run dir loads as the chosen one
    _train(tmp_path / "seed1", 10, ["seed=1"])
    a = load_checkpoint(tmp_path / "seed1" / "last.pt")["model"]
    b = load_checkpoint(run / "restarts" / "1" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, model, _, _ = load_run(run, which="last")
    chosen_state = load_checkpoint(run / "restarts" / str(chosen) / "last.pt")["model"]
    assert all(torch.equal(v, chosen_state[k]) for k, v in model.state_dict().items())
    # re-running resumes: finished restarts are not trained again, more steps continue each one
    stamp = (run / "restarts" / "0" / "last.pt").stat().st_mtime_ns
    _train(run, 10)
    assert (run / "restarts" / "0" / "last.pt").stat().st_mtime_ns == stamp
    _train(run, 15)
    assert all(load_checkpoint(run / "restarts" / str(k) / "last.pt")["train_state"]["step"] == 15 for k in range(3))


def test_restarts_in_worker_processes_match_the_sequential_ones(tmp_path):
    _train(tmp_path / "seq", 5, ["restarts=2"])
    _train(tmp_path / "par", 5, ["restarts=2", "restart_workers=2"])
    for k in ("0", "1"):
        a = load_checkpoint(tmp_path / "seq" / "restarts" / k / "last.pt")["model"]
        b = load_checkpoint(tmp_path / "par" / "restarts" / k / "last.pt")["model"]
        assert all(torch.equal(a[n], b[n]) for n in a)
    assert json.loads((tmp_path / "seq" / "restarts.json").read_text())["chosen"] == \
        json.loads((tmp_path / "par" / "restarts.json").read_text())["chosen"]


def test_restarts_refuse_hooks_they_cannot_run(tmp_path):
    cfg = prepare_run("ntm", "copy", tmp_path / "h", SMALL + ["steps=2", "restarts=2", "restart_workers=2"])
    with pytest.raises(ValueError, match="hooks"):
        train_run(cfg, tmp_path / "h", progress=False, hooks=[lambda *args: None])


@pytest.mark.parametrize("override", ["restarts=0", "restart_workers=0"])
def test_bad_restarts_are_a_clear_config_error(tmp_path, override):
    from augrnn.train.config import ConfigError

    with pytest.raises(ConfigError, match="restart"):
        _train(tmp_path / "bad", 5, [override])


def test_weight_average_matches_a_float64_reference():
    from augrnn.train.trainer import WeightAverage

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).double()
    decay = 0.7
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    ema = WeightAverage(model, decay)
    for _ in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
            model(torch.randn(4, 3, dtype=torch.float64))  # BatchNorm's running statistics move too (floating buffers)
        ema.update()
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                reference[key] = decay * reference[key] + (1 - decay) * value
    averaged = ema.state_dict()
    for key, value in reference.items():
        if value.is_floating_point():
            torch.testing.assert_close(averaged[key], value, rtol=1e-12, atol=1e-12)
    assert averaged["1.num_batches_tracked"] == 5  # integer buffers are the model's own
    own = {k: v.clone() for k, v in model.state_dict().items()}
    with ema.swapped() as swapped:
        assert swapped is model
        torch.testing.assert_close(model.state_dict(), averaged, rtol=0, atol=0)
    torch.testing.assert_close(model.state_dict(), own, rtol=0, atol=0)  # its own weights are back


def test_ema_decay_scores_and_saves_the_average_without_changing_training(tmp_path):
    """train.ema_decay: the weights being trained are those of a run without it; evaluation, best.pt,
    last.pt's ``model`` and load_run hold the average; resuming equals an uninterrupted run."""
    from augrnn.train.trainer import evaluate

    _train(tmp_path / "plain", 12)
    _train(tmp_path / "ema", 12, ["ema_decay=0.8"])
    _train(tmp_path / "split", 6, ["ema_decay=0.8"])
    _train(tmp_path / "split", 12, ["ema_decay=0.8"])
    a, b, c = (load_checkpoint(tmp_path / name / "last.pt") for name in ("plain", "ema", "split"))
    assert "train_model" not in a
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["train_model"][key])
        assert torch.equal(b["model"][key], c["model"][key]) and torch.equal(b["train_model"][key], c["train_model"][key])
    assert any(not torch.equal(b["model"][k], b["train_model"][k]) for k in a["model"])
    cfg, model, task, device = load_run(tmp_path / "ema", which="last")
    assert all(torch.equal(v, b["model"][k]) for k, v in model.state_dict().items())
    logged = [r for r in map(json.loads, (tmp_path / "ema" / "metrics.jsonl").read_text().splitlines()) if r["split"] == "eval"]
    scored = evaluate(model, task, seed=cfg.seed + 1, batches=cfg.train.eval_batches,
                      batch_size=cfg.train.eval_batch_size, device=device)
    assert logged[-1]["cost"] == pytest.approx(scored["cost"], rel=1e-6)


@pytest.mark.parametrize("value", ["1.0", "-0.1"])
def test_bad_ema_decay_is_a_clear_config_error(tmp_path, value):
    from augrnn.train.config import ConfigError

    with pytest.raises(ConfigError, match=r"train.ema_decay must be in \[0, 1\)"):
        _train(tmp_path / "bad", 2, [f"ema_decay={value}"])
