"""What every chapter notebook needs besides its one package call per step: its parameters
checked (`setup`), a figure glued into the page and saved (`show`), a table rendered as a table
(`table`).

A chapter begins with::

    from icmeta.book import setup, show, table
    preset, seeds, device = setup(preset, seeds, device)

A bad parameter (``papermill -p preset huge``) stops that cell with one line naming the
parameter and the allowed values, not a traceback from deep inside the package.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..analysis.summaries import span  # noqa: F401 - the pages import it from here
from ..config import ConfigError
from ..figures import draw
from ..presets import PRESETS

FIGURES = Path("../figures")  # every figure is also saved here, as `python -m icmeta figure NAME` does


class ParameterError(ConfigError):
    """A notebook parameter outside what is allowed. In IPython it shows as its one line."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: what the cell's error output shows
        return [f"ParameterError: {self}"]


def setup(preset: str = "fast", seeds: Sequence[int] = (0, 1, 2), device: str = "cpu",
          threads: int = 1) -> tuple[str, list[int], str]:
    """Check a chapter's parameters and prepare the page: one torch thread (the page reads
    stored runs; `make runs` trains them on every core), pandas' precision, the figures folder.

    Returns ``(preset, seeds, device)``, seeds as a list. Raises `ParameterError` (one line)
    for an unknown preset, seeds that are not distinct integers, or a device other than cpu or
    cuda (cuda only where a GPU is present)."""
    if preset not in PRESETS:
        raise ParameterError("preset", preset, ", ".join(PRESETS))
    try:
        seeds = [int(s) for s in ([seeds] if isinstance(seeds, (int, str)) else seeds)]
    except (TypeError, ValueError):
        raise ParameterError("seeds", seeds, "a list of distinct integers, e.g. [0, 1, 2]") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ParameterError("seeds", seeds, "a list of distinct integers ≥ 0, e.g. [0, 1, 2]")
    import torch

    if device not in ("cpu", "cuda"):
        raise ParameterError("device", device, "cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", device, "cpu (no GPU is visible to this kernel)")
    torch.set_num_threads(threads)
    pd.set_option("display.precision", 3)
    os.makedirs(FIGURES, exist_ok=True)
    return preset, seeds, device


