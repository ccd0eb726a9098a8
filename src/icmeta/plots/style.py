"""One look across the book: attention maps, ceiling lines, plateau shading, PNG bytes.

Colours come from `icmeta.plots.palette` (one palette per kind of thing): plateaus are shaded
by the level they sit at, ceilings drawn in their level's colour, seeds, rates, metrics and
settings each in their own palette.

Sizes: the page shows a figure's PNG (the inline backend's, at the figure's 100 dpi) at its
natural width, shrunk to the 672 px text column when wider. A figure at most `PAGE_WIDTH` inches
wide is shown at full size, where a font of `SMALLEST_FONT` points is 9.7 px; a wider one shrinks
its text with it (``tests/test_legibility.py`` asks for at least 9 px).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..analysis import phases as P
from ..analysis.summaries import member_phases, moved_at, one_level
from .palette import level, level_line, shade

PAGE_WIDTH = 6.5  # inches: the 672 px text column at 100 dpi, less the 0.1 in the tight PNG pads on each side
SMALLEST_FONT = 7  # points: tick labels of maps, legends, annotations
MIN_MAP = 1.8  # inches: the narrowest a figure lays out an attention map (about 150 px in the page)
COLORBAR_WIDTH = 0.6  # inches a map's colour bar and its label take at the right

METRIC_TITLES = {"bigram": "Bigram", "label_attention": "Label Attention", "chunk_example": "Chunk Example"}


ROLE_COLORS = {"item": "#d9d9d9", "label": "#fbe6a2", "query": "#e7d4e8"}  # token roles (Fig. 1): no level's hue
MAP_CMAP = "Blues"  # attention weights, 0 (white) to the scale's top
MAP_LABEL = "attention weight"


def shade_phases(ax, ph: P.Phases, ceilings: dict | None, alpha: float = 0.8) -> None:
    """Shade each plateau of `ph` by the level it sits at (the nearest of the Bayes `ceilings` of
    its member's data draw, `icmeta.analysis.phases.nearest_strategy`; grey where they coincide or
    are unknown)."""
    for p in ph.phases:
        name = "one level" if ceilings is None or one_level(ceilings) else P.nearest_strategy(p.acc, ceilings)
        shade(ax, p.start, p.end, name, alpha=alpha)


def draw_map(ax, pattern: np.ndarray, title: str | None = None, ylabel: str | None = None, vmax: float = 1.0,
             yticklabels: bool = True, xticklabels: bool = True):
    """One attention map [S, S] (rows attend to columns), tokens named on both axes (beyond 8
    pairs only the items of the pairs 1, 4, 8, ... and the query: adjacent names would overlap);
    `yticklabels` (`xticklabels`) False leaves the rows' (columns') names to the map on the left
    (below). Returns the image, for `map_colorbar`."""
    S = pattern.shape[-1]
    ticks = tick_labels(S)
    if S > 17:
        keep = lambda t: t == "xq" or t[0] == "x" and (int(t[1:]) == 1 or int(t[1:]) % 4 == 0)  # noqa: E731
        ticks = [t if keep(t) else "" for t in ticks]
    im = ax.imshow(pattern, cmap=MAP_CMAP, vmin=0, vmax=vmax)
    ax.set_xticks(range(S), ticks if xticklabels else [], fontsize=SMALLEST_FONT, rotation=90)
    ax.set_yticks(range(S), ticks if yticklabels else [], fontsize=SMALLEST_FONT)
    if title:
        ax.set_title(title, fontsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    return im


def map_colorbar(fig, im, axes, vmax: float = 1.0, location: str = "right"):
    """One colour bar for every map drawn on `axes` with image `im`'s scale, labelled with it, at
    the right of the maps or, for a grid that needs the page's whole width, below them."""
    label = MAP_LABEL if vmax >= 1.0 else f"{MAP_LABEL} (scale ends at {vmax:.2f})"
    cb = fig.colorbar(im, ax=axes, shrink=0.85 if location == "right" else 0.6, aspect=25 if location == "right" else 40,
                      pad=0.02, location=location)
    cb.set_label(label, fontsize=SMALLEST_FONT + 1)
    cb.ax.tick_params(labelsize=SMALLEST_FONT)
    return cb


def tick_labels(S: int) -> list[str]:
    N = (S - 1) // 2
    return [f"x{k // 2 + 1}" if k % 2 == 0 else f"ℓ{k // 2 + 1}" for k in range(2 * N)] + ["xq"]


