import numpy as np

from icmeta.analysis.phases import PER_DECADE, delta_acc, delta_acc_log, detect, log_grid_accuracy, run_phases


def staircase(noise=0.0, seed=0, learn=50):
    steps = np.arange(0, 20001, 10)
    acc = np.full(len(steps), 1 / 32)
    acc[steps >= learn] = 0.36
    acc[steps >= 3000] = 0.73
    acc[steps >= 9000] = 0.99
    for a, lo, hi in ((3000, 0.36, 0.73), (9000, 0.73, 0.99)):  # transitions take 300 steps
        sel = (steps >= a - 300) & (steps < a)
        acc[sel] = np.linspace(lo, hi, sel.sum() + 2)[1:-1]
    rng = np.random.default_rng(seed)
    return steps, acc + noise * rng.standard_normal(len(steps))


def test_paper_delta_acc_definition():
    steps = np.array([0, 10, 20, 30])
    acc = np.array([0.1, 0.2, 0.4, 0.4])
    d = delta_acc(steps, acc, 10)
    assert np.allclose(d[:3], [0.1, 0.2, 0.0]) and np.isnan(d[3])


def test_log_grid_summary():
    steps = np.arange(0, 1001)
    g, a = log_grid_accuracy(steps, steps / 1000)
    big = g[g >= 100]
    assert g[0] == 0 and np.allclose(np.diff(np.log10(big)), 1 / PER_DECADE)
    assert np.all(np.diff(a) > 0)
    t, d = delta_acc_log(steps, np.full(len(steps), 0.5))
    assert np.allclose(d, 0) and len(t) == len(g) - 1


def test_detects_three_plateaus_with_levels_and_boundaries():
    steps, acc = staircase(noise=0.03)  # 2-4x the evaluation noise of the fast preset's runs
    ph = detect(steps, acc, floor=0.2)
    assert len(ph.phases) == 3, ph.phases
    assert np.allclose([p.acc for p in ph.phases], [0.36, 0.73, 0.99], atol=0.015)
    b = ph.boundaries
    # the rises take steps 2700-3000 and 8700-9000; the smoothing (0.05 decade) widens them
    assert 2000 <= b[0] <= 2700 and 6500 <= b[1] <= 8700, b
    assert all(p.start <= 3000 * 1.35 for p in ph.phases[1:2]) and ph.phases[2].start <= 9000 * 1.35


def sigmoid_curve(steps, parts):
    """Accuracy rising through logistic steps in log10(step): parts = [(centre, width, gain)]."""
    x = np.log10(np.maximum(steps, 1))
    return 0.03 + sum(g / (1 + np.exp(-(x - c) / w)) for c, w, g in parts)


def test_a_shoulder_is_a_plateau_a_smooth_rise_is_not():
    steps = np.arange(0, 20001, 10)
    # NCC rise at 10^3.0, SCC at 10^3.15, FCC at 10^3.8: the first two overlap without a shoulder
    merged = sigmoid_curve(steps, [(3.0, 0.05, 0.33), (3.15, 0.1, 0.4), (3.8, 0.05, 0.22)])
    levels = [round(p.acc, 2) for p in detect(steps, merged, floor=0.18).phases]
    assert len(levels) == 2 and 0.72 <= levels[0] <= 0.78 and levels[1] >= 0.97, levels
    # the same with the SCC rise later: the curve waits near 0.36 first
    shoulder = sigmoid_curve(steps, [(3.0, 0.05, 0.33), (3.45, 0.06, 0.4), (3.8, 0.05, 0.22)])
    levels = [round(p.acc, 2) for p in detect(steps, shoulder, floor=0.18).phases]
    assert len(levels) == 3 and 0.34 <= levels[0] <= 0.4 and 0.72 <= levels[1] <= 0.78, levels


def test_a_slow_last_rise_still_ends_a_plateau():
    steps = np.arange(0, 20001, 10)
    # the last rise is 2x wider (≈0.6 per decade at its steepest): under the paper's 0.025 per cell
    acc = sigmoid_curve(steps, [(3.0, 0.05, 0.33), (3.45, 0.05, 0.4), (3.95, 0.1, 0.22)])
    ph = detect(steps, acc, floor=0.18)
    assert np.nanmax(ph.slope) > 0.025 and np.nanmax(ph.slope[ph.grid > 10 ** 3.7]) < 0.025
    assert [round(p.acc, 1) for p in ph.phases] == [0.4, 0.8, 1.0], ph.phases


def test_slow_drift_and_noise_are_not_boundaries():
    steps = np.arange(0, 20001, 10)
    rng = np.random.default_rng(1)
    acc = 0.5 + 0.1 * np.log10(np.maximum(steps, 1)) / 4.3 + 0.04 * rng.standard_normal(len(steps))
    ph = detect(steps, acc)
    assert len(ph.phases) <= 1 and ph.boundaries == []


