"""Probe a trained model: build a sequence, see what the model predicts and where it attends.

A run's full checkpoints (``step_*.pt``) are not committed; `export_checkpoints` keeps about ten
log-spaced steps of every member in half precision (``probe.npz`` in the run's folder, about
0.3 MB per member and step), so the probe works from a clean clone. `Probe` rebuilds each
member's data draw (its class means and task maps) from its seed, assembles a sequence from
chosen classes and labels, and runs the model with its attention patterns; `probe_widget` is
the Jupyter front end (live in Jupyter only: it runs the model on every change).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..core.model import Transformers
from ..core.task import Batch, Sampler, make_world
from ..plots.style import attention_png
from ..store.io import StoreError
from ..store.run import Run
from .page import controls_picture

def export_checkpoints(run: Run, per_member: int = 10, start: int = 100) -> Path:
    """Store the probe's weights (`Run.write_probe`): every member at the first checkpoint and at
    about ``per_member - 1`` more, log-spaced from step `start` to the last (where the phases are),
    in float16. Needs the run's checkpoints (they exist where it was trained; `make runs` exports
    them for the main run)."""
    steps = run.checkpoint_steps()
    if not steps:
        raise StoreError(f"{run.directory}: no step_*.pt checkpoints to export (they exist only where the run was trained)")
    grid = np.geomspace(min(start, steps[-1]), steps[-1], per_member - 1)
    keep = sorted({steps[0], steps[-1], *(min(steps, key=lambda s: abs(np.log(max(s, 1)) - np.log(g))) for g in grid)})
    arrays: dict[str, np.ndarray] = {"steps": np.array(keep, dtype=np.int64)}
    for step in keep:
        for name, value in run.checkpoint_state(step).items():
            arrays[f"{step}/{name}"] = value.to(torch.float16).numpy()
    return run.write_probe(arrays)


class Probe:
    """The models of a run at the steps of its ``probe.npz``.

    `predict(member, step, classes, labels)` runs one sequence: `classes` are the N context
    classes then the query's class, `labels` the N context labels (any labels: the point is to
    change them and watch). Returns the label probabilities at the query and each layer's
    attention pattern (mean over heads)."""

    def __init__(self, run: Run):

        stored = run.read_probe()
        self.steps = [int(s) for s in stored.pop("steps")]
        self._weights = stored
        self.run = run
        self.task = run.config.task
        worlds = [make_world(c.task, torch.Generator().manual_seed(c.seeds()["data"])) for c in run.configs]
        self.worlds = worlds
        self.sampler = Sampler([c.task for c in run.configs], worlds)
        self.model = Transformers(run.config.task, run.config.model, [torch.Generator() for _ in run.configs]).eval()
        self._loaded: int | None = None

    @property
    def members(self) -> list[tuple[str, int]]:
        return self.run.members

    def load(self, step: int) -> None:
        if step not in self.steps:
            raise StoreError(f"step {step} is not among the probe's steps ({', '.join(map(str, self.steps))})")
        if self._loaded != step:
            state = {name: torch.from_numpy(self._weights[f"{step}/{name}"].astype(np.float32))
                     for name in self.model.state_dict()}
            self.model.load_state_dict(state)
            self._loaded = step

    def draw(self, member: int, seed: int = 0) -> dict[str, Any]:
        """A training-distribution sequence for `member`: classes (context, then query), labels,
        the task and the query's label under it."""
        gens = [torch.Generator().manual_seed(seed) for _ in self.members]
        b = self.sampler.sample(1, gens)
        return {"classes": b.classes[member, 0].tolist(), "labels": b.labels[member, 0].tolist(),
                "task": int(b.tasks[member, 0]), "target": int(b.target[member, 0])}

    def predict(self, member: int, step: int, classes: Sequence[int], labels: Sequence[int], noise: int = 0) -> dict[str, Any]:

        t = self.task
        if len(classes) != t.N + 1 or len(labels) != t.N:
            raise ValueError(f"classes: {t.N + 1} (context then query) and labels: {t.N} expected, got {len(classes)} and {len(labels)}")
        if not all(0 <= c < t.K for c in classes) or not all(0 <= lab < t.L for lab in labels):
            raise ValueError(f"classes must lie in 0..{t.K - 1} and labels in 0..{t.L - 1}")
        self.load(step)
        E, N, D = len(self.members), t.N, t.D
        cls = torch.tensor(classes).expand(E, 1, N + 1)
        lab = torch.tensor(labels).expand(E, 1, N)
        z = torch.randn(1, N + 1, D, generator=torch.Generator().manual_seed(noise)).expand(E, 1, N + 1, D)
        items = self.sampler.items(cls, z)
        offsets = torch.zeros(E, 1, dtype=torch.long)
        zeros = torch.zeros(E, 1, dtype=torch.long)
        batch = Batch(tokens=self.sampler.assemble(items, lab, offsets), labels=lab, target=zeros, classes=cls,
                      tasks=zeros, items=items, offsets=offsets)
        with torch.no_grad():
            logits, cache = self.model(batch, return_patterns=True)
        probs = torch.softmax(logits[member, 0].double(), -1).numpy()
        patterns = np.stack([cache[k][member, 0].mean(0).numpy() for k in sorted(cache)])  # [layers, S, S]
        candidates = {tau: int(self.worlds[member].maps[tau, classes[-1]]) for tau in range(t.T)}
        return {"probs": probs, "patterns": patterns, "candidates": candidates}


