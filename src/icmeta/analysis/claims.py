"""The paper's quantitative claims as code: each one measured per seed on stored runs, at every
rate it was trained at, under every reading of a plateau, against a criterion stated before
looking.

A `Claim` names the figure, the paper's statement in one line, the sweep it reads (its settings
at `fast`, at the learning-rate check lr 0.03 where one exists, and at the paper's lr 0.01 where
a GPU check exists), the quantity measured per seed and the criterion. Its `measure` returns,
for one seed (and one reading, for claims about plateaus), the value shown and whether the
criterion holds. `evaluate` turns those into a verdict per rate:

- **holds**: every seed, under every reading;
- **holds in k of n seeds**: the same k under every reading;
- **does not hold**: no seed, under any reading;
- **depends on the reading**: the readings disagree (the table shows each reading's count);
- **not measured**: the runs are not stored at that rate, or miss a setting the claim needs.

A seed whose training diverged (its loss became NaN) in a setting a claim reads is left out of
that claim's count, and the verdict says how many did.

The readings are `icmeta.analysis.readings.READINGS` (the project's detector, a flat-band rule
and a shoulder rule); claims about a quantity that needs no reading (a final level, a time near a
level, a first step) have one verdict. Thresholds shared by many claims are module constants,
set from the readings' own parameters or the paper's wording, not from the measured values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..core.bayes import scc_theory_accuracy
from ..experiments.load import SweepRuns, load_gpu_check, load_main_rates, load_queue_runs, load_sweep
from ..experiments.sweeps import GPU_CHECKS, SWEEPS, seed_extension
from ..store.io import StoreError
from . import readings as R
from .heads import roles, uniform_value
from .phases import STRATEGY_CIRCUIT
from .summaries import diverged_at, final_value, paper_clock, plateau_middle

RATES = ("fast", "lr 0.03", "lr 0.01")  # the preset (lr 0.1), the learning-rate check, the paper's rate
FULL_PAIRS = 0.95  # a run "reached the full-pairs level" if its final accuracy is at least this
NEAR = 0.05  # a level "at" a ceiling or a theory value: within this (the detector's min_jump)
ABOVE = 0.05  # a circuit metric "shows" a pattern: at least this above its uniform value
CIRCUIT_LEVEL = {v: k for k, v in STRATEGY_CIRCUIT.items()}  # NCC -> "ignore", ...


# ----------------------------------------------------------------- what a claim reads of one seed

class NotMeasured(Exception):
    """A run lacks what a claim reads (a metric it did not record): that rate is not measured."""

def acc_curve(run, seed: int, metric: str = "acc") -> tuple[np.ndarray, np.ndarray]:
    """Evaluated steps and accuracy (mean over heads) of one seed of a run, step 0 left out."""
    m = run.metrics
    a = m[(m.metric == metric) & (m.seed == seed)].groupby("step").value.mean()
    a = a[a.index > 0]
    return a.index.to_numpy(), a.to_numpy()


def ceilings_of(run, seed: int) -> dict:
    """The Bayes ceilings of one seed's data draw."""
    return next(c for c in run.ceilings() if c["seed"] == seed)


_STRETCHES: dict[tuple, tuple[pd.DataFrame, list[R.Stretch]]] = {}


def stretches(run, seed: int, reading: str) -> list[R.Stretch]:
    """One seed's plateaus under `reading`, computed once per metrics table, seed and reading (the
    cache holds the table it was computed from, so its id cannot be reused while cached)."""
    key = (id(run.metrics), seed, reading)
    if key not in _STRETCHES:
        steps, acc = acc_curve(run, seed)
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


def window_value(run, seed: int, metric: str, layer: int, start: int, end: int) -> float:
    """Median of a circuit metric (mean over heads) over the evaluations in [start, end]."""
    m = run.metrics
    m = m[(m.seed == seed) & (m.metric == metric) & (m.layer == layer) & m.step.between(start, end)]
    return float(m.groupby("step").value.mean().median())


# --------------------------------------------------------------------------------- claims

Measure = Callable[..., tuple[str, bool]]  # (sr, seed, reading) -> (value shown, criterion holds)


def reads(*labels: str):
    """Mark a measure with the settings (sweep labels) it reads: a rate without them is not measured."""
    def mark(measure):
        measure.labels = tuple(labels)
        return measure
    return mark


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, measured per seed (module doc)."""

    key: str
    figure: str
    paper: str
    quantity: str
    criterion: str
    sweep: str
    measure: Measure
    uses_reading: bool = True
    rates: tuple[str, ...] = RATES
    note: str = ""
    needs_full_pairs: bool = False  # judged only on runs that reached the full-pairs level (`FULL_PAIRS`)
    # judged only on runs that went past this strategy's level (ended above its ceiling + BAND): a
    # run that ends on a level has not shown whether it pauses there or stays
    past: str | None = None

    @property
    def settings(self) -> tuple[str, ...]:
        """The sweep labels its measure reads."""
        return getattr(self.measure, "labels", ())


def _runs(sr: SweepRuns, label: str, seed: int):
    return sr.run(label, seed)


def plateau_claim(labels: tuple[str, ...], circuits: tuple[str, ...], present: bool, then: str | None = None) -> Measure:
    """Every setting in `labels` shows (or, `present=False`, shows none of) a plateau at the level of
    each circuit in `circuits`. "Skips phase n" (`then`, with `present=False`) also needs the run to
    reach the next level: the end within `NEAR` of `then`'s ceiling or above it (``"pairs"``: at least
    `FULL_PAIRS`) — a run that stalls below it skips nothing."""
    @reads(*labels)
    def measure(sr, seed, reading):
        seen = {label: circuits_seen(_runs(sr, label, seed), seed, reading) for label in labels}
        ok = all((c in s) == present for s in seen.values() for c in circuits)
        shown = "; ".join(f"{label}: {' '.join(s) or 'none'}" if len(labels) > 1 else (" ".join(s) or "none")
                          for label, s in seen.items())
        if then is not None:
            short = [label for label in labels if not _reaches(_runs(sr, label, seed), seed, then)]
            ok = ok and not short
            if short:
                shown += f" (ends below the {then} level: {', '.join(short)})"
        return shown, ok
    return measure


def _reaches(run, seed: int, strategy: str) -> bool:
    """The run ends at `strategy`'s level or above it."""
    end = final_value(run.metrics)
    return end >= FULL_PAIRS if strategy == "pairs" else end >= ceilings_of(run, seed)[strategy] - NEAR


