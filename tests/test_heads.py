"""Head roles and per-layer tables (`icmeta.analysis.heads`) on hand-built metrics."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis import heads as H
from icmeta.experiments.load import SweepRuns
from icmeta.experiments.sweeps import Member
from icmeta.presets import preset
from icmeta.store.run import METRIC_COLUMNS, Run

# uniform causal attention at N = 4 (sequence of 9): the query's self-attention 1/9, its
# attention to the 4 labels 4/9, each label's attention to its own item 1/(2k), averaged over k
U4 = {"bigram": 1 / 9, "label_attention": 4 / 9, "chunk_example": (1 / 2 + 1 / 4 + 1 / 6 + 1 / 8) / 4}


def at_lift(metric, x, N=4):
    """The metric's value whose lift is x."""
    u = H.uniform_value(metric, N)
    return u + x * (1 - u)


def test_uniform_values_are_those_of_uniform_causal_attention():
    assert H.uniform_value("chunk_example", 4) == pytest.approx(25 / 96) == pytest.approx(U4["chunk_example"])
    # N = 2 (sequence of 5): 1/5, 2/5 and (1/2 + 1/4) / 2
    assert [H.uniform_value(k, 2) for k in H.METRICS] == pytest.approx([1 / 5, 2 / 5, 3 / 8])


def test_lift_is_zero_at_uniform_one_at_the_pure_pattern():
    # the uniform values are computed in float32: equal to ~1e-7
    assert H.lift("bigram", 1 / 9, 4) == pytest.approx(0, abs=1e-6)
    assert H.lift("bigram", 1.0, 4) == pytest.approx(1)
    assert H.lift("bigram", 0.0, 4) == pytest.approx(-1 / 8)  # below uniform: negative
    out = H.lift("chunk_example", [25 / 96, 1.0, 0.0, 25 / 96 + 71 / 192], 4)
    assert isinstance(out, np.ndarray) and out == pytest.approx([0, 1, -25 / 71, 0.5], abs=1e-6)
    assert H.lift("label_attention", 0.7, 2) == pytest.approx((0.7 - 0.4) / 0.6)


def _row(head, step=100, **lifts):
    """A head's metrics given as lifts (default 0: uniform attention)."""
    names = [("bigram", 1), ("label_attention", 1), ("chunk_example", 1), ("bigram", 2), ("label_attention", 2)]
    return {"step": step, "head": head, **{f"{k}_L{l}": at_lift(k, lifts.get(f"{k}_L{l}", 0.0)) for k, l in names}}


def _roles_frame():
    return pd.DataFrame([
        _row(1, bigram_L1=1.0, bigram_L2=1.0),  # clean NCC
        _row(2, chunk_example_L1=0.9, label_attention_L2=0.8, bigram_L1=0.1),  # FCC
        _row(3, bigram_L1=0.2, bigram_L2=0.6, label_attention_L1=0.15),  # weak everywhere: none
        _row(4, label_attention_L1=0.5, bigram_L2=0.3, bigram_L1=0.28),  # SCC 0.3 beats NCC 0.28
    ])


def test_add_roles_scores_each_circuit_by_its_weaker_layer():
    out = H.add_roles(_roles_frame(), 4)
    assert out.role.tolist() == ["NCC", "FCC", "none", "SCC"]
    want = {  # min over the circuit's two (metric, layer) lifts
        "NCC": [1.0, 0.0, 0.2, 0.28],
        "SCC": [0.0, 0.0, 0.15, 0.3],
        "FCC": [0.0, 0.8, 0.0, 0.0],
    }
    for circuit, scores in want.items():
        assert out[circuit].tolist() == pytest.approx(scores, abs=1e-6), circuit
    assert list(_roles_frame().columns) == list(out.columns[:7])  # the input's columns kept, first


def test_the_role_threshold_decides_none():
    frame = _roles_frame()
    assert H.ROLE_THRESHOLD == 0.25
    assert H.add_roles(frame, 4, threshold=0.1).role.tolist() == ["NCC", "FCC", "NCC", "SCC"]  # 0.2 now counts
    assert H.add_roles(frame, 4, threshold=0.35).role.tolist() == ["NCC", "FCC", "none", "none"]


def _head_metrics(member, seed, step, head, values):
    """Long metric rows of one head at one step: values {(metric, layer): value}."""
    return [(member, seed, step, k, l, head, v) for (k, l), v in values.items()]


