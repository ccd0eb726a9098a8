#!/usr/bin/env python
"""How legible every registered figure is in the built page, drawn from the stored runs.

For each figure of `icmeta.figures.REGISTRY` (inputs from `icmeta.figures.load`, as
``python -m icmeta figure NAME`` reads them; Fig. 1 with the example sequence chapter 1 passes),
each image is drawn as the page glues it (`icmeta.book.display.inline_png`: the inline backend's
PNG, the figure's dpi, ``bbox_inches="tight"``) and its smallest text measured
(`icmeta.book.display.smallest_text_px`: points at that dpi, scaled to the 672 px text column when
the PNG is wider). Prints one line per image, worst first:

    name  stem  png width  smallest text px  narrowest map px  (the smallest text)

and under it any break of the colour rules (`icmeta.plots.palette.misuses`).

Figures whose inputs are not stored (e.g. the GPT2-XL table of Fig. 10) are skipped with a line
saying so. Exit status 1 when an image's smallest text is below ``--min`` px (default 9).

Exit status 1 also for a map under 150 px or a colour-rule break.

Usage: python scripts/legibility.py [NAME ...] [--preset fast] [--seeds 0 1 2] [--root RUNS] [--min 9] [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from icmeta import figures  # noqa: E402
from icmeta.book.display import COLUMN_PX, inline_png, map_px, png_width, text_px  # noqa: E402
from icmeta.plots.palette import misuses  # noqa: E402

MIN_PX = 9.0
MIN_MAP_PX = 150.0


def inputs(name: str, preset_name: str, seeds, root) -> dict:
    """The inputs a chapter passes to `show(name, ...)`, read from the store."""
    got = figures.load(name, preset_name, seeds, root)
    if name == "fig1":  # chapter 1 shows one sequence of the preset's data draw
        from icmeta.core.task import example_sequence

        got["example"] = example_sequence(got["config"])
    return got


def measure(name: str, out: Path | None = None, **got) -> list[dict]:
    """One row per image of figure `name`: its stem, PNG width, smallest text (px) and that text;
    the PNG the page shows written to ``out/<stem>.png`` when `out` is given."""
    rows = []
    for stem, fig in figures.draw(name, **got).items():
        try:
            png = inline_png(fig)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{stem}.png").write_bytes(png if isinstance(png, bytes) else base64.b64decode(png))
            width = png_width(png)
            sizes = text_px(fig, width, COLUMN_PX)
            px, text = sizes[0] if sizes else (float("inf"), "")
            maps = map_px(fig, width)
            rows.append({"name": name, "stem": stem, "width": width, "px": px, "text": text,
                         "figsize": tuple(round(float(x), 2) for x in fig.get_size_inches()),
                         "map": maps[0] if maps else None, "colours": misuses(fig)})
        finally:
            plt.close(fig)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="default: every registered figure")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--seeds", nargs="*", type=int, default=None)
    ap.add_argument("--root", default=None, help="runs root (default: the store's)")
    ap.add_argument("--out", type=Path, default=None, help="also write each PNG the page shows here")
    ap.add_argument("--min", type=float, default=MIN_PX, help="the smallest legible text, px (default 9)")
    args = ap.parse_args(argv)
    rows, skipped = [], []
    for name in args.names or figures.names():
        try:
            got = inputs(name, args.preset, args.seeds, args.root)
        except Exception as e:  # noqa: BLE001 - inputs not stored (or not for this preset): said, skipped
            skipped.append((name, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
            continue
        rows += measure(name, args.out, **got)
    rows.sort(key=lambda r: r["px"])
    print(f"{'name':<16} {'stem':<20} {'figsize in':>12} {'png px':>7} {'text px':>8} {'map px':>7}  smallest text")
    for r in rows:
        size = f"{r['figsize'][0]:g}x{r['figsize'][1]:g}"
        flag = "  <-- text below" if r["px"] < args.min else ""
        flag += "  <-- maps narrow" if r["map"] is not None and r["map"] < MIN_MAP_PX else ""
        maps = f"{r['map']:.0f}" if r["map"] is not None else "–"
        print(f"{r['name']:<16} {r['stem']:<20} {size:>12} {r['width']:>7} {r['px']:>8.1f} {maps:>7}  {r['text'][:30]!r}{flag}")
        for c in r["colours"]:
            print(f"    colour: {c}")
    for name, why in skipped:
        print(f"skipped {name}: inputs not stored ({why})")
    below = [r for r in rows if r["px"] < args.min]
    narrow = [r for r in rows if r["map"] is not None and r["map"] < MIN_MAP_PX]
    wrong = [r for r in rows if r["colours"]]
    print(f"{len(rows)} images, {len(below)} below {args.min:g} px, {len(narrow)} with maps under {MIN_MAP_PX:g} px, "
          f"{len(wrong)} breaking the colour rules, {len(skipped)} figures skipped")
    return 1 if below or narrow or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
