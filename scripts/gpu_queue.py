"""The paper-rate queue on a lent GPU: plan it here, run it there until a deadline, unpack what comes back.

    python scripts/gpu_queue.py plan                  # here: the claims -> runs/gpu/queue/plan.json
    python scripts/gpu_queue.py status                # here: done, pending and left, in model-steps
    python3 scripts/gpu_queue.py run "$OUT" 540 --bench   # on the GPU machine (one command per window)
    python scripts/gpu_queue.py unpack FILES_AT       # here: the files that came back -> runs/gpu/queue/

`run` trains the plan's members (`icmeta.experiments.queue`: the `paper` preset, the one-graph
step, the counter-based stream) in groups of one shape (up to 256 members), several groups at
once (``--workers`` processes on the one GPU), in the plan's order, resuming the groups whose
states the last window left in runs/gpu/queue/pending/. Each group saves its resume state every
20 s and, at the deadline, once more and stops. Then everything that must come back is packed
into OUT (the device returns at most 8 files, 64 MiB in all): ``results.tar.gz`` (finished runs
without weights), ``pending.tar.gz`` (the unfinished groups' resume states, highest priority
first, as many as fit), ``queue.log`` and, with ``--bench``, ``bench.json`` (`python -m icmeta
bench --device cuda` first). With CUDA graphs failing in a group, the group is tried again with
``ICMETA_COMPILE_MODE=default``.

``DEVICE=cpu`` runs the same on the CPU; ``--set steps=300 --set batch_size=16`` (any field)
makes it tiny, which is how tests/test_gpu_queue.py tries the whole cycle: plan, a window cut
by ``--stop-at-step``, unpack, the next window, and the result equal to an uncut run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

T0 = time.time()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from icmeta.config import Config, ConfigError, split_assignment  # noqa: E402
from icmeta.experiments import queue as Q  # noqa: E402

BUDGET = 64 * 2**20  # bytes that come back from the device
PACK_S = 40  # seconds kept at the end for saving states and packing
STATE_FILES = ("resume.pt", "config.json", "ceilings.json")  # of an unfinished group


LOG: list[Path] = []  # the run's queue.log, once OUT is known


def log(*parts) -> None:
    line = " ".join([f"[{time.time() - T0:6.0f} s]", *map(str, parts)])
    print(line, flush=True)
    for f in LOG:
        with open(f, "a") as fh:
            fh.write(line + "\n")


# ------------------------------------------------------------------------------- plan, status

def cmd_plan(args) -> int:
    from icmeta.analysis import claims

    items = Q.make_plan(claims.evaluate_all())
    path = Q.queue_root(args.queue) / "plan.json"
    Q.write_plan(items, path)
    configs = Q.queue_configs(items)
    print(f"wrote {path}: {len(items)} items, {len(configs)} members, {Q.model_steps(configs) / 1e6:.1f} M model-steps")
    for i in items:
        print(f"  {i.sweep} {','.join(i.labels) or 'every setting'} seeds {','.join(map(str, i.seeds))}: {i.why}")
    return 0


def _configs(args) -> list[Config]:
    items = Q.read_plan(Q.queue_root(args.queue) / "plan.json")
    over = dict(split_assignment(s) for s in args.sets)
    return Q.queue_configs(items, os.environ.get("DEVICE", "cuda"), over)


def groups(configs: list[Config], largest: int) -> list[list[Config]]:
    """The queue's groups in priority order (`icmeta.train.runner.queue_groups`)."""
    from icmeta.train.runner import queue_groups

    return queue_groups(configs, largest)


def _stored(c: Config, root: Path) -> bool:
    from icmeta.train.runner import stored

    return stored(c, root)


def _resume_step(path: Path) -> int:
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["step"]) if path.exists() else 0


def cmd_status(args) -> int:
    from icmeta.train.runner import group_dir

    q = Q.queue_root(args.queue)
    configs = _configs(args)
    planned = groups(configs, args.group_size)
    done = sum(c.train.steps for c in configs if _stored(c, q / "runs"))
    print(f"{len(configs)} members in {len(planned)} groups, {Q.model_steps(configs) / 1e6:.1f} M model-steps; "
          f"{done / 1e6:.1f} M done")
    for g in planned:
        d = q / "pending" / group_dir(g, Path(".")).name
        finished = all(_stored(c, q / "runs") for c in g)
        step = _resume_step(d / "resume.pt")
        what = "done" if finished else f"pending at step {step:,}" if d.exists() else "not started"
        print(f"  {len(g):>3} members x {g[0].train.steps:,} steps: {what}")
    return 0


