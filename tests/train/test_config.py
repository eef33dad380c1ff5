"""Config: presets, typed key=value overrides, typo messages, YAML files."""

import pytest

from augrnn.train import ConfigError, PRESETS, apply_overrides, make_config
from augrnn.train.config import merge_file


def test_defaults_and_paper_preset_follow_graves_table_2():
    paper = make_config("ntm", "associative-recall", preset="paper")
    assert paper.model_args.read_heads == 4 and paper.model_args.write_heads == 4
    assert paper.model_args.memory_slots == 128 and paper.model_args.memory_width == 20
    assert paper.train.optimizer == "rmsprop" and paper.train.lr == 1e-4 and paper.train.momentum == 0.9
    assert paper.train.clip_value == 10.0 and paper.train.batch_size == 1
    assert make_config("ntm", "priority-sort", preset="paper").model_args.read_heads == 8
    assert make_config("ntm", "ngrams", preset="paper").train.lr == 3e-5
    assert make_config("lstm", "copy", preset="paper").model_args.hidden_size == 256


def test_every_model_and_task_has_presets_and_they_build():
    """A family's models run on its own tasks: every model and every task has a
    ``default`` preset with some partner, and every preset builds a valid config.
    The NTM family (ntm, lstm x the five Graves et al. 2014 tasks) also has ``paper``."""
    from augrnn.train import MODELS, TASKS

    pairs = {(m, t) for (m, t, _) in PRESETS}
    assert {t for (_, t) in pairs} == set(TASKS) and {m for (m, _) in pairs} == set(MODELS)
    for model, task in pairs:
        assert (model, task, "default") in PRESETS, (model, task)
    for model, task, preset in PRESETS:
        make_config(model, task, preset)
    for model in ("ntm", "lstm"):
        for task in ("copy", "repeat-copy", "associative-recall", "ngrams", "priority-sort"):
            assert {(model, task, "default"), (model, task, "paper")} <= set(PRESETS)


def test_overrides_dotted_and_bare_keys_are_typed():
    cfg = make_config("ntm", "copy")
    cfg = apply_overrides(cfg, ["train.lr=3e-4", "memory_slots=64", "fast=false", "max_length=7"])
    assert cfg.train.lr == 3e-4 and isinstance(cfg.train.lr, float)
    assert cfg.model_args.memory_slots == 64 and cfg.fast is False and cfg.task_args.max_length == 7


@pytest.mark.parametrize(
    "override, message",
    [
        ("lr=fast", "train.lr"),
        ("memory_slot=64", "Did you mean 'memory_slots'"),
        ("nonsense=1", "Valid keys: .*train.lr"),
        ("fast=maybe", "fast"),
        ("lr", "key=value"),
        ("model=lstm", "command line"),
    ],
)
def test_bad_overrides_are_clear(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(make_config("ntm", "copy"), [override])


def test_unknown_model_task_or_preset():
    with pytest.raises(ConfigError, match="unknown model 'foo'.*ntm"):
        make_config("foo", "copy")
    with pytest.raises(ConfigError, match="unknown task 'cpy'.*copy"):
        make_config("ntm", "cpy")
    with pytest.raises(ConfigError, match="preset"):
        make_config("ntm", "copy", preset="nope")


def test_yaml_config_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  lr: 0.0005\nmodel_args:\n  memory_slots: 32\nfast: false\n")
    cfg = merge_file(make_config("ntm", "copy"), path)
    assert cfg.train.lr == 0.0005 and cfg.model_args.memory_slots == 32 and cfg.fast is False
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lrr: 1\n")
    with pytest.raises(ConfigError, match="lrr"):
        merge_file(make_config("ntm", "copy"), bad)
    with pytest.raises(ConfigError, match="no such file"):
        merge_file(make_config("ntm", "copy"), tmp_path / "missing.yaml")


def test_load_config_reads_runs_saved_with_the_old_stop_key(tmp_path):
    from augrnn.train.config import load_config, save_config

    cfg = make_config("ntm", "copy")
    path = tmp_path / "config.yaml"
    save_config(cfg, path)
    path.write_text(path.read_text().replace("stop_error: -1.0", "stop_bit_errors: 0.25"))
    assert "stop_bit_errors: 0.25" in path.read_text()
    assert load_config(path).train.stop_error == 0.25


def test_a_key_an_old_run_lacks_takes_the_dataclass_default_not_the_preset(tmp_path):
    """Runs saved before an option existed keep the behaviour they were trained with: the g2p preset now
    retrieves 6 neighbours and averages its weights, a run saved without the key loads with none (the dataclass default)."""
    from augrnn.train.config import load_config, save_config

    cfg = make_config("seq2seq", "g2p")
    assert cfg.task_args.neighbors == 6 and cfg.threads == 2 and cfg.train.ema_decay == 0.999
    path = tmp_path / "config.yaml"
    save_config(cfg, path)
    assert load_config(path).task_args.neighbors == 6  # saved keys win
    old = "\n".join(line for line in path.read_text().splitlines() if not {"neighbors:", "ema_decay:"} & set(line.split()))
    path.write_text(old)
    loaded = load_config(path)
    assert loaded.task_args.neighbors == 0 and loaded.train.ema_decay == 0.0 and loaded.model_args.encoder_layers == 2 and loaded.threads == 2
