"""The main run's figures (Figs. 2, 3, 4, the intro's summary) and the reproduction-notes figures.

Every function takes a stored `Run` (or the runs it compares) and returns a matplotlib Figure.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..analysis import phases as P
from ..analysis.summaries import acc_curve as claim_curve
from ..analysis.summaries import ceilings_of
from ..analysis.phases import run_floors
from ..analysis.readings import READINGS, circuits, read
from ..analysis.summaries import (
    CLOCK_LABEL,
    nearest_snapshot,
    paper_clock,
    plateau_middle,
    shuffled_plateaus,
)
from .palette import LAYER_STYLES, METRICS, rate_kw, seed_color, shade
from .style import (
    METRIC_TITLES,
    PAGE_WIDTH,
    SMALLEST_FONT,
    ceiling_lines,
    draw_map,
    map_colorbar,
    shade_phases,
)

LOSS_COLOR = "#99000d"  # the loss on a twin axis: dark red, no level's hue


def series(metrics: pd.DataFrame, metric: str, member: str | None = None, seed: int | None = None,
           layer: int | None = None) -> pd.DataFrame:
    """Rows of one metric (head-averaged), optionally one member/seed/layer, sorted by step."""
    df = metrics[metrics.metric == metric]
    if member is not None:
        df = df[df.member == member]
    if seed is not None:
        df = df[df.seed == seed]
    if layer is not None:
        df = df[df.layer == layer]
    keys = ["member", "seed", "step"] + (["layer"] if df.layer.notna().any() else [])
    return df.groupby(keys, dropna=False).value.mean().reset_index().sort_values("step")


def _detect(metrics: pd.DataFrame, member: str, seed: int, floors: dict | None = None) -> P.Phases:
    acc = series(metrics, "acc", member, seed)
    return P.detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=(floors or {}).get((member, seed)))


def _shade(ax, run, metrics: pd.DataFrame, member: str, seed: int) -> P.Phases:
    """Detect one member's plateaus and shade each by the level it sits at; returns the phases."""
    ph = _detect(metrics, member, seed, run_floors(run))
    shade_phases(ax, ph, next((c for c in run.ceilings() if (c["label"], c["seed"]) == (member, seed)), None))
    return ph


def _members(metrics: pd.DataFrame) -> list[tuple[str, int]]:
    return [tuple(x) for x in metrics[["member", "seed"]].drop_duplicates().itertuples(index=False)]


def accuracy_curves(run, ceilings: bool = True, member: str | None = None, ax=None, title: str = ""):
    """Accuracy over steps (log axis) for every seed (each in its seed colour, the first drawn
    strongest), the first seed's plateaus shaded by level, and the Bayes-ideal ceilings of the
    three strategies in their levels' colours."""
    m = run.metrics if member is None else run.metrics[run.metrics.member == member]
    members = _members(m)
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    _shade(ax, run, m, *members[0])
    for i, (r, s) in enumerate(members):
        a = series(m, "acc", r, s)
        ax.plot(a.step.clip(lower=1), a.value, color=seed_color(s), alpha=1.0 if i == 0 else 0.6, lw=1.2 if i == 0 else 0.9,
                label=f"seed {s}")
    if ceilings:
        ceiling_lines(ax, [c for c in run.ceilings() if member is None or c["label"] == member], legend=True, lw=0.9)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def fig2(run, phase_steps: list[int] | None = None):
    """Fig. 2: accuracy and loss over training (all seeds, phases shaded) across the top, and below
    it the mean attention maps of both layers (rows) at one step inside each phase (columns; first seed)."""
    m = run.metrics
    r0, s0 = _members(m)[0]
    ph = _detect(m, r0, s0, run_floors(run))
    pats = run.patterns(r0, s0)
    if phase_steps is None:
        phase_steps = [_mid_step(p, pats["steps"]) for p in ph.phases]
    n = max(1, len(phase_steps))
    nl = pats["mean"].shape[1]
    size = min(1.9, (PAGE_WIDTH - 0.5 - 0.6) / n)  # each map, inches: the columns and the colour bar fit the page
    fig = plt.figure(figsize=(PAGE_WIDTH, 2.7 + (size + 0.25) * nl), layout="constrained")
    gs = fig.add_gridspec(1 + nl, n, height_ratios=[2.5] + [size] * nl)
    ax = fig.add_subplot(gs[0, :])
    accuracy_curves(run, ax=ax)
    ax2 = ax.twinx()
    for i, (r, s) in enumerate(_members(m)):
        lo = series(m, "loss", r, s)
        ax2.plot(lo.step.clip(lower=1), lo.value, color=LOSS_COLOR, alpha=1.0 if i == 0 else 0.35, lw=0.8, ls="--")
    ax2.set_ylabel("loss (dashed)", color=LOSS_COLOR)
    ax.legend(fontsize=SMALLEST_FONT, loc="upper left", ncol=2)
    maps = []
    for j, step in enumerate(phase_steps):
        i = int(np.searchsorted(pats["steps"], step))
        i = min(i, len(pats["steps"]) - 1)
        for layer in range(nl):
            ax_map = fig.add_subplot(gs[1 + layer, j])
            im = draw_map(ax_map, pats["mean"][i, layer].mean(0),
                          title=f"phase {j + 1}\nstep {int(pats['steps'][i])}" if layer == 0 else None,
                          ylabel=f"layer {layer + 1}" if j == 0 else None, yticklabels=j == 0, xticklabels=layer == nl - 1)
            maps.append(ax_map)
    if maps:
        map_colorbar(fig, im, maps)
    return fig


