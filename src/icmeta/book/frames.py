"""Pre-rendered frames for the explorers (`icmeta.book.explorer`): attention maps of every snapshot,
so the static page can move through training with no kernel.
"""

from __future__ import annotations

import numpy as np

from ..analysis.heads import layer_pattern, roles
from ..analysis.phases import run_phases
from ..analysis.tables import LEVEL_NAMES
from ..experiments.load import SweepRuns
from ..plots.style import attention_png, head_grid, png_bytes


def snapshot_subset(steps: np.ndarray, per_decade: int) -> set[int]:
    """The attention snapshots an explorer shows: the one nearest each point of a grid of about
    `per_decade` points per decade of steps, and the first and the last."""
    grid = np.unique(np.round(np.logspace(0, np.log10(max(steps.max(), 1)), int(per_decade * np.log10(max(steps.max(), 10))) + 1)))
    keep = {int(steps[np.argmin(np.abs(steps - g))]) for g in grid}
    return keep | {int(steps[0]), int(steps[-1])}


def explorer_frames(run, per_decade: int = 8, member: str | None = None) -> list[dict]:
    """Frames for `icmeta.book.explorer.explorer_widget`: for each seed and snapshot step, the
    mean attention maps of every layer, the metric values and the current phase."""
    m = run.metrics
    steps = run.patterns()["steps"]
    keep = snapshot_subset(steps, per_decade)
    table = run_phases(run)
    frames = []
    for r, s in run.members:
        if member is not None and r != member:
            continue
        pats = run.patterns(r, s)
        ph = table[(table.member == r) & (table.seed == s)]
        mm = m[(m.member == r) & (m.seed == s)]
        for i, step in enumerate(steps):
            if int(step) not in keep:
                continue
            at = mm[mm.step == step]
            val = lambda name, layer=None: at[(at.metric == name) & ((at.layer == layer) if layer else at.layer.isna())].value.mean()
            inside = ph[(ph.start <= step) & (ph.end >= step)]
            if len(inside):  # by its level: a phase's index differs from seed to seed
                circuit = inside.circuit.iloc[0]
                phase = f"on the {LEVEL_NAMES.get(circuit, circuit)} plateau"
            else:
                phase = "before the first plateau" if not len(ph) or step < ph.start.min() else "between plateaus"
            cap = (f"seed {s} · step {int(step)} · {phase} · acc {val('acc'):.3f} · RLA {val('rla'):.3f}\n"
                   + "\n".join(f"layer {l}: bigram {val('bigram', l):.2f}, label attention {val('label_attention', l):.2f}, "
                               f"chunk example {val('chunk_example', l):.2f}" for l in range(1, pats['mean'].shape[1] + 1)))
            frames.append({"seed": int(s), "step": int(step), "caption": cap,
                           "image_png": attention_png(pats["mean"][i].mean(1), dpi=90)})
    return frames


def head_explorer_frames(sr: SweepRuns, label: str = "heads=2", per_decade: int = 6, dpi: int = 80) -> list[dict]:
    """Frames for `icmeta.book.explorer.explorer_widget` from a multi-head setting: for each seed and
    attention snapshot (about `per_decade` per decade of steps, the first and last always), the
    mean map of every head (columns) in every layer (rows), and a caption with accuracy and each
    head's role at the nearest measured step, its three circuit scores and each layer's pattern
    read alone (`layer_pattern`)."""
    frames = []
    for m, r in sr.pairs(label):
        pats = r.patterns(seed=m.seed)
        steps = np.asarray(pats["steps"])
        keep = snapshot_subset(steps, per_decade)
        f = roles(r)
        measured = np.sort(f.step.unique())
        acc = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean()
        N = m.config.task.N
        for i, step in enumerate(steps):
            if int(step) not in keep:
                continue
            near = int(measured[np.argmin(np.abs(measured - step))])
            lines = [f"{label} · seed {m.seed} · step {int(step):,} · acc {acc.iloc[np.argmin(np.abs(acc.index - step))]:.3f}"]
            for _, h in f[f.step == near].sort_values("head").iterrows():
                rows = h.to_frame().T
                lines.append(f"head {int(h['head'])}: {h.role:<4} (NCC {h.NCC:+.2f}, SCC {h.SCC:+.2f}, FCC {h.FCC:+.2f}) · "
                             f"layer 1 {layer_pattern(rows, 1, N)}, layer 2 {layer_pattern(rows, 2, N)}")
            png = png_bytes(head_grid(pats["mean"][i], size=2.1, pad=0.3, max_width=None), dpi)
            frames.append({"seed": int(m.seed), "step": int(step), "caption": "\n".join(lines), "image_png": png})
    return frames
