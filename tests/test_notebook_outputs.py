"""What the notebooks store compares by what a reader sees: a glued figure by its fingerprint (not
its PNG bytes), a table's HTML id by its shown digits, and `make notebooks` leaves a notebook file
untouched when only volatile things changed (cell ids, papermill's timings, widget model ids,
memory addresses, PNG bytes)."""

import importlib.util
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from icmeta.book.display import GluedFigure, Table, fingerprint  # noqa: E402
from icmeta.book.page import table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _run_notebooks():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rn = _run_notebooks()


# --- figures -------------------------------------------------------------------------------------


def _figure(y=(0.5, 0.7, 0.9), image_scale=1.0):
    fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3))
    a.plot([0, 1, 2], list(y), label="accuracy")
    a.scatter([0, 2], [0.2, 0.4], c=[0.1, 0.5])
    a.set(title="Fig. X", xlabel="step", ylabel="acc")
    a.legend()
    im = b.imshow(np.arange(12.0).reshape(3, 4) * image_scale)
    b.bar([0, 1], [1.0, 2.0])
    fig.colorbar(im, ax=b)
    glued = GluedFigure(fig)  # as `show` glues it: the PNG first, then the fingerprint
    plt.close(fig)
    return glued


def test_a_figure_drawn_twice_has_the_same_fingerprint():
    one, two = _figure(), _figure()
    assert repr(one) == repr(two)
    assert repr(one).startswith("<Figure size 600x300 with 3 Axes, fingerprint ")
    assert re.search(r"^axes 0: [0-9a-f]{12} 'Fig\. X'$", repr(one), flags=re.MULTILINE)


def test_a_data_point_moved_by_one_percent_changes_the_fingerprint():
    base = repr(_figure())
    moved = repr(_figure(y=(0.5, 0.707, 0.9)))
    assert moved != base
    # the axes that changed is named; the image's axes and the colorbar did not change
    assert moved.splitlines()[1] != base.splitlines()[1]
    assert moved.splitlines()[2:] == base.splitlines()[2:]
    assert repr(_figure(image_scale=1.01)) != base


def test_a_change_below_the_rounding_keeps_the_fingerprint():
    assert repr(_figure(y=(0.5, 0.70001, 0.9))) == repr(_figure())
    assert repr(_figure(image_scale=1 + 1e-9)) == repr(_figure())


def test_texts_are_part_of_the_fingerprint():
    def titled(title):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_title(title)
        fig.canvas.draw()
        text = fingerprint(fig)
        plt.close(fig)
        return text

    assert titled("seed 0") != titled("seed 1")


def test_the_glued_figure_keeps_the_mime_keys_of_a_glued_figure():
    """myst_nb's {glue:figure} finds the same keys as for a Figure: the image and its text."""
    import base64

    from IPython.core.formatters import HTMLFormatter, PlainTextFormatter, PNGFormatter, SVGFormatter

    glued = _figure()
    png = PNGFormatter()(glued)  # IPython's formatters as glue() calls them (no shell needed)
    png = png if isinstance(png, bytes) else base64.b64decode(png)
    assert png.startswith(b"\x89PNG")
    assert PlainTextFormatter()(glued) == repr(glued)
    assert HTMLFormatter()(glued) is None and SVGFormatter()(glued) is None


def test_the_sanitizer_blanks_a_png_only_when_it_is_the_whole_value():
    patterns = rn.sanitize_patterns()
    png = "iVBORw0KGgoAAAANSUhEUgAAAZcAAAEJCAYAAABYCmo+AAAAOnRFWHRTb2Z0d2FyZQBNYXRwbG90bGli\n"
    other = "iVBORw0KGgoAAAANSUhEUgAAA48AAAE3CAYAAAAKb3Q+AAAAOnRFWHRTb2Z0d2FyZQBNYXRwbG90bGli"
    assert rn._sanitize(png, patterns) == rn._sanitize(other, patterns) == "PNG-BASE64"
    html = f'<img src="data:image/png;base64,{png}">'
    assert rn._sanitize(html, patterns) != rn._sanitize(html.replace(png, other), patterns)


