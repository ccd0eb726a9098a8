"""What each head and each layer does: the architecture experiments (Figs. 8, 9, 16, 17, 19-23),
drawn from stored sweeps (`icmeta.sweeps.load_sweep`); nothing here trains.

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
(`icmeta.phases`), as everywhere else in the book.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://", "agg", "inline")):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .figures import draw_map, png_bytes, snapshot_subset  # noqa: E402
from .metrics import uniform_pattern  # noqa: E402
from .sweep_figures import CIRCUIT_COLORS, _final, attention_maps, nearest_snapshot, sweep_grid  # noqa: E402
from .sweeps import SweepRuns  # noqa: E402

METRICS = ("bigram", "label_attention", "chunk_example")
CIRCUITS = {  # circuit -> its (metric, layer) in each layer, Table 1
    "NCC": (("bigram", 1), ("bigram", 2)),
    "SCC": (("label_attention", 1), ("bigram", 2)),
    "FCC": (("chunk_example", 1), ("label_attention", 2)),
}
ROLE_THRESHOLD = 0.25
METRIC_COLORS = {"bigram": "#4c72b0", "label_attention": "#dd8452", "chunk_example": "#55a868"}


def uniform_value(metric: str, N: int) -> float:
    """A circuit metric's value under uniform causal attention (an untrained model)."""
    from .metrics import CIRCUIT_METRICS

    return float(CIRCUIT_METRICS[metric](uniform_pattern(N)[None, None], N)[0])


def head_frame(run, member: str | None = None, seed: int | None = None) -> pd.DataFrame:
    """A single model's circuit metrics per head: one row per (step, head), one column per metric
    and layer (``bigram_L1`` ...), every step at which the metrics were measured."""
    label, seed = run._member(member, seed)
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
    for m, r in zip(sr.members, sr.runs):
        if m.label != label:
            continue
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


def layer_table(sr: SweepRuns) -> pd.DataFrame:
    """Per setting and layer: each circuit metric at the end (head mean, mean of the last 5
    measurements; mean over seeds with the range), for depth sweeps: in which layers each pattern
    sits; and what uniform attention would give for each (they depend on N). A seed whose loss
    became NaN is left out and counted in ``seeds``."""
    from .sweep_figures import diverged_at

    rows = []
    for label in sr.labels:
        runs = [r for m, r in zip(sr.members, sr.runs) if m.label == label]
        kept = [r for r in runs if diverged_at(r) is None]
        nl = runs[0].config.model.layers
        seeds = f"{len(kept)} of {len(runs)}" + (f" ({len(runs) - len(kept)} diverged)" if len(kept) < len(runs) else "")
        for layer in range(1, nl + 1):
            row = {"setting": label, "layer": layer, "seeds": seeds}
            for k in METRICS:
                v = [_final(r.metrics, k, layer) for r in kept]
                row[k] = "–" if not v else f"{np.mean(v):.2f} ({min(v):.2f}–{max(v):.2f})" if len(v) > 1 else f"{v[0]:.2f}"
            N = runs[0].config.task.N
            row["uniform: bigram / label att. / chunk"] = " / ".join(f"{uniform_value(k, N):.2f}" for k in METRICS)
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- figures

def head_maps(run, step: int | None = None, title: str = "", heads: list[int] | None = None, seed: int | None = None):
    """Mean attention map of every layer (rows) and head (columns) at the snapshot nearest
    `step` (default: the last)."""
    pats = run.patterns(seed=seed)
    i = len(pats["steps"]) - 1 if step is None else nearest_snapshot(pats["steps"], step)
    fig = _head_grid(pats["mean"][i], heads)
    fig.suptitle(f"{title}step {int(pats['steps'][i]):,}", fontsize=9)
    return fig


def _head_grid(maps: np.ndarray, heads: list[int] | None = None, size: float = 2.0, pad: float = 0.4):
    """The maps [layers, heads, S, S] of one snapshot: layers in rows, heads (1-based; default
    all) in columns, each `size` inches."""
    nl, H = maps.shape[:2]
    heads = list(range(1, H + 1)) if heads is None else heads
    fig, axes = plt.subplots(nl, len(heads), figsize=(size * len(heads) + pad, size * nl), layout="constrained", squeeze=False)
    for j, h in enumerate(heads):
        for layer in range(nl):
            draw_map(axes[layer][j], maps[layer, h - 1], title=f"head {h}" if layer == 0 else None,
                     ylabel=f"layer {layer + 1}" if j == 0 else None)
    return fig


