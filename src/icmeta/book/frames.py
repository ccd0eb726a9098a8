"""Pre-rendered frames for the explorers (`icmeta.book.explorer`): attention maps of every snapshot,
so the static page can move through training with no kernel.
"""

from __future__ import annotations

import numpy as np

from ..analysis.heads import fcc_head_peak, layer_pattern, roles
from ..analysis.summaries import moved_at
from ..analysis.phases import run_phases
from ..analysis.tables import LEVEL_NAMES
from ..experiments.load import SweepRuns
from ..plots.style import attention_png, head_grid, png_bytes


def snapshot_subset(steps: np.ndarray, per_decade: int, start: float = 1.0, extra=()) -> set[int]:
    """The attention snapshots an explorer shows: the one nearest each point of a grid of about
    `per_decade` points per decade of steps from `start` to the last, the one nearest each step of
    `extra` (moments a page points at), and the first and the last."""
    steps = np.asarray(steps)
    end = max(float(steps.max()), 1.0)
    lo = min(max(float(start), 1.0), end)
    n = int(per_decade * np.log10(end / lo)) + 1
    grid = [*np.unique(np.round(np.logspace(np.log10(lo), np.log10(end), max(n, 2)))), *extra]
    keep = {int(steps[np.argmin(np.abs(steps - g))]) for g in grid}
    return keep | {int(steps[0]), int(steps[-1])}


def explorer_start(runs) -> float:
    """Where an explorer's log grid of frames starts: a decade before the first of `runs` (each
    with its own seeds) moves a tenth of its accuracy range (`moved_at`, the rule the figures' step
    axes follow), so that the slider's steps are spent where training changes something."""
    moves = []
    for r in runs:
        for seed, g in r.metrics[(r.metrics.metric == "acc") & (r.metrics.step > 0)].groupby("seed"):
            d = g.groupby("step").value.mean()
            at = moved_at(d.index, d.to_numpy())
            if at is not None:
                moves.append(at)
    return min(moves) / 10 if moves else 1.0


def explorer_frames(run, per_decade: int = 8, member: str | None = None) -> list[dict]:
    """Frames for `icmeta.book.explorer.explorer_widget`: for each seed and snapshot step (step 0,
    then about `per_decade` per decade from `explorer_start`, and the last), the mean attention
    maps of every layer, the metric values and the current phase."""
    m = run.metrics
    steps = run.patterns()["steps"]
    keep = snapshot_subset(steps, per_decade, start=explorer_start([run]))
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


def head_explorer_frames(sr: SweepRuns, label: str = "heads=2", per_decade: int = 10, dpi: int = 80) -> list[dict]:
    """Frames for `icmeta.book.explorer.explorer_widget` from a multi-head setting: for each seed and
    attention snapshot (about `per_decade` per decade of steps from `explorer_start`, the step
    where each seed's head with the highest FCC score at the end has its layer-2 bigram peak (the
    moment Fig. 9 shows), the first and last always; the same steps for every seed), the mean map
    of every head in every layer, and a caption with accuracy and each head's role at the nearest
    measured step, its three circuit scores and each layer's pattern read alone (`layer_pattern`)."""
    pairs = sr.pairs(label)
    role_frames = [roles(r) for _, r in pairs]
    peaks = [int(fcc_head_peak(f)[2].step) for f in role_frames]
    snapshots = np.asarray(pairs[0][1].patterns(seed=pairs[0][0].seed)["steps"])
    keep = snapshot_subset(snapshots, per_decade, start=explorer_start([r for _, r in pairs]), extra=peaks)
    frames = []
    for (m, r), f in zip(pairs, role_frames):
        pats = r.patterns(seed=m.seed)
        steps = np.asarray(pats["steps"])
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
