"""The architecture figures (Figs. 8, 9, 16, 17, 19-23): per-head maps and metrics with each head's
role (`icmeta.analysis.heads`), depth, context length and the standard transformer.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..analysis.heads import METRICS, fcc_head_peak, roles
from ..analysis.summaries import (
    CLOCK_LABEL,
    clock_frame,
    curves,
    early_step,
    nearest_snapshot,
)
from ..experiments.load import SweepRuns
from .palette import LEVEL_SHADE, METRICS as METRIC_COLORS, level_line, ordered, rate_style, setting_colors, shade
from .style import (
    PAGE_WIDTH,
    SMALLEST_FONT,
    draw_map,
    head_grid,
    map_colorbar,
)
from .sweeps import attention_maps, sweep_grid


def head_maps(run, step: int | None = None, title: str = "", heads: list[int] | None = None, seed: int | None = None):
    """Mean attention map of every layer (rows) and head (columns) at the snapshot nearest
    `step` (default: the last)."""
    pats = run.patterns(seed=seed)
    i = len(pats["steps"]) - 1 if step is None else nearest_snapshot(pats["steps"], step)
    fig = head_grid(pats["mean"][i], heads)
    fig.suptitle(f"{title}step {int(pats['steps'][i]):,}", fontsize=9)
    return fig


def accuracy_overlay(sr: SweepRuns, labels: list[str] | None = None, ax=None):
    """Accuracy of every seed of the chosen settings on one axes (colour = setting, ordered)."""

    labels = labels or sr.labels
    df = curves(sr, "acc")
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
    fig, axes = plt.subplots(len(heads), nl, figsize=(min(3.4 * nl, PAGE_WIDTH), 2.2 * len(heads)), layout="constrained",
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
    axes[0][0].legend(fontsize=SMALLEST_FONT, loc="upper left")
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
        if roles_[a] in LEVEL_SHADE and roles_[a] != "one level" and b > a:
            shade(ax, steps[a], steps[b], roles_[a], ymin=0, ymax=0.06)


def fig9(sr: SweepRuns, label: str = "heads=2", seed: int = 0):
    """Fig. 9: the head with the highest FCC score at the end (one seed): its four Table-1
    metrics over training, with the step where its layer-2 bigram peaked marked (the paper's
    SCC-like state: layer-2 bigram up while layer-1 label attention is high), and its maps at
    that step and at the end. Returns (curves, maps)."""
    r = sr.run(label, seed)
    h, d, peak = fcc_head_peak(roles(r))
    fig, ax = plt.subplots(figsize=(5.2, 3.0), layout="constrained")
    x = d.step.clip(lower=1)
    for k, l, ls in (("label_attention", 1, "-"), ("bigram", 2, "-"), ("chunk_example", 1, "--"), ("label_attention", 2, "--")):
        ax.plot(x, d[f"{k}_L{l}"], color=METRIC_COLORS[k], ls=ls, lw=1.2, label=f"{k.replace('_', ' ')}, layer {l}")
    _role_band(ax, d)
    ax.axvline(int(peak.step), color="k", lw=0.8, ls=":", label=f"layer-2 bigram peak, step {int(peak.step):,}")
    ax.set_xscale("log")
    ax.set_ylim(-0.08, 1.02)
    ax.set_xlabel("step")
    ax.legend(fontsize=SMALLEST_FONT, loc="upper left")
    ax.set_title(f"{label}, seed {seed}: head {h}, the highest FCC score at the end", fontsize=9)
    return fig, attention_maps(r, [int(peak.step), int(d.step.max())], title=f"head {h}", head=h, seed=seed)


def fig19(sr: SweepRuns, seed: int = 0, label: str = "N=16"):
    """Fig. 19: accuracy for every context length N (one panel each, Bayes ceilings of each N's
    draws), and the maps of the N = 16 model's two layers at the end (one seed; `end_maps`)."""
    return sweep_grid(sr, col_wrap=3, height=2.3), end_maps(sr, label, seed)


def end_maps(sr: SweepRuns, label: str, seed: int = 0):
    """The mean attention map (head mean) of every layer of one model at the end, side by side and
    as large as the page's width allows, for long contexts (the rows named on the first). The colour
    scale ends at the largest entry below the first row (the first token can attend only to itself,
    a 1 that would wash out the rest), with a colour bar."""
    r = sr.run(label, seed)
    pats = r.patterns(seed=seed)
    nl = pats["mean"].shape[1]
    maps = [pats["mean"][-1, layer].mean(0) for layer in range(nl)]
    vmax = float(max(m[1:].max() for m in maps))
    size = min(3.9, (PAGE_WIDTH - 1.0) / nl)  # each map, inches
    fig, axes = plt.subplots(1, nl, figsize=(size * nl + 1.0, size + 0.4), layout="constrained", squeeze=False)
    for layer in range(nl):
        im = draw_map(axes[0][layer], maps[layer], title=f"layer {layer + 1}", vmax=vmax, yticklabels=layer == 0)
    map_colorbar(fig, im, axes[0].tolist(), vmax=vmax)
    fig.suptitle(f"{label}, lr {r.config.train.lr:g}, seed {seed}, step {int(pats['steps'][-1]):,}", fontsize=9)
    return fig


