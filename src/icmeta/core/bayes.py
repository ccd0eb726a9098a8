"""Bayes-ideal accuracy of the three strategies the phases stand for, per data draw.

For one model's data draw (class means aside: items are treated as identifiable classes),
the best accuracy reachable by a predictor that sees
    * ``ignore``: the query's class only, the context ignored (NCC, phase 1);
    * ``labels``: the context's label multiset plus the query class, pairs unknown (SCC);
    * ``pairs``: the full (class, label) pairs plus the query class (FCC, phase 3).
These are the ceilings the plateaus should be held against. They are estimated by Monte
Carlo on sequences from the run's own sampler (standard error reported); for each sampled
sequence the posterior over tasks is exact when classes are uniform (alpha = 0) and p_B = 0
(with the query excluded from the context, or drawn independently of it). Otherwise the
``labels`` likelihood uses the uniform-class formula and is an approximation (still a valid
strategy, so a lower bound on the ideal). Ties are broken uniformly at random (expected accuracy).
"""

from __future__ import annotations

import math

import torch

from ..config import TaskConfig
from .task import Sampler, World, zipf_log_weights

STRATEGIES = ("ignore", "labels", "pairs")


def _log_binom(a: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    out = torch.lgamma(a + 1) - torch.lgamma(m + 1) - torch.lgamma(a - m + 1)
    return torch.where(a >= m, out, torch.full_like(out, -math.inf))


def _accuracy(log_post: torch.Tensor, cand: torch.Tensor, target: torch.Tensor, L: int) -> torch.Tensor:
    """Expected accuracy per sequence of the MAP label under a posterior over tasks.

    log_post: [T, n] unnormalised; cand: [T, n] label of the query under each task.
    """
    # a sequence that no task explains under the approximate likelihood (possible when the
    # query's class is copied into the context, p_B > 0) falls back to a uniform posterior
    impossible = torch.isinf(log_post).all(0, keepdim=True)
    log_post = torch.where(impossible, torch.zeros_like(log_post), log_post)
    post = torch.softmax(log_post, dim=0)
    score = torch.zeros(cand.shape[1], L, dtype=post.dtype).scatter_add_(1, cand.T, post.T)
    best = score.max(dim=1, keepdim=True).values
    winners = score >= best - 1e-9
    return winners.gather(1, target[:, None]).squeeze(1).double() / winners.sum(1).double()


def ideal_accuracies(cfg: TaskConfig, world: World, n: int = 100_000, seed: int = 0, chunk: int = 20_000) -> dict:
    """Monte-Carlo Bayes-ideal accuracy of each strategy for one data draw.

    Returns:
        {"ignore": acc, "labels": acc, "pairs": acc, "stderr": {...}, "n": n, "exact_likelihood": bool}
    """
    sampler = Sampler([cfg], [world])
    g = torch.Generator().manual_seed(seed)
    maps = world.maps  # [T, K]
    T, L = cfg.T, cfg.L
    log_prior = torch.log_softmax(zipf_log_weights(T, cfg.beta), 0)[:, None]
    counts = torch.zeros(T, L, dtype=torch.float64).scatter_add_(1, maps, torch.ones_like(maps, dtype=torch.float64))
    results = {s: [] for s in STRATEGIES}
    done = 0
    while done < n:
        b = min(chunk, n - done)
        batch = sampler.sample(b, [g])
        classes, labels, target = batch.classes[0], batch.labels[0], batch.target[0]
        N = labels.shape[1]
        ctx, q = classes[:, :N], classes[:, N]
        cand = maps[:, q]  # [T, b]
        prior = log_prior.expand(T, b)
        results["ignore"].append(_accuracy(prior, cand, target, L))
        mult = (labels[:, :, None] == labels[:, None, :]).sum(-1).double()  # [b, N]
        # classes left for the context: all K when the query is drawn independently ("any"),
        # all but the query's class when it is excluded
        excluded = 1.0 if cfg.query == "excluded" else 0.0
        avail = counts[:, labels] - excluded * (cand[:, :, None] == labels[None]).double()  # [T, b, N]
        ll = (_log_binom(avail, mult[None]) / mult[None]).sum(-1)
        results["labels"].append(_accuracy(prior + ll, cand, target, L))
        consistent = (maps[:, ctx] == labels[None]).all(-1)  # [T, b]
        none = ~consistent.any(0, keepdim=True)
        lp = torch.where(consistent | none, prior, torch.full_like(prior, -math.inf))
        results["pairs"].append(_accuracy(lp, cand, target, L))
        done += b
    out: dict = {"n": n, "stderr": {}}
    for s in STRATEGIES:
        acc = torch.cat(results[s])
        out[s] = float(acc.mean())
        out["stderr"][s] = float(acc.std() / math.sqrt(len(acc)))
    out["exact_likelihood"] = cfg.alpha == 0 and cfg.p_B == 0
    return out


def scc_theory_accuracy(K: int, N: int) -> float:
    """The paper's SCC theory (Fig. 5): accuracy of the SCC-only model in the SCC-theory setting (T = 2, K = L).

    The context reveals the excluded candidate with probability p = 1 - C(K-2, N)/C(K-1, N);
    otherwise the model guesses between two candidates: accuracy = p + (1 - p)/2.
    """
    p = 1 - math.comb(K - 2, N) / math.comb(K - 1, N)
    return p + (1 - p) / 2
