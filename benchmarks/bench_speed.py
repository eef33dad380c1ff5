"""Training throughput of the NTM on the copy task: eager, compiled step, fused kernel.

    python benchmarks/bench_speed.py            # batch 1, 32, 128; 1 and 2 threads
    python benchmarks/bench_speed.py --quick    # batch 1 and 32, fewer batches

Modes: ``eager`` (``fast=False``); ``compiled`` (``fast=True`` with the fused kernel
switched off, ``AUGRNN_DISABLE_FUSED=1``: one torch.compile-d graph per step, what a GPU
gets); ``fused`` (``fast=True`` on the CPU: the whole-sequence C++ kernel of
augrnn.nn.fused_ntm, the default). Every mode runs in this one process, the same batches.

Setting (Graves et al. 2014 copy task): NTM(input 9, output 8, LSTM controller of
100 units, memory 128 x 20, 1 read + 1 write head, shift range 1); every batch has
one length L drawn uniformly from 1..20, so T = 2L + 1 (mean ~22); one training
step is what the trainer does per batch with the copy preset: forward, BCE-with-logits (sum),
backward, global-norm clipping, RMSProp (foreach).

Reported per (mode, batch size):
  - compile: wall time of the warm-up batches (first compile of the step graph
    for that batch size, excluded from the throughput). Cold inductor cache:
    ~20-40 s per batch size; warm on-disk cache (a second run): ~1-6 s;
  - seq/s: sequences per second of training; ms/step: wall time per time step.

Process settings used (and recommended for training on CPU):
  torch.set_num_threads(--threads, default 1), torch.set_flush_denormal(True)
  (sharp attention weights make denormal floats, which are ~100x slower on x86),
  and gc.freeze() after the warm-up (the compiler leaves millions of Python objects
  that full garbage collections would otherwise walk every few steps).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from augrnn.nn import NTM  # noqa: E402
from augrnn.train import make_config  # noqa: E402
from augrnn.train.trainer import make_optimizer  # noqa: E402

TRAIN = make_config("ntm", "copy").train  # the copy preset's optimiser and clipping

WIDTH = 8  # copy-task bits per row
MODEL = dict(controller="lstm", controller_size=100, memory_slots=128, memory_width=20,
             read_heads=1, write_heads=1, shift_range=1)


def copy_batch(batch_size: int, length: int, generator: torch.Generator):
    """Copy-task batch: inputs [B, 2L+1, W+1], target bits [B, L, W] (rows L+1..2L of the output)."""
    bits = torch.randint(0, 2, (batch_size, length, WIDTH), generator=generator).float()
    x = torch.zeros(batch_size, 2 * length + 1, WIDTH + 1)
    x[:, :length, :WIDTH] = bits
    x[:, length, WIDTH] = 1.0
    return x, bits


def train_step(model, optimizer, x, bits):
    """What the trainer does per batch: forward, loss, backward, clipping, optimiser step."""
    length = bits.shape[1]
    logits = model(x)
    loss = F.binary_cross_entropy_with_logits(logits[:, length + 1:], bits, reduction="sum")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if TRAIN.clip_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN.clip_norm, foreach=True)
    optimizer.step()


def measure(mode: str, batch_size: int, batches: int, threads: int = 1, seed: int = 0) -> dict:
    torch.set_num_threads(threads)
    os.environ["AUGRNN_DISABLE_FUSED"] = "1" if mode == "compiled" else "0"
    torch.manual_seed(seed)
    model = NTM(WIDTH + 1, WIDTH, fast=mode != "eager", **MODEL)
    optimizer = make_optimizer(model.parameters(), TRAIN)
    gen = torch.Generator().manual_seed(seed)

    # Warm-up: the first batch compiles (fast path); two more lengths show that
    # a new sequence length does not recompile.
    start = time.perf_counter()
    for length in (1, 20, 7):
        train_step(model, optimizer, *copy_batch(batch_size, length, gen))
    warmup = time.perf_counter() - start
    gc.collect()
    gc.freeze()

    lengths = torch.randint(1, 21, (batches,), generator=gen).tolist()
    data = [copy_batch(batch_size, length, gen) for length in lengths]
    steps = sum(2 * length + 1 for length in lengths)
    start = time.perf_counter()
    for x, bits in data:
        train_step(model, optimizer, x, bits)
    elapsed = time.perf_counter() - start
    gc.unfreeze()
    return dict(
        mode=mode,
        threads=threads,
        batch=batch_size,
        warmup=warmup,
        seq_per_s=batch_size * batches / elapsed,
        ms_per_step=1e3 * elapsed / steps,
        batches=batches,
        steps=steps,
    )


def fixed_cost(batches: int = 10, repeats: int = 5) -> str:
    """Split a fused training step into a cost per time step and a cost per batch.

    Times batches of L = 1 (T = 3) and L = 20 (T = 41) in one process (best of ``repeats``);
    the line through the two gives ms per step and ms per batch. Also times the optimiser
    step and clipping alone.
    """
    torch.manual_seed(0)
    model = NTM(WIDTH + 1, WIDTH, fast=True, **MODEL)
    optimizer = make_optimizer(model.parameters(), TRAIN)
    gen = torch.Generator().manual_seed(0)
    data = {length: [copy_batch(32, length, gen) for _ in range(batches)] for length in (1, 20)}
    for length in data:
        train_step(model, optimizer, *data[length][0])
    best = {length: float("inf") for length in data}
    best_update = float("inf")
    for _ in range(repeats):
        for length, batch_list in data.items():
            start = time.perf_counter()
            for x, bits in batch_list:
                train_step(model, optimizer, x, bits)
            best[length] = min(best[length], (time.perf_counter() - start) / batches)
        start = time.perf_counter()
        for _ in range(batches):
            torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN.clip_norm, foreach=True)
            optimizer.step()
        best_update = min(best_update, (time.perf_counter() - start) / batches)
    per_step = (best[20] - best[1]) / (41 - 3)
    per_batch = best[1] - 3 * per_step
    return (f"fused, batch 32, 1 thread: {1e3 * per_step:.3f} ms per time step + {1e3 * per_batch:.2f} ms per batch "
            f"(of which clipping + optimiser step {1e3 * best_update:.2f} ms); at the mean T = 22 the per-batch part is "
            f"{100 * per_batch / (per_batch + 22 * per_step):.0f}% of a batch")


def machine_info(threads) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- CPU: {cpu}, {os.cpu_count()} logical cores\n"
        f"- torch {torch.__version__}, Python {platform.python_version()}, "
        f"torch.set_num_threads = {threads}, flush denormals = on, "
        f"AUGRNN_CPP_WRAPPER = {os.environ.get('AUGRNN_CPP_WRAPPER', '1')}\n"
        f"- inductor cache: {os.environ.get('TORCHINDUCTOR_CACHE_DIR', 'default (system temp dir)')}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 1 and 32 only, fewer batches")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch.set_num_threads values to measure (default: 1 2)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--modes", nargs="+", default=["eager", "compiled", "fused"],
                        choices=["eager", "compiled", "fused"])
    parser.add_argument("--fixed-cost", action="store_true",
                        help="only split the fused step into per-step and per-batch costs (1 thread)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="measure each row this many times, interleaved, and keep the best (noisy VMs)")
    args = parser.parse_args(argv)

    torch.set_flush_denormal(True)
    if args.fixed_cost:
        torch.set_num_threads(1)
        print(fixed_cost())
        return
    batch_sizes = args.batch_sizes or ([1, 32] if args.quick else [1, 32, 128])
    # Timed batches per configuration (eager is slow, so it gets fewer).
    budget = {"eager": 2 if args.quick else 6, "compiled": 8 if args.quick else 40, "fused": 8 if args.quick else 40}

    print(f"# NTM copy-task training speed\n\n{machine_info(args.threads)}\n", flush=True)
    best = {}
    for _ in range(args.repeats):
        for batch_size in batch_sizes:
            for threads in args.threads:
                for mode in args.modes:
                    if mode == "eager" and threads != args.threads[0]:
                        continue  # eager is the reference; one thread setting is enough
                    result = measure(mode, batch_size, budget[mode], threads)
                    key = (batch_size, threads, mode)
                    if key not in best or result["seq_per_s"] > best[key]["seq_per_s"]:
                        best[key] = result
                    print(
                        f"  {mode:8s} B={batch_size:<4d} threads={threads} warm-up {result['warmup']:6.1f} s  "
                        f"{result['seq_per_s']:8.1f} seq/s  {result['ms_per_step']:7.3f} ms/step",
                        file=sys.stderr, flush=True,
                    )
    rows = list(best.values())

    print("| mode | threads | batch | compile + warm-up (s) | seq/s | ms/step | timed batches (steps) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['threads']} | {r['batch']} | {r['warmup']:.1f} | {r['seq_per_s']:.1f} | "
              f"{r['ms_per_step']:.3f} | {r['batches']} ({r['steps']}) |")
    one = args.threads[0]
    by = {(r["mode"], r["threads"], r["batch"]): r["seq_per_s"] for r in rows}
    for mode in ("compiled", "fused"):
        ratios = [f"B={b}: {by[(mode, one, b)] / by[('eager', one, b)]:.1f}x" for b in batch_sizes
                  if (mode, one, b) in by and ("eager", one, b) in by]
        if ratios:
            print(f"\n{mode} / eager throughput ({one} thread): {', '.join(ratios)}")
    ratios = [f"B={b}: {by[('fused', one, b)] / by[('compiled', one, b)]:.1f}x" for b in batch_sizes
              if ("fused", one, b) in by and ("compiled", one, b) in by]
    if ratios:
        print(f"fused / compiled throughput ({one} thread): {', '.join(ratios)}")


if __name__ == "__main__":
    main()
