"""Neural Programmer on synthetic table QA: our test accuracy next to the published one.

Trains (or reuses) one run per variant of arXiv 1511.06807 Table 4 that we
implement, evaluates the ``last`` checkpoint on the fixed test split of the
task (10,000 examples by default) with hard selection (the paper's test-time
rule), and writes the comparison table into BENCHMARKS.md between the markers
``<!-- neural-programmer:begin -->`` and ``<!-- neural-programmer:end -->``.

    python benchmarks/bench_neural_programmer.py --runs runs/np --minutes 45
    python benchmarks/bench_neural_programmer.py --runs runs/np --evaluate-only   # existing runs
    python benchmarks/bench_neural_programmer.py --runs runs/np --variants text   # the text-entry variant

Each training run is one process, niced, with one torch thread, stopped after
``--minutes`` of wall time (its last checkpoint is evaluated). A variant whose
run directory has no run shows the published number only (``not run``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from augrnn.train import load_run  # noqa: E402

#: arXiv 1511.06807 Table 4 (test accuracy, %).
PUBLISHED = {
    "five columns": {"plain": 95.3, "noise": 98.7, "dropout": 97.4, "dropout + noise": 99.2},
    "text entries": {"plain": 97.6, "noise": 98.8, "dropout": 99.1, "dropout + noise": 97.3},
}
#: Our variants: (table, setting) -> preset of (neural-programmer, table-qa); the run dir is named by the preset.
VARIANTS = {("five columns", "plain"): "default", ("five columns", "noise"): "noise",
            ("five columns", "dropout"): "dropout", ("five columns", "dropout + noise"): "dropout-noise",
            ("text entries", "plain"): "text"}
BEGIN, END = "<!-- neural-programmer:begin -->", "<!-- neural-programmer:end -->"


def train(run_dir: Path, preset: str, minutes: float) -> None:
    if (run_dir / "last.pt").exists():
        print(f"{run_dir}: reusing the existing run")
        return
    cmd = [sys.executable, "-m", "augrnn.cli", "train", "neural-programmer", "table-qa", "--preset", preset,
           "--run-dir", str(run_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.Popen(["nice", "-n", "15", *cmd], env=env, start_new_session=True)
    try:
        proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # only the process group we started
        proc.wait()


@torch.no_grad()
def test_accuracy(run_dir: Path, examples: int | None = None, batch_size: int = 250):
    """Hard-selection accuracy on the test split.

    Returns (accuracy %, examples, training steps, {template: accuracy %}).
    """
    from augrnn.tasks.table_qa import ALL_TEMPLATES as TEMPLATES

    cfg, model, task, device = load_run(run_dir, which="last")
    total = examples or task.config.test_examples
    correct, per_template = 0, {}
    for start in range(0, total, batch_size):
        batch = task.collate(task.examples("test", range(start, min(total, start + batch_size))), device)
        ok = task.correct(model(batch, hard=True), batch)
        correct += int(ok.sum().item())
        for t, c in zip(batch.template.tolist(), ok.tolist()):
            per_template.setdefault(TEMPLATES[t], []).append(c)
    step = torch.load(run_dir / "last.pt", map_location="cpu", weights_only=False)["train_state"]["step"]
    by_template = {k: 100.0 * sum(v) / len(v) for k, v in per_template.items()}
    return 100.0 * correct / total, total, step, by_template


def write_table(rows: list[str]) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    block = "\n".join([BEGIN, *rows, END])
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "np")
    parser.add_argument("--minutes", type=float, default=45.0,
                        help="wall-time budget per training run (a preset's restarts included)")
    parser.add_argument("--evaluate-only", action="store_true")
    parser.add_argument("--variants", default="default,noise,text",
                        help="presets to train and score (default, noise, dropout, dropout-noise, text)")
    parser.add_argument("--examples", type=int, default=None, help="test examples (default: the whole split)")
    args = parser.parse_args()
    rows = ["| table | setting | published | augrnn (test accuracy) | training |", "|---|---|---|---|---|"]
    details = []
    for table, settings in PUBLISHED.items():
        for name, value in settings.items():
            preset = VARIANTS.get((table, name))
            published = f"{value:.1f}%"
            if preset is None or preset not in args.variants.split(","):
                rows.append(f"| {table} | {name} | {published} | not run{'' if preset else ' (not implemented)'} | |")
                continue
            run_dir = args.runs / preset
            if not args.evaluate_only:
                train(run_dir, preset, args.minutes)
            if not (run_dir / "last.pt").exists():  # none, or restarts cut off by --minutes before the choice
                rows.append(f"| {table} | {name} | {published} | no finished run at {run_dir} | |")
                continue
            accuracy, examples, step, by_template = test_accuracy(run_dir, args.examples)
            details.append(f"Per template, {table}, {name}: "
                           + ", ".join(f"{k} {v:.0f}%" for k, v in sorted(by_template.items())))
            elapsed = max((r.get("elapsed_s", 0) for r in _records(run_dir)), default=0)
            rows.append(f"| {table} | {name} | {published} | {accuracy:.1f}% ({examples} examples) | "
                        f"{step} batches of 50, {elapsed / 60:.0f} min |")
            print(rows[-1], flush=True)
    rows.append("")
    for line in details:
        rows.extend([line, ""])
    write_table(rows)
    print("\n".join(rows))
    return 0


def _records(run_dir: Path) -> list[dict]:
    from augrnn.train import read_metrics

    return [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("split") == "eval"]


if __name__ == "__main__":
    sys.exit(main())
