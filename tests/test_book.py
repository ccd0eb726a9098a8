"""The chapters' helpers (`icmeta.book`) and what a reader meets when a parameter is wrong."""

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from icmeta.book import page as book  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kwargs, field", [({"preset": "huge"}, "preset"), ({"seeds": [0, 0]}, "seeds"),
                                           ({"seeds": ["a"]}, "seeds"), ({"seeds": []}, "seeds"),
                                           ({"device": "tpu"}, "device")])
def test_setup_refuses_a_bad_parameter_in_one_line(kwargs, field, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(book.ParameterError) as e:
        book.setup(**kwargs)
    assert e.value.name == field
    lines = e.value._render_traceback_()  # what IPython shows instead of a traceback
    assert len(lines) == 1 and f"'{field}'" in lines[0] and "allowed" in lines[0]


def test_setup_show_and_table(tmp_path, monkeypatch):
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    assert book.setup("fast", (2, 0), "cpu") == ("fast", [2, 0], "cpu")
    book.show("fig14")  # a registered figure, drawn from its inputs (none here)
    assert (tmp_path / "figures" / "fig14.png").stat().st_size > 0 and not plt.get_fignums()
    df = pd.DataFrame({"seed": [0, 1], "acc": [0.12345, 1.0]}).set_index("seed")
    html = book.table(df).to_html()
    assert "<th" in html and ">seed<" in html and "0.123" in html and "0.12345" not in html  # named index kept as a column
    assert ">0<" in html and "row_heading" not in html  # no index column


@pytest.mark.slow
def test_a_chapter_with_a_bad_parameter_stops_in_one_line_and_keeps_its_outputs():
    nb = ROOT / "book" / "05_testing_the_circuits.ipynb"
    before = nb.read_bytes()
    env = {**os.environ, "PRESET": "huge"}
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_notebooks.py"), str(nb)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr + p.stdout
    err = [line for line in p.stderr.splitlines() if line.startswith("[run_notebooks]")]  # (not the kernel's own notices)
    assert len(err) == 1 and "ParameterError" in err[0] and "'preset'" in err[0] and "fast" in err[0], p.stderr
    assert nb.read_bytes() == before


def test_the_status_registry_covers_the_paper_and_matches_the_chapters():
    import re

    import nbformat

    from icmeta.analysis.claims import CLAIMS
    from icmeta.book.status import CHAPTERS, PAPER_ITEMS, STATUSES, item_status

    figs = {int(re.match(r"Fig\. (\d+)", it.name).group(1)) for it in PAPER_ITEMS if it.name.startswith("Fig.")}
    tabs = {it.name for it in PAPER_ITEMS if it.name.startswith("Table")}
    assert figs == set(range(1, 24)) and tabs == {"Table 1", "Table 2", "Table 3"}
    assert len({it.name for it in PAPER_ITEMS}) == len(PAPER_ITEMS)
    assert all(it.chapter in CHAPTERS for it in PAPER_ITEMS)
    assert not any("`" in it.what for it in PAPER_ITEMS)  # rendered as an HTML table, not markdown
    # a measured item has claims, every claim key it names exists, and every claim belongs to an item
    for it in PAPER_ITEMS:
        assert (it.kind == "measured") == bool(it.claims) and it.kind in {"measured", *STATUSES}, it.name
        assert all(any(k == c or (c.endswith(".") and k.startswith(c)) for k in CLAIMS) for c in it.claims), it.name
    assert set(CLAIMS) == {k for it in PAPER_ITEMS for k in it.claim_keys()}
    assert {item_status(it, [], "fast") for it in PAPER_ITEMS} <= set(STATUSES)  # no results: "not measured"

    def text(stem):
        nb = nbformat.read(ROOT / "book" / f"{stem}.ipynb", as_version=4)
        return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")

    captions = {stem: set(re.findall(r"Paper ((?:Fig\.|Table) \d+[a-e]?)(?![0-9])", text(stem))) for stem in CHAPTERS}
    registered = {(it.chapter, it.name) for it in PAPER_ITEMS if it.chapter}
    for stem, names in captions.items():
        for name in names:  # every caption in a chapter is registered there (Fig. 15a under Fig. 15)
            assert (stem, name) in registered or (stem, name.rstrip("abcde")) in registered, (stem, name)
    for stem, name in registered:  # and every registered item has its caption in its chapter
        if next(it for it in PAPER_ITEMS if it.name == name).kind == "pipeline only":
            continue  # named in the chapter (waiting for a real model's results), not drawn
        assert any(c == name or c.rstrip("abcde") == name for c in captions[stem]), (stem, name)


def test_every_chapter_of_the_toc_is_in_the_registry():
    import yaml

    from icmeta.book.status import CHAPTER_RUNS, CHAPTERS

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    # the notebook chapters (the references page is a plain markdown page)
    stems = [c["file"].split("/")[-1] for c in toc["chapters"] if (ROOT / f"{c['file']}.ipynb").exists()]
    assert stems == list(CHAPTERS) == list(CHAPTER_RUNS)


def test_measured_numbers_are_shown_one_way():
    import numpy as np

    assert book.number_text(0.12345) == "0.123" and book.number_text(np.float32(1)) == "1.000"
    assert book.number_text(12240) == "12,240" and book.number_text(np.int64(2570)) == "2,570"
    assert book.number_text((0.54, 0.6899)) == "0.540–0.690" and book.number_text((3, 3)) == "3"
    from icmeta.book.page import span

    assert span(pd.Series([0.7, 0.2, 0.5])) == (0.2, 0.7) and book.number_text(span(np.array([1380, 940]))) == "940–1,380"
    assert span(pd.DataFrame({"a": [1.0, 4.0], "b": [0.5, 2.0]})) == (0.5, 4.0)
    assert book.number_text("–") == "–" and book.number_text(None) == "None"


def test_a_status_word_cannot_contradict_the_verdicts_it_is_made_from():
    from icmeta.book.status import rate_status

    assert rate_status(["holds", "holds", "not measured"]) == "holds"
    assert rate_status(["does not hold", "does not hold"]) == "does not hold"
    # one claim holding in one seed is not "does not hold"; readings that disagree are undecided
    assert rate_status(["does not hold", "holds in 1 of 10 seeds"]) == "mixed"
    assert rate_status(["holds", "does not hold"]) == "mixed"
    assert rate_status(["holds", "depends on the reading (detector: 3/3, flat: 1/3, shoulder: 0/3)"]) == "undecided"
    assert rate_status(["not measured (the runs end at 90,000 steps, before the full-pairs level)"]) == "not measured"
    assert rate_status([]) == "not measured"


def test_the_command_the_pages_give_for_live_widgets_is_installed():
    """The sampler, probe and explore pages tell a reader to open them with ``jupyter lab``: the
    environment `make install` builds has it, with the widget manager."""
    import importlib.util

    says = [p.name for p in (ROOT / "book").glob("*.ipynb") if "jupyter lab" in p.read_text()]
    assert says, "no page gives the command any more: drop this test"
    assert importlib.util.find_spec("jupyterlab") is not None, f"{says} say `jupyter lab`; jupyterlab is not installed"
    assert importlib.util.find_spec("jupyterlab_widgets") is not None


def test_the_headline_counts_figures_by_their_status_at_the_paper_s_rate_and_at_fast():
    from icmeta.analysis.claims import CLAIMS, Result
    from icmeta.book.status import headline

    def results(prefix, **verdicts):
        return [Result(c, rate.replace("_", " ").replace("lr 001", "lr 0.01"), [0], verdict=v)
                for k, c in CLAIMS.items() if k.startswith(prefix) for rate, v in verdicts.items()]

    rs = (results("fig5.", fast="holds", lr_001="holds")  # holds at the paper's rate
          + results("fig13.", fast="holds", lr_001="does not hold")  # only at fast
          + results("fig7a.", fast="does not hold"))  # nowhere; not measured at the paper's rate
    h = headline(rs)
    assert (h["fig_hold_paper"], h["fig_hold_fast_only"], h["fig_hold_nowhere"]) == (1, 1, 1)
    assert h["fig_unmeasured_paper"] == h["figures"] - 2  # every figure but Figs. 5 and 13
    assert h["fast_holds"] == sum(k.startswith(("fig5.", "fig13.")) for k in CLAIMS)
    assert h["ncc_fast"] == "not measured"


def test_every_paper_item_links_to_a_label_in_its_chapter():
    import nbformat

    from icmeta.book.status import PAPER_ITEMS

    for it in PAPER_ITEMS:
        nb = nbformat.read(ROOT / "book" / f"{it.chapter}.ipynb", as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert it.anchor and (f":name: {it.anchor}\n" in text or f"({it.anchor})=" in text), (it.name, it.anchor)
        assert it.link == f'<a href="{it.chapter}.html#{it.anchor}">{it.name}</a>'


def test_the_large_model_command_has_one_spelling():
    """Every place that tells a reader how to measure GPT2-XL spells the command as `llm.COMMAND`."""
    from icmeta.llm import COMMAND

    want = COMMAND.format(model="gpt2-xl")
    found = []
    for path in [*sorted((ROOT / "book").glob("*.ipynb")), ROOT / "README.md"]:
        found += re.findall(r"python -m icmeta llm[^\n\"`<\\#]*", path.read_text())
    assert found and {f.split("  ")[0].strip() for f in found} == {want}, set(found)  # (a table pads its cells)
