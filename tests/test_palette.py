"""The colour rules (`icmeta.plots.palette`): a figure that shades plateaus by order, draws a seed in
a level's hue or a level in another colour is caught by `misuses` (the registry test runs it on
every figure the book shows); log step axes start a decade before the curves move
(`icmeta.plots.style.start_log_axes`)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from icmeta.plots import palette  # noqa: E402
from icmeta.plots.style import ceiling_lines, start_log_axes  # noqa: E402

CEIL = {"ignore": 0.33, "labels": 0.75, "pairs": 1.0}
STEPS = np.array([1, 50, 100, 500, 1000, 5000])  # step 0 drawn at 1, as the curves draw it


def _figure(span_color=None, seed_color=None):
    fig, ax = plt.subplots()
    ax.plot(STEPS, np.linspace(0.1, 1, len(STEPS)), color=seed_color or palette.seed_color(0), label="seed 0")
    ceiling_lines(ax, [CEIL])
    palette.shade(ax, 50, 500, "NCC")
    if span_color:
        ax.axvspan(500, 1000, color=span_color)  # shaded by order, not by level
    ax.set_xscale("log")
    return fig


def test_a_figure_drawn_by_the_rules_passes():
    fig = _figure()
    try:
        assert palette.misuses(fig) == []
    finally:
        plt.close(fig)


@pytest.mark.parametrize("kw, word", [({"span_color": "#fde2c8"}, "not marked as a level"),
                                      ({"span_color": palette.LEVEL_SHADE["SCC"]}, "not marked as a level"),
                                      ({"seed_color": "tab:orange"}, "NCC's hue"),
                                      ({"seed_color": "tab:blue"}, "FCC's hue")])
def test_a_span_by_order_or_a_seed_in_a_levels_hue_is_caught(kw, word):
    fig = _figure(**kw)
    try:
        found = palette.misuses(fig)
        assert len(found) == 1 and word in found[0], found
    finally:
        plt.close(fig)


def test_a_level_drawn_in_another_colour_is_caught():
    fig, ax = plt.subplots()
    palette.mark_level(ax.axhline(0.5, color="gray"), "SCC")
    palette.mark_level(ax.axvspan(1, 2, color=palette.LEVEL_SHADE["NCC"]), "FCC")
    try:
        found = palette.misuses(fig)
        assert len(found) == 2 and any("SCC line" in f for f in found) and any("FCC patch" in f for f in found), found
    finally:
        plt.close(fig)


def test_the_palettes_keep_apart():
    """No seed, rate, metric or setting colour reads as a level's hue."""
    others = [*palette.SEEDS, *(s.color for s in palette.RATES.values()), *palette.METRICS.values(),
              *palette.setting_colors([str(i) for i in range(8)]).values()]
    from matplotlib.colors import to_rgb

    assert [c for c in others if palette._near_level(to_rgb(c))] == []
    assert len(set(palette.SEEDS)) == 10
    assert len({(s.marker, s.dashes) for s in palette.RATES.values()}) == len(palette.RATES)


def _rise(at: float):
    """Accuracy flat at chance from step 1 (step 0 drawn at 1) and rising to 1 around step `at`."""
    fig, ax = plt.subplots()
    steps = np.unique(np.round(np.logspace(0, 4.6, 200)))
    ax.plot(steps, 0.05 + 0.95 / (1 + np.exp(-(np.log10(steps) - np.log10(at)) / 0.15)))
    ceiling_lines(ax, [CEIL])
    ax.set_xscale("log")
    return fig, ax


def test_log_axes_start_a_decade_before_the_curves_move():
    fig, ax = _rise(1_000)
    try:
        start_log_axes(fig)
        left = ax.get_xlim()[0]
        # the curve has moved a tenth of its range by step 372 (10^(3 - 0.15 ln 9)), first sampled at 480:
        # the axis starts one decade before that sample
        assert left == pytest.approx(48, rel=0.01), left
        ax.set_xlim(500, None)  # an axis set to start later keeps its start
        start_log_axes(fig)
        assert ax.get_xlim()[0] == 500
    finally:
        plt.close(fig)
    fig, ax = _rise(3)  # a curve that moves at once keeps its first point
    try:
        start_log_axes(fig)
        assert ax.get_xlim()[0] <= 1
    finally:
        plt.close(fig)
