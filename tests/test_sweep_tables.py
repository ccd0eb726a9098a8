"""The sweep tables the chapters glue their numbers from (`icmeta.analysis.sweep_tables`): plateau
levels, the seen grid, clock ratios and seed counts (the data-properties chapter), reach on the
paper's clock, final layer values, dwell and divergences (the heads and depth chapters), plateau
ranges and late gains (the reproduction notes and the copy chapter), on hand-built runs whose
answers are known (`fakes`)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fakes import FakeRun, curve, frame, run_of, sweep_of

from icmeta.analysis import sweep_tables
from icmeta.analysis import sweep_tables as ST
from icmeta.analysis.sweep_tables import (
    divergences,
    dwell_numbers,
    layer_final,
    level_dwell,
    reach_clock_range,
)
from icmeta.presets import preset


# ---------------------------------------------------------------- the data-properties chapter

def _run(seed, found=(), steps=(10, 20, 40), acc=(0.1, 0.5, 0.9), lr=0.1):
    """Accuracy `acc` at `steps`, and the plateaus `found` (given, not detected)."""
    return run_of(curve("acc", steps, acc, seed=seed), seed=seed, lr=lr, found=list(found))


def _sweep(entries):
    """entries: (label, seed, setting dict, run)."""
    return sweep_of([(label, seed, run, setting) for label, seed, setting, run in entries])


@pytest.fixture
def given_plateaus(monkeypatch):
    """`plateaus` read from the fake runs (their `found`) instead of detected."""
    monkeypatch.setattr(ST, "plateaus", lambda run: run.found)


def test_plateau_levels_lists_each_plateau_with_the_seeds_ceilings(given_plateaus):
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


def test_seen_grid_counts_seeds_per_cell_of_two_fields(given_plateaus):
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


def test_clock_ratio_table_sets_both_rates_on_the_papers_clock(given_plateaus):
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


def test_seed_count_counts_the_seeds_of_several_settings_together(given_plateaus):
    sr = _sweep([("a", 0, {}, _run(0, [("NCC", 0.36), ("FCC", 1.0)])), ("a", 1, {}, _run(1, [("FCC", 1.0)])),
                 ("b", 0, {}, _run(0, [("NCC", 0.35)])), ("c", 0, {}, _run(0, [("NCC", 0.35)]))])
    assert ST.seed_count(sr, ["a"], "NCC") == "1 of 2"
    assert ST.seed_count(sr, ["a", "b"], "NCC") == "2 of 3"
    assert ST.seed_count(sr, ["a", "b"], "SCC") == "0 of 3"


# ---------------------------------------------------------------- the heads and depth chapters

def _acc_run(acc, loss=None, chunk=None):
    """Accuracy `acc` every 10 steps, loss 1 (or `loss`), and with `chunk` two heads' layer-1 chunk
    example at chunk - 0.1 and chunk + 0.1."""
    steps = range(0, 10 * len(acc), 10)
    rows = curve("acc", steps, acc, member="m")
    rows += curve("loss", steps, loss if loss is not None else [1.0] * len(acc), member="m")
    if chunk is not None:
        rows += curve("chunk_example", steps, [chunk - 0.1] * len(acc), layer=1, head=1, member="m")
        rows += curve("chunk_example", steps, [chunk + 0.1] * len(acc), layer=1, head=2, member="m")
    return FakeRun(frame(rows))


def _lr_sweep(items):
    """items: (label, seed, lr, run); each run's config the `fast` preset at that seed and lr."""
    for _, seed, lr, run in items:
        run.config = preset("fast", seed=seed, lr=lr)
    return sweep_of([(label, seed, run) for label, seed, _, run in items])


def test_reach_clock_range_is_the_first_and_last_seed_on_the_papers_clock():
    sr = _lr_sweep([("a", 0, 0.1, _acc_run([0.1, 0.5, 0.96, 1.0])),   # step 20 at lr 0.1 -> 200
                 ("a", 1, 0.1, _acc_run([0.1, 0.5, 0.6, 0.97])),   # step 30 -> 300
                 ("b", 0, 0.03, _acc_run([0.1, 0.96, 1.0, 1.0])),  # step 10 at lr 0.03 -> 30
                 ("c", 0, 0.1, _acc_run([0.1, 0.5, 0.6, 0.7]))])   # never
    assert reach_clock_range(sr, "a") == (200, 300)
    assert reach_clock_range(sr, "b") == (30, 30)
    assert reach_clock_range(sr, "a", level=0.5) == (100, 100)
    assert reach_clock_range(sr, "c") is None


