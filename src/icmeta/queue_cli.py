"""``python -m icmeta queue {plan,status,run,unpack}``: the paper-rate queue from the command line.

    python -m icmeta queue plan                        # the claims -> runs/queue/plan.json
    python -m icmeta queue status                      # steps per member, rate, time left
    python -m icmeta queue run --until 22:30           # train here until then (or --for 2h30m)
    python -m icmeta queue run --for 560s --device cuda --out "$OUT" --bench   # one GPU window
    python -m icmeta queue unpack FILES_AT             # what a GPU window sent back -> runs/queue/
    python -m icmeta queue freeze                      # the book shows the queue up to here (shown.json)

`freeze` fixes how far the book shows each member (``runs/queue/shown.json``), so that the
queue's states can be committed after every stretch without changing a page. `run` on the CPU keeps the queue folder up to date while it trains (finished members and resume
states, every minute and at the end), so what it leaves is what to commit. `--background`
detaches it (its log goes to runs/queue/work/worker.log).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from .config import ConfigError, split_assignment
from .experiments import queue as Q

T0 = time.time()
BACKGROUND_NICE = 10  # `--background` runs below the work done beside it


def queue_dir(arg: str | None) -> Path:
    return Path(arg) if arg is not None else Q.queue_root()


def parse_deadline(until: str | None, duration: str | None, now: float | None = None) -> float:
    """Seconds since the epoch from ``--until HH:MM`` (the next such time, local clock) or
    ``--for`` a duration (``2h30m``, ``90m``, ``560s``, ``560``); exactly one is needed."""
    now = time.time() if now is None else now
    if (until is None) == (duration is None):
        raise ConfigError("until/for", f"{until}/{duration}", "exactly one of --until HH:MM or --for DURATION")
    if until is not None:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", until)
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            raise ConfigError("until", until, "a time of day HH:MM (24-hour clock)")
        t = datetime.fromtimestamp(now).replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
        if t.timestamp() <= now:
            t += timedelta(days=1)
        return t.timestamp()
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", duration.strip())
    if not duration.strip() or not m or not any(m.groups()):
        raise ConfigError("for", duration, "a duration such as 2h30m, 90m, 560s or 560")
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    if h * 3600 + mi * 60 + s <= 0:
        raise ConfigError("for", duration, "a positive duration")
    return now + h * 3600 + mi * 60 + s


def _log(path: Path | None):
    def log(*parts) -> None:
        line = " ".join([f"[{time.strftime('%H:%M:%S')} +{time.time() - T0:5.0f} s]", *map(str, parts)])
        print(line, flush=True)
        if path is not None:
            with open(path, "a") as fh:
                fh.write(line + "\n")
    return log


def cmd_plan(args) -> int:
    from .analysis import claims

    items = Q.make_plan(claims.evaluate_all())
    path = queue_dir(args.queue) / "plan.json"
    Q.write_plan(items, path)
    cs = Q.queue_configs(items)
    print(f"wrote {path}: {len(items)} items, {len(cs)} members, {Q.model_steps(cs) / 1e6:.1f} M model-steps")
    for i in items:
        print(f"  {i.sweep} {','.join(i.labels) or 'every setting'} seeds {','.join(map(str, i.seeds))}: {i.why}")
    return 0


def cmd_status(args) -> int:
    from .train import queue_worker as W

    over = dict(split_assignment(s) for s in args.sets)
    rows = W.member_status(queue_dir(args.queue), _device(args.device), over)
    for line in W.status_lines(rows, args.workers or (os.cpu_count() or 1)):
        print(line)
    return 0


def _device(name: str) -> str:
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError("device", name, "cpu, cuda, auto")
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def cmd_run(args) -> int:
    from .train import queue_worker as W

    deadline = parse_deadline(args.until, getattr(args, "for"))
    device = _device(args.device)
    q = queue_dir(args.queue).resolve()
    Q.read_plan(q / "plan.json")  # a missing or malformed plan: one line, before anything starts
    for name, v in (("workers", args.workers), ("threads", args.threads), ("group-size", args.group_size)):
        if v is not None and v < 1:
            raise ConfigError(name, v, "an integer >= 1")
    for name, v in (("resume-every", args.resume_every), ("sync-every", args.sync_every)):
        if not v > 0:
            raise ConfigError(name, v, "a number of seconds > 0")
    over = dict(split_assignment(s) for s in args.sets)
    W.configs(q, device, over)  # every member valid with the overrides, before anything starts
    work = Path(os.environ.get("ICMETA_QUEUE_WORK") or (q / "work")).resolve()
    if args.background:
        work.mkdir(parents=True, exist_ok=True)
        argv = [a for a in args.argv if a != "--background"]
        log = work / "worker.log"
        with open(log, "a") as fh:
            p = subprocess.Popen([sys.executable, "-m", "icmeta", *argv], stdout=fh, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=os.getcwd(), preexec_fn=lambda: os.nice(BACKGROUND_NICE))
        print(f"queue: training in the background (pid {p.pid}) until "
              f"{time.strftime('%H:%M', time.localtime(deadline))}; log {log}; `python -m icmeta queue status` for progress")
        return 0
    out = Path(args.out).resolve() if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    log = _log(out / "queue.log" if out else None)
    if device == "cuda" and args.bench:
        bench_s = min(180, max(30, (deadline - time.time()) / 3))
        log(f"bench (at most {bench_s:.0f} s)")
        try:
            subprocess.run([sys.executable, "-m", "icmeta", "bench", "--device", "cuda", "--queue", "--sizes", "16", "64",
                            "256", "--json", str((out or work) / "bench.json")], timeout=bench_s, check=False,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        except subprocess.TimeoutExpired:
            log("bench cut at its time limit")
    threads = args.threads or 1
    workers = args.workers or (max(1, (os.cpu_count() or 1) // threads) if device == "cpu" else 4)
    w = W.Window(q, work / "runs", deadline, device, workers, threads, args.group_size, over, args.stop_at_step,
                 sync_every_s=None if out else args.sync_every, resume_every_s=args.resume_every, log=log)
    result = W.run_window(w)
    cs = w.members()
    if out is not None:  # a lent GPU: everything goes back through OUT
        W.pack(w.store, out, q, cs, w.size(), log=log)
        return 0
    held = W.sync(w.store, q, cs, w.size())
    W.log_window(q, device=device, workers=workers, threads=threads, **result, **held)
    log(f"queue: {held['finished']} of {len(cs)} members finished, {held['pending']} groups pending in {q}")
    try:
        shown = q.relative_to(Path.cwd())
    except ValueError:
        shown = q
    print(f"commit what it left: git add {shown} && git commit -m 'queue: {held['finished']} finished, "
          f"{held['pending']} pending'")
    return 0


def cmd_unpack(args) -> int:
    from .train import queue_worker as W

    q = queue_dir(args.queue)
    held = W.unpack(Path(args.files), q)
    W.log_window(q, device="cuda (unpacked here)", **held)
    print(f"unpacked into {q}: {held['finished']} finished runs, {held['pending']} pending groups")
    return 0


def cmd_freeze(args) -> int:
    shown = Q.freeze(queue_dir(args.queue))
    steps = shown["steps"]
    print(f"{queue_dir(args.queue) / Q.SHOWN}: the book shows {len(steps)} members "
          f"({sum(steps.values()) / 1e6:.2f} M model-steps); re-execute the pages that read the queue "
          "(python scripts/run_notebooks.py) and commit them with it")
    return 0


def add_parser(sub) -> None:
    qp = sub.add_parser("queue", help="the paper-rate queue: plan, status, run (until a deadline), unpack")
    qs = qp.add_subparsers(dest="queue_command", required=True, parser_class=type(qp))
    for name, what in (("plan", "write runs/queue/plan.json from the claims"),
                       ("status", "steps trained per member, the rate, the time left"),
                       ("run", "train the queue until a deadline, resumable"),
                       ("unpack", "bring a GPU window's files into runs/queue/"),
                       ("freeze", "fix how far the book shows each member (runs/queue/shown.json)")):
        p = qs.add_parser(name, help=what)
        p.add_argument("--queue", default=None, help="the queue folder (default runs/queue)")
        if name in ("status", "run"):
            p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                           help="override a field of every member (tiny runs for trying the queue)")
            p.add_argument("--device", default="cpu" if name == "status" else "auto", help="cpu, cuda or auto")
            p.add_argument("--workers", type=int, default=None,
                           help="groups trained at once (default: one per core on the CPU, 4 on a GPU)")
    r = qs.choices["run"]
    r.add_argument("--until", default=None, metavar="HH:MM", help="stop before this time of day")
    r.add_argument("--for", default=None, metavar="DURATION", help="or stop after this long: 2h30m, 90m, 560s")
    r.add_argument("--threads", type=int, default=None, help="torch threads per worker (default 1)")
    r.add_argument("--group-size", type=int, default=None, help="members per group (default 1 on the CPU, 256 on a GPU)")
    r.add_argument("--out", default=None, help="on a lent GPU: pack results and states into this folder")
    r.add_argument("--bench", action="store_true", help="on a GPU: run `python -m icmeta bench --device cuda` first")
    r.add_argument("--background", action="store_true", help="detach (niced); log to runs/queue/work/worker.log")
    r.add_argument("--resume-every", type=float, default=20.0, metavar="SECONDS",
                   help="how often each group saves its resume state (default 20 s)")
    r.add_argument("--sync-every", type=float, default=60.0, metavar="SECONDS",
                   help="on the CPU, how often finished members and states are copied into the queue folder (default 60 s)")
    r.add_argument("--stop-at-step", type=int, default=None, help=argparse.SUPPRESS)
    qs.choices["unpack"].add_argument("files", help="the folder the device's files came back to")


def main(args) -> int:
    return {"plan": cmd_plan, "status": cmd_status, "run": cmd_run, "unpack": cmd_unpack,
            "freeze": cmd_freeze}[args.queue_command](args)