def one_rise_claim(*labels: str) -> Measure:
    """Every setting of `labels` rises in one go: no plateau more than `NEAR` below the level the
    run ends at (the only pause is the end). Unlike "no NCC and no SCC plateau", this holds its
    meaning where the ceilings coincide (T = 1: one level) or nearly so (N = 16)."""
    @reads(*labels)
    def measure(sr, seed, reading):
        below = {}
        for label in labels:
            r = _runs(sr, label, seed)
            end = final_value(r.metrics)
            below[label] = [s for s in stretches(r, seed, reading) if s.level < end - NEAR]
        ok = not any(below.values())
        shown = "; ".join((f"{k}: " if len(labels) > 1 else "") + (", ".join(f"{s.level:.2f}" for s in v) or "none")
                          for k, v in below.items())
        return shown, ok
    return measure


def final_near_claim(label: str, target: Callable[[SweepRuns, str, int], float], tol: float = NEAR) -> Measure:
    """The final accuracy of `label` (mean of the last 5 evaluations) is within `tol` of `target`."""
    @reads(label)
    def measure(sr, seed, reading=None):
        r = _runs(sr, label, seed)
        v, want = final_value(r.metrics), target(sr, label, seed)
        return f"{v:.3f} − {want:.3f} = {v - want:+.3f}", abs(v - want) <= tol
    return measure


def ceiling(strategy: str):
    return lambda sr, label, seed: ceilings_of(_runs(sr, label, seed), seed)[strategy]


def dwell_claim(strategy: str, smaller: str, larger: str) -> Measure:
    """Accuracy pauses near `strategy`'s ceiling (flat, `icmeta.analysis.readings.flat_dwell`) for
    less log-step at setting `smaller` than at `larger`."""
    @reads(smaller, larger)
    def measure(sr, seed, reading=None):
        d = {}
        for label in (smaller, larger):
            r = _runs(sr, label, seed)
            steps, acc = acc_curve(r, seed)
            d[label] = R.flat_dwell(steps, acc, ceilings_of(r, seed)[strategy])[0]
        return f"{d[smaller]:.2f} vs {d[larger]:.2f} decades flat", d[smaller] < d[larger]
    measure.flat_rule = True
    return measure


def pause_claim(label: str, strategy: str, pause: bool) -> Measure:
    """Accuracy pauses (`pause`), or does not, near `strategy`'s ceiling: it stays within ±BAND of
    it *and flat* (`icmeta.analysis.readings.flat_dwell`: a local slope at most a tenth of the
    run's steepest) for at least `MIN_SPAN` of the run's log-step axis."""
    @reads(label)
    def measure(sr, seed, reading=None):
        r = _runs(sr, label, seed)
        steps, acc = acc_curve(r, seed)
        d, limit = R.flat_dwell(steps, acc, ceilings_of(r, seed)[strategy])
        need = R.MIN_SPAN * (np.log10(steps[-1]) - np.log10(steps[0]))
        return f"{d:.2f} decades flat (pause ≥ {need:.2f}; slope ≤ {limit:.2f}/decade)", (d >= need) == pause
    measure.flat_rule = True
    return measure


def reach_order_claim(first: tuple[str, str], then: tuple[str, str], level: float = 0.95) -> Measure:
    """(setting, metric) `first` reaches `level` (smoothed, on the paper's clock) before `then`."""
    @reads(*dict.fromkeys((first[0], then[0])))
    def measure(sr, seed, reading=None):
        at = []
        for label, metric in (first, then):
            r = _runs(sr, label, seed)
            s = R.first_reach(*acc_curve(r, seed, metric), level)
            at.append(None if s is None else paper_clock(s, r.config.train.lr))
        a, b = at
        return " vs ".join("never" if x is None else f"{x:,.0f}" for x in at), a is not None and (b is None or a < b)
    return measure


def reach_ratio_claim(label: str, base: str, factor: float, level: float = 0.95) -> Measure:
    """Setting `label` first reaches `level` within `factor` (either way) of setting `base`."""
    @reads(label, base)
    def measure(sr, seed, reading=None):
        a, b = (R.first_reach(*acc_curve(_runs(sr, x, seed), seed), level) for x in (label, base))
        if a is None or b is None:
            return " vs ".join("never" if x is None else f"{x:,}" for x in (a, b)), False
        return f"{a:,} vs {b:,} (×{a / b:.2f})", 1 / factor <= a / b <= factor
    return measure


