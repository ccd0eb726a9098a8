"""What a claim measures on one seed: each kind of measure is a small frozen dataclass that carries
the settings (sweep labels) it reads and returns, for one seed and one reading of a plateau, the
value shown and whether the criterion holds.

A measure is called as ``measure(sr, seed, reading)`` with `sr` the stored runs of one sweep at
one rate; `reading` is one of `icmeta.analysis.readings.READINGS`, or None for measures that need
no reading. Thresholds shared by many measures are module constants, set from the readings' own
parameters or the paper's wording, never from the measured values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...core.bayes import scc_theory_accuracy
from .. import readings as R
from ..summaries import PAPER_LR, acc_curve, ceilings_of, circuits_seen, final_value, paper_clock, stretches

FULL_PAIRS = 0.95  # a run "reached the full-pairs level" if its final accuracy is at least this
NEAR = 0.05  # a level "at" a ceiling or a theory value: within this (the detector's min_jump)
ABOVE = 0.05  # a circuit metric "shows" a pattern: at least this above its uniform value
ABOUT = 0.1  # the paper's "≈" read off a log-step plot (its values carry one decimal)
LOSS_DROP = 0.1  # "the loss drops at a jump": it falls by at least this fraction across it


class NotMeasured(Exception):
    """A run lacks what a claim reads (a metric it did not record, a step it did not reach): that
    rate is not measured."""


def reaches(run, seed: int, strategy: str) -> bool:
    """The run ends at `strategy`'s level or above it (``"pairs"``: at least `FULL_PAIRS`)."""
    end = final_value(run.metrics)
    return end >= FULL_PAIRS if strategy == "pairs" else end >= ceilings_of(run, seed)[strategy] - NEAR


def join_settings(per: dict[str, str]) -> str:
    """One shown value per setting, prefixed by the setting where there are several."""
    return "; ".join(f"{k}: {v}" if len(per) > 1 else v for k, v in per.items())


def no_jump(found: list) -> tuple[str, bool]:
    """What a measure of the jumps between plateaus shows where there are fewer than two."""
    return f"{len(found)} plateau(s): no jump between two", False


class Measure:
    """The interface of every measure (module doc)."""

    flat_rule: ClassVar[bool] = False  # read by the flat rule (`readings.flat_dwell`): the claims chapter varies it
    uses_reading: ClassVar[bool] = False  # measured once per reading of a plateau (else once)

    @property
    def labels(self) -> tuple[str, ...]:
        """The settings it reads: its `settings`, or its one `setting`."""
        settings = getattr(self, "settings", None)
        return tuple(settings) if settings is not None else (self.setting,)  # type: ignore[attr-defined]

    def __call__(self, sr, seed: int, reading: str | None) -> tuple[str, bool]:
        raise NotImplementedError


# ----------------------------------------------------------------------- plateaus (need a reading)

@dataclass(frozen=True)
class Plateaus(Measure):
    """Every setting shows (or, `present=False`, shows none of) a plateau at the level of each
    circuit. With `then`, the run must also reach the next level (the end within `NEAR` of
    `then`'s ceiling or above; ``"pairs"``: `FULL_PAIRS`): "skips phase n" needs a run that gets
    past it, and "jumps persist" a jump after the plateau."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    circuits: tuple[str, ...]
    present: bool = True
    then: str | None = None

    def __call__(self, sr, seed, reading):
        seen = {s: circuits_seen(sr.run(s, seed), seed, reading) for s in self.settings}
        ok = all((c in v) == self.present for v in seen.values() for c in self.circuits)
        shown = join_settings({k: " ".join(v) or "none" for k, v in seen.items()})
        if self.then is not None:
            short = [s for s in self.settings if not reaches(sr.run(s, seed), seed, self.then)]
            ok = ok and not short
            if short:
                shown += f" (ends below the {self.then} level: {', '.join(short)})"
        return shown, ok


@dataclass(frozen=True)
class AnyPlateau(Measure):
    """Each setting shows a plateau at one of `circuits` (`every`), or each misses at least one of
    them (`every=False`: "skips phase 1 or phase 2")."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    circuits: tuple[str, ...]
    every: bool = True

    def __call__(self, sr, seed, reading):
        seen = {s: circuits_seen(sr.run(s, seed), seed, reading) for s in self.settings}
        if self.every:
            ok = all(any(c in v for c in self.circuits) for v in seen.values())
        else:
            ok = all(not all(c in v for c in self.circuits) for v in seen.values())
        return "; ".join(f"{k}: {' '.join(v) or 'none'}" for k, v in seen.items()), ok


