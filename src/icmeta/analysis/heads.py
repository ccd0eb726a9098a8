"""What each head and each layer does (Figs. 8, 9, 16, 17, 19-23), read from stored sweeps.

**Head roles.** Table 1 of the paper names each circuit by one metric in each layer:

    NCC  layer-1 bigram           and layer-2 bigram           (both layers attend to self)
    SCC  layer-1 label attention  and layer-2 bigram
    FCC  layer-1 chunk example    and layer-2 label attention

Each metric is put on one scale, its **lift**: 0 at its value under uniform attention (an
untrained model) and 1 at its largest possible value, lift = (value - uniform) / (1 - uniform).
A circuit's **score** for one head is the smaller lift of its two metrics (both layers must
show it), and the head's **role** at a step is the circuit with the highest score when that
score reaches `ROLE_THRESHOLD` (a quarter of the way from uniform to the pure pattern in both
layers), else "none".

In a model with m heads, head h of layer 1 and head h of layer 2 are not wired to each other
(every layer-2 head reads the sum of all layer-1 heads); the paper nevertheless reads its
multi-head models head by head, layer-1 head h with layer-2 head h (Figs. 8, 9, 17), and so
does `add_roles`. The roles are for multi-head models, where heads divide the work: a single
head must do everything at once, and in the one-head main run its final FCC state keeps most
of layer 2's attention on the query itself (label attention 0.25-0.38, below its uniform value
of 0.44), so it scores as no clean circuit; one-head states are named by their accuracy
(`icmeta.analysis.phases`), as everywhere else in the book.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.metrics import CIRCUIT_METRICS, uniform_pattern
from ..experiments.load import SweepRuns
from .summaries import diverged_at, final_value

METRICS = ("bigram", "label_attention", "chunk_example")


CIRCUITS = {  # circuit -> its (metric, layer) in each layer, Table 1
    "NCC": (("bigram", 1), ("bigram", 2)),
    "SCC": (("label_attention", 1), ("bigram", 2)),
    "FCC": (("chunk_example", 1), ("label_attention", 2)),
}


ROLE_THRESHOLD = 0.25


def uniform_value(metric: str, N: int) -> float:
    """A circuit metric's value under uniform causal attention (an untrained model)."""

    return float(CIRCUIT_METRICS[metric](uniform_pattern(N)[None, None], N)[0])


def head_frame(run, member: str | None = None, seed: int | None = None) -> pd.DataFrame:
    """A single model's circuit metrics per head: one row per (step, head), one column per metric
    and layer (``bigram_L1`` ...), every step at which the metrics were measured."""
    label, seed = run.member(member, seed)
    m = run.metrics
    m = m[(m.member == label) & (m.seed == seed) & m.metric.isin(METRICS)]
    wide = m.pivot_table(index=["step", "head"], columns=["metric", "layer"], values="value")
    wide.columns = [f"{k}_L{int(l)}" for k, l in wide.columns]
    return wide.reset_index().astype({"step": int, "head": int})


def lift(metric: str, value, N: int):
    """`value` on its metric's 0-1 scale: 0 under uniform attention, 1 at the pure pattern."""
    u = uniform_value(metric, N)
    return (np.asarray(value, dtype=float) - u) / (1 - u)


def add_roles(frame: pd.DataFrame, N: int, threshold: float = ROLE_THRESHOLD) -> pd.DataFrame:
    """`frame` (from `head_frame`, a model with N context pairs) with each circuit's score and
    the head's role (module doc)."""
    out = frame.copy()
    for circuit, pair in CIRCUITS.items():
        out[circuit] = np.minimum(*(lift(k, out[f"{k}_L{l}"], N) for k, l in pair))
    scores = out[list(CIRCUITS)]
    out["role"] = scores.idxmax(axis=1).where(scores.max(axis=1) >= threshold, "none")
    return out


def roles(run, member: str | None = None, seed: int | None = None) -> pd.DataFrame:
    """`head_frame` of one model with its circuit scores and roles (`add_roles`)."""
    return add_roles(head_frame(run, member, seed), run.config.task.N).sort_values(["head", "step"])


def head_roles(sr: SweepRuns, label: str) -> pd.DataFrame:
    """Per seed and head of one setting: its role at the end (the last 5 measurements' majority)
    and the first step from which it kept it, its three circuit scores at the end (mean of the
    last 5 measurements), and the transient of Fig. 9: the step where its layer-2 bigram peaked
    (`bigram_peak`), that peak and its layer-1 label attention at that step."""
    rows = []
    for m, r in sr.pairs(label):
        f = roles(r)
        for h, d in f.groupby("head"):
            last = d.iloc[-5:]
            role = last.role.mode().iloc[0]
            other = d.step[d.role != role]
            since = d.step[d.step > other.max()].min() if len(other) else d.step.min()
            peak = bigram_peak(d)
            rows.append({"seed": m.seed, "head": int(h), "role at end": role,
                         "since step": None if pd.isna(since) else int(since),
                         "layer 1 at end": layer_pattern(last, 1, m.config.task.N),
                         "layer 2 at end": layer_pattern(last, 2, m.config.task.N),
                         **{c: float(last[c].mean()) for c in CIRCUITS},
                         "L2 bigram peak at step": int(peak.step), "L2 bigram peak": float(peak.bigram_L2),
                         "L1 label att. then": float(peak.label_attention_L1),
                         "L2 bigram at end": float(last.bigram_L2.mean())})
    return pd.DataFrame(rows)


