"""Reading a sweep's stored runs back (`load_sweep`, `load_lr_check`, `load_gpu_check`); nothing here trains.

A missing run is refused in one line that names the command which trains it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..config import ConfigError
from ..presets import PRESET_SEEDS, VARIANT_STEPS, VARIANTS, preset, variant_configs
from ..store.io import StoreError, default_runs_root
from ..store.run import Run, find_run, load_run, run_name
from . import queue as Q
from .sweeps import GPU_CHECKS, SWEEPS, Member, Sweep, sweep


@dataclass
class SweepRuns:
    """A sweep's members with their stored runs (one single-member run each).

    `frame(metric)` is the long table of one or more metrics over every member: columns
    ``label``, ``seed``, ``step``, ``metric``, ``layer``, ``head``, ``value``, and one column
    per swept field (its value)."""

    sweep: Sweep
    members: list[Member]
    runs: list[Run]

    def frame(self, metric: str | Sequence[str] = "acc") -> pd.DataFrame:
        names = [metric] if isinstance(metric, str) else list(metric)
        parts = []
        for m, r in self.pairs():
            df = r.metrics[r.metrics.metric.isin(names)].drop(columns="member")
            df.insert(0, "label", m.label)
            parts.append(df.assign(**dict(m.setting)))
        return pd.concat(parts, ignore_index=True)

    @property
    def labels(self) -> list[str]:
        """The grid points' labels, in sweep order."""
        return list(dict.fromkeys(m.label for m in self.members))

    @property
    def training_time_s(self) -> float:
        """Training wall time of the sweep's models (see `training_time_s`)."""
        return training_time_s(self.runs)

    def pairs(self, label: str | None = None, seed: int | None = None) -> list[tuple[Member, Run]]:
        """(member, its run) of every member, or of those of one setting and/or seed, in sweep order."""
        return [(m, r) for m, r in zip(self.members, self.runs)
                if (label is None or m.label == label) and (seed is None or m.seed == seed)]

    def runs_of(self, label: str) -> list[Run]:
        """The runs of one setting's seeds, in seed order."""
        return [r for _, r in self.pairs(label)]

    def run(self, label: str, seed: int) -> Run:
        found = self.pairs(label, seed)
        if not found:
            raise StoreError(f"{self.sweep.name}: no member {label!r} seed {seed}")
        return found[0][1]


def training_time_s(runs: Sequence[Run]) -> float:
    """Training wall time of stored models, each counted once; a model trained in a group of n
    (``trained_in`` in its config.json) counts for 1/n of the group's time."""
    unique = {r.directory: r for r in runs}
    return sum(r.wall_time_s / r.info.get("trained_in", {}).get("members", 1) for r in unique.values())


def load_sweep(name_or_sweep: str | Sweep, preset_name: str = "fast", seeds: Sequence[int] | None = None,
               device: str = "cpu", root: Path | str | None = None, labels: Sequence[str] | None = None) -> SweepRuns:
    """The stored runs of every member of a sweep (or of its settings named in `labels`); never
    trains.

    Raises `StoreError` in one line naming the missing members and the command that trains
    them, or (from `icmeta.store.find_run`) a stored run that does not match its member."""
    sw = sweep(name_or_sweep) if isinstance(name_or_sweep, str) else name_or_sweep
    members = sw.members(preset_name, seeds, device)
    if labels is not None:
        unknown = [x for x in labels if x not in {m.label for m in members}]
        if unknown:
            raise ConfigError("labels", unknown, ", ".join(dict.fromkeys(m.label for m in members)))
        members = [m for m in members if m.label in labels]
    runs = [find_run([m.config], root) for m in members]
    missing = [f"{m.label} seed {m.seed}" for m, r in zip(members, runs) if r is None]
    if missing:
        seeds_opt = "" if seeds is None else " --seeds " + " ".join(map(str, seeds))
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise StoreError(f"{sw.name}: {len(missing)} of {len(members)} runs not stored ({shown}); train them with `make runs` "
                         f"(or python -m icmeta sweep {sw.name} --preset {preset_name}{seeds_opt})")
    return SweepRuns(sw, members, runs)


def load_queue_runs(name: str, labels: Sequence[str] = (), seeds: Sequence[int] | None = None,
                    root: Path | str | None = None) -> SweepRuns:
    """The paper-rate queue's runs (`icmeta.experiments.queue`) of sweep `name`'s settings `labels`
    (every point when empty): the `paper` preset as the queue trains it (on the CPU or a GPU),
    from runs/queue/runs/ (or `root`, a run store's root); never trains. Seeds: the main result's ten for
    ``main_seeds``, else the paper's three. Raises `StoreError` in one line when one is missing."""
    seeds = tuple(seeds) if seeds is not None else (Q.MAIN_SEEDS if name == Q.MAIN.sweep else Q.PAPER_SEEDS)
    members = Q.Item(name, tuple(labels), seeds, "").members()
    store = Q.queue_root(None if root is None else Path(root) / "queue") / "runs"
    runs = [Q.find_member(m.config, store) for m in members]
    missing = [m for m, r in zip(members, runs) if r is None]
    if missing:
        raise StoreError(f"{name}: {len(missing)} of {len(members)} paper-rate runs not in {store}; the queue trains "
                         "them (python -m icmeta queue run --until HH:MM; runs/queue/README.md)")
    sw = SWEEPS[name]
    return SweepRuns(Sweep(f"{name}_paper", sw.axes, title=f"{sw.title}, at the paper's lr 0.01",
                           presets=("paper",)), members, runs)


