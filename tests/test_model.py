import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from icmeta.config import ModelConfig, TaskConfig
from icmeta.core.model import Transformers, flops_per_step, hook_name, phase_masks
from icmeta.core.task import Sampler, make_world


def setup(model=ModelConfig(), task=TaskConfig(), E=2):
    worlds = [make_world(task, torch.Generator().manual_seed(i)) for i in range(E)]
    s = Sampler([task] * E, worlds)
    m = Transformers(task, model, [torch.Generator().manual_seed(i) for i in range(E)])
    return m, s.sample(32, [torch.Generator().manual_seed(9 + i) for i in range(E)])


def test_hook_shapes_and_query_only_equivalence():
    m, b = setup(ModelConfig(heads=2, layers=3))
    full, cache = m(b, return_patterns=True)
    assert set(cache) == {hook_name(i) for i in range(3)}
    assert cache["blocks.0.attn.hook_pattern"].shape == (2, 32, 2, 9, 9)
    q, qcache = m(b, query_only=True, return_patterns=True)
    assert torch.allclose(full, q, atol=1e-5)
    assert qcache["blocks.2.attn.hook_pattern"].shape == (2, 32, 2, 1, 9)
    # patterns are causal rows that sum to one
    p = cache["blocks.1.attn.hook_pattern"]
    assert torch.allclose(p.sum(-1), torch.ones(()))
    assert (p.triu(1) == 0).all()
    assert not any("pattern" in k for k in m.state_dict())


def test_phase_masks_restrict_attention():
    for name in ("ncc", "scc", "fcc"):
        m, b = setup(ModelConfig(mask=name))
        _, cache = m(b, return_patterns=True)
        allowed = phase_masks(name, 4, 2)
        for layer in range(2):
            p = cache[hook_name(layer)]
            assert (p[..., ~allowed[layer]] == 0).all(), name
    a = phase_masks("fcc", 4, 2)
    assert a[0, 3].tolist() == [False, False, True] + [False] * 6  # label 2 -> item 2 only
    assert a[1, 8].tolist() == [False, True] * 4 + [False]  # query -> labels


def test_variants_run():
    for model, task in (
        (ModelConfig(arch="standard"), TaskConfig()),
        (ModelConfig(w_o=False, classifier_hidden=2), TaskConfig(labels="fixed", positions="offset")),
        (ModelConfig(layers=5, heads=16), TaskConfig(N=8)),
    ):
        m, b = setup(model, task)
        logits, _ = m(b)
        assert logits.shape == (2, 32, task.L) and torch.isfinite(logits).all()


def test_members_are_initialised_independently():
    m1, _ = setup(E=3)
    task = TaskConfig()
    m2 = Transformers(task, ModelConfig(), [torch.Generator().manual_seed(2)])
    assert torch.equal(m1.blocks[0].W_QKV[2], m2.blocks[0].W_QKV[0])


@pytest.mark.parametrize("model, task", [
    (ModelConfig(), TaskConfig()),
    (ModelConfig(arch="standard", attn_scale="sqrt"), TaskConfig()),
    (ModelConfig(arch="standard"), TaskConfig(labels="fixed")),
    (ModelConfig(w_o=False, classifier_hidden=2), TaskConfig(labels="fixed", positions="offset")),
    (ModelConfig(layers=4, heads=4), TaskConfig(N=8)),
])
def test_flops_per_step_match_torch_flop_counter(model, task):
    m, b = setup(model, task, E=1)
    with FlopCounterMode(display=False) as counter:
        logits, _ = m(b, query_only=True)
        F.cross_entropy(logits[0], b.target[0]).backward()
    assert counter.get_total_flops() == flops_per_step(task, model, 32)


def test_attention_scale_is_a_field():
    m, b = setup(ModelConfig())
    ms, _ = setup(ModelConfig(attn_scale="sqrt"))
    p = m(b, return_patterns=True)[1][hook_name(0)]
    ps = ms(b, return_patterns=True)[1][hook_name(0)]
    # same weights; scaling the logits by 1/sqrt(128) flattens every row's softmax
    assert not torch.allclose(p, ps)
    assert (ps.amax(-1) <= p.amax(-1) + 1e-6).all()


@pytest.mark.parametrize("task", [
    TaskConfig(), TaskConfig(labels="fixed"), TaskConfig(positions="offset"),
    TaskConfig(labels="fixed", positions="offset", N=8),
])
def test_first_layer_from_token_parts_equals_the_dense_product(task):
    m, b = setup(ModelConfig(), task)
    W = m.blocks[0].W_QKV
    E, n, S, d = b.tokens.shape
    dense = torch.bmm(m.embed(b).reshape(E, -1, d), W).reshape(E, n, S, -1)
    sparse = m._first_qkv(b, W)
    assert sparse.shape == dense.shape
    assert torch.allclose(sparse, dense, atol=1e-5)
    # and the whole model: the query-only last layer changes nothing but rounding
    full, _ = m(b)
    q, _ = m(b, query_only=True)
    assert torch.allclose(full, q, atol=1e-5)
