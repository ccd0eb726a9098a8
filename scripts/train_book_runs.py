#!/usr/bin/env python
"""Train (or find in the run store) every run the book uses, in parallel worker processes.

The book's runs: the main run (the preset, 3 seeds together) and the reproduction-notes
variants (`icmeta.train.variant_configs`). The notebooks would train missing runs one after
another; this does the same work on all cores first. Each worker trains whole runs with one
thread; runs go to the least-loaded worker, heaviest first (cost ~ steps x sequence length^2).
A run another process is already training is waited for, not trained twice (the store's lock).

Usage: python scripts/train_book_runs.py [--preset fast] [--seeds 0 1 2] [--device cpu] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def runs(preset_name: str, seeds: list[int], device: str):
    from icmeta.config import preset
    from icmeta.train import variant_configs

    todo = [("main", [preset(preset_name, seed=s, device=device) for s in seeds])]
    todo += list(variant_configs(preset_name, seeds, device).items())
    return sorted(todo, key=lambda item: -cost(item[1]))


def cost(cfgs) -> float:
    return cfgs[0].train.steps * cfgs[0].task.seq_len ** 2


def assign(todo, workers: int) -> list[list]:
    """Greedy split by estimated cost: heaviest run to the least-loaded worker."""
    load, out = [0.0] * workers, [[] for _ in range(workers)]
    for name, cfgs in todo:
        w = load.index(min(load))
        load[w] += cost(cfgs)
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
