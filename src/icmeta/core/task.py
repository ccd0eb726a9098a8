"""The in-context meta-learning task (the paper's Fig. 1 and Table 3), sampled for E models at once.

Glossary (paper symbols):
    K      item classes; class means mu_k ~ N(0, 1/D)^D, drawn once per run
    L      labels
    T      tasks; a task tau is a latent map class -> label, never shown as a token
    N      (item, label) pairs in the context; a sequence is x_1, l_1, ..., x_N, l_N, x_q
    D      content dimension; P one-hot position dimension; tokens are P+D wide
    eps    within-class noise: x = (mu_k + eps * eta) / sqrt(1 + eps^2), eta ~ N(0, 1/D)^D
    p_B    probability that the query's class is also put in the context, B times
    alpha  Zipf exponent of class frequencies, f(k) ~ k^-alpha (context and query, A7)
    beta   Zipf exponent of task frequencies, f(tau) ~ tau^-beta

Token layout (0-indexed sequence positions): items at 0, 2, ..., 2N-2, labels at 1, 3, ...,
2N-1, the query item at 2N. Each token is [content (D dims) | position (P dims)].

Every batch is built with tensor operations on the target device from its random draws, and
a model trained in an ensemble sees exactly the data it would see alone. The draws come from
one of two streams (the config's ``sampler``): ``"generator"``, one `torch.Generator` per model
called on the host (the default, every stored CPU run), or ``"counter"``, each number a hash of
(model seed, step, slot) computed by tensor operations (`icmeta.core.counter`), which a
compiled training step draws inside its graph.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

import torch

from ..config import ConfigError, TaskConfig
from . import counter

# Uniform permutations drawn per sequence to find one that breaks every (item, label) pair;
# at N = 4 a try succeeds with probability 3/8 when the labels are distinct (fails 64 times
# in a row with probability 1e-13), at large N with about 1/e.
RLA_TRIES = 64

# Fields that fix tensor shapes or the token layout: members of one ensemble must agree.
SHARED_TASK_FIELDS = ("N", "D", "P", "L", "labels", "positions")


class Role(enum.IntEnum):
    """What a sequence position holds."""

    ITEM = 0
    LABEL = 1
    QUERY = 2


def roles(N: int) -> list[Role]:
    """Token roles of a sequence with N context pairs, length 2N+1."""
    return [Role.ITEM, Role.LABEL] * N + [Role.QUERY]


@dataclass
class World:
    """The data draw of one model: fixed for the whole run."""

    means: torch.Tensor  # [K, D] class means
    maps: torch.Tensor  # [T, K] long, label of each class under each task
    label_vectors: torch.Tensor  # [L, D] fixed label vectors (labels="fixed")


@dataclass
class Batch:
    """A batch for E models. Shapes use E models, b sequences, S = 2N+1 positions."""

    tokens: torch.Tensor  # [E, b, S, P+D] inputs (learned label embeddings added by the model)
    labels: torch.Tensor  # [E, b, N] long, context label ids
    target: torch.Tensor  # [E, b] long, label of the query under the sequence's task
    classes: torch.Tensor  # [E, b, N+1] long, context classes then the query class
    tasks: torch.Tensor  # [E, b] long
    items: torch.Tensor  # [E, b, N+1, D] item content vectors (context items, then query)
    offsets: torch.Tensor  # [E, b] long position offsets (0 unless positions="offset")

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(**{k: v.to(device) for k, v in self.__dict__.items()})

    def select(self, index: torch.Tensor | slice) -> "Batch":
        """Sequences `index` along the batch axis, for every model."""
        return Batch(**{k: v[:, index] for k, v in self.__dict__.items()})


def zipf_log_weights(n: int, exponent: float) -> torch.Tensor:
    """log f(k) for k = 1..n with f(k) ~ k^-exponent (unnormalised), float64."""
    return -exponent * torch.log(torch.arange(1, n + 1, dtype=torch.float64))


def make_world(cfg: TaskConfig, generator: torch.Generator) -> World:
    """Draw class means, task maps and label vectors (on the CPU, for any device)."""
    g = generator
    means = torch.randn(cfg.K, cfg.D, generator=g) / math.sqrt(cfg.D)
    if cfg.task_maps == "random":
        maps = torch.randint(cfg.L, (cfg.T, cfg.K), generator=g)
    elif cfg.task_maps == "shift":
        base = torch.randint(cfg.L, (cfg.K,), generator=g)
        maps = (base[None, :] + torch.arange(cfg.T)[:, None]) % cfg.L
    else:  # "disjoint": permutations that share no (class, label) pair (SCC theory, §5)
        base = torch.randperm(cfg.K, generator=g)
        relabel = torch.randperm(cfg.L, generator=g)
        maps = relabel[(base[None, :] + torch.arange(cfg.T)[:, None]) % cfg.L]
    label_vectors = torch.randn(cfg.L, cfg.D, generator=g) / math.sqrt(cfg.D)
    return World(means=means, maps=maps, label_vectors=label_vectors)


def check_shared(cfgs: list[TaskConfig]) -> None:
    for name in SHARED_TASK_FIELDS:
        values = {getattr(c, name) for c in cfgs}
        if len(values) > 1:
            raise ConfigError(name, sorted(values, key=str), "one value for all models trained together")


class Sampler:
    """Samples training-distribution batches for E models, each with its own stream.

    Args:
        cfgs: one `TaskConfig` per model; they may differ in K, T, eps, p_B, B, alpha,
            beta, task maps and query mode, and must agree on `SHARED_TASK_FIELDS`.
        worlds: one `World` per model (see `make_world`).
        device: where batches are built.
    """

    def __init__(self, cfgs: list[TaskConfig], worlds: list[World], device: torch.device | str = "cpu"):
        check_shared(cfgs)
        self.cfgs, self.device = cfgs, torch.device(device)
        c0 = cfgs[0]
        self.E, self.N, self.D, self.P, self.L = len(cfgs), c0.N, c0.D, c0.P, c0.L
        self.Kmax = max(c.K for c in cfgs)
        self.Tmax = max(c.T for c in cfgs)
        dev, E = self.device, self.E
        self.means = torch.zeros(E, self.Kmax, self.D)
        self.maps = torch.zeros(E, self.Tmax, self.Kmax, dtype=torch.long)
        self.class_logw = torch.full((E, self.Kmax), -math.inf, dtype=torch.float64)
        self.task_cdf = torch.ones(E, self.Tmax, dtype=torch.float64)
        self.class_cdf = torch.ones(E, self.Kmax, dtype=torch.float64)
        for e, (c, w) in enumerate(zip(cfgs, worlds)):
            self.means[e, : c.K] = w.means
            self.maps[e, : c.T, : c.K] = w.maps
            self.class_logw[e, : c.K] = zipf_log_weights(c.K, c.alpha)
            tp = torch.softmax(zipf_log_weights(c.T, c.beta), 0)
            self.task_cdf[e, : c.T] = tp.cumsum(0)
            self.class_cdf[e, : c.K] = torch.softmax(self.class_logw[e, : c.K], 0).cumsum(0)
        self.label_vectors = torch.stack([w.label_vectors for w in worlds])
        for name in ("means", "maps", "class_logw", "task_cdf", "class_cdf", "label_vectors"):
            setattr(self, name, getattr(self, name).to(dev))
        self.eps = torch.tensor([c.eps for c in cfgs], device=dev)
        self.p_B = torch.tensor([c.p_B for c in cfgs], device=dev, dtype=torch.float64)
        self.B = torch.tensor([c.B for c in cfgs], device=dev)
        self.any_query = torch.tensor([c.query == "any" for c in cfgs], device=dev)
        self.zipf_classes = torch.tensor([c.alpha > 0 for c in cfgs], device=dev)
        self.labels_fixed = c0.labels == "fixed"
        self.offset_positions = c0.positions == "offset"
        # a member's uniforms past its own K are 1 (what `draws` leaves there)
        width = torch.arange(4 + self.N + self.Kmax, device=dev)
        self.u_pad = width[None, None, :] >= 4 + self.N + torch.tensor([c.K for c in cfgs], device=dev)[:, None, None]

    # -- random draws: one model, one generator, a fixed order -------------------------
    def draws(self, b: int, generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """The random numbers of one batch (uniforms `u`, normals `z`), each model from its own generator."""
        N, Kmax = self.N, self.Kmax
        u = torch.ones(self.E, b, 4 + N + Kmax, device=self.device, dtype=torch.float64)
        z = torch.empty(self.E, b, N + 1, self.D, device=self.device)
        for e, (c, g) in enumerate(zip(self.cfgs, generators)):
            u[e, :, : 4 + N + c.K] = torch.rand(b, 4 + N + c.K, generator=g, device=self.device, dtype=torch.float64)
            z[e] = torch.randn(b, N + 1, self.D, generator=g, device=self.device)
        return u, z

    def counter_draws(self, keys: torch.Tensor, step: torch.Tensor | int, b: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The random numbers of the batch of training step `step`, counter-based: the same
        layout as `draws`, each number a hash of (the member's key, step, slot)
        (`icmeta.core.counter`). Pure tensor work: it can run inside a compiled step.

        Args:
            keys: [E, 2] int64, each member's stream seed (`counter.member_keys`).
            step: the training step (a python int, or a 0-d int64 tensor in a compiled step).
            b: sequences per member.
        """
        N, D = self.N, self.D
        h = counter.step_hash(keys, step)
        u = counter.uniform(counter.bits(h, 0, b, 4 + N + self.Kmax))
        u = torch.where(self.u_pad, 1.0, u)
        n = (N + 1) * D
        z = counter.normal(counter.bits(h, 1, b, n), counter.bits(h, 2, b, n)).reshape(self.E, b, N + 1, D)
        return u, z

    def sample(self, b: int, generators: list[torch.Generator]) -> Batch:
        """A fresh batch of `b` sequences per model, drawn from `generators` (one per model)."""
        u, z = self.draws(b, generators)
        return self.build(u, z)

    def build(self, u: torch.Tensor, z: torch.Tensor) -> Batch:
        """The batch from the random draws `u` [E, b, 4+N+Kmax] (float64) and `z` [E, b, N+1, D]
        (`draws`): pure tensor work, no randomness (the trainer compiles it)."""
        E, N = self.E, self.N
        u_task, u_burst, u_query, u_offset = u[..., 0], u[..., 1], u[..., 2], u[..., 3]
        u_shuffle, u_class = u[..., 4 : 4 + N], u[..., 4 + N :]
        b = u.shape[1]
        tasks = torch.searchsorted(self.task_cdf, u_task.contiguous(), right=True).clamp_max(self.Tmax - 1)
        # Gumbel top-k = successive sampling without replacement with Zipf weights. With Zipf
        # classes (alpha > 0) the first draw is the query, so that its marginal is exactly
        # Zipf (A7), and the next N the distinct context classes outside it. With uniform
        # classes both orders give the same distribution; the query is the last draw there,
        # which keeps the data streams of runs made before this distinction.
        gumbel = -torch.log(-torch.log(u_class.clamp(1e-300, 1 - 1e-16)))
        order = torch.topk(self.class_logw[:, None, :] + gumbel, N + 1, dim=-1).indices
        query_first = self.zipf_classes[:, None, None]
        context = torch.where(query_first, order[..., 1:], order[..., :N])
        query = torch.where(query_first[..., 0], order[..., 0], order[..., N])
        any_query = torch.searchsorted(self.class_cdf, u_query.contiguous(), right=True).clamp_max(self.Kmax - 1)
        query = torch.where(self.any_query[:, None], any_query, query)
        # Burstiness: with probability p_B, B context slots hold the query class.
        bursty = u_burst < self.p_B[:, None]
        # the copies replace the last draws (with Zipf classes the first draws are the
        # frequent ones, so replacing them would bias the rest of the context to rare classes)
        slot = torch.arange(N, device=self.device)[None, None, :] >= N - self.B[:, None, None]
        context = torch.where(bursty[..., None] & slot, query[..., None], context)
        # Shuffle the context order (successive sampling puts frequent classes first).
        context = torch.gather(context, -1, torch.argsort(u_shuffle, dim=-1))
        classes = torch.cat([context, query[..., None]], dim=-1)
        flat_maps = self.maps.reshape(E, -1)
        lab = torch.gather(flat_maps, 1, (tasks[..., None] * self.Kmax + classes).reshape(E, -1)).reshape(E, b, N + 1)
        items = self.items(classes, z)
        span = self.P - (2 * N + 1) + 1
        offsets = (u_offset * span).long().clamp_max(span - 1) if self.offset_positions else torch.zeros_like(tasks)
        labels = lab[..., :N]
        return Batch(
            tokens=self.assemble(items, labels, offsets),
            labels=labels,
            target=lab[..., N],
            classes=classes,
            tasks=tasks,
            items=items,
            offsets=offsets,
        )

    def items(self, classes: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Item vectors [E, b, n, D] of the classes [E, b, n] with the normal draws `z` [E, b, n, D]:
        (mu_k + eps z / sqrt(D)) / sqrt(1 + eps^2), each model with its own class means and eps."""
        E, b, n = classes.shape
        idx = classes.reshape(E, -1, 1).expand(-1, -1, self.D)
        mu = torch.gather(self.means, 1, idx).reshape(E, b, n, self.D)
        eps = self.eps[:, None, None, None]
        return (mu + eps * z / math.sqrt(self.D)) / torch.sqrt(1 + eps**2)

    def assemble(self, items: torch.Tensor, labels: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """Token vectors [E, b, 2N+1, D+P] from items, context label ids and offsets."""
        E, b = labels.shape[:2]
        N, D, S = self.N, self.D, 2 * self.N + 1
        tokens = torch.zeros(E, b, S, D + self.P, device=items.device)
        tokens[:, :, 0::2, :D] = items
        if self.labels_fixed:
            lv = torch.gather(self.label_vectors, 1, labels.reshape(E, -1, 1).expand(-1, -1, D))
            tokens[:, :, 1::2, :D] = lv.reshape(E, b, N, D)
        if self.offset_positions:
            pos = offsets[..., None] + torch.arange(S, device=items.device)
            tokens.scatter_(-1, (D + pos)[..., None], 1.0)
        else:
            tokens[:, :, 0::2, D : D + N + 1] = torch.eye(N + 1, device=items.device)
        return tokens

    def random_labels(self, batch: Batch, generators: list[torch.Generator], tries: int = RLA_TRIES) -> tuple[Batch, torch.Tensor]:
        """The same sequences with the context labels re-dealt so that no item keeps its label.

        For random-label accuracy (RLA, Fig. 6): the label multiset of each sequence is kept
        and the target is unchanged, but the (item, label) pairing is broken. A uniform
        permutation would leave about 5 % of sequences unchanged and 27 % of labels in place
        (N = 4); here each sequence gets a uniformly random permutation among those under which
        **every position receives a different label value** (a derangement of the pairing),
        drawn by rejection from `tries` uniform permutations. Where no such permutation
        exists (one label value fills more than half the context) or none was drawn, the
        permutation that moves the most labels is used.

        One generator per model, so that a model's permutations do not depend on the others
        trained with it.

        Returns:
            the batch, and a [E, b] bool tensor: True where the pairing could not be fully
            broken (some position kept its label value).
        """
        E, b, N = batch.labels.shape
        u = torch.stack([torch.rand(b, tries, N, generator=g, device=self.device) for g in generators])
        perm = torch.argsort(u, dim=-1)  # [E, b, tries, N]
        dealt = torch.gather(batch.labels[:, :, None, :].expand(-1, -1, tries, -1), -1, perm)
        moved = (dealt != batch.labels[:, :, None, :]).sum(-1)  # [E, b, tries]
        # the first try that moves every label, else the first of those that move the most
        best = torch.argmax(moved, dim=-1)
        labels = torch.gather(dealt, 2, best[..., None, None].expand(-1, -1, 1, N))[:, :, 0]
        unbroken = (labels == batch.labels).any(-1)
        return replace(batch, labels=labels, tokens=self.assemble(batch.items, labels, batch.offsets)), unbroken


def example_sequence(config, seed: int = 0) -> dict:
    """One sequence of a config's task, for showing: the data draw of its data seed, the sequence
    drawn with generator seed `seed`. Returns ``classes`` (context classes, then the query's),
    ``labels`` (the context's label ids), ``target`` (the query's label id) and ``task`` (1-based)."""
    world = make_world(config.task, torch.Generator().manual_seed(config.seeds()["data"]))
    batch = Sampler([config.task], [world]).sample(1, [torch.Generator().manual_seed(seed)])
    return {"classes": batch.classes[0, 0].tolist(), "labels": batch.labels[0, 0].tolist(),
            "target": int(batch.target[0, 0]), "task": int(batch.tasks[0, 0]) + 1}
