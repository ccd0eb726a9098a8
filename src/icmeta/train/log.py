"""What a run keeps of its evaluations: the long metrics table and the attention snapshots.

`MetricLog` turns each `Evaluation` into rows (member, seed, step, metric, layer, head,
value); `Snapshots` keeps the mean attention pattern (and the first sequence's) of every
member at the steps of the pattern schedule. Both are plain data, saved in the resume state
and written to the run folder at the end (`icmeta.store`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..store.run import METRIC_COLUMNS
from .evaluate import CIRCUIT_METRICS, Evaluation

Row = tuple  # (member, seed, step, metric, layer, head, value)


class MetricLog:
    """Rows of the metrics table, one member at a time.

    Args:
        members: (label, seed) of each member, in training order.
        tasks: [E, b] task index of each evaluation sequence (for per-task accuracy).
        n_tasks: T of each member.
    """

    def __init__(self, members: list[tuple[str, int]], tasks: torch.Tensor, n_tasks: list[int]):
        self.members, self.tasks, self.n_tasks = members, tasks, n_tasks
        self.rows: list[Row] = []

    def record(self, step: int, ev: Evaluation) -> None:
        for e, (label, seed) in enumerate(self.members):
            def add(metric: str, value, layer: int | None = None, head: int | None = None) -> None:
                self.rows.append((label, seed, step, metric, layer, head, float(value)))

            add("acc", ev.acc[e])
            add("loss", ev.loss[e])
            if ev.rla is not None:
                add("rla", ev.rla[e])
            if ev.label_acc is not None:
                for k in range(ev.label_acc.shape[1]):
                    add(f"acc_label{k + 1}", ev.label_acc[e, k])
            for t in range(self.n_tasks[e]):
                sel = self.tasks[e] == t
                if sel.any():
                    add(f"acc_task{t + 1}", ev.correct[e][sel].mean())
            for layer, lm in enumerate(ev.layers, 1):
                heads, pairs = lm["chunk_pairs"].shape[1:]
                for h in range(heads):
                    for name in CIRCUIT_METRICS:
                        add(name, lm[name][e, h], layer, h + 1)
                    for k in range(pairs):
                        add(f"chunk_example_pair{k + 1}", lm["chunk_pairs"][e, h, k], layer, h + 1)

    def accuracy(self, e: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, accuracy) of member `e` so far."""
        label, seed = self.members[e]
        pts = [(r[2], r[6]) for r in self.rows if r[3] == "acc" and r[0] == label and r[1] == seed]
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=METRIC_COLUMNS)
        df["layer"] = df["layer"].astype("Int64")
        df["head"] = df["head"].astype("Int64")
        return df


class Snapshots:
    """Attention patterns of every member at chosen steps: the mean over the evaluation set
    and the first sequence's, as float32 tensors (CPU)."""

    def __init__(self, members: list[tuple[str, int]]):
        self.members = members
        self.steps: list[int] = []
        self.mean: list[torch.Tensor] = []  # each [E, layers, H, S, S]
        self.example: list[torch.Tensor] = []

    def add(self, step: int, patterns: list[torch.Tensor]) -> None:
        """`patterns`: an `Evaluation`'s, one [E, b, H, S, S] tensor per layer."""
        patterns = torch.stack(patterns, 2)  # [E, b, layers, H, S, S]
        self.steps.append(step)
        self.mean.append(patterns.mean(1).float().cpu())
        # a copy: a view would keep (and save in every resume state) the whole evaluation's patterns
        self.example.append(patterns[:, 0].float().cpu().clone())

    def by_member(self) -> dict[tuple[str, int], dict[str, np.ndarray]]:
        mean, example = torch.stack(self.mean).numpy(), torch.stack(self.example).numpy()
        return {m: {"mean": mean[:, e], "example": example[:, e]} for e, m in enumerate(self.members)}

    def state(self) -> dict:
        return {"steps": list(self.steps), "mean": list(self.mean), "example": list(self.example)}

    def load(self, state: dict) -> None:
        self.steps, self.mean, self.example = list(state["steps"]), list(state["mean"]), list(state["example"])
