"""Training: configs, registries, the trainer, checkpoints, runs."""

from augrnn.train.config import ConfigError, TrainConfig, apply_overrides, make_config
from augrnn.train.registry import MODELS, PRESETS, TASKS, register_model
from augrnn.train.run import RunError, build, load_run, prepare_run, train_run
from augrnn.train.trainer import Trainer, evaluate, read_metrics

__all__ = [
    "MODELS", "PRESETS", "TASKS", "ConfigError", "RunError", "TrainConfig", "Trainer",
    "apply_overrides", "build", "evaluate", "load_run", "make_config", "prepare_run",
    "read_metrics", "register_model", "train_run",
]
