"""Running the paper-rate queue until a deadline: one queue, two kinds of worker.

The queue (`icmeta.experiments.queue`: ``runs/queue/plan.json``, the main result first) is
trained the same way here on the CPU and on a lent GPU: its members at the `paper` preset with
the counter-based stream and the one-graph step, in groups of one shape (`groups`), several
groups at once as worker processes, each saving its resume state every 20 s and stopping at
the deadline. Only what the queue folder holds travels between working stretches and machines:

    runs/queue/plan.json           what to train, in priority order (fixed before any result)
    runs/queue/runs/run-*/         finished members (no weights), checksummed
    runs/queue/pending/group-*/    unfinished groups: resume.pt, config.json, ceilings.json
    runs/queue/windows.jsonl       one line per window: where, from which checkout, what it left
    runs/queue/work/               (not committed) the local store the workers train in

`run_window` seeds the work store from the queue folder (a pending state replaces a local one
only when it is further on), trains, and every `sync_every_s` and at the end copies finished
members and pending states back into the queue folder (`sync`), so a worker killed at any
moment (kill -9 included) leaves states at most that old, and the next window resumes them.
On a GPU the same window packs into the device's return folder instead (`pack`; `unpack`
here). A member trained on one device is not trained again on the other (`done`): the queue's
members differ only in ``device``, which names where a run was made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import Config, ConfigError
from ..experiments import queue as Q
from ..store.run import is_complete
from .runner import group_dir, member_dir, queue_groups, stored

STATE_FILES = ("resume.pt", "config.json", "ceilings.json")  # what of an unfinished group is kept
BUDGET = 64 * 2**20  # bytes a lent GPU sends back (pack)
PACK_S = 40  # seconds kept at the end of a window for the last states and packing
DEVICES = ("cpu", "cuda")


# ----------------------------------------------------------------------------- what to train

def configs(queue: Path, device: str, overrides: dict | None = None) -> list[Config]:
    """The plan's members on `device`, in priority order."""
    return Q.queue_configs(Q.read_plan(Path(queue) / "plan.json"), device, overrides)


def default_group_size(device: str) -> int:
    """1 member per group on the CPU (two one-thread processes of one model each train more
    model-steps/s than one ten-model ensemble on two threads); up to `Q.GROUP_SIZE` on a GPU."""
    return Q.GROUP_SIZE if device == "cuda" else 1


def done(c: Config, runs: Path) -> bool:
    """`c` is stored complete in `runs`, trained on its device or on the other."""
    return stored(c, runs) or stored(Q.twin(c), runs)


# ------------------------------------------------------------------------------ the folders

def _resume_step(path: Path) -> int:
    import torch

    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["step"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError):
        return -1


