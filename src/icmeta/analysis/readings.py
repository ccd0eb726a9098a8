"""Four readings of one accuracy curve, and the continuous quantities that do not need any.

Where a curve "pauses" is a judgement: the paper reads its plateaus by eye on a log-step axis.
A count of plateaus can flip with the rule used to read them, so every claim of the book is
evaluated under four reasonable rules, stated here before any claim is read:

- ``detector``: the project's phase detector (`icmeta.analysis.phases.detect`): a plateau is a
  flat local minimum of the smoothed log-step slope between two rises at least 1.5x steeper.
- ``flat``: a flat-band rule: accuracy smoothed by a running median of `WINDOW` evaluations;
  a plateau is a stretch whose smoothed accuracy stays within a band of `BAND` (max - min)
  over at least `MIN_SPAN` of the run's log-step axis. It finds every pause, shoulders and
  slow climbs included.
- ``shoulder``: a flat-band stretch that is also clearly flatter than its surroundings: the
  rise inside it is at most `SHOULDER_RATIO` (one half) of the rise over an equal log-width on
  each side (on one side only where the run starts or ends on it). A slow steady climb is not
  a shoulder.
- ``steps``: a reading of another kind, which fits the curve's shape instead of thresholding
  it: accuracy (its median in bins of 1/`FIT_GRID` decade) is fitted by a constant plus 1 to
  `MAX_STEPS` logistic steps in log10(step), each with its own height, centre and width (least
  squares; the number of steps chosen by the Bayesian information criterion; started from the
  steepest pieces of the best piecewise-linear fit). A plateau is where the fitted curve's slope
  is at most `FLAT_FRACTION` of its steepest, over at least `MIN_SPAN` of the axis. A steady
  climb is fitted as one wide step whose slope never falls that far below its peak except
  before or after it.

All four leave out stretches below the floor (`icmeta.analysis.phases.floor`: the time before
learning) and name a stretch by the nearest Bayes ceiling of that run's own data draw
(`nearest_strategy`). Where a claim can be stated as a quantity instead of a count, it is:
`dwell` (how long accuracy stays near a level, in decades of log-step) and `first_reach` need
no reading at all.

A pause is flat (`flat_dwell`): time spent near a level is not enough, since a steady climb in
log-step slower than about 0.65 accuracy per decade stays within ±`BAND` of any level it
crosses for `MIN_SPAN` of a run. Near a level, the local slope of accuracy against log10(step)
(a least-squares line over `SLOPE_WINDOW` decades) must also be at most `FLAT_FRACTION` of the
same run's steepest local slope (its jumps): a plateau is an order of magnitude flatter than the
rises around it. Both were fixed before any claim was read with them; a steady climb at the
main runs' own median rate near the levels (about 0.3 per decade, against about 1.35 in the
jumps) is not a pause by this rule, and a flat stretch with the runs' evaluation noise is
(`tests/test_readings.py`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import phases as P
from .phases import floor, nearest_strategy

READINGS = ("detector", "flat", "shoulder", "steps")
WINDOW = 9  # evaluations in the running median
BAND = 0.06  # a flat stretch moves at most this much (max - min of the smoothed accuracy)
MIN_SPAN = 0.04  # ... over at least this fraction of the run's log-step axis
SHOULDER_RATIO = 0.5  # the rise inside a shoulder is at most this fraction of the rise around it
SLOPE_WINDOW = 0.2  # decades of log-step over which a local slope is fitted (flat_dwell)
FLAT_FRACTION = 0.1  # a pause's local slope is at most this fraction of the run's steepest one
SLOPE_GRID = 40  # points per decade at which local slopes are fitted
FIT_GRID = 20  # bins per decade of the fitted curve (steps)
MAX_STEPS = 4  # at most this many logistic steps (the paper's curve has three jumps)
MAX_PIECES = 9  # pieces of the piecewise-linear fit that starts it
MIN_PIECE = 3  # bins per piece at least


@dataclass(frozen=True)
class Stretch:
    """A plateau as one reading sees it: first and last evaluated step, median accuracy."""

    start: int
    end: int
    level: float


def smoothed(steps: np.ndarray, acc: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Accuracy smoothed by a centred running median over `window` evaluations."""
    return pd.Series(np.asarray(acc, dtype=float)).rolling(window, center=True, min_periods=1).median().to_numpy()


