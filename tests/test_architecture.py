"""The architecture experiments: deeper models' hooks, per-head metrics through training, and
how heads are named (icmeta.analysis.heads)."""

import numpy as np
import pandas as pd
import pytest
import torch

from icmeta.analysis import heads as A
from icmeta.book import frames as explorer_frames
from icmeta.plots import heads as plot_heads
from icmeta.config import ModelConfig, TaskConfig
from icmeta.presets import preset
from icmeta.core.model import Transformers, hook_name
from icmeta.experiments import SWEEPS
from icmeta.core.task import Sampler, make_world
from icmeta.train import load_or_train



@pytest.mark.parametrize("layers", [2, 3, 4, 5])
def test_every_layer_of_a_deeper_model_has_its_hook(layers):
    task = TaskConfig()
    worlds = [make_world(task, torch.Generator().manual_seed(0))]
    batch = Sampler([task], worlds).sample(8, [torch.Generator().manual_seed(1)])
    m = Transformers(task, ModelConfig(layers=layers, heads=2), [torch.Generator().manual_seed(0)])
    logits, cache = m(batch, return_patterns=True)
    assert list(cache) == [hook_name(i) for i in range(layers)]
    assert all(p.shape == (1, 8, 2, 9, 9) for p in cache.values())
    assert logits.shape == (1, 8, task.L) and torch.isfinite(logits).all()


@pytest.mark.slow
def test_training_stores_every_head_of_every_layer(tiny, tmp_path):
    run = load_or_train([tiny(heads=4, layers=3, steps=20)], root=tmp_path, progress=False)
    m = run.metrics[run.metrics.metric == "bigram"]
    assert set(m["head"]) == {1, 2, 3, 4} and set(m.layer) == {1, 2, 3}
    f = A.head_frame(run)
    assert set(f["head"]) == {1, 2, 3, 4}
    assert {f"{k}_L{l}" for k in A.METRICS for l in (1, 2, 3)} <= set(f.columns)
    assert len(f) == 4 * m.step.nunique()
    # each row is that head's own value, not a head average
    one = m[(m.step == m.step.max()) & (m.layer == 2)].set_index("head").value
    last = f[f.step == f.step.max()].set_index("head").bigram_L2
    assert np.allclose(one.sort_index(), last.sort_index())
    assert run.patterns()["mean"].shape[1:3] == (3, 4)


def _head(bigram1, label1, chunk1, bigram2, label2, head=1, step=10):
    return {"step": step, "head": head, "bigram_L1": bigram1, "label_attention_L1": label1, "chunk_example_L1": chunk1,
            "bigram_L2": bigram2, "label_attention_L2": label2}


def test_heads_are_named_by_table_1_patterns():
    u = {k: A.uniform_value(k, 4) for k in A.METRICS}
    assert u["bigram"] == pytest.approx(1 / 9) and u["label_attention"] == pytest.approx(4 / 9)
    frame = pd.DataFrame([
        _head(0.95, 0.03, 0.26, 0.99, 0.01, head=1),  # self in both layers
        _head(0.10, 0.85, 0.26, 0.95, 0.03, head=2),  # layer-1 query to labels, layer 2 self
        _head(0.05, 0.40, 0.90, 0.05, 0.90, head=3),  # layer-1 chunks, layer-2 query to labels
        _head(u["bigram"], u["label_attention"], u["chunk_example"], u["bigram"], u["label_attention"], head=4),
        _head(0.95, 0.03, 0.26, 0.11, 0.44, head=5),  # one layer alone is no circuit
    ])
    named = A.add_roles(frame, 4)
    assert named.role.tolist() == ["NCC", "SCC", "FCC", "none", "none"]
    assert named.loc[3, ["NCC", "SCC", "FCC"]].abs().max() < 1e-6  # uniform attention scores 0
    assert named.loc[0, "NCC"] == pytest.approx(min((0.95 - 1 / 9) / (8 / 9), (0.99 - 1 / 9) / (8 / 9)))
    # the uniform values follow N (longer contexts spread attention thinner)
    assert A.uniform_value("bigram", 8) == pytest.approx(1 / 17)


def test_architecture_sweeps_change_one_thing():
    base = preset("fast", seed=0, steps=15_000)
    for name, field in (("fig16", "heads"), ("fig19", "N"), ("fig22", "layers"), ("fig21", "loss")):
        members = SWEEPS[name].members("fast")
        assert len(members) == {"fig22": 12, "fig21": 6}.get(name, 15)
        assert any(m.config == base for m in members)  # the default model is shared with Fig. 7
    std = SWEEPS["fig20"].members("fast")[0].config
    assert std.model.arch == "standard" and std.model.attn_scale == "sqrt"
    assert std.train.lr == pytest.approx(0.01) and std.train.steps == 40_000
    assert SWEEPS["fig20"].members("paper")[0].config.train.lr == pytest.approx(0.001)


