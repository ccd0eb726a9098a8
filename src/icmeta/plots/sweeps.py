"""The sweep figures (Figs. 5, 6, 7, 12, 13, 15, 18, the learning-rate checks and the K x ε diagram),
drawn from stored sweeps (`icmeta.experiments.load_sweep`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from ..analysis.phases import run_phases
from ..analysis.summaries import (
    CLOCK_LABEL,
    clock_frame,
    curves,
    final_value,
    first_step,
    nearest_snapshot,
    plateaus,
)
from ..analysis.sweep_tables import CIRCUIT_LETTER, circuits_seen
from ..core import bayes
from ..experiments.load import SweepRuns
from .palette import LEVEL_LINE, SEED_PALETTE, level, mark_level, ordered, rate_style, seed_color, setting_colors
from .style import (
    PAGE_WIDTH,
    SMALLEST_FONT,
    ceiling_lines,
    draw_map,
    map_colorbar,
    shade_circuits,
    shade_plateaus,
)


def sweep_grid(sr: SweepRuns, metric: str = "acc", col_wrap: int | None = None, ceilings: bool = True,
               height: float = 2.3, ylabel: str | None = None):
    """One panel per setting: the metric of every seed over steps (log axis), the Bayes
    ceilings of the three strategies (mean over the seeds' draws) in their levels' colours, dotted,
    dashed and dash-dotted, and the plateaus of the first seed shaded by level.

    At most three columns (two for four settings); panels `height` inches tall, or less where
    the columns and the seeds' legend would not fit the page's width."""
    df = curves(sr, metric)
    n = len(sr.labels)
    col_wrap = col_wrap or (n if n <= 3 else 2 if n == 4 else 3)
    aspect = 1.25
    height = min(height, (PAGE_WIDTH - 0.8) / (min(col_wrap, n) * aspect))
    g = sns.relplot(data=df, x="step", y="value", col="label", hue="seed", kind="line", col_wrap=col_wrap,
                    palette=SEED_PALETTE, height=height, aspect=aspect, linewidth=1.1, estimator=None,
                    facet_kws={"sharey": True}, legend=True)
    for label, ax in g.axes_dict.items():
        runs = sr.pairs(label)
        if metric == "acc":
            shade_circuits(ax, runs[0][1])
        if ceilings and metric == "acc":
            ceiling_lines(ax, [r.ceilings()[0] for _, r in runs])
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    if metric == "acc":
        g.set(ylim=(0, 1.02))
    g.set_axis_labels("step", ylabel or metric)
    g.figure.suptitle(sr.sweep.title, fontsize=10, y=1.02)
    return g.figure


def sweep_overlay(sr: SweepRuns, metrics: tuple[str, ...] = ("acc",), seed: int | None = None, log_y: tuple = ()):
    """All settings on one axes per metric (colour = setting, ordered), every seed (or one)."""
    labels = sr.labels
    fig, axes = plt.subplots(1, len(metrics), figsize=(min(4.6 * len(metrics), PAGE_WIDTH), 3.0), layout="constrained",
                             squeeze=False)
    cols = setting_colors(labels)
    for ax, metric in zip(axes[0], metrics):
        df = curves(sr, metric)
        if seed is not None:
            df = df[df.seed == seed]
        sns.lineplot(data=df, x="step", y="value", hue="label", units="seed", estimator=None, palette=cols, ax=ax,
                     lw=1.0, alpha=0.85, legend=ax is axes[0][0])
        ax.set_xscale("log")
        if metric in log_y:
            ax.set_yscale("log")
        ax.set_ylabel(metric)
    leg = axes[0][0].get_legend()
    if leg is not None:
        leg.set_title(sr.sweep.axes[0].name if sr.sweep.axes else "")
        for t in leg.get_texts():
            t.set_fontsize(SMALLEST_FONT)
    fig.suptitle(sr.sweep.title, fontsize=10)
    return fig


def per_task_accuracy(sr: SweepRuns, label: str, seed: int | None = None):
    """Accuracy on each task separately (Zipf-distributed tasks: task 1 the most frequent)."""
    m = sr.pairs(label, seed)
    T = m[0][0].config.task.T
    fig, axes = plt.subplots(1, len(m), figsize=(min(3.3 * len(m), PAGE_WIDTH), 2.6), layout="constrained", squeeze=False,
                             sharey=True)
    pal = ordered(T)
    for ax, (mm, r) in zip(axes[0], m):
        for t in range(1, T + 1):
            d = r.metrics[r.metrics.metric == f"acc_task{t}"].sort_values("step")
            ax.plot(d.step.clip(lower=1), d.value, color=pal[t - 1], lw=1.0, label=f"task {t}")
        a = r.metrics[r.metrics.metric == "acc"].sort_values("step")
        ax.plot(a.step.clip(lower=1), a.value, color="k", lw=1.4, ls="--", label="average")
        ax.set_xscale("log")
        ax.set_title(f"{label}, seed {mm.seed}", fontsize=9)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=SMALLEST_FONT)
    return fig


def phase_diagram(sr: SweepRuns, rows: str = "K", cols: str = "eps"):
    """Which plateaus appear in each cell of a two-axis sweep: the cell's colour is the number of
    distinct circuits seen (mean over seeds); its text lists each seed's circuits in order (N =
    NCC, S = SCC, F = FCC)."""
    seen = circuits_seen(sr)
    text = {}
    for m, r in sr.pairs():
        letters = "".join(CIRCUIT_LETTER[c] for c in dict.fromkeys(c for c, _ in plateaus(r)) if c in CIRCUIT_LETTER) or "–"
        text.setdefault((dict(m.setting)[rows], dict(m.setting)[cols]), []).append(letters)
    seen["n"] = seen[list(CIRCUIT_LETTER)].sum(axis=1)
    grid = seen.groupby([rows, cols]).n.mean().unstack(cols)
    annot = grid.copy().astype(object)
    for (a, b), v in text.items():
        annot.loc[a, b] = "\n".join(v)
    fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 1.8, 0.95 * grid.shape[0] + 1.2), layout="constrained")
    sns.heatmap(grid, annot=annot.to_numpy(), fmt="", cmap="Greys", vmin=0, vmax=5, ax=ax,
                cbar_kws={"label": "distinct circuits (mean over seeds)"}, annot_kws={"fontsize": 9}, linewidths=0.5)
    ax.set_title(f"{sr.sweep.title}\n(per seed, the circuits of its plateaus in order)", fontsize=9)
    return fig


def fig5(sr: SweepRuns):
    """Fig. 5: the SCC-only model's accuracy over training against the theory p + (1 - p)/2,
    for each K (= L) of the sweep."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.0), layout="constrained")
    cols = setting_colors(sr.labels)
    df = curves(sr, "acc")
    for label in sr.labels:
        K = dict(next(m.setting for m in sr.members if m.label == label))["K"]
        N = next(m.config.task.N for m in sr.members if m.label == label)
        th = bayes.scc_theory_accuracy(K, N)
        d = df[df.label == label]
        for s, g in d.groupby("seed"):
            axes[0].plot(g.step, g.value, color=cols[label], lw=1.0, alpha=0.8, label=label if s == d.seed.min() else None)
        axes[0].axhline(th, color=cols[label], ls=":", lw=1.0)
        finals = {m.seed: final_value(r.metrics) for m, r in sr.pairs(label)}
        axes[1].scatter([K] * len(finals), list(finals.values()), color=[seed_color(s) for s in finals], zorder=3, s=18)
        axes[1].scatter([K], [th], marker="_", s=400, color="k", zorder=2)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=SMALLEST_FONT, title="dotted: theory", title_fontsize=SMALLEST_FONT)
    ks = sorted({dict(m.setting)["K"] for m in sr.members})
    axes[1].set_xscale("log", base=2)
    axes[1].set_xticks(ks, [str(k) for k in ks])
    axes[1].set_xlabel("K = L")
    axes[1].set_ylabel("final accuracy\n(last 5 evaluations)")
    axes[1].set_title("dots: seeds; bars: p + (1 − p)/2", fontsize=9)
    fig.suptitle(sr.sweep.title, fontsize=10)
    return fig


