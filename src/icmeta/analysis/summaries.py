"""Small summaries of one run's curves that every table and figure shares: the final level, the first
step at a level, the paper's clock, divergence, and each member's plateaus named by circuit.

The paper's clock: events move as 1/lr (the reproduction-notes chapter measures it), so a step at
learning rate lr is drawn at step x lr / 0.01, the step of the paper's lr 0.01 that reaches the
same point.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..experiments.load import SweepRuns
from . import readings as R
from .phases import run_phases

PAPER_LR = 0.01  # the paper's learning rate (Section 4)
CLOCK_LABEL = "step × lr / 0.01 (the paper's clock)"


def span(values) -> tuple:
    """The lowest and the highest of `values` (a Series, a DataFrame's cells, any array), the
    ``(low, high)`` pair the pages show as a range; integers stay integers."""
    a = np.ravel(np.asarray(values))
    lo, hi = a.min(), a.max()
    return (lo.item(), hi.item()) if hasattr(lo, "item") else (lo, hi)


def paper_clock(step, lr: float):
    """A step at learning rate `lr` on the paper's clock: step x lr / 0.01, the step of the paper's
    lr 0.01 that reaches the same point (events move as 1/lr). Works on numbers and arrays."""
    return step * lr / PAPER_LR


def first_step(metrics: pd.DataFrame, level: float, metric: str = "acc") -> int | None:
    """The first evaluated step at which `metric` (mean over the rows of a step) reaches `level`
    (None if it never does)."""
    m = metrics[metrics.metric == metric].groupby("step").value.mean()
    hit = m[m >= level]
    return int(hit.index.min()) if len(hit) else None


def final_value(metrics: pd.DataFrame, metric: str = "acc", layer: int | None = None, last: int = 5) -> float:
    """Mean of a metric over the last `last` steps that measured it (heads averaged)."""
    m = metrics[metrics.metric == metric]
    if layer is not None:
        m = m[m.layer == layer]
    per_step = m.groupby("step").value.mean().sort_index()
    return float(per_step.iloc[-last:].mean())


def curves(sr: SweepRuns, metric: str) -> pd.DataFrame:
    df = sr.frame(metric)
    df = df.groupby(["label", "seed", "step"], sort=False).value.mean().reset_index()
    df["step"] = df.step.clip(lower=1)
    return df


def member_phases(run) -> pd.DataFrame:
    """`run_phases` of a single-member run, with circuit "one level" where the three strategies'
    ceilings coincide (T = 1: nothing to infer, so a plateau's level names no circuit)."""
    pt = run_phases(run)
    if len(pt) and one_level(run.ceilings()[0]):
        pt["circuit"] = "one level"
    return pt


def one_level(ceilings: dict) -> bool:
    levels = [ceilings[k] for k in ("ignore", "labels", "pairs")]
    return max(levels) - min(levels) < 0.01


def diverged_at(run) -> int | None:
    """The first evaluated step whose loss is not finite (training diverged), or None."""
    loss = run.metrics[run.metrics.metric == "loss"]
    bad = loss[~np.isfinite(loss.value)]
    return int(bad.step.min()) if len(bad) else None


def plateaus(run) -> list[tuple[str, float]]:
    """(circuit, accuracy level) of each plateau of a single-member run, in order."""
    pt = member_phases(run)
    return list(zip(pt.circuit, pt.acc)) if len(pt) else []


def clock_frame(*rates: SweepRuns) -> pd.DataFrame:
    """Accuracy of every member of sweeps trained at different learning rates on the paper's
    clock: columns ``step``, ``value``, ``clock`` (step x lr / 0.01), ``label``, ``seed``, ``lr``
    (as text, ``lr 0.1``); step 0 left out (the clock is drawn on a log scale)."""
    parts = []
    for sr in rates:
        for m, r in sr.pairs():
            lr = m.config.train.lr
            d = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean().reset_index()
            d = d[d.step > 0]
            parts.append(d.assign(clock=paper_clock(d.step, lr), label=m.label, seed=m.seed, lr=f"lr {lr:g}"))
    return pd.concat(parts, ignore_index=True)


def moved_at(x, y, moved: float = 0.1) -> float | None:
    """The first `x` (in increasing order) at which `y` has moved `moved` of its range away from
    its first value: where a curve starts to change. None for a flat or too short curve."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    span = y.max() - y.min()
    away = np.nonzero(np.abs(y - y[0]) >= moved * span)[0] if span > 0 else []
    return float(x[away[0]]) if len(away) else None


def nearest_snapshot(steps: np.ndarray, step: int) -> int:
    """Index of the attention snapshot whose step is nearest `step` on a log scale."""
    return int(np.argmin(np.abs(np.log(np.maximum(steps, 1)) - math.log(max(step, 1)))))


def early_step(run) -> int:
    pt = run_phases(run)
    if len(pt):
        p = pt[pt.circuit == "SCC"].iloc[0] if (pt.circuit == "SCC").any() else pt.iloc[0]
        return int(math.sqrt(max(p.start, 1) * max(p.end, 1)))

    acc = run.metrics[run.metrics.metric == "acc"].sort_values("step")
    half = (acc.value.iloc[0] + final_value(run.metrics)) / 2
    return first_step(run.metrics, half) or int(acc.step.iloc[-1])


def plateau_middle(start: float, end: float) -> float:
    """The middle of a plateau on a log-step axis (the geometric mean of its ends, step 0 as 1)."""
    return math.sqrt(max(start, 1) * max(end, 1))


def shuffled_plateaus(run, seed: int) -> pd.DataFrame:
    """The first plateau of each circuit of one seed (`member_phases` order), shifted by one place so
    that the order gives nothing away: columns ``map`` (A, B, C...), ``circuit``, ``step`` (the
    plateau's middle, `plateau_middle`). The exercise's maps and its answer key both read this."""
    pt = run_phases(run)
    mine = pt[pt.seed == seed].drop_duplicates("circuit")
    order = np.roll(np.arange(len(mine)), 1)
    return pd.DataFrame([{"map": "ABCDEFGH"[col], "circuit": mine.iloc[i].circuit,
                          "step": plateau_middle(mine.iloc[i].start, mine.iloc[i].end)} for col, i in enumerate(order)])


# ------------------------------------------------------------- one seed of a run, as claims read it

_CURVES: dict[tuple, tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]] = {}


def _series(run, seed: int, metric: str, layer: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Evaluated steps and values (mean over heads) of one metric of one seed, computed once per
    metrics table, seed, metric and layer (cached like `stretches`; read-only, every caller shares
    them)."""
    key = (id(run.metrics), seed, metric, layer)
    if key not in _CURVES:
        m = run.metrics
        m = m[(m.metric == metric) & (m.seed == seed)]
        if layer is not None:
            m = m[m.layer == layer]
        a = m.groupby("step").value.mean()
        steps, values = a.index.to_numpy().copy(), a.to_numpy().copy()
        steps.setflags(write=False)
        values.setflags(write=False)
        _CURVES[key] = (run.metrics, (steps, values))
    return _CURVES[key][1]


def acc_curve(run, seed: int, metric: str = "acc") -> tuple[np.ndarray, np.ndarray]:
    """Evaluated steps and accuracy (mean over heads) of one seed of a run, step 0 left out."""
    steps, values = _series(run, seed, metric)
    return steps[steps > 0], values[steps > 0]


def ceilings_of(run, seed: int) -> dict:
    """The Bayes ceilings of one seed's data draw."""
    return next(c for c in run.ceilings() if c["seed"] == seed)


_STRETCHES: dict[tuple, tuple[pd.DataFrame, list[R.Stretch]]] = {}


def stretches(run, seed: int, reading: str, metric: str = "acc") -> list[R.Stretch]:
    """One seed's plateaus of `metric` (an accuracy) under `reading`, computed once per metrics table,
    seed, reading and metric (the cache holds the table it was computed from, so its id cannot be
    reused while cached)."""
    key = (id(run.metrics), seed, reading, metric, R.fingerprint(reading))
    if key not in _STRETCHES:
        steps, acc = acc_curve(run, seed, metric)
        _STRETCHES[key] = (run.metrics, R.read(reading, steps, acc, ceilings_of(run, seed)))
    return _STRETCHES[key][1]


def circuits_seen(run, seed: int, reading: str) -> list[str]:
    """The circuits of one seed's plateaus under `reading`, in order, each named once."""
    return list(dict.fromkeys(R.circuits(stretches(run, seed, reading), ceilings_of(run, seed))))


def longest_plateau(run, seed: int, reading: str, circuit: str) -> R.Stretch | None:
    """The longest plateau of one seed that sits at `circuit`'s level under `reading` (None: none)."""
    ceil = ceilings_of(run, seed)
    found = [s for s in stretches(run, seed, reading) if R.circuits([s], ceil)[0] == circuit]
    return max(found, key=lambda s: s.end - s.start) if found else None


def window_value(run, seed: int, metric: str, layer: int | None, start: int, end: int) -> float:
    """Median of a metric (mean over heads) over the evaluations in [start, end]."""
    steps, values = _series(run, seed, metric, layer)
    inside = values[(steps >= start) & (steps <= end)]
    return float(np.median(inside)) if len(inside) else float("nan")
