"""``python -m icmeta bench``: training throughput with evaluation, FLOPs, matmul peak, time
outside the matmuls, the projected time of the fast main result, and the speed-up of the
vectorised sampler over a per-sample reference loader like the authors' pipeline; with
``--reference``, one model against a per-sample training loop in the authors' style; with
``--queue``, the projected time of the paper-rate queue (``runs/queue/plan.json``) at the
measured rates.

On a GPU the default is the GPU path: the one-graph step (``kernels="graph"``) with the
counter-based stream, for E = 16, 64 and 256 models.

All numbers are medians of repeated timings; they vary with the machine's load, so the
benchmark prints them rather than asserting anything.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from .analysis.phases import run_phases
from .core.model import flops_per_step
from .core.task import Sampler, make_world
from .presets import PRESET_SEEDS, preset
from .store.io import git_state, hardware
from .store.run import find_run
from .train.kernels import forward as eager_forward
from .train.kernels import member_losses
from .train.loop import Trainer


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


def matmul_peak(device: torch.device, n: int | None = None, repeats: int = 5) -> float:
    """Measured fp32 matmul GFLOP/s of an n x n product (n = 1024 on the CPU, 8192 on a GPU,
    large enough to near its fp32 peak; TF32 stays off, PyTorch's default)."""
    n = n or (8192 if device.type == "cuda" else 1024)
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


MATMUL_OPS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")


@dataclass
class Measured:
    """One setting's numbers (times in seconds, FLOPs per step of all E models)."""

    device: str
    threads: int | None
    E: int
    kernels: str
    sampler: str
    step_s: float  # one training step of the E models (median)
    quick_eval_s: float  # accuracy pass on the evaluation set
    full_eval_s: float  # accuracy + RLA + attention + circuit metrics
    per_step_s: float  # training step + evaluations amortised on the preset's schedule
    train_flops: float  # executed matmul FLOPs of one training step (formula, checked)
    eval_flops_per_step: float  # evaluation FLOPs amortised per step (counted)
    outside_matmul_s: float  # per training step: wall time not spent in matmul kernels
    peak_gflops: float

    @property
    def steps_per_s(self) -> float:
        return 1 / self.per_step_s

    @property
    def gflops(self) -> float:
        return (self.train_flops + self.eval_flops_per_step) / self.per_step_s / 1e9


def _trainer(device: torch.device, E: int, kernels: str, preset_name: str = "paper", sampler: str = "generator"):

    cfgs = [preset(preset_name, seed=s, device=device.type, kernels=kernels, sampler=sampler) for s in range(E)]
    return Trainer(cfgs, directory="/nonexistent-bench-run")


def _counted_flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def _matmul_seconds(tr, steps: int, sync) -> tuple[float, float]:
    """(wall, matmul-kernel) seconds per training step, from the profiler."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if tr.device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        t = time.perf_counter()
        for _ in range(steps):
            tr.train_step()
        sync()
        wall = (time.perf_counter() - t) / steps
    if tr.device.type == "cuda":  # device time of the GEMM kernels (cuBLAS/CUTLASS names say "gemm")
        try:
            mm = sum(e.self_device_time_total for e in prof.key_averages()
                     if e.device_type.name == "CUDA" and "gemm" in e.key.lower())
        except AttributeError:  # a profiler without these fields
            mm = float("nan")
    else:
        mm = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMUL_OPS)
    return wall, mm / 1e6 / steps


def measure(device: torch.device, E: int, kernels: str = "compiled", repeats: int = 3,
            preset_name: str = "paper", peak: float = float("nan"), sampler: str = "generator") -> Measured:
    """Time E models of `preset_name` together: the training step, both evaluation passes, and
    the step with its evaluations amortised (eval every Δt, full metrics every 5 Δt)."""

    tr = _trainer(device, E, kernels, preset_name, sampler)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    inner = max(2, (40 if device.type == "cpu" else 200) // E)
    for _ in range(3):  # compile and warm up every path
        tr.train_step()
    t_step = _median_time(tr.train_step, repeats, inner, sync)
    t_quick = _median_time(lambda: tr.evaluator(tr.forward, False), repeats, 1, sync)
    t_full = _median_time(lambda: tr.evaluator(tr.forward, True), repeats, 1, sync)
    ei, mi = tr.eval_interval, tr.metrics_interval

    def amortised(quick: float, full: float) -> float:  # per step: a full evaluation replaces a quick one
        return quick * (1 / ei - 1 / mi) + full / mi

    cfg = tr.configs[0]
    train_flops = E * flops_per_step(cfg.task, cfg.model, cfg.train.batch_size)
    eager = partial(eager_forward, tr.model)
    f_quick = _counted_flops(lambda: tr.evaluator(eager, False))
    f_full = _counted_flops(lambda: tr.evaluator(eager, True))
    wall, mm = _matmul_seconds(tr, inner, sync)
    return Measured(device.type, torch.get_num_threads() if device.type == "cpu" else None, E, kernels, sampler,
                    t_step, t_quick, t_full, t_step + amortised(t_quick, t_full), train_flops,
                    amortised(f_quick, f_full), max(0.0, wall - mm), peak)


def check_flops(device: torch.device) -> tuple[float, float]:
    """(formula, torch.utils.flop_counter) FLOPs of one eager training step of one paper model."""

    tr = _trainer(device, 1, "eager")
    batch = tr.sampler.sample(tr.train_cfg.batch_size, tr.data_gens)
    counted = _counted_flops(lambda: member_losses(tr.model, batch).sum().backward())
    cfg = tr.configs[0]
    return flops_per_step(cfg.task, cfg.model, cfg.train.batch_size), counted


def fast_preset_times() -> list[str]:
    """Wall time of the stored `fast` run to reach each plateau (if it has been trained)."""

    cfgs = [preset("fast", seed=s) for s in PRESET_SEEDS["fast"]]
    run = find_run(cfgs)
    if run is None:
        return ["  no stored fast run; train it with: python -m icmeta train --preset fast"]
    per_step = run.wall_time_s / run.config.train.steps
    hw = run.info["segments"][-1]
    lines = [f"  stored fast run {run.directory.name}: {len(cfgs)} seeds together, {run.wall_time_s:.0f} s wall "
             f"({hw['device']}, {hw['threads']} thread(s))"]
    table = run_phases(run)
    for _, r in table.iterrows():
        lines.append(f"  seed {r.seed} phase {r.phase} ({r.circuit}): plateau from step {r.start:>6d} (~{r.start * per_step:6.1f} s), acc {r.acc:.3f}")
    return lines


def main(quick: bool = False, device: str = "auto", kernels: str | None = None, json_path: str | None = None,
         sizes: tuple[int, ...] | None = None, sampler: str | None = None, queue: bool = False,
         reference: bool = False) -> int:
    devices = [torch.device("cpu")] if device in ("auto", "cpu") else []
    if device in ("auto", "cuda") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if device == "cuda" and not torch.cuda.is_available():
        print("note: no CUDA device available; CPU only")
        devices = [torch.device("cpu")]
    repeats = 3  # medians of 3
    cfg = preset("paper")
    formula, counted = check_flops(torch.device("cpu"))
    print(f"paper shapes: K={cfg.task.K} L={cfg.task.L} N={cfg.task.N} width={cfg.task.d_model} layers={cfg.model.layers} "
          f"heads={cfg.model.heads} batch={cfg.train.batch_size}")
    print(f"matmul FLOPs of one training step of one model: {formula / 1e6:.1f} MFLOP "
          f"(torch.utils.flop_counter: {counted / 1e6:.1f}, {'equal' if formula == counted else 'MISMATCH'})")
    print("steps/s include the evaluations on the paper schedule (accuracy every 100 steps, RLA, attention and\n"
          "circuit metrics every 500), amortised; FLOP/s counts the matmul FLOPs executed, evaluation included.")

    out: dict = {"flops_per_step": formula, "flop_counter": counted, "settings": [],
                 "provenance": {**git_state(), **hardware(devices[-1]), "cpu_threads": os.cpu_count()}}
    for dev in devices:
        kern = kernels or ("graph" if dev.type == "cuda" else "compiled")
        samp = sampler or ("counter" if kern == "graph" else "generator")
        es = sizes or ((16, 64, 256) if dev.type == "cuda" else (1, 4, 16, 64))
        if quick:
            es = tuple(e for e in es if e <= 16) or es[:1]
        thread_options = sorted({1, os.cpu_count() or 1}) if dev.type == "cpu" else [None]
        unit, scale = ("TFLOP/s", 1e3) if dev.type == "cuda" else ("GFLOP/s", 1.0)
        for threads in thread_options:
            if threads:
                torch.set_num_threads(threads)
            name = f"cpu, {threads} thread(s)" if threads else f"cuda ({torch.cuda.get_device_name(dev)})"
            peak = matmul_peak(dev)
            print(f"\n[{name}] kernels={kern} sampler={samp}; fp32 matmul peak: {peak / scale:.1f} {unit}")
            print(f"  {'E':>3} {'steps/s':>8} {'model-steps/s':>13} {unit:>8} {'% peak':>7} "
                  f"{'step ms':>8} {'outside mm':>10} {'eval ms':>8} {'full ms':>8}")
            for E in es:
                m = measure(dev, E, kern, repeats, peak=peak, sampler=samp)
                out["settings"].append({**asdict(m), "steps_per_s": m.steps_per_s, "gflops": m.gflops})
                if dev.type == "cuda":  # the queue's time at what is measured so far
                    out["queue"] = project_queue({x["E"]: x["per_step_s"] for x in out["settings"] if x["device"] == "cuda"},
                                                 quiet=True)
                if json_path:  # after every setting: a bench cut at a time limit keeps what it measured
                    Path(json_path).write_text(json.dumps(out, indent=1, default=str))
                print(f"  {E:>3} {m.steps_per_s:>8.1f} {E * m.steps_per_s:>13.1f} {m.gflops / scale:>8.2f} "
                      f"{100 * m.gflops / peak:>6.1f}% {1e3 * m.step_s:>8.2f} {1e3 * m.outside_matmul_s:>7.2f} ms "
                      f"{1e3 * m.quick_eval_s:>8.1f} {1e3 * m.full_eval_s:>8.1f}", flush=True)
    if queue or any(d.type == "cuda" for d in devices):  # on a GPU the queue's time is the point
        last = [x for x in out["settings"] if x["device"] == devices[-1].type]
        out["queue"] = project_queue({x["E"]: x["per_step_s"] for x in last if x["threads"] in (None, os.cpu_count())})
    if reference and any(d.type == "cpu" for d in devices):
        torch.set_num_threads(os.cpu_count() or 1)
        kern = kernels or "compiled"
        out["reference"] = reference_ratio(kern, sampler or ("counter" if kern == "graph" else "generator"), repeats)
    if any(d.type == "cpu" for d in devices) and not quick:
        # the main result: the fast preset, 3 seeds together, on all CPU cores
        torch.set_num_threads(os.cpu_count() or 1)
        kern = kernels or "compiled"
        fast = measure(torch.device("cpu"), 3, kern, repeats, preset_name="fast",
                       sampler=sampler or ("counter" if kern == "graph" else "generator"))
        steps = preset("fast").train.steps
        print(f"\nfast main result (3 seeds together, {torch.get_num_threads()} CPU threads): {1e3 * fast.per_step_s:.2f} ms "
              f"per step with evaluation -> {steps * fast.per_step_s:.0f} s projected for {steps:,} steps")
        out["fast_projection_s"] = steps * fast.per_step_s
        out["fast_per_step"] = asdict(fast)
        for line in fast_preset_times():
            print(line)
        out["data"] = data_pipeline(repeats)
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1, default=str))
        print(f"\nwrote {json_path}")
    return 0


def project_queue(per_step_s: dict[int, float], plan: Path | None = None, workers: int = 4, quiet: bool = False) -> dict:
    """The paper-rate queue's time at the measured seconds per step (with evaluation) of E models
    at the paper's shapes. A group of E members takes its steps x the time per step at E
    (interpolated; below the smallest E measured, that E's time: a small group is bound by
    latency, not FLOPs), scaled up by its FLOPs per model-step where its shapes cost more than the
    paper's. Three numbers: one group after another; `workers` groups at once in the queue's
    order (`icmeta.train.queue_worker`), each slowed while together they would ask for more
    model-steps/s than the best rate measured; and that best rate alone (a bound)."""
    from .experiments import queue as Q
    from .train.runner import queue_groups

    plan = Path(plan) if plan is not None else Q.queue_root() / "plan.json"
    if not per_step_s or not plan.exists():
        if not quiet:
            print(f"\nqueue: nothing to project ({'no plan at ' + str(plan) if per_step_s else 'no timings'})")
        return {}
    configs = Q.queue_configs(Q.read_plan(plan))
    sizes = sorted(per_step_s)
    base = flops_per_step(preset("paper").task, preset("paper").model, 128)
    groups = queue_groups(configs)
    # per group: members, steps, seconds per step alone
    cost = [max(1.0, flops_per_step(g[0].task, g[0].model, g[0].train.batch_size) / base) for g in groups]
    jobs = [(len(g), g[0].train.steps, float(np.interp(len(g), sizes, [per_step_s[e] for e in sizes])) * k)
            for g, k in zip(groups, cost)]
    best = max(E / per_step_s[E] for E in sizes)  # model-steps/s at the paper's shapes
    serial = sum(steps * t for _, steps, t in jobs)
    bound = sum(E * steps * k for (E, steps, _), k in zip(jobs, cost)) / best
    # `workers` at once: advance to the next group's end, every running group slowed alike
    pending, running, together = list(jobs), [], 0.0
    while pending or running:
        while pending and len(running) < workers:
            E, steps, t = pending.pop(0)
            running.append([E, steps, t])
        slow = max(1.0, sum(E / t for E, _, t in running) / best)  # FLOP-heavy groups count as fewer model-steps/s
        dt = min(steps * t * slow for _, steps, t in running)
        together += dt
        for r in running:
            r[1] -= dt / (r[2] * slow)
        running = [r for r in running if r[1] > 1e-6]
    if not quiet:
        print(f"\nqueue ({plan}): {len(configs)} members in {len(groups)} groups, {Q.model_steps(configs) / 1e6:.1f} M "
              f"model-steps: {serial / 60:.1f} min one group after another, {together / 60:.1f} min with {workers} groups "
              f"at once, {bound / 60:.1f} min at the best measured rate ({best:,.0f} model-steps/s) throughout")
    return {"members": len(configs), "groups": len(groups), "model_steps": Q.model_steps(configs),
            "serial_s": serial, "together_s": together, "workers": workers, "bound_s": bound}


class AuthorsStyleLoop:
    """One model trained the way the official code does it, as far as its published behaviour goes:
    every sequence of a batch built in Python (`ReferenceLoader`), three batches drawn per step
    (training and two validation batches, evaluated each step), a dense `nn.Module` transformer of
    the paper's shapes (every position through every layer), `torch.optim.SGD`. Leaner than the
    official pipeline (no logging, no attention maps), so the ratio it gives is a lower bound."""

    def __init__(self, seed: int = 0):
        from torch import nn

        torch.manual_seed(seed)
        c = preset("paper")
        self.loader = ReferenceLoader(K=c.task.K, L=c.task.L, T=c.task.T, N=c.task.N, D=c.task.D, P=c.task.P)
        d, L = c.task.d_model, c.task.L
        self.qkv = nn.ModuleList([nn.Linear(d, 3 * d, bias=False) for _ in range(c.model.layers)])
        self.o = nn.ModuleList([nn.Linear(d, d, bias=False) for _ in range(c.model.layers)])
        self.embed = nn.Embedding(L, d)
        self.cls = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, L))
        self.params = [*self.qkv.parameters(), *self.o.parameters(), *self.embed.parameters(), *self.cls.parameters()]
        self.opt = torch.optim.SGD(self.params, lr=c.train.lr)
        S = c.task.seq_len
        self.mask = torch.full((S, S), float("-inf")).triu(1)

    def logits(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[:, 1:-1:2] += self.embed(labels)
        for qkv, o in zip(self.qkv, self.o):
            q, k, v = qkv(x).chunk(3, -1)
            x = x + o(torch.softmax(q @ k.transpose(1, 2) + self.mask, -1) @ v)
        return self.cls(x[:, -1])

    def step(self, b: int = 128) -> None:
        x, labels, target = self.loader.batch(b)
        loss = torch.nn.functional.cross_entropy(self.logits(x, labels), target)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            for _ in range(2):
                x, labels, target = self.loader.batch(b)
                (self.logits(x, labels).argmax(-1) == target).float().mean()


def reference_ratio(kernels: str, sampler: str, repeats: int) -> dict:
    """Steps/s of one model end to end (this package, evaluation on the paper schedule amortised)
    against `AuthorsStyleLoop`, on all CPU threads."""
    ref = AuthorsStyleLoop()
    t_ref = _median_time(ref.step, repeats, 5, lambda: None)
    ours = measure(torch.device("cpu"), 1, kernels, repeats, sampler=sampler)
    ratio = t_ref / ours.per_step_s
    print(f"\none model, {torch.get_num_threads()} CPU threads: authors'-style loop {1 / t_ref:.1f} steps/s; "
          f"this package ({kernels}, {sampler}) {ours.steps_per_s:.1f} steps/s with evaluation: {ratio:.1f}x")
    return {"reference_step_s": t_ref, "per_step_s": ours.per_step_s, "ratio": ratio, "kernels": kernels, "sampler": sampler}


def data_pipeline(repeats: int) -> dict:
    """The vectorised sampler against a per-sample loader like the authors' (one thread)."""

    torch.set_num_threads(1)
    tc = preset("paper").task
    ref = ReferenceLoader()
    t_ref = _median_time(lambda: ref.batch(128), repeats, 2, lambda: None)
    s = Sampler([tc], [make_world(tc, torch.Generator().manual_seed(0))])
    g = [torch.Generator().manual_seed(1)]
    t_vec = _median_time(lambda: s.sample(128, g), repeats, 50, lambda: None)
    print("\ndata (one CPU thread, batch 128):")
    print(f"  reference per-sample loader: {128 / t_ref:10.0f} sequences/s ({t_ref * 1e3:.1f} ms per batch)")
    print(f"  vectorised sampler:          {128 / t_vec:10.0f} sequences/s ({t_vec * 1e3:.2f} ms per batch), "
          f"{t_ref / t_vec:.0f}x")
    return {"reference_s": t_ref, "vectorised_s": t_vec}
