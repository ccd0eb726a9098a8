"""Every figure's smallest text is at least 9 px in the built page at 1280 px wide.

The page shows a glued figure's PNG (the inline backend's: the figure's dpi, ``bbox_inches="tight"``)
at its natural width, shrunk to the 672 px text column when wider; a text of s points is then
``s * dpi / 72 * min(1, 672 / png width)`` px tall (`icmeta.book.display.smallest_text_px`).
`icmeta.book.show` stores that value for each glued figure in the notebook's output metadata;
the notebook test reads it (so it sees the notebooks as last run: ``scripts/legibility.py``
measures the figures from the stored runs without running a notebook).
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.formatters import format_display_data  # noqa: E402

from icmeta.book.display import GluedFigure, inline_png, png_width, smallest_text_px, text_px  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
MIN_PX = 9.0
MIN_MAP_PX = 150  # an attention map's width in the page
GLUED_PNG = "application/papermill.record/image/png"


def _measured(fig):
    width = png_width(inline_png(fig))
    try:
        return width, smallest_text_px(fig, width)
    finally:
        plt.close(fig)


def _panel(figsize, fontsize, dpi=100):
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
    ax.plot([1, 2, 3], [0.2, 0.5, 0.9], label="accuracy")
    ax.tick_params(labelsize=fontsize)
    ax.set_title("a title", fontsize=fontsize + 2)
    ax.legend(fontsize=fontsize)
    return fig


def test_a_figure_that_fits_the_column_keeps_its_size():
    width, px = _measured(_panel((4, 3), fontsize=8))
    assert width <= 672
    assert px == pytest.approx(8 * 100 / 72)  # 11.1 px: the 8 pt ticks and legend, at 100 dpi, not shrunk
    assert px >= MIN_PX


def test_a_figure_wider_than_the_column_shrinks_with_it():
    width, px = _measured(_panel((16, 3), fontsize=8))
    assert width > 1500
    assert px == pytest.approx(8 * 100 / 72 * 672 / width)
    assert px < MIN_PX  # 8 pt shrunk to less than half: about 4.7 px


def test_the_dpi_and_the_column_are_parameters():
    fig = _panel((4, 3), fontsize=8)
    try:
        assert smallest_text_px(fig, 400, dpi=130) == pytest.approx(8 * 130 / 72)
        assert smallest_text_px(fig, 800, column_px=400) == pytest.approx(8 * 100 / 72 / 2)
    finally:
        plt.close(fig)


def test_invisible_empty_and_clipped_texts_are_ignored():
    def measured(extra: bool):
        fig = _panel((4, 3), fontsize=9)
        if extra:
            ax = fig.axes[0]
            ax.text(2, 0.5, "hidden", fontsize=2).set_visible(False)
            ax.text(2, 0.5, "", fontsize=2)
            ax.text(2, 0.5, "   ", fontsize=2)
            ax.text(50, 50, "clipped away", fontsize=2, clip_on=True)  # far outside the axes
            ax.set_xlabel("step", fontsize=9)
        return _measured(fig)[1]

    assert measured(True) == pytest.approx(measured(False)) == pytest.approx(9 * 100 / 72)


def test_a_drawn_text_is_counted():
    fig = _panel((4, 3), fontsize=9)
    fig.axes[0].text(2, 0.5, "small note", fontsize=5)
    fig.suptitle("tiny", fontsize=4)
    try:
        sizes = text_px(fig, png_width(inline_png(fig)))
    finally:
        plt.close(fig)
    assert sizes[0] == (pytest.approx(4 * 100 / 72), "tiny")
    assert (pytest.approx(5 * 100 / 72), "small note") in sizes


def test_the_glued_figure_stores_its_smallest_text_in_the_pngs_metadata():
    fig = _panel((4, 3), fontsize=8)
    glued = GluedFigure(fig)
    plt.close(fig)
    data, metadata = format_display_data(glued)  # as myst_nb.glue calls it
    assert set(data) == {"image/png", "text/plain"}
    assert metadata == {"image/png": {"smallest_text_px": 11.1}}  # 11.11 rounded down to 0.1 px


def _glued_figures(path: Path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if GLUED_PNG in out.get("data", {}):
                yield out["metadata"].get("scrapbook", {}).get("name", "?"), out["metadata"].get("image/png", {})


def test_the_book_glues_figures():
    assert sum(bool(list(_glued_figures(p))) for p in NOTEBOOKS) >= 10  # else the test below checks nothing


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if list(_glued_figures(p))], ids=lambda p: p.name)
def test_every_glued_figure_in_the_notebooks_is_legible(path):
    """Reads the stored outputs: fails for a notebook not re-run since `show` began to measure.
    (Pages that glue no figure, such as the explorer's, are not listed.)"""
    figures = list(_glued_figures(path))
    missing = [name for name, meta in figures if "smallest_text_px" not in meta]
    small = [f"{name}: {meta['smallest_text_px']} px" for name, meta in figures
             if meta.get("smallest_text_px") is not None and meta["smallest_text_px"] < MIN_PX]
    assert not missing, f"{path.name}: no smallest_text_px stored for {', '.join(missing)} (re-run the notebook)"
    assert not small, f"{path.name}: smallest text below {MIN_PX:g} px in the page: {'; '.join(small)}"
    narrow = [f"{name}: {meta['smallest_map_px']} px" for name, meta in figures
              if meta.get("smallest_map_px", MIN_MAP_PX) < MIN_MAP_PX]
    assert not narrow, f"{path.name}: attention maps narrower than {MIN_MAP_PX} px in the page: {'; '.join(narrow)}"


def test_the_glued_figure_stores_its_narrowest_map():
    from icmeta.plots.style import head_grid

    fig = head_grid(np.full((2, 4, 9, 9), 1 / 9))  # 4 heads: laid out heads down, each map at least MIN_MAP inches
    glued = GluedFigure(fig)
    plt.close(fig)
    meta = format_display_data(glued)[1]["image/png"]
    assert MIN_MAP_PX <= meta["smallest_map_px"] < 300
    fig, ax = plt.subplots(figsize=(8, 1.2))  # a map squeezed into a short figure: narrow, and measured so
    ax.imshow(np.eye(9))
    glued = GluedFigure(fig)
    plt.close(fig)
    assert format_display_data(glued)[1]["image/png"]["smallest_map_px"] < MIN_MAP_PX