def any_plateau_claim(labels: tuple[str, ...], circuits: tuple[str, ...], every: bool = True) -> Measure:
    """Each setting of `labels` shows a plateau at one of `circuits` (`every`), or some setting
    misses at least one of them (`every=False`: "skips phase 1 or phase 2")."""
    @reads(*labels)
    def measure(sr, seed, reading):
        seen = {label: circuits_seen(_runs(sr, label, seed), seed, reading) for label in labels}
        if every:
            ok = all(any(c in s for c in circuits) for s in seen.values())
        else:
            ok = all(not all(c in s for c in circuits) for s in seen.values())
        return "; ".join(f"{k}: {' '.join(v) or 'none'}" for k, v in seen.items()), ok
    return measure


def reach_monotone_claim(labels: tuple[str, ...], level: float = 0.5) -> Measure:
    """Each later setting of `labels` reaches `level` later (or never)."""
    @reads(*labels)
    def measure(sr, seed, reading=None):
        at = []
        for label in labels:
            steps, acc = acc_curve(_runs(sr, label, seed), seed)
            at.append(R.first_reach(steps, acc, level))
        text = " < ".join("never" if x is None else f"{x:,}" for x in at)
        known = [x for x in at if x is not None]
        ok = at[0] is not None and all(a < b for a, b in zip(known, known[1:])) and at[:len(known)] == known
        return text, ok
    return measure


def metric_claim(label: str, metric: str, layer: int, circuit: str | None, above: bool = True) -> Measure:
    """A circuit metric minus its uniform value, over the plateau of `circuit` (under each
    reading) or over the last 5 evaluations (`circuit` None): at least `ABOVE` (or, `above=False`,
    below that)."""
    @reads(label)
    def measure(sr, seed, reading):
        r = _runs(sr, label, seed)
        if not ((r.metrics.metric == metric) & (r.metrics.layer == layer)).any():
            raise NotMeasured(f"no layer-{layer} {metric.replace('_', ' ')} recorded")
        u = uniform_value(metric, r.config.task.N)
        if circuit is None:
            v = final_value(r.metrics, metric, layer)
        else:
            s = longest_plateau(r, seed, reading, circuit)
            if s is None:
                return f"no {circuit} plateau", False
            v = window_value(r, seed, metric, layer, s.start, s.end)
        return f"{v:.2f} − {u:.2f} = {v - u:+.2f}", (v - u >= ABOVE) == above
    return measure


def rla_claim(circuit: str | None, gap_max: float | None = None, gap_min: float | None = None) -> Measure:
    """Accuracy minus random-label accuracy over the plateau of `circuit` (median over it), or at
    the end (`circuit` None): at most `gap_max`, or at least `gap_min`."""
    @reads("main")
    def measure(sr, seed, reading):
        r = _runs(sr, "main", seed)
        if not (r.metrics.metric == "rla").any():
            raise NotMeasured("no random-label accuracy recorded")
        if circuit is None:
            a, b = final_value(r.metrics, "acc"), final_value(r.metrics, "rla")
        else:
            s = longest_plateau(r, seed, reading, circuit)
            if s is None:
                return f"no {circuit} plateau", False
            steps, acc = acc_curve(r, seed)
            rs, rla = acc_curve(r, seed, "rla")
            a = float(np.median(acc[(steps >= s.start) & (steps <= s.end)]))
            inside = (rs >= s.start) & (rs <= s.end)
            if not inside.any():  # RLA is measured less often: the evaluation nearest the plateau's middle
                inside = np.arange(len(rs)) == np.argmin(np.abs(np.log(rs) - np.log(plateau_middle(s.start, s.end))))
            b = float(np.median(rla[inside]))
        gap = a - b
        ok = (gap_max is None or gap <= gap_max) and (gap_min is None or gap >= gap_min)
        return f"{a:.3f} − {b:.3f} = {gap:+.3f}", ok
    return measure


def roles_claim(label: str, want: dict[str, int]) -> Measure:
    """At the end (the last 5 measurements' majority), the heads of `label` hold at least these
    roles (``{"NCC": 1, "FCC": 1}``: one NCC head and one FCC head)."""
    @reads(label)
    def measure(sr, seed, reading=None):
        f = roles(_runs(sr, label, seed))
        end = f.groupby("head").apply(lambda d: d.role.iloc[-5:].mode().iloc[0], include_groups=False)
        have = end.value_counts().to_dict()
        ok = all(have.get(k, 0) >= n for k, n in want.items())
        return ", ".join(f"head {h}: {v}" for h, v in end.items()), ok
    return measure


def transient_claim(label: str) -> Measure:
    """Fig. 9: in the head with the highest FCC score at the end, at the step where its layer-2
    bigram peaks, its layer-1 label attention is at least `ABOVE` over uniform (an SCC-like state)."""
    @reads(label)
    def measure(sr, seed, reading=None):
        r = _runs(sr, label, seed)
        f = roles(r)
        last = f[f.step == f.step.max()]
        h = int(last.loc[last.FCC.idxmax(), "head"])
        d = f[f["head"] == h]
        peak = d.loc[d.bigram_L2.idxmax()]
        u = uniform_value("label_attention", r.config.task.N)
        v = float(peak.label_attention_L1)
        return (f"head {h}: L2 bigram {peak.bigram_L2:.2f} at step {int(peak.step):,}, L1 label att. {v:.2f} "
                f"(uniform {u:.2f})"), v - u >= ABOVE
    return measure