def _positive(steps, acc):
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    keep = (steps > 0) & np.isfinite(acc)
    return steps[keep], acc[keep]


def _widest(a: np.ndarray, band: float) -> np.ndarray:
    """For every i, the last j such that max(a[i..j]) - min(a[i..j]) <= band (two pointers with
    monotone queues: linear time)."""
    from collections import deque

    n, out = len(a), np.empty(len(a), dtype=int)
    lo, hi, j = deque(), deque(), 0  # indices of the window's candidates for min and max
    for i in range(n):
        if j < i:
            j = i
        while j < n:
            while lo and a[lo[-1]] >= a[j]:
                lo.pop()
            while hi and a[hi[-1]] <= a[j]:
                hi.pop()
            lo.append(j)
            hi.append(j)
            if a[hi[0]] - a[lo[0]] > band:  # a[j] does not fit: the window ends at j - 1
                if lo[-1] == j:
                    lo.pop()
                if hi and hi[-1] == j:
                    hi.pop()
                break
            j += 1
        out[i] = j - 1
        while lo and lo[0] <= i:
            lo.popleft()
        while hi and hi[0] <= i:
            hi.popleft()
    return out


def flat_stretches(steps, acc, band: float = BAND, min_span: float = MIN_SPAN, window: int = WINDOW,
                   low: float | None = None) -> list[Stretch]:
    """The flat-band reading: maximal stretches, left to right, whose smoothed accuracy stays
    within `band` over at least `min_span` of the log-step axis (a slow drift longer than the band
    is two stretches, side by side); none below `low` (the time before learning)."""
    steps, acc = _positive(steps, acc)
    if len(steps) < 2:
        return []
    a, x = smoothed(steps, acc, window), np.log10(steps)
    need = min_span * (x[-1] - x[0])
    last = _widest(a, band)
    spans, i, n = [], 0, len(x)
    while i < n - 1:
        j = last[i]
        if x[j] - x[i] >= need:
            level = float(np.median(acc[i:j + 1]))
            spans.append((i, j, level))
            i = j + 1
        else:
            i += 1
    return [Stretch(int(steps[i]), int(steps[j]), level) for i, j, level in spans if low is None or level >= low]


def shoulder_stretches(steps, acc, band: float = BAND, min_span: float = MIN_SPAN, window: int = WINDOW,
                       ratio: float = SHOULDER_RATIO, low: float | None = None) -> list[Stretch]:
    """The shoulder reading: the flat-band stretches whose inner rise is at most `ratio` times
    the rise over an equal log-width before and after them (the smaller of the two; only the
    side that exists where the stretch touches the start or the end of the run)."""
    steps_, acc_ = _positive(steps, acc)
    if len(steps_) < 2:
        return []
    a, x = smoothed(steps_, acc_, window), np.log10(steps_)

    def at(v: float) -> float:
        return float(np.interp(v, x, a))

    out = []
    for s in flat_stretches(steps_, acc_, band, min_span, window, low):
        xa, xb = math.log10(s.start), math.log10(s.end)
        w = xb - xa
        inner = at(xb) - at(xa)
        before = at(xa) - at(xa - w) if xa - w >= x[0] else None  # None: the run starts on it
        after = at(xb + w) - at(xb) if xb + w <= x[-1] else None  # None: the run ends on it
        sides = [r for r in (before, after) if r is not None]
        if sides and min(sides) > 0 and inner <= ratio * min(sides):
            out.append(s)
    return out


def detector_stretches(steps, acc, low: float | None = None) -> list[Stretch]:
    """The project's detector (`icmeta.analysis.phases.detect`) as stretches, with its parameters
    as they stand now (`varied` may have changed them)."""
    steps, acc = _positive(steps, acc)
    if len(steps) < 2:
        return []
    found = P.detect(steps, acc, flat=P.FLAT, rise_ratio=P.RISE_RATIO, min_rise=P.MIN_RISE, smooth=P.SMOOTH,
                     min_jump=P.MIN_JUMP, floor=low).phases
    return [Stretch(p.start, p.end, p.acc) for p in found]


