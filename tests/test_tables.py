"""The paper's tables computed from measurements (`icmeta.analysis.tables`): Table 1 from a
hand-built phase table, Table 3 from a config."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis import chapter_numbers, tables
from icmeta.analysis.heads import uniform_value
from icmeta.analysis.tables import PAPER_TABLE1, table1, table3
from icmeta.presets import preset

L1 = ("bigram_L1", "label_attention_L1", "chunk_example_L1")
L2 = ("bigram_L2", "label_attention_L2")


def _phase(seed, phase, circuit, start, end, acc, l1, l2, member="main"):
    return {"member": member, "seed": seed, "phase": phase, "start": start, "end": end, "acc": acc,
            **dict(zip(L1, l1)), **dict(zip(L2, l2)), "circuit": circuit}


def _phase_table():
    rows = [
        # seed 0: NCC -> SCC -> FCC
        _phase(0, 1, "NCC", 100, 200, 0.36, (0.90, 0.05, 0.20), (0.80, 0.10)),
        _phase(0, 2, "SCC", 300, 500, 0.78, (0.10, 0.70, 0.30), (0.60, 0.20)),
        _phase(0, 3, "FCC", 800, 1000, 1.00, (0.05, 0.40, 0.80), (0.10, 0.90)),
        # seed 1: two NCC plateaus (only the last one, phase 2, counts), then FCC
        _phase(1, 1, "NCC", 120, 220, 0.40, (0.00, 0.00, 0.00), (0.00, 0.00)),
        _phase(1, 2, "NCC", 250, 280, 0.42, (0.70, 0.15, 0.30), (1.00, 0.00)),
        _phase(1, 3, "FCC", 900, 1200, 0.98, (0.15, 0.20, 0.60), (0.00, 0.70)),
        # seed 2: SCC only
        _phase(2, 1, "SCC", 400, 600, 0.74, (0.20, 0.90, 0.10), (0.80, 0.30)),
    ]
    # rows out of phase order: "the last one" is by phase, not by row order
    return pd.DataFrame(rows).iloc[[4, 0, 6, 2, 3, 5, 1]].reset_index(drop=True)


def test_table1_takes_the_last_plateau_of_each_circuit_per_seed_and_averages_over_seeds():
    t = table1(_phase_table()).set_index("phase")
    assert t.index.tolist() == [1, 2, 3]
    assert t.circuit.tolist() == ["NCC (non-context)", "SCC (semi-context)", "FCC (full-context)"]
    assert t["seeds with this plateau"].tolist() == ["2 (0, 1)", "2 (0, 2)", "2 (0, 1)"]
    # medians of the starts and ends: NCC (100, 250) and (200, 280); SCC (300, 400), (500, 600); FCC (800, 900), (1000, 1200)
    assert t["steps (median start–end)"].tolist() == ["175–240", "350–550", "850–1100"]
    # mean [min, max] of the plateaus' accuracies (seed 1's first NCC plateau at 0.40 is not counted)
    assert t["accuracy"].tolist() == ["0.390 [0.360, 0.420]", "0.760 [0.740, 0.780]", "0.990 [0.980, 1.000]"]
    assert t.loc[1, "layer 1 (measured)"] == "bigram 0.80, label attention 0.10, chunk example 0.25"
    assert t.loc[1, "layer 2 (measured)"] == "bigram 0.90, label attention 0.05"
    assert t.loc[2, "layer 1 (measured)"] == "bigram 0.15, label attention 0.80, chunk example 0.20"
    assert t.loc[2, "layer 2 (measured)"] == "bigram 0.70, label attention 0.25"
    assert t.loc[3, "layer 1 (measured)"] == "bigram 0.10, label attention 0.30, chunk example 0.70"
    assert t.loc[3, "layer 2 (measured)"] == "bigram 0.05, label attention 0.80"
    assert t["paper: layer 1 / layer 2 / acc"].tolist() == [
        "Bigram / Bigram / ≈ 0.33–0.40", "Label Attention / Bigram / ≈ 0.75", "Chunk Example / Label Attention / 1.0"]


def test_table1_shows_each_metric_s_uniform_value_beside_it_when_given_n():
    t = table1(_phase_table(), N=4).set_index("phase")
    # at N = 4: bigram 1/9, label attention 4/9, chunk example (1/4) sum 1/(2k) = 0.26
    assert t.loc[2, "layer 1 (measured)"] == ("bigram 0.15 (uniform 0.11), label attention 0.80 (uniform 0.44), "
                                              "chunk example 0.20 (uniform 0.26)")


def test_table1_counts_each_member_and_leaves_a_circuit_without_plateaus_empty():
    pt = pd.DataFrame([
        _phase(0, 1, "NCC", 100, 300, 0.30, (1.0, 0.0, 0.2), (1.0, 0.0), member="a"),
        _phase(0, 1, "NCC", 200, 400, 0.40, (0.5, 0.0, 0.4), (0.0, 1.0), member="b"),
    ])
    t = table1(pt).set_index("phase")
    assert t.loc[1, "seeds with this plateau"] == "2 (0, 0)"  # one plateau per member
    assert t.loc[1, "steps (median start–end)"] == "150–350"
    assert t.loc[1, "accuracy"] == "0.350 [0.300, 0.400]"
    assert t.loc[1, "layer 1 (measured)"] == "bigram 0.75, label attention 0.00, chunk example 0.30"
    for phase in (2, 3):
        assert t.loc[phase, "seeds with this plateau"] == "0 ()"
        assert pd.isna(t.loc[phase, "accuracy"]) and pd.isna(t.loc[phase, "layer 1 (measured)"])
        assert t.loc[phase, "paper: layer 1 / layer 2 / acc"] == " / ".join(PAPER_TABLE1[phase])


def test_table1_reports_only_the_layer_metrics_the_phase_table_has():
    pt = pd.DataFrame([_phase(3, 1, "FCC", 10, 20, 1.0, (0.1, 0.2, 0.9), (0.0, 0.8))])
    pt["chunk_example_L2"] = 0.5  # present: reported; a missing layer-2 chunk column is simply not
    t = table1(pt).set_index("phase")
    assert t.loc[3, "layer 2 (measured)"] == "bigram 0.00, label attention 0.80, chunk example 0.50"
    assert t.loc[3, "seeds with this plateau"] == "1 (3)"


def test_table3_lists_every_config_field_with_its_value_meaning_and_source():
    c = preset("fast")
    t = table3(c)
    fields = {s: [f.name for f in dataclasses.fields(getattr(c, s))] for s in ("task", "model", "train")}
    assert len(t) == sum(map(len, fields.values())) + 2
    assert t.name.tolist() == fields["task"] + fields["model"] + fields["train"] + ["delta_t (ΔAcc Δt)", "width (P+D)"]
    assert t.group.tolist() == (["task"] * len(fields["task"]) + ["model"] * len(fields["model"])
                                + ["train"] * len(fields["train"]) + ["train", "model"])
    t = t.set_index("name")
    assert t.loc["K", "value"] == 64 and t.loc["L", "value"] == 32 and t.loc["lr", "value"] == pytest.approx(0.1)
    # Δt = 100 steps at lr 0.01, scaled as 1/lr; the width is P + D
    assert t.loc["delta_t (ΔAcc Δt)", "value"] == 10
    assert t.loc["width (P+D)", "value"] == 65 + 63 == c.task.P + c.task.D
    assert t.loc["lr", "meaning"] == "SGD learning rate" and t.loc["eps", "meaning"] == "within-class noise ε"
    assert t.loc["eval_every", "meaning"] == ""  # no symbol for it
    assert "GPU path" in t.loc["sampler", "meaning"] and "GPU path" in t.loc["kernels", "meaning"]
    assert t.loc["K", "source"] == "paper" and t.loc["width (P+D)", "source"] == "paper"
    assert t.loc["labels", "source"] == "official code" and t.loc["steps", "source"] == "official code"
    assert t.loc["kernels", "source"] == "this project" and t.loc["device", "source"] == "this project"


def test_table3_follows_the_config():
    t = table3(preset("fast", lr=0.01, K=16, L=16, N=8)).set_index("name")
    assert t.loc["delta_t (ΔAcc Δt)", "value"] == 100
    assert t.loc["K", "value"] == 16 and t.loc["N", "value"] == 8
    assert np.isclose(t.loc["lr", "value"], 0.01)


def test_matching_seeds_and_most_common_plateaus(monkeypatch):
    from icmeta.analysis import sweep_tables as ST

    found = {0: [("NCC", 0.36), ("SCC", 0.79), ("FCC", 0.98)], 1: [("SCC", 0.69), ("FCC", 0.98)],
             2: [("NCC", 0.37), ("SCC", 0.78), ("FCC", 0.99)], 3: []}

    class Runs:
        def pairs(self, label):
            return [(s, s) for s in found]

    monkeypatch.setattr(ST, "plateaus", lambda seed: found[seed])
    assert ST.matching_seeds(Runs(), "x", ["NCC", "SCC", "FCC"]) == 2
    assert ST.matching_seeds(Runs(), "x", []) == 1
    assert ST.matching_seeds(Runs(), "x", ["FCC"]) == 0
    assert ST.most_common_plateaus(Runs(), "x") == ["NCC", "SCC", "FCC"]


def test_level_sequences_compare_each_seed_with_the_reference_run():
    from pathlib import Path

    from icmeta.analysis.tables import level_differences, level_sequences
    from icmeta.experiments import load_main_run

    run = load_main_run("fast", [0, 1, 2], root=Path(__file__).resolve().parents[1] / "runs")
    same = level_sequences({"reference": run, "again": run})
    assert list(same.seed) == [0, 0, 1, 1, 2, 2]
    assert list(same["same levels"]) == ["(reference)", "yes"] * 3
    assert same["plateaus (level from step)"].str.contains("full-pairs from").all()
    cut = level_sequences({"reference": run, "cut": run.until(3_000)})  # stopped before the last jump
    assert set(cut[cut.run == "cut"]["same levels"]) == {"no"}
    assert level_differences({"reference": run, "again": run}) == "none"
    words = level_differences({"reference": run, "cut": run.until(3_000)})
    assert "seed 0 pauses at the labels-only and full-pairs levels with the reference only" in words


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


def test_the_reproduction_notes_numbers_agree_with_the_tables_they_summarise():
    """`chapter_numbers.reproduction_numbers` on the committed runs: each range spans what the plateau and
    summary tables hold for its variant and level, the counts are of the seeds read, and the
    archived run's rate is its steps over its wall time."""
    from pathlib import Path

    from icmeta.experiments import load_archived_paper_run, load_main_run, load_variants

    root, seeds = Path(__file__).resolve().parents[1] / "runs", [0, 1, 2]
    runs, main, gpu = load_variants("fast", seeds, root=root), load_main_run("fast", seeds, root=root), \
        load_archived_paper_run(root)
    d = chapter_numbers.reproduction_numbers(runs, main, gpu, seeds)
    plat = tables.variant_plateaus(runs)
    code = plat[(plat.variant == "preset (code encoding)") & (plat.circuit == "SCC")]
    assert d["code_scc"] == (code.acc.min(), code.acc.max())
    text = plat[(plat.variant == "paper-text encoding") & (plat.circuit == "SCC")]
    assert d["text_scc_seeds"] == f"{text.seed.nunique()} of 3"
    lo, hi = d["text_bigram"]
    low = plat[(plat.variant == "paper-text encoding") & (plat.circuit == "NCC")]
    assert lo == min(low["L1 bigram"].min(), low["L2 bigram"].min()) and hi == max(low["L1 bigram"].max(), low["L2 bigram"].max())
    assert d["gpu_rate"] == round(gpu.last_step / gpu.wall_time_s) and d["gpu_steps"] == gpu.last_step
    assert float(d["lr_ratio"][0]) <= float(d["lr_ratio"][1])
    assert d["uniform_label"] == uniform_value("label_attention", main.config.task.N)


def test_the_main_results_late_numbers_agree_with_the_tables_they_summarise():
    """`chapter_numbers.late_numbers` on the committed main run: the end is the run's last step, the
    labels-only level spans its SCC plateaus, the seeds that settle are the run's."""
    from pathlib import Path

    from icmeta.analysis.phases import run_phases
    from icmeta.experiments import load_main_run

    seeds = [0, 1, 2]
    run = load_main_run("fast", seeds, root=Path(__file__).resolve().parents[1] / "runs")
    d = chapter_numbers.late_numbers(run, seeds)
    pt = run_phases(run)
    scc = pt[pt.circuit == "SCC"]
    assert d["step_b"] == run.last_step == d["run_steps"] and d["step_a"] < d["step_b"]
    assert d["scc_acc"] == (scc.acc.min(), scc.acc.max())
    assert sorted(int(s) for s in d["settle_seeds"].split(", ")) == seeds
    assert d["late_steps"].endswith(f"{run.last_step:,}")
    lo, hi = (int(x) for x in d["ratio"].split(" to "))
    assert 1 <= lo <= hi  # layer 2 reads the labels more at the end than over the labels-only plateau