def fig20(sr: SweepRuns, early: int | None = None, seed: int = 0):
    """Fig. 20: the standard transformer's accuracy (every seed) and its maps at step `early`
    (default: the middle, on a log scale, of the seed's SCC plateau, else of its first plateau,
    else where accuracy first passes half-way to its final value) and at the end (one seed)."""
    r = sr.run(sr.labels[0], seed)
    early = early_step(r) if early is None else early
    maps = attention_maps(r, [early, r.last_step], title=f"seed {seed}", seed=seed)
    return sweep_grid(sr, height=2.6), maps


def fig23(sr: SweepRuns, labels: tuple[str, ...] = ("layers=3", "layers=4", "layers=5"), seed: int = 0):
    """Fig. 23: the maps of every layer (rows) of the deeper models (columns) at the end, one seed."""
    runs = [sr.run(label, seed) for label in labels]
    pats = [r.patterns(seed=seed) for r in runs]
    depth = max(p["mean"].shape[1] for p in pats)
    size = min(2.1, (PAGE_WIDTH - 0.4) / len(runs))  # each map, inches: the columns fit the page (colour bar below)
    fig, axes = plt.subplots(depth, len(runs), figsize=(size * len(runs) + 0.4, size * depth + 0.6), layout="constrained",
                             squeeze=False)
    layers = [p["mean"].shape[1] for p in pats]
    for j, (label, p) in enumerate(zip(labels, pats)):
        for layer in range(depth):
            ax = axes[layer][j]
            if layer >= layers[j]:
                ax.axis("off")
                continue
            first = min(k for k, n in enumerate(layers) if n > layer)  # the first column with this layer
            im = draw_map(ax, p["mean"][-1, layer].mean(0), title=label if layer == 0 else None,
                          ylabel=f"layer {layer + 1}" if j == first else None, yticklabels=j == first,
                          xticklabels=layer == layers[j] - 1)
    map_colorbar(fig, im, [ax for ax in axes.ravel() if ax.images], location="bottom")
    fig.suptitle(f"seed {seed}, step {int(pats[0]['steps'][-1]):,}", fontsize=9)
    return fig


def fig21(sr: SweepRuns):
    """Fig. 21: query accuracy with the loss on the query's label only and on every label (every
    seed), and, for the all-labels models, the accuracy at each label position over training."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.0), layout="constrained")
    accuracy_overlay(sr, ax=axes[0])
    axes[0].set_title("query accuracy", fontsize=9)
    N = sr.members[0].config.task.N
    pal = ordered(N + 1)
    for m, r in sr.pairs():
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
    axes[1].set_title("all labels: accuracy at each position\n(every seed)", fontsize=9)
    axes[1].legend(fontsize=SMALLEST_FONT)
    return fig


def fig22(sr: SweepRuns):
    """Fig. 22: accuracy of the attention-only models of every depth (one panel each)."""
    return sweep_grid(sr, col_wrap=2, height=2.3)


def fig16_paper(fast: SweepRuns, slow: SweepRuns, gpu: SweepRuns, xlim: tuple[float, float] = (3e3, 2e5)):
    """Fig. 16's 2 and 4 heads at three rates (`fast`, its lr check, the paper's lr 0.01 from a
    GPU) on the paper's clock (step x lr / 0.01), one colour per rate and one line per seed, zoomed
    in on `xlim`, where the runs pass the context-free level (its ceiling in its level's colour, mean
    over seeds); each rate in its colour, with its marker and dashes."""

    df = clock_frame(fast, slow, gpu)
    lrs = list(dict.fromkeys(df.lr))
    height = min(3.2, (PAGE_WIDTH - 1.0) / (df.label.nunique() * 1.3))  # the panels and the legend fit the page's width
    styles = {lr: rate_style(float(lr.split()[-1])) for lr in lrs}
    g = sns.relplot(data=df, x="clock", y="value", col="label", hue="lr", hue_order=lrs, style="lr", style_order=lrs,
                    units="seed", estimator=None, kind="line", palette={k: s.color for k, s in styles.items()},
                    dashes={k: s.dashes or "" for k, s in styles.items()}, markers={k: s.marker for k, s in styles.items()},
                    markevery=0.08, markersize=3.5, height=height, aspect=1.3, linewidth=1.0)
    for label, ax in g.axes_dict.items():
        ceil = np.mean([r.ceilings()[0]["ignore"] for r in gpu.runs_of(label)])
        level_line(ax, float(ceil), "NCC", ls=":", lw=0.9)
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    g.set(ylim=(0, 1.02), xlim=xlim)
    g.set_axis_labels(CLOCK_LABEL, "accuracy")
    g.legend.set_title("")
    g.figure.suptitle("2 and 4 heads at three learning rates (lr 0.01: the paper's, on a GPU)", fontsize=10, y=1.03)
    return g.figure
