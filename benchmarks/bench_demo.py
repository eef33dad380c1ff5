"""Wall time of `make demo`'s job (python -m augrnn.demo) from an empty run directory.

    python benchmarks/bench_demo.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "augrnn.demo", "--run-dir", str(Path(tmp) / "demo")],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
    table = proc.stdout[proc.stdout.find("NTM on copy"):]
    print(table)
    print(f"demo wall time (training, evaluation, figures; compile cache as found): {wall / 60:.1f} min, exit {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