def theory_claim(label: str) -> Measure:
    """Fig. 5: the SCC-only model's final accuracy at `label` (K = L) is within `NEAR` of the
    theory p + (1 - p)/2."""
    def target(sr, label, seed):
        t = _runs(sr, label, seed).config.task
        return scc_theory_accuracy(t.K, t.N)
    return final_near_claim(label, target)


def label_mean_claim(label: str, low: float, high: float) -> Measure:
    """Fig. 21: the mean accuracy over every label position at the end lies in [low, high]."""
    @reads(label)
    def measure(sr, seed, reading=None):
        r = _runs(sr, label, seed)
        names = sorted({m for m in r.metrics.metric.unique() if m.startswith("acc_label")})
        v = float(np.mean([final_value(r.metrics, n) for n in names])) if names else float("nan")
        return f"{v:.3f}", low <= v <= high
    return measure


FIGURE_CLAIMS: list[Claim] = [
    # ------------------------------------------------------------------ the main result
    Claim("main.three_plateaus", "Fig. 2", "With T = 3, accuracy climbs through three plateaus: ≈ 1/T, ≈ 0.75, then 1.0",
          "the levels of the seed's plateaus (named by the nearest ceiling)", "a plateau at the NCC, the SCC and the FCC level", "main",
          plateau_claim(("main",), ("NCC", "SCC", "FCC"), True), needs_full_pairs=True),
    Claim("main.ncc_pause", "Fig. 2", "Accuracy pauses at the context-free level (phase 1)",
          "decades of log-step flat (slope ≤ a tenth of the run's steepest) within ±0.06 of the context-ignored ceiling",
          "at least the flat-band reading's minimum plateau length", "main",
          pause_claim("main", "ignore", True), uses_reading=False, past="ignore"),
    Claim("main.scc_pause", "Fig. 2", "Accuracy pauses at the labels-only level (phase 2)",
          "decades of log-step flat (slope ≤ a tenth of the run's steepest) within ±0.06 of the labels-only ceiling",
          "at least the flat-band reading's minimum plateau length", "main",
          pause_claim("main", "labels", True), uses_reading=False, past="labels"),
    Claim("table1.ncc", "Table 1", "Phase 1 (NCC): the query attends to itself in layer 1 (Bigram)",
          "layer-1 bigram minus its uniform value, over the NCC plateau", f"at least {ABOVE}", "main",
          metric_claim("main", "bigram", 1, "NCC")),
    Claim("table1.ncc_l2", "Table 1", "Phase 1 (NCC): the query attends to itself in layer 2 (Bigram)",
          "layer-2 bigram minus its uniform value, over the NCC plateau", f"at least {ABOVE}", "main",
          metric_claim("main", "bigram", 2, "NCC")),
    Claim("table1.scc_l1", "Table 1", "Phase 2 (SCC): layer 1 attends from the query to the labels (Label Attention)",
          "layer-1 label attention minus its uniform value, over the SCC plateau", f"at least {ABOVE}", "main",
          metric_claim("main", "label_attention", 1, "SCC")),
    Claim("table1.scc_l2", "Table 1", "Phase 2 (SCC): layer 2 attends to the query itself (Bigram)",
          "layer-2 bigram minus its uniform value, over the SCC plateau", f"at least {ABOVE}", "main",
          metric_claim("main", "bigram", 2, "SCC")),
    Claim("table1.fcc_l1", "Table 1", "Phase 3 (FCC): in layer 1 each label attends to its item (Chunk Example)",
          "layer-1 chunk example minus its uniform value, at the end", f"at least {ABOVE}", "main",
          metric_claim("main", "chunk_example", 1, None), uses_reading=False, needs_full_pairs=True),
    Claim("table1.fcc_l2", "Table 1", "Phase 3 (FCC): layer 2 attends from the query to the labels (Label Attention)",
          "layer-2 label attention minus its uniform value, at the end", f"at least {ABOVE}", "main",
          metric_claim("main", "label_attention", 2, None), uses_reading=False, needs_full_pairs=True),
    Claim("fig6.rla_scc", "Fig. 6", "Random-label accuracy rises with the phase-2 jump: SCC needs only the label set",
          "accuracy minus random-label accuracy, over the SCC plateau", "at most 0.02", "main",
          rla_claim("SCC", gap_max=0.02)),
    Claim("fig6.rla_end", "Fig. 6", "Once FCC forms, random-label accuracy stays well below accuracy (≈ 0.6 against 1.0)",
          "accuracy minus random-label accuracy, at the end", "at least 0.2", "main",
          rla_claim(None, gap_min=0.2), uses_reading=False, needs_full_pairs=True),
    # ------------------------------------------------------------------ the SCC theory, pruning
    *[Claim(f"fig5.theory_K{k}", "Fig. 5", f"An SCC-only model matches the theory p + (1 − p)/2 (K = {k})",
            "final accuracy minus the theory", f"within {NEAR}", "fig5", theory_claim(f"K=L={k}"), uses_reading=False) for k in (8, 16, 32)],
    Claim("fig13.ncc_only", "Fig. 13", "A model pruned to NCC plateaus at the context-free level (≈ 0.4)",
          "final accuracy minus the context-ignored ceiling", f"within {NEAR}", "fig13",
          final_near_claim("mask=ncc", ceiling("ignore")), uses_reading=False),
    Claim("fig13.scc_only", "Fig. 13", "A model pruned to SCC plateaus at the labels-only level (≈ 0.8)",
          "final accuracy minus the labels-only ceiling", f"within {NEAR}", "fig13",
          final_near_claim("mask=scc", ceiling("labels")), uses_reading=False),
    Claim("fig13.fcc_only_one_jump", "Fig. 13", "A model pruned to FCC reaches 1.0 in a single jump",
          f"the seed's plateaus more than {NEAR} below its final level", "none", "fig13",
          one_rise_claim("mask=fcc")),
    Claim("fig13.full_last", "Fig. 13", "The full model reaches 1.0 after the FCC-only model",
          "step at which smoothed accuracy first reaches 0.95 (FCC only vs full)", "FCC only first", "fig13",
          reach_order_claim(("mask=fcc", "acc"), ("mask=none", "acc")), uses_reading=False),
    # ------------------------------------------------------------------ data properties
    Claim("fig7a.T1_one_jump", "Fig. 7a", "With T = 1 the model learns in one jump",
          "the plateaus of the seed below its final level", "none", "fig7a",
          one_rise_claim("T=1")),
    Claim("fig7a.three_phases", "Fig. 7a", "Every T ≥ 2 shows the three phases",
          "the levels of the seed's plateaus (named by the nearest ceiling) at T = 2, 3, 4", "an NCC and an SCC plateau at each T", "fig7a",
          plateau_claim(("T=2", "T=3", "T=4"), ("NCC", "SCC"), True)),
    Claim("fig7b.k32_skips_ncc", "Fig. 7b", "K = 32 skips phase 1 (straight to the SCC level)",
          "the levels of the seed's plateaus (named by the nearest ceiling) at K = 32", "no NCC plateau, and it reaches the labels-only level", "fig7b",
          plateau_claim(("K=32",), ("NCC",), False, then="labels")),
    Claim("fig7b.large_k_skips_scc", "Fig. 7b", "K = 128 and 256 skip phase 2 (NCC straight to FCC)",
          "the levels of the seed's plateaus (named by the nearest ceiling) at K = 128, 256", "no SCC plateau at either K, and each reaches the full-pairs level", "fig7b",
          plateau_claim(("K=128", "K=256"), ("SCC",), False, then="pairs")),
    Claim("fig7c.eps_skips_scc", "Fig. 7c", "Larger ε skips phase 2",
          "the levels of the seed's plateaus (named by the nearest ceiling) at ε = 0.75, 1", "no SCC plateau at either ε, and each reaches the full-pairs level", "fig7c",
          plateau_claim(("eps=0.75", "eps=1"), ("SCC",), False, then="pairs")),
    Claim("fig7c.eps1_skips_ncc", "Fig. 7c", "At ε = 1 phase 1 goes too",
          "the levels of the seed's plateaus (named by the nearest ceiling) at ε = 1", "no NCC plateau, and it reaches the labels-only level", "fig7c",
          plateau_claim(("eps=1",), ("NCC",), False, then="labels")),
    Claim("fig7c.eps_shortens_ncc", "Fig. 7c", "Hard pairs (large ε) leave less of phase 1",
          "decades flat near the context-ignored ceiling at ε = 1 vs ε = 0.1", "shorter at ε = 1", "fig7c",
          dwell_claim("ignore", "eps=1", "eps=0.1"), uses_reading=False),
    Claim("fig7d.alpha1_skips", "Fig. 7d", "Large α skips phase 1 or phase 2",
          "the levels of the seed's plateaus (named by the nearest ceiling) at α = 1", "no NCC or no SCC plateau", "fig7d",
          any_plateau_claim(("alpha=1",), ("NCC", "SCC"), every=False)),
    Claim("fig7e.average_unchanged", "Fig. 7e", "β barely changes the average accuracy curve",
          "step at which smoothed accuracy first reaches 0.95, β = 1 vs β = 0", "within a factor 1.5", "fig7e",
          reach_ratio_claim("beta=1", "beta=0", 1.5), uses_reading=False),
    Claim("fig7e.frequent_first", "Fig. 7e", "At large β the frequent task is learned first",
          "step at which task 1 and task 3 first reach 0.9 (β = 1)", "task 1 first", "fig7e",
          reach_order_claim(("beta=1", "acc_task1"), ("beta=1", "acc_task3"), 0.9), uses_reading=False),
    Claim("fig15a.B_skips_ncc", "Fig. 15a", "Larger B tends to skip NCC",
          "decades flat near the context-ignored ceiling at B = 2 vs B = 1", "shorter at B = 2", "fig15a",
          dwell_claim("ignore", "B=2", "B=1"), uses_reading=False),
    Claim("fig15b.pB_smooths", "Fig. 15b", "Larger p_B gives smoother curves with less distinct phases",
          "decades flat near the context-ignored ceiling at p_B = 0.75 vs p_B = 0", "shorter at p_B = 0.75", "fig15b",
          dwell_claim("ignore", "p_B=0.75", "p_B=0"), uses_reading=False),
    Claim("fig18.jumps_persist", "Fig. 18", "Jumps persist up to T = 18",
          "the levels of the seed's plateaus (named by the nearest ceiling) at T = 6, 12, 18", "an NCC plateau at each T", "fig18",
          plateau_claim(("T=6", "T=12", "T=18"), ("NCC",), True)),
    Claim("fig18.later_jump", "Fig. 18", "The next jump comes later as T grows",
          "step at which smoothed accuracy first reaches 0.5, T = 3 ... 18", "later for every larger T", "fig18",
          reach_monotone_claim(("T=3", "T=6", "T=9", "T=12", "T=15", "T=18")), uses_reading=False),
    # ------------------------------------------------------------------ copy task
    Claim("fig12.one_jump", "Fig. 12", "The copy task (T = 1, p_B = 1) learns in one jump",
          f"the seed's plateaus more than {NEAR} below its final level", "none", "fig12",
          one_rise_claim("main")),
    Claim("fig12.induction_K64", "Fig. 12", "Layer 1 chunks the pairs (induction circuit), K = 64",
          "layer-1 chunk example minus its uniform value, at the end", f"at least {ABOVE}", "fig12",
          metric_claim("main", "chunk_example", 1, None), uses_reading=False),
    Claim("fig12.induction_K1024", "Fig. 12", "Layer 1 chunks the pairs (induction circuit), K = 1024 (beyond the paper's K)",
          "layer-1 chunk example minus its uniform value, at the end", f"at least {ABOVE}", "fig12_classes",
          metric_claim("K=1024", "chunk_example", 1, None), uses_reading=False),
    # ------------------------------------------------------------------ architecture
    Claim("fig8.two_heads_smooth", "Fig. 8", "A 2-head model rises without clear plateaus",
          f"the seed's plateaus more than {NEAR} below its final level", "none", "fig16",
          one_rise_claim("heads=2")),
    Claim("fig8.head_roles", "Figs. 8, 17", "One head settles into NCC, the other into FCC",
          "each head's role at the end (Table 1's patterns)", "one NCC head and one FCC head", "fig16",
          roles_claim("heads=2", {"NCC": 1, "FCC": 1}), uses_reading=False),
    Claim("fig9.transient", "Fig. 9", "In the FCC head, layer-2 bigram peaks while layer-1 label attention is high",
          "layer-1 label attention minus uniform at the layer-2 bigram peak of the FCC head", f"at least {ABOVE}", "fig16",
          transient_claim("heads=2"), uses_reading=False),
    Claim("fig16.heads_smooth", "Fig. 16", "Every multi-head model rises smoothly",
          f"the seed's plateaus with 2 and 4 heads more than {NEAR} below its final level", "none", "fig16",
          one_rise_claim("heads=2", "heads=4")),
    Claim("fig16.heads_shorter_pause", "Fig. 16", "Heads take the pause at the context-free level away",
          "decades flat near the context-ignored ceiling, 2 heads vs 1 head", "shorter with 2 heads", "fig16",
          dwell_claim("ignore", "heads=2", "heads=1"), uses_reading=False),
    Claim("fig16.four_heads_split", "Fig. 16", "In a 4-head model two heads do NCC and two FCC",
          "each head's role at the end", "two NCC heads and two FCC heads", "fig16",
          roles_claim("heads=4", {"NCC": 2, "FCC": 2}), uses_reading=False),
    Claim("fig19.small_N_phases", "Fig. 19", "Phases are visible up to about N = 8",
          "the levels of the seed's plateaus (named by the nearest ceiling) at N = 2, 4", "an NCC or an SCC plateau at each N", "fig19",
          any_plateau_claim(("N=2", "N=4"), ("NCC", "SCC"))),
    Claim("fig19.large_N_one_rise", "Fig. 19", "For N ≥ 16, one quick rise to 1.0",
          f"the seed's plateaus at N = 16, 32 more than {NEAR} below its final level", "none", "fig19",
          one_rise_claim("N=16", "N=32")),
    Claim("fig19.fcc_maps_N16", "Fig. 19", "At N = 16 the maps are FCC: layer 1 chunks the pairs",
          "layer-1 chunk example minus its uniform value at N = 16, at the end", f"at least {ABOVE}", "fig19",
          metric_claim("N=16", "chunk_example", 1, None), uses_reading=False),
    Claim("fig20.standard_scc", "Fig. 20", "A standard transformer shows an SCC-like stage before FCC",
          "the levels of the seed's plateaus (named by the nearest ceiling)", "an SCC plateau", "fig20",
          plateau_claim(("main",), ("SCC",), True)),
    Claim("fig21.all_labels_phases", "Fig. 21", "A loss on every label token still shows phases",
          "the levels of the seed's plateaus (named by the nearest ceiling)", "an NCC or an SCC plateau", "fig21",
          any_plateau_claim(("loss=all_labels",), ("NCC", "SCC"))),
    Claim("fig21.ends_near_09", "Fig. 21", "... and ends near 0.9 (early labels have too little context)",
          "mean accuracy over the label positions at the end", "between 0.85 and 0.95", "fig21",
          label_mean_claim("loss=all_labels", 0.85, 0.95), uses_reading=False),
    Claim("fig22.shallow_phases", "Fig. 22", "2- and 3-layer models show phases",
          "the levels of the seed's plateaus (named by the nearest ceiling) at 2 and 3 layers", "an NCC or an SCC plateau at each depth", "fig22",
          any_plateau_claim(("layers=2", "layers=3"), ("NCC", "SCC"))),
    Claim("fig22.deep_smooth", "Fig. 22", "4- and 5-layer models rise smoothly",
          f"the seed's plateaus at 4 and 5 layers more than {NEAR} below its final level", "none", "fig22",
          one_rise_claim("layers=4", "layers=5")),
    Claim("fig23.layer1_chunks", "Fig. 23", "Whatever the depth, layer 1 shows chunk example",
          "layer-1 chunk example minus its uniform value at the end, 5 layers", f"at least {ABOVE}", "fig22",
          metric_claim("layers=5", "chunk_example", 1, None), uses_reading=False),
]

