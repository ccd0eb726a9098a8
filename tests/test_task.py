import math

import pytest
import torch

from icmeta.config import ConfigError, TaskConfig
from icmeta.core import counter
from icmeta.core.task import Role, Sampler, make_world, roles


def sampler_for(*cfgs, seed=0):
    worlds = [make_world(c, torch.Generator().manual_seed(seed + i)) for i, c in enumerate(cfgs)]
    return Sampler(list(cfgs), worlds), worlds


def gens(n, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


# the two training streams (the config's `sampler`): every distribution test runs on both
STREAMS = ("generator", "counter")


def draw(s, b, n, stream, seed=0, step=3):
    """A batch of `b` sequences for the `n` members of sampler `s` from one stream."""
    if stream == "generator":
        return s.sample(b, gens(n, seed))
    return s.build(*s.counter_draws(counter.member_keys(list(range(seed, seed + n))), step, b))


@pytest.mark.parametrize("stream", STREAMS)
def test_query_never_in_context_when_p_B_is_zero(stream):
    s, _ = sampler_for(TaskConfig())
    b = draw(s, 4000, 1, stream)
    ctx, q = b.classes[0, :, :-1], b.classes[0, :, -1]
    assert not (ctx == q[:, None]).any()
    # context classes are distinct (A8)
    assert (ctx.sort(-1).values.diff(dim=-1) > 0).all()


@pytest.mark.parametrize("stream", STREAMS)
def test_labels_follow_the_task_map(stream):
    s, worlds = sampler_for(TaskConfig(), TaskConfig(task_maps="shift", T=4))
    b = draw(s, 2000, 2, stream)
    for e, w in enumerate(worlds):
        lab = w.maps[b.tasks[e][:, None], b.classes[e]]
        assert torch.equal(lab[:, :-1], b.labels[e])
        assert torch.equal(lab[:, -1], b.target[e])
    m = worlds[1].maps
    assert torch.equal(m[1], (m[0] + 1) % 32)


@pytest.mark.parametrize("stream", STREAMS)
def test_task_and_class_zipf_frequencies(stream):
    cfg = TaskConfig(K=16, T=4, alpha=1.0, beta=1.0, query="any", N=2)
    s, _ = sampler_for(cfg)
    b = draw(s, 60000, 1, stream)
    f_task = torch.bincount(b.tasks[0], minlength=4).double() / 60000
    want = torch.tensor([1 / k for k in range(1, 5)], dtype=torch.float64)
    assert torch.allclose(f_task, want / want.sum(), atol=0.01)
    f_q = torch.bincount(b.classes[0, :, -1], minlength=16).double() / 60000
    want = torch.tensor([1 / k for k in range(1, 17)], dtype=torch.float64)
    assert torch.allclose(f_q, want / want.sum(), atol=0.01)


@pytest.mark.parametrize("stream", STREAMS)
def test_uniform_classes_are_uniform(stream):
    s, _ = sampler_for(TaskConfig(K=16))
    b = draw(s, 40000, 1, stream)
    f = torch.bincount(b.classes[0].flatten(), minlength=16).double() / b.classes[0].numel()
    assert (f - 1 / 16).abs().max() < 0.005


@pytest.mark.parametrize("stream", STREAMS)
def test_burstiness_puts_B_copies_of_the_query_class(stream):
    s, _ = sampler_for(TaskConfig(p_B=1.0, B=2))
    b = draw(s, 500, 1, stream)
    copies = (b.classes[0, :, :-1] == b.classes[0, :, -1:]).sum(-1)
    assert (copies == 2).all()
    s, _ = sampler_for(TaskConfig(p_B=0.25, B=1))
    b = draw(s, 8000, 1, stream)
    frac = (b.classes[0, :, :-1] == b.classes[0, :, -1:]).any(-1).double().mean()
    assert abs(frac - 0.25) < 0.02


def test_random_labels_keep_the_multiset_and_move_every_label_it_can():
    s, _ = sampler_for(TaskConfig())
    b = s.sample(4000, gens(1))
    r, unbroken = s.random_labels(b, [torch.Generator().manual_seed(5)])
    assert torch.equal(r.labels.sort(-1).values, b.labels.sort(-1).values)
    assert torch.equal(r.target, b.target) and torch.equal(r.items, b.items)
    kept = r.labels == b.labels
    assert torch.equal(kept.any(-1), unbroken)
    # a full derangement of the pairing exists unless one label fills more than half the context
    counts = (b.labels[..., :, None] == b.labels[..., None, :]).sum(-1).amax(-1)
    possible = counts <= b.labels.shape[-1] // 2
    assert not unbroken[possible].any() and unbroken[~possible].all()
    assert 0 < unbroken.double().mean() < 0.01  # L = 32, N = 4: a label twice in 2 slots... rarely
    # with one label thrice among four, the best permutation leaves exactly one in place
    assert (kept[~possible].sum(-1) == counts[~possible] * 2 - 4).all()


def test_random_labels_are_uniform_over_derangements():
    s, _ = sampler_for(TaskConfig(K=64, L=64, task_maps="disjoint"))
    b = s.sample(1, gens(1))
    b = b.select(torch.zeros(20000, dtype=torch.long))  # one sequence (distinct labels), many draws
    r, unbroken = s.random_labels(b, [torch.Generator().manual_seed(5)])
    assert not unbroken.any()
    perms = {tuple(x) for x in r.labels[0].tolist()}
    assert len(perms) == 9  # the 9 derangements of 4 distinct labels
    freq = torch.unique(r.labels[0], dim=0, return_counts=True)[1].double() / 20000
    assert (freq - 1 / 9).abs().max() < 0.015


def test_scc_theory_setting_excludes_the_answer_from_the_context():
    cfg = TaskConfig(K=8, L=8, T=2, task_maps="disjoint")
    s, worlds = sampler_for(cfg)
    m = worlds[0].maps
    for t in range(2):
        assert sorted(m[t].tolist()) == list(range(8))  # each task is a permutation
    assert (m[0] != m[1]).all()  # no (class, label) pair shared
    b = s.sample(3000, gens(1))
    assert not (b.labels[0] == b.target[0][:, None]).any()


def test_token_layout_pair_positions_and_fixed_labels():
    cfg = TaskConfig(labels="fixed", positions="pair")
    s, worlds = sampler_for(cfg)
    b = s.sample(10, gens(1))
    D, N = cfg.D, cfg.N
    tok = b.tokens[0]
    for j in range(N + 1):  # item j carries the one-hot of its pair index
        assert torch.equal(tok[:, 2 * j, D:].argmax(-1), torch.full((10,), j))
    assert (tok[:, 1::2, D:] == 0).all()  # labels carry no position
    assert torch.allclose(tok[:, 1::2, :D], worlds[0].label_vectors[b.labels[0]])
    assert [r for r in roles(2)] == [Role.ITEM, Role.LABEL, Role.ITEM, Role.LABEL, Role.QUERY]


def test_token_layout_offset_positions():
    cfg = TaskConfig(positions="offset")
    s, _ = sampler_for(cfg)
    b = s.sample(500, gens(1))
    pos = b.tokens[0, :, :, cfg.D:].argmax(-1)
    assert torch.equal(pos, b.offsets[0][:, None] + torch.arange(9))
    assert b.offsets.min() >= 0 and b.offsets.max() <= cfg.P - 9 and b.offsets.max() > 40


@pytest.mark.parametrize("stream", STREAMS)
def test_item_noise_scale(stream):
    cfg = TaskConfig(eps=0.5)
    s, worlds = sampler_for(cfg)
    b = draw(s, 4000, 1, stream)
    mu = worlds[0].means[b.classes[0]]
    resid = b.items[0] * math.sqrt(1 + 0.25) - mu
    assert abs(resid.pow(2).sum(-1).mean().item() - 0.25) < 0.01  # eps^2 * E|eta|^2 = eps^2


def test_ensemble_member_sees_the_data_it_would_see_alone():
    a, b = TaskConfig(T=2), TaskConfig(T=5, K=80, eps=0.3, alpha=0.5)
    ens, _ = sampler_for(a, b, seed=3)
    alone, _ = sampler_for(b, seed=4)
    x = ens.sample(64, gens(2, seed=10))
    y = alone.sample(64, gens(1, seed=11))
    for k in ("tokens", "labels", "target", "classes", "tasks"):
        assert torch.equal(getattr(x, k)[1], getattr(y, k)[0]), k
    rx, _ = ens.random_labels(x, gens(2, seed=20))
    ry, _ = alone.random_labels(y, gens(1, seed=21))
    assert torch.equal(rx.labels[1], ry.labels[0]) and torch.equal(rx.tokens[1], ry.tokens[0])


def test_members_must_share_shapes():
    with pytest.raises(ConfigError, match="'N'"):
        sampler_for(TaskConfig(N=4), TaskConfig(N=8))


@pytest.mark.parametrize("stream", STREAMS)
def test_excluded_query_is_zipf_with_zipf_classes(stream):
    cfg = TaskConfig(K=16, alpha=1.0, N=4)
    s, _ = sampler_for(cfg)
    b = draw(s, 60000, 1, stream)
    assert not (b.classes[0, :, :-1] == b.classes[0, :, -1:]).any()
    f_q = torch.bincount(b.classes[0, :, -1], minlength=16).double() / 60000
    want = torch.tensor([1 / k for k in range(1, 17)], dtype=torch.float64)
    assert torch.allclose(f_q, want / want.sum(), atol=0.01)


def _fmix32_reference(h: int) -> int:
    """MurmurHash3's fmix32 on python ints (no overflow possible)."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def test_counter_hash_is_murmur3_fmix32_without_overflow():
    x = torch.cat([torch.tensor([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF]), torch.randint(0, 2**32, (2000,))])
    got = counter.fmix32(x)
    assert got.tolist() == [_fmix32_reference(int(v)) for v in x]
    assert got.min() >= 0 and got.max() < 2**32
    # seeds above 2^32 use both words; different steps and seeds give different words
    k = counter.member_keys([2**40 + 5, 5])
    assert k.tolist() == [[5, 256], [5, 0]]
    h = torch.stack([counter.step_hash(k, s) for s in range(100)])
    assert len(set(h.flatten().tolist())) == 200


def test_counter_uniforms_and_normals():
    words = counter.bits(counter.step_hash(counter.member_keys([7]), 0), 0, 500, 400)  # 200,000 words
    u = counter.uniform(words).flatten()
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.002
    f = torch.histc(u.float(), bins=20, min=0, max=1) / u.numel()
    assert (f - 0.05).abs().max() < 0.003
    # neighbouring columns and rows are uncorrelated
    w = counter.uniform(words[0]) - 0.5
    assert abs((w[:, 1:] * w[:, :-1]).mean()) < 0.002 and abs((w[1:] * w[:-1]).mean()) < 0.002
    z = counter.normal(words[0, :, :200], words[0, :, 200:]).flatten()
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.015
    assert abs((z.abs() < 1).double().mean() - 0.6827) < 0.005 and abs((z.abs() < 2).double().mean() - 0.9545) < 0.003


def test_counter_member_alone_equals_member_in_a_group_of_64():
    """A member's batch is a function of its own seed and the step: alone or among 63 others
    (of other K, so other widths) it gets the same sequences."""
    mine = TaskConfig(T=5, K=80, eps=0.3, alpha=0.5, p_B=0.3, B=2)
    others = [TaskConfig(K=64 + i % 5, T=1 + i % 4) for i in range(63)]
    group, _ = sampler_for(*others[:40], mine, *others[40:], seed=3)
    alone, _ = sampler_for(mine, seed=43)
    keys = counter.member_keys([1000 + i for i in range(64)])
    for step in (0, 1, 12_345):
        x = group.build(*group.counter_draws(keys, step, 32))
        y = alone.build(*alone.counter_draws(keys[40:41], step, 32))
        for k in ("labels", "target", "classes", "tasks", "offsets"):
            assert torch.equal(getattr(x, k)[40], getattr(y, k)[0]), k
        assert torch.allclose(x.tokens[40], y.tokens[0], atol=1e-6, rtol=0)  # float rounding of log/cos may vectorise differently
    # another step, another batch; the same step, the same batch
    a = alone.build(*alone.counter_draws(keys[40:41], 5, 32))
    assert not torch.equal(a.classes, alone.build(*alone.counter_draws(keys[40:41], 6, 32)).classes)
    assert torch.equal(a.classes, alone.build(*alone.counter_draws(keys[40:41], 5, 32)).classes)


def test_the_stream_is_part_of_a_run_name_only_when_it_is_not_the_default():
    from pathlib import Path

    from icmeta.config import config_hash
    from icmeta.presets import PRESET_SEEDS, preset
    from icmeta.store.run import RESULTS_VERSION, find_run

    base = [preset("fast", seed=s) for s in PRESET_SEEDS["fast"]]
    # every run stored before the field existed keeps its name: the book's main run is still found
    assert find_run(base, Path(__file__).resolve().parents[1] / "runs") is not None
    counter_cfgs = [preset("fast", seed=s, sampler="counter") for s in PRESET_SEEDS["fast"]]
    assert config_hash(counter_cfgs, RESULTS_VERSION) != config_hash(base, RESULTS_VERSION)
    with pytest.raises(ConfigError, match="'sampler'.*kernels='graph'"):
        preset("fast", kernels="graph")
    with pytest.raises(ConfigError, match="'optimizer'"):
        preset("fast", kernels="graph", sampler="counter", optimizer="adam")
    with pytest.raises(ConfigError, match="'sampler'.*generator, counter"):
        preset("fast", sampler="philox")