def test_layer_final_leaves_out_a_diverged_seed_and_averages_heads():
    sr = _lr_sweep([("a", 0, 0.1, _acc_run([0.5] * 6, chunk=0.4)),
                 ("a", 1, 0.1, _acc_run([0.5] * 6, chunk=0.6)),
                 ("a", 2, 0.1, _acc_run([0.5] * 6, loss=[1, 1, np.nan, 1, 1, 1], chunk=0.9))])
    mean, low, high = layer_final(sr, "a", "chunk_example", 1)
    assert (mean, low, high) == pytest.approx((0.5, 0.4, 0.6))
    with pytest.raises(ValueError):
        layer_final(_lr_sweep([("x", 0, 0.1, _acc_run([0.5] * 3, loss=[np.nan] * 3, chunk=0.5))]), "x", "chunk_example", 1)


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
    r = _Ceil(metrics=_acc_run(acc).metrics)
    member = SimpleNamespace(label="a", seed=0, config=SimpleNamespace(train=SimpleNamespace(lr=0.1)))
    sr = SimpleNamespace(pairs=lambda: [(member, r)])
    d = dwell_numbers(level_dwell(sr, window=1))
    assert d.iloc[0][["first", "last"]].tolist() == [300, 1200]  # steps 30 and 120 at lr 0.1
    assert d.iloc[0].ratio == 4.0


def test_divergences_give_the_step_and_the_papers_clock():
    sr = _lr_sweep([("a", 0, 0.1, _acc_run([0.5] * 4)),
                 ("a", 1, 0.1, _acc_run([0.5] * 4, loss=[1, 1, np.nan, np.nan])),
                 ("a", 2, 0.03, _acc_run([0.5] * 4, loss=[1, 1, 1, np.inf]))])
    d = divergences(sr)
    assert d[["seed", "step", "clock"]].values.tolist() == [[1, 20, 200], [2, 30, 90]]
    assert divergences(_lr_sweep([("a", 0, 0.1, _acc_run([0.5] * 4))])).empty


# ---------------------------------------------------------------- the reproduction notes and the copy chapter

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


def test_the_context_and_depth_chapters_numbers_agree_with_the_tables_they_summarise():
    """`chapter_numbers` for chapter 9 on the committed sweeps: each value is the sweep table's."""
    from pathlib import Path

    from icmeta.analysis import chapter_numbers as CN
    from icmeta.experiments import load_lr_check, load_sweep
    from icmeta.experiments.sweeps import SWEEPS

    root, seeds = Path(__file__).resolve().parents[1] / "runs", [0, 1, 2]
    objective = load_sweep("fig21", "fast", seeds, root=root)
    d = CN.loss_numbers(objective)
    assert d["final_all"] == sweep_tables.final_range(objective, "loss=all_labels")
    assert d["chunk_all"] == sweep_tables.layer_final(objective, "loss=all_labels", "chunk_example", 1)[1:]
    depth = load_sweep("fig22", "fast", seeds, root=root)
    d = CN.depth_numbers(depth, 0.95)
    assert d["reach_L2"] == sweep_tables.reach_range(depth, "layers=2", 0.95)
    assert d["l5_div_n"] == len(sweep_tables.divergences(depth).query("setting == 'layers=5'"))
    fast, slow = load_lr_check("fig22_lr", seeds, root=root)
    d = CN.depth_lr_numbers(fast, slow, 0.95)
    assert d["l5_lr03_div_seeds"] == ", ".join(map(str, sweep_tables.divergences(slow).seed))
    standard = load_sweep("fig20", "fast", seeds, root=root)
    d = CN.standard_numbers(standard, 0.95, SWEEPS["fig20"].lr_scale)
    lo, hi = d["std_scc_steps"]
    assert lo <= hi and d["std_scc_paper"] == tuple(round(s * float(d["std_factor"])) for s in (lo, hi))


def test_the_data_properties_chapters_numbers_agree_with_the_tables_they_summarise():
    """`chapter_numbers` for chapter 6 on the committed sweeps: each value is the sweep table's."""
    from pathlib import Path

    from icmeta.analysis import chapter_numbers as CN
    from icmeta.analysis.summaries import diverged_at
    from icmeta.experiments import load_sweep

    root, seeds = Path(__file__).resolve().parents[1] / "runs", [0, 1, 2]
    load = lambda name: load_sweep(name, "fast", seeds, root=root)  # noqa: E731
    sr = load("fig7a")
    assert CN.t_numbers(sr)["t2_ncc"] == sweep_tables.seed_count(sr, ["T=2"], "NCC")
    sr = load("fig7b")
    big = [sweep_tables.final_range(sr, k) for k in ("K=512", "K=1024")]
    assert CN.k_numbers(sr)["kbig_final"] == (min(a for a, _ in big), max(b for _, b in big))
    sr = load("fig7d")
    d = CN.alpha_numbers(sr)
    assert d["div_step"] == diverged_at(sr.run("alpha=1.25", d["div_seed"]))
    sr = load("fig7e")
    d = CN.beta_numbers(sr)
    assert d["high_level"] > d["high_labels"]  # the labels-only plateau above its own ceiling
    sr = load("fig18")
    assert CN.many_tasks_numbers(sr)["final_t18"] == sweep_tables.final_range(sr, "T=18")
    sr = load("phase_diagram")
    assert CN.phase_diagram_numbers(sr)["ke_final_128"] == sweep_tables.final_range(sr, "K=128,eps=1")