@dataclass(frozen=True)
class OneRise(Measure):
    """Every setting rises in one go: no plateau of `metric` more than `NEAR` below the level the
    run ends at (`one_go=False`: at least one such plateau). Unlike "no NCC and no SCC plateau",
    this keeps its meaning where the ceilings coincide (T = 1) or nearly so (N = 16), and for one
    task's accuracy (``acc_task3``), whose levels are not the ceilings'."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    metric: str = "acc"
    one_go: bool = True

    def __call__(self, sr, seed, reading):
        below = {}
        for s in self.settings:
            r = sr.run(s, seed)
            end = final_value(r.metrics, self.metric)
            below[s] = [x for x in stretches(r, seed, reading, self.metric) if x.level < end - NEAR]
        shown = join_settings({k: ", ".join(f"{x.level:.2f}" for x in v) or "none" for k, v in below.items()})
        return shown, (not any(below.values())) == self.one_go


@dataclass(frozen=True)
class FirstPlateauNear(Measure):
    """At every setting the first plateau's level is within `tol` of 1/T (the paper's "phase 1
    sits at about 1/T")."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    tol: float = ABOUT

    def __call__(self, sr, seed, reading):
        per, ok = {}, True
        for s in self.settings:
            r = sr.run(s, seed)
            found = stretches(r, seed, reading)
            want = 1 / r.config.task.T
            if not found:
                per[s], ok = f"no plateau (1/T = {want:.2f})", False
                continue
            per[s] = f"{found[0].level:.2f} vs 1/T = {want:.2f}"
            ok = ok and abs(found[0].level - want) <= self.tol
        return join_settings(per), ok


@dataclass(frozen=True)
class FirstPlateauFalls(Measure):
    """The first plateau's level falls along `settings`: Kendall's τ between the settings' order
    and the levels at most `max_tau` (most pairs in order), every setting having a plateau."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    max_tau: float = -0.6

    def __call__(self, sr, seed, reading):
        levels = []
        for s in self.settings:
            found = stretches(sr.run(s, seed), seed, reading)
            levels.append(found[0].level if found else None)
        shown = " > ".join("none" if v is None else f"{v:.2f}" for v in levels)
        if any(v is None for v in levels):
            return shown, False
        tau = _kendall(np.asarray(levels))
        return f"{shown} (τ = {tau:+.2f})", tau <= self.max_tau


def _kendall(x: np.ndarray) -> float:
    """Kendall's τ between positions 0, 1, ... and `x` (ties count zero)."""
    i, j = np.triu_indices(len(x), 1)
    return float(np.sign(x[j] - x[i]).sum() / len(i))