CLAIMS: dict[str, Claim] = {c.key: c for c in FIGURE_CLAIMS}


# --------------------------------------------------------------------------------- evaluation

def rate_runs(sweep: str, root=None, labels: tuple[str, ...] = ()) -> dict[str, SweepRuns]:
    """The stored runs a claim reads, per rate: ``fast`` (the ten seeds of the sweep's
    `seed_extension` where it holds every one of `labels` and is stored, else the sweep's
    three); ``lr 0.03`` (the sweep's learning-rate check); ``lr 0.01`` (the paper-rate queue's runs
    of `labels` where a GPU has trained them, else a GPU check on the sweep, or for the main
    result the archived `paper` run). A rate whose runs are not stored is left out."""
    if sweep == "main":
        return load_main_rates(root)
    more = seed_extension(sweep, labels)

    def at_fast():
        if more:
            try:
                return load_sweep(more, "fast", root=root)
            except StoreError:
                pass
        return load_sweep(sweep, "fast", root=root)

    def at_paper():
        try:  # the paper-rate queue's runs, once a GPU has trained them
            return load_queue_runs(sweep, labels, root=root)
        except StoreError:
            return next((load_gpu_check(n, root=None if root is None else f"{root}/gpu/{n}")
                         for n, c in GPU_CHECKS.items() if c.base == sweep), None)

    out = {}
    for rate, load in (("fast", at_fast),
                       ("lr 0.03", lambda: load_sweep(f"{sweep}_lr", "fast", root=root) if f"{sweep}_lr" in SWEEPS else None),
                       ("lr 0.01", at_paper)):
        try:
            sr = load()
        except StoreError:
            sr = None
        if sr is not None:
            out[rate] = sr
    return out