def _line_costs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """cost[i, j]: residual sum of squares of the least-squares line through points i..j-1."""
    n = len(x)
    c = [np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones(n), x, y, x * x, x * y, y * y)]
    i, j = np.triu_indices(n + 1, 1)
    k, sx, sy, sxx, sxy, syy = (v[j] - v[i] for v in c)
    var_x = sxx - sx * sx / k
    cov = sxy - sx * sy / k
    rss = syy - sy * sy / k - np.divide(cov * cov, var_x, out=np.zeros_like(cov), where=var_x > 1e-12)
    cost = np.full((n + 1, n + 1), np.inf)
    cost[i, j] = np.maximum(rss, 0.0)
    return cost


def piecewise_fit(x: np.ndarray, y: np.ndarray, max_pieces: int = MAX_PIECES,
                  min_piece: int = MIN_PIECE) -> list[tuple[int, int]]:
    """The best piecewise-linear fit of y(x) (least squares, pieces of at least `min_piece` points):
    the pieces as index ranges [i, j), their number chosen by the Bayesian information criterion.
    The ``steps`` reading starts its fit from its steepest pieces."""
    n = len(x)
    cost = _line_costs(x, y)
    for a in range(n + 1):  # pieces shorter than min_piece are not allowed
        cost[a, a + 1:min(a + min_piece, n + 1)] = np.inf
    best, back = [np.full(n + 1, np.inf)], []
    best[0][0] = 0.0
    for _ in range(max_pieces):
        total = best[-1][:, None] + cost
        back.append(np.argmin(total, axis=0))
        best.append(total[back[-1], np.arange(n + 1)])
    bic = [n * math.log(max(best[k][n], 1e-12) / n) + (3 * k - 1) * math.log(n) for k in range(1, max_pieces + 1)]
    k = int(np.argmin(bic)) + 1
    pieces, j = [], n
    for step in range(k, 0, -1):
        i = int(back[step - 1][j])
        pieces.append((i, j))
        j = i
    return pieces[::-1]


def _logistic_steps(x, p):
    """A constant plus logistic steps: p = [a0, (height, centre, log width) per step]; the value
    and the Jacobian with respect to p."""
    value, jac = np.full_like(x, p[0]), [np.ones_like(x)]
    for h, c, lw in p[1:].reshape(-1, 3):
        w = math.exp(lw)
        z = np.clip((x - c) / w, -60, 60)
        sig = 1 / (1 + np.exp(-z))
        d = sig * (1 - sig)
        value = value + h * sig
        jac += [sig, -h * d / w, -h * d * z]
    return value, np.stack(jac, axis=1)


def fit_logistic_steps(x: np.ndarray, y: np.ndarray, start: np.ndarray, iters: int = 200) -> tuple[np.ndarray, float]:
    """Least-squares fit of `_logistic_steps` from `start` (Levenberg–Marquardt): (params, RSS)."""
    p, lam = start.astype(float), 1e-2
    f, J = _logistic_steps(x, p)
    rss = float(((f - y) ** 2).sum())
    for _ in range(iters):
        A = J.T @ J
        g = J.T @ (f - y)
        try:
            step = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-9), -g)
        except np.linalg.LinAlgError:
            break
        q = p + step
        q[3::3] = np.clip(q[3::3], math.log(0.01), math.log(3.0))  # widths from 0.01 to 3 decades
        fq, Jq = _logistic_steps(x, q)
        new = float(((fq - y) ** 2).sum())
        if new < rss:
            done = rss - new < 1e-10 * max(rss, 1e-12)
            p, f, J, rss, lam = q, fq, Jq, new, lam / 3
            if done:
                break
        else:
            lam *= 4
            if lam > 1e8:
                break
    return p, rss


