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


def shade_phases(ax, ph: P.Phases, alpha: float = 0.8) -> None:
    for i, p in enumerate(ph.phases):
        ax.axvspan(max(p.start, 1), p.end, color=PHASE_COLORS[i % len(PHASE_COLORS)], alpha=alpha, lw=0, zorder=0)


def _detect(metrics: pd.DataFrame, member: str, seed: int, floors: dict | None = None) -> P.Phases:
    acc = series(metrics, "acc", member, seed)
    return P.detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=(floors or {}).get((member, seed)))



def _members(metrics: pd.DataFrame) -> list[tuple[str, int]]:
    return [tuple(x) for x in metrics[["member", "seed"]].drop_duplicates().itertuples(index=False)]


def accuracy_curves(run, ceilings: bool = True, member: str | None = None, ax=None, title: str = ""):
    """Accuracy over steps (log axis) for every seed, phases of the first seed shaded,
    with the Bayes-ideal ceilings of the three strategies as dotted lines."""
    m = run.metrics if member is None else run.metrics[run.metrics.member == member]
    members = _members(m)
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    ph = _detect(m, *members[0], run.floors())
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
    m = run.metrics
    r0, s0 = _members(m)[0]
    ph = _detect(m, r0, s0, run.floors())
    pats = run.patterns(r0, s0)
    if phase_steps is None:
        phase_steps = [_mid_step(p, pats["steps"]) for p in ph.phases]
    n = max(1, len(phase_steps))
    nl = pats["mean"].shape[1]
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
    for j, step in enumerate(phase_steps):
        i = int(np.searchsorted(pats["steps"], step))
        i = min(i, len(pats["steps"]) - 1)
        for layer in range(nl):
            draw_map(fig.add_subplot(gs[layer, 2 + j]), pats["mean"][i, layer].mean(0),
                     title=f"phase {j + 1}\nstep {int(pats['steps'][i])}" if layer == 0 else None,
                     ylabel=f"layer {layer + 1}" if j == 0 else None)
    return fig


def draw_map(ax, pattern: np.ndarray, title: str | None = None, ylabel: str | None = None, vmax: float = 1.0):
    """One attention map [S, S] (rows attend to columns), tokens named on both axes (beyond 8
    pairs only the pairs 1, 4, 8, ... and the query, larger); returns the image."""
    S = pattern.shape[-1]
    ticks = _tick_labels(S)
    size = 5
    if S > 17:
        keep = lambda t: t == "xq" or int(t[1:]) == 1 or int(t[1:]) % 4 == 0  # noqa: E731
        ticks, size = [t if keep(t) else "" for t in ticks], 6.5
    im = ax.imshow(pattern, cmap="Blues", vmin=0, vmax=vmax)
    ax.set_xticks(range(S), ticks, fontsize=size, rotation=90)
    ax.set_yticks(range(S), ticks, fontsize=size)
    if title:
        ax.set_title(title, fontsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    return im


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
    """Fig. 3: accuracy and ΔAcc over steps with the detected plateaus and boundaries (one seed).

    The bottom panel shows ΔAcc between consecutive points of the 40-per-decade log-step grid
    (faint purple), the local linear slope that the detection reads (purple, see `icmeta.phases`)
    with the flatness limit of a plateau, the paper's threshold 0.025 for reference, and,
    faint grey, the paper's linear ΔAcc with Δt scaled as 1/lr, which at a high learning rate
    is dominated by SGD noise.
    """
    m = run.metrics
    r, s = (member, seed) if member is not None else _members(m)[0]
    dt = next(c.train.delta_t for c, l in zip(run.configs, run.labels) if (l, c.seed) == (r, s))
    acc = series(m, "acc", r, s)
    ph = P.detect(acc.step.to_numpy(), acc.value.to_numpy(), floor=run.floors().get((r, s)))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6, 4.4), sharex=True, layout="constrained")
    shade_phases(a1, ph)
    a1.plot(acc.step.clip(lower=1), acc.value, color="k", lw=0.6, alpha=0.5, label="every evaluation")
    a1.plot(np.maximum(ph.grid, 1), ph.grid_acc, color="k", lw=1.4, marker=".", ms=3, label="log grid (median per cell)")
    a1.set_ylabel("accuracy")
    a1.set_ylim(0, 1.02)
    a1.legend(fontsize=7, loc="upper left")
    lin = P.delta_acc(acc.step.to_numpy(), acc.value.to_numpy(), dt)
    a2.plot(acc.step.clip(lower=1), lin, color="tab:gray", lw=0.5, alpha=0.4, label=f"paper's ΔAcc, Δt = {dt} steps")
    a2.plot(np.maximum(ph.grid[:-1], 1), ph.delta_acc, color="tab:purple", lw=0.8, alpha=0.35,
            label="ΔAcc on the log grid")
    a2.plot(np.maximum(ph.grid, 1), ph.slope, color="tab:purple", lw=1.6, label="local linear slope (used)")
    a2.axhline(P.THRESHOLD, color="r", ls=":", lw=0.8, label=f"paper's threshold {P.THRESHOLD}")
    a2.axhline(P.FLAT, color="tab:green", ls="--", lw=0.8, label=f"plateau: at most {P.FLAT}")
    shade_phases(a2, ph)
    for b in ph.boundaries:
        for a in (a1, a2):
            a.axvline(b, color="r", lw=0.8, alpha=0.7)
    a2.set_ylabel("ΔAcc per grid cell")
    a2.set_xlabel("step")
    a2.set_xscale("log")
    a2.set_ylim(-0.05, 0.1)
    a2.legend(fontsize=6, loc="upper left", ncol=2)
    a1.set_title(f"seed {s}", fontsize=9)
    return fig


