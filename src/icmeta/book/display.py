"""What the pages store for a figure and a table, made so that the stored outputs compare by what a
reader sees (the notebooks are regression-tested with nbval, on other machines too).

* `GluedFigure`: what `icmeta.book.show` glues for a figure. Its PNG is the one the inline backend
  draws for the Figure (same dpi, same ``bbox_inches``), so the page looks as before; its text
  (``text/plain``) is `fingerprint`, a short hash of what the figure shows, rounded to 3
  significant digits. PNG bytes differ between machines (font rendering): nbval's sanitizer
  (``book/nbval_sanitize.cfg``) blanks the PNG and compares the fingerprint instead. Its
  ``image/png`` metadata holds ``smallest_text_px`` (`smallest_text_px`): how tall, in pixels of
  the built page, the figure's smallest text is (``tests/test_legibility.py`` reads it).
* `Table`: a pandas Styler whose ``text/plain`` is the table as shown (the formatted cells), not
  ``<pandas.io.formats.style.Styler at 0x...>``; `shown_text` gives those cells for its HTML id.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np
from pandas.io.formats.style import Styler

DIGITS = 3  # significant digits of the data a fingerprint sees
# Rounding bins one unit of the last digit wide, their edges at k + 0.618 rather than at the round
# halves k + 0.5: exact data (an accuracy of 13/16 = 0.8125, a bin edge 4.125) sits on round halves,
# where the last bit of float noise would flip a rounding; nothing in particular sits on these edges.
BIN_OFFSET = 0.381966
NEGLIGIBLE = 1e-12  # relative to an array's largest value: float noise around 0, taken as 0


# --- figures ---------------------------------------------------------------------------------------

COLUMN_PX = 672  # the width of the book's text column at a 1280 px wide window: a wider PNG is shrunk to it


def _rounded(values: Any, digits: int = DIGITS) -> bytes:
    """`values` rounded to `digits` significant digits, as bytes: each number becomes
    (mantissa, exponent) integers, so that two values that agree to that precision hash alike
    (see `BIN_OFFSET`, `NEGLIGIBLE`)."""
    try:
        a = np.ma.filled(np.ma.asarray(values, dtype=float), np.nan)
    except (TypeError, ValueError):  # strings, objects: their text
        return repr(values).encode()
    flat = a.ravel()
    out = np.zeros((flat.size, 2), dtype=np.int64)
    finite = np.isfinite(flat)
    mag = np.abs(np.where(finite, flat, 0.0))
    ok = finite & (mag > NEGLIGIBLE * (mag.max() if mag.size else 0.0))
    x = mag[ok]
    if x.size:
        e = np.floor(np.log10(x)).astype(np.int64) - (digits - 1)
        m = np.floor(x / np.power(10.0, e) + BIN_OFFSET).astype(np.int64)
        low, high = m < 10 ** (digits - 1), m >= 10**digits  # log10 one off at a power of ten, or 9.997 -> 1000e-2
        m[high], e[high] = m[high] // 10, e[high] + 1
        m[low], e[low] = m[low] * 10, e[low] - 1
        out[ok] = np.stack([np.sign(flat[ok]).astype(np.int64) * m, e], axis=1)
    special = 1 << 40
    out[np.isnan(flat)] = (0, special)
    out[np.isposinf(flat)] = (1, special)
    out[np.isneginf(flat)] = (-1, special)
    return struct.pack(f"<{a.ndim}q", *a.shape) + out.tobytes()


def _feed(h, part: Any) -> None:
    """Add `part` (text, numbers, arrays, nested lists/tuples) to hash `h`, unambiguously."""
    if isinstance(part, str):
        b = part.encode()
        h.update(b"s" + struct.pack("<q", len(b)) + b)
    elif part is None or isinstance(part, bool):
        h.update(b"c" + repr(part).encode())
    elif isinstance(part, (list, tuple)) and not all(isinstance(p, (int, float, np.number)) for p in part):
        h.update(b"l" + struct.pack("<q", len(part)))
        for p in part:
            _feed(h, p)
    else:
        b = _rounded(part)
        h.update(b"n" + struct.pack("<q", len(b)) + b)


def _color(c) -> str:
    from matplotlib.colors import to_hex

    try:
        return to_hex(c, keep_alpha=True)
    except (ValueError, TypeError):
        return repr(c)


def _texts(texts: Iterable) -> list:
    return [(t.get_text(), tuple(np.asarray(t.get_position(), dtype=float)))
            for t in texts if t.get_visible() and t.get_text()]


def _legend(leg) -> list:
    if leg is None:
        return []
    return [leg.get_title().get_text(), [t.get_text() for t in leg.get_texts()]]


def _patch(p) -> list:
    from matplotlib.patches import FancyArrowPatch, Rectangle

    part: list = [type(p).__name__, _color(p.get_facecolor()), _color(p.get_edgecolor())]
    if isinstance(p, Rectangle):
        part.append([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
    elif isinstance(p, FancyArrowPatch) and getattr(p, "_posA_posB", None) is not None:
        part.append(np.asarray(p._posA_posB, dtype=float))
    else:
        try:  # the patch's outline in its own (data) coordinates, not in pixels
            part.append(p.get_patch_transform().transform(p.get_path().vertices))
        except Exception:  # noqa: BLE001 - a patch that cannot say: its type and colours only
            pass
    return part


def _collection(c) -> list:
    from matplotlib.collections import QuadMesh

    part: list = [type(c).__name__, np.asarray(c.get_offsets(), dtype=float)]
    arr = c.get_array()
    part.append(None if arr is None else np.ma.filled(np.ma.asarray(arr, dtype=float), np.nan))
    if isinstance(c, QuadMesh):
        part.append(np.asarray(c.get_coordinates(), dtype=float))
    else:
        part.append([np.asarray(p.vertices, dtype=float) for p in c.get_paths()])
    if arr is None:  # colours chosen directly, not through a colormap
        part.append([_color(f) for f in np.atleast_2d(c.get_facecolor())])
    else:
        part.append([getattr(c.get_cmap(), "name", ""), c.get_clim()])
    return part


def _axis(axis) -> list:
    if not axis.get_visible():
        return [False]
    major = [t.get_text() for t in axis.get_majorticklabels() if t.get_visible()]
    minor = [t.get_text() for t in axis.get_minorticklabels() if t.get_visible() and t.get_text()]
    return [axis.get_scale(), axis.get_label_text(), major, minor]


def _axes_parts(ax) -> list:
    parts: list = [[ax.get_title(loc=loc) for loc in ("left", "center", "right")], ax.axison]
    if ax.axison:
        parts += [_axis(ax.xaxis), _axis(ax.yaxis)]
    if hasattr(ax, "get_zlim"):  # 3-d axes
        parts.append([ax.get_zlabel(), ax.get_zlim()])
    parts += [list(ax.get_xlim()), list(ax.get_ylim()), _legend(ax.get_legend()), _texts(ax.texts)]
    parts.append([[_color(ln.get_color()), ln.get_linestyle(), str(ln.get_marker()),
                   np.asarray(ln.get_xydata(), dtype=float)] for ln in ax.get_lines() if ln.get_visible()])
    parts.append([_collection(c) for c in ax.collections if c.get_visible()])
    parts.append([[getattr(im.get_cmap(), "name", ""), list(im.get_extent()), list(im.get_clim()),
                   np.ma.filled(np.ma.asarray(im.get_array(), dtype=float), np.nan)]
                  for im in ax.get_images() if im.get_visible()])
    parts.append([_patch(p) for p in ax.patches if p.get_visible()])
    return parts


def _hex(parts: Any, n: int = 12) -> str:
    h = hashlib.sha256()
    _feed(h, parts)
    return h.hexdigest()[:n]


def fingerprint(fig) -> str:
    """What `fig` shows, as a few lines of text: its size (as a Figure's repr gives it), a hash of
    the whole figure, and one hash per axes with its title. Each hash covers the titles, axis
    labels and scales, tick labels, legend texts, texts, axis limits and the data of its lines,
    collections, images and patches rounded to 3 significant digits (`DIGITS`), with their colours.

    Best taken after the figure was drawn (tick labels are those of the laid-out axes)."""
    figure_parts = [list(fig.get_size_inches()), fig.dpi,
                    [getattr(fig, a).get_text() if getattr(fig, a, None) is not None else ""
                     for a in ("_suptitle", "_supxlabel", "_supylabel")],
                    _texts(fig.texts), [_legend(leg) for leg in fig.legends]]
    axes = [_hex(_axes_parts(ax)) for ax in fig.axes]
    w, h = fig.bbox.size
    lines = [f"<Figure size {w:g}x{h:g} with {len(fig.axes)} Axes, fingerprint {_hex([figure_parts, axes])}>"]
    for i, (ax, hx) in enumerate(zip(fig.axes, axes)):
        title = " / ".join(t for t in (ax.get_title(loc=loc) for loc in ("left", "center", "right")) if t)
        title = (title[:57] + "...") if len(title) > 60 else title
        lines.append(f"axes {i}: {hx}" + (f" {title!r}" if title else ""))
    return "\n".join(lines)


def inline_png(fig) -> bytes | str | None:
    """The PNG the kernel's display machinery makes for `fig` (IPython's inline backend:
    ``print_figure(fig, "png", bbox_inches="tight")`` at the figure's dpi, or whatever the
    kernel is configured with), so that a glued figure looks as a glued Figure did."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            return ip.display_formatter.formatters["image/png"].lookup(fig)(fig)
    except (ImportError, KeyError, AttributeError):
        pass
    from IPython.core.pylabtools import print_figure

    return print_figure(fig, "png", bbox_inches="tight")