@dataclass
class Result:
    """One claim at one rate: per seed and reading, (value shown, holds), and the verdict."""

    claim: Claim
    rate: str
    seeds: list[int] = field(default_factory=list)
    cells: dict[tuple[int, str], tuple[str, bool]] = field(default_factory=dict)
    verdict: str = "not measured"
    steps: tuple[int, int] | None = None  # the shortest and the longest run read
    runs: str = ""  # the sweep whose runs were read (a seed extension names its own)
    note: str = ""  # e.g. the seeds left out because they diverged

    @property
    def shown(self) -> str:
        """The verdict as a table shows it, with its note."""
        return f"{self.verdict} ({self.note})" if self.note else self.verdict


def verdict(cells: dict[tuple[int, str], tuple[str, bool]], seeds: list[int], readings: tuple[str, ...]) -> str:
    """The verdict words (module doc) from per-seed, per-reading outcomes."""
    if not seeds:
        return "not measured"
    counts = {r: sum(cells[(s, r)][1] for s in seeds) for r in readings}
    n = len(seeds)
    if len(set(counts.values())) > 1:
        return "depends on the reading (" + ", ".join(f"{r}: {k}/{n}" for r, k in counts.items()) + ")"
    k = next(iter(counts.values()))
    return "holds" if k == n else "does not hold" if k == 0 else f"holds in {k} of {n} seeds"


