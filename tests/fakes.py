"""Hand-built runs and sweeps for the tests of the analysis helpers, defined once: shaped like what
the helpers read of a stored run (`icmeta.store.run.Run`: metrics, config, ceilings, where it lives,
how far it trained) and of a sweep (`icmeta.experiments.load.SweepRuns`), with answers known by
construction. ``from fakes import ...`` (pytest puts this folder on the path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from icmeta.experiments.load import SweepRuns
from icmeta.experiments.sweeps import Member, Sweep
from icmeta.presets import preset
from icmeta.store.run import METRIC_COLUMNS

CEIL = {"ignore": 0.37, "labels": 0.80, "pairs": 1.0}  # Bayes ceilings near the main run's (T = 3)


def curve(metric: str, steps, values, seed: int = 0, layer=np.nan, head=np.nan, member: str = "main") -> list[tuple]:
    """Metric rows (as the store keeps them) of one curve: `values` at `steps`."""
    return [(member, seed, int(s), metric, layer, head, float(v)) for s, v in zip(steps, values)]


def frame(rows: list[tuple]) -> pd.DataFrame:
    """A metrics table of `curve` rows."""
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


@dataclass
class FakeRun:
    """A stored run as the helpers read it: metrics, its config, the Bayes ceilings of its members'
    draws (`ceil`), its folder, its status, and (`found`) the plateaus a test gives instead of
    detecting them (for a helper whose `plateaus` the test replaces)."""

    metrics: pd.DataFrame
    config: object = field(default_factory=lambda: preset("fast"))
    directory: Path = Path("/nowhere")
    ceil: dict = field(default_factory=lambda: dict(CEIL))
    found: list = field(default_factory=list)
    info: dict = field(default_factory=lambda: {"status": "complete"})

    @property
    def configs(self) -> list:
        return [self.config]

    def ceilings(self) -> list[dict]:
        members = self.metrics[["member", "seed"]].drop_duplicates().itertuples(index=False)
        return [{"label": m, "seed": int(s), **self.ceil} for m, s in members] or [{"label": "main", "seed": 0, **self.ceil}]

    @property
    def last_step(self) -> int:
        return int(self.metrics.step.max())


def run_of(rows: list[tuple], seed: int = 0, lr: float = 0.1, **kw) -> FakeRun:
    """A fake run of `curve` rows, its config the `fast` preset at `seed` and `lr`."""
    return FakeRun(frame(rows), preset("fast", seed=seed, lr=lr), **kw)


def sweep_of(entries, name: str = "t") -> SweepRuns:
    """A sweep of ``(label, seed, run)`` or ``(label, seed, run, setting)`` entries, each member's
    config its run's."""
    members, runs = [], []
    for label, seed, run, *setting in entries:
        members.append(Member(label, seed, run.config, tuple((setting[0] if setting else {}).items())))
        runs.append(run)
    return SweepRuns(Sweep(name), members, runs)
