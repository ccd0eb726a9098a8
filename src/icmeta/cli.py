"""Command line: ``python -m icmeta {train,sweep,queue,bench,figure,llm}``.

User errors (bad values, unknown keys) print one line naming the field, the value and what
is allowed, and exit with status 2 without writing anything; so does a run store problem
(a stored run that does not match what was asked, a missing or unreadable file).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .config import ConfigError, apply_overrides
from .presets import PRESET_SEEDS, PRESETS, preset
from .store.io import StoreError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like ConfigError
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def build_configs(preset_name: str, seeds: list[int], sets: list[str]):
    if preset_name not in PRESETS:
        raise ConfigError("preset", preset_name, ", ".join(PRESETS))
    return [apply_overrides(preset(preset_name, seed=s), sets) for s in seeds]


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m icmeta", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train (or load) a run and print its directory")
    t.add_argument("--preset", default="fast", help=f"one of {', '.join(PRESETS)}")
    t.add_argument("--seeds", type=int, nargs="+", default=None, help="model seeds trained together")
    t.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field: K L T N D P eps p_B B alpha beta lr batch_size steps heads layers optimizer ...")
    t.add_argument("--out", default=None, help="run store folder (default runs/ or $ICMETA_RUNS)")
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--resume-every", type=float, default=30.0, metavar="SECONDS",
                   help="how often the full training state is saved for resuming (default 30 s)")
    w = sub.add_parser("sweep", help="train every member of a sweep not stored yet; print one run directory per member")
    w.add_argument("name", nargs="?", default=None,
                   help="a sweep of the book (fig7a ... fig18, phase_diagram; see icmeta.experiments.SWEEPS), or none with --vary")
    w.add_argument("--preset", default="fast", help=f"one of {', '.join(PRESETS)}")
    w.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds of every setting (default: the preset's)")
    w.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a swept field and its values; several --vary give their cross product")
    w.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field for every member")
    w.add_argument("--executor", default="local", help="local (processes on this machine) or dask")
    w.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --executor dask: a running scheduler (tcp://host:8786); default: start a LocalCluster")
    w.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    w.add_argument("--threads", type=int, default=None,
                   help="torch threads per worker (default: the cores shared among local workers; 1 with --scheduler)")
    w.add_argument("--group-size", type=int, default=None, help="members trained in one loop (default 3 on the CPU, 64 on a GPU)")
    w.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    w.add_argument("--out", default=None, help="run store folder (default runs/ or $ICMETA_RUNS)")
    w.add_argument("--no-progress", action="store_true")
    w.add_argument("--resume-every", type=float, default=30.0, metavar="SECONDS",
                   help="how often each group's training state is saved for resuming (default 30 s)")
    from .queue_cli import add_parser as add_queue

    add_queue(sub)
    b = sub.add_parser("bench", help="training throughput, FLOPs and the reference-loader ratio")
    b.add_argument("--quick", action="store_true", help="fewer repetitions")
    b.add_argument("--device", default="auto", help="cpu, cuda or auto")
    b.add_argument("--kernels", default=None, help="compiled, eager or graph (default: compiled on the CPU, graph on a GPU)")
    b.add_argument("--sampler", default=None,
                   help="generator or counter (default: counter with kernels=graph, else generator)")
    b.add_argument("--sizes", type=int, nargs="+", default=None, metavar="E",
                   help="models trained together (default 1 4 16 64 on the CPU, 16 64 256 on a GPU)")
    b.add_argument("--queue", action="store_true", help="also project the time of the paper-rate queue (runs/queue/plan.json; always on a GPU)")
    b.add_argument("--reference", action="store_true", help="also time a per-sample training loop in the authors' style")
    b.add_argument("--json", default=None, metavar="FILE", help="also write the numbers to FILE")
    f = sub.add_parser("figure", help="draw a paper figure from stored runs into figures/ (trains nothing)")
    f.add_argument("name", help="figure or panel name, e.g. fig2, fig7, fig7b")
    f.add_argument("--preset", default="fast")
    f.add_argument("--seeds", type=int, nargs="+", default=None)
    f.add_argument("--out", default="figures")
    m = sub.add_parser("llm", help="Fig. 10: the circuit metrics per layer of a pretrained GPT-2 on 2-shot SST-2 prompts")
    m.add_argument("--model", default="gpt2-xl", help="gpt2-xl, gpt2, or a local folder holding a GPT-2 and its tokenizer")
    m.add_argument("--data", default=None, help="SST-2 as a local file: GLUE's dev.tsv (columns sentence, label)")
    m.add_argument("--prompts", type=int, default=200, help="number of 2-shot prompts (default 200)")
    m.add_argument("--seed", type=int, default=0, help="seed of the prompts' sampling")
    m.add_argument("--out", default=None, help="results folder (default runs/llm/<model>)")
    m.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "queue":
            from .queue_cli import main as queue_main

            return queue_main(args)
        if args.command == "bench":
            from .bench import main as bench_main

            if args.kernels not in (None, "compiled", "eager", "graph"):
                raise ConfigError("kernels", args.kernels, "compiled, eager, graph")
            if args.sampler not in (None, "generator", "counter"):
                raise ConfigError("sampler", args.sampler, "generator, counter")
            if args.kernels == "graph" and args.sampler == "generator":
                raise ConfigError("sampler", args.sampler, "counter with kernels=graph")
            if args.device not in ("auto", "cpu", "cuda"):
                raise ConfigError("device", args.device, "cpu, cuda, auto")
            if args.sizes is not None and any(not 1 <= e <= 256 for e in args.sizes):
                raise ConfigError("sizes", args.sizes, "integers from 1 to 256")
            return bench_main(quick=args.quick, device=args.device, kernels=args.kernels, sampler=args.sampler,
                              json_path=args.json, sizes=tuple(args.sizes) if args.sizes else None,
                              queue=args.queue, reference=args.reference)
        if args.command == "figure":
            from .figures import save

            for path in save(args.name, preset_name=args.preset, seeds=args.seeds, out=Path(args.out)):
                print(path)
            return 0
        if args.command == "llm":
            from . import llm

            try:
                print(llm.run(args.model, args.data, n=args.prompts, seed=args.seed, out=args.out, progress=not args.no_progress))
            except llm.LLMError as e:
                raise StoreError(str(e)) from None
            return 0
    except (ConfigError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _train(args) -> int:
    import torch

    from .train import load_or_train

    if args.threads is not None and args.threads < 1:
        raise ConfigError("threads", args.threads, "an integer >= 1")
    seeds = args.seeds if args.seeds is not None else list(PRESET_SEEDS.get(args.preset, (0,)))
    configs = build_configs(args.preset, seeds, args.sets)  # validates every field and seed
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.resume_every < 0:
        raise ConfigError("resume-every", args.resume_every, "a number of seconds >= 0")
    run = load_or_train(configs, root=args.out, progress=not args.no_progress, resume_every_s=args.resume_every)
    print(run.directory)
    return 0


def _sweep(args) -> int:
    from .experiments.sweeps import Sweep, parse_vary, sweep
    from .train import resolve_device
    from .train.runner import run_sweep

    if args.device not in ("cpu", "cuda", "auto"):
        raise ConfigError("device", args.device, "cpu, cuda, auto")
    device = resolve_device(args.device).type
    if args.resume_every < 0:
        raise ConfigError("resume-every", args.resume_every, "a number of seconds >= 0")
    if args.name is not None and args.vary:
        raise ConfigError("vary", args.vary, f"nothing with a named sweep ({args.name} has its own axes)")
    sw = sweep(args.name) if args.name is not None else Sweep("sweep", parse_vary(args.vary))
    overrides = [_split_set(s) for s in args.sets]
    members = sw.members(args.preset, args.seeds, device, overrides)
    result = run_sweep(members, root=args.out, executor=args.executor, scheduler=args.scheduler,
                       workers=args.workers, group_size=args.group_size, progress=not args.no_progress,
                       resume_every_s=args.resume_every, threads=args.threads)
    for m, d in zip(result.members, result.directories):
        print(d if d is not None else f"# not stored: {m.label} seed {m.seed}")
    for names, why in result.failures:
        print(f"error: {', '.join(names)}: {why}", file=sys.stderr)
    print(f"sweep: {len(members)} members, {result.trained} trained now, {len(members) - result.trained - sum(len(n) for n, _ in result.failures)} already stored, "
          f"{sum(len(n) for n, _ in result.failures)} failed ({result.wall_time_s:.0f} s)", file=sys.stderr)
    return 0 if result.ok else 1


def _split_set(text: str):
    from .config import split_assignment

    return split_assignment(text)