def head_explorer_frames(sr: SweepRuns, label: str = "heads=2", per_decade: int = 6, dpi: int = 80) -> list[dict]:
    """Frames for `icmeta.explorer.explorer_widget` from a multi-head setting: for each seed and
    attention snapshot (about `per_decade` per decade of steps, the first and last always), the
    mean map of every head (columns) in every layer (rows), and a caption with accuracy and each
    head's role at the nearest measured step, its three circuit scores and each layer's pattern
    read alone (`layer_pattern`)."""
    frames = []
    for m, r in zip(sr.members, sr.runs):
        if m.label != label:
            continue
        pats = r.patterns(seed=m.seed)
        steps = np.asarray(pats["steps"])
        keep = snapshot_subset(steps, per_decade)
        f = roles(r)
        measured = np.sort(f.step.unique())
        acc = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean()
        N = m.config.task.N
        for i, step in enumerate(steps):
            if int(step) not in keep:
                continue
            near = int(measured[np.argmin(np.abs(measured - step))])
            lines = [f"{label} · seed {m.seed} · step {int(step):,} · acc {acc.iloc[np.argmin(np.abs(acc.index - step))]:.3f}"]
            for _, h in f[f.step == near].sort_values("head").iterrows():
                rows = h.to_frame().T
                lines.append(f"head {int(h['head'])}: {h.role:<4} (NCC {h.NCC:+.2f}, SCC {h.SCC:+.2f}, FCC {h.FCC:+.2f}) · "
                             f"layer 1 {layer_pattern(rows, 1, N)}, layer 2 {layer_pattern(rows, 2, N)}")
            png = png_bytes(_head_grid(pats["mean"][i], size=2.1, pad=0.3), dpi)
            frames.append({"seed": int(m.seed), "step": int(step), "caption": "\n".join(lines), "image_png": png})
    return frames


def accuracy_overlay(sr: SweepRuns, labels: list[str] | None = None, ax=None):
    """Accuracy of every seed of the chosen settings on one axes (colour = setting, ordered)."""
    from .sweep_figures import _curves, setting_colors

    labels = labels or sr.labels
    df = _curves(sr, "acc")
    df = df[df.label.isin(labels)]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.0), layout="constrained")
    sns.lineplot(data=df, x="step", y="value", hue="label", units="seed", estimator=None, ax=ax, lw=1.0,
                 palette=setting_colors(labels), hue_order=labels)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.get_legend().set_title("")
    return ax.figure


def fig8(sr: SweepRuns, seed: int = 0):
    """Fig. 8: accuracy of the 1- and 2-head models (every seed), and the 2-head model's maps of
    each head and layer at the end (one seed)."""
    a = accuracy_overlay(sr, ["heads=1", "heads=2"])
    b = head_maps(sr.run("heads=2", seed), title=f"2 heads, seed {seed}, ", seed=seed)
    return a, b


def fig16(sr: SweepRuns, seed: int = 0):
    """Fig. 16: accuracy for every number of heads (one panel each), and the 4-head model's maps
    at the end (one seed)."""
    return sweep_grid(sr, col_wrap=3, height=2.3), head_maps(sr.run("heads=4", seed), title=f"4 heads, seed {seed}, ", seed=seed)


