import numpy as np

from icmeta.phases import delta_acc, detect


def staircase(noise=0.0, seed=0):
    steps = np.arange(0, 20001, 10)
    acc = np.full(len(steps), 1 / 32)
    acc[steps >= 50] = 0.36
    acc[steps >= 3000] = 0.73
    acc[steps >= 9000] = 0.99
    # transitions take 40 steps
    for a, lo, hi in ((3000, 0.36, 0.73), (9000, 0.73, 0.99)):
        sel = (steps >= a - 40) & (steps < a)
        acc[sel] = np.linspace(lo, hi, sel.sum() + 2)[1:-1]
    rng = np.random.default_rng(seed)
    return steps, acc + noise * rng.standard_normal(len(steps))


def test_delta_acc_definition():
    steps = np.array([0, 10, 20, 30])
    acc = np.array([0.1, 0.2, 0.4, 0.4])
    assert np.allclose(delta_acc(steps, acc, 10)[:3], [0.1, 0.2, 0.0])
    assert np.isnan(delta_acc(steps, acc, 10)[3])


def test_detects_three_plateaus_with_levels_and_boundaries():
    steps, acc = staircase(noise=0.003)
    ph = detect(steps, acc, 10)
    assert len(ph.phases) == 3
    assert np.allclose([p.acc for p in ph.phases], [0.36, 0.73, 0.99], atol=0.01)
    b = ph.boundaries
    assert 2900 <= b[0] <= 3000 and 8900 <= b[1] <= 9000


def test_flat_curve_has_one_phase():
    steps = np.arange(0, 5001, 10)
    ph = detect(steps, np.full(len(steps), 0.5), 10)
    assert len(ph.phases) == 1 and ph.boundaries == []
