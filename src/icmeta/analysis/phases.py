"""Phases from the accuracy curve: plateaus and the rises between them (the paper's ΔAcc rule, Fig. 3; decision A6 of the reproduction-notes chapter).

The paper's rule: ΔAcc(t) = Acc(t + Δt) - Acc(t) with Δt = 100 steps, a boundary wherever
ΔAcc > 0.025. A fixed Δt ties the rule to the learning rate (the events of this training
move as 1/lr, as the reproduction-notes chapter measures) and, at a high learning rate, to SGD noise: the model's accuracy
moves by more than 0.025 within a few steps now and then, then recovers. And a threshold on
the rise alone misses a plateau whose next rise is slow (the SCC → FCC climb of some seeds
rises by ≈0.5 per decade of steps, never 0.025 per cell), or finds one inside a smooth
S-curve wherever noise pushes a single cell over the line.

This project therefore reads the phases the way a reader reads the paper's log-step plots:
a **plateau is where the curve flattens between two rises**. Steps:

1. Accuracy is summarised on a **log-step grid** t_i = 10^(i/40) (40 per decade; each point
   the median of the evaluations within half a grid cell) and ΔAcc_i = Acc(t_{i+1}) - Acc(t_i)
   is the paper's ΔAcc on that grid (at t ≈ 1,700 steps a cell is 100 steps, the paper's Δt).
   The grid does not depend on the learning rate.
2. The **slope** s_i is the ΔAcc per cell of a straight line fitted around each grid point
   with Gaussian weights of `smooth` = 2 cells (0.05 decade) in log steps (a local linear
   fit: inside a densely evaluated curve, the Gaussian-smoothed curve and its derivative).
   It is computed on the real log spacing of the points: at small steps many cells hold no
   evaluation (at lr 0.01 with Δt = 100 there is one evaluation per 2–12 cells below 1,700
   steps), and neighbouring points there are several cells apart; there the weights widen
   to reach the `NEIGHBOURS` = 3rd nearest point, so that no slope rests on two noisy
   evaluations. At the ends of the run the fit is one-sided, so a run cut in the middle of
   a rise does not end on a plateau.
3. A **plateau** is a local minimum of the slope that is flat (s ≤ `flat` = 0.015 per cell,
   0.6 per decade of steps) and clearly flatter than the rises around it: the steepest slope
   on each side, up to the next point flatter than this one, is at least `rise_ratio` = 1.5
   times s, and at least `min_rise` = 0.01 per cell (0.4 per decade; noise is not a rise).
   A plateau the run ends on (the smoothed curve gains less than `end_tolerance` = 0.05
   after it) needs a rise on its left only, one the run starts on a rise on its right
   only. The plateau spans the cells around the minimum whose slope is below halfway to the
   rise, up to the nearest peak of the slope that is itself steep enough to be a rise. Its
   **window** is the evaluated steps in that span (first to last); its level is their median
   accuracy, and `phase_table` takes the circuit metrics over the same window.
4. Two plateaus whose levels differ by less than `min_jump` (0.05), or whose spans overlap,
   are one: its window spans both and its level is the median over that window (a boundary
   must raise the accuracy). Plateaus below `floor` are the time before learning, not
   phases: `run_phases` sets the floor with `floor` (three quarters of the Bayes-ideal
   accuracy of a model that ignores the context, the level NCC can reach), so the slow rise
   from chance (1/L) while the model learns which labels a class can take is not a phase;
   the same rule names a plateau "pre" in `nearest_strategy`.
5. The **transition** between two plateaus runs from the end of one to the start of the
   next; its start is the phase boundary.

A smooth S-curve without a shoulder has no plateau in its middle, however long it takes;
a shoulder where the curve slows to less than two thirds of its rise on both sides is one,
at any learning rate. The paper's linear ΔAcc is still computed (`delta_acc`) and drawn in
Fig. 3 with the raw grid ΔAcc and the slope.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PER_DECADE = 40
THRESHOLD = 0.025  # the paper's ΔAcc threshold, drawn for reference in Fig. 3
FLAT = 0.015  # a plateau's slope at most this per grid cell (0.6 per decade)
RISE_RATIO = 1.5  # the rises on both sides at least this many times steeper
MIN_RISE = 0.01  # and at least this steep, per grid cell (0.4 per decade)
SMOOTH = 2.0  # Gaussian smoothing of the grid curve, in cells
MIN_JUMP = 0.05  # neighbouring plateaus closer than this are one
NEIGHBOURS = 3  # the local fit's width covers at least this many neighbours on sparse grids
END_TOLERANCE = 0.05  # a run "ends (starts) on a plateau" if it gains less than this after (before) it
FLOOR_FRACTION = 0.75  # below this fraction of the context-ignored ceiling: before learning, not a phase


@dataclass
class Phase:
    start: int  # first evaluated step of the plateau's window
    end: int  # last evaluated step of the plateau's window
    acc: float  # median accuracy of the evaluations in [start, end]


@dataclass
class Phases:
    grid: np.ndarray  # log-grid steps where accuracy was summarised
    grid_acc: np.ndarray  # accuracy at the grid steps (median within each cell)
    delta_acc: np.ndarray  # ΔAcc between consecutive grid steps (len(grid) - 1)
    slope: np.ndarray  # ΔAcc per cell of the smoothed curve, at the grid steps
    phases: list[Phase]

    @property
    def transitions(self) -> list[tuple[int, int]]:
        """(first, last) step of each rise between two plateaus."""
        return [(a.end, b.start) for a, b in zip(self.phases[:-1], self.phases[1:])]

    @property
    def boundaries(self) -> list[int]:
        """The step at which each transition between two phases begins."""
        return [t[0] for t in self.transitions]


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


def smoothed_slope(grid_acc: np.ndarray, x: np.ndarray | None = None, smooth: float = SMOOTH) -> tuple[np.ndarray, np.ndarray]:
    """(smoothed accuracy, its slope in ΔAcc per grid cell): a local linear fit at each point.

    Args:
        grid_acc: accuracy at the grid points.
        x: their positions in grid cells (log10(step) * per_decade); consecutive cells by
            default. Gaps (cells without an evaluation) count at their real width.
        smooth: width of the Gaussian weights, in cells (at least the distance to the
            `NEIGHBOURS`-th nearest point).

    At each point a straight line is fitted to the curve with Gaussian weights in x; its
    value and slope there are returned. Inside a densely evaluated curve this is the
    Gaussian-smoothed curve and its derivative; at the ends the fit is one-sided, so a run
    that ends (or starts) in the middle of a rise shows that rise rather than a flat end.
    """
    v = np.asarray(grid_acc, dtype=float)
    x = np.arange(len(v), dtype=float) if x is None else np.asarray(x, dtype=float)
    if len(v) < 2:
        return v.copy(), np.zeros_like(v)
    # where evaluations are sparse (a point every few cells) the width grows to the distance of
    # the NEIGHBOURS-th nearest point, so that every fit rests on several evaluations
    dist = np.abs(x[:, None] - x[None, :])
    k = min(NEIGHBOURS, len(x) - 1)
    width = np.maximum(smooth, np.sort(dist, axis=1)[:, k])
    w = np.exp(-0.5 * (dist / width[:, None]) ** 2)  # [point, neighbour]
    sw = w.sum(1)
    xm, vm = (w * x).sum(1) / sw, (w * v).sum(1) / sw
    dx = x[None, :] - xm[:, None]
    slope = (w * dx * (v[None, :] - vm[:, None])).sum(1) / (w * dx**2).sum(1)
    return vm + slope * (x - xm), slope


def detect(
    steps: np.ndarray,
    acc: np.ndarray,
    per_decade: int = PER_DECADE,
    flat: float = FLAT,
    rise_ratio: float = RISE_RATIO,
    min_rise: float = MIN_RISE,
    smooth: float = SMOOTH,
    min_jump: float = MIN_JUMP,
    end_tolerance: float = END_TOLERANCE,
    floor: float | None = None,
) -> Phases:
    """Split an accuracy curve into plateaus (phases) and the rises between them (see above).

    Args:
        steps, acc: evaluated steps (increasing) and the accuracy there.
        per_decade: log-grid points per decade of steps.
        flat: a plateau's smoothed slope is at most this (ΔAcc per grid cell).
        rise_ratio: the steepest slope on each side of a plateau is at least this times its own.
        min_rise: ... and at least this (ΔAcc per grid cell): noise is not a rise.
        smooth: Gaussian smoothing of the grid curve, in grid cells.
        min_jump: neighbouring plateaus closer than this in accuracy are one phase.
        end_tolerance: a plateau after which (before which) the smoothed curve moves less than
            this is one the run ends (starts) on, and needs a rise on one side only.
        floor: plateaus below this level are not phases (the time before learning).
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    if len(steps) < 2:
        raise ValueError("need at least two evaluated steps to detect phases")
    if len(steps) != len(acc):
        raise ValueError(f"steps and acc differ in length ({len(steps)} and {len(acc)})")
    grid, gacc = log_grid_accuracy(steps, acc, per_decade)
    d = np.diff(gacc)
    pos = grid > 0  # step 0 has no place on a log axis
    g, ga = grid[pos], gacc[pos]
    sm, s = smoothed_slope(ga, np.log10(g) * per_decade, smooth)
    slope = np.concatenate([np.full((~pos).sum(), np.nan), s])
    n = len(s)
    half_cell = 10 ** (0.5 / per_decade)

    def window(a: int, b: int) -> tuple[int, int, float]:
        """First and last evaluated step in cells a..b, and their median accuracy."""
        sel = (steps >= g[a] / half_cell) & (steps < g[b] * half_cell)
        return int(steps[sel][0]), int(steps[sel][-1]), float(np.median(acc[sel]))

    found: list[list] = []  # [first cell, last cell, minimum cell, level]
    for i in range(n):
        if not ((i == 0 or s[i] <= s[i - 1]) and (i == n - 1 or s[i] < s[i + 1]) and s[i] <= flat):
            continue
        lower_left = np.flatnonzero(s[:i] < s[i])
        lower_right = np.flatnonzero(s[i + 1:] < s[i])
        lo = lower_left[-1] if len(lower_left) else 0
        hi = i + 1 + lower_right[0] if len(lower_right) else n - 1
        left, right = s[lo:i + 1].max(), s[i:hi + 1].max()
        final = not len(lower_right) and sm[-1] - sm[i] < end_tolerance  # training ended on it
        initial = not len(lower_left) and sm[i] - sm[0] < end_tolerance  # training started on it
        rise = left if final else right if initial else min(left, right)
        if s[i] * rise_ratio > rise or rise < min_rise:
            continue
        # the span: cells whose slope is below halfway to the rise, not past a peak of the
        # slope that is itself a rise (steeper than min_rise and rise_ratio times s)
        half, peak = (s[i] + rise) / 2, max(min_rise, rise_ratio * s[i])
        a, b = i, i
        while a > 0 and s[a - 1] < half and not (s[a - 1] >= peak and a >= 2 and s[a - 2] <= s[a - 1]):
            a -= 1
        while b < n - 1 and s[b + 1] < half and not (s[b + 1] >= peak and b + 2 < n and s[b + 2] <= s[b + 1]):
            b += 1
        level = window(a, b)[2]
        if floor is not None and level < floor:
            continue
        if found and (a <= found[-1][1] or abs(level - found[-1][3]) < min_jump):
            # one plateau: the window spans both, the level is the median over it
            pa, pb, pi, _ = found[-1]
            a, b = min(a, pa), max(b, pb)
            found[-1] = [a, b, i if s[i] < s[pi] else pi, window(a, b)[2]]
            continue
        found.append([a, b, i, level])
    phases = [Phase(*window(a, b)) for a, b, _, _ in found]
    return Phases(grid=grid, grid_acc=gacc, delta_acc=d, slope=slope, phases=phases)