def _mid_step(p: P.Phase, steps: np.ndarray) -> int:
    """A snapshot step in the middle (log scale) of a plateau."""
    inside = steps[(steps >= p.start) & (steps <= p.end)]
    cand = inside if len(inside) else steps
    return int(cand[nearest_snapshot(cand, plateau_middle(p.start, p.end))])


def fig3(run, member: str | None = None, seed: int | None = None):
    """Fig. 3: accuracy and ΔAcc over steps with the detected plateaus and boundaries (one seed).

    The bottom panel shows ΔAcc between consecutive points of the 40-per-decade log-step grid
    (faint purple), the local linear slope that the detection reads (purple, see `icmeta.analysis.phases`)
    with the flatness limit of a plateau, the paper's threshold 0.025 for reference, and,
    faint grey, the paper's linear ΔAcc with Δt scaled as 1/lr, which at a high learning rate
    is dominated by SGD noise.
    """
    m = run.metrics
    r, s = (member, seed) if member is not None else _members(m)[0]
    dt = next(c.train.delta_t for c, l in zip(run.configs, run.labels) if (l, c.seed) == (r, s))
    acc = series(m, "acc", r, s)
    ceil = next((c for c in run.ceilings() if (c["label"], c["seed"]) == (r, s)), None)
    ph = P.detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=run_floors(run).get((r, s)))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 4.4), sharex=True, layout="constrained")
    shade_phases(a1, ph, ceil)
    a1.plot(acc.step.clip(lower=1), acc.value, color="k", lw=0.6, alpha=0.5, label="every evaluation")
    a1.plot(np.maximum(ph.grid, 1), ph.grid_acc, color="k", lw=1.4, marker=".", ms=3, label="log grid (median per cell)")
    a1.set_ylabel("accuracy")
    a1.set_ylim(0, 1.02)
    a1.legend(fontsize=SMALLEST_FONT, loc="upper left")
    lin = P.delta_acc(acc.step.to_numpy(), acc.value.to_numpy(), dt)
    a2.plot(acc.step.clip(lower=1), lin, color="tab:gray", lw=0.5, alpha=0.4, label=f"paper's ΔAcc, Δt = {dt} steps")
    a2.plot(np.maximum(ph.grid[:-1], 1), ph.delta_acc, color="tab:purple", lw=0.8, alpha=0.35,
            label="ΔAcc on the log grid")
    a2.plot(np.maximum(ph.grid, 1), ph.slope, color="tab:purple", lw=1.6, label="local linear slope (used)")
    a2.axhline(P.THRESHOLD, color="r", ls=":", lw=0.8, label=f"paper's threshold {P.THRESHOLD}")
    a2.axhline(P.FLAT, color="k", ls="--", lw=0.8, label=f"plateau: at most {P.FLAT}")
    shade_phases(a2, ph, ceil)
    for b in ph.boundaries:
        for a in (a1, a2):
            a.axvline(b, color="r", lw=0.8, alpha=0.7)
    a2.set_ylabel("ΔAcc per grid cell")
    a2.set_xlabel("step")
    a2.set_xscale("log")
    a2.set_ylim(-0.05, 0.1)
    a2.legend(fontsize=SMALLEST_FONT, loc="upper left", ncol=2)
    a1.set_title(f"seed {s}", fontsize=9)
    return fig