def evaluate(claim: Claim, rates: dict[str, SweepRuns]) -> list[Result]:
    """The claim at every rate of `claim.rates` (`rate_runs` gives the runs)."""
    readings = R.READINGS if claim.uses_reading else ("none",)
    out = []
    for rate in claim.rates:
        res = Result(claim, rate)
        sr = rates.get(rate)
        if sr is None or not set(claim.settings) <= set(sr.labels):
            out.append(res)
            continue
        needed = claim.settings or tuple(sr.labels)
        seeds = sorted({m.seed for m in sr.members if m.label == needed[0]})
        # a seed whose training diverged (loss NaN) in a setting the claim reads is left out, and counted
        diverged = [s for s in seeds if any(diverged_at(sr.run(label, s)) is not None for label in needed)]
        seeds = [s for s in seeds if s not in diverged]
        # a claim about the full-pairs phase cannot be judged on a run that stopped before it
        short = [s for s in seeds if claim.needs_full_pairs
                 and any(final_value(sr.run(label, s).metrics) < FULL_PAIRS for label in needed)]
        short += [s for s in seeds if claim.past and s not in short and any(
            final_value(sr.run(label, s).metrics) < ceilings_of(sr.run(label, s), s)[claim.past] + R.BAND for label in needed)]
        seeds = [s for s in seeds if s not in short]
        if short and not seeds:
            last = max(sr.run(label, s).last_step for label in needed for s in short)
            training = any(sr.run(label, s).info.get("status") == "pending" for label in needed for s in short)
            where = "the full-pairs level" if claim.needs_full_pairs else "the end of the level"
            res.verdict = (f"not measured (runs at step {last:,}, still training, before {where})" if training
                           else f"not measured (the runs end at {last:,} steps, before {where})")
            out.append(res)
            continue
        try:
            for s in seeds:
                for r in readings:
                    res.cells[(s, r)] = claim.measure(sr, s, None if r == "none" else r)
        except NotMeasured as e:
            res.cells, res.verdict = {}, f"not measured ({e})"
            out.append(res)
            continue
        res.seeds, res.runs = seeds, sr.sweep.name
        read = [sr.run(label, s) for label in needed for s in seeds]
        read = read or list(sr.runs)
        res.steps = (min(r.last_step for r in read), max(r.last_step for r in read))
        res.verdict = verdict(res.cells, seeds, readings)
        notes = []
        if diverged:
            notes.append(f"{len(diverged)} more diverged: seed{'s' if len(diverged) > 1 else ''} {', '.join(map(str, diverged))}")
        if short:
            notes.append(f"{len(short)} more ended before {'the full-pairs level' if claim.needs_full_pairs else 'the end of the level'}: "
                         f"seed{'s' if len(short) > 1 else ''} "
                         f"{', '.join(map(str, short))}")
        res.note = "; ".join(notes)
        out.append(res)
    return out