def attention_png(patterns: np.ndarray, title: str = "", dpi: int = 72) -> bytes:
    """PNG bytes of the attention maps of each layer side by side ([layers, S, S])."""
    nl, S = patterns.shape[0], patterns.shape[-1]
    fig, axes = plt.subplots(1, nl, figsize=(2.3 * nl + 0.5, 2.5), layout="constrained", squeeze=False)
    ticks = tick_labels(S)
    for layer, ax in enumerate(axes[0]):
        im = ax.imshow(patterns[layer], cmap=MAP_CMAP, vmin=0, vmax=1)
        ax.set_title(f"layer {layer + 1}", fontsize=8)
        ax.set_xticks(range(S), ticks, fontsize=6, rotation=90)
        ax.set_yticks(range(S), ticks, fontsize=6)
    map_colorbar(fig, im, axes[0].tolist())
    if title:
        fig.suptitle(title, fontsize=8)
    return png_bytes(fig, dpi)


def start_log_axes(fig, decades_before: float = 1.0, moved: float = 0.1) -> None:
    """Start every log-scaled x axis of `fig` (the same start for all of them) `decades_before`
    decades before the first step at which any curve drawn on them has moved `moved` of its range
    from where it began, and never before the first drawn point: the runs are evaluated from step 1,
    and an axis from 10⁰ spends a decade or two on curves that have not yet moved, pushing every
    event to the right. An axis already set to start later keeps its start; level lines (ceilings)
    and curves of fewer than five points are not read."""
    axes = [ax for ax in fig.axes if ax.get_xscale() == "log" and ax.lines]
    firsts, events = [], []
    for ax in axes:
        for line in ax.lines:
            x, y = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
            if (line.get_gid() or "").startswith("level:") or x.shape != y.shape:
                continue
            ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
            if ok.sum() < 5:
                continue
            firsts.append(x[ok].min())
            at = moved_at(x[ok], y[ok], moved)
            if at is not None:
                events.append(at)
    if not events:
        return
    left = max(min(firsts), min(events) / 10**decades_before)
    for ax in axes:
        lo, hi = ax.get_xlim()
        if left > lo:
            ax.set_xlim(left, hi)


def png_bytes(fig, dpi: int = 72) -> bytes:
    """The figure as PNG bytes (no software stamp, so equal figures give equal bytes); closes it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def shade_plateaus(ax, table, alpha: float = 0.8) -> None:
    """Shade each plateau of a phase table (rows with ``start``, ``end``, ``circuit``) in its
    level's tint (`icmeta.plots.palette.shade`; grey for "one level" or any other name)."""
    for r in table.itertuples():
        shade(ax, r.start, r.end, r.circuit, alpha=alpha)


def shade_circuits(ax, run, alpha: float = 0.8) -> None:
    """Shade each plateau of a single-member run in its circuit's colour (`shade_plateaus`)."""
    shade_plateaus(ax, member_phases(run), alpha)


CEILING_STYLES = {"ignore": ("context-free", ":"), "labels": ("labels-only", "--"), "pairs": ("full-pairs", "-.")}


def ceiling_lines(ax, ceilings: list[dict], legend: bool = False, lw: float = 0.9) -> None:
    """The Bayes-ideal ceilings of the three strategies (mean over the given members' draws), each
    in its level's colour (`icmeta.plots.palette.level_line`) and style: context-free dotted,
    labels-only dashed, full-pairs dash-dotted."""
    for k, (name, ls) in CEILING_STYLES.items():
        level_line(ax, float(np.mean([c[k] for c in ceilings])), k, ls=ls, lw=lw,
                   label=f"ideal: {name} ({level(k)})" if legend else None)


def head_grid(maps: np.ndarray, heads: list[int] | None = None, size: float = 2.0, pad: float = 0.4,
              max_width: float | None = PAGE_WIDTH):
    """The maps [layers, heads, S, S] of one snapshot with one colour bar: layers in rows and heads
    (1-based; default all) in columns, each `size` inches; where that many heads would make a map
    narrower than `MIN_MAP` inches in `max_width`, heads in rows and layers in columns instead."""
    nl, H = maps.shape[:2]
    heads = list(range(1, H + 1)) if heads is None else heads
    pad += COLORBAR_WIDTH
    wide = max_width is None or (max_width - pad) / len(heads) >= MIN_MAP
    cells = [[(layer, h) for h in heads] for layer in range(nl)]
    if not wide:
        cells = [list(col) for col in zip(*cells)]  # heads down, layers across
    rows, cols = len(cells), len(cells[0])
    if max_width is not None:
        size = min(size, (max_width - pad) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + pad, size * rows), layout="constrained", squeeze=False)
    for i, row in enumerate(cells):
        for j, (layer, h) in enumerate(row):
            first_row, first_col = (f"head {h}", f"layer {layer + 1}") if wide else (f"layer {layer + 1}", f"head {h}")
            im = draw_map(axes[i][j], maps[layer, h - 1], title=first_row if i == 0 else None,
                          ylabel=first_col if j == 0 else None, yticklabels=j == 0, xticklabels=i == rows - 1)
    map_colorbar(fig, im, axes.ravel().tolist())
    return fig
