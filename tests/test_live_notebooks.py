"""The pages' live widgets in a real kernel: the sampler (chapter 1) and the probe (chapter 3) are
run as Jupyter runs them, cell by cell up to the widget's cell, and then driven from the kernel: a
control changed, the widget's output must change. The widgets' logic is tested in-process in
`tests/test_widgets.py`; this checks that the page's own cell builds a live one."""

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_to_widget(notebook: str, then: str) -> str:
    """Execute `notebook` up to its ``static-picture`` cell in a fresh kernel, then `then` (code
    that reads the widget as ``live``); the text that `then` prints."""
    from nbclient import NotebookClient

    path = ROOT / "book" / notebook
    nb = nbformat.read(path, as_version=4)
    stop = next(i for i, c in enumerate(nb.cells) if "static-picture" in c.metadata.get("tags", []))
    cells = [c for c in nb.cells[:stop + 1] if c.cell_type == "code"
             and "injected-parameters" not in c.metadata.get("tags", [])]
    probe = nbformat.v4.new_code_cell("live = _\n" + then)
    nb.cells = cells + [probe]
    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}})
    # the committed runs the page reads (conftest points ICMETA_RUNS at an empty test store)
    env = {**os.environ, "ICMETA_RUNS": str(ROOT / "runs")}
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")


@pytest.mark.slow
def test_the_sampler_page_builds_a_live_widget_in_a_kernel():
    out = _run_to_widget("01_task_and_model.ipynb", """
w = live.widget
before = w.output.value
w.controls["K"].value = 256
print("changed" if w.output.value != before and "K = 256" in w.output.value else "unchanged")
""")
    assert out.strip() == "changed"


@pytest.mark.slow
def test_the_probe_page_builds_a_live_widget_in_a_kernel():
    out = _run_to_widget("03_explore.ipynb", """
w = live.widget
before = w.text.value
box = w.controls["labels"][0]
box.value = (box.value + 1) % len(box.options)
print("changed" if w.text.value != before else "unchanged")
""")
    assert out.strip() == "changed"
