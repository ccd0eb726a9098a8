"""The data-properties chapter's helpers (`icmeta.analysis.sweep_tables`: `plateau_levels`,
`seen_grid`, `clock_ratio_table`) on hand-built runs, the plateaus given rather than detected."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis import sweep_tables as ST
from icmeta.experiments.load import SweepRuns
from icmeta.experiments.sweeps import Member
from icmeta.presets import preset

CEIL = {"ignore": 0.37, "labels": 0.80, "pairs": 1.0}


@dataclass
class FakeRun:
    """What the helpers read of a stored run: accuracy, ceilings, config, and its plateaus."""

    metrics: pd.DataFrame
    config: object
    found: list  # (name, level) of its plateaus, as `summaries.plateaus` returns them

    def ceilings(self):
        return [CEIL]


def _run(seed, found=(), steps=(10, 20, 40), acc=(0.1, 0.5, 0.9), lr=0.1):
    m = pd.DataFrame({"member": "main", "seed": seed, "step": list(steps), "metric": "acc", "layer": None,
                      "head": None, "value": list(acc)})
    return FakeRun(m, preset("fast", seed=seed, lr=lr), list(found))


def _sweep(entries):
    """entries: (label, seed, setting dict, run)."""
    members = [Member(label, seed, run.config, tuple(setting.items())) for label, seed, setting, run in entries]
    return SweepRuns(None, members, [e[3] for e in entries])


@pytest.fixture(autouse=True)
def _given_plateaus(monkeypatch):
    monkeypatch.setattr(ST, "plateaus", lambda run: run.found)


def test_plateau_levels_lists_each_plateau_with_the_seeds_ceilings():
    sr = _sweep([("a", 0, {}, _run(0, [("NCC", 0.36), ("SCC", 0.91)])), ("a", 1, {}, _run(1)),
                 ("b", 0, {}, _run(0, [("FCC", 0.99)]))])
    t = ST.plateau_levels(sr)
    assert t.columns.tolist() == ["setting", "seed", "plateau", "named", "level", "ignore", "labels", "pairs"]
    assert t[["setting", "seed", "plateau", "named"]].values.tolist() == [["a", 0, 1, "NCC"], ["a", 0, 2, "SCC"],
                                                                         ["b", 0, 1, "FCC"]]
    assert t.level.tolist() == pytest.approx([0.36, 0.91, 0.99])
    above = t[(t.named == "SCC") & (t.level > t.labels)]  # named SCC, above what labels alone reach
    assert above.level.tolist() == pytest.approx([0.91])
    assert ST.plateau_levels(_sweep([("a", 0, {}, _run(0))])).empty


def test_seen_grid_counts_seeds_per_cell_of_two_fields():
    entries = []
    for K in (32, 64):
        for eps in (0.1, 1.0):
            for seed in (0, 1):
                found = [("NCC", 0.36)] if eps == 0.1 else []
                found += [("SCC", 0.8)] if (K, seed) == (64, 1) else []
                entries.append((f"K={K},eps={eps:g}", seed, {"K": K, "eps": eps}, _run(seed, found + [("FCC", 1.0)])))
    g = ST.seen_grid(_sweep(entries), "K", "eps")
    assert g.columns.tolist() == ["K \\ seeds with NCC / SCC / FCC", "eps=0.1", "eps=1"]
    assert g.iloc[:, 0].tolist() == ["K=32", "K=64"]
    assert g["eps=0.1"].tolist() == ["2 / 0 / 2", "2 / 1 / 2"]
    assert g["eps=1"].tolist() == ["0 / 0 / 2", "0 / 1 / 2"]


def test_clock_ratio_table_sets_both_rates_on_the_papers_clock():
    fast = _sweep([("x", 0, {}, _run(0, steps=(10, 20, 40), acc=(0.1, 0.96, 1.0))),
                   ("x", 1, {}, _run(1, steps=(10, 20, 40), acc=(0.1, 0.5, 0.6)))])
    slow = _sweep([("x", 0, {}, _run(0, steps=(50, 70, 100), acc=(0.1, 0.95, 1.0), lr=0.03)),
                   ("x", 1, {}, _run(1, steps=(50, 70, 100), acc=(0.1, 0.5, 0.97), lr=0.03))])
    t = ST.clock_ratio_table(fast, slow)
    assert t.columns.tolist() == ["setting", "seed", "fast (lr 0.1)", "lr 0.03", "ratio"]
    assert t["fast (lr 0.1)"].tolist()[0] == 200  # step 20 x 0.1 / 0.01
    assert t["lr 0.03"].tolist() == [210, 300]  # steps 70 and 100 x 0.03 / 0.01
    assert t.ratio[0] == pytest.approx(210 / 200)
    assert pd.isna(t["fast (lr 0.1)"][1]) and np.isnan(t.ratio[1])  # never reached at fast


def test_seed_count_counts_the_seeds_of_several_settings_together():
    sr = _sweep([("a", 0, {}, _run(0, [("NCC", 0.36), ("FCC", 1.0)])), ("a", 1, {}, _run(1, [("FCC", 1.0)])),
                 ("b", 0, {}, _run(0, [("NCC", 0.35)])), ("c", 0, {}, _run(0, [("NCC", 0.35)]))])
    assert ST.seed_count(sr, ["a"], "NCC") == "1 of 2"
    assert ST.seed_count(sr, ["a", "b"], "NCC") == "2 of 3"
    assert ST.seed_count(sr, ["a", "b"], "SCC") == "0 of 3"
