"""Fig. 10: the three circuit metrics per layer of a large model (`icmeta.llm`)."""

from __future__ import annotations

import pandas as pd

from ..llm import METRICS
from .palette import METRICS as METRIC_COLORS


def fig10(table: pd.DataFrame, title: str = ""):
    """Fig. 10: the three metrics per layer (mean over prompts and heads, ± one standard error)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
    for name in METRICS:
        c = METRIC_COLORS[name]
        ax.plot(table.layer, table[name], marker="o", ms=3, lw=1.2, color=c, label=name.replace("_", " ").title())
        se = table.get(f"{name}_se")
        if se is not None and se.notna().all():
            ax.fill_between(table.layer, table[name] - se, table[name] + se, color=c, alpha=0.2, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    ax.set_xlabel("layer")
    ax.set_ylabel("attention (mean over heads)")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