def layer_pattern(rows: pd.DataFrame, layer: int, N: int, threshold: float = ROLE_THRESHOLD) -> str:
    """One head's pattern in one layer, read alone (no pairing across layers): the metric with
    the highest lift (mean over `rows`) and that lift, e.g. ``chunk 0.28``, or ``none`` below
    `threshold`. Layer 1 can show bigram, label attention or chunk example; later layers bigram
    or label attention (chunk example is a layer-1 pattern in Table 1)."""
    names = METRICS if layer == 1 else ("bigram", "label_attention")
    lifts = {k: float(lift(k, rows[f"{k}_L{layer}"].mean(), N)) for k in names}
    best = max(lifts, key=lifts.get)
    short = {"bigram": "self", "label_attention": "labels", "chunk_example": "chunk"}[best]
    return f"{short} {lifts[best]:.2f}" if lifts[best] >= threshold else "none"


def bigram_peak(d: pd.DataFrame) -> pd.Series:
    """The row (of one head's `roles` frame) where its layer-2 bigram is highest."""
    return d.loc[d.bigram_L2.idxmax()]


def fcc_head_peak(f: pd.DataFrame) -> tuple[int, pd.DataFrame, pd.Series]:
    """Of a `roles` frame: the head with the highest FCC score at the end, its rows (by step) and
    the row of its layer-2 bigram peak (`bigram_peak`: the moment Fig. 9 shows)."""
    end = f[f.step == f.step.max()].set_index("head")
    h = int(end.FCC.idxmax())
    d = f[f["head"] == h].sort_values("step")
    return h, d, bigram_peak(d)


def layer_table(sr: SweepRuns) -> pd.DataFrame:
    """Per setting and layer: each circuit metric at the end (head mean, mean of the last 5
    measurements; mean over seeds with the range), for depth sweeps: in which layers each pattern
    sits; and what uniform attention would give for each (they depend on N). A seed whose loss
    became NaN is left out and counted in ``seeds``."""

    rows = []
    for label in sr.labels:
        runs = sr.runs_of(label)
        kept = [r for r in runs if diverged_at(r) is None]
        nl = runs[0].config.model.layers
        seeds = f"{len(kept)} of {len(runs)}" + (f" ({len(runs) - len(kept)} diverged)" if len(kept) < len(runs) else "")
        for layer in range(1, nl + 1):
            row = {"setting": label, "layer": layer, "seeds": seeds}
            for k in METRICS:
                v = [final_value(r.metrics, k, layer) for r in kept]
                row[k] = "–" if not v else f"{np.mean(v):.2f} ({min(v):.2f}–{max(v):.2f})" if len(v) > 1 else f"{v[0]:.2f}"
            N = runs[0].config.task.N
            row["uniform: bigram / label att. / chunk"] = " / ".join(f"{uniform_value(k, N):.2f}" for k in METRICS)
            rows.append(row)
    return pd.DataFrame(rows)


def label_accuracy(sr: SweepRuns, label: str = "loss=all_labels") -> pd.DataFrame:
    """Per seed of the all-labels setting: the final accuracy (mean of the last 5 measurements)
    at each context label, predicted at its item from the pairs before it, at the query, and
    their mean (what the all-labels loss is the mean over)."""
    rows = []
    for m, r in sr.pairs(label):
        row = {"seed": m.seed}
        for k in range(1, m.config.task.N + 1):
            row[f"label {k}"] = final_value(r.metrics, f"acc_label{k}")
        row["query"] = final_value(r.metrics)
        row["all positions (mean)"] = float(np.mean([v for k, v in row.items() if k != "seed"]))
        rows.append(row)
    return pd.DataFrame(rows)


def role_rules(N: int = 4) -> pd.DataFrame:
    """The naming rule as a table: per circuit, its metric in each layer and their uniform values."""
    return pd.DataFrame([{"circuit": c, "layer 1": a.replace("_", " "), "uniform (layer 1)": uniform_value(a, N),
                          "layer 2": b.replace("_", " "), "uniform (layer 2)": uniform_value(b, N)}
                         for c, ((a, _), (b, _)) in CIRCUITS.items()])