def phase_table(metrics: pd.DataFrame, floors: dict | None = None, **kwargs) -> pd.DataFrame:
    """Table 1 from measurements: one row per (run, seed, phase).

    Args:
        metrics: the long metrics table of a run (columns run, seed, step, metric, layer,
            head, value).
        floors: {(run, seed): floor} passed to `detect` per member.
        kwargs: passed to `detect`.
    Returns:
        columns member, seed, phase (1-based), start, end, acc, and the median over the
        plateau's window (or, if no full measurement falls inside it, at the nearest measured
        step) of rla and of each circuit metric per layer (head-averaged), e.g.
        ``bigram_L1``, ``label_attention_L2``. No plateau: no rows (with these columns).
    """
    rows = []
    for (member, seed), df in metrics.groupby(["member", "seed"], sort=True):
        acc = df[df.metric == "acc"].sort_values("step")
        floor = (floors or {}).get((member, seed))
        ph = detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=floor, **kwargs)
        circ = df[df.metric.isin(["bigram", "label_attention", "chunk_example", "rla"])]
        circ = circ.groupby(["metric", "layer", "step"], dropna=False).value.mean().reset_index()
        for i, p in enumerate(ph.phases, 1):
            inside = circ[(circ.step >= p.start) & (circ.step <= p.end)]
            if inside.empty:
                mid = np.sqrt(max(p.start, 1) * max(p.end, 1))
                nearest = circ.step.iloc[int(np.argmin(np.abs(np.log(circ.step.clip(lower=1)) - np.log(mid))))]
                inside = circ[circ.step == nearest]
            row = {"member": member, "seed": seed, "phase": i, "start": p.start, "end": p.end, "acc": p.acc}
            for (m, layer), g in inside.groupby(["metric", "layer"], dropna=False):
                name = m if pd.isna(layer) else f"{m}_L{int(layer)}"
                row[name] = float(g.value.median())
            rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["member", "seed", "phase", "start", "end", "acc"])