def fig17(sr: SweepRuns, label: str = "heads=2", seed: int = 0):
    """Fig. 17: the circuit metrics of every head (rows) and layer (columns) over training, one
    seed, with each head's role (module doc) as a coloured band under the curves."""
    r = sr.run(label, seed)
    f = roles(r)
    heads, nl = sorted(f["head"].unique()), r.config.model.layers
    fig, axes = plt.subplots(len(heads), nl, figsize=(3.4 * nl, 2.2 * len(heads)), layout="constrained",
                             squeeze=False, sharex=True, sharey=True)
    for i, h in enumerate(heads):
        d = f[f["head"] == h].sort_values("step")
        x = d.step.clip(lower=1)
        for layer in range(1, nl + 1):
            ax = axes[i][layer - 1]
            for k in METRICS:
                ax.plot(x, d[f"{k}_L{layer}"], color=METRIC_COLORS[k], lw=1.1, label=k.replace("_", " "))
            _role_band(ax, d)
            ax.set_xscale("log")
            ax.set_ylim(-0.08, 1.02)
            ax.set_title(f"head {h}, layer {layer}", fontsize=9)
    axes[0][0].legend(fontsize=7, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("step")
    fig.suptitle(f"{label}, seed {seed}: metrics per head and layer (band: the head's role)", fontsize=9)
    return fig


def _role_band(ax, d: pd.DataFrame) -> None:
    """One span per run of equal roles (from its first step to the next run's), under the curves."""
    steps = d.step.clip(lower=1).to_numpy()
    roles_ = d.role.to_numpy()
    starts = [0, *(i for i in range(1, len(roles_)) if roles_[i] != roles_[i - 1])]
    for a, b in zip(starts, [*starts[1:], len(roles_) - 1]):
        if roles_[a] in CIRCUIT_COLORS and b > a:
            ax.axvspan(steps[a], steps[b], ymin=0, ymax=0.06, color=CIRCUIT_COLORS[roles_[a]], lw=0)


def fig9(sr: SweepRuns, label: str = "heads=2", seed: int = 0):
    """Fig. 9: the head with the highest FCC score at the end (one seed): its four Table-1
    metrics over training, with the step where its layer-2 bigram peaked marked (the paper's
    SCC-like state: layer-2 bigram up while layer-1 label attention is high), and its maps at
    that step and at the end. Returns (curves, maps)."""
    r = sr.run(label, seed)
    f = roles(r).sort_values("step")
    end = f[f.step == f.step.max()].set_index("head")
    h = int(end.FCC.idxmax())
    d = f[f["head"] == h]
    peak = bigram_peak(d)
    fig, ax = plt.subplots(figsize=(5.2, 3.0), layout="constrained")
    x = d.step.clip(lower=1)
    for k, l, ls in (("label_attention", 1, "-"), ("bigram", 2, "-"), ("chunk_example", 1, "--"), ("label_attention", 2, "--")):
        ax.plot(x, d[f"{k}_L{l}"], color=METRIC_COLORS[k], ls=ls, lw=1.2, label=f"{k.replace('_', ' ')}, layer {l}")
    _role_band(ax, d)
    ax.axvline(int(peak.step), color="k", lw=0.8, ls=":", label=f"layer-2 bigram peak, step {int(peak.step):,}")
    ax.set_xscale("log")
    ax.set_ylim(-0.08, 1.02)
    ax.set_xlabel("step")
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"{label}, seed {seed}: head {h}, the highest FCC score at the end", fontsize=9)
    return fig, attention_maps(r, [int(peak.step), int(d.step.max())], title=f"head {h}", head=h, seed=seed)


def fig19(sr: SweepRuns, seed: int = 0, label: str = "N=16"):
    """Fig. 19: accuracy for every context length N (one panel each, Bayes ceilings of each N's
    draws), and the maps of the N = 16 model's two layers at the end (one seed; `end_maps`)."""
    return sweep_grid(sr, col_wrap=3, height=2.3), end_maps(sr, label, seed)


def end_maps(sr: SweepRuns, label: str, seed: int = 0):
    """The mean attention map (head mean) of every layer of one model at the end, side by side and
    large, for long contexts. The colour scale ends at the largest entry below the first row (the
    first token can attend only to itself, a 1 that would wash out the rest), with a colour bar."""
    r = sr.run(label, seed)
    pats = r.patterns(seed=seed)
    nl = pats["mean"].shape[1]
    maps = [pats["mean"][-1, layer].mean(0) for layer in range(nl)]
    vmax = float(max(m[1:].max() for m in maps))
    fig, axes = plt.subplots(1, nl, figsize=(3.9 * nl + 0.8, 4.1), layout="constrained", squeeze=False)
    for layer in range(nl):
        im = draw_map(axes[0][layer], maps[layer], title=f"layer {layer + 1}", vmax=vmax)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="attention")
    fig.suptitle(f"{label}, lr {r.config.train.lr:g}, seed {seed}, step {int(pats['steps'][-1]):,}", fontsize=9)
    return fig


def fig20(sr: SweepRuns, early: int | None = None, seed: int = 0):
    """Fig. 20: the standard transformer's accuracy (every seed) and its maps at step `early`
    (default: the middle, on a log scale, of the seed's SCC plateau, else of its first plateau,
    else where accuracy first passes half-way to its final value) and at the end (one seed)."""
    r = sr.run(sr.labels[0], seed)
    early = _early_step(r) if early is None else early
    maps = attention_maps(r, [early, r.last_step], title=f"seed {seed}", seed=seed)
    return sweep_grid(sr, height=2.6), maps


