"""Runs: a directory holding a config, checkpoints and logs.

``RUN_DIR/config.yaml`` (the resolved config), ``last.pt`` and ``best.pt``
(atomic checkpoints), ``metrics.jsonl``, ``tb/`` (TensorBoard events) and
``figures/``. Training into a directory that has a ``config.yaml`` resumes it.

With ``restarts=N`` (N > 1) the run trains N runs that differ only in their seed
(``seed``, ``seed + 1``, …) in ``RUN_DIR/restarts/K/``, ``restart_workers`` at a
time, and keeps the one whose last evaluation on the dev split has the lowest
error (ties: the lower cost): its ``last.pt``, ``best.pt`` and ``metrics.jsonl``
are copied into ``RUN_DIR``, and ``RUN_DIR/restarts.json`` lists every restart's
result and the one chosen. The test split is never looked at. Interrupted
restarts resume like any run.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from augrnn.tasks import TASKS, Task
from augrnn.train.checkpoint import atomic_write_bytes, atomic_write_text, load_checkpoint
from augrnn.train.config import ConfigError, apply_overrides, load_config, make_config, merge_file, save_config
from augrnn.train.registry import build_model
from augrnn.train.trainer import Trainer, read_metrics

__all__ = ["prepare_run", "train_run", "load_run", "build", "resolve_device", "RunError"]


class RunError(ValueError):
    """A user mistake about a run directory (missing, not a run, no checkpoint)."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available on this machine")
    return device


def configure_threads(threads: int) -> None:
    """CPU settings for training and inference processes.

    ``threads`` torch threads (0 leaves PyTorch's default): one is the default,
    as two threads on a busy 2-core machine were slower than one in our
    measurements. Denormal floats are flushed to zero: sharp attention weights
    times a small constant memory make denormals, which are very slow on x86.
    """
    if threads < 0:
        raise ConfigError(f"threads must be >= 0 (0 = PyTorch default), got {threads}")
    if threads:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(True)


def prepare_run(
    model: str,
    task: str,
    run_dir: Path,
    overrides: list[str] = (),
    config_file: str | None = None,
    preset: str = "default",
) -> DictConfig:
    """The config of a new run, or of the run in ``run_dir`` (with ``overrides`` on top)."""
    saved = run_dir / "config.yaml"
    if saved.exists():
        cfg = load_config(saved)
        if (model, task) != (cfg.model, cfg.task):
            raise RunError(
                f"{run_dir} holds a {cfg.model} run on {cfg.task}; cannot resume it as {model} on {task} "
                f"(choose another --run-dir)"
            )
    else:
        cfg = make_config(model, task, preset)
    if config_file:
        cfg = merge_file(cfg, config_file)
    return apply_overrides(cfg, list(overrides))


def build(cfg: DictConfig) -> tuple[nn.Module, Task, torch.device]:
    """The task, and the model on its device, from a resolved config."""
    device = resolve_device(cfg.device)
    try:
        task = TASKS[cfg.task](OmegaConf.to_object(cfg.task_args))
        model_args = OmegaConf.to_object(cfg.model_args)
        model = build_model(cfg.model, model_args, task, fast=cfg.fast)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return model.to(device), task, device


def train_run(cfg: DictConfig, run_dir: Path, progress: bool = True, hooks=None) -> dict[str, float]:
    """Train (or resume) the run in ``run_dir``; returns the last evaluation.

    ``cfg.restarts`` > 1: train the restarts and keep the best on dev (module docstring).
    """
    if cfg.restarts < 1 or cfg.restart_workers < 1:
        raise ConfigError(f"restarts and restart_workers must be >= 1, got {cfg.restarts} and {cfg.restart_workers}")
    if cfg.restarts > 1:
        if hooks and cfg.restart_workers > 1:
            raise ValueError("train_run: hooks run in this process only; use restart_workers=1 with hooks")
        return _train_restarts(cfg, Path(run_dir), progress, hooks)
    configure_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model, task, device = build(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(
        model, task, OmegaConf.to_object(cfg.train), run_dir, seed=cfg.seed, device=device,
        extra_state={"config": OmegaConf.to_container(cfg)}, hooks=hooks, progress=progress,
    )
    save_config(cfg, run_dir / "config.yaml")
    return trainer.fit()


def _restart_config(cfg: DictConfig, k: int) -> DictConfig:
    sub = cfg.copy()
    sub.restarts, sub.restart_workers, sub.seed = 1, 1, cfg.seed + k
    return sub


def _train_one(run_dir: str) -> None:
    """One restart in a worker process, from the config its parent saved in ``run_dir``."""
    train_run(load_config(Path(run_dir) / "config.yaml"), Path(run_dir), progress=False)


def _last_eval(run_dir: Path) -> dict:
    evals = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("split") == "eval"]
    if not evals:
        raise RunError(f"{run_dir} ended without an evaluation; cannot compare restarts")
    return evals[-1]


