"""The paper's figures, drawn from stored runs. Names follow the paper's numbering.

Every function takes a `Run` (or the arguments it needs) and returns a matplotlib Figure;
`make_figure(name, ...)` trains or loads the preset's run and saves ``figures/<name>.png``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://", "agg", "inline")):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import phases as P  # noqa: E402

PHASE_COLORS = ["#fde2c8", "#d6ecd2", "#d7e3f4", "#eadcf0", "#f4d7d7"]
METRIC_TITLES = {"bigram": "Bigram", "label_attention": "Label Attention", "chunk_example": "Chunk Example"}
LAYER_COLORS = {1: "tab:blue", 2: "tab:red", 3: "tab:green", 4: "tab:purple", 5: "tab:brown"}


def series(metrics: pd.DataFrame, metric: str, run: str | None = None, seed: int | None = None,
           layer: int | None = None) -> pd.DataFrame:
    """Rows of one metric (head-averaged), optionally one member/seed/layer, sorted by step."""
    df = metrics[metrics.metric == metric]
    if run is not None:
        df = df[df.run == run]
    if seed is not None:
        df = df[df.seed == seed]
    if layer is not None:
        df = df[df.layer == layer]
    keys = ["run", "seed", "step"] + (["layer"] if df.layer.notna().any() else [])
    return df.groupby(keys, dropna=False).value.mean().reset_index().sort_values("step")


def shade_phases(ax, ph: P.Phases, alpha: float = 0.8) -> None:
    for i, p in enumerate(ph.phases):
        ax.axvspan(max(p.start, 1), p.end, color=PHASE_COLORS[i % len(PHASE_COLORS)], alpha=alpha, lw=0, zorder=0)


def _detect(metrics: pd.DataFrame, run: str, seed: int, delta_t: int) -> P.Phases:
    acc = series(metrics, "acc", run, seed)
    return P.detect(acc.step.to_numpy(), acc.value.to_numpy(), delta_t)


def _members(metrics: pd.DataFrame) -> list[tuple[str, int]]:
    return [tuple(x) for x in metrics[["run", "seed"]].drop_duplicates().itertuples(index=False)]


def accuracy_curves(run, ceilings: bool = True, member: str | None = None, ax=None, title: str = ""):
    """Accuracy over steps (log axis) for every seed, phases of the first seed shaded,
    with the Bayes-ideal ceilings of the three strategies as dotted lines."""
    m = run.metrics if member is None else run.metrics[run.metrics.run == member]
    members = _members(m)
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    ph = _detect(m, *members[0], run.config.train.delta_t)
    shade_phases(ax, ph)
    for i, (r, s) in enumerate(members):
        a = series(m, "acc", r, s)
        ax.plot(a.step.clip(lower=1), a.value, color="k", alpha=1.0 if i == 0 else 0.35, lw=1.2, label=f"seed {s}")
    if ceilings:
        ceil = [c for c in run.ceilings() if member is None or c["label"] == member]
        styles = {"ignore": ("context ignored", ":"), "labels": ("labels only", "--"), "pairs": ("full pairs", "-.")}
        for k, (name, ls) in styles.items():
            ax.axhline(np.mean([c[k] for c in ceil]), color="gray", ls=ls, lw=0.9, label=f"ideal: {name}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def fig2(run, phase_steps: list[int] | None = None):
    """Fig. 2: accuracy and loss over training (all seeds, phases shaded), and the mean
    attention maps of both layers at one step inside each phase (first seed)."""
    m, dt = run.metrics, run.config.train.delta_t
    r0, s0 = _members(m)[0]
    ph = _detect(m, r0, s0, dt)
    pats = run.patterns()
    if phase_steps is None:
        phase_steps = [_mid_step(p, pats["steps"]) for p in ph.phases]
    n = max(1, len(phase_steps))
    nl = pats["mean"].shape[2]
    fig = plt.figure(figsize=(4.2 + 2.0 * n, 1.9 * max(nl, 2) + 0.2), layout="constrained")
    gs = fig.add_gridspec(nl, 2 + n, width_ratios=[2.2, 0.05] + [1] * n)
    ax = fig.add_subplot(gs[:, 0])
    accuracy_curves(run, ax=ax)
    ax2 = ax.twinx()
    for i, (r, s) in enumerate(_members(m)):
        lo = series(m, "loss", r, s)
        ax2.plot(lo.step.clip(lower=1), lo.value, color="tab:orange", alpha=1.0 if i == 0 else 0.35, lw=1)
    ax2.set_ylabel("loss", color="tab:orange")
    ax.legend(fontsize=6, loc="upper left")
    S = pats["mean"].shape[-1]
    ticks = _tick_labels(S)
    e0 = 0
    for j, step in enumerate(phase_steps):
        i = int(np.searchsorted(pats["steps"], step))
        i = min(i, len(pats["steps"]) - 1)
        for layer in range(nl):
            a = fig.add_subplot(gs[layer, 2 + j])
            a.imshow(pats["mean"][i, e0, layer].mean(0), cmap="Blues", vmin=0, vmax=1)
            a.set_xticks(range(S), ticks, fontsize=5, rotation=90)
            a.set_yticks(range(S), ticks, fontsize=5)
            if layer == 0:
                a.set_title(f"phase {j + 1}\nstep {int(pats['steps'][i])}", fontsize=8)
            if j == 0:
                a.set_ylabel(f"layer {layer + 1}", fontsize=8)
    return fig


def _tick_labels(S: int) -> list[str]:
    N = (S - 1) // 2
    return [f"x{k // 2 + 1}" if k % 2 == 0 else f"ℓ{k // 2 + 1}" for k in range(2 * N)] + ["xq"]


def _mid_step(p: P.Phase, steps: np.ndarray) -> int:
    """A snapshot step in the middle (log scale) of a plateau."""
    mid = np.sqrt(max(p.start, 1) * max(p.end, 1))
    inside = steps[(steps >= p.start) & (steps <= p.end)]
    cand = inside if len(inside) else steps
    return int(cand[np.argmin(np.abs(np.log(np.maximum(cand, 1)) - np.log(mid)))])


def fig3(run, member: str | None = None, seed: int | None = None):
    """Fig. 3: accuracy and ΔAcc over steps with the detected phase boundaries (one seed)."""
    m, dt = run.metrics, run.config.train.delta_t
    r, s = (member, seed) if member is not None else _members(m)[0]
    acc = series(m, "acc", r, s)
    ph = P.detect(acc.step.to_numpy(), acc.value.to_numpy(), dt)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(5.5, 4), sharex=True, layout="constrained")
    shade_phases(a1, ph)
    a1.plot(acc.step.clip(lower=1), acc.value, color="k", lw=1)
    a1.set_ylabel("accuracy")
    a1.set_ylim(0, 1.02)
    a2.plot(acc.step.clip(lower=1), ph.delta_acc, color="tab:purple", lw=0.8)
    a2.axhline(0.025, color="r", ls="--", lw=0.8, label="threshold 0.025")
    for b in ph.boundaries:
        for a in (a1, a2):
            a.axvline(b, color="r", lw=0.8, alpha=0.7)
    a2.set_ylabel(f"ΔAcc (Δt={dt})")
    a2.set_xlabel("step")
    a2.set_xscale("log")
    a2.legend(fontsize=7)
    a1.set_title(f"seed {s}", fontsize=9)
    return fig


def fig4(run, member: str | None = None):
    """Fig. 4: Bigram, Label Attention and Chunk Example per layer over training, every seed,
    phases of the first seed shaded."""
    m, dt = run.metrics, run.config.train.delta_t
    if member is not None:
        m = m[m.run == member]
    members = _members(m)
    ph = _detect(m, *members[0], dt)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained", sharey=True)
    for ax, (name, title) in zip(axes, METRIC_TITLES.items()):
        shade_phases(ax, ph)
        d = series(m, name)
        for layer, g in d.groupby("layer"):
            for i, (r, s) in enumerate(members):
                gg = g[(g.run == r) & (g.seed == s)]
                ax.plot(gg.step.clip(lower=1), gg.value, color=LAYER_COLORS.get(int(layer), "k"),
                        alpha=1.0 if i == 0 else 0.35, lw=1.1, label=f"layer {int(layer)}" if i == 0 else None)
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    axes[0].set_ylabel("attention")
    axes[0].legend(fontsize=7)
    return fig


def main_result(run):
    """The README's figure: accuracy (with ceilings) and the three metrics per layer."""
    m, dt = run.metrics, run.config.train.delta_t
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2), layout="constrained")
    accuracy_curves(run, ax=axes[0], title="accuracy (all seeds)")
    axes[0].legend(fontsize=6, loc="upper left")
    members = _members(m)
    ph = _detect(m, *members[0], dt)
    for ax, (name, title) in zip(axes[1:], METRIC_TITLES.items()):
        shade_phases(ax, ph)
        d = series(m, name)
        for layer, g in d.groupby("layer"):
            for i, (r, s) in enumerate(members):
                gg = g[(g.run == r) & (g.seed == s)]
                ax.plot(gg.step.clip(lower=1), gg.value, color=LAYER_COLORS.get(int(layer), "k"),
                        alpha=1.0 if i == 0 else 0.35, lw=1.1, label=f"layer {int(layer)}" if i == 0 else None)
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
    axes[1].legend(fontsize=7)
    return fig


FIGURES = {"fig2": fig2, "fig3": fig3, "fig4": fig4, "main": main_result}


def make_figure(name: str, preset_name: str = "fast", seeds: list[int] | None = None, out: Path = Path("figures"),
                root: Path | None = None) -> Path:
    """Load (or train) the preset's run and save figure `name` as ``out/name.png``."""
    from .config import PRESET_SEEDS, ConfigError, preset
    from .train import load_or_train

    if name not in FIGURES:
        raise ConfigError("figure", name, ", ".join(FIGURES))
    seeds = list(seeds) if seeds else list(PRESET_SEEDS.get(preset_name, (0,)))
    run = load_or_train([preset(preset_name, seed=s) for s in seeds], root=root)
    fig = FIGURES[name](run)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