# --- tables --------------------------------------------------------------------------------------


def _frame(acc=0.123456789):
    return pd.DataFrame({"seed": [0, 1], "acc": [acc, 1.0], "setting": ["a", "b"]}).set_index("seed")


def test_a_tables_id_depends_on_the_shown_digits_only():
    same = table(_frame(0.123456789)), table(_frame(0.123456789 + 1e-10))
    assert same[0].uuid == same[1].uuid
    assert same[0].to_html() == same[1].to_html()
    assert table(_frame(0.124)).uuid != same[0].uuid  # a shown digit changed
    assert table(_frame(), compact=True).uuid != same[0].uuid  # another style, another id


def test_a_tables_text_is_the_table_not_an_address():
    t = table(_frame())
    assert isinstance(t, Table)
    text = repr(t)
    assert "0x" not in text and "Styler" not in text
    assert text.splitlines()[0].split() == ["seed", "acc", "setting"]
    assert "0.123" in text and "0.1234" not in text and "1.000" in text
    from IPython.core.formatters import HTMLFormatter, PlainTextFormatter

    assert PlainTextFormatter()(t) == text and 'id="T_' + t.uuid in HTMLFormatter()(t)


# --- run_notebooks: leave a notebook untouched when what it shows is unchanged ---------------------


def _notebook(stamp: str, address: str, png: str, widget: str, text: str = "acc 0.5\n", ids=None,
              hidden: bool = False):
    """A small executed notebook as papermill writes it (`hidden`: as run_notebooks stored it, its
    injected cell tagged remove-cell); `stamp`, `address`, `png` and `widget` stand for what
    changes on every run."""
    v4 = nbformat.v4
    nb = v4.new_notebook()
    timing = {"start_time": f"2026-01-0{stamp}T10:00:00.000000+00:00", "end_time": f"2026-01-0{stamp}T10:00:01+00:00",
              "duration": float(stamp) / 7, "exception": False, "status": "completed"}
    nb.metadata["papermill"] = {"default_parameters": {}, "parameters": {"preset": "fast"}, "version": "2.7.0",
                                "input_path": f"/home/{stamp}/book/x.ipynb",
                                "output_path": f"/home/{stamp}/book/.x.running.ipynb", "environment_variables": {},
                                "exception": None, **{k: timing[k] for k in ("start_time", "end_time", "duration")}}
    params = v4.new_code_cell("preset = 'fast'", metadata={"tags": ["parameters"], "papermill": dict(timing)})
    injected = v4.new_code_cell("# Parameters\npreset = \"fast\"\n", metadata={
        "tags": ["injected-parameters"] + (["remove-cell"] if hidden else []), "papermill": dict(timing)})
    code = v4.new_code_cell("show('fig1'); table(df)", execution_count=3, metadata={
        "papermill": dict(timing), "execution": {"iopub.execute_input": f"2026-01-0{stamp}T10:00:00.5Z"}})
    code.outputs = [
        v4.new_output("stream", name="stdout", text=text[:4]),
        v4.new_output("stream", name="stdout", text=text[4:]),
        v4.new_output("display_data", data={"application/papermill.record/image/png": png,
                                            "application/papermill.record/text/plain": "<Figure, fingerprint abc>"},
                      metadata={"scrapbook": {"name": "fig1", "mime_prefix": "application/papermill.record/"}}),
        v4.new_output("execute_result", execution_count=3,
                      data={"text/plain": f"<pandas.io.formats.style.Styler at {address}>", "text/html": "<table/>"}),
        v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json":
                                            {"model_id": widget, "version_major": 2, "version_minor": 0},
                                            "text/plain": "Output()"}),
    ]
    md = v4.new_markdown_cell("Some *prose*.", metadata={"papermill": dict(timing)})
    nb.cells = [params, injected, code, md]
    layout = widget[::-1]
    nb.metadata["widgets"] = {rn.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        widget: {"model_name": "OutputModel", "state": {"layout": f"IPY_MODEL_{layout}"}},
        layout: {"model_name": "LayoutModel", "state": {}}}}}
    if ids:
        for cell, cid in zip(nb.cells, ids):
            cell["id"] = cid
    return nb


