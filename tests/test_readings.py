"""The three readings of a curve (`icmeta.analysis.readings`) on synthetic curves whose answer is
known: a true plateau, a slow steady climb, a noisy dip, a run that ends mid-rise, a divergence."""

import numpy as np
import pytest

from icmeta.analysis import readings as R

CEIL = {"ignore": 0.35, "labels": 0.78, "pairs": 1.0}
STEPS = np.unique(np.round(np.logspace(1, 4.6, 600)).astype(int))  # 10 .. 40,000, log-spaced
X = np.log10(STEPS)


def rise(center: float, width: float = 0.08) -> np.ndarray:
    """A logistic rise from 0 to 1 centred at log10(step) = `center`."""
    return 1 / (1 + np.exp(-(X - center) / width))


def three_phases() -> np.ndarray:
    """Chance, then plateaus at the NCC (0.35) and SCC (0.78) levels, then 1.0: each clearly flat."""
    return 0.03 + 0.32 * rise(2.6) + 0.43 * rise(3.4) + 0.22 * rise(4.1)


@pytest.mark.parametrize("reading", R.READINGS)
def test_a_true_plateau_is_seen_by_every_reading(reading):
    found = R.circuits(R.read(reading, STEPS, three_phases(), CEIL), CEIL)
    assert "NCC" in found and "SCC" in found, (reading, found)


@pytest.mark.parametrize("reading", ["detector", "shoulder"])
def test_a_slow_steady_climb_has_no_shoulder(reading):
    climb = 0.35 + 0.65 * (X - X[0]) / (X[-1] - X[0])  # from the NCC level to 1.0, at one rate
    assert R.read(reading, STEPS, climb, CEIL) == []


def test_the_flat_band_reading_finds_a_pause_where_the_climb_is_slow_enough():
    slow = 0.35 + 0.04 * (X - X[0]) / (X[-1] - X[0])  # 0.04 over 3.6 decades: within one band
    found = R.read("flat", STEPS, slow, CEIL)
    assert len(found) == 1 and found[0].start == STEPS[0] and found[0].end == STEPS[-1]


def test_a_noisy_one_point_dip_is_not_a_plateau():
    curve = 0.03 + 0.97 * rise(3.0, 0.2)
    noisy = curve.copy()
    noisy[300] -= 0.4  # one evaluation far off
    for reading in R.READINGS:
        assert R.read(reading, STEPS, noisy, CEIL) == R.read(reading, STEPS, curve, CEIL), reading


def test_a_run_that_ends_mid_rise_does_not_end_on_a_plateau():
    curve = 0.03 + 0.32 * rise(2.4) + 0.65 * rise(4.7, 0.3)  # the last rise still going at the end
    for reading in ("detector", "shoulder"):
        found = R.read(reading, STEPS, curve, CEIL)
        assert all(s.end < STEPS[-1] or s.level > 0.95 for s in found), (reading, found)


def test_a_divergence_ends_the_curve():
    curve = three_phases()
    curve[-100:] = np.nan  # loss NaN: accuracy no longer measured
    for reading in R.READINGS:
        found = R.read(reading, STEPS, curve, CEIL)
        assert all(s.end <= STEPS[-101] for s in found)


def test_nothing_below_the_floor():
    curve = np.full(len(STEPS), 0.05)  # chance, never learning
    for reading in R.READINGS:
        assert R.read(reading, STEPS, curve, CEIL) == []


def test_dwell_counts_the_decades_near_a_level():
    curve = three_phases()
    ncc = R.dwell(STEPS, curve, CEIL["ignore"])
    assert 0.4 < ncc < 0.8  # the NCC plateau spans about 0.6 decade between the two rises
    assert R.dwell(STEPS, curve, 0.6) < 0.1  # 0.6 is only crossed
    assert R.dwell(STEPS, 0.35 + 0.65 * (X - X[0]) / (X[-1] - X[0]), CEIL["ignore"]) == pytest.approx(
        0.06 / 0.65 * 3.6, abs=0.03)  # a climb from the level itself stays in the band's upper half for its share of the axis


def test_first_reach():
    curve = three_phases()
    step = R.first_reach(STEPS, curve, 0.5)
    assert 10 ** 3.2 < step < 10 ** 3.45
    assert R.first_reach(STEPS, curve, 1.5) is None


def test_an_unknown_reading_is_one_line():
    with pytest.raises(ValueError, match="reading 'eye'"):
        R.read("eye", STEPS, three_phases())