def fig6(run):
    """Fig. 6: accuracy and random-label accuracy (RLA) of the main run over training, one panel
    per seed, that seed's plateaus shaded by level."""
    fig, axes = plt.subplots(1, len(run.members), figsize=(min(3.6 * len(run.members), PAGE_WIDTH), 2.6),
                             layout="constrained", sharey=True, squeeze=False)
    m = run.metrics
    pt = run_phases(run)
    for ax, (label, seed) in zip(axes[0], run.members):
        get = lambda metric: m[(m.member == label) & (m.seed == seed) & (m.metric == metric)].sort_values("step")
        acc, rla = get("acc"), get("rla")
        shade_plateaus(ax, pt[(pt.member == label) & (pt.seed == seed)])
        ax.plot(acc.step.clip(lower=1), acc.value, color="k", lw=1.0, label="accuracy")
        ax.plot(rla.step.clip(lower=1), rla.value, color=seed_color(seed), lw=1.4, marker=".", ms=3, ls="--",
                label="random-label accuracy")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("step")
        ax.set_title(f"seed {seed}", fontsize=9)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=SMALLEST_FONT, loc="upper left")
    return fig


def attention_maps(run, steps: list[int], title: str = "", head: int | None = None, seed: int | None = None):
    """Mean attention maps of every layer (rows) at the snapshot steps nearest `steps` (columns):
    of one head (1-based), or averaged over heads; the member of `seed` (default the first)."""
    pats = run.patterns(seed=seed)
    nl = pats["mean"].shape[1]
    size = min(2.1, (PAGE_WIDTH - 0.4) / len(steps))  # each map, inches: the columns fit the page (colour bar below)
    fig, axes = plt.subplots(nl, len(steps), figsize=(size * len(steps) + 0.4, size * nl + 0.6), layout="constrained",
                             squeeze=False)
    for j, want in enumerate(steps):
        i = nearest_snapshot(pats["steps"], want)
        for layer in range(nl):
            p = pats["mean"][i, layer]
            im = draw_map(axes[layer][j], p.mean(0) if head is None else p[head - 1],
                          title=f"step {int(pats['steps'][i]):,}" if layer == 0 else None,
                          ylabel=f"layer {layer + 1}" if j == 0 else None, yticklabels=j == 0, xticklabels=layer == nl - 1)
    map_colorbar(fig, im, axes.ravel().tolist(), location="bottom")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def fig12(sr: SweepRuns, label: str | None = None):
    """Fig. 12: the copy task (T = 1, p_B = 1, B = 1): accuracy of every seed, and the attention
    maps of the first seed of `label` (default: the last setting) before the jump, during it and
    at the end."""
    fig_a = sweep_grid(sr, col_wrap=None if len(sr.labels) > 1 else 1, height=2.6)
    label = label or sr.labels[-1]
    i = next(i for i, m in enumerate(sr.members) if m.label == label)
    r = sr.runs[i]
    half = first_step(r.metrics, 0.5)
    last = int(r.metrics.step.max())
    half = last if half is None else half
    fig_b = attention_maps(r, [max(1, half // 4), half, last], title=f"{label}, seed {sr.members[i].seed}")
    return fig_a, fig_b


def fig13(sr: SweepRuns):
    """Fig. 13: models pruned at initialisation to one phase's circuit (each in its level's colour)
    beside the full model (black)."""
    df = curves(sr, "acc")
    fig, ax = plt.subplots(figsize=(5.8, 3.4), layout="constrained")
    names = {"mask=none": "full model", "mask=ncc": "NCC only", "mask=scc": "SCC only", "mask=fcc": "FCC only"}
    circuit = {"mask=ncc": "NCC", "mask=scc": "SCC", "mask=fcc": "FCC"}
    for label in sr.labels:
        for s, g in df[df.label == label].groupby("seed"):
            line, = ax.plot(g.step, g.value, color=LEVEL_LINE[level(circuit[label])] if label in circuit else "k",
                            lw=1.1, alpha=1.0 if s == df.seed.min() else 0.4,
                            label=names.get(label, label) if s == df.seed.min() else None)
            if label in circuit:
                mark_level(line, circuit[label])
    ceiling_lines(ax, [sr.runs[0].ceilings()[0]])
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=SMALLEST_FONT)
    return fig


def lr_check(fast: SweepRuns, *slower: SweepRuns, height: float = 2.5):
    """One panel per setting: every seed (colour) at `fast` and at one or more lower learning
    rates, each rate with its own marker and dashes (`icmeta.plots.palette.RATES`: lr 0.1 squares
    and long dashes, lr 0.03 triangles and dots, lr 0.01 circles and solid), on the paper's clock
    (step x lr / 0.01), with the Bayes ceilings of the three strategies (mean over the seeds' draws)
    in their levels' colours."""
    slow = slower[-1]
    df = clock_frame(fast, *slower)
    rates = [sr.members[0].config.train.lr for sr in (fast, *slower)]
    lrs = [f"lr {lr:g}" for lr in rates]
    styles = [rate_style(lr) for lr in rates]
    g = sns.relplot(data=df, x="clock", y="value", col="label", hue="seed", style="lr", style_order=lrs,
                    dashes={k: s.dashes or "" for k, s in zip(lrs, styles)},
                    markers={k: s.marker for k, s in zip(lrs, styles)}, markevery=0.08, markersize=3.5,
                    kind="line", palette=SEED_PALETTE, height=height,
                    aspect=1.3, linewidth=1.1, estimator=None, col_wrap=min(len(slow.labels), 3),
                    facet_kws={"sharey": True})
    for label, ax in g.axes_dict.items():
        runs = slow.runs_of(label)
        ceiling_lines(ax, [r.ceilings()[0] for r in runs])
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    g.set(ylim=(0, 1.02))
    g.set_axis_labels(CLOCK_LABEL, "accuracy")
    g.figure.suptitle(slow.sweep.title, fontsize=10, y=1.03)
    return g.figure


def fig7(panels: dict[str, SweepRuns]):
    """Fig. 7 (a-e) on one page: accuracy of every setting (colour) and seed, one panel per sweep
    (two columns)."""
    rows = -(-len(panels) // 2)
    fig, axes = plt.subplots(rows, 2, figsize=(PAGE_WIDTH, 2.5 * rows), layout="constrained", sharey=True, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (name, sr) in zip(axes.flat, panels.items()):
        df = curves(sr, "acc")
        sns.lineplot(data=df, x="step", y="value", hue="label", units="seed", estimator=None,
                     palette=setting_colors(sr.labels), ax=ax, lw=0.9, alpha=0.85)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"({name[-1]}) {sr.sweep.title}", fontsize=9)
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=SMALLEST_FONT, title=None)
    return fig
