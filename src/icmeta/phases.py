"""Phase boundaries from accuracy jumps (PAPER.md §5, §7 A6).

The paper's rule: ΔAcc(t) = Acc(t + Δt) - Acc(t) with Δt = 100 steps, a boundary wherever
ΔAcc > 0.025. A fixed Δt ties the rule to the learning rate (the events of this training
move as 1/lr, PAPER.md §9) and, at a high learning rate, to SGD noise: the model's accuracy
moves by more than 0.025 within a few steps now and then, then recovers.

This project applies the same threshold on a **log-step grid** (`delta_acc_log`): accuracy
is summarised at grid points t_i = 10^(i/40) (40 per decade; each point the median of the
evaluations within half a grid cell, which also averages out SGD noise), and
ΔAcc_i = Acc(t_{i+1}) - Acc(t_i). At t ≈ 1,700 steps one grid cell is 100 steps, so the rule
coincides there with the paper's Δt = 100; elsewhere it scales with t, and it does not depend
on the learning rate. Grid cells with ΔAcc_i > 0.025 are transitions, neighbouring ones
(closer than `merge_decades`) one transition; the stretches between them are the phases.
Two neighbouring phases whose plateau levels differ by less than `min_jump` (0.05) are one
phase: a boundary must raise the plateau. A phase's plateau level is the median accuracy
over its last quarter (in log steps) — the level at which the curve waits for the next jump.
A first stretch below `floor` is the time before learning, not a phase: `Run.phases` sets
the floor to half the Bayes-ideal accuracy of a model that ignores the context (the level the
first phase, NCC, can reach), so the slow rise from chance (1/L) while the model learns which
labels a class can take is not counted as a plateau. The paper's linear ΔAcc is still computed (`delta_acc`) and drawn in Fig. 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PER_DECADE = 40
THRESHOLD = 0.025


@dataclass
class Phase:
    start: int  # first step of the plateau
    end: int  # last step of the plateau
    acc: float  # median accuracy over the last quarter (log steps) of the plateau


@dataclass
class Phases:
    grid: np.ndarray  # log-grid steps where accuracy was summarised
    grid_acc: np.ndarray  # accuracy at the grid steps (median within each cell)
    delta_acc: np.ndarray  # ΔAcc between consecutive grid steps (len(grid) - 1)
    transitions: list[tuple[int, int]]  # (first, last) step of each transition
    phases: list[Phase]

    @property
    def boundaries(self) -> list[int]:
        """The step at which each transition between two phases begins."""
        return [t[0] for t in self.transitions]


def tail_start(start: int, end: int) -> float:
    """First step of the last quarter (in log steps) of [start, end]."""
    a, b = np.log10(max(start, 1)), np.log10(max(end, 1))
    return max(float(start), 10 ** (b - 0.25 * (b - a)))


def delta_acc(steps: np.ndarray, acc: np.ndarray, delta_t: int) -> np.ndarray:
    """The paper's ΔAcc(t) = Acc(t + Δt) - Acc(t) at every evaluated step t (NaN where undefined)."""
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    index = {s: i for i, s in enumerate(steps.tolist())}
    out = np.full(len(steps), np.nan)
    for i, s in enumerate(steps.tolist()):
        j = index.get(s + delta_t)
        if j is not None:
            out[i] = acc[j] - acc[i]
    return out