def metric_panels(axes, run, member: str | None = None, title_prefix: str = "") -> None:
    """Bigram, Label Attention and Chunk Example per layer (layer 1 blue, layer 2 red) on three
    axes, every seed (the first dark), the phases of the first seed shaded."""
    m = run.metrics if member is None else run.metrics[run.metrics.member == member]
    members = _members(m)
    ph = _detect(m, *members[0], run.floors())
    for ax, (name, title) in zip(axes, METRIC_TITLES.items()):
        shade_phases(ax, ph)
        d = series(m, name)
        for layer, g in d.groupby("layer"):
            for i, (r, s) in enumerate(members):
                gg = g[(g.member == r) & (g.seed == s)]
                ax.plot(gg.step.clip(lower=1), gg.value, color=LAYER_COLORS.get(int(layer), "k"),
                        alpha=1.0 if i == 0 else 0.35, lw=1.1, label=f"layer {int(layer)}" if i == 0 else None)
        ax.set_xscale("log")
        ax.set_title(title_prefix + title, fontsize=10 if not title_prefix else 8)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7)


def fig4(run, member: str | None = None):
    """Fig. 4: Bigram, Label Attention and Chunk Example per layer over training, every seed,
    phases of the first seed shaded."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained", sharey=True)
    metric_panels(axes, run, member)
    axes[0].set_ylabel("attention")
    return fig


def main_result(run):
    """The intro's figure: accuracy (with ceilings) and the three metrics per layer, 2 x 2 so that
    each panel stays legible at the book's text width."""
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.4), layout="constrained")
    axes = axes.flat
    accuracy_curves(run, ax=axes[0], title="accuracy (all seeds)")
    axes[0].legend(fontsize=7, loc="upper left")
    metric_panels(axes[1:], run)
    return fig


FIGURE_NAMES = ("fig1", "fig2", "fig3", "fig4", "main")


def figure_names() -> list[str]:
    """Every name `make_figure` draws: the main run's figures and the sweep figures."""
    from .sweep_figures import SWEEP_FIGURES

    return [*FIGURE_NAMES, *SWEEP_FIGURES]


def make_figure(name: str, preset_name: str = "fast", seeds: list[int] | None = None, out: Path = Path("figures"),
                root: Path | None = None) -> list[Path]:
    """Draw figure `name` from stored runs (nothing is trained) into ``out/<name>.png`` (a figure
    of several images, e.g. fig12 or fig15, writes one file per panel); returns the paths.

    Raises `icmeta.store.StoreError` (one line, with the command that trains them) when runs
    are not stored."""
    from .config import PRESET_SEEDS, ConfigError, preset
    from .store import StoreError, find_run
    from .sweep_figures import SWEEP_FIGURES

    if name not in FIGURE_NAMES and name not in SWEEP_FIGURES:
        raise ConfigError("figure", name, ", ".join(figure_names()))
    out = Path(out)
    if name in SWEEP_FIGURES:
        paths = []
        for stem, fig in SWEEP_FIGURES[name](preset_name, seeds, root):
            out.mkdir(parents=True, exist_ok=True)
            paths.append(out / f"{stem}.png")
            fig.savefig(paths[-1], dpi=130, bbox_inches="tight")
            plt.close(fig)
        return paths
    seeds = list(seeds) if seeds else list(PRESET_SEEDS.get(preset_name, (0,)))
    configs = [preset(preset_name, seed=s) for s in seeds]
    run = find_run(configs, root)
    if run is None:
        raise StoreError(f"{name}: the {preset_name} run of seeds {' '.join(map(str, seeds))} is not stored; train it with "
                         f"`python -m icmeta train --preset {preset_name} --seeds {' '.join(map(str, seeds))}`")
    fig = fig1(run.config) if name == "fig1" else globals()[name if name != "main" else "main_result"](run)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return [path]