def _early_step(run) -> int:
    pt = run.phases()
    if len(pt):
        p = pt[pt.circuit == "SCC"].iloc[0] if (pt.circuit == "SCC").any() else pt.iloc[0]
        return int(math.sqrt(max(p.start, 1) * max(p.end, 1)))
    from .tables import first_step

    acc = run.metrics[run.metrics.metric == "acc"].sort_values("step")
    half = (acc.value.iloc[0] + _final(run.metrics)) / 2
    return first_step(run.metrics, half) or int(acc.step.iloc[-1])


def fig23(sr: SweepRuns, labels: tuple[str, ...] = ("layers=3", "layers=4", "layers=5"), seed: int = 0):
    """Fig. 23: the maps of every layer (rows) of the deeper models (columns) at the end, one seed."""
    runs = [sr.run(label, seed) for label in labels]
    pats = [r.patterns(seed=seed) for r in runs]
    depth = max(p["mean"].shape[1] for p in pats)
    fig, axes = plt.subplots(depth, len(runs), figsize=(2.1 * len(runs) + 0.4, 2.0 * depth), layout="constrained", squeeze=False)
    layers = [p["mean"].shape[1] for p in pats]
    for j, (label, p) in enumerate(zip(labels, pats)):
        for layer in range(depth):
            ax = axes[layer][j]
            if layer >= layers[j]:
                ax.axis("off")
                continue
            first = min(k for k, n in enumerate(layers) if n > layer)  # the first column with this layer
            draw_map(ax, p["mean"][-1, layer].mean(0), title=label if layer == 0 else None,
                     ylabel=f"layer {layer + 1}" if j == first else None)
    fig.suptitle(f"seed {seed}, step {int(pats[0]['steps'][-1]):,}", fontsize=9)
    return fig


def label_accuracy(sr: SweepRuns, label: str = "loss=all_labels") -> pd.DataFrame:
    """Per seed of the all-labels setting: the final accuracy (mean of the last 5 measurements)
    at each context label, predicted at its item from the pairs before it, at the query, and
    their mean (what the all-labels loss is the mean over)."""
    rows = []
    for m, r in zip(sr.members, sr.runs):
        if m.label != label:
            continue
        row = {"seed": m.seed}
        for k in range(1, m.config.task.N + 1):
            row[f"label {k}"] = _final(r.metrics, f"acc_label{k}")
        row["query"] = _final(r.metrics)
        row["all positions (mean)"] = float(np.mean([v for k, v in row.items() if k != "seed"]))
        rows.append(row)
    return pd.DataFrame(rows)


def fig21(sr: SweepRuns):
    """Fig. 21: query accuracy with the loss on the query's label only and on every label (every
    seed), and, for the all-labels models, the accuracy at each label position over training."""
    fig, axes = plt.subplots(1, 2, figsize=(9.2, 3.0), layout="constrained")
    accuracy_overlay(sr, ax=axes[0])
    axes[0].set_title("query accuracy", fontsize=9)
    N = sr.members[0].config.task.N
    pal = sns.color_palette("rocket", N + 1)
    for m, r in zip(sr.members, sr.runs):
        if m.config.train.loss != "all_labels":
            continue
        for k in range(1, N + 2):
            name = f"acc_label{k}" if k <= N else "acc"
            d = r.metrics[r.metrics.metric == name].sort_values("step")
            axes[1].plot(d.step.clip(lower=1), d.value, color=pal[k - 1], lw=0.9, alpha=0.8,
                         label=(f"label {k}" if k <= N else "query") if m.seed == sr.members[0].seed else None)
    axes[1].set_xscale("log")
    axes[1].set_ylim(0, 1.02)
    axes[1].set_xlabel("step")
    axes[1].set_title("all labels: accuracy at each position (every seed)", fontsize=9)
    axes[1].legend(fontsize=7)
    return fig


def fig22(sr: SweepRuns):
    """Fig. 22: accuracy of the attention-only models of every depth (one panel each)."""
    return sweep_grid(sr, col_wrap=2, height=2.3)


# --------------------------------------------------------------- `python -m icmeta figure`

def _load(name, preset, seeds, root):
    from .sweeps import load_sweep

    return load_sweep(name, preset, seeds, root=root)


def _first(seeds) -> int:
    return list(seeds)[0] if seeds else 0


