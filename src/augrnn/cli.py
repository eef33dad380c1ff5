"""The ``augrnn`` command: parses arguments and calls the library. Nothing else.

User mistakes (unknown model, bad override, missing run directory, bad input
file) print one line on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

__all__ = ["main"]


def _cmd_list(args: argparse.Namespace) -> int:
    from augrnn.train import MODELS, PRESETS, TASKS

    print("models:")
    for name, spec in sorted(MODELS.items()):
        print(f"  {name:20s} {spec.description}")
    print("tasks:")
    for name, cls in sorted(TASKS.items()):
        print(f"  {name:20s} {cls().describe()}  (eval --length sets {cls.size_name})")
    print("presets (augrnn train MODEL TASK --preset NAME; see augrnn/train/registry.py):")
    for (model, task, preset), p in sorted(PRESETS.items()):
        if preset == "default":
            continue
        print(f"  {model:5s} {task:20s} default, {preset}: {p.source}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from augrnn.train import prepare_run, train_run

    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / f"{args.model}-{args.task}-{datetime.now():%Y%m%d-%H%M%S}"
    overrides = list(args.set or [])
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.device is not None:
        overrides.append(f"device={args.device}")
    resuming = (run_dir / "config.yaml").exists()
    cfg = prepare_run(args.model, args.task, run_dir, overrides, args.config, args.preset)
    print(f"{'resuming' if resuming else 'training'} {cfg.model} on {cfg.task} in {run_dir}", file=sys.stderr)
    try:
        final = train_run(cfg, run_dir, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted; the last checkpoint is kept. Resume with: augrnn train {cfg.model} {cfg.task} --run-dir {run_dir}", file=sys.stderr)
        return 130
    print(json.dumps({"run_dir": str(run_dir), **final}))
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from augrnn.train import evaluate, load_run

    cfg, model, task, device = load_run(Path(args.run_dir), which=args.checkpoint, overrides=args.set or [])
    if args.length is not None and args.length < 1:
        raise ValueError(f"--length must be >= 1, got {args.length}")
    metrics = evaluate(model, task, seed=args.seed, batches=args.batches, batch_size=args.batch_size, size=args.length, device=device)
    size = args.length if args.length is not None else "{}-{}".format(*task.train_size_range)
    examples = metrics.pop("examples")
    result = {"run_dir": args.run_dir, "model": cfg.model, "task": cfg.task, task.size_name: size,
              "examples": examples, **metrics}
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:{width}s}  {value:.4f}" if isinstance(value, float) else f"{key:{width}s}  {value}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from augrnn.train import load_run

    if bool(args.text_in) != bool(args.text_out):
        raise ValueError("predict needs both --text-in IN.txt and --text-out OUT.txt")
    if args.text_in and (args.input or args.output):
        raise ValueError("predict takes either --input/--output (arrays) or --text-in/--text-out (text), not both")
    if not args.text_in and (not args.input or not args.output):
        raise ValueError("predict needs --input X.npy and --output Y.npy (or --text-in/--text-out for text tasks)")
    cfg, model, task, device = load_run(Path(args.run_dir), which=args.checkpoint, overrides=args.set or [])
    if args.text_in:
        from augrnn.train.checkpoint import atomic_write_bytes

        try:
            lines = Path(args.text_in).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"--text-in: cannot read {args.text_in} as UTF-8 text: {err}") from None
        with torch.no_grad():
            out = task.predict_text(model, lines, device=device)
        atomic_write_bytes(Path(args.text_out), "".join(line + "\n" for line in out).encode("utf-8"))
        print(f"wrote {args.text_out}: {len(out)} lines", file=sys.stderr)
        return 0
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"--input: cannot read {args.input} as a .npy array: {err}") from None
    if x.ndim != 3 or x.shape[-1] != task.input_size:
        raise ValueError(f"--input must be an array of shape [batch, time, {task.input_size}] for {cfg.task}, got {list(x.shape)}")
    with torch.no_grad():
        probs = task.probabilities(model(torch.as_tensor(x, dtype=torch.float32, device=device))).cpu().numpy()
    from augrnn.train.checkpoint import atomic_write_bytes
    import io

    buffer = io.BytesIO()
    np.save(buffer, probs.astype(np.float32))
    atomic_write_bytes(Path(args.output), buffer.getvalue())
    print(f"wrote {args.output}: {list(probs.shape)} probabilities", file=sys.stderr)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from augrnn.viz.run import plot_run

    for path in plot_run(Path(args.run_dir), length=args.length, seed=args.seed, checkpoint=args.checkpoint):
        print(path)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from augrnn.viz.report import build_report

    print(build_report(Path(args.run_dir), checkpoint=args.checkpoint, seed=args.seed))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from augrnn.viz.serve import serve

    serve(Path(args.run_dir), host=args.host, port=args.port, checkpoint=args.checkpoint)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augrnn", description="Train, evaluate and look inside memory- and attention-augmented RNNs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("list", help="models, tasks and presets").set_defaults(func=_cmd_list)

    p = sub.add_parser("train", help="train MODEL on TASK (re-run on a run dir to resume)")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("task", metavar="TASK")
    p.add_argument("-s", "--set", action="append", metavar="KEY=VALUE", help="override a config value, e.g. -s lr=3e-4 (repeatable)")
    p.add_argument("--config", metavar="FILE", help="YAML file of overrides")
    p.add_argument("--preset", default="default", help="default (fast batched training) or paper (Graves et al. 2014)")
    p.add_argument("--run-dir", metavar="DIR", help="default: runs/MODEL-TASK-TIMESTAMP")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    for name, helptext in (("eval", "metrics of a saved model"), ("plot", "PNG figures of a saved run")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("run_dir", metavar="RUN_DIR")
        p.add_argument("--length", type=int, help="the task's size (length / repeats / items); default: the training range")
        p.add_argument("--seed", type=int, default=1234, help="seed of the evaluation sequences")
        p.add_argument("--checkpoint", choices=("best", "last"), default="best")
        if name == "eval":
            p.add_argument("--json", action="store_true", help="print one JSON object")
            p.add_argument("--batches", type=int, default=10)
            p.add_argument("--batch-size", type=int, default=100)
            p.add_argument("-s", "--set", action="append", metavar="KEY=VALUE",
                           help="override the saved config for this evaluation, e.g. -s eval_split=test (g2p)")
            p.set_defaults(func=_cmd_eval)
        else:
            p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("predict", help="run a saved model on a .npy input")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--input", metavar="X.npy", help="[B, T, I] float32")
    p.add_argument("--output", metavar="Y.npy", help="[B, T, O] probabilities")
    p.add_argument("--text-in", metavar="IN.txt")
    p.add_argument("--text-out", metavar="OUT.txt")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("-s", "--set", action="append", metavar="KEY=VALUE",
                   help="override the saved config for this prediction, e.g. -s beam_size=5 (g2p)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("show", help="write RUN_DIR/report.html (self-contained, works offline)")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--seed", type=int, default=1234, help="seed of the test examples")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("serve", help="live explorer of a saved run on localhost")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (0: any free port); default 8765")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:  # ConfigError, RunError and input checks are ValueErrors
        print(f"augrnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"augrnn {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
