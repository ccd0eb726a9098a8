"""Figures drawn from the task's definition alone (no run): the task and network (Fig. 1), the
induction circuit (Fig. 11) and the Zipf curves (Fig. 14).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .palette import LEVEL_SHADE, mark_level, ordered
from .style import PAGE_WIDTH, ROLE_COLORS, SMALLEST_FONT, tick_labels


def fig1(config, example: dict | None = None):
    """Fig. 1: the task (a sequence of item/label pairs and a query whose answer depends on a
    latent task), the three phases, and the network (two attention-only layers, an MLP classifier
    at the query), one above the other at the page's width."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    N = config.task.N
    fig, (a, p, b) = plt.subplots(3, 1, figsize=(PAGE_WIDTH, 4.6), gridspec_kw={"height_ratios": [2.0, 1.1, 1.4]},
                                  layout="constrained")
    a.set_xlim(-0.5, 2 * N + 2.5)
    a.set_ylim(-1.2, 1.6)
    a.axis("off")
    cls = example["classes"] if example else list(range(1, N + 2))
    lab = example["labels"] if example else ["?"] * N
    tgt = example["target"] if example else "?"
    for i in range(2 * N + 1):
        role = "query" if i == 2 * N else ("item" if i % 2 == 0 else "label")
        text = f"x\nclass {cls[i // 2]}" if role != "label" else f"ℓ\nlabel {lab[i // 2]}"
        a.add_patch(FancyBboxPatch((i - 0.45, 0), 0.9, 1.0, boxstyle="round,pad=0.02", fc=ROLE_COLORS[role], ec="k", lw=0.6))
        a.text(i, 0.5, text, ha="center", va="center", fontsize=SMALLEST_FONT)
    a.annotate("", xy=(2 * N + 1.3, 0.5), xytext=(2 * N + 0.55, 0.5), arrowprops=dict(arrowstyle="->"))
    a.text(2 * N + 1.9, 0.5, f"label\n{tgt}", ha="center", va="center", fontsize=8, weight="bold")
    a.text(-0.45, 1.3, f"context: N = {N} (item, label) pairs, then the query item (sequence 2N+1 = {2 * N + 1})", fontsize=8)
    a.text(-0.45, -0.55, "A latent task τ (one of T maps class → label) labels the whole sequence. With p_B = 0 the",
           fontsize=8)
    a.text(-0.45, -0.95, "query's class never appears in the context: the answer cannot be copied, the task must be inferred.",
           fontsize=8)
    steps = [("NCC", "context ignored: knows the query's T candidates", "≈ 1/T"),
             ("SCC", "reads the set of labels: rules out tasks", "≈ 0.75"),
             ("FCC", "binds (item, label) pairs, then reads them", "1.0")]
    p.set_xlim(-0.5, 10)
    p.set_ylim(-0.5, 2.5)
    p.axis("off")
    for j, (name, desc, acc) in enumerate(steps):
        y = 2 - j
        p.add_patch(mark_level(FancyBboxPatch((-0.4, y - 0.32), 1.9, 0.64, boxstyle="round,pad=0.02", fc=LEVEL_SHADE[name],
                                              ec="none"), name))
        p.text(0.55, y, f"phase {j + 1}: {name}", ha="center", va="center", fontsize=7.5, weight="bold")
        p.text(1.8, y, f"{desc}  (accuracy {acc} at T = 3)", va="center", fontsize=7.5)
    b.set_xlim(-0.1, 10.1)
    b.set_ylim(0, 1.9)
    b.axis("off")
    boxes = [("tokens + positions\n(width P+D = 128)", "#eeeeee"),
             ("attention layer 1\n(+ residual)", "#c6dbef"),
             ("attention layer 2\n(+ residual)", "#c6dbef"),
             ("MLP classifier\nat the query:\n128 → 128 → L", "#fdd0a2"),
             ("label of\nthe query", "#a1d99b")]
    width, gap = 1.75, 0.3  # each box and the arrow between two, in data units (10 across the page)
    for k, (text, color) in enumerate(boxes):
        x = 0.05 + k * (width + gap)
        b.add_patch(FancyBboxPatch((x, 0.15), width, 1.0, boxstyle="round,pad=0.03", fc=color, ec="k", lw=0.6))
        b.text(x + width / 2, 0.65, text, ha="center", va="center", fontsize=7.5)
        if k:
            b.add_patch(FancyArrowPatch((x - gap + 0.02, 0.65), (x - 0.02, 0.65), arrowstyle="->", mutation_scale=8, color="k"))
    b.text(5.0, 1.85, f"{config.model.layers}-layer attention-only transformer, {config.model.heads} head(s), "
           "no LayerNorm, no MLP in the blocks,\nattention softmax(QK) without 1/√d", ha="center", va="top", fontsize=7.5)
    return fig


