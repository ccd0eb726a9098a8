"""The Jupyter widgets driven from Python, as a kernel drives them (`icmeta.widgets`)."""

from icmeta.config import preset, set_field
from icmeta.widgets import sample_summary, task_sampler


def test_the_sampler_follows_its_controls():
    w = task_sampler(n=2_000)
    first = w.output.value
    assert "K = 64, T = 3, N = 4" in first and "labels only (SCC)" in first
    w.controls["K"].value = 256  # more classes: the label set tells less about the task
    after = w.output.value
    assert "K = 256, T = 3" in after and after != first
    scc = lambda text: float(text.split("labels only (SCC) <b>")[1][:5])
    assert scc(after) < scc(first) - 0.1
    w.controls["N"].value = 1
    w.controls["B"].value = 2  # more copies than context pairs: refused in one line, nothing drawn
    assert w.output.value.count("<p") == 1 and "&#x27;B&#x27;" in w.output.value and "allowed" in w.output.value
    w.controls["B"].value = 1
    assert "K = 256, T = 3, N = 1" in w.output.value


def test_sample_summary_measures_what_the_knobs_set():
    base = preset("fast")
    always = sample_summary(set_field(base, "p_B", 1.0), n=1_000)
    never = sample_summary(base, n=1_000)
    assert always["query class in the context"] == 1.0 and never["query class in the context"] == 0.0
    one = sample_summary(set_field(base, "T", 1), n=1_000)  # one task: nothing to infer
    assert one["ceilings"]["ignore"] > 0.99 and one["another task's label for the query shown"] == 0.0
    assert len(never["sequences"]) == 4 and set(never["sequences"][0]) == {"task", "context (class → label)", "query class", "its label"}
