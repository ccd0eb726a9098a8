"""The paper-rate queue: what a lent GPU trains, in order, at the paper's own learning rate.

The book measures its claims at `fast` (lr 0.1) and checks them at lr 0.03; where the paper's
rate was tried it sometimes changed the answer. The queue is the list of runs that settle this
at the `paper` preset (SGD, lr 0.01, batch 128), first the main result to 4x10^5 steps over ten
seeds, then every sweep setting with a claim the lower rates do not confirm (a verdict other
than "holds" at either rate: "does not hold" at lr 0.1 does not refute a claim made at lr 0.01).
The list is made here, on the CPU, from the stored claims (`make_plan`), written to
``runs/queue/plan.json`` with the reason of each item, and committed before any of it is
trained: what the queue trains is fixed before its results are seen.

Every member trains with the one-graph step (``kernels="graph"``) and the counter-based stream
(``sampler="counter"``), so a CPU and a GPU draw the same batches; members of one shape share
a loop (`icmeta.train.runner.plan_groups`), each group no larger than `GROUP_SIZE` and than
what one resume state can bring back (`chunks`). `icmeta.train.queue_worker` runs the queue
until a deadline on either kind of machine (``python -m icmeta queue run``): finished members
go to ``runs/queue/runs/`` (read by the claims as the paper-rate column), the resume states of
unfinished groups to ``runs/queue/pending/`` (kept in the repository until their groups finish,
so the next working stretch or GPU window resumes where the last stopped). A member's
``device`` names where it was trained; `find_member` finds it on either.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..config import Config, ConfigError, set_field
from ..presets import GPU_PATH
from ..store.io import default_runs_root
from ..store.run import find_run, run_name
from .sweeps import SWEEPS, Member

# what a member trains with on the GPU (and on the CPU when the queue is tried there)
GPU_SETTINGS = tuple(GPU_PATH.items())
GROUP_SIZE = 256  # members per group at most (an H200 holds far more of these small models)
PAPER_SEEDS = (0, 1, 2)  # the paper's three seeds for the sweep settings
MAIN_SEEDS = tuple(range(10))  # the main result: ten seeds cost about what three do on a GPU
CONFIRMED = "holds"  # a claim that holds at every lower rate it was measured at needs no paper-rate check


def queue_root(root: Path | str | None = None) -> Path:
    """``runs/queue`` (or `root`): plan.json, runs/, pending/."""
    return Path(root) if root is not None else default_runs_root() / "queue"


def twin(c: Config) -> Config:
    """The same member trained on the other device (``device`` names where a run was made)."""
    return set_field(c, "device", "cuda" if c.train.device == "cpu" else "cpu")


def find_member(c: Config, runs: Path | str):
    """The stored run of queue member `c` in `runs`, trained on its own device or on the other
    (its own first), or None."""
    return find_run([c], runs) or find_run([twin(c)], runs)


@dataclass(frozen=True)
class Item:
    """One entry of the queue: settings (`labels`, or every point when empty) of sweep `sweep`
    at the `paper` preset, seeds `seeds`, and why they are queued."""

    sweep: str
    labels: tuple[str, ...]
    seeds: tuple[int, ...]
    why: str
    claims: tuple[str, ...] = ()  # the claims (keys) that put it in the queue

    def members(self, device: str = "cuda", overrides: dict | None = None) -> list[Member]:
        """The members at the paper preset with the GPU settings; `overrides` (field -> value)
        apply to every member (tiny runs for trying the queue on the CPU)."""
        over = {**dict(GPU_SETTINGS), **(overrides or {})}
        ms = SWEEPS[self.sweep].members("paper", list(self.seeds), device=device, overrides=over)
        unknown = set(self.labels) - {m.label for m in ms}
        if unknown:
            raise ConfigError("labels", sorted(unknown), f"settings of sweep {self.sweep}: "
                              + ", ".join(dict.fromkeys(m.label for m in ms)))
        return [m for m in ms if not self.labels or m.label in self.labels]


MAIN = Item("main_seeds", (), MAIN_SEEDS, "the main result (Figs. 2, 6, Table 1) to 4x10^5 steps, ten seeds",
            ("main.*", "table1.*", "fig6.*"))


def make_plan(results: Iterable) -> list[Item]:
    """The queue from evaluated claims (`icmeta.analysis.claims.evaluate_all`): `MAIN`, then one
    item per sweep (in the claims' order) with the settings of every claim that the lower rates
    (`fast`, lr 0.03) do not confirm: any verdict other than "holds" at a rate it was measured
    at ("holds in k of n", "depends on the reading", and "does not hold" too, since a claim the
    paper makes at lr 0.01 is not refuted at lr 0.1). A claim measured at neither rate is left
    out (nothing to compare)."""
    by_claim: dict[str, dict] = {}
    for r in results:
        entry = by_claim.setdefault(r.claim.key, {"claim": r.claim, "verdicts": {}})
        entry["verdicts"][r.rate] = r.verdict
    items: dict[str, dict] = {}
    for key, e in by_claim.items():
        claim, v = e["claim"], {k: x for k, x in e["verdicts"].items() if k in ("fast", "lr 0.03")}
        measured = {k: x for k, x in v.items() if not x.startswith("not measured")}
        if claim.sweep == "main" or not measured:
            continue
        if all(x == CONFIRMED for x in measured.values()):
            continue
        it = items.setdefault(claim.sweep, {"labels": [], "why": [], "claims": []})
        labels = claim.settings or tuple(label for label, _ in SWEEPS[claim.sweep].points())
        it["labels"] += [label for label in labels if label not in it["labels"]]
        it["why"].append(f"{key} ({'; '.join(f'{k}: {x}' for k, x in measured.items())})")
        it["claims"].append(key)
    return [MAIN] + [Item(s, tuple(it["labels"]), PAPER_SEEDS, "; ".join(it["why"]), tuple(it["claims"]))
                     for s, it in items.items()]


def write_plan(items: Sequence[Item], path: Path | str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps([asdict(i) for i in items], indent=1) + "\n")


def read_plan(path: Path | str) -> list[Item]:
    """The queue written by `write_plan`; `ConfigError` in one line if it is missing or malformed."""
    try:
        raw = json.loads(Path(path).read_text())
        items = [Item(d["sweep"], tuple(d["labels"]), tuple(d["seeds"]), d["why"], tuple(d.get("claims", ())))
                 for d in raw]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError("plan", str(path), f"a queue written by make_plan ({type(e).__name__}: {e})") from None
    for i in items:
        if i.sweep not in SWEEPS:
            raise ConfigError("sweep", i.sweep, ", ".join(SWEEPS))
    return items


def queue_configs(items: Sequence[Item], device: str = "cuda", overrides: dict | None = None) -> list[Config]:
    """Every member's config, in the queue's order, each once."""
    out: dict[str, Config] = {}
    for item in items:
        for m in item.members(device, overrides):
            out.setdefault(run_name([m.config]), m.config)
    return list(out.values())


def model_steps(configs: Sequence[Config]) -> int:
    return sum(c.train.steps for c in configs)


# What one group's resume state may take in the files that come back (64 MiB in all, results
# included): a group larger than this could never carry its state to the next window.
STATE_BUDGET = 24 * 2**20


def state_bytes(c: Config) -> int:
    """About how many bytes one member adds to a resume state at the end of its run: its float32
    weights, its metric rows (about 30 bytes each) and its attention snapshots."""
    t, m = c.task, c.model
    d, S = t.d_model, t.seq_len
    per_layer = d * 3 * d + (d * d if m.w_o else 0) + (8 * d * d + 12 * d if m.arch == "standard" else 0)
    params = m.layers * per_layer + t.L * d + (m.classifier_hidden * (d * d + d) + d * t.L + t.L)
    evals = c.train.steps // c.train.eval_interval + 1
    rows = evals * (2 + t.T + (1 + m.layers * m.heads * (3 + t.N)) / 5)
    snapshots = (24 * math.ceil(math.log10(max(c.train.steps, 10))) + 2) * 2 * m.layers * m.heads * S * S * 4
    return int(4 * params + 30 * rows + snapshots)


def chunks(configs: Sequence[Config], largest: int = GROUP_SIZE, budget: int = STATE_BUDGET) -> list[list[Config]]:
    """`configs` (members of one shape, in priority order) cut into groups, in order: each at most
    `largest` members, and no more than fit one resume state in `budget` (at least one)."""
    out: list[list[Config]] = []
    size = 0
    for c in configs:
        b = state_bytes(c)
        if not out or len(out[-1]) >= largest or size + b > budget:
            out.append([])
            size = 0
        out[-1].append(c)
        size += b
    return out


# What the book shows of the queue: each member up to a fixed step, written by `freeze` (``python
# -m icmeta queue freeze``) when the book's pages are executed. A resume state further on holds the
# same rows up to that step (training is deterministic), so the queue can go on training and its
# states be committed without changing a page; the pages change when the file does.
SHOWN = "shown.json"


def freeze(root: Path | str | None = None, overrides: dict | None = None) -> dict:
    """Write ``shown.json``: every member of the plan that has trained (finished, or pending in
    ``pending/``) with the last step it has evaluated, the steps it had trained and their wall
    time, and when (`overrides`: as in `Item.members`). Returns what was written."""
    import time

    from ..store.pending import pending_members

    q = queue_root(root)
    pending = pending_members(q / "pending")
    steps: dict[str, int] = {}  # the last evaluated step shown
    trained: dict[str, int] = {}  # steps trained by then, and the wall time they took (the rate)
    wall: dict[str, float] = {}
    for c in queue_configs(read_plan(q / "plan.json"), overrides=overrides):
        run = find_member(c, q / "runs")
        if run is None:
            run = next((pending[run_name([k])] for k in (c, twin(c)) if run_name([k]) in pending), None)
        if run is None:
            continue
        name = run_name(run.configs)
        steps[name], trained[name] = run.last_step, int(run.info["steps_done"])
        wall[name] = round(sum(float(x["wall_time_s"]) for x in run.info["segments"]), 2)
    shown = {"frozen_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": steps, "trained": trained,
             "wall_time_s": wall}
    (q / SHOWN).write_text(json.dumps(shown, indent=1) + "\n")
    return shown


def read_shown(root: Path | str | None = None) -> dict:
    """``shown.json`` (`freeze`); empty maps when there is none."""
    empty = {"frozen_utc": None, "steps": {}, "trained": {}, "wall_time_s": {}}
    try:
        return {**empty, **json.loads((queue_root(root) / SHOWN).read_text())}
    except (OSError, ValueError):
        return empty


def shown_complete(c: Config, shown: dict) -> bool:
    """Whether `shown` (`read_shown`) froze queue member `c` fully trained (on either device)."""
    return any(shown["trained"].get(run_name([k]), 0) >= c.train.steps for k in (c, twin(c)))


def plan_table(root: Path | str | None = None):
    """The queue as a table, one row per item: the sweep, its settings, seeds, steps, its models and
    how many of them were fully trained when the book's pages were last executed (``shown.json``,
    so that committing the queue's progress changes no page until `freeze`), and the claims that
    queued it (their verdicts at the lower rates are in plan.json's ``why``)."""
    import pandas as pd

    q = queue_root(root)
    shown = read_shown(root)
    rows = []
    for item in read_plan(q / "plan.json"):
        ms = item.members()
        done = sum(shown_complete(m.config, shown) for m in ms)
        rows.append({"sweep": item.sweep, "settings": ", ".join(item.labels) or "all",
                     "seeds": len(item.seeds), "steps": f"{ms[0].config.train.steps:,}", "models": len(ms),
                     "trained": done, "claims": ", ".join(item.claims)})
    return pd.DataFrame(rows)


def summary(root: Path | str | None = None) -> dict:
    """The queue in four numbers: items, models (each counted once), model-steps, and models fully
    trained when the pages were last executed (``shown.json``, as in `plan_table`)."""
    q = queue_root(root)
    configs = queue_configs(read_plan(q / "plan.json"))
    shown = read_shown(root)
    return {"queue_items": len(read_plan(q / "plan.json")), "queue_members": len(configs),
            "queue_model_steps": model_steps(configs),
            "queue_done": sum(shown_complete(c, shown) for c in configs)}
