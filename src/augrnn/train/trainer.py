"""A training loop that knows nothing of the model.

It needs a module mapping ``inputs [B, T, I]`` to ``logits [B, T, O]`` and a
:class:`augrnn.tasks.Task`; it owns the optimiser, gradient clipping, the
curriculum, evaluation, logging (``metrics.jsonl`` and TensorBoard), atomic
checkpoints (``last.pt``, ``best.pt``) and resuming from them, and optionally an
exponential moving average of the weights (``train.ema_decay``).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import get_ema_multi_avg_fn
from tqdm.auto import tqdm

from augrnn.nn.precision import autocast
from augrnn.tasks import Task
from augrnn.train.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from augrnn.train.config import ConfigError, TrainConfig

__all__ = ["Trainer", "WeightAverage", "evaluate", "make_optimizer", "MetricsLog", "add_gradient_noise", "scheduled_lr"]

OPTIMIZERS = ("adam", "rmsprop")


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    # foreach: one multi-tensor update instead of a Python loop over parameters (same arithmetic;
    # ~15% of a small model's optimiser step on a CPU).
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, foreach=True)
    if cfg.optimizer == "rmsprop":  # Graves et al. 2014: RMSProp with momentum 0.9
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, alpha=0.95, eps=1e-4, foreach=True)
    raise ConfigError(f"train.optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    task: Task,
    *,
    seed: int,
    batches: int,
    batch_size: int,
    size: int | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Mean per-example metrics on the task's evaluation batches (:meth:`Task.eval_batches`),
    as :meth:`Task.summarize` reports them, plus ``examples``, how many were scored.

    The same ``seed`` gives the same sequences, so evaluations are comparable.
    """
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    for batch in task.eval_batches(seed, batches, batch_size, size=size, device=device):
        outputs = task.forward(model, batch)
        values = task.metrics(outputs, batch)
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + float(value.sum())
        count += len(next(iter(values.values())))
    model.train(was_training)
    return {**task.summarize({key: total / max(count, 1) for key, total in sums.items()}), "examples": count}


class WeightAverage:
    """An exponential moving average of a model's floating-point weights and buffers (Polyak
    averaging): ``average ← decay·average + (1 − decay)·weights`` after every update, by
    :func:`torch.optim.swa_utils.get_ema_multi_avg_fn`. It starts from the weights it is given.

    Unlike :class:`torch.optim.swa_utils.AveragedModel` it keeps no second module (a deep copy
    of a model holding compiled steps): :meth:`swapped` puts the average into the model itself.

    Examples:
        >>> layer = nn.Linear(1, 1, bias=False)
        >>> _ = layer.weight.data.fill_(0.0)
        >>> ema = WeightAverage(layer, decay=0.5)
        >>> _ = layer.weight.data.fill_(1.0); ema.update()
        >>> _ = layer.weight.data.fill_(3.0); ema.update()
        >>> ema.state_dict()["weight"].item(), layer.weight.item()
        (1.75, 3.0)
        >>> with ema.swapped():
        ...     layer.weight.item()
        1.75
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"WeightAverage: decay must be in (0, 1), got {decay!r}")
        self.model = model
        state = model.state_dict()  # detached tensors sharing the parameters' storage
        self.names = [name for name, value in state.items() if value.is_floating_point()]
        self.live = [state[name] for name in self.names]
        self.average = [value.detach().clone() for value in self.live]
        self._update = get_ema_multi_avg_fn(decay)

    @torch.no_grad()
    def update(self) -> None:
        self._update(self.average, self.live, None)

    @contextlib.contextmanager
    def swapped(self):
        """Within the block the model holds the averaged weights; its own come back after."""
        with torch.no_grad():
            own = [value.clone() for value in self.live]
            for value, average in zip(self.live, self.average):
                value.copy_(average)
        try:
            yield self.model
        finally:
            with torch.no_grad():
                for value, saved in zip(self.live, own):
                    value.copy_(saved)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The model's ``state_dict`` with the averaged values (loadable into the model)."""
        return {**self.model.state_dict(), **dict(zip(self.names, self.average))}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, value in zip(self.names, self.average):
            value.copy_(state[name])