def _copy_state(src: Path, dst: Path) -> None:
    """An unfinished group's `STATE_FILES` from `src` into `dst`, each written whole, then renamed."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in STATE_FILES:
        if (src / name).exists():
            tmp = dst / f".{name}.tmp"
            shutil.copy2(src / name, tmp)
            os.replace(tmp, dst / name)


def seed_work(queue: Path, store: Path) -> None:
    """Copy into the work store the finished members it lacks and every pending state that is
    further on than its own (a fresh machine takes the committed states; the machine that made
    them keeps its newer ones)."""
    store.mkdir(parents=True, exist_ok=True)
    for src in sorted((queue / "runs").glob("run-*")):
        if not is_complete(store / src.name):
            shutil.copytree(src, store / src.name, dirs_exist_ok=True)
    for src in sorted((queue / "pending").glob("group-*")):
        dst = store / src.name
        if _resume_step(src / "resume.pt") > _resume_step(dst / "resume.pt"):
            _copy_state(src, dst)
            (dst / "resume.prev.pt").unlink(missing_ok=True)


def sync(store: Path, queue: Path, cs: Sequence[Config], group_size: int) -> dict:
    """Copy finished members (without weights) and the pending groups' states from the work
    store into the queue folder; drop the pending states of groups that finished. Returns what
    the queue folder holds now."""
    (queue / "runs").mkdir(parents=True, exist_ok=True)
    for c in cs:
        src, dst = member_dir(c, store), member_dir(c, queue / "runs")
        if is_complete(src) and not is_complete(dst):
            tmp = dst.with_name(dst.name + ".new")  # copied whole, then renamed: never half a run
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("step_*", ".lock", "*.tmp"))
            shutil.rmtree(dst, ignore_errors=True)
            os.replace(tmp, dst)
    pending = queue / "pending"
    keep = set()
    for g in queue_groups(cs, group_size):
        if all(done(c, queue / "runs") for c in g):
            continue
        src = group_dir(g, store)
        if not (src / "resume.pt").exists():
            continue
        dst = pending / src.name
        keep.add(dst.name)
        if _resume_step(src / "resume.pt") > _resume_step(dst / "resume.pt"):
            _copy_state(src, dst)
    for d in pending.glob("group-*") if pending.exists() else ():
        if d.name not in keep and _finished_group(d, queue / "runs"):
            shutil.rmtree(d)
    return {"finished": sum(done(c, queue / "runs") for c in cs),
            "pending": len(list(pending.glob("group-*"))) if pending.exists() else 0}


def _finished_group(d: Path, runs: Path) -> bool:
    """A pending group whose members are all stored (its config.json names them)."""
    try:
        members = json.loads((d / "config.json").read_text())["members"]
        return all(done(Config.from_dict(m["config"]), runs) for m in members)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def log_window(queue: Path, **fields) -> None:
    """One line in windows.jsonl: when, where and from which checkout a window ran, what it left."""
    from ..store.io import git_state

    with open(queue / "windows.jsonl", "a") as f:
        f.write(json.dumps({"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **git_state(), **fields}) + "\n")


# -------------------------------------------------------------------------------- a window

@dataclass
class Window:
    """One stretch of queue training.

    Args:
        queue: the queue folder (plan.json, runs/, pending/).
        store: the local store the workers train in.
        deadline: seconds since the epoch; every group saves its state and stops `PACK_S` before.
        device: ``cpu`` or ``cuda``.
        workers: groups trained at once (processes), each with `threads` torch threads.
        group_size: members per group at most (`default_group_size`).
        overrides: fields set on every member (tiny runs for tests).
        stop_at_step: stop every group there (tests).
        sync_every_s: on the CPU, how often finished members and states are copied into the
            queue folder while training (None: only at the end).
        resume_every_s: how often each group saves its resume state.
    """

    queue: Path
    store: Path
    deadline: float
    device: str = "cpu"
    workers: int = 2
    threads: int = 1
    group_size: int | None = None
    overrides: dict = field(default_factory=dict)
    stop_at_step: int | None = None
    sync_every_s: float | None = 60.0
    resume_every_s: float = 20.0
    log: Callable[[str], None] = print

    def members(self) -> list[Config]:
        return configs(self.queue, self.device, self.overrides)

    def size(self) -> int:
        return self.group_size or default_group_size(self.device)


def _env(threads: int, compile_mode: str | None) -> dict:
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
           "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if compile_mode:
        env["ICMETA_COMPILE_MODE"] = compile_mode
    return env


def run_window(w: Window) -> dict:
    """Train the queue's unfinished groups in priority order until the deadline. Returns
    ``{"trained": groups finished, "stopped": groups stopped with their state saved, "left":
    groups not started}``; the work store holds everything, `sync` or `pack` takes it out."""
    cs = w.members()
    # a member the other kind of worker finished is not trained again
    todo_cs = [c for c in cs if not done(c, w.queue / "runs")]
    seed_work(w.queue, w.store)
    todo = [g for g in queue_groups(todo_cs, w.size()) if not all(stored(c, w.store) for c in g)]
    stop_at = w.deadline - PACK_S
    w.log(f"{len(cs)} members, {len(cs) - len(todo_cs)} done; {len(todo)} groups to train "
          f"({sum(c.train.steps for g in todo for c in g) / 1e6:.1f} M model-steps), {w.workers} at once on "
          f"{w.device} with {w.threads} thread(s) each; stopping at {time.strftime('%H:%M:%S', time.localtime(stop_at))}")
    running: list[tuple[subprocess.Popen, list, str | None, object]] = []
    waiting: list[tuple[list, str | None]] = [(g, None) for g in todo]  # (group, compile mode to force)
    out = {"trained": 0, "stopped": 0, "failed": 0, "left": 0}
    last_sync = time.time()
    while waiting or running:
        while waiting and len(running) < w.workers and time.time() < stop_at - 30:
            g, mode = waiting.pop(0)
            name = group_dir(g, w.store).name
            spec = w.store.parent / f"{name}.json"
            spec.write_text(json.dumps([c.to_dict() for c in g]))
            cmd = [sys.executable, "-m", "icmeta.train.queue_worker", str(w.store), str(spec),
                   "--stop-at", str(stop_at), "--threads", str(w.threads), "--resume-every", str(w.resume_every_s)]
            if w.stop_at_step:
                cmd += ["--stop-at-step", str(w.stop_at_step)]
            logf = open(w.store.parent / f"{name}.log", "a")
            p = subprocess.Popen(cmd, env=_env(w.threads, mode), stdout=logf, stderr=subprocess.STDOUT)
            running.append((p, g, mode, logf))
            w.log(f"start {name}: {len(g)} member(s) x {g[0].train.steps:,} steps, seeds "
                  + ",".join(str(c.seed) for c in g) + (f" ({mode})" if mode else ""))
        if not running:
            if waiting:
                out["left"] = len(waiting)
                w.log(f"{len(waiting)} groups not started before the deadline")
            break
        time.sleep(0.5)
        for entry in list(running):
            p, g, mode, logf = entry
            if p.poll() is None and time.time() > w.deadline - PACK_S / 2:
                p.kill()  # past its own deadline: its last resume state (<= 20 s old) stands
            if p.poll() is None:
                continue
            running.remove(entry)
            logf.close()
            name = group_dir(g, w.store).name
            tail = (w.store.parent / f"{name}.log").read_text().splitlines()[-2:]
            w.log(f"{name}: exit {p.returncode}; " + " | ".join(tail))
            if p.returncode == 0:
                out["trained"] += 1
            elif p.returncode == 3 or p.returncode < 0:
                out["stopped"] += 1
            elif mode is None and w.device == "cuda":
                waiting.insert(0, (g, "default"))  # CUDA graphs failed: plain compiled kernels
            else:
                out["failed"] += 1
        if w.sync_every_s is not None and time.time() - last_sync > w.sync_every_s:
            sync(w.store, w.queue, cs, w.size())
            last_sync = time.time()
    return out


def train_one_group(store: Path, spec: Path, stop_at: float | None, stop_at_step: int | None, threads: int,
                    resume_every_s: float = 20.0) -> int:
    """A worker process: train one group (`icmeta.train.runner.train_group`); exit 3 when it
    stopped at its deadline with its state saved."""
    from .loop import Stopped
    from .runner import train_group

    cs = [Config.from_dict(d) for d in json.loads(Path(spec).read_text())]
    try:
        train_group(cs, store, threads=threads, resume_every_s=resume_every_s, stop_at=stop_at, stop_at_step=stop_at_step)
    except Stopped as e:
        print(f"group of {len(cs)}: {e}", flush=True)
        return 3
    print(f"group of {len(cs)}: trained to step {cs[0].train.steps:,}", flush=True)  # the window logs this line
    return 0


# ---------------------------------------------------------------------- the GPU's round trip

def pack(store: Path, out: Path, queue: Path, cs: Sequence[Config], group_size: int, log=print) -> None:
    """Into `out` (what a lent GPU sends back, 64 MiB at most): results.tar.gz (finished members
    new in this window, no weights) and pending.tar.gz (the unfinished groups' states in priority
    order, as many as fit)."""
    known = {p.name for p in (queue / "runs").glob("run-*")}
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for d in sorted(store.glob("run-*")):
            if d.name not in known and is_complete(d):
                for f in sorted(d.iterdir()):
                    if not f.name.startswith("step_") and f.is_file() and f.name != ".lock":
                        tar.add(f, arcname=f"runs/{d.name}/{f.name}")
    used = (out / "results.tar.gz").stat().st_size + 2**20  # and the log, the bench
    kept, dropped = [], []
    planned = [group_dir(g, store).name for g in queue_groups(cs, group_size)]  # priority order
    unfinished = sorted((d for d in store.glob("group-*") if (d / "resume.pt").exists()),
                        key=lambda d: planned.index(d.name) if d.name in planned else len(planned))
    with tarfile.open(out / "pending.tar.gz", "w:gz") as tar:
        for d in unfinished:
            files = [d / n for n in STATE_FILES if (d / n).exists()]
            size = sum(f.stat().st_size for f in files)
            if used + size > BUDGET:
                dropped.append(d.name)
                continue
            used += size
            kept.append(d.name)
            for f in files:
                tar.add(f, arcname=f"pending/{d.name}/{f.name}")
    log(f"packed: results {(out / 'results.tar.gz').stat().st_size / 2**20:.1f} MiB, pending {len(kept)} groups "
        f"{(out / 'pending.tar.gz').stat().st_size / 2**20:.1f} MiB"
        + (f"; not kept (over the budget, they restart): {dropped}" if dropped else ""))


def unpack(files: Path, queue: Path) -> dict:
    """What a GPU window sent back into the queue folder: finished members into runs/, and its
    pending states replacing those of the groups it trained (a state the CPU has taken further
    is kept)."""
    results, pending = files / "results.tar.gz", files / "pending.tar.gz"
    for f in (results, pending):
        if not f.exists():
            raise ConfigError("files", str(files), f"a folder holding results.tar.gz and pending.tar.gz ({f.name} missing)")
    with tarfile.open(results) as tar:
        tar.extractall(queue, filter="data")
    tmp = queue / ".unpacked"
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(pending) as tar:
        tar.extractall(tmp, filter="data")
    for src in sorted((tmp / "pending").glob("group-*")) if (tmp / "pending").exists() else ():
        dst = queue / "pending" / src.name
        if _resume_step(src / "resume.pt") > _resume_step(dst / "resume.pt"):
            shutil.rmtree(dst, ignore_errors=True)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dst)
    shutil.rmtree(tmp, ignore_errors=True)
    for d in list((queue / "pending").glob("group-*")) if (queue / "pending").exists() else ():
        if _finished_group(d, queue / "runs"):
            shutil.rmtree(d)
    for f in ("queue.log", "bench.json"):
        if (files / f).exists():
            shutil.copy(files / f, queue / f)
    return {"finished": len(list((queue / "runs").glob("run-*"))),
            "pending": len(list((queue / "pending").glob("group-*"))) if (queue / "pending").exists() else 0}


# --------------------------------------------------------------------------------- status

@dataclass
class MemberStatus:
    sweep: str
    label: str
    seed: int
    steps: int
    done: int  # steps trained so far
    state: str  # "done", "pending", "not started"
    wall_s: float  # training time so far
    hardware: str  # the devices its segments ran on

    @property
    def rate(self) -> float | None:
        return self.done / self.wall_s if self.wall_s > 0 else None


def member_status(queue: Path, device: str = "cpu", overrides: dict | None = None) -> list[MemberStatus]:
    """Every member of the plan with the steps it has trained (from its finished run or its
    group's pending resume state), the wall time of its segments and where they ran."""
    from ..store.pending import pending_members

    queue = Path(queue)
    items = Q.read_plan(queue / "plan.json")
    states: dict[str, dict] = {}  # member run name (on either device) -> its pending state's step and segments
    for name, r in pending_members(queue / "pending").items():
        states[name] = states[member_dir(Q.twin(r.config), Path(".")).name] = {
            "step": int(r.info["steps_done"]), "segments": r.info["segments"]}
    out, seen = [], set()
    for item in items:
        for m in item.members(device, overrides):
            name = member_dir(m.config, Path(".")).name
            if name in seen:
                continue
            seen.add(name)
            run = Q.find_member(m.config, queue / "runs")
            if run is not None:
                step, segs, state = int(run.info["steps_done"]), run.info["segments"], "done"
            elif name in states:
                step, segs, state = states[name]["step"], states[name]["segments"], "pending"
            else:
                step, segs, state = 0, [], "not started"
            hw = ", ".join(dict.fromkeys(f"{s.get('device_name') or s.get('device')} x{s.get('threads')}" for s in segs))
            out.append(MemberStatus(item.sweep, m.label, m.seed, m.config.train.steps, step, state,
                                    sum(float(s.get("wall_time_s", 0)) for s in segs), hw))
    return out


def status_lines(rows: Sequence[MemberStatus], workers: int) -> list[str]:
    """What `python -m icmeta queue status` prints: steps per member of the started items, the
    measured rate, and the time left at that rate with `workers` members at once."""
    total = sum(r.steps for r in rows)
    trained = sum(r.done for r in rows)
    rates = sorted(r.rate for r in rows if r.rate)
    rate = rates[len(rates) // 2] if rates else None
    lines = [f"{len(rows)} members, {total / 1e6:.1f} M model-steps; {trained / 1e6:.2f} M trained "
             f"({sum(r.state == 'done' for r in rows)} done, {sum(r.state == 'pending' for r in rows)} pending)"]
    started = {r.sweep for r in rows if r.done} or ({rows[0].sweep} if rows else set())
    for r in rows:
        if r.sweep in started:
            lines.append(f"  {r.sweep:<11} {r.label:<8} seed {r.seed}: {r.done:>9,} / {r.steps:,} steps  {r.state:<11}"
                         + (f" {r.rate:6.1f} steps/s on {r.hardware}" if r.rate else ""))
    for sweep in sorted(started):
        mine = [r for r in rows if r.sweep == sweep]
        rest = sum(r.steps - r.done for r in mine)
        if rate and rest:
            lines.append(f"{sweep}: {rest / 1e6:.2f} M model-steps left, {rest / (rate * workers) / 3600:.1f} h at "
                         f"{workers} at once")
    if rate:
        left = (total - trained) / (rate * workers)
        lines.append(f"median rate {rate:.1f} steps/s per member; at {workers} at once, {left / 3600:.1f} h of "
                     f"training left ({(total - trained) / 1e6:.2f} M model-steps)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m icmeta.train.queue_worker STORE SPEC``: one group, in a worker process."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("spec")
    ap.add_argument("--stop-at", type=float, default=None)
    ap.add_argument("--stop-at-step", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume-every", type=float, default=20.0)
    a = ap.parse_args(argv)
    return train_one_group(Path(a.store), Path(a.spec), a.stop_at, a.stop_at_step, a.threads, a.resume_every)


if __name__ == "__main__":
    sys.exit(main())
