"""The book's colours: one palette per kind of thing, one meaning per colour.

- **Levels** (`LEVEL_LINE`, `LEVEL_SHADE`): the three accuracy levels and the circuits that reach
  them — context-free (NCC) orange, labels-only (SCC) green, full-pairs (FCC) blue — and grey for
  a run whose levels coincide (T = 1) or chance. A plateau is shaded in its level's tint (`shade`),
  never by its order; a Bayes ceiling is drawn in its level's colour (`level_line`). These hues mean
  nothing else anywhere in the book.
- **Seeds** (`SEEDS`): ten colours with none of the level hues.
- **Learning rates** (`RATES`): a colour, a marker and a line style each, so that two rates are told
  apart in grey print and where the colour already means a seed.
- **Circuit metrics** (`METRICS`) and **layers** (`LAYER_STYLES`: line styles, so a layer keeps its
  metric's colour).
- **Ordered settings** of a sweep (`setting_colors`): one perceptually ordered map.

`misuses` reads a drawn figure and lists every place that breaks these rules (a span not shaded by a
level, a line in a level's hue that is not a level); the registry test runs it on every figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import to_hex, to_rgb

# ---------------------------------------------------------------- levels

LEVELS = ("NCC", "SCC", "FCC", "one level")
LEVEL_LINE = {"NCC": "#d95f02", "SCC": "#1b9e77", "FCC": "#2c7bb6", "one level": "#808080"}
LEVEL_SHADE = {"NCC": "#fdd9b5", "SCC": "#cdeadf", "FCC": "#cfe1f2", "one level": "#e6e6e6"}
# the names a level goes by: the circuit, the Bayes strategy (`icmeta.core.bayes`), the page's words
LEVEL_OF = {"NCC": "NCC", "SCC": "SCC", "FCC": "FCC", "ignore": "NCC", "labels": "SCC", "pairs": "FCC",
            "context-free": "NCC", "labels-only": "SCC", "full-pairs": "FCC", "one level": "one level"}
LEVEL_WORDS = {"NCC": "context-free", "SCC": "labels-only", "FCC": "full-pairs", "one level": "one level"}
NEAR = 0.25  # RGB distance (0-1 per channel) within which a colour reads as a level's hue


def level(name: str) -> str:
    """The level `name` stands for (any of `LEVEL_OF`'s names); "one level" for any other (a
    plateau below the first level, or a run whose levels coincide)."""
    return LEVEL_OF.get(name, "one level")


def shade(ax, start: float, end: float, name: str, alpha: float = 1.0, **kw):
    """Shade steps [start, end] (the full height, or ``ymin``/``ymax``) in level `name`'s tint."""
    lv = level(name)
    return ax.axvspan(max(start, 1), end, color=LEVEL_SHADE[lv], alpha=alpha, lw=0, zorder=0, gid=f"level:{lv}", **kw)


def level_line(ax, y: float, name: str, **kw):
    """A horizontal line at accuracy `y` in level `name`'s colour (a Bayes ceiling)."""
    lv = level(name)
    return ax.axhline(y, color=LEVEL_LINE[lv], gid=f"level:{lv}", **kw)


def mark_level(artist, name: str):
    """Mark an artist drawn in level `name`'s colour as standing for that level (for `misuses`)."""
    artist.set_gid(f"level:{level(name)}")
    return artist


# ---------------------------------------------------------------- seeds, rates, metrics, layers, settings

SEEDS = ["#222222", "#7b3294", "#8c510a", "#c51b7d", "#808000", "#9e9ac8", "#c2a05a", "#e7a1c4", "#67001f", "#3f007d"]


def seed_color(seed: int) -> str:
    return SEEDS[int(seed) % len(SEEDS)]


SEED_PALETTE = dict(enumerate(SEEDS))  # seaborn's ``palette=`` for a ``hue="seed"`` column of seeds 0-9


@dataclass(frozen=True)
class RateStyle:
    color: str
    marker: str
    dashes: tuple  # matplotlib's dash pattern; () solid
    name: str


RATES = {0.1: RateStyle("#762a83", "s", (4, 2), "lr 0.1 (fast)"),
         0.03: RateStyle("#b2182b", "^", (1, 1.5), "lr 0.03"),
         0.01: RateStyle("#000000", "o", (), "lr 0.01 (the paper's)")}
