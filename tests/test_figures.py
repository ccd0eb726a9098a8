import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from icmeta import cli  # noqa: E402
from icmeta.analysis import tables  # noqa: E402
from icmeta.book import frames as explorer_frames  # noqa: E402
from icmeta.plots import main_run, schematics  # noqa: E402
from icmeta.config import ConfigError
from icmeta.presets import preset  # noqa: E402
from icmeta.book.explorer import explorer_widget  # noqa: E402
from icmeta.train import load_or_train  # noqa: E402


@pytest.mark.slow
def test_figures_draw_what_the_run_measured(tiny, tmp_path):
    run = load_or_train([tiny(0, steps=120), tiny(1, steps=120)], root=tmp_path, progress=False)
    ax = main_run.accuracy_curves(run, ceilings=False)
    acc = run.metrics[run.metrics.metric == "acc"]
    for line, seed in zip(ax.get_lines(), (0, 1)):
        want = acc[acc.seed == seed].sort_values("step").value.to_numpy()
        assert np.array_equal(line.get_ydata(), want)
    plt.close("all")
    fig = main_run.fig4(run)
    # every panel: one line per layer and seed
    assert [len(a.get_lines()) for a in fig.axes] == [4, 4, 4]
    plt.close(fig)
    fig = main_run.fig2(run, phase_steps=[10, 60, 120])
    maps = [a for a in fig.axes if a.images]
    assert len(maps) == 2 * 3  # layers x chosen steps
    plt.close(fig)
    for f in (main_run.fig3, main_run.main_result):
        plt.close(f(run))
    plt.close(schematics.fig1(run.config))
    frames = explorer_frames.explorer_frames(run, per_decade=4)
    assert {f["seed"] for f in frames} == {0, 1} and all(f["image_png"][:4] == b"\x89PNG" for f in frames)
    assert "icm-explorer" in explorer_widget(frames, seeds=[0, 1])._dom_classes
    t3 = tables.table3(preset("paper"))
    assert t3.set_index("name").loc["lr", "value"] == 0.01 and t3.set_index("name").loc["steps", "value"] == 400_000


def test_every_paper_figure_is_reached_by_its_number():
    """``python -m icmeta figure figN`` draws every figure of the paper, all its panels where it is
    registered panel by panel (Fig. 15 as 15a and 15b)."""
    from icmeta import figures

    for n in range(1, 24):
        assert figures.panels(f"fig{n}"), n
    assert figures.panels("fig15") == ["fig15a", "fig15b"] and figures.panels("fig7") == ["fig7"]
    with pytest.raises(figures.ConfigError, match="'figure'"):
        figures.panels("fig24")