def _train_restarts(cfg: DictConfig, run_dir: Path, progress: bool, hooks) -> dict[str, float]:
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, run_dir / "config.yaml")
    task_class = TASKS[cfg.task]
    dirs = [run_dir / "restarts" / str(k) for k in range(cfg.restarts)]
    configs = [_restart_config(cfg, k) for k in range(cfg.restarts)]
    error, cost = task_class.error_metric, task_class.cost_metric
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)

    def done(k: int) -> None:
        say(f"restart {k + 1}/{cfg.restarts} (seed {configs[k].seed}): dev {error} "
            f"{_last_eval(dirs[k])[error]:.4g}")

    if cfg.restart_workers == 1:
        for k, (sub_cfg, sub_dir) in enumerate(zip(configs, dirs)):
            say(f"restart {k + 1}/{cfg.restarts} (seed {sub_cfg.seed}) in {sub_dir}")
            train_run(sub_cfg, sub_dir, progress=progress, hooks=hooks)
            done(k)
    else:
        workers = min(cfg.restart_workers, cfg.restarts)
        say(f"{cfg.restarts} restarts, {workers} at a time in their own processes; "
            f"each logs to {run_dir / 'restarts'}/K/metrics.jsonl")
        for sub_cfg, sub_dir in zip(configs, dirs):
            sub_dir.mkdir(parents=True, exist_ok=True)
            save_config(sub_cfg, sub_dir / "config.yaml")
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            jobs = {pool.submit(_train_one, str(d)): k for k, d in enumerate(dirs)}
            for job in as_completed(jobs):
                job.result()
                done(jobs[job])
    results = [{"restart": k, "seed": int(c.seed), **_last_eval(d)} for k, (c, d) in enumerate(zip(configs, dirs))]
    chosen = min(range(len(results)), key=lambda k: (results[k][error], results[k][cost]))
    for name in ("best.pt", "last.pt", "metrics.jsonl"):
        if (dirs[chosen] / name).exists():
            atomic_write_bytes(run_dir / name, (dirs[chosen] / name).read_bytes())
    summary = {"selected_by": f"the last dev evaluation's {error} (ties: {cost})", "chosen": chosen,
               "restarts": results}
    atomic_write_text(run_dir / "restarts.json", json.dumps(summary, indent=2) + "\n")
    say(f"kept restart {chosen + 1} (seed {results[chosen]['seed']}); its checkpoints are now {run_dir}'s")
    final = {k: v for k, v in results[chosen].items() if k not in ("split", "time")}
    return final


def load_run(
    run_dir: Path, which: str = "best", device: str | None = None, fast: bool = False, overrides: list[str] = ()
) -> tuple[DictConfig, nn.Module, Task, torch.device]:
    """The saved model of a run (``best`` or ``last`` checkpoint), in eval mode.

    ``overrides`` (``key=value``) change the loaded config, e.g. ``eval_split=test``.

    ``fast`` defaults to off here: for a one-off evaluation or prediction, compiling
    an inference graph (tens of seconds on a cold cache) costs more than it saves.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run directory not found: {run_dir}")
    if not (run_dir / "config.yaml").exists():
        raise RunError(f"{run_dir} is not a run directory (no config.yaml); train one with `augrnn train`")
    path = run_dir / f"{which}.pt"
    if not path.exists():
        path = run_dir / "last.pt"
    if not path.exists():
        raise RunError(f"{run_dir} has no checkpoint yet (no {which}.pt or last.pt)")
    cfg = load_config(run_dir / "config.yaml")
    if overrides:
        cfg = apply_overrides(cfg, list(overrides))
    if device is not None:
        cfg.device = device
    cfg.fast = fast
    configure_threads(cfg.threads)
    model, task, device = build(cfg)
    model.load_state_dict(load_checkpoint(path, map_location=device)["model"])
    model.eval()
    return cfg, model, task, device
