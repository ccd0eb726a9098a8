"""Training E models together, the run store, and `load_or_train`.

A run is a list of member configs trained in one loop (seeds, or a sweep over settings
that share tensor shapes). It lives in ``<root>/<name>-<hash>/`` with
    config.json      members, seeds, package version, git commit, device, wall time, status
    metrics.parquet  long table: run, seed, step, metric, layer, head, value
    patterns.npz     mean attention patterns (and one example sequence) at log-spaced steps
    ceilings.json    Bayes-ideal accuracies of the three strategies, per member
    step_XXXXXXXX.pt model weights on a log-spaced schedule
    resume.pt        the full training state (weights, optimiser, data streams, metrics so
                     far), rewritten atomically every `resume_every_s` seconds
A run killed at any moment resumes from resume.pt and ends with exactly the metrics of an
uninterrupted run (on the CPU).
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import __version__, bayes, metrics as M, phases
from .config import Config, ConfigError, set_field, validate
from .model import Transformers
from .store import default_runs_root, git_commit, write_json, write_torch
from .task import Batch, Sampler, make_world

COLUMNS = ["run", "seed", "step", "metric", "layer", "head", "value"]
SHARED_TRAIN_FIELDS = ("optimizer", "batch_size", "steps", "eval_size", "eval_every", "metrics_every", "device")
EVAL_CHUNK = 512  # sequences per evaluation forward pass (bounds memory, keeps caches warm)


# ------------------------------------------------------------------------------- members

def member_labels(configs: Sequence[Config]) -> list[str]:
    """Name each member by the fields (other than seeds) in which the members differ."""
    flat = [_flatten(c) for c in configs]
    keys = [k for k in flat[0] if len({str(f[k]) for f in flat}) > 1]
    return [",".join(f"{k}={f[k]}" for k in keys) or "main" for f in flat]


def _flatten(c: Config) -> dict:
    out = {}
    for section in ("task", "model", "train"):
        out.update(getattr(c, section).__dict__)
    return out


def check_members(configs: Sequence[Config]) -> None:
    if not configs:
        raise ConfigError("seeds", [], "at least one model")
    for c in configs:
        validate(c)
    for name in SHARED_TRAIN_FIELDS:
        if len({getattr(c.train, name) for c in configs}) > 1:
            raise ConfigError(name, [getattr(c.train, name) for c in configs], "one value for all models trained together")
    if len({c.model for c in configs}) > 1:
        raise ConfigError("model", "differs between members", "one model config for all models trained together")
    from .task import check_shared

    check_shared([c.task for c in configs])
    keys = [(l, c.seed) for l, c in zip(member_labels(configs), configs)]
    if len(set(keys)) != len(keys):
        raise ConfigError("seeds", [c.seed for c in configs], "distinct seeds for identical settings")


def run_name(configs: Sequence[Config]) -> str:
    from .config import config_hash

    return f"run-{config_hash(list(configs))}"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "cpu or auto (no CUDA device is available)")
    return torch.device(name)


# ----------------------------------------------------------------------------- schedules

def log_schedule(steps: int, per_decade: int) -> list[int]:
    """0, 1, and about `per_decade` log-spaced steps per decade up to `steps` (inclusive)."""
    s = {0, steps}
    n = int(math.ceil(per_decade * math.log10(max(steps, 1)))) + 1
    s.update(int(round(10 ** (i / per_decade))) for i in range(n) if 10 ** (i / per_decade) <= steps)
    return sorted(s)


# --------------------------------------------------------------------------------- the run

@dataclass
class Run:
    """A finished (or loaded) run."""

    directory: Path
    configs: list[Config]
    labels: list[str]
    info: dict
    metrics: pd.DataFrame

    @property
    def config(self) -> Config:
        return self.configs[0]

    def patterns(self) -> dict[str, np.ndarray]:
        """Attention patterns at log-spaced steps: steps [n]; mean and example
        [n, E, layers, heads, S, S] (mean over the evaluation set; its first sequence)."""
        with np.load(self.directory / "patterns.npz") as z:
            return {k: z[k] for k in z.files}

    def ceilings(self) -> list[dict]:
        return json.loads((self.directory / "ceilings.json").read_text())

    def checkpoint_steps(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.directory.glob("step_*.pt"))

    def load_models(self, step: int | None = None) -> Transformers:
        """The E models at a checkpointed step (the last one by default)."""
        steps = self.checkpoint_steps()
        if not steps or (step is not None and step not in steps):
            raise FileNotFoundError(
                f"no checkpoint {'at step ' + str(step) if step is not None else ''} in {self.directory} "
                f"(available: {steps or 'none; committed runs keep results only, retrain to get weights'})")
        step = steps[-1] if step is None else step
        state = torch.load(self.directory / f"step_{step:08d}.pt", map_location="cpu")
        model = Transformers(self.config.task, self.config.model, [torch.Generator() for _ in self.configs])
        model.load_state_dict(state["model"])
        return model

    def phases(self, **kwargs) -> pd.DataFrame:
        table = phases.phase_table(self.metrics, floors=self.floors(), **kwargs)
        if len(table):
            ceil = {(c["label"], c["seed"]): c for c in self.ceilings()}
            table["circuit"] = [
                phases.nearest_strategy(r.acc, ceil[(r.run, r.seed)]) for r in table.itertuples()
            ]
        return table

    def floors(self) -> dict[tuple[str, int], float]:
        """Per member: half the Bayes-ideal context-ignored accuracy (see `icmeta.phases`)."""
        return {(c["label"], c["seed"]): phase_floor(c) for c in self.ceilings()}


def phase_floor(ceiling: dict) -> float:
    """Below this a first stretch is not a phase: half the context-ignored ceiling (`icmeta.phases`)."""
    return ceiling["ignore"] / 2


def is_complete(directory: Path) -> bool:
    f = directory / "config.json"
    if not (f.exists() and (directory / "metrics.parquet").exists()):
        return False
    try:
        return json.loads(f.read_text()).get("status") == "complete"
    except ValueError:
        return False


def load_run(directory: Path) -> Run:
    info = json.loads((Path(directory) / "config.json").read_text())
    configs = [Config.from_dict(m["config"]) for m in info["members"]]
    df = pd.read_parquet(Path(directory) / "metrics.parquet")
    return Run(Path(directory), configs, [m["label"] for m in info["members"]], info, df)


def load_or_train(
    configs: Config | Sequence[Config],
    root: Path | str | None = None,
    progress: bool = True,
    resume_every_s: float = 30.0,
) -> Run:
    """Return the stored run whose config hash matches, else train it (resuming if it was cut).

    Args:
        configs: one `Config` or a list trained together (same model, shapes and schedule).
        root: folder of the run store (default `$ICMETA_RUNS` or `runs/` in the project).
    """
    configs = [configs] if isinstance(configs, Config) else list(configs)
    check_members(configs)
    # "auto" is stored as the device it resolves to here: a GPU run and a CPU run differ
    configs = [set_field(c, "device", resolve_device(c.train.device).type) for c in configs]
    root = Path(root) if root is not None else default_runs_root()
    directory = root / run_name(configs)
    if is_complete(directory):
        return load_run(directory)
    return Trainer(configs, directory, progress=progress, resume_every_s=resume_every_s).run()


class Trainer:
    def __init__(self, configs: list[Config], directory: Path, progress: bool = True, resume_every_s: float = 30.0):
        self.configs, self.directory = configs, Path(directory)
        self.commit = git_commit()  # the code this process runs (read now: HEAD may move later)
        self.progress, self.resume_every_s = progress, resume_every_s
        self.labels = member_labels(configs)
        c0 = configs[0]
        self.tc, self.mc, self.trc = c0.task, c0.model, c0.train
        self.device = resolve_device(self.trc.device)
        self.E = len(configs)
        self.seeds = [c.seeds() for c in configs]
        # the data draw and the training stream come from the data seed; the evaluation
        # sets from the evaluation seed; weights from the initialisation seed.
        worlds = [make_world(c.task, torch.Generator().manual_seed(s["data"])) for c, s in zip(configs, self.seeds)]
        self.sampler = Sampler([c.task for c in configs], worlds, self.device)
        self.data_gens = [self._gen(s["data"] + 1) for s in self.seeds]
        init_gens = [torch.Generator().manual_seed(s["init"]) for s in self.seeds]
        self.model = Transformers(self.tc, self.mc, init_gens).to(self.device)
        self.lr = torch.tensor([c.train.lr for c in configs], device=self.device)
        self.opt_state: dict[str, torch.Tensor] = {}
        eval_gens = [self._gen(s["eval"]) for s in self.seeds]
        self.eval_batch = self.sampler.sample(self.trc.eval_size, eval_gens)
        self.rla_batch = self.sampler.random_labels(self.eval_batch, eval_gens)
        self.step, self.rows, self.wall = 0, [], 0.0
        self._acc_history: list[tuple[list[int], list[float]]] = [([], []) for _ in configs]
        self._acc_rows = 0
        self.snap_steps: list[int] = []
        self.snap_mean: list[np.ndarray] = []
        self.snap_example: list[np.ndarray] = []
        # members may differ in lr, and so in their ΔAcc interval: evaluate at the finest
        self.eval_interval = min(c.train.eval_interval for c in configs)
        self.metrics_interval = min(c.train.metrics_interval for c in configs)
        self.pattern_schedule = set(log_schedule(self.trc.steps, 24))
        self.ckpt_schedule = set(log_schedule(self.trc.steps, 4))

    def _gen(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(seed)

    # -- optimisation ------------------------------------------------------------------
    def _lr(self, p: torch.Tensor) -> torch.Tensor:
        return self.lr.reshape(-1, *([1] * (p.dim() - 1)))

    def _update(self) -> None:
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                g = p.grad
                if self.trc.optimizer == "sgd":
                    p.sub_(self._lr(p) * g)
                else:  # Adam, betas (0.9, 0.999), eps 1e-8, bias-corrected
                    m = self.opt_state.setdefault(name + ".m", torch.zeros_like(p))
                    v = self.opt_state.setdefault(name + ".v", torch.zeros_like(p))
                    m.mul_(0.9).add_(g, alpha=0.1)
                    v.mul_(0.999).addcmul_(g, g, value=0.001)
                    t = self.step + 1
                    mhat = m / (1 - 0.9**t)
                    vhat = v / (1 - 0.999**t)
                    p.sub_(self._lr(p) * mhat / (vhat.sqrt() + 1e-8))
                p.grad = None

    def train_step(self) -> torch.Tensor:
        batch = self.sampler.sample(self.trc.batch_size, self.data_gens)
        logits, _ = self.model(batch, query_only=True)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.target.flatten(), reduction="none")
        loss = loss.reshape(self.E, -1).mean(1)
        loss.sum().backward()
        self._update()
        return loss.detach()

    # -- measurement -------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, full: bool) -> dict:
        """Accuracy and loss on the fixed evaluation set; with `full`, also RLA and the
        circuit metrics of every layer (from full attention patterns)."""
        N, nl = self.tc.N, self.mc.layers
        logits, caches = [], []
        for i in range(0, self.trc.eval_size, EVAL_CHUNK):
            chunk = self.eval_batch.select(slice(i, i + EVAL_CHUNK))
            lg, cache = self.model(chunk, query_only=not full, return_patterns=full)
            logits.append(lg)
            caches.append(cache)
        logits = torch.cat(logits, 1)
        target = self.eval_batch.target
        correct = (logits.argmax(-1) == target).double()
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").reshape(self.E, -1).mean(1)
        out = {"acc": correct.mean(1), "loss": loss, "correct": correct, "layers": []}
        if not full:
            return out
        rla = []
        for i in range(0, self.trc.eval_size, EVAL_CHUNK):
            lg, _ = self.model(self.rla_batch.select(slice(i, i + EVAL_CHUNK)), query_only=True)
            rla.append(lg.argmax(-1) == self.rla_batch.target[:, i : i + EVAL_CHUNK])
        out["rla"] = torch.cat(rla, 1).double().mean(1)
        pats = [torch.cat([c[f"blocks.{l}.attn.hook_pattern"] for c in caches], 1) for l in range(nl)]
        for p in pats:
            out["layers"].append({
                "bigram": M.bigram(p, N),
                "label_attention": M.label_attention(p, N),
                "chunk_example": M.chunk_example(p, N),
                "chunk_pairs": M.chunk_example_pairs(p, N),
            })
        if self.step in self.pattern_schedule:
            stack = torch.stack(pats, 2)  # [E, b, layers, H, S, S]
            self.snap_steps.append(self.step)
            self.snap_mean.append(stack.mean(1).float().cpu().numpy())
            self.snap_example.append(stack[:, 0].float().cpu().numpy())
        return out

    @property
    def acc_history(self) -> list[tuple[list[int], list[float]]]:
        """(steps, accuracy) per model, rebuilt from the recorded rows when needed."""
        if len(self._acc_history[0][0]) != self._acc_rows:
            self._acc_history = [([], []) for _ in range(self.E)]
            index = {(l, c.seed): e for e, (l, c) in enumerate(zip(self.labels, self.configs))}
            for r in self.rows:
                if r[3] == "acc":
                    h = self._acc_history[index[(r[0], r[1])]]
                    h[0].append(r[2])
                    h[1].append(r[6])
            self._acc_rows = len(self._acc_history[0][0])
        return self._acc_history

    def record(self, ev: dict) -> None:
        s = self.step
        for e in range(self.E):
            self._acc_history[e][0].append(s)
            self._acc_history[e][1].append(float(ev["acc"][e]))
        self._acc_rows += 1
        tasks = self.eval_batch.tasks
        for e, (label, c) in enumerate(zip(self.labels, self.configs)):
            add = lambda metric, value, layer=None, head=None: self.rows.append(
                (label, c.seed, s, metric, layer, head, float(value))
            )
            add("acc", ev["acc"][e])
            add("loss", ev["loss"][e])
            if "rla" in ev:
                add("rla", ev["rla"][e])
            for t in range(c.task.T):
                sel = tasks[e] == t
                if sel.any():
                    add(f"acc_task{t + 1}", ev["correct"][e][sel].mean())
            for layer, lm in enumerate(ev["layers"], 1):
                for h in range(self.mc.heads):
                    for name in ("bigram", "label_attention", "chunk_example"):
                        add(name, lm[name][e, h], layer, h + 1)
                    for k in range(self.tc.N):
                        add(f"chunk_example_pair{k + 1}", lm["chunk_pairs"][e, h, k], layer, h + 1)

    # -- persistence -------------------------------------------------------------------
    def _state(self) -> dict:
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "opt": self.opt_state,
            "data_gens": [g.get_state() for g in self.data_gens],
            "rows": self.rows,
            "snap": (self.snap_steps, self.snap_mean, self.snap_example),
            "wall": self.wall,
            "name": self.directory.name,
        }

    def _restore(self) -> bool:
        f = self.directory / "resume.pt"
        if not f.exists():
            return False
        try:
            st = torch.load(f, map_location="cpu", weights_only=False)
        except Exception:  # a file that cannot be read is ignored, never trusted
            return False
        if st.get("name") != self.directory.name:
            return False
        try:
            for g, s in zip(self.data_gens, st["data_gens"]):
                g.set_state(s)
        except (RuntimeError, TypeError):  # saved on another device kind: start over
            self.data_gens = [self._gen(s["data"] + 1) for s in self.seeds]
            return False
        self.model.load_state_dict(st["model"])
        self.opt_state = {k: v.to(self.device) for k, v in st["opt"].items()}
        self.step, self.rows, self.wall = st["step"], list(st["rows"]), st["wall"]
        self._acc_rows = -1  # rebuild the accuracy history from the restored rows
        self.snap_steps, self.snap_mean, self.snap_example = (list(x) for x in st["snap"])
        return True

    def _info(self, status: str, ceilings: list | None = None) -> dict:
        return {
            "status": status,
            "name": self.directory.name,
            "members": [
                {"label": l, "config": c.to_dict(), "seeds": s}
                for l, c, s in zip(self.labels, self.configs, self.seeds)
            ],
            "package_version": __version__,
            "git_commit": self.commit,
            "torch": torch.__version__,
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "host": platform.node(),
            "steps_done": self.step,
            "wall_time_s": round(self.wall, 2),
            "delta_t": [c.train.delta_t for c in self.configs],
            "eval_interval": self.eval_interval,
            "metrics_interval": self.metrics_interval,
        }

    def run(self) -> Run:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        if not self._restore():
            write_torch(d / "step_00000000.pt", {"step": 0, "model": self.model.state_dict()})
        if not (d / "ceilings.json").exists():
            write_ceilings(d, self.configs)
        self._floors = [phase_floor(c) for c in json.loads((d / "ceilings.json").read_text())]
        write_json(d / "config.json", self._info("running"))
        steps, every = self.trc.steps, self.eval_interval
        bar = tqdm(total=steps, initial=self.step, disable=not self.progress, desc=d.name, dynamic_ncols=True)
        t0, last_save = time.perf_counter() - self.wall, time.perf_counter()
        while True:
            full = self.step % self.metrics_interval == 0 or self.step in self.pattern_schedule
            if full or self.step % every == 0:
                ev = self.evaluate(full)
                self.record(ev)
                if self.progress and self.step % (10 * every) == 0:
                    bar.set_postfix_str(self._postfix(ev))
            if self.step == steps:
                break
            self.train_step()
            self.step += 1
            bar.update(1)
            if self.step in self.ckpt_schedule:
                write_torch(d / f"step_{self.step:08d}.pt", {"step": self.step, "model": self.model.state_dict()})
            now = time.perf_counter()
            if now - last_save > self.resume_every_s:
                self.wall = now - t0
                write_torch(d / "resume.pt", self._state())
                last_save = now
        bar.close()
        self.wall = time.perf_counter() - t0
        self._finish()
        return load_run(d)

    def _postfix(self, ev: dict) -> str:
        """Progress-bar text: accuracy and the number of plateaus detected so far, per model."""
        accs = " ".join(f"{a:.3f}" for a in ev["acc"].tolist())
        ph = []
        for e in range(self.E):
            st, ac = self.acc_history[e]
            n = len(phases.detect(np.array(st), np.array(ac), floor=self._floors[e]).phases) if len(st) > 1 else 1
            ph.append(str(max(1, n)))
        return f"acc {accs} phase {','.join(ph)}"

    def _finish(self) -> None:
        d = self.directory
        df = pd.DataFrame(self.rows, columns=COLUMNS)
        df["layer"] = df["layer"].astype("Int64")
        df["head"] = df["head"].astype("Int64")
        atomic_parquet(d / "metrics.parquet", df)

        def _np(f):
            np.savez_compressed(
                f,
                steps=np.array(self.snap_steps),
                mean=np.stack(self.snap_mean).astype(np.float32),
                example=np.stack(self.snap_example).astype(np.float32),
            )

        from .store import atomic_write

        atomic_write(d / "patterns.npz", _np)
        write_json(d / "config.json", self._info("complete"))
        (d / "resume.pt").unlink(missing_ok=True)


def write_ceilings(directory: Path, configs: Sequence[Config]) -> list[dict]:
    """Bayes-ideal accuracies of each member's data draw, written to ``ceilings.json``.

    A pure function of the configs (the data seed fixes the draw, the evaluation seed + 7 the
    Monte-Carlo sample), so it can be rerun on a stored run, e.g. after a fix in `bayes`.
    """
    out = []
    for label, c in zip(member_labels(configs), configs):
        s = c.seeds()
        world = make_world(c.task, torch.Generator().manual_seed(s["data"]))
        out.append({"label": label, "seed": c.seed, **bayes.ideal_accuracies(c.task, world, seed=s["eval"] + 7)})
    write_json(Path(directory) / "ceilings.json", out)
    return out


def atomic_parquet(path: Path, df: pd.DataFrame) -> None:
    from .store import atomic_write

    atomic_write(path, lambda f: df.to_parquet(f, index=False))