def test_all_labels_loss_counts_every_label_and_keeps_the_query_logits():
    from icmeta.train.kernels import member_losses

    task = TaskConfig()
    worlds = [make_world(task, torch.Generator().manual_seed(0)) for _ in range(2)]
    batch = Sampler([task] * 2, worlds).sample(16, [torch.Generator().manual_seed(i) for i in (1, 2)])
    m = Transformers(task, ModelConfig(), [torch.Generator().manual_seed(i) for i in (0, 1)])
    every, _ = m(batch, all_items=True)
    assert every.shape == (2, 16, task.N + 1, task.L)
    query, _ = m(batch, query_only=True)
    assert torch.allclose(every[:, :, -1], query, atol=1e-5)  # the query's prediction is the same
    ce = torch.nn.functional.cross_entropy
    by_hand = torch.stack([
        (sum(ce(every[e, :, k], batch.labels[e, :, k]) for k in range(task.N)) + ce(every[e, :, -1], batch.target[e]))
        / (task.N + 1) for e in range(2)])
    assert torch.allclose(member_losses(m, batch, all_labels=True), by_hand, atol=1e-5)
    assert torch.allclose(member_losses(m, batch), torch.stack([ce(query[e], batch.target[e]) for e in range(2)]), atol=1e-5)
    # item 1 sees no pair before it: its prediction cannot depend on what follows
    later = batch.labels.clone()
    later[:, :, 1:] = (later[:, :, 1:] + 1) % task.L
    from dataclasses import replace as dc_replace
    changed, _ = m(dc_replace(batch, labels=later), all_items=True)
    assert torch.allclose(changed[:, :, 0], every[:, :, 0], atol=1e-5)
    with pytest.raises(ValueError, match="query_only"):
        m(batch, query_only=True, all_items=True)


@pytest.mark.slow
def test_all_labels_training_reports_query_accuracy_and_each_label(tiny, tmp_path):
    from icmeta.config import ConfigError, validate
    from icmeta.store import run_name

    c = tiny(loss="all_labels", steps=20)
    run = load_or_train([c], root=tmp_path, progress=False)
    names = set(run.metrics.metric)
    assert {"acc", "loss", "rla"} <= names and {f"acc_label{k}" for k in range(1, 5)} <= names
    acc = run.metrics[run.metrics.metric == "acc"]
    assert acc.value.between(0, 1).all()
    # a new field leaves the names of runs made before it as they were
    assert run_name([preset("paper", seed=0)]) == "run-3eca45932c32"
    assert run_name([c]) != run_name([tiny(steps=20)])
    with pytest.raises(ConfigError, match="invalid value for 'loss': 'all_labels'.*phase mask"):
        validate(tiny(loss="all_labels", mask="fcc"))
    with pytest.raises(ConfigError, match="invalid value for 'loss': 'every'"):
        tiny(loss="every")


@pytest.mark.slow
def test_length_and_standard_figures_draw_from_a_stored_sweep(tmp_path):
    """Figs. 19 and 20 drawn from tiny stored sweeps of the same shape (the book draws them from
    the stored 15,000- and 40,000-step runs)."""
    import matplotlib.pyplot as plt

    from icmeta.experiments.sweeps import Axis

    from icmeta.experiments import Sweep, load_sweep

    tiny = {"steps": 40, "batch_size": 16, "eval_size": 64, "eval_every": 10, "K": 40, "L": 8}
    for sweep, draw in ((Sweep("t19", (Axis.of("N", [2, 16]),), tuple(tiny.items())), plot_heads.fig19),
                        (Sweep("t20", (), tuple({**tiny, "arch": "standard", "attn_scale": "sqrt"}.items())), plot_heads.fig20)):
        for m in sweep.members("fast", [0]):
            load_or_train([m.config], root=tmp_path, progress=False)
        sr = load_sweep(sweep, "fast", [0], root=tmp_path)
        figs = draw(sr, seed=0)
        assert len(figs) == 2 and all(f.axes for f in figs)
        plt.close("all")


@pytest.mark.slow
def test_the_head_explorer_shows_every_head_and_its_role_at_each_snapshot(tmp_path):
    from icmeta.book.explorer import explorer_widget
    from icmeta.experiments.sweeps import Axis
    from icmeta.experiments import Sweep, load_sweep

    tiny = {"steps": 60, "batch_size": 16, "eval_size": 64, "eval_every": 10, "K": 40, "L": 8}
    sweep = Sweep("th", (Axis.of("heads", [2]),), tuple(tiny.items()))
    for m in sweep.members("fast", [0, 1]):
        load_or_train([m.config], root=tmp_path, progress=False)
    sr = load_sweep(sweep, "fast", [0, 1], root=tmp_path)
    frames = explorer_frames.head_explorer_frames(sr, "heads=2", per_decade=3)
    steps = {s: [f["step"] for f in frames if f["seed"] == s] for s in (0, 1)}
    snapshots = [int(x) for x in sr.run("heads=2", 0).patterns(seed=0)["steps"]]
    assert steps[0] == steps[1] and steps[0][0] == snapshots[0] and steps[0][-1] == snapshots[-1]
    assert all(f["image_png"].startswith(b"\x89PNG") for f in frames)
    # the caption names each head's role at the nearest measured step, as `roles` computes it
    last = frames[-1]
    r = A.roles(sr.run("heads=2", last["seed"]))
    at = r[r.step == r.step.max()].set_index("head")
    lines = last["caption"].splitlines()
    assert lines[0].startswith(f"heads=2 · seed {last['seed']} · step {last['step']:,}")
    for h in (1, 2):
        assert lines[h].startswith(f"head {h}: {at.loc[h, 'role']}") and f"FCC {at.loc[h, 'FCC']:+.2f}" in lines[h]
    assert explorer_widget(frames, seeds=[0, 1]).links
