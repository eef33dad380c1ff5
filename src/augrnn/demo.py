"""``make demo``: train an NTM on copy, test it on longer sequences, draw it.

Trains into ``runs/demo`` (re-running resumes, or skips training once done),
evaluates at 1×, 2× and 4× the longest training length, prints a table, and
writes the figures to ``runs/demo/figures/``, and ends by writing the
interactive report ``runs/demo/report.html`` (``augrnn show``) and printing its path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: The demo's settings on top of the ntm/copy default preset.
DEMO_OVERRIDES = [
    "train.steps=6000",
    "train.eval_every=100",
    # Stop only after five evaluations in a row at <= 0.01 bit errors per sequence (500 batches):
    # with a looser rule (0.02, twice) one run stopped while length-20 sequences still had
    # 0.4 bit errors each, because the lengths 1-20 of the evaluation are mostly short.
    "train.stop_error=0.01",
    "train.stop_after_evals=5",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m augrnn.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="runs/demo")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE", help="extra overrides")
    args = parser.parse_args(argv)

    from augrnn.train import ConfigError, RunError, evaluate, load_run, prepare_run, read_metrics, train_run
    from augrnn.train.checkpoint import atomic_write_text
    from augrnn.viz.report import build_report
    from augrnn.viz.run import plot_run

    run_dir = Path(args.run_dir)
    started = time.perf_counter()
    try:
        cfg = prepare_run("ntm", "copy", run_dir, DEMO_OVERRIDES + args.set)
    except (ConfigError, RunError) as err:
        print(f"demo: error: {err}", file=sys.stderr)
        return 2
    records = read_metrics(run_dir / "metrics.jsonl")
    finished = any(r.get("split") == "eval" and r["bit_errors"] <= cfg.train.stop_error for r in records[-2:])
    if finished:
        print(f"{run_dir} is already trained; evaluating it (delete the directory to train afresh)")
    else:
        print(f"training an NTM on copy (lengths {cfg.task_args.min_length}-{cfg.task_args.max_length}) in {run_dir} ...")
        train_run(cfg, run_dir)
    wall_seconds = time.perf_counter() - started
    evals = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("split") == "eval" and "elapsed_s" in r]
    train_seconds = evals[-1]["elapsed_s"] if evals else wall_seconds  # training time, summed over resumes

    _, model, task, device = load_run(run_dir)
    longest = task.train_size_range[1]
    rows = [("train range", None)] + [(f"{k}x = {k * longest}", k * longest) for k in (1, 2, 4)]
    table = []
    for label, length in rows:
        m = evaluate(model, task, seed=4321, batches=4 if length is None or length <= 2 * longest else 2,
                     batch_size=50, size=length, device=device)
        table.append({"length": label, **m})
    figures = plot_run(run_dir) + plot_run(run_dir, length=2 * longest)[:1]

    print()
    print(f"NTM on copy, trained on lengths {task.train_size_range[0]}-{longest}; fresh test sequences")
    print(f"{'length':>14s} | {'cost (bits/seq)':>15s} | {'bit errors/seq':>14s}")
    print(f"{'-' * 14}-+-{'-' * 15}-+-{'-' * 14}")
    for row in table:
        print(f"{row['length']:>14s} | {row['cost']:15.3f} | {row['bit_errors']:14.3f}")
    solved = table[1]["bit_errors"] < 0.1
    print(f"\ncopy {'SOLVED' if solved else 'NOT solved'} at the training length "
          f"({table[1]['bit_errors']:.3f} bit errors/seq); training took {train_seconds / 60:.1f} min"
          + ("" if finished else f" (wall time with compilation: {wall_seconds / 60:.1f} min)"))
    for path in figures:
        print(f"figure: {path}")
    summary = {"table": table, "training_time_s": train_seconds, "solved": solved}
    atomic_write_text(run_dir / "demo_summary.json", json.dumps(summary, indent=2))
    report = build_report(run_dir)
    print(f"\ninteractive report (open in a browser; works offline): {report.resolve()}")
    print(f"live explorer: augrnn serve {run_dir}")
    return 0 if solved else 1


if __name__ == "__main__":
    sys.exit(main())