STRATEGY_CIRCUIT = {"ignore": "NCC", "labels": "SCC", "pairs": "FCC"}


def floor(ceilings: dict) -> float:
    """The level below which a plateau is the time before learning, not a phase:
    `FLOOR_FRACTION` (three quarters) of the Bayes-ideal accuracy of a model that ignores the context."""
    return FLOOR_FRACTION * ceilings["ignore"]


def nearest_strategy(acc: float, ceilings: dict) -> str:
    """The circuit a plateau stands for: the strategy whose Bayes-ideal accuracy (for this
    data draw) is nearest to the plateau's level — NCC (context ignored), SCC (labels only) or
    FCC (full pairs); "pre" below `floor` (still learning the candidates; `run_phases` never
    reports such a plateau). Ties go to the simpler strategy."""
    if acc < floor(ceilings):
        return "pre"
    best = min(STRATEGY_CIRCUIT, key=lambda k: abs(acc - ceilings[k]))
    return STRATEGY_CIRCUIT[best]


def run_phases(run, **kwargs) -> pd.DataFrame:
    """Table 1 from measurements (`phase_table` of a stored run), with the ``circuit`` each
    plateau stands for (the nearest Bayes ceiling of that member's data draw)."""
    ceil = {(c["label"], c["seed"]): c for c in run.ceilings()}
    table = phase_table(run.metrics, floors={k: floor(c) for k, c in ceil.items()}, **kwargs)
    if len(table):
        table["circuit"] = [nearest_strategy(r.acc, ceil[(r.member, r.seed)]) for r in table.itertuples()]
    return table


def run_floors(run) -> dict[tuple[str, int], float]:
    """Per member of a stored run: the level below which a plateau is not a phase (`floor`)."""
    return {(c["label"], c["seed"]): floor(c) for c in run.ceilings()}
