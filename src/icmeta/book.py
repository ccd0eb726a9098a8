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

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .config import PRESETS, ConfigError

FIGURES = Path("../figures")  # every figure is also saved here, as with `python -m icmeta figure NAME`


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


def show(name: str, fig: Any, dpi: int = 130) -> None:
    """Glue `fig` into the page under `name` (for a ``{glue:figure}`` caption), save it as
    ``figures/<name>.png`` and close it."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    glue(name, fig, display=False)
    fig.savefig(FIGURES / f"{name}.png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def table(df: pd.DataFrame, precision: int = 3, compact: bool = False):
    """A table for the page (`icmeta.tables.styled`): named columns, no index, fixed precision,
    nothing truncated. A named index (``seed``, ``setting``) becomes ordinary columns."""
    from .tables import styled

    return styled(df, precision=precision, compact=compact)