def log_grid_accuracy(steps: np.ndarray, acc: np.ndarray, per_decade: int = PER_DECADE) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy summarised on a log-step grid: (grid steps, median accuracy in each cell).

    Cells without an evaluation are dropped; step 0 is kept as the first point.
    """
    steps, acc = np.asarray(steps, dtype=float), np.asarray(acc, dtype=float)
    pos = steps > 0
    if not pos.any():
        return steps[:1], acc[:1]
    lo, hi = np.log10(steps[pos].min()), np.log10(steps[pos].max())
    centers = 10 ** (np.arange(np.floor(lo * per_decade), np.ceil(hi * per_decade) + 1) / per_decade)
    half = 10 ** (0.5 / per_decade)
    grid, vals = [], []
    if (~pos).any():
        grid.append(0.0)
        vals.append(float(np.median(acc[~pos])))
    for c in centers:
        sel = pos & (steps >= c / half) & (steps < c * half)
        if sel.any():
            grid.append(c)
            vals.append(float(np.median(acc[sel])))
    return np.array(grid), np.array(vals)


def delta_acc_log(steps: np.ndarray, acc: np.ndarray, per_decade: int = PER_DECADE) -> tuple[np.ndarray, np.ndarray]:
    """ΔAcc on the log grid: (grid steps t_i, Acc(t_{i+1}) - Acc(t_i)) for i < n - 1."""
    g, a = log_grid_accuracy(steps, acc, per_decade)
    return g[:-1], np.diff(a)


def detect(
    steps: np.ndarray,
    acc: np.ndarray,
    threshold: float = THRESHOLD,
    per_decade: int = PER_DECADE,
    merge_decades: float = 0.1,
    min_phase_decades: float = 0.15,
    min_jump: float = 0.05,
    floor: float | None = None,
) -> Phases:
    """Split an accuracy curve into plateaus separated by ΔAcc jumps on a log-step grid.

    Args:
        steps, acc: evaluated steps (increasing) and the accuracy there.
        threshold: the paper's 0.025, per grid cell (1/40 decade).
        merge_decades: transition cells closer than this (in decades) join one transition.
        min_phase_decades: shorter plateaus between transitions are absorbed into them.
        min_jump: neighbouring plateaus closer than this in accuracy are one phase.
        floor: leading stretches whose level is below this are not phases (see above).
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    if len(steps) < 2:
        raise ValueError("need at least two evaluated steps to detect phases")
    grid, gacc = log_grid_accuracy(steps, acc, per_decade)
    d = np.diff(gacc)
    first, last = int(steps[0]), int(steps[-1])
    lg = lambda x: np.log10(max(float(x), 1.0))
    transitions: list[list[int]] = []
    for i in np.flatnonzero(d > threshold):
        a, b = int(round(grid[i])), int(round(grid[i + 1]))
        if transitions and lg(a) - lg(transitions[-1][1]) <= merge_decades:
            transitions[-1][1] = b
        else:
            transitions.append([a, b])

    def plateaus(trans: list[list[int]]) -> list[Phase]:
        """Phases between transitions, each with the median accuracy of its last quarter."""
        edges = [first] + [x for t in trans for x in t] + [last]
        out = []
        for a, b in zip(edges[0::2], edges[1::2]):
            sel = (steps >= tail_start(a, b)) & (steps <= b)
            if not sel.any():
                sel = (steps >= a) & (steps <= b)
            out.append(Phase(start=a, end=b, acc=float(np.median(acc[sel])) if sel.any() else float("nan")))
        return out

    def length(p: Phase) -> float:
        return lg(p.end) - lg(p.start)

    while transitions:
        ph = plateaus(transitions)
        inner_short = [i for i in range(1, len(ph) - 1) if length(ph[i]) < min_phase_decades]
        if inner_short:  # a plateau too short between two transitions: join them
            i = inner_short[0]
            transitions[i - 1][1] = transitions[i][1]
            del transitions[i]
            continue
        small = [(abs(ph[i + 1].acc - ph[i].acc), i) for i in range(len(transitions))
                 if not (abs(ph[i + 1].acc - ph[i].acc) >= min_jump)]
        if not small:
            break
        del transitions[min(small)[1]]
    ph = plateaus(transitions)
    # a first stretch at chance or too short to be a plateau is the time before learning
    while len(ph) > 1 and (length(ph[0]) < min_phase_decades or (floor is not None and ph[0].acc < floor)):
        ph = ph[1:]
        transitions = transitions[1:]
    return Phases(grid=grid, grid_acc=gacc, delta_acc=d, transitions=[tuple(t) for t in transitions], phases=ph)


def phase_table(metrics: pd.DataFrame, floors: dict | None = None, **kwargs) -> pd.DataFrame:
    """Table 1 from measurements: one row per (run, seed, phase).

    Args:
        metrics: the long metrics table of a run (columns run, seed, step, metric, layer,
            head, value).
        floors: {(run, seed): floor} passed to `detect` per member.
        kwargs: passed to `detect`.
    Returns:
        columns run, seed, phase (1-based), start, end, acc, and the median over the last
        quarter of the phase (log steps) of rla and of each circuit metric per layer
        (head-averaged), e.g. ``bigram_L1``, ``label_attention_L2``.
    """
    rows = []
    for (run, seed), df in metrics.groupby(["run", "seed"], sort=True):
        acc = df[df.metric == "acc"].sort_values("step")
        floor = (floors or {}).get((run, seed))
        ph = detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=floor, **kwargs)
        circ = df[df.metric.isin(["bigram", "label_attention", "chunk_example", "rla"])]
        circ = circ.groupby(["metric", "layer", "step"], dropna=False).value.mean().reset_index()
        for i, p in enumerate(ph.phases, 1):
            inside = circ[(circ.step >= tail_start(p.start, p.end)) & (circ.step <= p.end)]
            row = {"run": run, "seed": seed, "phase": i, "start": p.start, "end": p.end, "acc": p.acc}
            for (m, layer), g in inside.groupby(["metric", "layer"], dropna=False):
                name = m if pd.isna(layer) else f"{m}_L{int(layer)}"
                row[name] = float(g.value.median())
            rows.append(row)
    return pd.DataFrame(rows)


STRATEGY_CIRCUIT = {"ignore": "NCC", "labels": "SCC", "pairs": "FCC"}


def nearest_strategy(acc: float, ceilings: dict) -> str:
    """The circuit a plateau stands for: the strategy whose Bayes-ideal accuracy (for this
    data draw) is nearest to the plateau's level — NCC (context ignored), SCC (labels only) or
    FCC (full pairs); "pre" below three quarters of the context-ignored ceiling (still learning
    the candidates). Ties go to the simpler strategy."""
    if acc < 0.75 * ceilings["ignore"]:
        return "pre"
    best = min(STRATEGY_CIRCUIT, key=lambda k: abs(acc - ceilings[k]))
    return STRATEGY_CIRCUIT[best]