def fig11(N: int = 4):
    """Fig. 11: the induction circuit of the copy task, drawn: layer 1 binds each label to its
    item (previous-token head), layer 2 finds the item equal to the query and copies its label."""
    S = 2 * N + 1
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH, 2.6), layout="constrained")
    ax.set_xlim(-0.7, S - 0.3)
    ax.set_ylim(-0.6, 2.9)
    ax.axis("off")
    ticks = tick_labels(S)
    ys = {0: 0.0, 1: 1.2, 2: 2.4}
    for y_name, y in ys.items():
        ax.text(-0.65, y, ["tokens", "layer 1", "layer 2"][y_name], fontsize=8, va="center", ha="left", color="gray")
    match = 2  # the context pair whose item has the query's class
    for i in range(S):
        role = "query" if i == S - 1 else ("item" if i % 2 == 0 else "label")
        fc = ROLE_COLORS[role]
        if i in (2 * match, S - 1):
            fc = "#fb6a4a" if role != "label" else fc
        for y in ys.values():
            ax.add_patch(plt.Rectangle((i - 0.3 + 0.35, y - 0.22), 0.6, 0.44, fc=fc, ec="k", lw=0.5))
        ax.text(i + 0.35, -0.45, ticks[i], ha="center", fontsize=8)
    for k in range(N):  # layer 1: each label attends to its own item
        ax.annotate("", xy=(2 * k + 0.35, ys[0] + 0.25), xytext=(2 * k + 1 + 0.35, ys[1] - 0.25),
                    arrowprops=dict(arrowstyle="<-", color="#333333", lw=1.0))
    ax.annotate("", xy=(2 * match + 1 + 0.35, ys[1] + 0.25), xytext=(S - 1 + 0.35, ys[2] - 0.25),
                arrowprops=dict(arrowstyle="<-", color="#b2182b", lw=1.6, connectionstyle="arc3,rad=0.15"))
    ax.text(0.2, 0.62, "layer 1: each label attends to its own item (chunk example)", fontsize=7.5, color="#333333")
    ax.text(2.0, 1.86, "layer 2: the query attends to the label whose item matches it, and copies it",
            fontsize=7.5, color="#b2182b")
    return fig


def fig14(K: int = 64, alphas=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25), T: int = 3, betas=(0.0, 0.25, 0.5, 0.75, 1.0)):
    """Fig. 14: the Zipf rank-frequency curves of classes (α) and tasks (β), f(r) ∝ r^-a."""
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.8), layout="constrained")
    for ax, n, exps, sym in ((axes[0], K, alphas, "α"), (axes[1], T, betas, "β")):
        cols = ordered(len(exps))
        r = np.arange(1, n + 1)
        for col, a in zip(cols, exps):
            f = r ** -float(a)
            ax.plot(r, f / f.sum(), color=col, marker="." if n < 10 else None, label=f"{sym} = {a:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rank")
        ax.set_ylabel("probability")
        ax.legend(fontsize=SMALLEST_FONT)
    axes[0].set_title(f"classes (K = {K})", fontsize=9)
    axes[1].set_title(f"tasks (T = {T})", fontsize=9)
    return fig