def test_roles_reads_one_member_per_head_and_step(tmp_path):
    pure = {"NCC": {("bigram", 1): 1.0, ("bigram", 2): 1.0, ("label_attention", 1): 0.0, ("chunk_example", 1): 0.0,
                    ("label_attention", 2): 0.0},
            "FCC": {("bigram", 1): 0.0, ("bigram", 2): 0.0, ("label_attention", 1): 0.0, ("chunk_example", 1): 1.0,
                    ("label_attention", 2): 1.0},
            "uniform": {("bigram", 1): 1 / 9, ("bigram", 2): 1 / 9, ("label_attention", 1): 4 / 9,
                        ("chunk_example", 1): 25 / 96, ("label_attention", 2): 4 / 9}}
    rows = []
    # member (main, 1): head 1 NCC from step 20 on, head 2 FCC at step 20 only; steps listed out of order
    rows += _head_metrics("main", 1, 20, 1, pure["NCC"]) + _head_metrics("main", 1, 20, 2, pure["FCC"])
    rows += _head_metrics("main", 1, 10, 1, pure["uniform"]) + _head_metrics("main", 1, 10, 2, pure["uniform"])
    # other members and a non-circuit metric, which roles must not read
    rows += _head_metrics("main", 0, 10, 1, pure["FCC"]) + _head_metrics("other", 1, 10, 1, pure["FCC"])
    rows += [("main", 1, 10, "acc", np.nan, np.nan, 0.5), ("main", 1, 20, "acc", np.nan, np.nan, 0.9)]
    metrics = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    run = Run(Path(tmp_path), [preset("fast", seed=0), preset("fast", seed=1), preset("fast", seed=1)],
              ["main", "main", "other"], {}, metrics)
    r = H.roles(run, "main", 1)
    assert list(zip(r["head"], r["step"])) == [(1, 10), (1, 20), (2, 10), (2, 20)]
    assert r.role.tolist() == ["none", "NCC", "none", "FCC"]
    assert r.NCC.tolist() == pytest.approx([0, 1, 0, -1 / 8], abs=1e-6)
    assert {"bigram_L1", "label_attention_L1", "chunk_example_L1", "bigram_L2", "label_attention_L2"} <= set(r.columns)
    assert "acc" not in r.columns and "acc_L1" not in r.columns
    # the first member by default: (main, 0), whose only head is FCC
    assert H.roles(run).role.tolist() == ["FCC"]


def test_layer_pattern_reads_one_layer_alone():
    rows = pd.DataFrame([  # mean over the rows: chunk 0.5 (lift), labels 0.3, self 0.1 in layer 1
        {"bigram_L1": at_lift("bigram", 0.0), "label_attention_L1": at_lift("label_attention", 0.2),
         "chunk_example_L1": at_lift("chunk_example", 0.4), "bigram_L2": at_lift("bigram", 0.1),
         "label_attention_L2": at_lift("label_attention", 0.2), "chunk_example_L2": 1.0},
        {"bigram_L1": at_lift("bigram", 0.2), "label_attention_L1": at_lift("label_attention", 0.4),
         "chunk_example_L1": at_lift("chunk_example", 0.6), "bigram_L2": at_lift("bigram", 0.1),
         "label_attention_L2": at_lift("label_attention", 0.4), "chunk_example_L2": 1.0},
    ])
    assert H.layer_pattern(rows, 1, 4) == "chunk 0.50"
    # chunk example is not read in layer 2, however high it is there
    assert H.layer_pattern(rows, 2, 4) == "labels 0.30"
    assert H.layer_pattern(rows, 2, 4, threshold=0.35) == "none"
    rows["bigram_L1"] = at_lift("bigram", 0.9)
    assert H.layer_pattern(rows, 1, 4) == "self 0.90"


def _run(seed, values, steps=range(0, 100, 10), nan_from=None, N=4, layers=2, heads=2, extra=None):
    """A single-member stored run whose circuit metrics are constant: values {(metric, layer): value},
    head h holding value + (h - 1.5) * 0.2 (so the head mean is the value); loss NaN from `nan_from`."""
    rows = []
    for s in steps:
        for (k, l), v in values.items():
            rows += [("main", seed, s, k, l, h, v + (h - 1.5) * 0.2) for h in range(1, heads + 1)]
        loss = np.nan if nan_from is not None and s >= nan_from else 1.0
        rows.append(("main", seed, s, "loss", np.nan, np.nan, loss))
        rows += [("main", seed, s, k, np.nan, np.nan, v) for k, v in (extra or {}).items()]
    config = preset("fast", seed=seed, N=N, layers=layers)
    return config, Run(Path(f"run-{seed}"), [config], ["main"], {}, pd.DataFrame(rows, columns=METRIC_COLUMNS))


