"""Training throughput of the NTM on the copy task: eager vs the compiled fast path.

    python benchmarks/bench_speed.py            # batch 1, 32, 128; a few minutes on a cold cache
    python benchmarks/bench_speed.py --quick    # batch 1 and 32, fewer batches

Setting (Graves et al. 2014 copy task): NTM(input 9, output 8, LSTM controller of
100 units, memory 128 x 20, 1 read + 1 write head, shift range 1); every batch has
one length L drawn uniformly from 1..20, so T = 2L + 1 (mean ~22); one training
step is forward + BCE-with-logits (sum) + backward + Adam.

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
    length = bits.shape[1]
    logits = model(x)
    loss = F.binary_cross_entropy_with_logits(logits[:, length + 1:], bits, reduction="sum")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(fast: bool, batch_size: int, batches: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    model = NTM(WIDTH + 1, WIDTH, fast=fast, **MODEL)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
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
        mode="fast" if fast else "eager",
        batch=batch_size,
        warmup=warmup,
        seq_per_s=batch_size * batches / elapsed,
        ms_per_step=1e3 * elapsed / steps,
        batches=batches,
        steps=steps,
    )


def machine_info(threads: int) -> str:
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
        f"torch.get_num_threads() = {threads}, flush denormals = on, "
        f"AUGRNN_CPP_WRAPPER = {os.environ.get('AUGRNN_CPP_WRAPPER', '1')}\n"
        f"- inductor cache: {os.environ.get('TORCHINDUCTOR_CACHE_DIR', 'default (system temp dir)')}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 1 and 32 only, fewer batches")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--modes", nargs="+", default=["eager", "fast"], choices=["eager", "fast"])
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    batch_sizes = args.batch_sizes or ([1, 32] if args.quick else [1, 32, 128])
    # Timed batches per configuration (eager is slow, so it gets fewer).
    budget = {"eager": 2 if args.quick else 6, "fast": 8 if args.quick else 40}

    print(f"# NTM copy-task training speed\n\n{machine_info(torch.get_num_threads())}\n", flush=True)
    rows = []
    for batch_size in batch_sizes:
        for mode in args.modes:
            result = measure(mode == "fast", batch_size, budget[mode])
            rows.append(result)
            print(
                f"  {mode:5s} B={batch_size:<4d} warm-up {result['warmup']:6.1f} s  "
                f"{result['seq_per_s']:8.1f} seq/s  {result['ms_per_step']:7.3f} ms/step",
                file=sys.stderr, flush=True,
            )

    print("| mode | batch | compile + warm-up (s) | seq/s | ms/step | timed batches (steps) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['batch']} | {r['warmup']:.1f} | {r['seq_per_s']:.1f} | "
              f"{r['ms_per_step']:.3f} | {r['batches']} ({r['steps']}) |")
    eager = {r["batch"]: r for r in rows if r["mode"] == "eager"}
    fast = {r["batch"]: r for r in rows if r["mode"] == "fast"}
    speedups = [f"B={b}: {fast[b]['seq_per_s'] / eager[b]['seq_per_s']:.1f}x" for b in fast if b in eager]
    if speedups:
        print(f"\nfast / eager throughput: {', '.join(speedups)}")


if __name__ == "__main__":
    main()