ROLE_COLORS = {"item": "#9ecae1", "label": "#fdae6b", "query": "#a1d99b"}


def fig1(config, example: dict | None = None):
    """Fig. 1: the task (a sequence of item/label pairs and a query whose answer depends on a
    latent task) and the network (two attention-only layers, an MLP classifier at the query)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    N = config.task.N
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.6, 1]}, layout="constrained")
    a.set_xlim(-0.5, 2 * N + 2.5)
    a.set_ylim(-3.2, 1.6)
    a.axis("off")
    cls = example["classes"] if example else list(range(1, N + 2))
    lab = example["labels"] if example else ["?"] * N
    tgt = example["target"] if example else "?"
    for i in range(2 * N + 1):
        role = "query" if i == 2 * N else ("item" if i % 2 == 0 else "label")
        text = f"x\n(class {cls[i // 2]})" if role != "label" else f"ℓ\n({lab[i // 2]})"
        a.add_patch(FancyBboxPatch((i - 0.42, 0), 0.84, 1.0, boxstyle="round,pad=0.02", fc=ROLE_COLORS[role], ec="k", lw=0.6))
        a.text(i, 0.5, text, ha="center", va="center", fontsize=7)
    a.annotate("", xy=(2 * N + 1.3, 0.5), xytext=(2 * N + 0.5, 0.5), arrowprops=dict(arrowstyle="->"))
    a.text(2 * N + 1.9, 0.5, f"label\n{tgt}", ha="center", va="center", fontsize=8, weight="bold")
    a.text(-0.45, 1.3, f"context: N = {N} (item, label) pairs, then the query item (sequence 2N+1 = {2 * N + 1})", fontsize=8)
    a.text(-0.45, -0.55, "A latent task τ (one of T maps class → label) labels the whole sequence. With p_B = 0 the",
           fontsize=8)
    a.text(-0.45, -0.95, "query's class never appears in the context: the answer cannot be copied, the task must be inferred.",
           fontsize=8)
    steps = [("NCC", "context ignored: knows the query's T candidates", "≈ 1/T"),
             ("SCC", "reads the set of labels: rules out tasks", "≈ 0.75"),
             ("FCC", "binds (item, label) pairs, then reads them", "1.0")]
    for j, (name, desc, acc) in enumerate(steps):
        y = -1.55 - 0.55 * j
        a.add_patch(FancyBboxPatch((-0.4, y - 0.2), 1.4, 0.4, boxstyle="round,pad=0.02", fc=PHASE_COLORS[j], ec="none"))
        a.text(0.3, y, f"phase {j + 1}: {name}", ha="center", va="center", fontsize=7.5, weight="bold")
        a.text(1.3, y, f"{desc}  (accuracy {acc} at T = 3)", va="center", fontsize=7.5)
    b.set_xlim(0, 4)
    b.set_ylim(0, 7.0)
    b.axis("off")
    boxes = [("tokens + positions (width P+D = 128)", "#eeeeee"),
             ("attention layer 1 (+ residual)", "#c6dbef"),
             ("attention layer 2 (+ residual)", "#c6dbef"),
             ("MLP classifier at the query: 128 → 128 → L", "#fdd0a2"),
             ("label of the query", "#a1d99b")]
    for k, (text, color) in enumerate(boxes):
        y = 0.3 + 1.2 * k
        b.add_patch(FancyBboxPatch((0.3, y), 3.4, 0.7, boxstyle="round,pad=0.03", fc=color, ec="k", lw=0.6))
        b.text(2.0, y + 0.35, text, ha="center", va="center", fontsize=7.5)
        if k:
            b.add_patch(FancyArrowPatch((2.0, y - 0.5), (2.0, y), arrowstyle="->", mutation_scale=8))
    b.text(2.0, 6.95, f"{config.model.layers}-layer attention-only transformer, {config.model.heads} head(s), "
           "no LayerNorm, no MLP in the blocks,\nattention softmax(QK) without 1/√d", ha="center", va="top", fontsize=7)
    return fig


def attention_png(patterns: np.ndarray, title: str = "", dpi: int = 72) -> bytes:
    """PNG bytes of the attention maps of each layer side by side ([layers, S, S])."""
    nl, S = patterns.shape[0], patterns.shape[-1]
    fig, axes = plt.subplots(1, nl, figsize=(2.3 * nl, 2.5), layout="constrained", squeeze=False)
    ticks = _tick_labels(S)
    for layer, ax in enumerate(axes[0]):
        ax.imshow(patterns[layer], cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"layer {layer + 1}", fontsize=8)
        ax.set_xticks(range(S), ticks, fontsize=6, rotation=90)
        ax.set_yticks(range(S), ticks, fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    return png_bytes(fig, dpi)


def png_bytes(fig, dpi: int = 72) -> bytes:
    """The figure as PNG bytes (no software stamp, so equal figures give equal bytes); closes it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def snapshot_subset(steps: np.ndarray, per_decade: int) -> set[int]:
    """The attention snapshots an explorer shows: the one nearest each point of a grid of about
    `per_decade` points per decade of steps, and the first and the last."""
    grid = np.unique(np.round(np.logspace(0, np.log10(max(steps.max(), 1)), int(per_decade * np.log10(max(steps.max(), 10))) + 1)))
    keep = {int(steps[np.argmin(np.abs(steps - g))]) for g in grid}
    return keep | {int(steps[0]), int(steps[-1])}