# ------------------------------------------------------------------------------------- run

def cmd_group(args) -> int:
    """One group, in its own process (a worker of `run`)."""
    from icmeta.train.loop import Stopped
    from icmeta.train.runner import train_group

    configs = [Config.from_dict(d) for d in json.loads(Path(args.configs).read_text())]
    try:
        train_group(configs, args.store, resume_every_s=20, stop_at=args.stop_at,
                    stop_at_step=args.stop_at_step)
    except Stopped as e:
        print(f"group of {len(configs)}: {e}", flush=True)
        return 3
    return 0


def cmd_run(args) -> int:
    from icmeta.train.runner import group_dir

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    LOG.append(out / "queue.log")
    work = Path(os.environ.get("ICMETA_QUEUE_WORK", "/tmp/gpu-queue")).resolve()
    store = work / "runs"
    store.mkdir(parents=True, exist_ok=True)
    q = Q.queue_root(args.queue)
    deadline = T0 + args.seconds
    if shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv"])
    if args.bench:
        bench_s = min(180, max(30, args.seconds / 3))
        log(f"bench (at most {bench_s:.0f} s)")
        try:
            subprocess.run([sys.executable, "-m", "icmeta", "bench", "--device", os.environ.get("DEVICE", "cuda"),
                            "--queue", "--sizes", "16", "64", "256", "--json", str(out / "bench.json")],
                           env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, timeout=bench_s, check=False)
        except subprocess.TimeoutExpired:
            log("bench cut at its time limit")
    # what earlier windows finished or left: finished runs are skipped, pending groups resume
    for src in sorted((q / "runs").glob("run-*")) + sorted((q / "pending").glob("group-*")):
        if not (store / src.name).exists():
            shutil.copytree(src, store / src.name)
    configs = _configs(args)
    todo = [g for g in groups(configs, args.group_size) if not all(_stored(c, store) for c in g)]
    log(f"{len(configs)} members; {len(todo)} groups to train, {sum(c.train.steps for g in todo for c in g) / 1e6:.1f} "
        f"M model-steps; {args.workers} at once; deadline in {deadline - time.time():.0f} s")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    running: list[tuple[subprocess.Popen, list, str, object]] = []
    waiting = [(g, None) for g in todo]  # (group, compile mode to force)
    stop_at = deadline - PACK_S
    while waiting or running:
        while waiting and len(running) < args.workers and time.time() < stop_at - 30:
            g, mode = waiting.pop(0)
            spec = work / f"{group_dir(g, store).name}.json"
            spec.write_text(json.dumps([c.to_dict() for c in g]))
            cmd = [sys.executable, __file__, "_group", str(store), str(spec), "--stop-at", str(stop_at)]
            if args.stop_at_step:
                cmd += ["--stop-at-step", str(args.stop_at_step)]
            logf = open(work / f"{spec.stem}.log", "a")
            p = subprocess.Popen(cmd, env={**env, **({"ICMETA_COMPILE_MODE": mode} if mode else {})},
                                 stdout=logf, stderr=subprocess.STDOUT)
            running.append((p, g, mode, logf))
            log(f"start {spec.stem}: {len(g)} members x {g[0].train.steps:,} steps{' (' + mode + ')' if mode else ''}")
        if not waiting and not running:
            break
        time.sleep(0.5)
        for entry in list(running):
            p, g, mode, logf = entry
            if p.poll() is None and time.time() > deadline - PACK_S / 2:
                p.kill()  # past its own deadline: its last resume state (<= 20 s old) stands
            if p.poll() is None:
                continue
            running.remove(entry)
            logf.close()
            name = group_dir(g, store).name
            tail = (work / f"{name}.log").read_text().splitlines()[-3:]
            log(f"{name}: exit {p.returncode}; " + " | ".join(tail))
            if p.returncode not in (0, 3) and mode is None and os.environ.get("DEVICE", "cuda") == "cuda":
                waiting.insert(0, (g, "default"))  # CUDA graphs failed: plain compiled kernels
        if not running and waiting and time.time() >= stop_at - 30:
            log(f"{len(waiting)} groups not started before the deadline")
            break
    pack(store, out, q, configs, args.group_size)
    return 0


