"""Run configuration: dataclasses, presets, ``key=value`` overrides, YAML files.

A run's config has top-level keys (``model``, ``task``, ``seed``, ``device``,
``fast``, ``threads``) and three sections: ``model_args`` (the model's config
dataclass), ``task_args`` (the task's) and ``train`` (:class:`TrainConfig`).
Overrides use dotted keys (``train.lr=3e-4``) or, when unambiguous, the last
part alone (``lr=3e-4``). Values are type-checked by OmegaConf against the
dataclasses; an unknown key lists the valid ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from augrnn.train.registry import MODELS, PRESETS, TASKS

__all__ = ["TrainConfig", "RunConfig", "ConfigError", "make_config", "apply_overrides", "load_config", "save_config", "flat_keys"]


class ConfigError(ValueError):
    """A user mistake in the configuration (unknown key, wrong type, bad value)."""


@dataclass
class TrainConfig:
    optimizer: str = "rmsprop"  # rmsprop | adam
    lr: float = 3e-4
    momentum: float = 0.9  # RMSProp momentum (Graves et al. 2014)
    batch_size: int = 32
    steps: int = 20000  # optimiser updates (batches)
    clip_value: float = 0.0  # elementwise gradient clip, 0 = off (paper: 10)
    clip_norm: float = 10.0  # global-norm gradient clip, 0 = off
    curriculum: bool = False  # grow the task's size from curriculum_start as training succeeds
    curriculum_start: int = 2
    curriculum_threshold: float = 0.5  # mean training error metric (e.g. bit errors/seq) that unlocks the next size
    eval_every: int = 250  # steps between evaluations (and checkpoints)
    eval_batches: int = 4
    eval_batch_size: int = 64
    log_every: int = 25
    stop_error: float = -1.0  # stop once the task's eval error metric <= this (negative = never)
    stop_after_evals: int = 1  # ... for this many evaluations in a row
    grad_noise_eta: float = 0.0  # annealed Gaussian gradient noise, σ_t² = η/(1+t)^γ, added after clipping (Neelakantan et al. 2015b, arXiv 1511.06807); 0 = off
    grad_noise_gamma: float = 0.55  # γ of the noise schedule
    lr_schedule: str = "constant"  # constant | cosine (lr → lr·lr_final_ratio at `steps`) | step (× lr_step_factor every lr_step_every)
    lr_final_ratio: float = 0.0  # cosine: the final learning rate as a fraction of lr
    lr_step_every: int = 0  # step: updates between decays (0 = never)
    lr_step_factor: float = 0.5  # step: the decay factor (Sukhbaatar et al. 2015 halve it every 25 epochs)
    ema_decay: float = 0.0  # > 0: evaluate and save an exponential moving average of the weights, avg ← d·avg + (1−d)·w after each update (Polyak averaging); 0 = off
    precision: str = "fp32"  # fp32 | bf16: autocast of the training forward pass and loss to bfloat16 (weights, gradients, optimiser and evaluation stay fp32)


@dataclass
class RunConfig:
    model: str = "ntm"
    task: str = "copy"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    fast: bool = True  # compiled step (see augrnn.nn.recurrent); false = eager reference path
    threads: int = 1  # torch CPU threads (0 = leave PyTorch's default)
    restarts: int = 1  # train this many runs (seeds seed, seed+1, ...) in RUN_DIR/restarts/K; keep the lowest final dev error
    restart_workers: int = 1  # restarts trained at once, each in its own process (1 = one after another)
    model_args: Any = None
    task_args: Any = None
    train: TrainConfig = field(default_factory=TrainConfig)


def make_config(model: str, task: str, preset: str | None = "default") -> DictConfig:
    """The full default config of ``model`` on ``task`` with ``preset`` applied (``None``: the
    dataclasses' defaults alone)."""
    if model not in MODELS:
        raise ConfigError(f"unknown model {model!r}; choose one of: {', '.join(sorted(MODELS))}")
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of: {', '.join(sorted(TASKS))}")
    presets = sorted({p for (m, t, p) in PRESETS if (m, t) == (model, task)})
    if preset is not None and preset not in presets:
        raise ConfigError(f"unknown preset {preset!r} for {model} on {task}; choose one of: {', '.join(presets)}")
    cfg = OmegaConf.structured(RunConfig(model=model, task=task))
    cfg.model_args = OmegaConf.structured(MODELS[model].config_class)
    cfg.task_args = OmegaConf.structured(TASKS[task].config_class)
    if preset is None:
        return cfg
    overrides = PRESETS[(model, task, preset)].overrides
    return apply_overrides(cfg, [f"{k}={v}" for k, v in overrides.items()])


def flat_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Every leaf key, dotted."""
    keys = []
    for key, value in cfg.items():
        full = f"{prefix}{key}"
        keys.extend(flat_keys(value, full + ".") if isinstance(value, DictConfig) else [full])
    return keys


def _resolve_key(cfg: DictConfig, key: str) -> str:
    keys = flat_keys(cfg)
    if key in keys:
        return key
    matches = [k for k in keys if k.rsplit(".", 1)[-1] == key]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError(f"override key {key!r} is ambiguous; use one of: {', '.join(matches)}")
    close = difflib.get_close_matches(key, keys + [k.rsplit(".", 1)[-1] for k in keys], n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown config key {key!r}.{hint} Valid keys: {', '.join(keys)}")


def apply_overrides(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """Apply ``key=value`` strings; raise :class:`ConfigError` on a typo or a bad type."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value (e.g. lr=3e-4)")
        key, value = item.split("=", 1)
        key = _resolve_key(cfg, key.strip())
        if key in ("model", "task"):
            raise ConfigError(f"{key!r} is chosen on the command line (augrnn train MODEL TASK), not with -s")
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"{key}={value}"]))
        except OmegaConfBaseException as err:
            expected = type(OmegaConf.select(cfg, key)).__name__
            raise ConfigError(f"bad value for {key}: {value!r} (expected {expected}): {str(err.msg).splitlines()[0]}") from None
    return cfg


def merge_file(cfg: DictConfig, path: str | Path) -> DictConfig:
    """Merge a YAML file of overrides (nested or dotted keys) into ``cfg``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config: no such file: {path}")
    try:
        loaded = OmegaConf.load(path)
    except Exception as err:  # YAML syntax errors come in several types
        raise ConfigError(f"--config: cannot parse {path}: {err}") from None
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"--config: {path} must hold a mapping of keys to values")
    flat = {}
    for key in flat_keys(loaded):
        flat[key] = OmegaConf.select(loaded, key)
    return apply_overrides(cfg, [f"{k}={_yaml_scalar(v)}" for k, v in flat.items() if k not in ("model", "task")])


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def save_config(cfg: DictConfig, path: Path) -> None:
    from augrnn.train.checkpoint import atomic_write_text

    atomic_write_text(path, OmegaConf.to_yaml(cfg))


def load_config(path: Path) -> DictConfig:
    """Load a run's saved config, re-typed against the dataclasses.

    A key the saved config lacks (an option added after the run was made) takes the dataclass
    default, the behaviour before the option existed, not the current preset's value.
    """
    saved = OmegaConf.load(path)
    cfg = make_config(saved.model, saved.task, preset=None)
    plain = OmegaConf.to_container(saved)
    train = plain.get("train") or {}
    if "stop_bit_errors" in train:  # runs saved before 0.2 named train.stop_error this way
        train.setdefault("stop_error", train.pop("stop_bit_errors"))
    return OmegaConf.merge(cfg, {k: v for k, v in plain.items() if k not in ("model", "task")})
