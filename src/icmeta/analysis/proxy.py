"""How closely `fast` (lr 0.1, batch 64) stands in for the paper's own settings (lr 0.01, batch 128).

Every `fast` verdict of the book rests on events moving as 1/lr: a step at lr 0.1 is ten steps at
lr 0.01 on the paper's clock (`icmeta.analysis.summaries.paper_clock`). This module measures it,
per seed, on the same seed's two runs (the same data draw and initial weights; another batch size
and training stream). Fixed here before any paper-settings run was read:

- Both accuracy curves are smoothed on one log grid of the paper's clock, `PER_DECADE` points per
  decade from `START` on: each grid value is the mean of the evaluations within `HALF_WIDTH`
  decades of it (a single evaluation of 1,024 sequences has a standard error up to 0.016); a
  grid point whose window passes the run's last evaluation is left out.
- **gap**: the largest absolute difference of the smoothed curves over the grid points both runs
  have reached, and the step at which it falls.
- **ratio at a level** (`LEVELS`): the step at which the paper-settings curve first reaches the
  level (between grid points, interpolated in log-step), divided by the same for the `fast` curve (1 = the same clock
  time; 2 = the paper's settings take twice as long). Not measured where a run has not reached it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .summaries import paper_clock

LEVELS = (0.3, 0.5, 0.75, 0.95)
PER_DECADE = 20
HALF_WIDTH = 0.05  # decades each side of a grid point
START = 100  # clock steps: the first grid point (fast's 10th step)


def smoothed(steps, acc, lr: float, end: float | None = None) -> pd.Series:
    """Accuracy on the log grid of the paper's clock (`PER_DECADE` per decade from `START` to the
    run's last step, or `end`), each point the mean of the evaluations within `HALF_WIDTH`
    decades; indexed by the clock step."""
    clock = np.asarray(paper_clock(np.asarray(steps, dtype=float), lr), dtype=float)
    acc = np.asarray(acc, dtype=float)
    keep = clock > 0
    clock, acc = clock[keep], acc[keep]
    last = (clock.max() if end is None else min(end, clock.max())) / 10 ** HALF_WIDTH  # whole windows only
    n = int(np.floor(PER_DECADE * np.log10(last / START) + 1e-9)) + 1
    grid = START * 10 ** (np.arange(max(n, 0)) / PER_DECADE)
    lc = np.log10(clock)
    vals = [acc[np.abs(lc - np.log10(g)) <= HALF_WIDTH].mean() if (np.abs(lc - np.log10(g)) <= HALF_WIDTH).any()
            else np.nan for g in grid]
    return pd.Series(vals, index=np.round(grid).astype(int), name="acc")


def first_reach(curve: pd.Series, level: float) -> float:
    """The first step at which `curve` reaches `level`, interpolated in log-step between the grid
    points around the crossing; NaN if it never does."""
    c = curve.dropna()
    above = np.flatnonzero(c.to_numpy() >= level)
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(c.index[0])
    (s0, s1), (a0, a1) = c.index[i - 1:i + 1], c.to_numpy()[i - 1:i + 1]
    t = (level - a0) / (a1 - a0)
    return float(10 ** (np.log10(s0) + t * (np.log10(s1) - np.log10(s0))))


def compare(paper: pd.DataFrame, fast: pd.DataFrame, lr_paper: float, lr_fast: float) -> dict:
    """One seed: `paper` and `fast` are its accuracy rows (columns ``step``, ``value``)."""
    p = smoothed(paper.step, paper.value, lr_paper)
    f = smoothed(fast.step, fast.value, lr_fast)
    both = p.index.intersection(f.index)
    diff = (p[both] - f[both]).abs().dropna()
    out = {"paper steps": int(paper.step.max()), "gap": float(diff.max()) if len(diff) else float("nan"),
           "gap at (clock)": int(diff.idxmax()) if len(diff) else None}
    for level in LEVELS:
        a, b = first_reach(p, level), first_reach(f, level)
        out[f"ratio at {level:g}"] = a / b if np.isfinite(a) and np.isfinite(b) else float("nan")
    return out


def proxy_table(paper, fast) -> pd.DataFrame:
    """Per seed both runs have (`SweepRuns` of the main result at the paper's settings and at
    `fast`): the paper-settings run's steps, the largest smoothed gap and where it falls (paper's
    clock), and the ratio of the steps at which each reaches every level of `LEVELS`."""
    rows = []
    for m, r in paper.pairs():
        found = [rf for mf, rf in fast.pairs() if mf.seed == m.seed]
        if not found:
            continue
        rf = found[0]
        a = r.metrics[r.metrics.metric == "acc"].sort_values("step")
        b = rf.metrics[rf.metrics.metric == "acc"].sort_values("step")
        rows.append({"seed": m.seed, "status": r.info.get("status", "complete"),
                     **compare(a, b, r.config.train.lr, rf.config.train.lr)})
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict:
    """The table in a few numbers for the prose: seeds, the largest gap and its median, and the
    range of each level's ratio over the seeds that reached it."""
    out = {"proxy_seeds": len(table),
           "proxy_gap_max": f"{table.gap.max():.2f}" if len(table) else "–",
           "proxy_gap_median": f"{table.gap.median():.2f}" if len(table) else "–"}
    for level in LEVELS:
        col = table[f"ratio at {level:g}"].dropna() if len(table) else pd.Series(dtype=float)
        key = f"proxy_ratio_{int(level * 100)}"
        out[key] = f"{col.min():.2f}–{col.max():.2f}" if len(col) > 1 else f"{col.iloc[0]:.2f}" if len(col) else "not reached"
        out[key + "_n"] = len(col)
    out["proxy_ratios"] = "; ".join(
        f"{level:g}: {out[f'proxy_ratio_{int(level * 100)}']}"
        + (f" ({out[f'proxy_ratio_{int(level * 100)}_n']} of {len(table)} seeds)" if out[f"proxy_ratio_{int(level * 100)}_n"] else "")
        for level in LEVELS)
    return out