def test_figure_command_errors_are_one_line(tmp_path, monkeypatch, capsys):
    assert cli.main(["figure", "fig99", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'figure'" in err and "fig2" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("ICMETA_RUNS", str(tmp_path / "empty"))
    assert cli.main(["figure", "fig2", "--out", str(tmp_path)]) == 2  # nothing stored: nothing trained
    err = capsys.readouterr().err
    assert "not stored" in err and "make runs" in err and "python -m icmeta train --preset fast" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "empty").exists()


@pytest.mark.slow
def test_figures_and_tables_do_not_import_training_code():
    import subprocess
    import sys

    code = ("import sys, icmeta.figures, icmeta.analysis.tables, icmeta.analysis.sweep_tables, icmeta.analysis.heads, "
            "icmeta.store, icmeta.book.explorer, icmeta.book.page; "
            "print(sorted(m for m in sys.modules if m.startswith('icmeta.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out


def test_circuits_at_and_settling_steps_read_the_metrics():
    import pandas as pd

    from icmeta.analysis.tables import circuits_at, settling_steps

    steps = np.arange(0, 10001, 50)
    value = np.where(steps < 4000, 0.2, 0.8)  # jumps at 4000, then flat
    rows = [("main", 0, int(s), "chunk_example", 1, 1, float(v)) for s, v in zip(steps, value)]
    rows += [("main", 0, int(s), "acc", None, None, 1.0) for s in steps]
    m = pd.DataFrame(rows, columns=["member", "seed", "step", "metric", "layer", "head", "value"])
    at = circuits_at(m, [3000, 10000]).set_index("step")
    assert at.loc[3000, "chunk_example_L1"] == 0.2 and at.loc[10000, "chunk_example_L1"] == 0.8
    s = settling_steps(m).set_index("metric")
    assert s.loc["acc", "settled_after"] == 0 and 3900 <= s.loc["chunk_example_L1", "settled_after"] < 4500


@pytest.mark.slow
def test_sweep_figures_draw_every_member_and_tables_name_the_plateaus(tmp_path):
    from icmeta.analysis import summaries
    from icmeta.analysis import sweep_tables as ST
    from icmeta.plots import schematics, sweeps
    from icmeta.experiments.sweeps import Axis
    from icmeta.experiments import Sweep, load_sweep
    from icmeta.analysis.summaries import first_step
    from icmeta.train.runner import plan_groups, train_group

    tiny = (("steps", 120), ("batch_size", 16), ("eval_size", 64), ("eval_every", 10))
    grid = Sweep("grid", (Axis.of("K", [16, 32]), Axis.of("eps", [0.1, 0.5])), tiny + (("L", 16),), title="t")
    theory = Sweep("fig5", (Axis.tied(["K", "L"], [8, 16]),), tiny + (("task_maps", "disjoint"), ("T", 2), ("mask", "scc")))
    check = Sweep("grid_lr", (Axis.of("K", [16]), Axis.of("eps", [0.5])), tiny + (("L", 16), ("lr", 0.05)), base="grid")
    lower = Sweep("grid_gpu", check.axes, tiny + (("L", 16), ("lr", 0.02)))  # a third rate, as a GPU check adds
    for sw in (grid, theory, check, lower):
        for group in plan_groups([m.config for m in sw.members("fast", [0, 1])], 4):
            train_group(group, tmp_path)
    sr = load_sweep(grid, "fast", [0, 1], root=tmp_path)
    fig = sweeps.sweep_grid(sr)
    panels = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in panels] == sr.labels
    # each panel: one line per seed, the values stored for that member
    acc = sr.frame("acc")
    for ax in panels:
        lines = [l for l in ax.get_lines() if len(l.get_xdata()) > 2]
        assert len(lines) == 2
        want = acc[(acc.label == ax.get_title()) & (acc.seed == 0)].sort_values("step").value.to_numpy()
        assert any(np.array_equal(l.get_ydata(), want) for l in lines)
    plt.close(fig)
    table = ST.plateau_table(sr)
    assert list(table.setting) == sr.labels and {"seed 0", "seed 1", "final acc (nearest)", "seeds with NCC / SCC / FCC",
                                                "ceilings: ignore / labels / pairs"} <= set(table.columns)
    direct = summaries.plateaus(sr.run("K=16,eps=0.5", 1))
    assert table.set_index("setting").loc["K=16,eps=0.5", "seed 1"] == (
        " → ".join(f"{c} {a:.2f}" for c, a in direct) or "no plateau")
    # a learning-rate check: both rates in one panel per setting, on the paper's clock (step x lr / 0.01)
    fast = load_sweep(grid, "fast", [0, 1], root=tmp_path, labels=["K=16,eps=0.5"])
    slow = load_sweep(check, "fast", [0, 1], root=tmp_path)
    assert fast.labels == slow.labels == ["K=16,eps=0.5"] and len(fast.runs) == 2
    fig = sweeps.lr_check(fast, slow)
    lines = [l for l in fig.axes[0].get_lines() if len(l.get_xdata()) > 2]
    assert len(lines) == 4  # two seeds at two rates
    steps = acc[(acc.label == "K=16,eps=0.5") & (acc.seed == 0) & (acc.step > 0)].step.unique()
    assert any(np.allclose(l.get_xdata(), np.sort(steps) * 10) for l in lines)  # lr 0.1: x 10
    assert any(np.allclose(l.get_xdata(), np.sort(steps) * 5) for l in lines)  # lr 0.05: x 5
    plt.close(fig)
    t = ST.lr_check_table(fast, slow)
    assert list(t.lr) == ["0.1", "0.05"] and list(t.setting) == ["K=16,eps=0.5"] * 2
    # three rates: the lowest solid, the middle one dotted, one row per rate
    lowest = load_sweep(lower, "fast", [0, 1], root=tmp_path)
    fig = sweeps.lr_check(fast, slow, lowest)
    lines = [l for l in fig.axes[0].get_lines() if len(l.get_xdata()) > 2]
    assert len(lines) == 6 and any(np.allclose(l.get_xdata(), np.sort(steps) * 2) for l in lines)  # lr 0.02: x 2
    plt.close(fig)
    assert list(ST.lr_check_table(fast, slow, lowest).lr) == ["0.1", "0.05", "0.02"]
    # the stay near the context-free level, on the paper's clock, from the smoothed stored accuracy
    dwell = ST.level_dwell(fast, slow, lowest)
    assert list(dwell.lr) == ["0.1", "0.05", "0.02"] and {"seed 0", "seed 1"} <= set(dwell.columns)
    r = lowest.run("K=16,eps=0.5", 1)
    a = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean().rolling(9, center=True, min_periods=1).mean()
    near = a[(a - r.ceilings()[0]["ignore"]).abs() <= 0.06]
    cell = dwell.set_index("lr").loc["0.02", "seed 1"]
    if len(near) and near.index.min() > 0:
        assert cell.startswith(f"{near.index.min() * 2:,.0f}–{near.index.max() * 2:,.0f}")
    else:
        assert cell == "–"
    reach = ST.reach_table(sr).set_index("setting")
    want = " / ".join("–" if (x := first_step(r.metrics, 0.5)) is None else f"{x:,}"
                      for m, r in zip(sr.members, sr.runs) if m.label == "K=16,eps=0.5")
    assert reach.loc["K=16,eps=0.5", "acc ≥ 0.5 at step, per seed"] == want
    # the cost of each setting, from the runs' records (the grid trained in groups: 1/n of a group each)
    cost = ST.cost_table(sr).set_index("setting")
    assert list(cost.index) == sr.labels and (cost["tokens per sequence"] == 2 * 4 + 1).all()
    runs = [r for m, r in zip(sr.members, sr.runs) if m.label == "K=16,eps=0.5"]
    each = sorted(r.wall_time_s / r.info["trained_in"]["members"] for r in runs)
    assert cost.loc["K=16,eps=0.5", "s per model (median)"] == round(float(np.median(each)))
    with pytest.raises(ConfigError, match="labels"):
        load_sweep(grid, "fast", [0, 1], root=tmp_path, labels=["K=99"])
    plt.close(sweeps.phase_diagram(sr, "K", "eps"))
    plt.close(sweeps.sweep_overlay(sr, ("acc", "loss")))
    plt.close(sweeps.per_task_accuracy(sr, "K=16,eps=0.1"))
    fig = sweeps.fig5(load_sweep(theory, "fast", [0, 1], root=tmp_path))
    bars = [c for c in fig.axes[1].collections]
    assert len(bars) == 4  # per K: the seeds' dots and the theory bar
    assert np.isclose(bars[1].get_offsets()[0][1], 0.5 + 0.5 * (4 / 7))  # K = 8, N = 4: p = N/(K-1)
    plt.close("all")
    for f in (schematics.fig11(), schematics.fig14()):
        plt.close(f)
