"""The architecture experiments: deeper models' hooks, per-head metrics through training, and
how heads are named (icmeta.architecture)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from icmeta import architecture as A
from icmeta.config import ModelConfig, TaskConfig, preset
from icmeta.model import Transformers, hook_name
from icmeta.store import find_run
from icmeta.sweeps import SWEEPS
from icmeta.task import Sampler, make_world
from icmeta.train import load_or_train

RUNS = Path(__file__).resolve().parents[1] / "runs"  # the committed results


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


def _protos(N=4):
    p = pd.DataFrame([[0.6, 0.3, 0.26, 0.95, 0.03], [0.45, 0.48, 0.27, 0.97, 0.02],
                      [0.2, 0.4, 0.6, 0.65, 0.3], [A.uniform_value("bigram", N), A.uniform_value("label_attention", N),
                                                   A.uniform_value("chunk_example", N), A.uniform_value("bigram", N),
                                                   A.uniform_value("label_attention", N)]],
                     index=["NCC", "SCC", "FCC", "none"], columns=list(A.ROLE_METRICS))
    p.attrs["N"] = N
    return p


def test_heads_are_named_by_their_nearest_prototype():
    protos = _protos()
    frame = protos.reset_index(drop=True).assign(step=[10, 10, 10, 10], head=[1, 2, 3, 4])
    named = A.add_roles(frame, protos)
    assert named.role.tolist() == ["NCC", "SCC", "FCC", "none"]
    near_fcc = frame.iloc[[2]].assign(chunk_example_L1=0.9, label_attention_L2=0.7)
    assert A.add_roles(near_fcc, protos).role.item() == "FCC"
    assert A.uniform_value("bigram", 4) == pytest.approx(1 / 9)


def test_roles_refuse_a_model_of_another_length(tiny, tmp_path):
    run = load_or_train([tiny(N=2, steps=10)], root=tmp_path, progress=False)
    with pytest.raises(ValueError, match="N = 4 cannot name heads of a model at N = 2"):
        A.roles(run, _protos(4))


def test_main_run_prototypes_name_its_own_plateaus():
    """The prototypes are made from the main run's plateaus; read back, the steps of each SCC
    and FCC plateau must be named by that plateau's circuit, and NCC must be the most common name
    inside an NCC plateau (NCC needs no attention pattern, and the patterns are still moving
    during its short plateau)."""
    run = find_run([preset("fast", seed=s) for s in (0, 1, 2)], RUNS)
    if run is None:
        pytest.fail("the committed fast main run is missing from runs/")
    protos = A.prototypes(run)
    assert list(protos.index) == ["NCC", "SCC", "FCC", "none"]
    # the circuits differ where Table 1 says they do
    assert protos.loc["SCC", "label_attention_L1"] > protos.loc["NCC", "label_attention_L1"]
    assert protos.loc["FCC", "chunk_example_L1"] > protos.loc[["NCC", "SCC"], "chunk_example_L1"].max()
    assert protos.loc["FCC", "label_attention_L2"] > protos.loc[["NCC", "SCC"], "label_attention_L2"].max()
    pt = run.phases()
    assert set(pt.circuit) == {"NCC", "SCC", "FCC"}
    for p in pt.itertuples():
        f = A.roles(run, protos, p.member, p.seed)
        share = f[(f.step >= p.start) & (f.step <= p.end)].role.value_counts(normalize=True)
        if p.circuit == "NCC":
            assert share.get("NCC", 0) >= share.max(), (p.seed, share.to_dict())
        else:
            assert share.get(p.circuit, 0) >= 0.9, (p.seed, p.circuit, share.to_dict())


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