def probe_widget(run: Run):
    """The probe in Jupyter (an ipywidgets ``VBox``, CSS class ``icm-probe``): seed and step; a
    sequence, drawn from the training distribution or built by hand (its task, context classes
    and query class; the labels follow from the task, then each can be changed); and the
    model's answer (the five most likely labels, the query's candidate label under each task)
    with its attention maps. Runs the model on every change: live in Jupyter only."""
    import ipywidgets as w


    p = Probe(run)
    t = p.task
    seed = w.Dropdown(options=[(f"seed {s}", i) for i, (_, s) in enumerate(p.members)], value=0, description="seed")
    step = w.SelectionSlider(options=[(f"{s:,}", s) for s in p.steps], value=p.steps[-1], description="step",
                             continuous_update=False, layout=w.Layout(width="26em"))
    draw = w.Button(description="draw a sequence")
    narrow = w.Layout(width="9.5em")
    task = w.Dropdown(options=[(str(k + 1), k) for k in range(t.T)], description="task", layout=narrow)
    class_boxes = [w.Dropdown(options=list(range(t.K)), description=f"item {k + 1}" if k < t.N else "query", layout=narrow)
                   for k in range(t.N + 1)]
    label_boxes = [w.Dropdown(options=list(range(t.L)), description=f"label {k + 1}", layout=narrow) for k in range(t.N)]
    text, image = w.HTML(), w.Image(format="png")
    state: dict[str, Any] = {"n": 0}

    def quietly(box, value) -> None:  # set a control without running the model for each one
        for handler in (build, update):  # only the probe's own: ipywidgets keeps index and label in step
            try:
                box.unobserve(handler, names="value")
            except ValueError:
                pass
        box.value = value

    def listen() -> None:
        for box in (task, *class_boxes):
            box.observe(build, names="value")
        for box in label_boxes:
            box.observe(update, names="value")

    def set_sequence(s: dict) -> None:
        state.update(s)
        for box, v in zip((task, *class_boxes, *label_boxes), (s["task"], *s["classes"], *s["labels"])):
            quietly(box, v)
        listen()
        update()

    def new_sequence(_=None) -> None:
        state["n"] += 1
        set_sequence(p.draw(seed.value, state["n"] - 1))

    def build(_=None) -> None:  # a sequence by hand: the labels are the chosen task's
        classes = [b.value for b in class_boxes]
        maps = p.worlds[seed.value].maps
        set_sequence({"task": task.value, "classes": classes, "labels": [int(maps[task.value, c]) for c in classes[:-1]],
                      "target": int(maps[task.value, classes[-1]])})

    def update(_=None) -> None:
        labels = [b.value for b in label_boxes]
        out = p.predict(seed.value, step.value, state["classes"], labels)
        top = np.argsort(out["probs"])[::-1][:5]
        pairs = ", ".join(f"{c}→{lab}" for c, lab in zip(state["classes"][:-1], labels))
        changed = [k + 1 for k, (a, b) in enumerate(zip(labels, state["labels"])) if a != b]
        cands = ", ".join(f"task {tau + 1}: {lab}" for tau, lab in out["candidates"].items())
        repeated = len(set(state["classes"])) < len(state["classes"])
        text.value = (
            f"<p>context (class→label) {html.escape(pairs)}; query class <b>{state['classes'][-1]}</b> — under task "
            f"{state['task'] + 1} its label is <b>{state['target']}</b>"
            + (f" (context labels changed at pair {', '.join(map(str, changed))})" if changed else "")
            + (" (a class appears twice: outside the training distribution when B = 1)" if repeated else "") + "</p>"
            f"<p>the query's candidate labels: {cands}</p>"
            "<p>model's answer: " + ", ".join(f"<b>{i}</b> {out['probs'][i]:.2f}" if k == 0 else f"{i} {out['probs'][i]:.2f}"
                                             for k, i in enumerate(top)) + "</p>")
        image.value = attention_png(out["patterns"], dpi=80)

    draw.on_click(new_sequence)
    seed.observe(new_sequence, names="value")
    step.observe(update, names="value")
    new_sequence()
    root = w.VBox([w.HBox([seed, step, draw]), w.HBox([task, *class_boxes]), w.HBox(label_boxes), text, image])
    root.add_class("icm-probe")
    root.probe, root.text = p, text
    # what it shows now, as HTML (`icmeta.book.page.live_in_jupyter`)
    # and the seed and step it shows named above its controls, disabled
    root.picture = lambda: (f"<p><b>{seed.label}, step {step.value:,}</b> (of {p.steps[-1]:,})</p>"
                            + controls_picture([seed, step, draw, task, *class_boxes, *label_boxes]) + text.value
                            + "<img alt='attention maps' src='data:image/png;base64,"
                            + base64.b64encode(image.value).decode() + "'>")
    root.controls = {"seed": seed, "step": step, "draw": draw, "task": task, "classes": class_boxes, "labels": label_boxes}
    return root