def pause_sensitivity(root=None, rates: tuple[str, ...] = ("fast", "lr 0.03", "lr 0.01")) -> pd.DataFrame:
    """How each pause claim's verdict (those read by `icmeta.analysis.readings.flat_dwell`) moves
    when the flat rule's two bounds are halved and doubled, one at a time: one row per claim and
    rate measured, one column per rule."""
    keys = [k for k, c in CLAIMS.items() if getattr(c.measure, "flat_rule", False)]
    f, w = R.FLAT_FRACTION, R.SLOPE_WINDOW
    rules = {"as stated": (f, w), "slope bound ÷2": (f / 2, w), "slope bound ×2": (f * 2, w),
             "fit window ÷2": (f, w / 2), "fit window ×2": (f, w * 2)}
    cols: dict[str, dict] = {}
    for name, (fraction, window) in rules.items():
        with R.flat_rule(fraction, window):
            cols[name] = {(r.claim.key, r.rate): r.verdict for r in evaluate_all(keys, root) if r.rate in rates}
    rows = [{"claim": k, "rate": rate, **{name: col[(k, rate)] for name, col in cols.items()}}
            for (k, rate) in cols["as stated"] if not cols["as stated"][(k, rate)].startswith("not measured")
            or any(not col[(k, rate)].startswith("not measured") for col in cols.values())]
    return pd.DataFrame(rows)


def evaluate_all(keys: list[str] | None = None, root=None) -> list[Result]:
    """Every claim (or those of `keys`) at every rate, each sweep's runs read once."""
    claims = [CLAIMS[k] for k in keys] if keys else FIGURE_CLAIMS
    cache: dict[tuple[str, str | None], dict[str, SweepRuns]] = {}
    out = []
    for c in claims:
        key = (c.sweep, seed_extension(c.sweep, c.settings) if c.sweep != "main" else None)
        if key not in cache:
            cache[key] = rate_runs(c.sweep, root, c.settings)
        out += evaluate(c, cache[key])
    return out


def claims_table(results: list[Result]) -> pd.DataFrame:
    """One row per claim: the figure, the paper's statement, the criterion, and one column per
    rate with its verdict."""
    rows = {}
    for r in results:
        row = rows.setdefault(r.claim.key, {"figure": r.claim.figure, "the paper": r.claim.paper,
                                            "measured per seed": r.claim.quantity, "criterion": r.claim.criterion})
        row[r.rate] = r.shown
    return pd.DataFrame(list(rows.values()))


def rates_table(results: list[Result]) -> pd.DataFrame:
    """Per sweep and rate the claims read: seeds and training steps (a claim measured on a
    shorter run says so here)."""
    rows = {}
    for r in results:
        if r.seeds:
            rows[(r.runs, r.rate)] = {"runs": r.runs, "rate": r.rate, "seeds": len(r.seeds),
                                             "steps": "–".join(f"{s:,}" for s in dict.fromkeys(r.steps))}
    return pd.DataFrame(list(rows.values()))


def seed_table(results: list[Result]) -> pd.DataFrame:
    """One row per claim, rate and seed: the value measured and whether it holds, per reading."""
    rows = []
    for r in results:
        for (s, reading), (value, ok) in sorted(r.cells.items()):
            rows.append({"claim": r.claim.key, "rate": r.rate, "seed": s, "reading": reading, "value": value,
                         "holds": ok})
    return pd.DataFrame(rows)


def disagreements(results: list[Result]) -> pd.DataFrame:
    """Per claim and rate whose verdict depends on the reading: one row per seed, the value and
    whether it holds under each reading."""
    rows = []
    for r in results:
        if not r.verdict.startswith("depends"):
            continue
        for s in r.seeds:
            row = {"claim": r.claim.paper, "rate": r.rate, "seed": s}
            for reading in R.READINGS:
                value, ok = r.cells[(s, reading)]
                row[reading] = f"{'✓' if ok else '✗'} {value}"
            rows.append(row)
    return pd.DataFrame(rows)


def verdicts(*figures: str, root=None) -> pd.DataFrame:
    """The claims of the given figures (``"Fig. 7a"``), evaluated: one row per claim with the
    paper's statement, the criterion and the verdict at each rate (the table under a figure)."""
    keys = [c.key for c in FIGURE_CLAIMS if c.figure in figures]
    if not keys:
        raise KeyError(f"no claim for {', '.join(figures)}; figures with claims: "
                       + ", ".join(dict.fromkeys(c.figure for c in FIGURE_CLAIMS)))
    t = claims_table(evaluate_all(keys, root))
    return t.drop(columns=["figure"]).rename(columns={"the paper": "the paper's claim"})


def chapter_table(*figures: str, root=None) -> pd.DataFrame:
    """The claims of a chapter's figures together (the table a chapter opens with): one row per
    claim with its figure, the paper's statement and the verdict at each rate; the criteria are
    in the claims tables under the figures (`verdicts`)."""
    keys = [c.key for c in FIGURE_CLAIMS if c.figure in figures]
    if not keys:
        raise KeyError(f"no claim for {', '.join(figures)}")
    return claims_table(evaluate_all(keys, root)).drop(columns=["measured per seed", "criterion"])