class MetricsLog:
    """``metrics.jsonl`` (one JSON object per line) plus TensorBoard events."""

    def __init__(self, run_dir: Path, resume_step: int = 0) -> None:
        self.path = run_dir / "metrics.jsonl"
        if self.path.exists():  # drop records a crashed run wrote after its last checkpoint
            kept = [line for line in self.records() if line.get("step", 0) <= resume_step]
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tb"), purge_step=resume_step + 1)

    def records(self) -> list[dict]:
        return read_metrics(self.path)

    def log(self, split: str, step: int, metrics: dict[str, float]) -> None:
        record = {"split": split, "step": step, "time": time.time(), **metrics}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        for key, value in metrics.items():
            self.writer.add_scalar(f"{split}/{key}", value, step)

    def close(self) -> None:
        self.writer.close()


def read_metrics(path: Path) -> list[dict]:
    """Records of a ``metrics.jsonl``; a torn last line (a crash mid-write) is skipped."""
    if not Path(path).exists():
        return []
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


@dataclass
class TrainState:
    step: int = 0
    curriculum_size: int | None = None
    best_cost: float = math.inf
    evals_below_stop: int = 0
    elapsed: float = 0.0  # seconds of training before this process
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer:
    """Train ``model`` on ``task`` per ``cfg``; checkpoints and logs go to ``run_dir``.

    Args:
        model: maps ``[B, T, I]`` to logits ``[B, T, O]``.
        task: draws batches, gives the loss and metrics.
        cfg: :class:`TrainConfig`.
        run_dir: where checkpoints and logs go; an existing ``last.pt`` is resumed.
        seed: seeds the data stream (training ``seed``, evaluation ``seed + 1``).
        device: where batches go (the model must already be there).
        extra_state: saved in checkpoints (e.g. the resolved config).
        hooks: ``hook(trainer, split, step, metrics)`` called after each log.
        progress: show a tqdm bar.

    With ``cfg.ema_decay > 0`` evaluation scores the moving average of the weights, and a
    checkpoint's ``model`` holds that average (what ``load_run``, ``predict`` and the pictures
    use); the weights being trained are saved beside it as ``train_model``.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        cfg: TrainConfig,
        run_dir: Path,
        *,
        seed: int = 0,
        device: torch.device | str = "cpu",
        extra_state: dict[str, Any] | None = None,
        hooks: list[Callable] | None = None,
        progress: bool = True,
    ) -> None:
        _validate(cfg)
        self.model, self.task, self.cfg = model, task, cfg
        self.run_dir = Path(run_dir)
        self.seed, self.device = seed, device
        self.extra_state = extra_state or {}
        self.hooks = hooks or []
        self.progress = progress
        self.optimizer = make_optimizer(model.parameters(), cfg)
        self.rng = np.random.default_rng(seed)
        self.state = TrainState()
        self.ema = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        if cfg.curriculum:
            low, high = task.train_size_range
            self.state.curriculum_size = max(low, min(high, cfg.curriculum_start))
        self._resume()

    # -- checkpoints --------------------------------------------------------------
    def _payload(self) -> dict[str, Any]:
        weights = {"model": self.model.state_dict()}
        if self.ema is not None:
            weights = {"model": self.ema.state_dict(), "train_model": weights["model"]}
        return {
            **weights,
            "optimizer": self.optimizer.state_dict(),
            "train_state": vars(self.state).copy(),
            "data_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            **self.extra_state,
        }

    def save(self, name: str) -> None:
        save_checkpoint(self.run_dir / f"{name}.pt", self._payload())

    def _resume(self) -> None:
        path = self.run_dir / "last.pt"
        if not path.exists():
            return
        ckpt = load_checkpoint(path)
        try:
            self.model.load_state_dict(ckpt.get("train_model", ckpt["model"]))
            if self.ema is not None:  # a run that turns the average on when resumed starts it here
                self.ema.load_state_dict(ckpt["model"] if "train_model" in ckpt else self.model.state_dict())
        except RuntimeError as err:
            raise ConfigError(
                f"cannot resume {self.run_dir}: its checkpoint does not fit this model "
                f"(were model_args changed?): {str(err).splitlines()[0]}"
            ) from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        for group in self.optimizer.param_groups:  # a resumed run may change the learning rate
            group["lr"] = self.cfg.lr
        self.state = TrainState(**ckpt["train_state"])
        self.rng.bit_generator.state = ckpt["data_rng"]
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])

    # -- the loop -----------------------------------------------------------------
    def train_step(self) -> dict[str, torch.Tensor]:
        """One optimiser update; returns detached 0-dim metric tensors (no device sync)."""
        batch = self.task.sample(self.cfg.batch_size, self.rng, max_size=self.state.curriculum_size, device=self.device)
        self.task.start_step(self.state.step, self.cfg.steps)
        with autocast(self.device, self.cfg.precision, "train.precision"):
            outputs = self.task.forward(self.model, batch)
            loss = self.task.loss(outputs, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip_value > 0:
            nn.utils.clip_grad_value_(self.model.parameters(), self.cfg.clip_value)
        if self.cfg.clip_norm > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm, foreach=True)
        if self.cfg.lr_schedule != "constant":
            lr = scheduled_lr(self.cfg, self.state.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        if self.cfg.grad_noise_eta > 0:
            add_gradient_noise(self.model.parameters(), self.state.step, self.cfg.grad_noise_eta, self.cfg.grad_noise_gamma)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update()
        with torch.no_grad():
            metrics = {k: v.detach().float().mean() for k, v in self.task.metrics(outputs, batch).items()}
        metrics["loss"] = loss.detach()
        return metrics

    def evaluate(self, size: int | None = None) -> dict[str, float]:
        """Scores the averaged weights when ``cfg.ema_decay > 0``."""
        with self.ema.swapped() if self.ema is not None else contextlib.nullcontext():
            return evaluate(
                self.model, self.task, seed=self.seed + 1, batches=self.cfg.eval_batches,
                batch_size=self.cfg.eval_batch_size, size=size, device=self.device,
            )

    def fit(self) -> dict[str, float]:
        """Train until ``cfg.steps`` or the stop criterion; return the last evaluation."""
        cfg, state = self.cfg, self.state
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = MetricsLog(self.run_dir, resume_step=state.step)
        bar = tqdm(total=cfg.steps, initial=state.step, disable=not self.progress, unit="batch",
                   dynamic_ncols=True, mininterval=0.5, desc=f"{self.task.name}")
        started = time.perf_counter()
        self._elapsed_before = state.elapsed
        self._first_step = state.step
        window_start = started
        window: list[dict[str, float]] = []
        last_eval: dict[str, float] = {}
        try:
            while state.step < cfg.steps:
                metrics = self.train_step()
                if not window and state.step == self._first_step:
                    # The first step compiled the fast path; freeze the compiler's millions of
                    # Python objects so that garbage collections stop walking them (~10% of time).
                    gc.collect()
                    gc.freeze()
                state.step += 1
                window.append(metrics)
                self._curriculum(metrics)
                if state.step % cfg.log_every == 0 or state.step == cfg.steps:
                    mean = {k: torch.stack([m[k] for m in window]).mean().item() for k in window[0]}
                    now = time.perf_counter()
                    mean["sequences_per_s"] = len(window) * cfg.batch_size / max(1e-9, now - window_start)
                    window_start = now
                    if state.curriculum_size is not None:
                        mean["curriculum_size"] = state.curriculum_size
                    log.log("train", state.step, mean)
                    task = self.task
                    bar.set_postfix({task.cost_metric: f"{mean[task.cost_metric]:.3g}",
                                     task.error_metric: f"{mean[task.error_metric]:.3g}"}, refresh=False)
                    for hook in self.hooks:
                        hook(self, "train", state.step, mean)
                    window = []
                bar.update(1)
                if state.step % cfg.eval_every == 0 or state.step == cfg.steps:
                    last_eval = self._evaluate_and_save(log, started)
                    if self._should_stop(last_eval):
                        break
                    window, window_start = [], time.perf_counter()  # throughput excludes evaluation
        finally:
            bar.close()
            log.close()
        return last_eval

    def _evaluate_and_save(self, log: MetricsLog, started: float) -> dict[str, float]:
        state = self.state
        metrics = self.evaluate()
        state.elapsed = self._elapsed_before + time.perf_counter() - started
        metrics["elapsed_s"] = state.elapsed
        log.log("eval", state.step, metrics)
        for hook in self.hooks:
            hook(self, "eval", state.step, metrics)
        if metrics[self.task.cost_metric] < state.best_cost:
            state.best_cost = metrics[self.task.cost_metric]
            self.save("best")
        self.save("last")
        return metrics

    def _curriculum(self, metrics: dict[str, torch.Tensor]) -> None:
        state = self.state
        if state.curriculum_size is None:
            return
        high = self.task.train_size_range[1]
        if state.curriculum_size < high and metrics[self.task.error_metric].item() <= self.cfg.curriculum_threshold:
            state.curriculum_size += 1

    def _should_stop(self, metrics: dict[str, float]) -> bool:
        cfg, state = self.cfg, self.state
        if cfg.stop_error < 0:
            return False
        full = state.curriculum_size is None or state.curriculum_size >= self.task.train_size_range[1]
        state.evals_below_stop = state.evals_below_stop + 1 if full and metrics[self.task.error_metric] <= cfg.stop_error else 0
        return state.evals_below_stop >= cfg.stop_after_evals


LR_SCHEDULES = ("constant", "cosine", "step")
PRECISIONS = ("fp32", "bf16")


def scheduled_lr(cfg: TrainConfig, step: int) -> float:
    """The learning rate of update ``step`` (0-based): a pure function of the step, so a
    resumed run follows the same schedule as an uninterrupted one.

    Examples:
        >>> cfg = TrainConfig(lr=1.0, steps=100, lr_schedule="cosine", lr_final_ratio=0.1)
        >>> scheduled_lr(cfg, 0), round(scheduled_lr(cfg, 50), 3), scheduled_lr(cfg, 100)
        (1.0, 0.55, 0.1)
        >>> scheduled_lr(TrainConfig(lr=1.0, lr_schedule="step", lr_step_every=10, lr_step_factor=0.5), 25)
        0.25
    """
    if cfg.lr_schedule == "cosine":
        progress = min(step, cfg.steps) / cfg.steps
        low = cfg.lr * cfg.lr_final_ratio
        return low + (cfg.lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if cfg.lr_schedule == "step" and cfg.lr_step_every > 0:
        return cfg.lr * cfg.lr_step_factor ** (step // cfg.lr_step_every)
    return cfg.lr


@torch.no_grad()
def add_gradient_noise(params, step: int, eta: float, gamma: float = 0.55) -> float:
    """Add N(0, σ_t²) to every gradient, σ_t² = η / (1 + t)^γ (arXiv 1511.06807 eq. 1); returns σ_t.

    Called after clipping, as in the paper's Neural Programmer experiments (§4.3).
    Draws from torch's global generator (checkpointed with the run).
    """
    sigma = math.sqrt(eta / (1 + step) ** gamma)
    for p in params:
        if p.grad is not None:
            p.grad.add_(torch.randn_like(p.grad), alpha=sigma)
    return sigma


def _validate(cfg: TrainConfig) -> None:
    if cfg.optimizer not in OPTIMIZERS:
        raise ConfigError(f"train.optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    for name in ("lr", "batch_size", "steps", "eval_every", "eval_batches", "eval_batch_size", "log_every"):
        if not getattr(cfg, name) > 0:
            raise ConfigError(f"train.{name} must be > 0, got {getattr(cfg, name)!r}")
    if cfg.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"train.lr_schedule must be one of {LR_SCHEDULES}, got {cfg.lr_schedule!r}")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"train.precision must be one of {PRECISIONS}, got {cfg.precision!r}")
    if not 0.0 <= cfg.lr_final_ratio <= 1.0:
        raise ConfigError(f"train.lr_final_ratio must be in [0, 1], got {cfg.lr_final_ratio!r}")
    if not 0.0 < cfg.lr_step_factor <= 1.0:
        raise ConfigError(f"train.lr_step_factor must be in (0, 1], got {cfg.lr_step_factor!r}")
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise ConfigError(f"train.ema_decay must be in [0, 1) (0 disables it), got {cfg.ema_decay!r}")
    for name in ("clip_value", "clip_norm", "grad_noise_eta", "grad_noise_gamma", "lr_step_every"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"train.{name} must be >= 0 (0 disables it), got {getattr(cfg, name)!r}")