def metric_panels(axes, run, member: str | None = None, title_prefix: str = "", titles: bool = True,
                  xlabel: bool = True, legend: bool = True) -> None:
    """Bigram, Label Attention and Chunk Example per layer (each metric in its colour, layer 1
    solid, layer 2 dashed) on three axes, every seed (the first dark), the first seed's plateaus
    shaded by level; each axes titled with its metric (`titles`), "step" under each (`xlabel`), the
    layers' legend on the first (`legend`)."""
    m = run.metrics if member is None else run.metrics[run.metrics.member == member]
    members = _members(m)
    for ax, (name, title) in zip(axes, METRIC_TITLES.items()):
        _shade(ax, run, m, *members[0])
        d = series(m, name)
        for layer, g in d.groupby("layer"):
            for i, (r, s) in enumerate(members):
                gg = g[(g.member == r) & (g.seed == s)]
                ax.plot(gg.step.clip(lower=1), gg.value, color=METRICS[name], ls=LAYER_STYLES.get(int(layer), "-"),
                        alpha=1.0 if i == 0 else 0.35, lw=1.1, label=f"layer {int(layer)}" if i == 0 else None)
        ax.set_xscale("log")
        if titles:
            ax.set_title(title_prefix + title, fontsize=10 if not title_prefix else 8)
        if xlabel:
            ax.set_xlabel("step")
    if legend:
        axes[0].legend(fontsize=SMALLEST_FONT)


def fig4(run, member: str | None = None):
    """Fig. 4: Bigram, Label Attention and Chunk Example per layer over training, every seed,
    phases of the first seed shaded."""
    fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 2.6), layout="constrained", sharey=True)
    metric_panels(axes, run, member)
    axes[0].set_ylabel("attention")
    return fig


def main_result(run):
    """The intro's figure: accuracy (with ceilings) and the three metrics per layer (one y scale,
    as in Fig. 4), 2 x 2 so that each panel stays legible at the book's text width."""
    fig, axes = plt.subplots(2, 2, figsize=(PAGE_WIDTH, 5.4), layout="constrained")
    axes = list(axes.flat)
    for ax in axes[2:]:
        ax.sharey(axes[1])
    accuracy_curves(run, ax=axes[0], title="accuracy (all seeds)")
    axes[0].legend(fontsize=SMALLEST_FONT, loc="upper left")
    metric_panels(axes[1:], run)
    return fig