def drawn_texts(fig) -> list:
    """The text artists a draw of `fig` renders: visible, not blank, and not entirely outside their
    clip box or the saved (tight) area. Tick labels are those of the ticks the axes draw (an axis
    keeps unused Tick objects with stale labels, which `fig.findobj` would also return)."""
    from matplotlib.text import Text

    drawn: list = []
    draw = Text.draw

    def record(self, renderer):  # Text.draw as a draw calls it, noting what it would render
        if renderer is not None and self.get_visible() and self.get_text().strip() and self.get_alpha() != 0:
            extent = self.get_window_extent(renderer)
            clip = self.get_clip_box() if self.get_clip_on() else None
            if clip is None or extent.overlaps(clip):
                drawn.append((self, extent))
        return draw(self, renderer)

    Text.draw = record
    try:
        fig.draw_without_rendering()
    finally:
        Text.draw = draw
    try:
        from matplotlib.transforms import Bbox

        renderer = fig._get_renderer()
        saved = Bbox(fig.get_tightbbox(renderer).get_points() * fig.dpi)  # inches -> pixels
        kept = [t for t, extent in drawn if extent.overlaps(saved)]
    except Exception:  # noqa: BLE001 - no saved area to compare with: every drawn text counts
        kept = [t for t, _ in drawn]
    return list(dict.fromkeys(kept))


