#!/usr/bin/env python
"""Train (or find in the run store) every run the book uses, on all cores.

The book's runs: the main run (the preset, 3 seeds together, with the probe's weights exported
from its checkpoints, `icmeta.book.probe.export_checkpoints`; and again with the GPU path,
`icmeta.presets.GPU_PATH`), the reproduction-notes variants (`icmeta.presets.variant_configs`), and every member of the sweeps the chapters draw
(`icmeta.experiments.IN_BOOK`; with --all-sweeps every sweep of `icmeta.experiments.SWEEPS`), and at
`fast` the ten seeds the claims read (`icmeta.experiments.sweeps.FOR_CLAIMS`), through the
sweep runner `icmeta.train.runner`. The sweep chapters
only read stored runs; the main-result chapters would train missing runs one after another;
this does all of it on all cores first.

Scheduling: one worker process per core, each with one thread (on 2 cores, two 1-thread
processes train more model-steps per second than one 2-thread process: a thread per batched
matmul, no split of 3 members over 2 threads). Runs wait in one queue, heaviest first
(cost ~ steps x sequence length, as measured), and a worker takes the next run as soon as it is free,
so no core idles while runs are waiting; at the end it prints each worker's busy time. A
run another process is already training is waited for, not trained twice (the store's lock).

Usage: python scripts/train_book_runs.py [--preset fast] [--seeds 0 1 2] [--device cpu] [--workers 2] [--all-sweeps]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time


def runs(preset_name: str, seeds: list[int], device: str):
    from icmeta.presets import GPU_PATH, preset, variant_configs

    todo = [("main", [preset(preset_name, seed=s, device=device) for s in seeds]),
            ("main, GPU path", [preset(preset_name, seed=s, device=device, **GPU_PATH) for s in seeds])]
    todo += list(variant_configs(preset_name, seeds, device).items())
    return sorted(todo, key=lambda item: -cost(item[1]))


def cost(cfgs) -> float:
    """Relative training time: measured per step, a 17-token run (N = 8) costs 1.85x a 9-token one."""
    return cfgs[0].train.steps * cfgs[0].task.seq_len


def _init() -> None:
    import torch

    torch.set_num_threads(1)


def _train(job) -> tuple[str, str, int, float, float]:
    from icmeta.book.probe import export_checkpoints
    from icmeta.store.run import PROBE_FILE
    from icmeta.train import load_or_train

    name, cfgs = job
    t = time.time()
    run = load_or_train(cfgs, progress=False)
    if name == "main" and not (run.directory / PROBE_FILE).is_file():  # the probe's weights (chapter 3)
        export_checkpoints(run)
    return name, run.directory.name, os.getpid(), t, time.time()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default=os.environ.get("PRESET", "fast"))
    p.add_argument("--seeds", type=int, nargs="+", default=[int(s) for s in os.environ.get("SEEDS", "0 1 2").split()])
    p.add_argument("--device", default=os.environ.get("DEVICE", "cpu"))
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core; one on a GPU)")
    p.add_argument("--all-sweeps", action="store_true", help="also the sweeps not drawn in the book (none at present)")
    a = p.parse_args()
    if a.workers is not None and a.workers < 1:
        print(f"error: --workers={a.workers}: an integer >= 1", file=sys.stderr)
        return 2
    todo = runs(a.preset, a.seeds, a.device)
    workers = a.workers or (1 if a.device == "cuda" else os.cpu_count() or 1)
    workers = max(1, min(workers, len(todo)))
    t0 = time.time()
    busy: dict[int, float] = {}
    with mp.get_context("spawn").Pool(workers, initializer=_init) as pool:
        for name, run, pid, start, end in pool.imap_unordered(_train, todo, chunksize=1):
            busy[pid] = busy.get(pid, 0.0) + end - start
            print(f"[train_book_runs] {name}: {run} ({end - start:.0f} s, worker {pid})", flush=True)
    wall = time.time() - t0
    shares = ", ".join(f"{b:.0f} s" for b in sorted(busy.values(), reverse=True))
    print(f"[train_book_runs] {len(todo)} runs in {wall:.0f} s with {workers} worker(s); busy per worker: {shares}")
    return sweeps(a.preset, a.seeds, a.device, a.workers, a.all_sweeps)


def sweeps(preset_name: str, seeds: list[int], device: str, workers: int | None, everything: bool = False) -> int:
    """Every member of the book's sweeps, each stored once (what `python -m icmeta sweep` does)."""
    from icmeta.experiments import IN_BOOK, SWEEPS
    from icmeta.experiments.sweeps import FOR_CLAIMS
    from icmeta.train.runner import run_sweep

    names = list(SWEEPS) if everything else list(IN_BOOK)
    # the learning-rate checks exist for `fast` only (at `paper` their base sweeps run at lr 0.01)
    names = [n for n in names if not SWEEPS[n].presets or preset_name in SWEEPS[n].presets]
    members = [m for n in names for m in SWEEPS[n].members(preset_name, seeds, device)]
    if preset_name == "fast":  # the claims' ten seeds (each member stored once, whoever asks for it)
        members += [m for n in FOR_CLAIMS for m in SWEEPS[n].members(preset_name, None, device)]
    t0 = time.time()
    result = run_sweep(members, workers=workers)
    for names, why in result.failures:
        print(f"[train_book_runs] sweep members failed: {', '.join(names)}: {why}", file=sys.stderr)
    print(f"[train_book_runs] sweeps: {len({d for d in result.directories})} members stored, {result.trained} trained now "
          f"({time.time() - t0:.0f} s)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
