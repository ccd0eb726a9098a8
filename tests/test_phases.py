import numpy as np

from icmeta.phases import PER_DECADE, delta_acc, delta_acc_log, detect, log_grid_accuracy


def staircase(noise=0.0, seed=0):
    steps = np.arange(0, 20001, 10)
    acc = np.full(len(steps), 1 / 32)
    acc[steps >= 50] = 0.36
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
    steps, acc = staircase(noise=0.03)  # noise like SGD at lr 0.1 between evaluations
    ph = detect(steps, acc, floor=0.2)
    assert len(ph.phases) == 3, ph.phases
    assert np.allclose([p.acc for p in ph.phases], [0.36, 0.73, 0.99], atol=0.015)
    b = ph.boundaries
    assert 2300 <= b[0] <= 2800 and 7900 <= b[1] <= 8800, b  # grid cells are 0.05 decade wide


def test_slow_drift_and_noise_are_not_boundaries():
    steps = np.arange(0, 20001, 10)
    rng = np.random.default_rng(1)
    acc = 0.5 + 0.1 * np.log10(np.maximum(steps, 1)) / 4.3 + 0.04 * rng.standard_normal(len(steps))
    ph = detect(steps, acc)
    assert len(ph.phases) == 1 and ph.boundaries == []


def test_chance_stretch_is_kept_without_chance_level():
    steps, acc = staircase()
    assert len(detect(steps, acc).phases) == 4


def test_plateaus_are_named_by_the_nearest_ceiling():
    from icmeta.phases import nearest_strategy

    c = {"ignore": 0.36, "labels": 0.8, "pairs": 1.0}
    assert [nearest_strategy(a, c) for a in (0.1, 0.3, 0.42, 0.7, 0.83, 0.93, 0.99)] == [
        "pre", "NCC", "NCC", "SCC", "SCC", "FCC", "FCC"]
