"""The four readings of a curve (`icmeta.analysis.readings`) on synthetic curves whose answer is
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


def flat_phases() -> np.ndarray:
    """The same levels with the rises a decade apart: each plateau flat (slope under a tenth of
    the rises') for more than half a decade."""
    return 0.03 + 0.32 * rise(2.3) + 0.43 * rise(3.3) + 0.22 * rise(4.3)


@pytest.mark.parametrize("reading", R.READINGS)
def test_a_true_plateau_is_seen_by_every_reading(reading):
    found = R.circuits(R.read(reading, STEPS, flat_phases(), CEIL), CEIL)
    assert "NCC" in found and "SCC" in found, (reading, found)


@pytest.mark.parametrize("reading", ["detector", "flat", "shoulder"])
def test_the_band_readings_see_a_short_plateau_too(reading):
    found = R.circuits(R.read(reading, STEPS, three_phases(), CEIL), CEIL)
    assert "NCC" in found and "SCC" in found, (reading, found)


def test_the_steps_reading_needs_the_slope_under_a_tenth_for_min_span():
    # three_phases' SCC stretch is under a tenth of the steepest slope for only about 0.14 decade,
    # less than MIN_SPAN of this 3.6-decade axis (0.144): the fitted reading does not call it a plateau
    found = R.circuits(R.read("steps", STEPS, three_phases(), CEIL), CEIL)
    assert "NCC" in found and "SCC" not in found, found
    # and a steady climb is one wide step, with no plateau before the end
    climb = 0.35 + 0.65 * (X - X[0]) / (X[-1] - X[0])
    assert all(s.level > 0.95 for s in R.read("steps", STEPS, climb, CEIL))


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


def test_a_parameter_varied_inside_a_block_moves_its_reading_and_comes_back():
    before = R.read("flat", STEPS, flat_phases(), CEIL)
    with R.varied("MIN_SPAN", 20) as value:  # 0.8 of the axis: no stretch is that long
        assert value == pytest.approx(20 * 0.04) and R.read("flat", STEPS, flat_phases(), CEIL) == []
        assert R.read("detector", STEPS, flat_phases(), CEIL)  # the detector does not read it
    assert R.MIN_SPAN == 0.04 and R.read("flat", STEPS, flat_phases(), CEIL) == before
    with R.varied("WINDOW", 0.5) as value:
        assert value == 4 and R.WINDOW == 4  # an integer parameter is rounded
    with R.varied("RISE_RATIO", 2):  # a detector parameter lives in `phases`
        assert R.parameter("RISE_RATIO") == 3.0
    assert R.parameter("RISE_RATIO") == 1.5
    with pytest.raises(KeyError, match="parameter 'NOPE': one of FLAT"):
        with R.varied("NOPE", 2):
            pass


def test_cached_plateaus_are_keyed_by_the_parameters_of_their_reading():
    flat, shoulder = R.fingerprint("flat"), R.fingerprint("shoulder")
    with R.varied("SHOULDER_RATIO", 2):
        assert R.fingerprint("flat") == flat  # unchanged for a reading that does not read it
        assert R.fingerprint("shoulder") != shoulder
    assert R.fingerprint("shoulder") == shoulder