def progress_summary(progress, root=None) -> dict:
    """The queue's main result as the page shows it, in words and numbers for the prose: when it
    was frozen, seeds shown and finished, the steps of those still training, the measured rate
    per seed (steps trained over their wall time, pooled over the seeds) and what the claims'
    lr 0.01 column reads now."""
    from ..experiments import queue as Q
    from ..experiments.load import MIN_QUEUE_SEEDS, load_archived_paper_run, load_main_rates

    runs = [r for _, r in progress.pairs()]
    pending = [r.last_step for r in runs if r.info.get("status") != "complete"]
    timed = [r for r in runs if r.info.get("wall_time_s")]
    wall = sum(r.info["wall_time_s"] for r in timed)
    rate = sum(r.info["steps_done"] for r in timed) / wall if wall else float("nan")  # pooled over the seeds
    steps = runs[0].config.train.steps if runs else 0
    column = load_main_rates(root).get("lr 0.01")
    reads = column is not None and column.sweep.name == progress.sweep.name
    frozen = Q.read_shown(None if root is None else f"{root}/queue")["frozen_utc"] or "–"
    return {"queue_frozen": frozen[:10], "queue_shown": len(runs),
            "queue_done": sum(r.info.get("status") == "complete" for r in runs),
            "queue_pending_steps": (min(pending), max(pending)) if pending else "none",
            "queue_rate": f"{rate:.0f}", "queue_hours_per_seed": f"{steps / rate / 3600:.1f}" if wall else "–",
            "queue_min_seeds": MIN_QUEUE_SEEDS, "queue_archived_steps": load_archived_paper_run(root).last_step,
            "queue_column": "reads these runs" if reads else "still reads the archived run"}