OTHER_RATE = RateStyle("#7f7f7f", "D", (2, 1, 1, 1), "")


def rate_style(lr: float) -> RateStyle:
    return next((s for r, s in RATES.items() if abs(r - lr) < 1e-12), OTHER_RATE)


def rate_kw(lr: float) -> dict:
    """``ax.plot`` keywords of learning rate `lr`: colour, sparse markers, dashes."""
    s = rate_style(lr)
    return {"color": s.color, "marker": s.marker, "markevery": 0.08, "ms": 3.5, "dashes": s.dashes or (None, None)}


METRICS = {"bigram": "#8c6d31", "label_attention": "#e7298a", "chunk_example": "#7570b3"}
LAYER_STYLES = {1: "-", 2: "--", 3: ":", 4: "-.", 5: (0, (5, 1, 1, 1))}


def setting_colors(labels: list[str]) -> dict[str, tuple]:
    """One colour per setting of a sweep, in order, from a perceptually ordered map (dark first)."""
    import matplotlib

    cmap = matplotlib.colormaps["plasma"]
    return {lab: cmap(x)[:3] for lab, x in zip(labels, np.linspace(0.0, 0.8, max(len(labels), 2)))}


def ordered(n: int) -> list[tuple]:
    """`n` colours in order (tasks, label positions), from the settings' map."""
    return list(setting_colors([str(i) for i in range(n)]).values())


# ---------------------------------------------------------------- the check


def _near_level(rgb) -> str | None:
    return next((lv for lv, c in LEVEL_LINE.items() if lv != "one level"
                 and np.linalg.norm(np.subtract(rgb, to_rgb(c))) < NEAR), None)


def _is_span(ax, patch) -> bool:
    """A patch drawn by ``axvspan``: x in data, y in axes fractions."""
    try:
        return patch.get_transform().contains_branch(ax.get_xaxis_transform())
    except (AttributeError, ValueError):
        return False


def _where(ax) -> str:
    return ax.get_title() or ax.get_xlabel() or "an axes"


def misuses(fig) -> list[str]:
    """Every place figure `fig` breaks the colour rules, one line each: a span not shaded in a
    level's tint (`shade`), an artist marked as a level in another colour, a line or marker in a
    level's hue that is not marked as a level (`level_line`, `mark_level`)."""
    out = []
    for ax in fig.axes:
        for p in ax.patches:
            gid = p.get_gid() or ""
            rgb = to_rgb(p.get_facecolor()[:3]) if p.get_fill() else None
            if gid.startswith("level:"):
                lv = gid[6:]
                if rgb is None or to_hex(rgb) not in (LEVEL_SHADE[lv], LEVEL_LINE[lv]):
                    out.append(f"{_where(ax)}: a {lv} patch in {to_hex(rgb) if rgb else 'no colour'}")
            elif _is_span(ax, p):
                out.append(f"{_where(ax)}: a shaded span ({to_hex(rgb) if rgb else 'no fill'}) not marked as a level")
            elif rgb is not None and _near_level(rgb):
                out.append(f"{_where(ax)}: a patch in {_near_level(rgb)}'s hue ({to_hex(rgb)}) not marked as that level")
        for line in ax.lines:
            gid = line.get_gid() or ""
            rgb = to_rgb(line.get_color())
            if gid.startswith("level:"):
                if to_hex(rgb) != LEVEL_LINE[gid[6:]]:
                    out.append(f"{_where(ax)}: a {gid[6:]} line in {to_hex(rgb)}")
            elif _near_level(rgb):
                out.append(f"{_where(ax)}: a line {line.get_label()!r} in {_near_level(rgb)}'s hue ({to_hex(rgb)}) "
                           "not marked as that level")
        for coll in ax.collections:
            if (coll.get_gid() or "").startswith("level:") or coll.get_array() is not None:
                continue  # a level, or colours from a colormap (a map, a colour bar)
            for c in np.atleast_2d(coll.get_facecolor()):
                if len(c) and _near_level(c[:3]):
                    out.append(f"{_where(ax)}: markers in {_near_level(c[:3])}'s hue ({to_hex(c[:3])}) not marked")
                    break
    return out
