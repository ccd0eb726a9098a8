"""The architecture chapter's glued numbers (`icmeta.analysis.sweep_tables`: reach_clock_range,
layer_final, dwell_numbers, divergences) on hand-built runs."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis.sweep_tables import (
    divergences,
    dwell_numbers,
    layer_final,
    level_dwell,
    reach_clock_range,
)
from icmeta.store.run import METRIC_COLUMNS


def _curve(metric, steps, values, layer=np.nan, head=np.nan):
    return [("m", 0, int(s), metric, layer, head, float(v)) for s, v in zip(steps, values)]


def _run(acc, loss=None, chunk=None):
    steps = range(0, 10 * len(acc), 10)
    rows = _curve("acc", steps, acc)
    rows += _curve("loss", steps, loss if loss is not None else [1.0] * len(acc))
    if chunk is not None:  # two heads: chunk - 0.1 and chunk + 0.1 in layer 1
        rows += _curve("chunk_example", steps, [chunk - 0.1] * len(acc), layer=1, head=1)
        rows += _curve("chunk_example", steps, [chunk + 0.1] * len(acc), layer=1, head=2)
    return SimpleNamespace(metrics=pd.DataFrame(rows, columns=METRIC_COLUMNS))


class _Sweep:
    """Duck-typed SweepRuns: (member, run) pairs, members with a label, a seed and an lr."""

    def __init__(self, items):
        self.members = [SimpleNamespace(label=label, seed=seed, config=SimpleNamespace(train=SimpleNamespace(lr=lr)))
                        for label, seed, lr, _ in items]
        self.runs = [r for *_, r in items]

    def pairs(self, label=None, seed=None):
        return [(m, r) for m, r in zip(self.members, self.runs)
                if (label is None or m.label == label) and (seed is None or m.seed == seed)]

    def runs_of(self, label):
        return [r for _, r in self.pairs(label)]


def test_reach_clock_range_is_the_first_and_last_seed_on_the_papers_clock():
    sr = _Sweep([("a", 0, 0.1, _run([0.1, 0.5, 0.96, 1.0])),   # step 20 at lr 0.1 -> 200
                 ("a", 1, 0.1, _run([0.1, 0.5, 0.6, 0.97])),   # step 30 -> 300
                 ("b", 0, 0.03, _run([0.1, 0.96, 1.0, 1.0])),  # step 10 at lr 0.03 -> 30
                 ("c", 0, 0.1, _run([0.1, 0.5, 0.6, 0.7]))])   # never
    assert reach_clock_range(sr, "a") == (200, 300)
    assert reach_clock_range(sr, "b") == (30, 30)
    assert reach_clock_range(sr, "a", level=0.5) == (100, 100)
    assert reach_clock_range(sr, "c") is None


def test_layer_final_leaves_out_a_diverged_seed_and_averages_heads():
    sr = _Sweep([("a", 0, 0.1, _run([0.5] * 6, chunk=0.4)),
                 ("a", 1, 0.1, _run([0.5] * 6, chunk=0.6)),
                 ("a", 2, 0.1, _run([0.5] * 6, loss=[1, 1, np.nan, 1, 1, 1], chunk=0.9))])
    mean, low, high = layer_final(sr, "a", "chunk_example", 1)
    assert (mean, low, high) == pytest.approx((0.5, 0.4, 0.6))
    with pytest.raises(ValueError):
        layer_final(_Sweep([("x", 0, 0.1, _run([0.5] * 3, loss=[np.nan] * 3, chunk=0.5))]), "x", "chunk_example", 1)


def test_dwell_numbers_reads_level_dwell_as_it_is_shown():
    table = pd.DataFrame([{"setting": "heads=2", "lr": "0.1", "seed 0": "11,200–21,800 (×1.95)", "seed 1": "–"},
                          {"setting": "heads=2", "lr": "0.01", "seed 0": "900–1,800 (×2.00)", "seed 1": "10–15 (×1.50)"}])
    d = dwell_numbers(table)
    assert list(d.columns) == ["setting", "lr", "seed", "first", "last", "ratio"]
    assert d.iloc[0][["first", "last", "ratio"]].tolist() == [11200, 21800, 1.95]
    assert d.iloc[1][["first", "last", "ratio"]].isna().all()
    assert d[(d.lr == "0.01") & (d.seed == 1)].ratio.item() == 1.5


def test_dwell_numbers_round_trips_level_dwell():
    class _Ceil(SimpleNamespace):
        def ceilings(self):
            return [{"ignore": 0.4}]

    acc = [0.1] * 3 + [0.4] * 10 + [1.0] * 10
    r = _Ceil(metrics=_run(acc).metrics)
    member = SimpleNamespace(label="a", seed=0, config=SimpleNamespace(train=SimpleNamespace(lr=0.1)))
    sr = SimpleNamespace(pairs=lambda: [(member, r)])
    d = dwell_numbers(level_dwell(sr, window=1))
    assert d.iloc[0][["first", "last"]].tolist() == [300, 1200]  # steps 30 and 120 at lr 0.1
    assert d.iloc[0].ratio == 4.0


def test_divergences_give_the_step_and_the_papers_clock():
    sr = _Sweep([("a", 0, 0.1, _run([0.5] * 4)),
                 ("a", 1, 0.1, _run([0.5] * 4, loss=[1, 1, np.nan, np.nan])),
                 ("a", 2, 0.03, _run([0.5] * 4, loss=[1, 1, 1, np.inf]))])
    d = divergences(sr)
    assert d[["seed", "step", "clock"]].values.tolist() == [[1, 20, 200], [2, 30, 90]]
    assert divergences(_Sweep([("a", 0, 0.1, _run([0.5] * 4))])).empty