def show(name: str, **inputs: Any) -> None:
    """Draw the registered figure `name` (`icmeta.figures.draw`) from `inputs` (the runs the chapter
    loaded), glue each of its images into the page under its stem (for a ``{glue:figure}``
    caption), save it as ``figures/<stem>.png`` (as ``python -m icmeta figure NAME`` does) and close it."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    from .display import GluedFigure

    for stem, fig in draw(name, **inputs).items():
        # glued as the inline backend's PNG with a text/plain fingerprint of what the figure shows:
        # nbval compares the fingerprint, the PNG (bytes differ between machines) is sanitized away
        glue(stem, GluedFigure(fig), display=False)
        fig.savefig(FIGURES / f"{stem}.png", dpi=130, bbox_inches="tight")
        plt.close(fig)


def table(df: pd.DataFrame, precision: int = 3, compact: bool = False, group: str | None = None):
    """A table for the page (`icmeta.book.page.styled`): named columns, no index, fixed precision,
    nothing truncated. A named index (``seed``, ``setting``) becomes ordinary columns."""

    return styled(df, precision=precision, compact=compact, group=group)


def styled(df: pd.DataFrame, precision: int = 3, compact: bool = False, group: str | None = None):
    """A table for the book: no index column, fixed precision, padded cells (a pandas Styler);
    `compact` for wide tables (smaller type, tighter cells); `group` names a column whose value is
    shown once for a run of equal rows (a claim over its rates), each run ruled off from the next.

    Its HTML id comes from the table as shown (the formatted cells, not the full-precision
    numbers), so the same table renders to the same HTML on every machine (the notebooks' outputs
    are regression-tested), and its plain-text repr is that table, not a memory address."""
    import hashlib

    from .display import Table, shown_text

    # the index is hidden: a named one (seed, setting) becomes columns
    df = df.reset_index() if any(n is not None for n in df.index.names) else df.reset_index(drop=True)
    # words read from the left, numbers from the right
    text = [i for i, c in enumerate(df.columns) if not pd.api.types.is_numeric_dtype(df[c])]
    styles = [{"selector": "th, td", "props": "padding: 1px 4px; text-align: right; font-size: 0.8em;"
               if compact else "padding: 2px 6px; text-align: right;"}]
    styles += [{"selector": f"td.col{i}, th.col{i}", "props": "text-align: left;"} for i in text]
    if group is not None:
        if group not in df.columns:
            raise ValueError(f"group: {group!r} is not a column of the table (columns: {', '.join(map(str, df.columns))})")
        first = df[group].ne(df[group].shift())  # the first row of each run of equal values
        df = df.assign(**{group: df[group].where(first, "")})
        styles += [{"selector": f"tbody tr:nth-child({i + 1}) td", "props": "border-top: 1px solid #bbb;"}
                   for i in np.flatnonzero(first.to_numpy())[1:]]
    out = Table(df).hide(axis="index").format(precision=precision, na_rep="–").set_table_styles(styles)
    shown = f"{shown_text(out)}\x1e{styles}"  # (another style, another id: two tables may share a page)
    return out.set_uuid(hashlib.sha256(shown.encode()).hexdigest()[:10])


def number_text(v: Any) -> str:
    """How the prose shows a measured value: a float with 3 decimals, an integer with thousands
    separators, a (low, high) pair as a range ("0.540–0.690", one value if both are equal),
    anything else as its text."""
    if isinstance(v, tuple) and len(v) == 2:
        a, b = number_text(v[0]), number_text(v[1])
        return a if a == b else f"{a}–{b}"
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real):
        return f"{float(v):.3f}"
    return str(v)


def glue_numbers(**values: Any) -> None:
    """Glue each measured value into the page under its name (as `number_text` shows it), for
    ``{glue:text}`name``` in the prose: the prose never types a measured number."""
    from myst_nb import glue

    for name, v in values.items():
        glue(name, number_text(v), display=False)


# A cell tagged STATIC_PICTURE shows, in the built book, the picture of its widget's first state
# (`LiveInJupyter`'s HTML) instead of the widget: `scripts/run_notebooks.py` drops the widget's
# view from the cell's stored output, so the static page cannot show controls that do nothing.
STATIC_PICTURE = "static-picture"


class LiveInJupyter:
    """A widget that needs a running kernel (every change recomputes something in Python).

    Displayed, it is the widget in Jupyter; its output also carries `picture` (HTML: the
    widget's first state) under a line saying that the controls run in Jupyter and how, which
    is what the built book shows for a cell tagged ``static-picture``."""

    def __init__(self, widget: Any, picture: str, notebook: str):
        self.widget, self.picture, self.notebook = widget, picture, notebook

    def html(self) -> str:
        return ("<div class='icm-static-picture'><p class='icm-static-note'>A picture of the widget as it starts: its "
                f"controls run Python, so they work in Jupyter (<code>jupyter lab {self.notebook}</code>, then run "
                f"this cell), not on this static page.</p>{self.picture}</div>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        data["text/html"] = self.html()
        data["text/plain"] = f"{type(self.widget).__name__} (live in Jupyter)"
        return data


def controls_picture(controls: Any) -> str:
    """HTML of widget `controls` (sliders, drop-downs, buttons) as they stand, disabled: what the
    static page shows of a live widget's controls, so that a reader sees what can be changed and
    at which values the picture below them was made."""
    import html as H

    parts = []
    for c in controls:
        name = H.escape(str(getattr(c, "description", "")))
        kind = type(c).__name__
        if kind == "Button":
            parts.append(f"<button disabled>{name}</button>")
            continue
        if hasattr(c, "options") and hasattr(c, "index"):  # Dropdown, SelectionSlider: the option shown
            labels = getattr(c, "_options_labels", None) or [str(o) for o in c.options]
            shown = labels[c.index] if c.index is not None else ""
            if kind == "Dropdown":
                field = f"<select disabled><option selected>{H.escape(str(shown))}</option></select>"
            else:
                field = (f"<input type='range' disabled min='0' max='{len(labels) - 1}' value='{c.index}'> "
                         f"<output>{H.escape(str(shown))}</output>")
        else:  # IntSlider, FloatSlider
            field = (f"<input type='range' disabled min='{c.min}' max='{c.max}' step='{getattr(c, 'step', 1)}' "
                     f"value='{c.value}'> <output>{H.escape(f'{c.value:g}')}</output>")
        parts.append(f"<label class='icm-control'>{name} {field}</label>")
    return "<div class='icm-controls'>" + " ".join(parts) + "</div>"


def live_in_jupyter(widget: Any, notebook: str) -> LiveInJupyter:
    """`widget` (one whose ``picture()`` gives the HTML of its current state: the task sampler,
    the probe) for a cell tagged ``static-picture`` of `notebook` (its path from the repository)."""
    return LiveInJupyter(widget, widget.picture(), notebook)
