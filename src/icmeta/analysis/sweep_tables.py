"""The sweeps' measured tables (Figs. 5, 6, 7, 12, 15, 16, 18, 19 and the K x ε diagram): plateaus per
seed, the SCC theory, RLA, the copy circuit, learning-rate checks, time near a level, cost.

Each plateau is detected by `icmeta.analysis.phases` and named by the nearest Bayes ceiling of
that member's own data draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..core import bayes
from ..experiments.load import SweepRuns
from .phases import nearest_strategy, run_phases
from .summaries import (
    diverged_at,
    final_value,
    first_step,
    member_phases,
    one_level,
    paper_clock,
    plateaus,
)

CIRCUIT_LETTER = {"NCC": "N", "SCC": "S", "FCC": "F"}


def plateau_table(sr: SweepRuns) -> pd.DataFrame:
    """One row per setting: per seed, its plateaus in order as ``NCC 0.36 → SCC 0.79 → FCC 1.00``
    (circuit by nearest Bayes ceiling, level); how many seeds show each circuit; the final accuracy (mean of the last 5
    evaluations; range over seeds) with the strategy whose ceiling it is nearest (a run can end
    on a level too short to count as a plateau), or "diverged" for a seed whose loss became NaN
    (named in its cell with the step); the Bayes ceilings (mean over the seeds' draws)."""
    rows = []
    for label in sr.labels:
        row: dict = {"setting": label}
        finals, ceils, ends, seen = [], [], [], []
        for m, r in sr.pairs(label):
            found = plateaus(r)
            seen.append({c for c, _ in found})
            cell = " → ".join(f"{c} {a:.2f}" for c, a in found) or "no plateau"
            finals.append(final_value(r.metrics))
            ceils.append(r.ceilings()[0])
            bad = diverged_at(r)
            if bad is not None:
                cell += f" ✗ diverged at step {bad:,} (loss NaN)"
                ends.append("diverged")
            else:
                ends.append("one level" if one_level(ceils[-1]) else nearest_strategy(finals[-1], ceils[-1]))
            row[f"seed {m.seed}"] = cell
        row["seeds with NCC / SCC / FCC"] = " / ".join(str(sum(c in x for x in seen)) for c in ("NCC", "SCC", "FCC"))
        final = f"{min(finals):.2f}–{max(finals):.2f}" if len(finals) > 1 else f"{finals[0]:.2f}"
        row["final acc (nearest)"] = f"{final} ({'/'.join(dict.fromkeys(ends))})"
        row["ceilings: ignore / labels / pairs"] = " / ".join(
            f"{np.mean([c[k] for c in ceils]):.2f}" for k in ("ignore", "labels", "pairs"))
        rows.append(row)
    return pd.DataFrame(rows)


def theory_table(sr: SweepRuns) -> pd.DataFrame:
    """Fig. 5's comparison: per K (= L), the SCC theory p + (1 - p)/2 and each seed's final
    accuracy (mean of the last 5 evaluations)."""
    rows = []
    for label in sr.labels:
        ms = sr.pairs(label)
        K, N = ms[0][0].config.task.K, ms[0][0].config.task.N
        row = {"setting": label, "theory p + (1 − p)/2": round(bayes.scc_theory_accuracy(K, N), 3)}
        for m, r in ms:
            row[f"seed {m.seed}"] = round(final_value(r.metrics), 3)
        vals = [final_value(r.metrics) for _, r in ms]
        row["mean − theory"] = round(float(np.mean(vals)) - row["theory p + (1 − p)/2"], 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index("setting")


def rla_table(run) -> pd.DataFrame:
    """Fig. 6's numbers: per seed and plateau, the accuracy level and the random-label accuracy
    (median over the plateau), and both at the end of training."""
    rows = []
    pt = run_phases(run)
    for (label, seed) in run.members:
        for r in pt[(pt.member == label) & (pt.seed == seed)].itertuples():
            rows.append({"seed": seed, "when": f"plateau {r.phase} ({r.circuit})", "steps": f"{r.start:,}–{r.end:,}",
                         "accuracy": round(r.acc, 3), "RLA": round(r.rla, 3)})
        m = run.metrics[(run.metrics.member == label) & (run.metrics.seed == seed)]
        rows.append({"seed": seed, "when": "end (last 5 measurements)", "steps": f"{run.last_step:,}",
                     "accuracy": round(final_value(m, "acc"), 3), "RLA": round(final_value(m, "rla"), 3)})
    return pd.DataFrame(rows).set_index(["seed", "when"])


def copy_circuit_table(sr: SweepRuns) -> pd.DataFrame:
    """Fig. 12's numbers: per setting and seed, the steps at which accuracy first reaches 0.5 and
    0.95, and the circuit metrics of both layers at the end (mean of the last 5 measurements)."""
    rows = []
    for m, r in sr.pairs():
        row = {"setting": m.label, "seed": m.seed, "acc ≥ 0.5 at step": first_step(r.metrics, 0.5),
               "acc ≥ 0.95 at step": first_step(r.metrics, 0.95)}
        for layer in (1, 2):
            for name, short in (("bigram", "bigram"), ("label_attention", "label att."), ("chunk_example", "chunk")):
                row[f"L{layer} {short}"] = round(final_value(r.metrics, name, layer), 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["setting", "seed"])


def lr_check_table(fast: SweepRuns, *slower: SweepRuns) -> pd.DataFrame:
    """`plateau_table` of the same settings at `fast` and at one or more lower learning rates (an
    lr check, a GPU check), one row per setting and lr, with the step at which each seed's
    accuracy first reaches 0.95 on the paper's clock (step x lr / 0.01: events move as 1/lr, so
    equal numbers mean the same event)."""
    parts = []
    slow = slower[-1]
    for sr in (fast, *slower):
        t = plateau_table(sr)
        lr = sr.members[0].config.train.lr
        t.insert(1, "lr", f"{lr:g}")
        reach = []
        for label in t.setting:
            s = [first_step(r.metrics, 0.95) for r in sr.runs_of(label)]
            reach.append(" / ".join("–" if x is None else f"{round(paper_clock(x, lr)):,}" for x in s))
        t["acc ≥ 0.95 at (paper clock), per seed"] = reach
        steps = {m.label: m.config.train.steps for m in sr.members}
        t.insert(2, "steps", [f"{steps[label]:,}" for label in t.setting])
        parts.append(t)
    order = {label: i for i, label in enumerate(slow.labels)}
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("setting", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def level_dwell(*rates: SweepRuns, strategy: str = "ignore", band: float = 0.06, window: int = 9) -> pd.DataFrame:
    """How long each seed's accuracy stays near one strategy's Bayes ceiling (default: the
    context-free level, where the NCC plateau sits), on the paper's clock (step x lr / 0.01), for
    the same settings at one or more learning rates. Accuracy is smoothed over `window`
    evaluations; a cell gives the first and the last step within ±`band` of the seed's ceiling (of
    its own evaluation draws) and their ratio: a plateau is a long stay, a smooth rise passes
    through the band in a short one. One row per setting and lr, one column per seed."""
    rows = []
    for sr in rates:
        for m, r in sr.pairs():
            lr = m.config.train.lr
            acc = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean()
            acc = acc.rolling(window, center=True, min_periods=1).mean()
            level = float(r.ceilings()[0][strategy])
            near = acc[(acc - level).abs() <= band]
            if len(near) and near.index.min() > 0:
                a, b = paper_clock(near.index.min(), lr), paper_clock(near.index.max(), lr)
                text = f"{a:,.0f}–{b:,.0f} (×{b / a:.2f})"
            else:
                text = "–"
            rows.append({"setting": m.label, "lr": f"{lr:g}", "seed": f"seed {m.seed}", "near": text})
    df = pd.DataFrame(rows)
    out = df.pivot_table(index=["setting", "lr"], columns="seed", values="near", aggfunc="first", sort=False)
    return out.reset_index().rename_axis(columns=None)


def cost_table(sr: SweepRuns) -> pd.DataFrame:
    """Per setting, what its models cost to train, from each stored run's record: tokens per
    sequence (N pairs and the query: 2N + 1), the training wall time per model (median and range
    over seeds; a model trained in a group of n counts for 1/n of the group's time), the median
    milliseconds per step, and the torch threads each had."""
    rows = []
    for label in sr.labels:
        runs = sr.runs_of(label)
        secs = [r.wall_time_s / r.info.get("trained_in", {}).get("members", 1) for r in runs]
        steps = [r.config.train.steps for r in runs]
        threads = sorted({s["threads"] for r in runs for s in r.info.get("segments", [])})
        rows.append({"setting": label, "tokens per sequence": 2 * runs[0].config.task.N + 1,
                     "s per model (median)": round(float(np.median(secs))),
                     "range over seeds": f"{min(secs):,.0f}–{max(secs):,.0f}",
                     "ms per step": f"{np.median([t / n * 1000 for t, n in zip(secs, steps)]):.1f}",
                     "threads": ", ".join(map(str, threads))})
    return pd.DataFrame(rows)


def reach_table(sr: SweepRuns, levels: tuple[float, ...] = (0.5, 0.95)) -> pd.DataFrame:
    """Per setting: the step at which each seed's accuracy first reaches each level ("–" if never),
    seeds separated by "/"."""
    rows = []
    for label in sr.labels:
        runs = sr.runs_of(label)
        row = {"setting": label}
        for level in levels:
            row[f"acc ≥ {level:g} at step, per seed"] = " / ".join(
                "–" if (x := first_step(r.metrics, level)) is None else f"{x:,}" for r in runs)
        rows.append(row)
    return pd.DataFrame(rows)


def task_table(sr: SweepRuns, label: str) -> pd.DataFrame:
    """Per seed and task of one setting: the task's sampling probability, the first step at which
    its accuracy reaches 0.5 and 0.9, and its final accuracy (mean of the last 5 evaluations)."""
    rows = []
    for m, r in sr.pairs(label):
        t = m.config.task
        w = np.arange(1, t.T + 1, dtype=float) ** -t.beta
        for k in range(1, t.T + 1):
            rows.append({"seed": m.seed, "task": k, "probability": round(float(w[k - 1] / w.sum()), 3),
                         "acc ≥ 0.5 at step": first_step(r.metrics, 0.5, f"acc_task{k}"),
                         "acc ≥ 0.9 at step": first_step(r.metrics, 0.9, f"acc_task{k}"),
                         "final acc": round(final_value(r.metrics, f"acc_task{k}"), 3)})
    return pd.DataFrame(rows).set_index(["seed", "task"])


def circuits_seen(sr: SweepRuns) -> pd.DataFrame:
    """Long table: setting, seed, and which of NCC / SCC / FCC appear as plateaus (booleans)."""
    rows = []
    for m, r in sr.pairs():
        seen = {c for c, _ in plateaus(r)}
        rows.append({"label": m.label, "seed": m.seed, **dict(m.setting), **{c: c in seen for c in CIRCUIT_LETTER}})
    return pd.DataFrame(rows)


def final_range(sr: SweepRuns, label: str, metric: str = "acc") -> tuple[float, float]:
    """The lowest and highest final value (`final_value`) over the seeds of one setting."""
    v = [final_value(r.metrics, metric) for r in sr.runs_of(label)]
    return min(v), max(v)


def ceiling_mean(sr: SweepRuns, label: str, strategy: str) -> float:
    """One strategy's Bayes ceiling of a setting, mean over its seeds' data draws."""
    return float(np.mean([r.ceilings()[0][strategy] for r in sr.runs_of(label)]))


def reach_range(sr: SweepRuns, label: str, level: float) -> tuple[int, int] | None:
    """The first and last seed of a setting to reach `level` (`first_step`); None if one never does."""
    s = [first_step(r.metrics, level) for r in sr.runs_of(label)]
    return None if any(x is None for x in s) else (min(s), max(s))


# ---------------------------------------------------- the data-properties chapter's numbers (06)

def plateau_levels(sr: SweepRuns) -> pd.DataFrame:
    """`plateau_table`'s entries, long: one row per plateau of each seed, with its place in that
    seed's order (1, 2, ...), the name the table gives it (the nearest Bayes ceiling: NCC, SCC,
    FCC, or "one level"), its level, and the seed's three ceilings (``ignore``, ``labels``,
    ``pairs``), so that a level can be set against any of them (a plateau named SCC can sit above
    the labels-only ceiling, which no labels-only strategy reaches)."""
    cols = ["setting", "seed", "plateau", "named", "level", "ignore", "labels", "pairs"]
    rows = []
    for m, r in sr.pairs():
        c = r.ceilings()[0]
        for i, (name, level) in enumerate(plateaus(r), 1):
            rows.append({"setting": m.label, "seed": m.seed, "plateau": i, "named": name, "level": float(level),
                         **{k: float(c[k]) for k in ("ignore", "labels", "pairs")}})
    return pd.DataFrame(rows, columns=cols)


def seen_grid(sr: SweepRuns, rows: str, cols: str) -> pd.DataFrame:
    """`circuits_seen` of a sweep over two fields as a grid: one row per value of field `rows`, one
    column per value of field `cols` (``"eps=0.5"``), each cell the number of seeds with a plateau
    named NCC / SCC / FCC (``"2 / 1 / 3"``)."""
    seen = circuits_seen(sr)
    counts = seen.groupby([rows, cols])[list(CIRCUIT_LETTER)].sum()
    cells = counts.apply(lambda x: " / ".join(str(int(v)) for v in x), axis=1).unstack(cols)
    cells.columns = [f"{cols}={v:g}" for v in cells.columns]
    cells.index = [f"{rows}={v:g}" for v in cells.index]
    return cells.rename_axis(f"{rows} \\ seeds with NCC / SCC / FCC").reset_index()


def clock_ratio_table(fast: SweepRuns, slow: SweepRuns, level: float = 0.95) -> pd.DataFrame:
    """A learning-rate check on the paper's clock: per setting of `slow` (the lower rate) and seed,
    the step x lr / 0.01 at which accuracy first reaches `level` (`first_step`) at each rate, and
    their ratio, lower rate over `fast` (NaN where a run never reaches it): near 1 where the
    events of training move as 1/lr."""
    rows = []
    for label in slow.labels:
        for m, r in slow.pairs(label):
            f = fast.run(label, m.seed)
            at = [first_step(x.metrics, level) for x in (f, r)]
            clock = [None if s is None else round(paper_clock(s, x.config.train.lr)) for s, x in zip(at, (f, r))]
            rows.append({"setting": label, "seed": m.seed,
                         f"fast (lr {f.config.train.lr:g})": clock[0],
                         f"lr {r.config.train.lr:g}": clock[1],
                         "ratio": np.nan if None in clock else clock[1] / clock[0]})
    out = pd.DataFrame(rows)
    return out.astype({c: "Int64" for c in out.columns[2:4]}) if len(out) else out


def seed_count(sr: SweepRuns, labels, circuit: str) -> str:
    """``"k of n"``: of the seeds of the settings `labels` (counted together: 2 settings x 3 seeds
    give n = 6), how many have a plateau labelled `circuit` (NCC, SCC or FCC; `circuits_seen`)."""
    seen = circuits_seen(sr)
    seen = seen[seen.label.isin(list(labels))]
    return f"{int(seen[circuit].sum())} of {len(seen)}"


# ---------------------------------------------------- the heads and depth chapters' numbers (08, 09)

def reach_clock_range(sr: SweepRuns, label: str, level: float = 0.95) -> tuple[int, int] | None:
    """The first and the last seed of a setting to reach `level` (`first_step`) on the paper's clock
    (step x lr / 0.01, rounded as `lr_check_table` shows it); None if a seed never reaches it."""
    clock = []
    for m, r in sr.pairs(label):
        s = first_step(r.metrics, level)
        if s is None:
            return None
        clock.append(round(paper_clock(s, m.config.train.lr)))
    return min(clock), max(clock)


def layer_final(sr: SweepRuns, label: str, metric: str, layer: int) -> tuple[float, float, float]:
    """One circuit metric of one layer at the end (`final_value`, heads averaged) over the seeds of a
    setting whose loss stayed finite, as `heads.layer_table` shows it: (mean, lowest, highest)."""
    v = [final_value(r.metrics, metric, layer) for r in sr.runs_of(label) if diverged_at(r) is None]
    if not v:
        raise ValueError(f"{label}: every seed diverged")
    return float(np.mean(v)), min(v), max(v)


def dwell_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """`level_dwell`'s table as numbers, long: one row per setting, lr and seed with the first and
    the last step near the level on the paper's clock and their ratio as the table shows it
    (``first`` ``last`` ``ratio``, NaN where the seed is never near the level)."""
    import re

    rows = []
    for _, row in table.iterrows():
        for col in (c for c in table.columns if str(c).startswith("seed ")):
            m = re.fullmatch(r"([\d,]+)–([\d,]+) \(×([\d.]+)\)", str(row[col]))
            first, last, ratio = (float(m[1].replace(",", "")), float(m[2].replace(",", "")), float(m[3])) if m else (np.nan,) * 3
            rows.append({"setting": row["setting"], "lr": row["lr"], "seed": int(col.split()[1]),
                         "first": first, "last": last, "ratio": ratio})
    return pd.DataFrame(rows, columns=["setting", "lr", "seed", "first", "last", "ratio"])


def divergences(sr: SweepRuns) -> pd.DataFrame:
    """Every member whose loss became NaN (`diverged_at`): its setting, seed, lr, the step and the
    same step on the paper's clock (step x lr / 0.01)."""
    rows = []
    for m, r in sr.pairs():
        step = diverged_at(r)
        if step is not None:
            lr = m.config.train.lr
            rows.append({"setting": m.label, "seed": m.seed, "lr": lr, "step": step, "clock": round(paper_clock(step, lr))})
    return pd.DataFrame(rows, columns=["setting", "seed", "lr", "step", "clock"])


# ---------------------------------------------------- the copy-and-burstiness chapter's numbers (07)

def plateau_range(sr: SweepRuns, circuit: str, column: str = "acc",
                  labels: tuple[str, ...] | None = None) -> tuple | None:
    """The lowest and the highest value of `column` over every plateau whose level is nearest
    `circuit`'s Bayes ceiling (`member_phases`: ``acc`` its level, ``start``/``end`` its window, a
    circuit metric such as ``bigram_L2`` its median over the window), in the settings `labels`
    (default: all of them), every seed; None where no plateau sits at that level."""
    vals = []
    for label in labels or sr.labels:
        for r in sr.runs_of(label):
            pt = member_phases(r)
            if len(pt):
                vals += pt.loc[pt.circuit == circuit, column].tolist()
    return (min(vals), max(vals)) if vals else None


def late_gain(sr: SweepRuns, label: str, since: float = 2 / 3, last: int = 5) -> tuple[float, float]:
    """How much a setting's accuracy still rises late in training: per seed, the final accuracy
    (`final_value`, mean of the last `last` evaluations) minus the mean of the `last` evaluations
    up to the step at fraction `since` of the run; the lowest and the highest over its seeds."""
    gains = []
    for r in sr.runs_of(label):
        acc = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean().sort_index()
        before = float(acc[acc.index <= since * acc.index.max()].iloc[-last:].mean())
        gains.append(final_value(r.metrics, "acc", last=last) - before)
    return min(gains), max(gains)


def matching_seeds(sr: SweepRuns, label: str, sequence: Sequence[str]) -> int:
    """In how many seeds of setting `label` the detected plateaus, named by circuit in order
    (``["NCC", "SCC", "FCC"]``; ``[]`` for none), are exactly `sequence`."""
    return sum([c for c, _ in plateaus(r)] == list(sequence) for _, r in sr.pairs(label))


def most_common_plateaus(sr: SweepRuns, label: str) -> list[str]:
    """The most common sequence of detected plateaus (circuit names in order) over the seeds of
    setting `label`; the first seed's on a tie."""
    found = [tuple(c for c, _ in plateaus(r)) for _, r in sr.pairs(label)]
    return list(max(found, key=found.count))
