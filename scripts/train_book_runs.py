#!/usr/bin/env python
"""Train (or find in the run store) every run the book uses, in parallel worker processes.

The notebooks would train missing runs one after another; this does the same work on all
cores first, so that `make book` from an empty run store takes about half the time on two
cores. Each worker trains whole runs (3 seeds together) with one thread.

Usage: python scripts/train_book_runs.py [--preset fast] [--seeds 0 1 2] [--device cpu] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def runs(preset_name: str, seeds: list[int], device: str):
    from icmeta.config import VARIANTS, preset

    # heaviest first (N = 8 has twice the sequence length), so the workers finish together
    order = sorted(VARIANTS, key=lambda name: -VARIANTS[name].get("N", 0))
    return [(name, [preset(preset_name, seed=s, device=device, **VARIANTS[name]) for s in seeds]) for name in order]


def assign(todo, workers: int) -> list[list]:
    """Greedy split by estimated cost (sequence length squared): heaviest run to the least-loaded worker."""
    load, out = [0.0] * workers, [[] for _ in range(workers)]
    for name, cfgs in todo:
        w = load.index(min(load))
        load[w] += cfgs[0].task.seq_len ** 2
        out[w].append((name, cfgs))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=os.environ.get("PRESET", "fast"))
    p.add_argument("--seeds", type=int, nargs="+", default=[int(s) for s in os.environ.get("SEEDS", "0 1 2").split()])
    p.add_argument("--device", default=os.environ.get("DEVICE", "cpu"))
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    todo = runs(a.preset, a.seeds, a.device)
    if a.worker is not None:
        import torch

        from icmeta.train import load_or_train

        torch.set_num_threads(1)
        for name, cfgs in assign(todo, a.workers)[a.worker]:
            t = time.time()
            run = load_or_train(cfgs, progress=False)
            print(f"[worker {a.worker}] {name}: {run.directory.name} ({time.time() - t:.0f} s)", flush=True)
        return 0
    workers = max(1, min(a.workers, len(todo)))
    base = [sys.executable, __file__, "--preset", a.preset, "--device", a.device, "--workers", str(workers), "--seeds", *map(str, a.seeds)]
    t = time.time()
    procs = [subprocess.Popen(base + ["--worker", str(w)]) for w in range(workers)]
    codes = [pr.wait() for pr in procs]
    print(f"[train_book_runs] {len(todo)} runs in {time.time() - t:.0f} s with {workers} worker(s)")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