COMMITTED = dict(stamp="1", address="0x7f0000001111", widget="a" * 16 + "0" * 16,
                 png="iVBORw0KGgoAAAANSUhEUgAAAZcAAAEJCAYAAABYCmo+AAAA\n", ids=["p1", "i1", "c1", "m1"], hidden=True)
RERUN = dict(stamp="2", address="0x7f0000002222", widget="b" * 16 + "1" * 16,
             png="iVBORw0KGgoAAAANSUhEUgAAAZcAAAEJCAYAAABYCmo/BBBB\n", ids=["p2", "i2", "c2", "m2"])


def test_a_rerun_with_only_volatile_differences_leaves_the_notebook_as_it_was():
    committed = _notebook(**COMMITTED)
    rerun = _notebook(**RERUN)
    assert rn.comparable(rerun) != rn.comparable(committed)  # before: other ids
    stored, changed = rn.finish(rerun, committed, ROOT / "book" / "x.ipynb")
    assert not changed
    assert [c.id for c in stored.cells] == ["p1", "i1", "c1", "m1"]
    assert "remove-cell" in stored.cells[1].metadata.tags
    meta = stored.metadata.papermill
    assert "start_time" not in meta and "duration" not in meta and meta["input_path"] == "book/x.ipynb"
    for cell in stored.cells:
        assert set(cell.metadata.papermill) == {"status"} and "execution" not in cell.metadata
    nbformat.validate(stored)


@pytest.mark.parametrize("change", ["text", "figure", "source", "glue name", "widget state"])
def test_a_rerun_that_shows_something_else_is_written(change):
    committed = _notebook(**COMMITTED)
    rerun = _notebook(**{**RERUN, **({"text": "acc 0.6\n"} if change == "text" else {})})
    code = rerun.cells[2]
    if change == "figure":
        code.outputs[2].data["application/papermill.record/text/plain"] = "<Figure, fingerprint abd>"
    elif change == "source":
        code.source += "  # edited"
    elif change == "glue name":
        code.outputs[2].metadata["scrapbook"]["name"] = "fig2"
    elif change == "widget state":
        next(iter(rerun.metadata.widgets[rn.WIDGET_STATE]["state"].values()))["state"]["msg_id"] = "x"
    stored, changed = rn.finish(rerun, committed)
    assert changed
    assert [c.id for c in stored.cells] == ["p1", "i1", "c1", "m1"]  # an edited cell keeps its id


def test_a_new_cell_gets_an_id_of_its_own_and_the_others_keep_theirs():
    committed = _notebook(**COMMITTED)
    rerun = _notebook(**RERUN)
    rerun.cells.insert(3, nbformat.v4.new_markdown_cell("A new paragraph."))
    rerun.cells[3]["id"] = "c1"  # even a colliding fresh id
    stored, changed = rn.finish(rerun, committed)
    assert changed
    ids = [c.id for c in stored.cells]
    assert ids[:3] == ["p1", "i1", "c1"] and ids[4] == "m1" and ids[3] not in ("c1", "m1") and len(set(ids)) == 5