def text_px(fig, png_width_px: float, column_px: float = COLUMN_PX, dpi: float | None = None) -> list[tuple[float, str]]:
    """Every drawn text of `fig` (`drawn_texts`) as ``(height in page pixels, text)``, smallest
    first: its font size in points at the PNG's `dpi` (default the figure's, as the inline backend
    draws it), ``pt * dpi / 72``, scaled by ``min(1, column_px / png_width_px)`` (the page shows a
    PNG at its natural width, shrunk to the text column when wider)."""
    dpi = fig.dpi if dpi is None else dpi
    scale = min(1.0, column_px / png_width_px) if png_width_px else 1.0
    return sorted((t.get_fontsize() * dpi / 72 * scale, t.get_text()) for t in drawn_texts(fig))


def smallest_text_px(fig, png_width_px: float, column_px: float = COLUMN_PX, dpi: float | None = None) -> float:
    """The smallest font size, in pixels of the built page, among the figure's visible, non-empty
    texts (tick labels, titles, legends, annotations, colour-bar labels; `text_px`); ``inf`` for a
    figure without text."""
    sizes = text_px(fig, png_width_px, column_px, dpi)
    return sizes[0][0] if sizes else float("inf")


def map_px(fig, png_width_px: float, column_px: float = COLUMN_PX) -> list[float]:
    """The width, in pixels of the built page, of every axes of `fig` that shows an image (an
    attention map), narrowest first: its drawn width at the figure's dpi, scaled as `text_px`
    scales text."""
    fig.draw_without_rendering()
    scale = min(1.0, column_px / png_width_px) if png_width_px else 1.0
    return sorted(ax.get_window_extent().width * scale for ax in fig.axes if ax.images and ax.get_visible())


