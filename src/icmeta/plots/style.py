"""One look across the book: palettes, attention maps, ceiling lines, plateau shading, PNG bytes.

Seeds keep their colour in every figure (`SEED_COLORS`); the settings of a sweep run along one
ordered colormap (`setting_colors`); plateaus are shaded in their circuit's colour.

Sizes: the page shows a figure's PNG (the inline backend's, at the figure's 100 dpi) at its
natural width, shrunk to the 672 px text column when wider. A figure at most `PAGE_WIDTH` inches
wide is shown at full size, where a font of `SMALLEST_FONT` points is 9.7 px; a wider one shrinks
its text with it (``tests/test_legibility.py`` asks for at least 9 px).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..analysis import phases as P
from ..analysis.summaries import member_phases

PAGE_WIDTH = 6.5  # inches: the 672 px text column at 100 dpi, less the 0.1 in the tight PNG pads on each side
SMALLEST_FONT = 7  # points: tick labels of maps, legends, annotations

PHASE_COLORS = ["#fde2c8", "#d6ecd2", "#d7e3f4", "#eadcf0", "#f4d7d7"]


METRIC_TITLES = {"bigram": "Bigram", "label_attention": "Label Attention", "chunk_example": "Chunk Example"}


LAYER_COLORS = {1: "tab:blue", 2: "tab:red", 3: "tab:green", 4: "tab:purple", 5: "tab:brown"}


ROLE_COLORS = {"item": "#9ecae1", "label": "#fdae6b", "query": "#a1d99b"}


def shade_phases(ax, ph: P.Phases, alpha: float = 0.8) -> None:
    for i, p in enumerate(ph.phases):
        ax.axvspan(max(p.start, 1), p.end, color=PHASE_COLORS[i % len(PHASE_COLORS)], alpha=alpha, lw=0, zorder=0)


def draw_map(ax, pattern: np.ndarray, title: str | None = None, ylabel: str | None = None, vmax: float = 1.0,
             yticklabels: bool = True):
    """One attention map [S, S] (rows attend to columns), tokens named on both axes (beyond 8
    pairs only the items of the pairs 1, 4, 8, ... and the query: adjacent names would overlap);
    `yticklabels` False leaves the rows' names to the map on the left. Returns the image."""
    S = pattern.shape[-1]
    ticks = tick_labels(S)
    if S > 17:
        keep = lambda t: t == "xq" or t[0] == "x" and (int(t[1:]) == 1 or int(t[1:]) % 4 == 0)  # noqa: E731
        ticks = [t if keep(t) else "" for t in ticks]
    im = ax.imshow(pattern, cmap="Blues", vmin=0, vmax=vmax)
    ax.set_xticks(range(S), ticks, fontsize=SMALLEST_FONT, rotation=90)
    ax.set_yticks(range(S), ticks if yticklabels else [], fontsize=SMALLEST_FONT)
    if title:
        ax.set_title(title, fontsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    return im


def tick_labels(S: int) -> list[str]:
    N = (S - 1) // 2
    return [f"x{k // 2 + 1}" if k % 2 == 0 else f"ℓ{k // 2 + 1}" for k in range(2 * N)] + ["xq"]


def attention_png(patterns: np.ndarray, title: str = "", dpi: int = 72) -> bytes:
    """PNG bytes of the attention maps of each layer side by side ([layers, S, S])."""
    nl, S = patterns.shape[0], patterns.shape[-1]
    fig, axes = plt.subplots(1, nl, figsize=(2.3 * nl, 2.5), layout="constrained", squeeze=False)
    ticks = tick_labels(S)
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


SEED_COLORS = dict(enumerate(sns.color_palette("colorblind", 10)))


CIRCUIT_COLORS = {"NCC": PHASE_COLORS[0], "SCC": PHASE_COLORS[1], "FCC": PHASE_COLORS[2]}


def setting_colors(labels: list[str]) -> dict[str, tuple]:
    """An ordered colormap over a sweep's settings (first light, last dark)."""
    pal = sns.color_palette("viridis_r", max(len(labels), 2))
    return dict(zip(labels, pal))


def shade_plateaus(ax, table, alpha: float = 0.6) -> None:
    """Shade each plateau of a phase table (rows with ``start``, ``end``, ``circuit``) in its
    circuit's colour (NCC, SCC, FCC as in the main-result figures; gray for any other name)."""
    for r in table.itertuples():
        ax.axvspan(max(r.start, 1), r.end, color=CIRCUIT_COLORS.get(r.circuit, "#eeeeee"), alpha=alpha, lw=0, zorder=0)


def shade_circuits(ax, run, alpha: float = 0.6) -> None:
    """Shade each plateau of a single-member run in its circuit's colour (`shade_plateaus`)."""
    shade_plateaus(ax, member_phases(run), alpha)


CEILING_STYLES = {"ignore": ("context ignored", ":"), "labels": ("labels only", "--"), "pairs": ("full pairs", "-.")}


def ceiling_lines(ax, ceilings: list[dict], legend: bool = False, lw: float = 0.8) -> None:
    """The Bayes-ideal ceilings of the three strategies (mean over the given members' draws) as
    gray lines: context ignored dotted, labels only dashed, full pairs dash-dotted."""
    for k, (name, ls) in CEILING_STYLES.items():
        ax.axhline(np.mean([c[k] for c in ceilings]), color="gray", ls=ls, lw=lw, label=f"ideal: {name}" if legend else None)


METRIC_COLORS = {"bigram": "#4c72b0", "label_attention": "#dd8452", "chunk_example": "#55a868"}


RATE_COLORS = [sns.color_palette("colorblind")[i] for i in (1, 2, 0)]  # lr 0.1, 0.03, 0.01: orange, green, blue


def head_grid(maps: np.ndarray, heads: list[int] | None = None, size: float = 2.0, pad: float = 0.4,
              max_width: float | None = PAGE_WIDTH):
    """The maps [layers, heads, S, S] of one snapshot: layers in rows, heads (1-based; default
    all) in columns, each `size` inches, or less where the figure would be wider than `max_width`."""
    nl, H = maps.shape[:2]
    heads = list(range(1, H + 1)) if heads is None else heads
    if max_width is not None:
        size = min(size, (max_width - pad) / len(heads))
    fig, axes = plt.subplots(nl, len(heads), figsize=(size * len(heads) + pad, size * nl), layout="constrained", squeeze=False)
    for j, h in enumerate(heads):
        for layer in range(nl):
            draw_map(axes[layer][j], maps[layer, h - 1], title=f"head {h}" if layer == 0 else None,
                     ylabel=f"layer {layer + 1}" if j == 0 else None)
    return fig
