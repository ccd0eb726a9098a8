"""What a claim measures of the circuits: attention metrics over a plateau or at the end,
random-label accuracy, and the roles heads settle into (the interface is `measures.Measure`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...store.io import StoreError
from ..heads import METRICS, roles, uniform_value
from ..summaries import acc_curve, final_value, longest_plateau, plateau_middle, stretches, window_value
from .measures import ABOUT, ABOVE, Measure, NotMeasured, join_settings, no_jump


class OverAPlateau(Measure):
    """A measure read over the plateau of its `circuit` (under each reading of a plateau), or at
    the end where `circuit` is None (then once: no plateau is read). A base: its measures declare
    `circuit` as a field."""

    @property
    def uses_reading(self) -> bool:
        return self.circuit is not None


@dataclass(frozen=True)
class Metric(OverAPlateau):
    """A circuit metric minus its uniform value at every setting, over the plateau of `circuit`
    (under each reading) or over the last 5 evaluations (`circuit` None): at least `ABOVE` (or,
    `above=False`, below that)."""

    settings: tuple[str, ...]
    metric: str
    layer: int
    circuit: str | None = None
    above: bool = True

    def __call__(self, sr, seed, reading):
        per, ok = {}, True
        for s in self.settings:
            r = sr.run(s, seed)
            if not ((r.metrics.metric == self.metric) & (r.metrics.layer == self.layer)).any():
                raise NotMeasured(f"no layer-{self.layer} {self.metric.replace('_', ' ')} recorded")
            u = uniform_value(self.metric, r.config.task.N)
            if self.circuit is None:
                v = final_value(r.metrics, self.metric, self.layer)
            else:
                p = longest_plateau(r, seed, reading, self.circuit)
                if p is None:
                    per[s], ok = f"no {self.circuit} plateau", False
                    continue
                v = window_value(r, seed, self.metric, self.layer, p.start, p.end)
            per[s] = f"{v:.2f} − {u:.2f} = {v - u:+.2f}"
            ok = ok and (v - u >= ABOVE) == self.above
        return join_settings(per), ok


@dataclass(frozen=True)
class MetricsSwitch(Measure):
    """Fig. 4: the circuit metrics change at the phase boundaries. At every jump between two
    plateaus, some circuit metric (`heads.METRICS`, either layer) moves by at least `ABOVE` between
    the medians over the two plateaus, and by more than it moves within either of them (its
    median over the plateau's first third against its last third)."""

    settings: tuple[str, ...]
    uses_reading: ClassVar[bool] = True

    def __call__(self, sr, seed, reading):
        r = sr.run(self.settings[0], seed)
        found = stretches(r, seed, reading)
        if len(found) < 2:
            return no_jump(found)

        def drift(metric, layer, p):  # the change within a plateau: its last third against its first
            lo, hi = np.log10(max(p.start, 1)), np.log10(max(p.end, 1))
            edges = 10 ** np.linspace(lo, hi, 4)
            d = abs(window_value(r, seed, metric, layer, edges[2], p.end)
                    - window_value(r, seed, metric, layer, p.start, edges[1]))
            return 0.0 if np.isnan(d) else d  # too few evaluations on a short plateau to see a drift

        switched = []
        for a, b in zip(found, found[1:]):
            best = None
            for metric in METRICS:
                for layer in (1, 2):
                    move = abs(window_value(r, seed, metric, layer, b.start, b.end)
                               - window_value(r, seed, metric, layer, a.start, a.end))
                    if move >= ABOVE and move > max(drift(metric, layer, a), drift(metric, layer, b)):
                        if best is None or move > best[0]:
                            best = (move, f"L{layer} {metric.replace('_', ' ')} {move:+.2f}")
            switched.append(best)
        shown = "; ".join(f"jump {i + 1}: {b[1] if b else 'none'}" for i, b in enumerate(switched))
        return shown, all(switched)


@dataclass(frozen=True)
class OnePair(Measure):
    """Fig. 12: at the last attention snapshot, in the evaluation set's example sequence, the query
    row of `layer` (mean over heads) puts at least `share` of its attention on one context pair
    (its item and label together): it attends to one pair and copies its label. The stored mean
    pattern cannot say this (averaged over sequences, the matching pair moves), so one sequence
    per seed is read."""

    setting: str
    layer: int = 2
    share: float = 0.5

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        member = self.setting if self.setting in {label for label, _ in r.members} else None
        try:
            ex = r.patterns(member, seed)["example"]
        except StoreError as e:  # no patterns stored for this member
            raise NotMeasured(f"no attention snapshot stored ({e})") from None
        row = ex[-1, self.layer - 1].mean(axis=0)[-1]  # the query's row at the last snapshot
        pairs = row[:-1].reshape(-1, 2).sum(axis=1)  # (item, label) of each context pair
        k = int(np.argmax(pairs))
        return f"pair {k + 1} of {len(pairs)}: {pairs[k]:.2f}", bool(pairs[k] >= self.share)


@dataclass(frozen=True)
class RLA(OverAPlateau):
    """Accuracy minus random-label accuracy of the main run over the plateau of `circuit` (medians
    over it), or at the end (`circuit` None): at most `gap_max`, at least `gap_min`, or within
    `ABOUT` of `gap_near`."""

    circuit: str | None = None
    gap_max: float | None = None
    gap_min: float | None = None
    gap_near: float | None = None
    settings: tuple[str, ...] = ("main",)

    def __call__(self, sr, seed, reading):
        r = sr.run(self.settings[0], seed)
        if not (r.metrics.metric == "rla").any():
            raise NotMeasured("no random-label accuracy recorded")
        if self.circuit is None:
            a, b = final_value(r.metrics, "acc"), final_value(r.metrics, "rla")
        else:
            p = longest_plateau(r, seed, reading, self.circuit)
            if p is None:
                return f"no {self.circuit} plateau", False
            steps, acc = acc_curve(r, seed)
            rs, rla = acc_curve(r, seed, "rla")
            a = float(np.median(acc[(steps >= p.start) & (steps <= p.end)]))
            inside = (rs >= p.start) & (rs <= p.end)
            if not inside.any():  # RLA is measured less often: the evaluation nearest the plateau's middle
                inside = np.arange(len(rs)) == np.argmin(np.abs(np.log(rs) - np.log(plateau_middle(p.start, p.end))))
            b = float(np.median(rla[inside]))
        gap = a - b
        ok = ((self.gap_max is None or gap <= self.gap_max) and (self.gap_min is None or gap >= self.gap_min)
              and (self.gap_near is None or abs(gap - self.gap_near) <= ABOUT))
        return f"{a:.3f} − {b:.3f} = {gap:+.3f}", ok


@dataclass(frozen=True)
class Roles(Measure):
    """At the end (the last 5 measurements' majority) the heads hold at least these roles
    (``(("NCC", 1), ("FCC", 1))``: one NCC head and one FCC head)."""

    setting: str
    want: tuple[tuple[str, int], ...]

    def __call__(self, sr, seed, reading=None):
        f = roles(sr.run(self.setting, seed))
        end = f.groupby("head").apply(lambda d: d.role.iloc[-5:].mode().iloc[0], include_groups=False)
        have = end.value_counts().to_dict()
        return ", ".join(f"head {h}: {v}" for h, v in end.items()), all(have.get(k, 0) >= n for k, n in self.want)


@dataclass(frozen=True)
class Transient(Measure):
    """Fig. 9: in the head with the highest FCC score at the end, at the step where its layer-2
    bigram peaks, its layer-1 label attention is at least `ABOVE` over uniform (an SCC-like state)."""

    setting: str

    def __call__(self, sr, seed, reading=None):
        r = sr.run(self.setting, seed)
        f = roles(r)
        last = f[f.step == f.step.max()]
        h = int(last.loc[last.FCC.idxmax(), "head"])
        d = f[f["head"] == h]
        peak = d.loc[d.bigram_L2.idxmax()]
        u = uniform_value("label_attention", r.config.task.N)
        v = float(peak.label_attention_L1)
        return (f"head {h}: L2 bigram {peak.bigram_L2:.2f} at step {int(peak.step):,}, L1 label att. {v:.2f} "
                f"(uniform {u:.2f})"), v - u >= ABOVE