def png_width(png: bytes | str | None) -> int | None:
    """The width in pixels of a PNG (bytes, or base64 text as a kernel's formatter may return it)."""
    import base64

    if isinstance(png, str):
        png = base64.b64decode("".join(png[:80].split())[:64])
    if not png or png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">I", png[16:20])[0]


class GluedFigure:
    """A drawn figure for ``myst_nb.glue``: ``image/png`` as the inline backend draws the Figure,
    ``text/plain`` its `fingerprint` (taken after the PNG was drawn, so it sees the laid-out axes),
    and in the PNG's metadata ``smallest_text_px`` (`smallest_text_px` at the PNG's width, rounded
    down to 0.1 px; absent for a figure without text) and ``smallest_map_px`` (the narrowest
    attention map, `map_px`; absent for a figure without one). nbval does not compare output metadata."""

    def __init__(self, fig):
        self.png = inline_png(fig)
        self.text = fingerprint(fig)
        width = png_width(self.png)
        px = smallest_text_px(fig, width) if width else float("inf")
        self.smallest_text_px = math.floor(px * 10) / 10 if math.isfinite(px) else None
        maps = map_px(fig, width) if width else []
        self.smallest_map_px = math.floor(maps[0]) if maps else None

    def _repr_png_(self):
        return self.png

    def _repr_mimebundle_(self, include=None, exclude=None):
        # no data here (the PNG and the text come from _repr_png_ and __repr__), only the PNG's metadata
        meta = {k: v for k, v in (("smallest_text_px", self.smallest_text_px), ("smallest_map_px", self.smallest_map_px))
                if v is not None}
        return ({}, {"image/png": meta}) if meta else None

    def __repr__(self) -> str:
        return self.text


# --- tables ----------------------------------------------------------------------------------------


def shown_text(styler: Styler) -> str:
    """The table's cells as the page shows them (headers and formatted values, hidden rows and
    columns left out), one row a line, cells separated by U+001F."""
    return styler.to_string(delimiter="\x1f", max_rows=None, max_columns=None)


class Table(Styler):
    """A pandas Styler whose plain-text repr is the table as shown (the formatted cells, aligned),
    not ``<pandas.io.formats.style.Styler at 0x...>`` with a memory address."""

    def __repr__(self) -> str:
        try:
            rows = [line.split("\x1f") for line in shown_text(self).splitlines()]
        except Exception:  # noqa: BLE001 - a repr must not fail
            return object.__repr__(self)
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        widths = [max(len(r[j]) for r in rows) for j in range(width)]
        return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip() for r in rows)

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython's text/plain
        p.text(repr(self))
