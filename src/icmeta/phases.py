"""Phase boundaries from accuracy jumps (PAPER.md §5, §7 A6).

ΔAcc(t) = Acc(t + Δt) - Acc(t) on the run's fixed evaluation set; a step is inside a
transition wherever ΔAcc > 0.025. The paper's Δt = 100 steps is at lr 0.01; the learning
rate sets the clock (PAPER.md §9: the events move as 1/lr), so Δt scales as 1/lr
(`TrainConfig.delta_t`: 10 steps at lr 0.1). Consecutive transition steps (closer than
`merge` steps) form one transition; the stretches between transitions are the phases.
The initial rise from chance (1/L) to the first plateau is a transition like the others;
the stretch before it, shorter than `min_phase`, is not counted as a phase.

At a high learning rate SGD noise alone moves accuracy by more than 0.025 within Δt now
and then (a dip and its recovery). Such a "transition" leaves the level unchanged, so two
neighbouring plateaus whose median accuracies differ by less than `min_jump` (0.05) are
merged: a phase boundary must raise the plateau, as in the paper's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Phase:
    start: int  # first step of the plateau
    end: int  # last step of the plateau
    acc: float  # median accuracy over the plateau
    metrics: dict[str, float] = field(default_factory=dict)  # median circuit metrics, "bigram_L1" etc.


@dataclass
class Phases:
    steps: np.ndarray
    delta_acc: np.ndarray  # ΔAcc at each step (NaN where t + Δt is past the end)
    transitions: list[tuple[int, int]]  # (first, last) step with ΔAcc above threshold
    phases: list[Phase]

    @property
    def boundaries(self) -> list[int]:
        """The step at which each transition after the first plateau begins."""
        return [p.start for p in self.phases[1:]]


def delta_acc(steps: np.ndarray, acc: np.ndarray, delta_t: int) -> np.ndarray:
    """ΔAcc(t) = Acc(t + Δt) - Acc(t) at every evaluated step t (NaN where undefined)."""
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    index = {s: i for i, s in enumerate(steps.tolist())}
    out = np.full(len(steps), np.nan)
    for i, s in enumerate(steps.tolist()):
        j = index.get(s + delta_t)
        if j is not None:
            out[i] = acc[j] - acc[i]
    if np.isnan(out).all() and len(steps) > 1:
        raise ValueError(f"no pair of evaluated steps is Δt={delta_t} apart; evaluate every Δt steps")
    return out


def detect(
    steps: np.ndarray,
    acc: np.ndarray,
    delta_t: int,
    threshold: float = 0.025,
    merge: int | None = None,
    min_phase: int | None = None,
    min_jump: float = 0.05,
) -> Phases:
    """Split an accuracy curve into plateaus separated by ΔAcc jumps.

    Args:
        steps: evaluated steps, increasing; acc: accuracy at those steps.
        delta_t: Δt in steps; threshold: the paper's 0.025.
        merge: transition steps closer than this many steps join one transition
            (default 5 Δt); min_phase: shorter plateaus are absorbed (default 10 Δt).
        min_jump: neighbouring plateaus closer than this in accuracy are one phase.
    """
    steps, acc = np.asarray(steps), np.asarray(acc, dtype=float)
    merge = 5 * delta_t if merge is None else merge
    min_phase = 10 * delta_t if min_phase is None else min_phase
    d = delta_acc(steps, acc, delta_t)
    hot = np.nan_to_num(d, nan=0.0) > threshold
    transitions: list[list[int]] = []
    for i in np.flatnonzero(hot):
        # a transition at t covers [t, t + Δt]: accuracy moves inside that window
        s, e = int(steps[i]), int(steps[i]) + delta_t
        if transitions and s - transitions[-1][1] <= merge:
            transitions[-1][1] = e
        else:
            transitions.append([s, e])
    def plateaus(trans: list[list[int]]) -> list[Phase]:
        edges = [int(steps[0])] + [x for t in trans for x in t] + [int(steps[-1])]
        out = []
        for a, b in zip(edges[0::2], edges[1::2]):
            inside = (steps >= a) & (steps <= b)
            out.append(Phase(start=a, end=b, acc=float(np.median(acc[inside])) if inside.any() else np.nan))
        return out

    # drop transitions that do not raise the level (SGD noise), smallest change first
    while transitions:
        ph = plateaus(transitions)
        gaps = [(abs(ph[i + 1].acc - ph[i].acc), i) for i in range(len(transitions))
                if ph[i + 1].end - ph[i + 1].start >= min_phase and ph[i].end - ph[i].start >= min_phase]
        short = [i for i in range(len(transitions)) if ph[i + 1].end - ph[i + 1].start < min_phase and i + 1 < len(transitions)]
        if short:  # a plateau too short between two transitions: join the transitions
            i = short[0]
            transitions[i][1] = transitions[i + 1][1]
            del transitions[i + 1]
            continue
        small = [g for g in gaps if g[0] < min_jump]
        if not small:
            break
        _, i = min(small)
        del transitions[i]
    phases = [p for p in plateaus(transitions) if p.end - p.start >= min_phase]
    return Phases(steps=steps, delta_acc=d, transitions=[tuple(t) for t in transitions], phases=phases)


def phase_table(metrics: pd.DataFrame, delta_t: int, **kwargs) -> pd.DataFrame:
    """Table 1 from measurements: one row per (run, seed, phase).

    Args:
        metrics: the long metrics table of a run (columns run, seed, step, metric, layer,
            head, value).
    Returns:
        columns run, seed, phase (1-based), start, end, acc, rla, and the median of each
        circuit metric per layer (head-averaged), e.g. ``bigram_L1``, ``label_attention_L2``.
    """
    rows = []
    for (run, seed), df in metrics.groupby(["run", "seed"], sort=True):
        acc = df[df.metric == "acc"].sort_values("step")
        ph = detect(acc.step.to_numpy(), acc.value.to_numpy(), delta_t, **kwargs)
        circ = df[df.metric.isin(["bigram", "label_attention", "chunk_example", "rla"])]
        circ = circ.groupby(["metric", "layer", "step"], dropna=False).value.mean().reset_index()
        for i, p in enumerate(ph.phases, 1):
            inside = circ[(circ.step >= p.start) & (circ.step <= p.end)]
            row = {"run": run, "seed": seed, "phase": i, "start": p.start, "end": p.end, "acc": p.acc}
            for (m, layer), g in inside.groupby(["metric", "layer"], dropna=False):
                name = m if pd.isna(layer) else f"{m}_L{int(layer)}"
                row[name] = float(g.value.median())
            rows.append(row)
    return pd.DataFrame(rows)