def explorer_frames(run, per_decade: int = 8, member: str | None = None) -> list[dict]:
    """Frames for `icmeta.explorer.explorer_widget`: for each seed and snapshot step, the
    mean attention maps of every layer, the metric values and the current phase."""
    m = run.metrics
    steps = run.patterns()["steps"]
    keep = snapshot_subset(steps, per_decade)
    table = run.phases()
    frames = []
    for r, s in run.members:
        if member is not None and r != member:
            continue
        pats = run.patterns(r, s)
        ph = table[(table.member == r) & (table.seed == s)]
        mm = m[(m.member == r) & (m.seed == s)]
        for i, step in enumerate(steps):
            if int(step) not in keep:
                continue
            at = mm[mm.step == step]
            val = lambda name, layer=None: at[(at.metric == name) & ((at.layer == layer) if layer else at.layer.isna())].value.mean()
            inside = ph[(ph.start <= step) & (ph.end >= step)]
            if len(inside):
                phase = f"phase {int(inside.phase.iloc[0])} ({inside.circuit.iloc[0]})"
            else:
                phase = "before the first phase" if not len(ph) or step < ph.start.min() else "between phases"
            cap = (f"seed {s} · step {int(step)} · {phase} · acc {val('acc'):.3f} · RLA {val('rla'):.3f}\n"
                   + "\n".join(f"layer {l}: bigram {val('bigram', l):.2f}, label attention {val('label_attention', l):.2f}, "
                               f"chunk example {val('chunk_example', l):.2f}" for l in range(1, pats['mean'].shape[1] + 1)))
            frames.append({"seed": int(s), "step": int(step), "caption": cap,
                           "image_png": attention_png(pats["mean"][i].mean(1), dpi=90)})
    return frames


def lr_clock(runs: list[tuple[object, str, str]]):
    """Accuracy of several runs on one learning-rate clock (step x lr / 0.1): each run as
    ``(run, colour, legend)``, seed 0 dark and the others light, a 5-point running median."""
    fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
    for r, color, name in runs:
        scale = r.config.train.lr / 0.1
        for i, (seed, g) in enumerate(r.metrics[r.metrics.metric == "acc"].groupby("seed")):
            g = g.sort_values("step")
            ax.plot((g.step * scale).clip(lower=0.1), g.value.rolling(5, center=True, min_periods=1).median(), color=color,
                    alpha=1 if i == 0 else 0.35, lw=1, label=name if i == 0 else None)
    ax.set_xscale("log")
    ax.set_xlim(10, None)
    ax.set_xlabel("step × lr / 0.1")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    return fig


def variant_grid(runs: dict):
    """The reproduction notes' accuracy curves, one panel per variant (2 rows x 4)."""
    fig, axes = plt.subplots(2, 4, figsize=(16, 6.4), layout="constrained", sharey=True)
    for ax, (name, r) in zip(axes.flat, runs.items()):
        accuracy_curves(r, ax=ax, title=name)
    axes[0, 0].legend(fontsize=6, loc="upper left")
    return fig


def variant_metrics(runs: dict):
    """The circuit metrics of every variant, one row of three panels per variant."""
    fig, axes = plt.subplots(len(runs), 3, figsize=(12, 2.2 * len(runs)), layout="constrained", sharex=True)
    for row, (name, r) in zip(axes, runs.items()):
        metric_panels(row, r, title_prefix=f"{name}: ")
    return fig