def test_links_between_widgets_are_named_by_what_they_link_not_by_their_random_ids():
    """Two link models (nothing refers to them) that differ only in the widgets they join keep
    their canonical names whatever random ids a run gives them."""
    def state(ids: dict[str, str], first_target: str = "b") -> dict:
        box, a, b, c, d, link1, link2 = (ids[k] for k in ("box", "a", "b", "c", "d", "link1", "link2"))
        target = ids[first_target]
        models = {box: {"state": {"children": [f"IPY_MODEL_{m}" for m in (a, b, c, d)]}},
                  **{m: {"state": {"value": 0}} for m in (a, b, c, d)},
                  link1: {"model_name": "LinkModel", "state": {"source": [f"IPY_MODEL_{a}", "index"],
                                                               "target": [f"IPY_MODEL_{target}", "selected_index"]}},
                  link2: {"model_name": "LinkModel", "state": {"source": [f"IPY_MODEL_{c}", "index"],
                                                               "target": [f"IPY_MODEL_{d}", "selected_index"]}}}
        return {"cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": [{"output_type": "display_data", "data": {
            "application/vnd.jupyter.widget-view+json": {"model_id": box, "version_major": 2, "version_minor": 0}}}]}],
            "metadata": {"widgets": {rn.WIDGET_STATE: {"state": models}}}}

    import random

    names = ("box", "a", "b", "c", "d", "link1", "link2")
    rng = random.Random(0)
    runs = [{k: "%032x" % rng.getrandbits(128) for k in names} for _ in range(20)]  # 20 runs' random ids
    first, second = runs[0], runs[1]
    assert len({rn.comparable(state(ids), []) for ids in runs}) == 1
    # the first link now joins other widgets: a real change
    assert rn.comparable(state(first), []) != rn.comparable(state(second, first_target="d"), [])


def test_a_widget_shown_as_a_picture_leaves_no_state_behind():
    """`static-picture` cells lose their widget's view, and the widget state keeps only the models
    connected to a widget still shown (a link that points at it included), so the notebook does
    not change from run to run by the dropped widget's random ids."""
    ref = lambda k: f"IPY_MODEL_{k}"  # noqa: E731
    state = {"aa": {"state": {"layout": ref("bb")}}, "bb": {"state": {}},
             "cc": {"state": {"source": [ref("aa"), "value"]}},  # a link: nothing refers to it
             "dd": {"state": {"children": [ref("ee")]}}, "ee": {"state": {}}}
    view = lambda k: {"output_type": "display_data", "data": {rn.WIDGET_VIEW: {"model_id": k}, "text/html": "<p>x</p>"}}  # noqa: E731
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {rn.WIDGET_STATE: {"state": state}}
    shown, picture = nbformat.v4.new_code_cell("explorer"), nbformat.v4.new_code_cell("sampler")
    shown.outputs, picture.outputs = [view("aa")], [view("dd")]
    picture.metadata["tags"] = ["static-picture"]
    nb.cells = [shown, picture]
    rn.show_static_pictures(nb)
    assert rn.WIDGET_VIEW not in picture.outputs[0]["data"] and "text/html" in picture.outputs[0]["data"]
    assert set(nb.metadata["widgets"][rn.WIDGET_STATE]["state"]) == {"aa", "bb", "cc"}
    nb.cells = [picture]
    rn.show_static_pictures(nb)
    assert "widgets" not in nb.metadata


def test_a_grouped_table_shows_each_value_once_and_rules_off_its_groups():
    import pandas as pd
    import pytest

    from icmeta.book.page import table

    df = pd.DataFrame({"claim": ["a", "a", "b", "b", "a"], "rate": ["fast", "lr 0.01"] * 2 + ["fast"], "v": range(5)})
    t = table(df, group="claim")
    shown = [row.split("\x1f") for row in t.to_string(delimiter="\x1f").splitlines()[1:]]
    assert [r[0] for r in shown] == ["a", "", "b", "", "a"]  # a value again after another: shown again
    html = t.to_html()
    assert html.count("border-top") == 2 and "nth-child(3)" in html and "nth-child(5)" in html
    with pytest.raises(ValueError, match="group: 'seed' is not a column"):
        table(df, group="seed")