def lr_clock(main, gpu):
    """The main run (`fast`) beside the archived `paper` run (lr 0.01, from a GPU) on the paper's clock
    (`icmeta.analysis.summaries.paper_clock`), each in its rate's colour, marker and dashes: seed 0
    dark and the others light, a 5-point running median; each legend names its learning rate, batch
    and length."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
    for r in (main, gpu):
        c = r.config.train
        name = f"lr {c.lr:g}, batch {c.batch_size}, {r.last_step:,} steps"
        for i, (seed, g) in enumerate(r.metrics[r.metrics.metric == "acc"].groupby("seed")):
            g = g.sort_values("step")
            ax.plot(paper_clock(g.step, c.lr).clip(lower=1), g.value.rolling(5, center=True, min_periods=1).median(),
                    **rate_kw(c.lr), alpha=1 if i == 0 else 0.35, lw=1, label=name if i == 0 else None)
    ax.set_xscale("log")
    ax.set_xlim(100, None)
    ax.set_xlabel(CLOCK_LABEL)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=SMALLEST_FONT)
    return fig


def variant_grid(runs: dict):
    """The reproduction notes' accuracy curves, one panel per variant (two columns, one y scale),
    the seeds and ceilings named once above the panels."""
    rows = -(-len(runs) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(PAGE_WIDTH, 2.1 * rows + 0.5), layout="constrained", sharey=True,
                             squeeze=False)
    for ax, (name, r) in zip(axes.flat, runs.items()):
        accuracy_curves(r, ax=ax, title=name)
    for ax in axes.flat[len(runs):]:
        ax.axis("off")
    for k, ax in enumerate(axes.flat[:len(runs)]):
        if k + 2 < len(runs):  # a panel below it: "step" under the lowest panel of each column only
            ax.set_xlabel("")
        if k % 2:
            ax.set_ylabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    lines = -(-len(handles) // 3)  # matplotlib fills a legend's columns first: ordered so that it reads by rows
    order = [r * 3 + c for c in range(3) for r in range(lines) if r * 3 + c < len(handles)]
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside upper center", ncol=3,
               fontsize=SMALLEST_FONT + 1, frameon=False)
    return fig


def variant_metrics(runs: dict):
    """The circuit metrics of every variant: one row per variant (named on the left), one column
    per metric (named on top), one y scale per metric, the steps under the last row."""
    fig, axes = plt.subplots(len(runs), 3, figsize=(PAGE_WIDTH, 1.5 * len(runs) + 0.6), layout="constrained",
                             sharex=True, sharey="col", squeeze=False)
    for i, (row, (name, r)) in enumerate(zip(axes, runs.items())):
        metric_panels(row, r, titles=i == 0, xlabel=i == len(runs) - 1, legend=i == 0)
        row[0].set_ylabel(textwrap.fill(name, 18), fontsize=9)
    return fig


def shuffled_plateau_maps(run, seed: int):
    """One seed's mean attention maps (layer 1 on top, layer 2 below) in the middle of the first
    plateau of each circuit, out of order and named A, B, C (`shuffled_plateaus`): the exercise
    of naming a phase from its maps."""
    shown = shuffled_plateaus(run, seed)
    if shown.empty:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"seed {seed}: no plateau detected, no maps to name", ha="center", va="center")
        return fig
    pats = run.patterns(seed=seed)
    fig, axes = plt.subplots(2, len(shown), figsize=(2.0 * len(shown) + 0.9, 4.4), layout="constrained", squeeze=False)
    for col, row in enumerate(shown.itertuples()):
        at = nearest_snapshot(pats["steps"], row.step)
        for layer in (0, 1):
            im = draw_map(axes[layer][col], pats["mean"][at, layer].mean(0), title=f"map {row.map}" if layer == 0 else None,
                          ylabel=f"layer {layer + 1}" if col == 0 else None, yticklabels=col == 0, xticklabels=layer == 1)
    map_colorbar(fig, im, axes.ravel().tolist())
    return fig


def readings(run, seed: int):
    """One seed's accuracy read by each rule (`icmeta.analysis.readings`), one panel per reading:
    the curve, its plateaus shaded by the level whose ceiling is nearest (side-by-side stretches
    at one level told apart by their tint's strength) and labelled with it, and the three Bayes
    ceilings of the seed's data draw in their levels' colours."""
    steps, acc = claim_curve(run, seed)
    ceil = ceilings_of(run, seed)
    fig, axes = plt.subplots(len(READINGS), 1, figsize=(6.4, 2.0 * len(READINGS)), layout="constrained", sharex=True)
    for ax, reading in zip(axes, READINGS):
        found = read(reading, steps, acc, ceil)
        names = circuits(found, ceil)
        for i, (s, name) in enumerate(zip(found, names)):
            shade(ax, s.start, s.end, name, alpha=0.55 if i % 2 else 1.0)
            if i == 0 or names[i - 1] != name:  # side-by-side stretches of one level: named once
                ax.text(s.start, min(s.level + 0.06, 1.02), name, ha="left", fontsize=8)
        ax.plot(steps, acc, color="k", lw=0.7)
        ceiling_lines(ax, [ceil])
        ax.set_xscale("log")
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("accuracy")
        ax.set_title(f"{reading}: {len(found)} plateau{'s' if len(found) != 1 else ''} (seed {seed})", fontsize=9)
    axes[-1].set_xlabel("step")
    return fig


def paper_settings(progress, fast):
    """The paper-rate queue's main result so far beside the same seeds at `fast`, on the paper's
    clock: one panel per seed the queue has trained (two columns), each rate in its colour, marker
    and dashes (`icmeta.plots.palette.RATES`), each a 5-point running median;
    a seed still training ends where it has got to (its title says how far)."""
    pairs = progress.pairs()
    rows = max(1, -(-len(pairs) // 2))
    fig, axes = plt.subplots(rows, 2, figsize=(PAGE_WIDTH, 1.7 * rows + 0.6), layout="constrained", sharex=True,
                             sharey=True, squeeze=False)
    end = max(m.config.train.steps for m, _ in pairs) if pairs else 400_000
    for ax, (m, r) in zip(axes.flat, pairs):
        found = [rf for mf, rf in fast.pairs() if mf.seed == m.seed]
        for run in (found[0] if found else None, r):
            if run is None:
                continue
            c = run.config.train
            g = run.metrics[(run.metrics.metric == "acc") & (run.metrics.step > 0)].sort_values("step")
            ax.plot(paper_clock(g.step, c.lr), g.value.rolling(5, center=True, min_periods=1).median(),
                    **rate_kw(c.lr), lw=1, label=f"lr {c.lr:g}, batch {c.batch_size}")
        state = "done" if r.info.get("status") == "complete" else "so far"
        ax.set_title(f"seed {m.seed}: {r.last_step:,} of {m.config.train.steps:,} steps ({state})",
                     fontsize=SMALLEST_FONT + 1)
        ax.set_xscale("log")
        ax.set_xlim(100, end)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=SMALLEST_FONT + 1)
    for ax in axes.flat[len(pairs):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(CLOCK_LABEL, fontsize=SMALLEST_FONT + 1)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy", fontsize=SMALLEST_FONT + 1)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=2, fontsize=SMALLEST_FONT + 1, frameon=False)
    return fig
