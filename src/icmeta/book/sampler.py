"""Widgets for Jupyter: the task sampler (what each knob of the task does, before training).

`task_sampler()` shows controls for K, T, N, ε, p_B, B, α and β, and for the current values a
few sampled sequences and their statistics over many: how often the query's class is in the
context, how many of the query's candidate labels (one per task) the context shows, and the
Bayes-ideal accuracy of the three strategies (context ignored, labels only, full pairs), which
are the levels of the three plateaus. It runs Python on every change, so it is live in Jupyter
only (the book shows its initial state); the training explorer (`icmeta.book.explorer`) is the
widget that also works in the static book.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..config import Config, ConfigError, set_field, validate
from ..core.bayes import ideal_accuracies
from ..core.task import Sampler, make_world
from ..presets import preset
from .page import controls_picture

SAMPLER_FIELDS = ("K", "T", "N", "eps", "p_B", "B", "alpha", "beta")


def sample_summary(config: Config, n: int = 4_000, shown: int = 4, seed: int = 0) -> dict[str, Any]:
    """What the task of `config` looks like: `shown` sampled sequences (context classes and
    labels, the query's class, its label, the task) and statistics over `n` sequences."""
    import torch


    t = config.task
    world = make_world(t, torch.Generator().manual_seed(seed))
    batch = Sampler([t], [world]).sample(n, [torch.Generator().manual_seed(seed + 1)])
    classes, labels = batch.classes[0].numpy(), batch.labels[0].numpy()  # [n, N+1], [n, N]
    query, context = classes[:, t.N], classes[:, : t.N]
    maps = world.maps.numpy()  # [T, K]: task -> class -> label
    cands = maps[:, query].T  # [n, T]: the query's label under each task
    shows = (cands[:, :, None] == labels[:, None, :]).any(-1)  # [n, T]: is that label in the context?
    true = batch.tasks[0].numpy()
    others = np.ones_like(shows)
    others[np.arange(n), true] = False
    ceilings = ideal_accuracies(t, world, n=n, seed=seed + 2)
    rows = [{"task": int(true[i]) + 1,
             "context (class → label)": "  ".join(f"{c}→{l}" for c, l in zip(context[i], labels[i])),
             "query class": int(query[i]), "its label": int(batch.target[0, i])} for i in range(shown)]
    return {
        "sequences": rows,
        "query class in the context": float((context == query[:, None]).any(1).mean()),
        "candidate labels in the context (of T)": float(shows.sum(1).mean()),
        "another task's label for the query shown": float((shows & others).any(1).mean()) if t.T > 1 else 0.0,
        "ceilings": {k: float(ceilings[k]) for k in ("ignore", "labels", "pairs")},
        "n": n,
    }


def summary_html(config: Config, s: dict[str, Any]) -> str:
    """`sample_summary` as an HTML fragment."""
    t = config.task
    head = "".join(f"<th>{html.escape(k)}</th>" for k in s["sequences"][0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in s["sequences"])
    c, other = s["ceilings"], s["another task's label for the query shown"]
    return (
        f"<p><b>K = {t.K}, T = {t.T}, N = {t.N}, ε = {t.eps:g}, p_B = {t.p_B:g}, B = {t.B}, α = {t.alpha:g}, β = {t.beta:g}</b></p>"
        f"<table class='icm-sampler'><tr>{head}</tr>{body}</table>"
        f"<p>Over {s['n']:,} sequences: the query's class is in the context in {s['query class in the context']:.1%}; "
        f"the context shows {s['candidate labels in the context (of T)']:.2f} of the query's {t.T} candidate labels on average, "
        f"and another task's label for the query in {other:.1%}.</p>"
        f"<p>Bayes-ideal accuracy — context ignored (NCC level) <b>{c['ignore']:.3f}</b>, labels only (SCC) "
        f"<b>{c['labels']:.3f}</b>, full pairs (FCC) <b>{c['pairs']:.3f}</b>.</p>"
    )


def task_sampler(config: Config | None = None, n: int = 4_000):
    """The sampler widget (an ipywidgets ``VBox`` with CSS class ``icm-sampler``): one control
    per task field of `SAMPLER_FIELDS`, and the summary of the current task, recomputed when a
    control changes. A combination the task does not allow is named in one line instead."""
    import ipywidgets as w


    base = config or preset("fast")
    t = base.task
    style = {"description_width": "3em"}
    controls = {
        "K": w.SelectionSlider(options=[8, 16, 32, 64, 128, 256, 512, 1024], value=t.K if t.K in (8, 16, 32, 64, 128, 256, 512, 1024) else 64, description="K", style=style),
        "T": w.IntSlider(value=t.T, min=1, max=18, description="T", style=style),
        "N": w.IntSlider(value=t.N, min=1, max=16, description="N", style=style),
        "eps": w.FloatSlider(value=t.eps, min=0, max=1.5, step=0.05, description="ε", style=style),
        "p_B": w.FloatSlider(value=t.p_B, min=0, max=1, step=0.05, description="p_B", style=style),
        "B": w.IntSlider(value=t.B, min=1, max=4, description="B", style=style),
        "alpha": w.FloatSlider(value=t.alpha, min=0, max=2, step=0.05, description="α", style=style),
        "beta": w.FloatSlider(value=t.beta, min=0, max=2, step=0.05, description="β", style=style),
    }
    for c in controls.values():
        c.continuous_update = False
    out = w.HTML()

    def update(_=None) -> None:
        try:
            cfg = base
            for name, control in controls.items():
                cfg = set_field(cfg, name, control.value)
            cfg = validate(cfg)
        except ConfigError as e:
            out.value = f"<p class='icm-error'>{html.escape(str(e))}</p>"
            return
        out.value = summary_html(cfg, sample_summary(cfg, n=n))

    for c in controls.values():
        c.observe(update, names="value")
    update()
    grid = w.GridBox(list(controls.values()), layout=w.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))"))
    root = w.VBox([grid, out])
    root.add_class("icm-sampler")
    root.controls, root.output = controls, out
    # what it shows now, as HTML, its controls disabled (`icmeta.book.page.live_in_jupyter`)
    root.picture = lambda: controls_picture(controls.values()) + out.value
    return root