def pack(store: Path, out: Path, q: Path, configs: list[Config], group_size: int) -> None:
    """results.tar.gz (finished runs new in this window, no weights) and pending.tar.gz (the
    unfinished groups' states in priority order, as many as fit in the budget)."""
    from icmeta.train.runner import group_dir

    known = {p.name for p in (q / "runs").glob("run-*")}
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for d in sorted(store.glob("run-*")):
            if d.name not in known and (d / "config.json").exists() and json.loads((d / "config.json").read_text()).get("status") == "complete":
                for f in sorted(d.iterdir()):
                    if not f.name.startswith("step_") and f.is_file():
                        tar.add(f, arcname=f"runs/{d.name}/{f.name}")
    used = (out / "results.tar.gz").stat().st_size + 2**20  # and the log, the bench
    kept, dropped = [], []
    planned = [group_dir(g, store).name for g in groups(configs, group_size)]  # priority order
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
        f"{(out / 'pending.tar.gz').stat().st_size / 2**20:.1f} MiB" + (f"; not kept (over the budget, they restart): {dropped}" if dropped else ""))


# ---------------------------------------------------------------------------------- unpack

def cmd_unpack(args) -> int:
    """Finished runs into runs/gpu/queue/runs/; pending/ replaced by the window's pending states
    (a group that finished is dropped with it)."""
    q = Q.queue_root(args.queue)
    src = Path(args.files)
    results, pending = src / "results.tar.gz", src / "pending.tar.gz"
    for f in (results, pending):
        if not f.exists():
            raise ConfigError("files", str(src), f"a folder holding results.tar.gz and pending.tar.gz ({f.name} missing)")
    with tarfile.open(results) as tar:
        tar.extractall(q, filter="data")
    shutil.rmtree(q / "pending", ignore_errors=True)
    with tarfile.open(pending) as tar:
        tar.extractall(q, filter="data")
    for f in ("queue.log", "bench.json"):
        if (src / f).exists():
            shutil.copy(src / f, q / f)
    finished = len(list((q / "runs").glob("run-*")))
    left = len(list((q / "pending").glob("group-*"))) if (q / "pending").exists() else 0
    # the GPU machine gets the working tree without .git: its runs record no commit, so each
    # window is logged here with the checkout it was sent from (this one, unless it moved since)
    from icmeta.store.io import git_state

    with open(q / "windows.jsonl", "a") as f:
        f.write(json.dumps({"unpacked_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **git_state(),
                            "finished_runs": finished, "pending_groups": left}) + "\n")
    print(f"unpacked into {q}: {finished} finished runs, {left} pending groups")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("plan", "status", "run", "unpack"):
        p = sub.add_parser(name)
        p.add_argument("--queue", default=None, help="the queue folder (default runs/gpu/queue)")
        if name in ("status", "run"):
            p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                           help="override a field of every member (tiny runs for trying the queue)")
            p.add_argument("--group-size", type=int, default=Q.GROUP_SIZE)
    r = sub.choices["run"]
    r.add_argument("out")
    r.add_argument("seconds", type=float, help="the window: everything is packed before it ends")
    r.add_argument("--workers", type=int, default=4, help="groups trained at once (processes)")
    r.add_argument("--bench", action="store_true", help="run `python -m icmeta bench --device cuda` first")
    r.add_argument("--stop-at-step", type=int, default=None, help="stop every group at this step (tests)")
    sub.choices["unpack"].add_argument("files", help="the folder the device's files came back to")
    g = sub.add_parser("_group")
    g.add_argument("store")
    g.add_argument("configs")
    g.add_argument("--stop-at", type=float, default=None)
    g.add_argument("--stop-at-step", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        return {"plan": cmd_plan, "status": cmd_status, "run": cmd_run, "unpack": cmd_unpack, "_group": cmd_group}[args.command](args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
