"""The training loop for E models trained together, with callbacks.

`Trainer` wires the parts: the task sampler (`icmeta.core.task`), the models (`icmeta.core.model`),
the optimiser (`optim`), the evaluator (`evaluate`), the metric log and attention snapshots
(`log`) and the checkpoints (`checkpoint`). Its `run` is the whole schedule:

    evaluate (every eval interval; full metrics every metrics interval and on the pattern
    schedule) -> one SGD step on a fresh batch -> weights on the checkpoint schedule ->
    resume state every `resume_every_s` seconds

Callbacks see every evaluation (`Callback.on_evaluation`); the progress bar with live phase
detection is one (`Progress`).
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone
from functools import cache, partial
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import __version__
from ..analysis import phases
from ..config import Config
from ..core import counter
from ..core.members import member_labels
from ..core.model import Transformers
from ..core.task import Sampler, make_world
from ..store.ceilings import write_ceilings
from ..store.io import git_state, hardware, write_json, write_metrics, write_patterns
from ..store.run import RESULTS_VERSION, Run, load_run, record_checksums
from . import checkpoint
from .evaluate import Evaluation, Evaluator
from .kernels import apply_update, build_batch, compile_mode, counter_batch, forward, graph_step, member_losses, step_begin
from .kernels import prepare as compiled
from .log import MetricLog, Snapshots
from .optim import StackedOptimizer, sgd_update_


def log_schedule(steps: int, per_decade: int) -> list[int]:
    """0, 1, and about `per_decade` log-spaced steps per decade up to `steps` (inclusive)."""
    s = {0, steps}
    n = int(math.ceil(per_decade * math.log10(max(steps, 1)))) + 1
    s.update(int(round(10 ** (i / per_decade))) for i in range(n) if 10 ** (i / per_decade) <= steps)
    return sorted(s)


@cache
def provenance() -> dict:
    """The checkout's commit and changed files (`git_state`), read once per process, when the first
    segment is recorded (importing this module runs nothing)."""
    return git_state()

PATTERNS_PER_DECADE = 24  # attention snapshots
CHECKPOINTS_PER_DECADE = 4  # weights


class Stopped(Exception):
    """Training stopped at its deadline (`Trainer.stop_at`) with its resume state saved."""

    def __init__(self, step: int):
        super().__init__(f"stopped at step {step} with its resume state saved")
        self.step = step


class Callback:
    """Hooks into the loop; every method is optional."""

    def on_start(self, trainer: "Trainer") -> None: ...

    def on_evaluation(self, trainer: "Trainer", ev: Evaluation) -> None: ...

    def on_step(self, trainer: "Trainer") -> None: ...

    def on_end(self, trainer: "Trainer") -> None: ...


class Progress(Callback):
    """A tqdm bar with each member's accuracy and the number of plateaus detected so far."""

    def __init__(self, every_evals: int = 10):
        self.every = every_evals
        self.bar = None

    def on_start(self, trainer: "Trainer") -> None:
        self.bar = tqdm(total=trainer.steps, initial=trainer.step, desc=trainer.directory.name, dynamic_ncols=True)
        self.floors = [phases.floor(c) for c in trainer.ceilings]
        # accuracy so far (a resumed run has some), then appended at every evaluation
        self.history = [[list(a) for a in trainer.log.accuracy(e)] for e in range(trainer.E)]

    def on_evaluation(self, trainer: "Trainer", ev: Evaluation) -> None:
        for e, (steps, accs) in enumerate(self.history):
            steps.append(trainer.step)
            accs.append(float(ev.acc[e]))
        if trainer.step % (self.every * trainer.eval_interval):
            return
        counts = []
        for e, (st, ac) in enumerate(self.history):
            n = len(phases.detect(st, ac, floor=self.floors[e]).phases) if len(st) > 1 else 1
            counts.append(str(max(1, n)))
        accs = " ".join(f"{a:.3f}" for a in ev.acc.tolist())
        self.bar.set_postfix_str(f"acc {accs} phase {','.join(counts)}")

    def on_step(self, trainer: "Trainer") -> None:
        self.bar.update(1)

    def on_end(self, trainer: "Trainer") -> None:
        self.bar.close()