def step_stretches(steps, acc, low: float | None = None, grid: int = FIT_GRID) -> list[Stretch]:
    """The ``steps`` reading (module doc)."""
    steps, acc = _positive(steps, acc)
    if len(steps) < 2:
        return []
    x = np.log10(steps)
    bins = np.floor((x - x[0]) * grid).astype(int)
    keep = np.unique(bins)
    if len(keep) < 2 * MIN_PIECE:
        return []
    bx = np.array([x[bins == b].mean() for b in keep])
    by = np.array([np.median(acc[bins == b]) for b in keep])  # a median: one evaluation far off moves nothing
    pieces = piecewise_fit(bx, by)
    rises = sorted(((np.polyfit(bx[i:j], by[i:j], 1)[0], i, j) for i, j in pieces), reverse=True)
    rises = [r for r in rises if r[0] > 0][:MAX_STEPS]
    best, n = None, len(bx)
    for k in range(1, len(rises) + 1):
        start = [by[0]]
        for slope, i, j in sorted(rises[:k], key=lambda r: r[1]):
            width = bx[j - 1] - bx[i] + 1 / grid
            start += [slope * width, (bx[i] + bx[j - 1]) / 2, math.log(max(width / 4, 0.01))]
        p, rss = fit_logistic_steps(bx, by, np.array(start))
        bic = n * math.log(max(rss, 1e-12) / n) + (1 + 3 * k) * math.log(n)
        if best is None or bic < best[0]:
            best = (bic, p)
    if best is None:
        return []
    dense = np.linspace(x[0], x[-1], max(int((x[-1] - x[0]) * SLOPE_GRID), 2))
    p = best[1]
    slope = sum(h * np.exp(-np.logaddexp(0, -(dense - c) / math.exp(lw)) - np.logaddexp(0, (dense - c) / math.exp(lw)))
                / math.exp(lw) for h, c, lw in p[1:].reshape(-1, 3))
    flat = np.abs(slope) <= FLAT_FRACTION * max(float(np.max(slope)), 1e-12)
    need = MIN_SPAN * (x[-1] - x[0])
    out, i = [], 0
    while i < len(dense):
        if not flat[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(dense) and flat[j + 1]:
            j += 1
        if dense[j] - dense[i] >= need:
            a, b = int(round(10 ** dense[i])), int(round(10 ** dense[j]))
            inside = acc[(steps >= a) & (steps <= b)]
            level = float(np.median(inside)) if len(inside) else float(_logistic_steps(dense[i:j + 1], p)[0].mean())
            out.append(Stretch(a, b, level))
        i = j + 1
    return [s for s in out if low is None or s.level >= low]


def read(reading: str, steps, acc, ceilings: dict | None = None) -> list[Stretch]:
    """The plateaus of one curve under `reading` (one of `READINGS`), none below the floor of
    `ceilings` (the run's Bayes ceilings) when given; every parameter as it stands now."""
    low = floor(ceilings) if ceilings is not None else None
    if reading == "detector":
        return detector_stretches(steps, acc, low)
    if reading == "flat":
        return flat_stretches(steps, acc, band=BAND, min_span=MIN_SPAN, window=WINDOW, low=low)
    if reading == "shoulder":
        return shoulder_stretches(steps, acc, band=BAND, min_span=MIN_SPAN, window=WINDOW, ratio=SHOULDER_RATIO,
                                  low=low)
    if reading == "steps":
        return step_stretches(steps, acc, low=low, grid=FIT_GRID)
    raise ValueError(f"reading {reading!r}: one of {', '.join(READINGS)}")


# every parameter of the readings: the module that holds it (None: this one) and what it moves (the
# readings, and "pause" for the flat rule the pause claims read, `flat_dwell`)
PAUSE = "pause"
PARAMETERS = {
    "FLAT": (P, ("detector",)), "RISE_RATIO": (P, ("detector",)), "MIN_RISE": (P, ("detector",)),
    "SMOOTH": (P, ("detector",)), "MIN_JUMP": (P, ("detector",)), "WINDOW": (None, ("flat", "shoulder")),
    "BAND": (None, ("flat", "shoulder")), "MIN_SPAN": (None, ("flat", "shoulder", "steps")),
    "SHOULDER_RATIO": (None, ("shoulder",)), "FIT_GRID": (None, ("steps",)), "MAX_STEPS": (None, ("steps",)),
    "FLAT_FRACTION": (None, ("steps", PAUSE)), "SLOPE_WINDOW": (None, (PAUSE,)),
    "FLOOR_FRACTION": (P, ("detector", "flat", "shoulder", "steps")),
}


def moves_text(moves: tuple[str, ...]) -> str:
    """What a parameter moves, in words: "all four", or the readings and "the pause rule"."""
    if set(READINGS) <= set(moves):
        return "all four"
    names = [m for m in moves if m != PAUSE]
    return " and ".join([", ".join(names)] * bool(names) + ["the pause rule"] * (PAUSE in moves))


INTEGER = {"WINDOW", "FIT_GRID", "MAX_STEPS"}


def parameter(name: str):
    """The current value of one of `PARAMETERS`."""
    module = PARAMETERS[name][0]
    return getattr(module, name) if module is not None else globals()[name]


def fingerprint(reading: str) -> tuple:
    """The current values of the parameters `reading` reads (its cached plateaus are keyed by them)."""
    return tuple(parameter(n) for n, (_, moves) in PARAMETERS.items() if reading in moves)


@contextlib.contextmanager
def varied(name: str, factor: float):
    """Read with one parameter of `PARAMETERS` multiplied by `factor` inside this block (an
    integer one rounded, at least 1): how a verdict moves when it is halved or doubled."""
    if name not in PARAMETERS:
        raise KeyError(f"parameter {name!r}: one of {', '.join(PARAMETERS)}")
    module = PARAMETERS[name][0]
    before = parameter(name)
    value = max(1, int(round(before * factor))) if name in INTEGER else before * factor
    target = module.__dict__ if module is not None else globals()
    target[name] = value
    try:
        yield value
    finally:
        target[name] = before


def circuits(stretches: list[Stretch], ceilings: dict) -> list[str]:
    """The circuit each stretch stands for (the nearest ceiling of the run's own draw), in order."""
    return [nearest_strategy(s.level, ceilings) for s in stretches]


def dwell(steps, acc, level: float, band: float = BAND, window: int = WINDOW) -> float:
    """Decades of log-step during which the smoothed accuracy stays within ±`band` of `level`
    (summed over every visit; 0 if it never comes near). A plateau at that level is a long stay;
    a smooth rise passes through the band in a short one. No reading needed."""
    steps, acc = _positive(steps, acc)
    if len(steps) < 2:
        return 0.0
    a, x = smoothed(steps, acc, window), np.log10(steps)
    near = np.abs(a - level) <= band
    widths = np.diff(x)
    # each interval counts when both ends are near (a stay, not a crossing)
    return float(widths[near[:-1] & near[1:]].sum())


def first_reach(steps, acc, level: float, window: int = WINDOW) -> int | None:
    """The first evaluated step whose smoothed accuracy reaches `level` (None if never)."""
    steps, acc = _positive(steps, acc)
    hit = np.flatnonzero(smoothed(steps, acc, window) >= level)
    return int(steps[hit[0]]) if len(hit) else None


def local_slopes(steps, acc, window: float | None = None, per_decade: int = SLOPE_GRID):
    """Least-squares lines of accuracy against log10(step) over `window` decades, centred on a
    grid of `per_decade` points per decade; only centres whose whole window lies inside the run.
    Returns (log10 centres, fitted accuracy at each centre, slope per decade), arrays."""
    window = SLOPE_WINDOW if window is None else window
    steps, acc = _positive(steps, acc)
    x = np.log10(steps.astype(float))
    if len(x) < 3 or x[-1] - x[0] < window:
        return np.array([]), np.array([]), np.array([])
    centres = np.arange(x[0] + window / 2, x[-1] - window / 2 + 1e-12, 1 / per_decade)
    level, slope = [], []
    for c in centres:
        sel = np.abs(x - c) <= window / 2
        if sel.sum() < 3:
            level.append(np.nan)
            slope.append(np.nan)
            continue
        b, a = np.polyfit(x[sel] - c, acc[sel], 1)
        level.append(a)
        slope.append(b)
    return centres, np.array(level), np.array(slope)


def flat_dwell(steps, acc, level: float, band: float = BAND, window: float | None = None,
               fraction: float | None = None) -> tuple[float, float]:
    """(decades, limit): the longest stretch of log-step over which accuracy stays within ±`band`
    of `level` *and* climbs at most `limit` per decade, `fraction` of the run's steepest local
    slope (`local_slopes`); 0 if there is none. `window` and `fraction` default to `SLOPE_WINDOW`
    and `FLAT_FRACTION`."""
    fraction = FLAT_FRACTION if fraction is None else fraction
    x, a, s = local_slopes(steps, acc, window)
    if not len(x) or not np.isfinite(s).any():
        return 0.0, float("nan")
    limit = fraction * float(np.nanmax(s))
    ok = (np.abs(a - level) <= band) & (np.abs(s) <= limit)
    best = run = 0
    for flag in ok:
        run = run + 1 if flag else 0
        best = max(best, run)
    return (best - 1) / SLOPE_GRID if best > 1 else 0.0, limit