def _sweep(entries):
    """SweepRuns from (label, seed, values, kwargs of _run)."""
    members, runs = [], []
    for label, seed, values, kw in entries:
        config, run = _run(seed, values, **kw)
        members.append(Member(label, seed, config, ()))
        runs.append(run)
    return SweepRuns(None, members, runs)


def _v(b1, la1, c1, b2, la2, c2=0.0):
    return {("bigram", 1): b1, ("label_attention", 1): la1, ("chunk_example", 1): c1,
            ("bigram", 2): b2, ("label_attention", 2): la2, ("chunk_example", 2): c2}


def test_layer_table_averages_the_seeds_and_leaves_diverged_ones_out():
    sr = _sweep([
        ("A", 0, _v(0.9, 0.3, 0.4, 0.5, 0.6, 0.2), {}),
        ("A", 1, _v(0.7, 0.5, 0.6, 0.7, 0.4, 0.3), {}),
        ("A", 2, _v(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), {"nan_from": 50}),  # diverged: not averaged in
        ("B", 0, _v(0.25, 0.35, 0.45, 0.55, 0.65, 0.75), {}),
        ("C", 0, _v(0.5, 0.5, 0.5, 0.5, 0.5), {"nan_from": 0}),  # every seed diverged
    ])
    t = H.layer_table(sr)
    assert t.setting.tolist() == ["A", "A", "B", "B", "C", "C"] and t.layer.tolist() == [1, 2] * 3
    t = t.set_index(["setting", "layer"])
    assert t.loc[("A", 1), "seeds"] == "2 of 3 (1 diverged)"
    assert t.loc[("B", 1), "seeds"] == "1 of 1" and t.loc[("C", 2), "seeds"] == "0 of 1 (1 diverged)"
    assert t.loc[("A", 1), "bigram"] == "0.80 (0.70–0.90)"
    assert t.loc[("A", 1), "label_attention"] == "0.40 (0.30–0.50)"
    assert t.loc[("A", 1), "chunk_example"] == "0.50 (0.40–0.60)"
    assert t.loc[("A", 2), "bigram"] == "0.60 (0.50–0.70)"
    assert t.loc[("A", 2), "chunk_example"] == "0.25 (0.20–0.30)"
    assert [t.loc[("B", 2), k] for k in H.METRICS] == ["0.55", "0.65", "0.75"]  # one seed: no range
    assert [t.loc[("C", 1), k] for k in H.METRICS] == ["–"] * 3
    assert set(t["uniform: bigram / label att. / chunk"]) == {"0.11 / 0.44 / 0.26"}


def test_layer_table_has_a_row_per_layer_and_uniform_values_of_its_N():
    sr = _sweep([("layers=3", 0, {**_v(0.1, 0.2, 0.3, 0.4, 0.5), ("bigram", 3): 0.9, ("label_attention", 3): 0.05,
                                    ("chunk_example", 3): 0.15}, {"layers": 3, "N": 2})])
    t = H.layer_table(sr)
    assert t.layer.tolist() == [1, 2, 3]
    assert t.loc[2, ["bigram", "label_attention", "chunk_example"]].tolist() == ["0.90", "0.05", "0.15"]
    assert t.loc[0, "uniform: bigram / label att. / chunk"] == "0.20 / 0.40 / 0.38"  # 1/5, 2/5, 3/8 at N = 2


def test_label_accuracy_per_position_and_their_mean():
    acc = {"acc_label1": 0.2, "acc_label2": 0.4, "acc_label3": 0.6, "acc_label4": 0.9, "acc": 0.9}
    sr = _sweep([
        ("loss=all_labels", 0, {}, {"extra": acc}),
        ("loss=query", 0, {}, {"extra": {**acc, "acc": 0.1}}),  # another setting: left out
        ("loss=all_labels", 1, {}, {"extra": {k: v / 2 for k, v in acc.items()}}),
    ])
    t = H.label_accuracy(sr)
    assert t.seed.tolist() == [0, 1]
    assert list(t.columns) == ["seed", "label 1", "label 2", "label 3", "label 4", "query", "all positions (mean)"]
    assert t.iloc[0, 1:].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.9, 0.9, 0.6])
    assert t.iloc[1, 1:].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.45, 0.45, 0.3])
    assert H.label_accuracy(sr, "loss=query").iloc[0]["query"] == pytest.approx(0.1)