class Trainer:
    """Train the members `configs` (validated, device resolved) into the run folder `directory`."""

    def __init__(self, configs: list[Config], directory: Path, callbacks: list[Callback] = (), resume_every_s: float = 30.0,
                 stop_at: float | None = None, stop_at_step: int | None = None):
        self.configs, self.directory = list(configs), Path(directory)
        self.callbacks, self.resume_every_s = list(callbacks), resume_every_s
        # a deadline (seconds since the epoch, or a step): save the resume state there and
        # raise `Stopped` (a lent GPU's window ends; the next one resumes)
        self.stop_at, self.stop_at_step = stop_at, stop_at_step
        self.labels = member_labels(configs)
        self.members = [(l, c.seed) for l, c in zip(self.labels, configs)]
        c0 = configs[0]
        self.task, self.model_cfg, self.train_cfg = c0.task, c0.model, c0.train
        self.steps = self.train_cfg.steps
        self.device = torch.device(self.train_cfg.device)
        self.E = len(configs)
        self.seeds = [c.seeds() for c in configs]
        # the data draw and the training stream come from the data seed; the evaluation
        # sets from the evaluation seed; weights from the initialisation seed.
        worlds = [make_world(c.task, torch.Generator().manual_seed(s["data"])) for c, s in zip(configs, self.seeds)]
        self.sampler = Sampler([c.task for c in configs], worlds, self.device)
        self._initialise()
        eval_gens = [self._gen(s["eval"]) for s in self.seeds]
        eval_batch = self.sampler.sample(self.train_cfg.eval_size, eval_gens)
        rla_batch, unbroken = self.sampler.random_labels(eval_batch, eval_gens)
        self.rla_unbroken = unbroken.double().mean(1).tolist()
        self.rla_in_place = (rla_batch.labels == eval_batch.labels).double().mean((1, 2)).tolist()
        self.evaluator = Evaluator(eval_batch, rla_batch, self.task.N, self.model_cfg.layers,
                                   all_labels=self.train_cfg.loss == "all_labels")
        self.log = MetricLog(self.members, eval_batch.tasks, [c.task.T for c in configs])
        self.snapshots = Snapshots(self.members)
        # members may differ in lr, and so in their ΔAcc interval: evaluate at the finest
        self.eval_interval = min(c.train.eval_interval for c in configs)
        self.metrics_interval = min(c.train.metrics_interval for c in configs)
        self.pattern_schedule = set(log_schedule(self.steps, PATTERNS_PER_DECADE))
        self.ckpt_schedule = set(log_schedule(self.steps, CHECKPOINTS_PER_DECADE))
        self.step = 0
        self.segments: list[dict] = []

    def _gen(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(seed)

    def _initialise(self) -> None:
        """Weights, optimiser and training data streams as at step 0."""
        init_gens = [torch.Generator().manual_seed(s["init"]) for s in self.seeds]
        self.model = Transformers(self.task, self.model_cfg, init_gens).to(self.device)
        # the pure tensor work, compiled or not (icmeta.train.kernels)
        kernels = self.train_cfg.kernels
        lr = torch.tensor([c.train.lr for c in self.configs], device=self.device)
        graph = kernels == "graph"  # one compiled function does the whole step: no per-piece callables
        self.optimizer = StackedOptimizer(self.model, self.train_cfg.optimizer, lr,
                                          sgd_update=None if graph else compiled(sgd_update_, kernels, self.device, "update"))
        # the training stream: seed data+1, drawn by a generator per member or by counters
        all_labels = self.train_cfg.loss == "all_labels"
        b = self.train_cfg.batch_size
        if self.train_cfg.sampler == "counter":
            self.data_gens = []  # nothing to save: the step is the counter
            self.data_keys = counter.member_keys([s["data"] + 1 for s in self.seeds], self.device)
            self.step_t = torch.zeros((), dtype=torch.int64, device=self.device)
        else:
            self.data_gens = [self._gen(s["data"] + 1) for s in self.seeds]
        if graph:
            self.graph_step = partial(compiled(graph_step, kernels, self.device), self.model, self.sampler,
                                      self.data_keys, self.step_t, self.optimizer.lrs, b, all_labels,
                                      in_place=self.device.type != "cuda")
        elif self.train_cfg.sampler == "counter":
            self.build = partial(compiled(counter_batch, kernels, self.device), self.sampler, self.data_keys, self.step_t, b)
        else:
            build = compiled(build_batch, kernels, self.device)
            self.build = lambda: build(self.sampler, *self.sampler.draws(b, self.data_gens))
        if not graph:
            self.losses = partial(member_losses, self.model, forward=compiled(forward, kernels, self.device),
                                  all_labels=all_labels)
        self.forward = partial(compiled(forward, kernels, self.device, "kept"), self.model)

    # -- one step ------------------------------------------------------------------------
    def train_step(self) -> torch.Tensor:
        """One update of every member on a fresh batch; returns the [E] losses."""
        step_begin(self.train_cfg.kernels, self.device)
        if self.train_cfg.sampler == "counter":
            self.step_t.fill_(self.step)
        if self.train_cfg.kernels == "graph":
            loss, new = self.graph_step()
            if new is not None:
                apply_update(list(self.model.parameters()), new)
            return loss
        batch = self.build()
        loss = self.losses(batch)
        loss.sum().backward()
        self.optimizer.step()
        return loss.detach()

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "name": self.directory.name,
            "results_version": RESULTS_VERSION,
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "data_gens": [g.get_state() for g in self.data_gens],
            "rows": self.log.rows,
            "snapshots": self.snapshots.state(),
            "segments": self.segments,
        }

    def restore(self) -> bool:
        """Continue from the newest usable resume state; False if there is none."""
        while (found := checkpoint.load_state(self.directory, self.directory.name)) is not None:
            state, f = found
            try:
                step, rows, segments = int(state["step"]), list(state["rows"]), list(state["segments"])
                snapshots = Snapshots(self.members)
                snapshots.load(state["snapshots"])
                for g, s in zip(self.data_gens, state["data_gens"], strict=True):
                    g.set_state(s)
                self.model.load_state_dict(state["model"])
                self.optimizer.load_state_dict(state["optimizer"], self.device)
            except Exception as e:  # noqa: BLE001 - loads, but does not fit this run
                checkpoint.quarantine(f, f"does not fit this run ({type(e).__name__})")
                self._initialise()  # nothing half-restored survives
                continue
            self.step, self.log.rows, self.segments, self.snapshots = step, rows, segments, snapshots
            return True
        return False

    def info(self, status: str) -> dict:
        return {
            "status": status,
            "name": self.directory.name,
            "results_version": RESULTS_VERSION,
            "package_version": __version__,
            "members": [
                {"label": l, "seed": c.seed, "config": c.to_dict(), "seeds": s,
                 "rla_unbroken_sequences": u, "rla_labels_in_place": p}
                for l, c, s, u, p in zip(self.labels, self.configs, self.seeds, self.rla_unbroken, self.rla_in_place)
            ],
            "segments": self.segments,
            "steps_done": self.step,
            "wall_time_s": round(sum(s["wall_time_s"] for s in self.segments), 2),
            "delta_t": [c.train.delta_t for c in self.configs],
            "eval_interval": self.eval_interval,
            "metrics_interval": self.metrics_interval,
        }

    def _ceilings(self) -> list[dict]:
        """The members' Bayes ceilings: those already in the run folder (a resumed run),
        else computed (a Monte-Carlo estimate, seconds) and written."""
        try:
            return json.loads((self.directory / "ceilings.json").read_text())
        except (OSError, ValueError):
            return write_ceilings(self.directory, self.configs)

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> Run:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        if not self.restore():
            checkpoint.save_weights(d, 0, self.model)
        self.ceilings = self._ceilings()
        segment = {"from_step": self.step, "to_step": self.step, "wall_time_s": 0.0,
                   "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   **provenance(), **hardware(self.device),
                   "compile_mode": compile_mode(self.device) if self.train_cfg.kernels == "compiled" else None}
        self.segments.append(segment)
        write_json(d / "config.json", self.info("running"))
        for cb in self.callbacks:
            cb.on_start(self)
        t0 = last_save = time.perf_counter()
        while True:
            full = self.step % self.metrics_interval == 0 or self.step in self.pattern_schedule
            if full or self.step % self.eval_interval == 0:
                ev = self.evaluator(self.forward, full)
                self.log.record(self.step, ev)
                if self.step in self.pattern_schedule:  # always a full evaluation
                    self.snapshots.add(self.step, ev.patterns)
                for cb in self.callbacks:
                    cb.on_evaluation(self, ev)
            if self.step == self.steps:
                break
            self.train_step()
            self.step += 1
            for cb in self.callbacks:
                cb.on_step(self)
            if self.step in self.ckpt_schedule:
                checkpoint.save_weights(d, self.step, self.model)
            now = time.perf_counter()
            stop = ((self.stop_at is not None and time.time() >= self.stop_at)
                    or (self.stop_at_step is not None and self.step >= self.stop_at_step)) and self.step < self.steps
            if stop or now - last_save > self.resume_every_s:
                segment.update(to_step=self.step, wall_time_s=round(now - t0, 2))
                checkpoint.save_state(d, self.state())
                last_save = now
            if stop:
                raise Stopped(self.step)
        segment.update(to_step=self.step, wall_time_s=round(time.perf_counter() - t0, 2))
        for cb in self.callbacks:
            cb.on_end(self)
        write_metrics(d / "metrics.parquet", self.log.frame())
        write_patterns(d / "patterns.npz", np.array(self.snapshots.steps), self.snapshots.by_member())
        record_checksums(d, self.info("complete"))  # config.json, with the results files' SHA-256
        checkpoint.clear_states(d)
        return load_run(d)