def load_queue_progress(name: str = "main_seeds", labels: Sequence[str] = (), seeds: Sequence[int] | None = None,
                        root: Path | str | None = None, overrides: dict | None = None) -> SweepRuns:
    """What the paper-rate queue has trained so far of sweep `name` (default the main result), as
    the book shows it: each member up to the step ``runs/queue/shown.json`` fixes for it
    (`icmeta.experiments.queue.freeze`), read from its finished run or from its group's pending
    resume state (`icmeta.store.pending`); members not shown are left out. Each run's
    ``info["status"]`` is "complete" or "pending" and ``until_step`` (or ``last_step``) the step
    shown (`overrides`: as in `icmeta.experiments.queue.Item.members`). `StoreError` in one line
    when none is shown."""
    from ..store.pending import pending_members

    q = Q.queue_root(None if root is None else Path(root) / "queue")
    seeds = tuple(seeds) if seeds is not None else (Q.MAIN_SEEDS if name == Q.MAIN.sweep else Q.PAPER_SEEDS)
    frozen = Q.read_shown(q)
    shown = frozen["steps"]
    pending = pending_members(q / "pending")
    members, runs = [], []
    for m in Q.Item(name, tuple(labels), seeds, "").members(overrides=overrides):
        for c in (m.config, Q.twin(m.config)):
            key = run_name([c])
            step = shown.get(key)
            if not step:
                continue
            run = find_run([c], q / "runs") or pending.get(key)
            if run is None or run.last_step < step:
                raise StoreError(f"{q / Q.SHOWN}: shows {key} at step {step:,}, but the queue holds "
                                 f"{'no state of it' if run is None else f'it only to step {run.last_step:,}'}; "
                                 "run `python -m icmeta queue freeze` again")
            members.append(Member(m.label, m.seed, c, m.setting))
            # the run as it stood when frozen: cut there, and "pending" unless it had finished
            done = run.info.get("status") == "complete" and step >= run.last_step
            info = {**run.info, "status": "complete" if done else "pending",
                    "steps_done": int(frozen["trained"].get(key, step)),
                    "wall_time_s": float(frozen["wall_time_s"].get(key, run.info.get("wall_time_s", 0.0)))}
            runs.append(replace(run.until(step), info=info))
            break
    if not members:
        raise StoreError(f"{name}: no run of the paper-rate queue is shown yet ({q / Q.SHOWN}); train with "
                         "python -m icmeta queue run --until HH:MM, then python -m icmeta queue freeze")
    sw = SWEEPS[name]
    return SweepRuns(Sweep(f"{name}_paper", sw.axes, title=f"{sw.title}, at the paper's lr 0.01 (so far)",
                           presets=("paper",)), members, runs)


def load_gpu_check(name: str, seeds: Sequence[int] | None = None, root: Path | str | None = None) -> SweepRuns:
    """The stored runs of a GPU check (`GPU_CHECKS`), from runs/gpu/<name>/ (or `root`); never
    trains. Raises `StoreError` in one line naming the missing members and the command that
    trains them on a GPU."""
    if name not in GPU_CHECKS:
        raise ConfigError("GPU check", name, ", ".join(GPU_CHECKS))
    check = GPU_CHECKS[name]
    members = check.members(seeds)
    root = Path(root) if root is not None else default_runs_root() / "gpu" / name
    runs = [find_run([m.config], root) for m in members]
    missing = [m for m, r in zip(members, runs) if r is None]
    if missing:
        how = "; ".join(dict.fromkeys(check.command(m.label) for m in missing))
        raise StoreError(f"{name}: {len(missing)} of {len(members)} runs not stored in {root}; they train on a GPU "
                         f"(then copy OUT's runs there): {how}")
    base = SWEEPS[check.base]
    return SweepRuns(Sweep(name, base.axes, title=check.title, presets=("paper",)), members, runs)


def load_lr_check(name: str, seeds: Sequence[int] | None = None, root: Path | str | None = None) -> tuple[SweepRuns, SweepRuns]:
    """A learning-rate check (``fig7a_lr``...) and the same settings of its base sweep at `fast`:
    ``(at fast, at the check's lr)``, both from stored runs (never trains)."""
    check = sweep(name)
    if not check.base:
        raise ConfigError("sweep", name, ", ".join(n for n, s in SWEEPS.items() if s.base))
    slow = load_sweep(check, "fast", seeds, root=root)
    return load_sweep(check.base, "fast", seeds, root=root, labels=slow.labels), slow


