"""``python -m icmeta bench``: training throughput, FLOPs, matmul peak, and the speed-up
over a per-sample reference loader like the authors' pipeline.

All numbers are medians of repeated timings; they vary with the machine's load, so the
benchmark prints them rather than asserting anything.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from .config import preset
from .model import flops_per_step


def _median_time(fn, repeats: int, inner: int, sync) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        sync()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def matmul_peak(device: torch.device, n: int = 1024, repeats: int = 5) -> float:
    """Measured fp32 matmul GFLOP/s of an n x n product."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    inner = 50 if device.type == "cuda" else 3
    t = _median_time(lambda: a @ b, repeats, inner, sync)
    return 2 * n**3 / t / 1e9


class ReferenceLoader:
    """A per-sample loader in the style of the authors' pipeline: each sequence is built in
    Python (numpy per token), then the batch is stacked. Same task, same token layout."""

    def __init__(self, K=64, L=32, T=3, N=4, D=63, P=65, eps=0.1, seed=0):
        rng = np.random.default_rng(seed)
        self.rng, self.K, self.L, self.T, self.N, self.D, self.P, self.eps = rng, K, L, T, N, D, P, eps
        self.means = rng.standard_normal((K, D)) / np.sqrt(D)
        self.maps = rng.integers(0, L, (T, K))

    def sequence(self):
        r = self.rng
        task = r.integers(self.T)
        classes = r.choice(self.K, self.N + 1, replace=False)
        tokens, labels = [], []
        for j, c in enumerate(classes):
            x = (self.means[c] + self.eps * r.standard_normal(self.D) / np.sqrt(self.D)) / np.sqrt(1 + self.eps**2)
            pos = np.zeros(self.P)
            pos[j] = 1
            tokens.append(np.concatenate([x, pos]))
            if j < self.N:
                tokens.append(np.zeros(self.D + self.P))
                labels.append(self.maps[task, c])
        return np.stack(tokens), np.array(labels), self.maps[task, classes[-1]]

    def batch(self, b: int):
        seqs = [self.sequence() for _ in range(b)]
        return (torch.tensor(np.stack([s[0] for s in seqs]), dtype=torch.float32),
                torch.tensor(np.stack([s[1] for s in seqs])), torch.tensor([s[2] for s in seqs]))


def bench_training(device: torch.device, E: int, repeats: int, inner: int) -> float:
    """Training steps per second of E models together at the paper's shapes (batch 128)."""
    from .train import Trainer

    cfgs = [preset("paper", seed=s, device=device.type, eval_size=64) for s in range(E)]
    tr = Trainer(cfgs, directory="/nonexistent-bench-run")
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    t = _median_time(tr.train_step, repeats, inner, sync)
    return 1 / t


def fast_preset_times() -> list[str]:
    """Wall time of the stored `fast` run to reach each plateau (if it has been trained)."""
    from .config import PRESET_SEEDS
    from .store import find_run

    cfgs = [preset("fast", seed=s) for s in PRESET_SEEDS["fast"]]
    run = find_run(cfgs)
    if run is None:
        return ["  no stored fast run; train it with: python -m icmeta train --preset fast"]
    per_step = run.wall_time_s / run.config.train.steps
    hw = run.info["segments"][-1]
    lines = [f"  stored fast run {run.directory.name}: {len(cfgs)} seeds together, {run.wall_time_s:.0f} s wall "
             f"({hw['device']}, {hw['threads']} thread(s))"]
    table = run.phases()
    for _, r in table.iterrows():
        lines.append(f"  seed {r.seed} phase {r.phase} ({r.circuit}): plateau from step {r.start:>6d} (~{r.start * per_step:6.1f} s), acc {r.acc:.3f}")
    return lines


def main(quick: bool = False, device: str = "auto") -> int:
    devices = [torch.device("cpu")] if device in ("auto", "cpu") else []
    if device in ("auto", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if device == "cuda" and not torch.cuda.is_available():
        print("note: no CUDA device available; CPU only")
        devices = [torch.device("cpu")]
    repeats = 3 if quick else 7
    cfg = preset("paper")
    flops = flops_per_step(cfg.task, cfg.model, cfg.train.batch_size)
    print(f"paper shapes: K={cfg.task.K} L={cfg.task.L} N={cfg.task.N} width={cfg.task.d_model} layers={cfg.model.layers} "
          f"heads={cfg.model.heads} batch={cfg.train.batch_size}")
    print(f"matmul FLOPs of one training step of one model: {flops / 1e6:.1f} MFLOP")
    for dev in devices:
        thread_options = [1, torch.get_num_threads()] if dev.type == "cpu" else [None]
        thread_options = sorted(set(thread_options), key=lambda x: x or 0)
        for threads in thread_options:
            if threads:
                torch.set_num_threads(threads)
            label = f"{dev.type}" + (f", {threads} thread(s)" if threads else f" ({torch.cuda.get_device_name(dev)})")
            peak = matmul_peak(dev)
            print(f"\n[{label}] fp32 matmul peak (1024^3): {peak:.0f} GFLOP/s")
            print(f"  {'E':>3} {'steps/s/model':>14} {'aggregate':>10} {'GFLOP/s':>8} {'% peak':>7}")
            for E in (1, 4, 16):
                inner = max(2, (20 if dev.type == "cpu" else 50) // E)
                sps = bench_training(dev, E, repeats, inner)
                gf = flops * E * sps / 1e9
                print(f"  {E:>3} {sps:>14.1f} {E * sps:>10.1f} {gf:>8.1f} {100 * gf / peak:>6.1f}%")
    torch.set_num_threads(1)
    # data pipeline: reference per-sample loader vs the vectorised sampler
    from .task import Sampler, make_world

    ref = ReferenceLoader()
    t_ref = _median_time(lambda: ref.batch(128), repeats, 2, lambda: None)
    tc = cfg.task
    s = Sampler([tc], [make_world(tc, torch.Generator().manual_seed(0))])
    g = [torch.Generator().manual_seed(1)]
    t_vec = _median_time(lambda: s.sample(128, g), repeats, 50, lambda: None)
    t_vec_big = _median_time(lambda: s.sample(8192, g), repeats, 3, lambda: None)
    print("\ndata (one CPU thread, batch 128):")
    print(f"  reference per-sample loader: {128 / t_ref:10.0f} sequences/s ({t_ref * 1e3:.1f} ms per batch)")
    print(f"  vectorised sampler:          {128 / t_vec:10.0f} sequences/s ({t_vec * 1e3:.2f} ms per batch), "
          f"{8192 / t_vec_big:.0f} sequences/s at batch 8192")
    print(f"  ratio (vectorised / reference) at batch 128: {t_ref / t_vec:.0f}x")
    sps1 = bench_training(torch.device("cpu"), 1, repeats, 10)
    print(f"  a whole training step (1 model, batch 128, 1 thread): {sps1 * 128:.0f} sequences/s, "
          f"{sps1 * 128 / (128 / t_ref):.1f}x the reference loader alone")
    print("\nfast preset, time to each plateau:")
    for line in fast_preset_times():
        print(line)
    return 0