RATE_COLORS = [sns.color_palette("colorblind")[i] for i in (1, 2, 0)]  # lr 0.1, 0.03, 0.01: orange, green, blue


def fig16_paper(fast: SweepRuns, slow: SweepRuns, gpu: SweepRuns, xlim: tuple[float, float] = (3e3, 2e5)):
    """Fig. 16's 2 and 4 heads at three rates (`fast`, its lr check, the paper's lr 0.01 from a
    GPU) on the paper's clock (step x lr / 0.01), one colour per rate and one line per seed, zoomed
    in on `xlim`, where the runs pass the context-free level (gray: its ceiling, mean over seeds)."""
    from .sweep_figures import clock_frame

    df = clock_frame(fast, slow, gpu)
    lrs = list(dict.fromkeys(df.lr))
    g = sns.relplot(data=df, x="clock", y="value", col="label", hue="lr", hue_order=lrs, units="seed",
                    estimator=None, kind="line", palette=dict(zip(lrs, RATE_COLORS)), height=3.2, aspect=1.3, linewidth=1.0)
    for label, ax in g.axes_dict.items():
        ceil = np.mean([r.ceilings()[0]["ignore"] for m, r in zip(gpu.members, gpu.runs) if m.label == label])
        ax.axhline(ceil, color="gray", ls=":", lw=0.9)
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    g.set(ylim=(0, 1.02), xlim=xlim)
    g.set_axis_labels("step × lr / 0.01 (the paper's clock)", "accuracy")
    g.legend.set_title("")
    g.figure.suptitle("2 and 4 heads at three learning rates (lr 0.01: the paper's, on a GPU)", fontsize=10, y=1.03)
    return g.figure


def _gpu_check(name, preset, seeds, root):
    """A GPU check (`icmeta.sweeps.GPU_CHECKS`) beside its base settings at `fast` and at the lr
    check's rate: the three rates on the paper's clock (`fig16_paper`, the only check so far)."""
    from .config import ConfigError
    from .sweeps import GPU_CHECKS, load_gpu_check, load_lr_check

    if preset != "fast":
        raise ConfigError("preset", preset, f"fast ({name} sets the paper preset's lr 0.01 beside fast and its lr check)")
    fast, slow = load_lr_check(f"{GPU_CHECKS[name].base}_lr", seeds, root)
    gpu = load_gpu_check(name, seeds, None if root is None else Path(root) / "gpu" / name)
    return fig16_paper(fast, slow, gpu)


# name -> (preset, seeds, root) -> [(file stem, Figure)]; nothing trains (see icmeta.sweep_figures)
ARCH_FIGURES = {
    "fig8": lambda p, s, root: list(zip(("fig8a", "fig8b"), fig8(_load("fig16", p, s, root), _first(s)))),
    "fig9": lambda p, s, root: list(zip(("fig9", "fig9_maps"), fig9(_load("fig16", p, s, root), seed=_first(s)))),
    "fig16": lambda p, s, root: list(zip(("fig16a", "fig16b"), fig16(_load("fig16", p, s, root), _first(s)))),
    "fig17": lambda p, s, root: [("fig17", fig17(_load("fig16", p, s, root), seed=_first(s)))],
    "fig16_paper": lambda p, s, root: [("fig16_paper", _gpu_check("fig16_paper", p, s, root))],
    "fig19": lambda p, s, root: list(zip(("fig19a", "fig19b"), fig19(_load("fig19", p, s, root), _first(s)))),
    "fig20": lambda p, s, root: list(zip(("fig20a", "fig20b"), fig20(_load("fig20", p, s, root), seed=_first(s)))),
    "fig21": lambda p, s, root: [("fig21", fig21(_load("fig21", p, s, root)))],
    "fig22": lambda p, s, root: [("fig22", fig22(_load("fig22", p, s, root)))],
    "fig23": lambda p, s, root: [("fig23", fig23(_load("fig22", p, s, root), seed=_first(s)))],
}


def role_rules(N: int = 4) -> pd.DataFrame:
    """The naming rule as a table: per circuit, its metric in each layer and their uniform values."""
    return pd.DataFrame([{"circuit": c, "layer 1": a.replace("_", " "), "uniform (layer 1)": uniform_value(a, N),
                          "layer 2": b.replace("_", " "), "uniform (layer 2)": uniform_value(b, N)}
                         for c, ((a, _), (b, _)) in CIRCUITS.items()])
