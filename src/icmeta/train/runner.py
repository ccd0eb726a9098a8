"""The sweep runner: train every member of a sweep that is not stored yet, on all cores or a Dask cluster.

Each member (one model, `icmeta.experiments.Member`) is stored as its own run, ``run-<hash of its
config>``: a member already stored is never retrained, whatever sweep asked for it first.
Members that can share one loop (same model, shapes and schedule; `group_key`) are trained
together as a *group*, an execution detail that never changes a result: on the CPU a member
trains bit for bit the same alone or in any group (`tests/test_sweep.py`). A group trains in
``<root>/group-<hash>/`` (resumable like any run), then is split into its members' run folders
and removed.

Coordination is the run store only, so any number of processes on any number of machines that
share the store's filesystem can work on one sweep: a group takes every member's lock (in
name order, so two groups never deadlock), trains only the members still missing, and a
sweep interrupted at any point resumes from the groups' resume states, losing nothing.

Executors: ``local`` (one process per group, up to one per core, each with its share of the
threads) and ``dask`` (`dask.distributed`; a `LocalCluster` started here, or an existing
cluster given by its scheduler address).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..config import Config, ConfigError, config_hash, flatten
from ..core.members import SHARED_TRAIN_FIELDS
from ..core.task import SHARED_TASK_FIELDS
from ..experiments.sweeps import Member
from ..store.io import (
    atomic_write,
    default_runs_root,
    run_lock,
    write_json,
    write_metrics,
    write_patterns,
)
from ..store.run import (
    RESULTS_VERSION,
    checkpoint_name,
    Run,
    find_run,
    is_complete,
    load_run,
    record_checksums,
    run_name,
)
from . import prepare
from .loop import Callback, Trainer

EXECUTORS = ("local", "dask")
PROGRESS_FILE = "progress.json"


# ----------------------------------------------------------------------------- grouping

def group_key(c: Config) -> tuple:
    """What members must share to train in one loop: the model, the shared training fields,
    the shared task fields and the evaluation schedule (an ensemble evaluates at its finest
    interval, which would add rows to a coarser member's table)."""
    f = flatten(c)
    return (tuple(sorted(c.model.__dict__.items())), tuple(f[k] for k in SHARED_TRAIN_FIELDS),
            tuple(f[k] for k in SHARED_TASK_FIELDS), c.train.eval_interval, c.train.metrics_interval)


def default_group_size(device: str) -> int:
    """Members per group: 3 on the CPU (a 1-thread worker trains 1 to 4 models at the same
    model-steps/s, `python -m icmeta bench`), 64 on a GPU (where larger ensembles are faster)."""
    return 64 if device == "cuda" else 3


def plan_groups(configs: Sequence[Config], group_size: int) -> list[list[Config]]:
    """Chunks of at most `group_size` compatible configs, in order of first appearance.

    The chunks depend only on the configs and the group size (not on what is stored), so a
    sweep started again forms the same groups and resumes their states."""
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ConfigError("group-size", group_size, "an integer >= 1")
    unique: dict[str, Config] = {}
    for c in configs:
        unique.setdefault(run_name([c]), c)
    classes: dict[tuple, list[Config]] = {}
    for c in unique.values():
        classes.setdefault(group_key(c), []).append(c)
    return [cs[i:i + group_size] for cs in classes.values() for i in range(0, len(cs), group_size)]


def queue_groups(configs: Sequence[Config], largest: int | None = None) -> list[list[Config]]:
    """The paper-rate queue's groups in priority order (`icmeta.train.queue_worker`, and the bench's
    projection of it): members of one shape together (`plan_groups`), at most `largest`, and no
    more than one resume state can bring back (`icmeta.experiments.queue.chunks`)."""
    from ..experiments import queue as Q

    largest = largest or Q.GROUP_SIZE
    return [chunk for g in plan_groups(configs, largest) for chunk in Q.chunks(g, largest)]


def group_dir(configs: Sequence[Config], root: Path) -> Path:
    return Path(root) / f"group-{config_hash(list(configs), RESULTS_VERSION)}"


def member_dir(c: Config, root: Path) -> Path:
    return Path(root) / run_name([c])


def stored(c: Config, root: Path) -> bool:
    return is_complete(member_dir(c, root))


# ------------------------------------------------------------------------ one group

@contextlib.contextmanager
def _member_locks(configs: Sequence[Config], root: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for d in sorted({member_dir(c, root) for c in configs}):
            stack.enter_context(run_lock(d))
        yield


def split_run(group: Run, root: Path) -> list[Path]:
    """Write each member of a finished group run as its own single-member run folder.

    The member's rows, attention snapshots, ceilings and weight checkpoints are exactly those
    of the group, relabelled ``main`` (a single-member run's label); its ``config.json`` keeps
    the group's training segments and names the group it was trained in (``trained_in``), and
    the checksums of its own files. Files are written atomically and ``config.json`` (status
    complete) last."""
    out = []
    with np.load(group.directory / "patterns.npz") as z:
        arrays = {k: z[k] for k in z.files}
    ceilings = {(c["label"], c["seed"]): c for c in group.ceilings()}
    ckpts = group.checkpoint_steps()
    for e, ((label, seed), c, m) in enumerate(zip(group.members, group.configs, group.info["members"])):
        d = member_dir(c, root)
        d.mkdir(parents=True, exist_ok=True)
        rows = group.metrics[(group.metrics.member == label) & (group.metrics.seed == seed)].copy()
        rows["member"] = "main"
        write_metrics(d / "metrics.parquet", rows.reset_index(drop=True))
        write_patterns(d / "patterns.npz", arrays["steps"], {("main", seed): {
            "mean": arrays[f"mean:{label}:{seed}"], "example": arrays[f"example:{label}:{seed}"]}})
        write_json(d / "ceilings.json", [{**ceilings[(label, seed)], "label": "main"}])
        for s in ckpts:
            state = torch.load(group.directory / checkpoint_name(s), map_location="cpu", weights_only=True)
            one = {"step": s, "model": {k: v[e:e + 1].clone() for k, v in state["model"].items()}}
            atomic_write(d / checkpoint_name(s), lambda f, one=one: torch.save(one, f))
        info = json.loads(json.dumps(group.info))  # a deep copy
        info.update(name=d.name, members=[{**m, "label": "main"}],
                    trained_in={"group": group.directory.name, "members": len(group.members)})
        record_checksums(d, info)  # config.json: the member's own files' SHA-256, not the group's
        out.append(d)
    return out


def train_group(configs: Sequence[Config], root: str | Path, threads: int | None = None,
                progress_every_s: float = 5.0, resume_every_s: float = 30.0, stop_at: float | None = None,
                stop_at_step: int | None = None) -> list[str]:
    """Train the members of one group that are not stored yet; return their run folders.

    Safe to call from any process on any machine sharing `root`: it holds every member's lock
    while it works, resumes the group's state if an earlier attempt was cut, and splits a
    group that finished before being split. Progress (steps done) is written every
    `progress_every_s` seconds to ``progress.json`` in the group folder. With `stop_at` (seconds
    since the epoch) or `stop_at_step`, an unfinished group saves its resume state there and
    raises `icmeta.train.loop.Stopped`; called again, it resumes."""
    root = Path(root)
    if threads:
        torch.set_num_threads(threads)
    configs = prepare(list(configs))
    with _member_locks(configs, root):
        full = group_dir(configs, root)
        missing = [c for c in configs if not stored(c, root)]
        if missing and is_complete(full):  # trained, but cut while it was being split
            split_run(load_run(full), root)
            missing = []
        if missing:
            gdir = full if len(missing) == len(configs) else group_dir(missing, root)
            trainer = Trainer(missing, gdir, callbacks=[_ProgressFile(gdir, progress_every_s)],
                              resume_every_s=resume_every_s, stop_at=stop_at, stop_at_step=stop_at_step)
            split_run(trainer.run(), root)
            shutil.rmtree(gdir, ignore_errors=True)
        if full.exists() and all(stored(c, root) for c in configs):
            shutil.rmtree(full, ignore_errors=True)
        return [str(member_dir(c, root)) for c in configs]


class _ProgressFile(Callback):
    """Writes ``{"step", "steps", "members"}`` to the group folder every few seconds, so the
    process that runs the sweep can show progress whichever machine trains the group."""

    def __init__(self, directory: Path, every_s: float):
        self.path, self.every_s, self.last = Path(directory) / PROGRESS_FILE, every_s, 0.0

    def _write(self, trainer) -> None:
        write_json(self.path, {"step": trainer.step, "steps": trainer.steps, "members": trainer.E})
        self.last = time.monotonic()

    def on_start(self, trainer) -> None:
        self._write(trainer)

    def on_step(self, trainer) -> None:
        if time.monotonic() - self.last > self.every_s:
            self._write(trainer)

    def on_end(self, trainer) -> None:
        self._write(trainer)


def _train_group_safely(configs: list[Config], root: str, threads: int | None,
                        resume_every_s: float = 30.0) -> tuple[list[str], str | None]:
    """`train_group`, with any failure returned as one line (the sweep goes on)."""
    try:
        return train_group(configs, root, threads, resume_every_s=resume_every_s), None
    except Exception as e:  # noqa: BLE001 - reported per group by the sweep, which keeps the others
        where = traceback.extract_tb(e.__traceback__)[-1]
        return [], f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"


# ------------------------------------------------------------------------------ a sweep

@dataclass
class SweepResult:
    """What a sweep ended with: each member's run folder (None if its group failed) and the
    failures, one line per group."""

    members: list[Member]
    directories: list[Path | None]
    failures: list[tuple[list[str], str]] = field(default_factory=list)  # (member names, why)
    wall_time_s: float = 0.0
    trained: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def _cost(group: list[Config]) -> float:
    c = group[0]
    return c.train.steps * c.task.seq_len * len(group)


def run_sweep(members: Sequence[Member], root: str | Path | None = None, executor: str = "local",
              scheduler: str | None = None, workers: int | None = None, group_size: int | None = None,
              progress: bool = True, poll_s: float = 2.0, resume_every_s: float = 30.0,
              threads: int | None = None) -> SweepResult:
    """Train every member not stored yet; return where each one is stored.

    Args:
        members: from `icmeta.experiments.Sweep.members` (several sweeps may be concatenated:
            a config asked for twice is trained once).
        root: the run store (default `$ICMETA_RUNS` or ``runs/``); on a cluster, a folder
            every worker sees at the same path.
        executor: ``local`` or ``dask``.
        scheduler: with ``dask``, the address of a running scheduler (``tcp://host:8786``);
            None starts a `LocalCluster` on this machine.
        workers: processes (default: one per core for ``local`` and the local cluster, but
            never more than there are groups; one on a GPU).
        group_size: members per group (default `default_group_size`).
        resume_every_s: seconds between saves of each group's resume state.
        threads: torch threads of each group's process (default: the cores shared among the
            local workers; 1 on an existing cluster, whose workers should be one process per
            core: ``SLURMCluster(cores=16, processes=16)``).
    """
    t0 = time.time()
    if executor not in EXECUTORS:
        raise ConfigError("executor", executor, ", ".join(EXECUTORS))
    if scheduler is not None and executor != "dask":
        raise ConfigError("scheduler", scheduler, "only with --executor dask")
    for name, v in (("workers", workers), ("threads", threads)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError(name, v, "an integer >= 1")
    root = Path(root if root is not None else default_runs_root()).resolve()
    root.mkdir(parents=True, exist_ok=True)
    configs = [m.config for m in members]
    for c in configs:  # a finished run under a member's name must be that member (else StoreError)
        find_run([c], root)
    device = configs[0].train.device if configs else "cpu"
    groups = plan_groups(configs, group_size or default_group_size(device))
    todo = sorted([g for g in groups if not all(stored(c, root) for c in g)], key=_cost, reverse=True)
    before = {run_name([c]) for c in configs if stored(c, root)}
    result = SweepResult(list(members), [])
    if todo:
        cores = os.cpu_count() or 1
        n = workers or (1 if device == "cuda" else cores)
        n = max(1, min(n, len(todo))) if scheduler is None else n
        threads = threads or (max(1, cores // n) if scheduler is None else 1)
        display = _Display(configs, todo, root, progress)
        run = _run_dask if executor == "dask" else _run_local
        for group, (_, err) in run(todo, (str(root), threads, resume_every_s), n, scheduler, display, poll_s):
            if err:
                result.failures.append(([_member_name(members, c) for c in group], err))
                display.failed(group, err)
            else:
                display.done(group)
        display.close()
    result.directories = [member_dir(c, root) if stored(c, root) else None for c in configs]
    result.trained = len({run_name([c]) for c in configs if stored(c, root)} - before)
    result.wall_time_s = time.time() - t0
    return result


def _member_name(members: Sequence[Member], c: Config) -> str:
    for m in members:
        if m.config == c:
            return f"{m.label} seed {m.seed}"
    return f"seed {c.seed}"


def _run_local(todo, args, n, scheduler, display, poll_s):
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(n, mp_context=mp.get_context("spawn")) as pool:
        pending = {pool.submit(_train_group_safely, g, *args): g for g in todo}
        display.running(list(pending.values()))
        while pending:
            done, _ = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
            for fut in done:
                group = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker process died (killed, out of memory)
                    res = ([], f"worker process died ({type(e).__name__}: {e})")
                yield group, res
            display.running(list(pending.values()))
            display.refresh()


def _run_dask(todo, args, n, scheduler, display, poll_s):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("executor", "dask", "local (dask.distributed is not installed: pip install distributed)") from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout=30))
            except (OSError, TimeoutError) as e:
                raise ConfigError("scheduler", scheduler, f"the address of a running Dask scheduler ({type(e).__name__})") from None
        futures = {client.submit(_train_group_safely, g, *args, pure=False,
                                 key=f"train-{group_dir(g, args[0]).name}"): g for g in todo}
        pending = dict(futures)
        while pending:
            done = [f for f in pending if f.done()]
            if not done:
                time.sleep(poll_s)
            for fut in done:
                group = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as e:  # noqa: BLE001 - the worker died
                    res = ([], f"dask worker failed ({type(e).__name__}: {e})")
                yield group, res
            display.running(list(pending.values()))
            display.refresh()


class _Display:
    """One progress line for the whole sweep: model-steps done (running groups read from their
    ``progress.json``), members done / running / left, and an estimate of the time left."""

    def __init__(self, configs, todo, root: Path, enabled: bool):
        from tqdm.auto import tqdm

        self.root, self.todo = root, todo
        self.total_members = len({run_name([c]) for c in configs})
        self.done_members = self.total_members - sum(len(g) for g in todo)
        self.work = {id(g): g[0].train.steps * len(g) for g in todo}
        self.finished_work = 0
        self.current: list = []
        self.bar = tqdm(total=sum(self.work.values()), desc="sweep", unit="model-step", unit_scale=True,
                        disable=not enabled, dynamic_ncols=True, file=sys.stderr, mininterval=2)

    def running(self, groups) -> None:
        self.current = groups

    def _live(self) -> tuple[int, int]:
        """(model-steps done, members) of the pending groups that have started."""
        work = members = 0
        for g in self.current:
            try:
                p = json.loads((group_dir(g, self.root) / PROGRESS_FILE).read_text())
                work, members = work + int(p["step"]) * int(p["members"]), members + int(p["members"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return work, members

    def refresh(self) -> None:
        work, running = self._live()
        self.bar.n = min(self.finished_work + work, self.bar.total)
        left = self.total_members - self.done_members - running
        self.bar.set_postfix_str(f"members {self.done_members}/{self.total_members} done, "
                                 f"{running} running, {max(left, 0)} waiting", refresh=False)
        self.bar.refresh()

    def done(self, group) -> None:
        self.finished_work += self.work[id(group)]
        self.done_members += len(group)
        self.current = [g for g in self.current if g is not group]
        self.refresh()

    def failed(self, group, why: str) -> None:
        self.finished_work += self.work[id(group)]
        self.current = [g for g in self.current if g is not group]
        self.bar.write(f"sweep: group of {len(group)} failed: {why}", file=sys.stderr)
        self.refresh()

    def close(self) -> None:
        self.bar.close()