ARCHIVED_PAPER_RUN = "gpu/paper-lr0.01-90k"  # the `paper` preset's first 90,000 steps on an H100 (runs/gpu/README.md)


def _seed_words(seeds: Sequence[int]) -> str:
    return " ".join(map(str, seeds))


def load_main_run(preset_name: str, seeds: Sequence[int], device: str = "cpu", root: Path | str | None = None,
                  overrides: dict | None = None) -> Run:
    """The stored main run of a preset (all `seeds` trained together, with `overrides`, e.g.
    `icmeta.presets.GPU_PATH`); never trains.

    Raises `StoreError` in one line naming the command that trains it."""
    overrides = dict(overrides or {})
    run = find_run([preset(preset_name, seed=s, device=device, **overrides) for s in seeds], root)
    if run is None:
        sets = "".join(f" --set {k}={v}" for k, v in overrides.items())
        raise StoreError(f"the {preset_name} main run of seeds {_seed_words(seeds)}{sets.replace(' --set', ',')} is not stored; "
                         f"train it with `make runs` (or python -m icmeta train --preset {preset_name} "
                         f"--seeds {_seed_words(seeds)}{sets})")
    return run


def load_variants(preset_name: str, seeds: Sequence[int], device: str = "cpu",
                  root: Path | str | None = None) -> dict[str, Run]:
    """Every reproduction-notes variant (`icmeta.presets.VARIANTS`) as a stored run over the first
    `VARIANT_STEPS` steps; the preset's own entry is the main run cut at that step. Never trains:
    a missing one raises `StoreError` naming `make runs`."""
    main = load_main_run(preset_name, seeds, device, root)
    out = {}
    for name, configs in {**{n: None for n in VARIANTS}, **variant_configs(preset_name, seeds, device)}.items():
        run = main.until(VARIANT_STEPS[preset_name]) if configs is None else find_run(configs, root)
        if run is None:
            raise StoreError(f"variant {name!r} ({preset_name}, seeds {_seed_words(seeds)}) is not stored; train it with `make runs`")
        out[name] = run
    return out


def load_archived_paper_run(root: Path | str | None = None) -> Run:
    """The archived `paper` run (lr 0.01, 90,000 steps, 3 seeds, made on a GPU by results version 2):
    read with ``archive=True``, never returned by `find_run`."""
    return load_run((Path(root) if root is not None else default_runs_root()) / ARCHIVED_PAPER_RUN, archive=True)


def member_view(run: Run, label: str, seed: int) -> Run:
    """One member of a run trained with others, as a run of its own (its config, label and
    metrics; the files are the run's)."""
    i = run.members.index((label, seed))
    m = run.metrics
    return Run(run.directory, [run.configs[i]], [label], run.info,
               m[(m.member == label) & (m.seed == seed)].reset_index(drop=True), run.until_step)


# the queue's main result replaces the archived run as the lr 0.01 column once this many of its seeds
# have trained at least as far (the archived run has three)
MIN_QUEUE_SEEDS = 3


def load_main_rates(root: Path | str | None = None) -> dict[str, SweepRuns]:
    """The main result at every rate it was trained at, one member per seed: ``fast`` (the
    `main_seeds` sweep: ten seeds where they are stored, else the main run's three) and
    ``lr 0.01``: the paper-rate queue's main result as the book shows it (`load_queue_progress`),
    its seeds that have trained at least as far as the archived `paper` run (90,000 steps), once
    there are `MIN_QUEUE_SEEDS` of them; until then the archived run. A rate whose runs are missing
    is left out."""
    out = {}
    try:
        out["fast"] = load_sweep("main_seeds", "fast", root=root)
    except StoreError:
        try:
            out["fast"] = load_sweep("main_seeds", "fast", seeds=PRESET_SEEDS["fast"], root=root)
        except StoreError:
            pass
    try:
        paper = load_archived_paper_run(root)
    except StoreError:
        paper = None
    try:
        progress = load_queue_progress("main_seeds", root=root)
        far = [(m, r) for m, r in progress.pairs() if paper is None or r.last_step >= paper.last_step]
        if len(far) >= MIN_QUEUE_SEEDS:
            out["lr 0.01"] = SweepRuns(progress.sweep, [m for m, _ in far], [r for _, r in far])
            return out
    except StoreError:
        pass
    if paper is None:
        return out
    members = [Member("main", s, c, ()) for (_, s), c in zip(paper.members, paper.configs)]
    out["lr 0.01"] = SweepRuns(Sweep("main_paper", title="the main result at the paper's lr 0.01 (90,000 steps)",
                                     presets=("paper",)), members,
                               [member_view(paper, label, s) for label, s in paper.members])
    return out