def test_chance_stretch_is_a_phase_only_without_a_floor():
    steps, acc = staircase(learn=600)
    assert len(detect(steps, acc).phases) == 4
    assert len(detect(steps, acc, floor=0.2).phases) == 3


def test_plateaus_are_named_by_the_nearest_ceiling():
    from icmeta.analysis.phases import nearest_strategy

    c = {"ignore": 0.36, "labels": 0.8, "pairs": 1.0}
    assert [nearest_strategy(a, c) for a in (0.1, 0.3, 0.42, 0.7, 0.83, 0.93, 0.99)] == [
        "pre", "NCC", "NCC", "SCC", "SCC", "FCC", "FCC"]


def test_merged_plateaus_span_both_with_the_median_level():
    steps = np.arange(0, 40001, 10)
    x = np.log10(np.maximum(steps, 1))
    # plateaus at 0.36 (10^2.6-10^3) and ~0.5 (10^3.1-10^3.45, drifting up), then SCC and FCC rises
    acc = sigmoid_curve(steps, [(2.5, 0.05, 0.33), (3.0, 0.03, 0.12), (3.6, 0.05, 0.35), (4.2, 0.05, 0.2)])
    acc = acc + 0.08 * np.clip(x - 3.1, 0, 0.35)
    apart = detect(steps, acc, floor=0.15)
    assert len(apart.phases) == 4
    one = detect(steps, acc, floor=0.15, min_jump=0.15)  # the first two are now closer than min_jump
    assert len(one.phases) == 3
    p = one.phases[0]
    assert p.start == apart.phases[0].start and p.end == apart.phases[1].end  # spans both
    inside = (steps >= p.start) & (steps <= p.end)
    assert p.acc == np.median(acc[inside])


def test_slope_uses_the_real_log_spacing_of_sparse_evaluations():
    steps = np.arange(0, 20001, 100)  # Δt = 100: below ~1,700 steps most grid cells are empty
    acc = 0.36 + 0.3 * np.log10(np.maximum(steps, 100) / 100)  # 0.3 per decade = 0.0075 per cell
    ph = detect(steps, acc)
    inner = (ph.grid > 150) & (ph.grid < 15000)
    assert np.allclose(ph.slope[inner], 0.3 / PER_DECADE, rtol=0.1), ph.slope[inner]


def test_end_tolerance_is_its_own_parameter():
    steps = np.arange(0, 20001, 10)
    acc = sigmoid_curve(steps, [(3.0, 0.05, 0.33), (3.6, 0.05, 0.4)])
    acc = acc + 0.06 * np.clip(np.log10(np.maximum(steps, 1)) - 3.9, 0, None) / 0.4  # a slow final gain
    last = lambda **kw: detect(steps, acc, floor=0.15, **kw).phases[-1].acc
    assert last(end_tolerance=0.1) > 0.7  # the run ends on the SCC plateau
    assert last(end_tolerance=0.01) < 0.45  # it does not: the last stretch still climbs


def _metrics_table(steps, acc, member="main", seed=0):
    import pandas as pd

    rows = [(member, seed, int(s), m, None, None, float(a)) for s, a in zip(steps, acc) for m in ("acc", "rla")]
    return pd.DataFrame(rows, columns=["member", "seed", "step", "metric", "layer", "head", "value"])


def test_phase_table_uses_one_window_and_handles_no_plateau():
    from icmeta.analysis.phases import phase_table

    steps, acc = staircase(noise=0.01)
    table = phase_table(_metrics_table(steps, acc), floors={("main", 0): 0.2})
    assert len(table) == 3 and np.allclose(table.rla, table.acc)  # same window for level and metrics
    flat = np.linspace(0.03, 0.04, len(steps))  # never leaves chance: no plateau above the floor
    empty = phase_table(_metrics_table(steps, flat), floors={("main", 0): 0.2})
    assert len(empty) == 0 and {"member", "seed", "phase", "acc"} <= set(empty.columns)


def test_run_phases_names_plateaus_by_each_members_ceilings(tmp_path):
    import json

    from icmeta.presets import preset
    from icmeta.store import Run

    steps, acc = staircase(noise=0.01)
    m = _metrics_table(steps, acc)
    ceil = [{"label": "main", "seed": 0, "ignore": 0.37, "labels": 0.75, "pairs": 1.0}]
    (tmp_path / "ceilings.json").write_text(json.dumps(ceil))
    run = Run(tmp_path, [preset("fast")], ["main"], {}, m)
    assert run_phases(run).circuit.tolist() == ["NCC", "SCC", "FCC"]
    ceil[0]["labels"] = 0.4  # a draw whose labels-only ceiling is low: 0.73 is nearer full pairs
    (tmp_path / "ceilings.json").write_text(json.dumps(ceil))
    assert run_phases(run).circuit.tolist() == ["NCC", "FCC", "FCC"]
