"""The Jupyter widgets driven from Python, as a kernel drives them (`icmeta.book.sampler`)."""

import pytest

from icmeta.presets import preset

from icmeta.config import set_field
from icmeta.book.sampler import sample_summary, task_sampler


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
    # the static page's picture: the controls as they stand, disabled, above what they produced
    pic = w.picture()
    assert pic.endswith(w.output.value) and pic.count("disabled") == len(w.controls)
    assert "<output>256</output>" in pic and "<output>1</output>" in pic


def test_the_controls_picture_shows_each_kind_of_control_at_its_value():
    import ipywidgets as iw

    from icmeta.book.page import controls_picture

    pic = controls_picture([iw.Dropdown(options=[("seed 0", 0), ("seed 1", 1)], value=1, description="seed"),
                            iw.SelectionSlider(options=[("10", 10), ("1,000", 1000)], value=1000, description="step"),
                            iw.FloatSlider(value=0.25, min=0, max=1, description="ε"), iw.Button(description="draw")])
    assert "<option selected>seed 1</option>" in pic and "<output>1,000</output>" in pic
    assert "<output>0.25</output>" in pic and "<button disabled>draw</button>" in pic and pic.count("disabled") == 4


def test_sample_summary_measures_what_the_knobs_set():
    base = preset("fast")
    always = sample_summary(set_field(base, "p_B", 1.0), n=1_000)
    never = sample_summary(base, n=1_000)
    assert always["query class in the context"] == 1.0 and never["query class in the context"] == 0.0
    one = sample_summary(set_field(base, "T", 1), n=1_000)  # one task: nothing to infer
    assert one["ceilings"]["ignore"] > 0.99 and one["another task's label for the query shown"] == 0.0
    assert len(never["sequences"]) == 4 and set(never["sequences"][0]) == {"task", "context (class → label)", "query class", "its label"}


@pytest.mark.slow
def test_the_probe_exports_half_precision_checkpoints_and_its_widget_follows_the_labels(tiny, tmp_path):
    import numpy as np

    from icmeta.book.probe import Probe, export_checkpoints, probe_widget
    from icmeta.train import load_or_train

    run = load_or_train([tiny(0, steps=300), tiny(1, steps=300)], root=tmp_path, progress=False)
    path = export_checkpoints(run, per_member=5, start=10)
    steps = list(np.load(path)["steps"])
    assert steps[0] == 0 and steps[-1] == 300 and 4 <= len(steps) <= 6 and set(steps) <= set(run.checkpoint_steps())
    p = Probe(run)
    s = p.draw(1, seed=3)
    assert len(s["classes"]) == run.config.task.N + 1 and s["classes"][-1] not in s["classes"][:-1]
    # half-precision weights: the same answer as the full checkpoint, to fp16 accuracy
    out = p.predict(1, 300, s["classes"], s["labels"])
    assert np.isclose(out["probs"].sum(), 1) and out["patterns"].shape == (2, 2 * run.config.task.N + 1, 2 * run.config.task.N + 1)
    ref = Probe(run)
    ref._weights = {f"300/{k}": v.numpy() for k, v in run.load_models(300).state_dict().items()}  # float32
    np.testing.assert_allclose(ref.predict(1, 300, s["classes"], s["labels"])["probs"], out["probs"], atol=2e-3)
    assert out["candidates"][s["task"]] == s["target"]  # the drawn sequence's answer is its task's label for the query

    w = probe_widget(run)
    before = w.text.value
    assert "model's answer" in before and "under task" in before
    box = w.controls["labels"][0]
    box.value = (box.value + 1) % run.config.task.L  # change one context label
    assert w.text.value != before and "changed at pair 1" in w.text.value
    w.controls["step"].value = 0  # the untrained model
    assert w.text.value != before
    # a sequence by hand: the labels follow the chosen task, and the answer is read again
    w.controls["step"].value = 300
    classes = [b.value for b in w.controls["classes"]]
    w.controls["task"].value = (w.controls["task"].value + 1) % run.config.task.T  # another task
    maps = w.probe.worlds[0].maps
    assert [b.value for b in w.controls["labels"]] == [int(maps[w.controls["task"].value, c]) for c in classes[:-1]]
    assert f"under task {w.controls['task'].value + 1} its label is <b>{int(maps[w.controls['task'].value, classes[-1]])}</b>" in w.text.value
    # every control shows the value the model reads (a drop-down's label follows its value)
    for box in (w.controls["task"], *w.controls["classes"], *w.controls["labels"]):
        assert box.label == str(box.value) or box.options[box.index] == (box.label, box.value)
    assert [b.label for b in w.controls["classes"]] == [str(c) for c in classes]
    # its picture names the seed and the step it shows, above its controls, disabled
    pic = w.picture()
    assert f"<option selected>{classes[0]}</option>" in pic
    assert pic.startswith("<p><b>seed 0, step 300</b> (of 300)</p>") and "<output>300</output>" in pic
    assert pic.count("disabled") == 3 + 1 + 2 * run.config.task.N + 1  # seed, step, draw; task; items, query, labels