@dataclass(frozen=True)
class LossDrops(Measure):
    """The loss falls across every jump between two plateaus: from the end of one plateau to the
    start of the next its median (over the plateau's last and the next one's first three
    evaluations) falls by at least `LOSS_DROP` of its value. Needs two plateaus."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]

    def __call__(self, sr, seed, reading):
        r = sr.run(self.settings[0], seed)
        found = stretches(r, seed, reading)
        if len(found) < 2:
            return no_jump(found)
        steps, loss = acc_curve(r, seed, "loss")
        drops = []
        for a, b in zip(found, found[1:]):
            before = np.median(loss[steps <= a.end][-3:])
            after = np.median(loss[steps >= b.start][:3])
            drops.append((before - after) / before)
        return ", ".join(f"{-d:+.0%}".replace("-", "−") for d in drops), all(d >= LOSS_DROP for d in drops)


def _middle_half(p) -> tuple[float, float]:
    """The middle half of a plateau on the log-step axis."""
    a, b = np.log10(max(p.start, 1)), np.log10(max(p.end, 1))
    return 10 ** (a + (b - a) / 4), 10 ** (b - (b - a) / 4)


@dataclass(frozen=True)
class DeltaAccRule(Measure):
    """The paper's boundary rule read literally: ΔAcc(t) = Acc(t + Δt) − Acc(t), Δt = 100 steps of
    the paper's clock (the smoothed curve, interpolated in steps), exceeds `threshold` somewhere
    in every jump between two plateaus and nowhere on a plateau: in the middle half of its log-step
    width, where t + Δt is still on it (a reading's plateau edges may hold the tails of the rises)."""

    uses_reading: ClassVar[bool] = True

    settings: tuple[str, ...]
    dt: float = 100
    threshold: float = 0.025

    def __call__(self, sr, seed, reading):
        r = sr.run(self.settings[0], seed)
        found = stretches(r, seed, reading)
        if len(found) < 2:
            return no_jump(found)
        steps, acc = acc_curve(r, seed)
        clock, a = paper_clock(steps, r.config.train.lr), R.smoothed(steps, acc)
        dacc = np.interp(clock + self.dt, clock, a) - a

        def peak(lo, hi, last=np.inf):  # the largest ΔAcc at the evaluations in [lo, min(hi, last)]
            inside = (steps >= lo) & (steps <= min(hi, last))
            return float(dacc[inside].max()) if inside.any() else 0.0

        ahead = self.dt * PAPER_LR / r.config.train.lr  # Δt in the run's own steps
        jumps = [peak(x.end, y.start) for x, y in zip(found, found[1:])]
        flats = [peak(*_middle_half(x), x.end - ahead) for x in found]
        marked, quiet = sum(j > self.threshold for j in jumps), sum(f <= self.threshold for f in flats)
        shown = (f"jumps marked {marked}/{len(jumps)} (max ΔAcc {max(jumps):.3f}); "
                 f"plateaus unmarked {quiet}/{len(flats)}")
        return shown, marked == len(jumps) and quiet == len(flats)


# ------------------------------------------------------------------ levels and times (no reading)

@dataclass(frozen=True)
class FinalNear(Measure):
    """The final accuracy (mean of the last 5 evaluations) is within `tol` of a target: a ceiling
    of the seed's data draw (``"ignore"``, ``"labels"``) or the SCC theory p + (1 − p)/2
    (``"theory"``, Fig. 5)."""

    setting: str
    target: str
    tol: float = NEAR

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        t = r.config.task
        want = scc_theory_accuracy(t.K, t.N) if self.target == "theory" else ceilings_of(r, seed)[self.target]
        v = final_value(r.metrics)
        return f"{v:.3f} − {want:.3f} = {v - want:+.3f}", abs(v - want) <= self.tol


@dataclass(frozen=True)
class AtStep(Measure):
    """Smoothed accuracy at a step of the paper's clock (step × lr / 0.01) is within `tol` of
    `target` (the paper's timing: "≈ 0.3 at 10⁴ steps")."""

    setting: str
    step: float
    target: float
    tol: float = ABOUT

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        steps, acc = acc_curve(r, seed)
        clock = paper_clock(steps, r.config.train.lr)
        if clock[-1] < self.step or clock[0] > self.step:
            raise NotMeasured(f"the runs do not cover step {self.step:,.0f} of the paper's clock")
        v = float(np.interp(np.log10(self.step), np.log10(clock), R.smoothed(steps, acc)))
        return f"{v:.2f} at {self.step:,.0f}", abs(v - self.target) <= self.tol


@dataclass(frozen=True)
class Pause(Measure):
    """Accuracy pauses (`pause`), or does not, near `strategy`'s ceiling: within ±BAND of it *and
    flat* (`readings.flat_dwell`: a local slope at most a tenth of the run's steepest) for at least
    `MIN_SPAN` of the run's log-step axis."""

    setting: str
    strategy: str
    pause: bool = True
    flat_rule: ClassVar[bool] = True

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        steps, acc = acc_curve(r, seed)
        d, limit = R.flat_dwell(steps, acc, ceilings_of(r, seed)[self.strategy])
        need = R.MIN_SPAN * (np.log10(steps[-1]) - np.log10(steps[0]))
        return f"{d:.2f} decades flat (pause ≥ {need:.2f}; slope ≤ {limit:.2f}/decade)", (d >= need) == self.pause


@dataclass(frozen=True)
class Dwell(Measure):
    """Accuracy stays flat near `strategy`'s ceiling (`readings.flat_dwell`) for less log-step at
    setting `smaller` than at `larger`."""

    strategy: str
    smaller: str
    larger: str
    flat_rule: ClassVar[bool] = True

    @property
    def labels(self):
        return (self.smaller, self.larger)

    def __call__(self, sr, seed, reading=None):
        d = {}
        for s in self.labels:
            r = sr.run(s, seed)
            d[s] = R.flat_dwell(*acc_curve(r, seed), ceilings_of(r, seed)[self.strategy])[0]
        return f"{d[self.smaller]:.2f} vs {d[self.larger]:.2f} decades flat", d[self.smaller] < d[self.larger]


@dataclass(frozen=True)
class ReachOrder(Measure):
    """(setting, metric) `first` reaches `level` (smoothed, on the paper's clock) before `then`."""

    first: tuple[str, str]
    then: tuple[str, str]
    level: float = 0.95

    @property
    def labels(self):
        return tuple(dict.fromkeys((self.first[0], self.then[0])))

    def __call__(self, sr, seed, reading=None):
        at = []
        for label, metric in (self.first, self.then):
            r = sr.run(label, seed)
            s = R.first_reach(*acc_curve(r, seed, metric), self.level)
            at.append(None if s is None else paper_clock(s, r.config.train.lr))
        a, b = at
        return " vs ".join("never" if x is None else f"{x:,.0f}" for x in at), a is not None and (b is None or a < b)


@dataclass(frozen=True)
class ReachRatio(Measure):
    """Setting `setting` first reaches `level` within `factor` (either way) of setting `base`."""

    setting: str
    base: str
    factor: float
    level: float = 0.95

    @property
    def labels(self):
        return (self.setting, self.base)

    def __call__(self, sr, seed, reading=None):
        a, b = (R.first_reach(*acc_curve(sr.run(x, seed), seed), self.level) for x in self.labels)
        if a is None or b is None:
            return " vs ".join("never" if x is None else f"{x:,}" for x in (a, b)), False
        return f"{a:,} vs {b:,} (×{a / b:.2f})", 1 / self.factor <= a / b <= self.factor


@dataclass(frozen=True)
class ReachMonotone(Measure):
    """Each later setting reaches `level` later (or never)."""

    settings: tuple[str, ...]
    level: float = 0.5

    def __call__(self, sr, seed, reading=None):
        at = [R.first_reach(*acc_curve(sr.run(s, seed), seed), self.level) for s in self.settings]
        known = [x for x in at if x is not None]
        ok = at[0] is not None and all(a < b for a, b in zip(known, known[1:])) and at[:len(known)] == known
        return " < ".join("never" if x is None else f"{x:,}" for x in at), ok


@dataclass(frozen=True)
class CeilingGap(Measure):
    """The labels-only ceiling's lead over the context-free one (of each setting's data draw)
    shrinks along `settings`: Fig. 7b's reason why large K skips phase 2."""

    settings: tuple[str, ...]

    def __call__(self, sr, seed, reading=None):
        gaps = []
        for s in self.settings:
            c = ceilings_of(sr.run(s, seed), seed)
            gaps.append(c["labels"] - c["ignore"])
        return " > ".join(f"{g:.2f}" for g in gaps), all(a > b for a, b in zip(gaps, gaps[1:]))


@dataclass(frozen=True)
class LabelMean(Measure):
    """The mean accuracy over every label position at the end lies in [low, high] (Fig. 21)."""

    setting: str
    low: float
    high: float

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        names = sorted({m for m in r.metrics.metric.unique() if m.startswith("acc_label")})
        if not names:
            raise NotMeasured("no per-label accuracy recorded")
        v = float(np.mean([final_value(r.metrics, n) for n in names]))
        return f"{v:.3f}", self.low <= v <= self.high
