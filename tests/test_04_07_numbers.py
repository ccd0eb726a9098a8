"""The helpers the reproduction notes (chapter 4) and the copy-and-burstiness chapter (7) glue
their numbers with: `tables.by_level`, `tables.variant_overview`, `sweep_tables.plateau_range`,
`sweep_tables.late_gain`, on hand-built tables whose answers are known."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis import sweep_tables, tables
from icmeta.analysis.heads import uniform_value


def _acc_metrics(values, steps=None):
    steps = list(range(0, 10 * len(values), 10)) if steps is None else steps
    return pd.DataFrame({"member": "main", "seed": 0, "step": steps, "metric": "acc", "layer": np.nan,
                         "head": np.nan, "value": values})


class _Sweep:
    """The part of `SweepRuns` the helpers read: `labels` and `runs_of(label)`."""

    def __init__(self, runs: dict):
        self._runs = runs
        self.labels = list(runs)

    def runs_of(self, label):
        return self._runs[label]


def test_by_level_names_each_plateau_by_its_level_word_by_word():
    df = pd.DataFrame({"circuit": ["NCC", "FCC", "pre"], "nearest ceiling": ["NCC → SCC → FCC", "SCC", "one level"]})
    out = tables.by_level(df)
    assert list(out.columns) == ["level", "nearest level"]
    assert out.level.tolist() == ["context-free", "full-pairs", "pre"]
    assert out["nearest level"].tolist() == ["context-free → labels-only → full-pairs", "labels-only", "one level"]
    assert df.circuit.tolist() == ["NCC", "FCC", "pre"]  # the input is left as it was


def test_variant_overview_counts_seeds_per_level_and_measures_bigram_above_uniform(monkeypatch):
    u = uniform_value("bigram", 4)
    phases = {"a": pd.DataFrame({"seed": [0, 0, 1], "circuit": ["NCC", "SCC", "NCC"], "bigram_L2": [u + 0.5, 0.9, u + 0.1]}),
              "b": pd.DataFrame({"seed": [0], "circuit": ["FCC"], "bigram_L2": [0.3]})}
    summary = pd.DataFrame({"variant": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                            "step to 0.95": pd.array([1200, None, 800, 900], dtype="Int64"),
                            "final acc": [0.99, 0.90, 0.97, 0.98]})
    run = SimpleNamespace(config=SimpleNamespace(task=SimpleNamespace(N=4)))
    monkeypatch.setattr(tables, "run_phases", lambda r: phases[r.name])
    monkeypatch.setattr(tables, "variant_summary", lambda runs: summary)
    out = tables.variant_overview({"a": SimpleNamespace(name="a", **vars(run)), "b": SimpleNamespace(name="b", **vars(run))})
    a, b = out.iloc[0], out.iloc[1]
    assert (a["context-free plateau (seeds)"], a["labels-only plateau (seeds)"], a["full-pairs plateau (seeds)"]) == (2, 1, 0)
    assert (b["context-free plateau (seeds)"], b["full-pairs plateau (seeds)"]) == (0, 1)
    assert a["L2 bigram − uniform, context-free plateaus"] == "0.10–0.50"
    assert b["L2 bigram − uniform, context-free plateaus"] == "–"
    assert a["acc ≥ 0.95 at step, per seed"] == "1,200 / –"
    assert a["final acc"] == "0.900–0.990" and a["seeds"] == 2


def test_plateau_range_spans_the_plateaus_at_one_level_in_the_chosen_settings(monkeypatch):
    phases = {"x": pd.DataFrame({"circuit": ["SCC", "FCC"], "acc": [0.8, 0.95], "start": [300, 2000]}),
              "y": pd.DataFrame({"circuit": ["FCC"], "acc": [0.85], "start": [1500]}),
              "z": pd.DataFrame({"circuit": [], "acc": [], "start": []})}
    monkeypatch.setattr(sweep_tables, "member_phases", lambda r: phases[r])
    sr = _Sweep({"A": ["x", "z"], "B": ["y"]})
    assert sweep_tables.plateau_range(sr, "FCC") == (0.85, 0.95)
    assert sweep_tables.plateau_range(sr, "FCC", "start", ("A",)) == (2000, 2000)
    assert sweep_tables.plateau_range(sr, "NCC") is None


def test_late_gain_is_the_final_level_minus_the_level_at_two_thirds_of_the_run():
    flat = _acc_metrics([0.5] * 30)
    rising = _acc_metrics(list(np.linspace(0.0, 0.9, 31)))  # steps 0..300; 0.03 per evaluation
    sr = _Sweep({"flat": [SimpleNamespace(metrics=flat)], "both": [SimpleNamespace(metrics=flat), SimpleNamespace(metrics=rising)]})
    assert sweep_tables.late_gain(sr, "flat") == pytest.approx((0.0, 0.0))
    # rising: the last 5 evaluations average 0.84, the 5 up to step 200 average 0.54
    low, high = sweep_tables.late_gain(sr, "both")
    assert low == pytest.approx(0.0) and high == pytest.approx(0.3)
