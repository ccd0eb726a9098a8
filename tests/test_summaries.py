"""Per-run summaries (`icmeta.analysis.summaries`) and the sweeps' theory and RLA tables
(`icmeta.analysis.sweep_tables`) on hand-built metrics."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fakes import curve, frame

from icmeta.analysis.phases import run_phases
from icmeta.analysis.summaries import clock_frame, diverged_at, final_value, first_step
from icmeta.analysis.sweep_tables import rla_table, theory_table
from icmeta.experiments.load import SweepRuns
from icmeta.experiments.sweeps import Member
from icmeta.presets import preset
from icmeta.store.run import Run


# ------------------------------------------------------------------------------ diverged_at

def test_diverged_at_is_the_first_step_whose_loss_is_not_finite():
    steps = range(0, 101, 10)
    loss = [2.0, 1.5, 1.2, 1.0, 0.9, 0.8, np.nan, 3.0, np.nan, np.nan, np.nan]  # NaN at 60, then back and forth
    run = SimpleNamespace(metrics=frame(curve("loss", steps, loss) + curve("acc", steps, [0.5] * 11)))
    assert diverged_at(run) == 60
    inf = SimpleNamespace(metrics=frame(curve("loss", steps, [1.0, 1.0, 1.0, np.inf] + [np.nan] * 7)))
    assert diverged_at(inf) == 30  # an infinite loss counts too


def test_a_finite_loss_has_not_diverged_whatever_the_otherframe():
    steps = range(0, 101, 10)
    run = SimpleNamespace(metrics=frame(curve("loss", steps, np.linspace(2, 0.1, 11))
                                           + curve("acc", steps, [np.nan] * 11)))
    assert diverged_at(run) is None
    assert diverged_at(SimpleNamespace(metrics=frame(curve("acc", steps, [0.5] * 11)))) is None  # no loss


# ------------------------------------------------------------------------------ final_value, first_step

def _two_heads():
    """Layer-wise metric with two heads: at step s head 1 holds s/100 - 0.1, head 2 s/100 + 0.1
    (mean s/100) in layer 1, and 1 in layer 2; acc = s/100; rows shuffled."""
    steps = np.arange(0, 100, 10)
    rows = curve("acc", steps, steps / 100)
    rows += curve("bigram", steps, steps / 100 - 0.1, layer=1, head=1) + curve("bigram", steps, steps / 100 + 0.1, layer=1, head=2)
    rows += curve("bigram", steps, np.ones(10), layer=2, head=1) + curve("bigram", steps, np.ones(10), layer=2, head=2)
    return frame(rows).sample(frac=1, random_state=0).reset_index(drop=True)


def test_final_value_is_the_mean_of_the_last_steps_with_heads_averaged():
    m = _two_heads()
    assert final_value(m) == pytest.approx((0.5 + 0.6 + 0.7 + 0.8 + 0.9) / 5)
    assert final_value(m, last=2) == pytest.approx(0.85)
    assert final_value(m, "acc", last=1) == pytest.approx(0.9)
    assert final_value(m, "bigram", layer=1) == pytest.approx(0.7)
    assert final_value(m, "bigram", layer=2) == pytest.approx(1.0)
    assert final_value(m, "bigram") == pytest.approx((0.7 + 1.0) / 2)  # both layers' heads averaged
    # the last steps that measured the metric: a metric measured less often has its own last five
    sparse = frame(curve("rla", [0, 30, 60, 90, 120, 150], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]))
    assert final_value(pd.concat([m, sparse]), "rla") == pytest.approx(0.3)


def test_first_step_at_a_level_reads_the_mean_of_each_step():
    m = _two_heads()
    assert first_step(m, 0.5) == 50
    assert first_step(m, 0.55) == 60
    assert first_step(m, 0.0) == 0
    assert first_step(m, 0.95) is None
    # head 2 of layer 1 reaches 0.45 at step 40, the mean of both heads only at step 50
    assert first_step(m[(m.layer == 1) & (m["head"] == 2)], 0.45, "bigram") == 40
    assert first_step(m[m.layer == 1], 0.45, "bigram") == 50
    assert first_step(m, 0.72, "bigram") == 50  # every row of a step, both layers: (s/100 + 1) / 2
    assert first_step(m, 0.5, "no such metric") is None


# ------------------------------------------------------------------------------ clock_frame

def _member_run(label, seed, curves, **overrides):
    """A Member and its single-member Run: curves {metric: (steps, values)}."""
    config = preset("fast", seed=seed, **overrides)
    rows = [r for k, (s, v) in curves.items() for r in curve(k, s, v, seed=seed)]
    return Member(label, seed, config, ()), Run(Path(f"run-{label}-{seed}"), [config], ["main"], {}, frame(rows))


def _sweep_runs(pairs):
    members, runs = zip(*pairs)
    return SweepRuns(None, list(members), list(runs))


def test_clock_frame_puts_every_lr_on_the_papers_clock():
    steps = [0, 10, 20, 40]
    fast = _sweep_runs([_member_run("K=8", 0, {"acc": (steps, [0.0, 0.2, 0.4, 0.8])}, lr=0.1),
                        _member_run("K=8", 1, {"acc": (steps + steps, [0.0, 0.1, 0.3, 0.6, 0.0, 0.3, 0.5, 1.0]),
                                               "loss": (steps, [9.0] * 4)}, lr=0.1)])
    slow = _sweep_runs([_member_run("K=8", 0, {"acc": (steps, [0.0, 0.05, 0.1, 0.2])}, lr=0.01)])
    f = clock_frame(fast, slow)
    assert list(f.columns) == ["step", "value", "clock", "label", "seed", "lr"]
    assert f.step.tolist() == [10, 20, 40] * 3  # step 0 left out
    assert f.value.tolist() == pytest.approx([0.2, 0.4, 0.8, 0.2, 0.4, 0.8, 0.05, 0.1, 0.2])  # seed 1: two rows a step, averaged
    assert f.clock.tolist() == pytest.approx([100, 200, 400] * 2 + [10, 20, 40])  # step x lr / 0.01
    assert f.seed.tolist() == [0] * 3 + [1] * 3 + [0] * 3 and set(f.label) == {"K=8"}
    assert f.lr.tolist() == ["lr 0.1"] * 6 + ["lr 0.01"] * 3


# ------------------------------------------------------------------------------ theory_table

def test_theory_table_compares_each_seed_with_the_scc_theory():
    def run(label, seed, final, K):
        steps = np.arange(0, 100, 10)
        acc = np.full(len(steps), 0.1)
        acc[-5:] = final + np.array([-0.04, -0.02, 0.0, 0.02, 0.04])  # the mean of the last five is `final`
        return _member_run(label, seed, {"acc": (steps, acc)}, K=K, L=K, T=2)

    sr = _sweep_runs([run("K=8", 0, 0.80, 8), run("K=8", 1, 0.77, 8), run("K=16", 0, 0.70, 16), run("K=16", 1, 0.60, 16)])
    t = theory_table(sr)
    assert t.index.tolist() == ["K=8", "K=16"]
    assert list(t.columns) == ["theory p + (1 − p)/2", "seed 0", "seed 1", "mean − theory"]
    # N = 4: K = 8, p = 1 - C(6,4)/C(7,4) = 4/7, accuracy 11/14; K = 16, p = 1 - C(14,4)/C(15,4) = 4/15, accuracy 19/30
    assert t["theory p + (1 − p)/2"].tolist() == [0.786, 0.633]
    assert t.loc["K=8", ["seed 0", "seed 1"]].tolist() == pytest.approx([0.80, 0.77])
    assert t.loc["K=16", ["seed 0", "seed 1"]].tolist() == pytest.approx([0.70, 0.60])
    assert t["mean − theory"].tolist() == pytest.approx([0.785 - 0.786, 0.65 - 0.633], abs=1e-9)


# ------------------------------------------------------------------------------ rla_table

def _staircase(levels, at):
    """Accuracy at chance (1/32), then flat at each level from its step, rising over 300 steps."""
    steps = np.arange(0, 20001, 10)
    acc = np.full(len(steps), 1 / 32)
    for a, level in zip(at, levels):
        acc[steps >= a] = level
    for a, lo, hi in zip(at[1:], levels[:-1], levels[1:]):
        sel = (steps >= a - 300) & (steps < a)
        acc[sel] = np.linspace(lo, hi, sel.sum() + 2)[1:-1]
    return steps, acc


def test_rla_table_gives_each_plateau_and_the_end_per_seed(tmp_path):
    rows = []
    for seed, rla_share, levels, at in ((0, 0.5, (0.36, 0.73, 0.99), (50, 3000, 9000)), (1, 0.2, (0.36, 0.99), (50, 5000))):
        steps, acc = _staircase(levels, at)
        rla = acc * rla_share
        rla[-5:] = [0.8, 0.85, 0.9, 0.95, 1.0]  # the last five (mean 0.9): the end, not the plateau's median
        rows += curve("acc", steps, acc, seed=seed) + curve("rla", steps, rla, seed=seed)
    ceilings = [{"label": "main", "seed": s, "ignore": 0.37, "labels": 0.75, "pairs": 1.0} for s in (0, 1)]
    (tmp_path / "ceilings.json").write_text(json.dumps(ceilings))
    run = Run(tmp_path, [preset("fast", seed=0), preset("fast", seed=1)], ["main", "main"], {}, frame(rows))

    t = rla_table(run)
    assert t.index.tolist() == [(0, "plateau 1 (NCC)"), (0, "plateau 2 (SCC)"), (0, "plateau 3 (FCC)"),
                                (0, "end (last 5 measurements)"),
                                (1, "plateau 1 (NCC)"), (1, "plateau 2 (FCC)"), (1, "end (last 5 measurements)")]
    assert t.accuracy.tolist() == pytest.approx([0.36, 0.73, 0.99, 0.99, 0.36, 0.99, 0.99])
    assert t.RLA.tolist() == pytest.approx([0.18, 0.365, 0.495, 0.9, 0.072, 0.198, 0.9])
    # each plateau's steps are its window (first–last evaluated step), the end row the run's last step
    pt = run_phases(run)
    plateau_rows = t[~t.index.get_level_values("when").str.startswith("end")]
    assert plateau_rows.steps.tolist() == [f"{a:,}–{b:,}" for a, b in zip(pt.start, pt.end)]
    assert t.xs("end (last 5 measurements)", level="when").steps.tolist() == ["20,000", "20,000"]
    assert 3000 <= pt.start[1] < pt.end[1] <= 9000  # seed 0's SCC plateau sits between its rises
