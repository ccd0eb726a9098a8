"""Train a sweep on a lent GPU within a deadline: ``python3 scripts/device_sweep.py OUT SECONDS SWEEP-ARGS...``.

For example, the 2-head members of Fig. 16 at the paper's learning rate (the `paper` preset,
150,000 steps, 3 seeds in one group):

    python3 scripts/device_sweep.py "$OUT" 560 --preset paper --vary heads=2

The sweep (``python -m icmeta sweep SWEEP-ARGS --device cuda``) runs with CUDA graphs
(``reduce-overhead``, the default on a GPU); if that fails before the deadline is near, it runs
again with ``ICMETA_COMPILE_MODE=default`` (fused kernels only). Its resume state is saved every
20 s, so a run the deadline cuts comes back resumable. ``DEVICE=cpu`` tries the script here. Everything that should come back (every
run folder without its weights, with the resume state if unfinished, and the log) is packed
into OUT/device.tar.gz: the device tool returns at most 8 files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

T0 = time.time()
if len(sys.argv) < 4:
    sys.exit("usage: python3 scripts/device_sweep.py OUT SECONDS SWEEP-ARGS...")
final = Path(sys.argv[1]).resolve()
deadline = float(sys.argv[2])
sweep_args = sys.argv[3:]
work = Path("/tmp/device-work")
runs = work / "runs"
runs.mkdir(parents=True, exist_ok=True)
final.mkdir(parents=True, exist_ok=True)
env = {**os.environ, "PYTHONPATH": "src", "PYTHONUNBUFFERED": "1"}


def left() -> float:
    return deadline - (time.time() - T0)


def sweep(mode: str) -> tuple[bool, float]:
    """Run the sweep in compile mode `mode` until it ends or the deadline; (ok, seconds)."""
    args = [sys.executable, "-m", "icmeta", "sweep", *sweep_args, "--device", os.environ.get("DEVICE", "cuda"), "--no-progress",
            "--resume-every", "20", "--out", str(runs)]
    t = time.time()
    print(f"[{mode}] {' '.join(args[1:])} ({left():.0f} s left)", flush=True)
    with open(work / f"sweep-{mode}.log", "w") as log:
        try:
            ok = subprocess.run(args, env={**env, "ICMETA_COMPILE_MODE": mode}, stdout=log,
                                stderr=subprocess.STDOUT, timeout=max(left() - 15, 1)).returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
            print(f"[{mode}] deadline reached", flush=True)
    text = (work / f"sweep-{mode}.log").read_text().splitlines()
    print("\n".join(l for l in text[-25:] if not l.startswith(("W1", "E1", "I1"))), flush=True)
    print(f"[{mode}] {'ok' if ok else 'FAILED'} in {time.time() - t:.0f} s", flush=True)
    return ok, time.time() - t


if shutil.which("nvidia-smi"):
    subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv"])
ok, took = sweep("reduce-overhead")
if not ok and left() > 120:
    sweep("default")
with tarfile.open(final / "device.tar.gz", "w:gz") as tar:
    for f in sorted(work.rglob("*")):
        if f.is_file() and not f.name.startswith("step_"):
            tar.add(f, arcname=str(f.relative_to(work)))
for d in sorted(runs.glob("run-*")):
    print(d.name, sorted(p.name for p in d.iterdir() if not p.name.startswith("step_")), flush=True)
print(f"packed {(final / 'device.tar.gz').stat().st_size / 1e6:.1f} MB; total {time.time() - T0:.0f} s", flush=True)
