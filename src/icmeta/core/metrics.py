"""Circuit metrics of Table 2 (the paper's definitions), as pure functions of attention patterns.

Each function takes a pattern ``[..., batch, head, query_pos, key_pos]`` (rows attend to
columns, causal) from ``blocks.{l}.attn.hook_pattern`` and the number of context pairs N,
and returns the batch mean per head ``[..., head]``. Positions below are the paper's,
1-indexed: items at 2k-1, labels at 2k, the query at 2N+1; p_ij is row i's attention to j.
"""

from __future__ import annotations

import torch


def _check(pattern: torch.Tensor, N: int) -> None:
    S = 2 * N + 1
    if pattern.dim() < 4 or pattern.shape[-1] != S or pattern.shape[-2] != S:
        raise ValueError(f"pattern must have shape [..., batch, head, {S}, {S}] for N={N}, got {tuple(pattern.shape)}")


def bigram(pattern: torch.Tensor, N: int) -> torch.Tensor:
    """Bigram = p_{2N+1, 2N+1}: the query attends to itself (Fig. 4, NCC)."""
    _check(pattern, N)
    return pattern[..., 2 * N, 2 * N].mean(-2)


def label_attention(pattern: torch.Tensor, N: int) -> torch.Tensor:
    """Label Attention = sum_{k=1..N} p_{2N+1, 2k}: the query's attention to all labels (SCC, FCC)."""
    _check(pattern, N)
    return pattern[..., 2 * N, 1 : 2 * N : 2].sum(-1).mean(-2)


def chunk_example_pairs(pattern: torch.Tensor, N: int) -> torch.Tensor:
    """p_{2k, 2k-1} for k = 1..N, per pair: each label's attention to its own item. Returns [..., head, N].

    Under uniform causal attention the k-th pair gives 1/(2k), so the last pair starts at
    1/(2N) (0.125 at N = 4) and is the clearest sign of the FCC chunking circuit.
    """
    _check(pattern, N)
    k = torch.arange(N, device=pattern.device)
    return pattern[..., 2 * k + 1, 2 * k].mean(-3)


def chunk_example(pattern: torch.Tensor, N: int) -> torch.Tensor:
    """Chunk Example = (1/N) sum_{k=1..N} p_{2k, 2k-1} (Table 2, FCC layer 1).

    Starts near its value under uniform attention, (1/N) sum_k 1/(2k) (about 0.26 at N = 4).
    """
    return chunk_example_pairs(pattern, N).mean(-1)


def uniform_pattern(N: int) -> torch.Tensor:
    """Uniform causal attention [S, S]: the pattern of an untrained model with tiny logits."""
    S = 2 * N + 1
    tri = torch.ones(S, S).tril()
    return tri / tri.sum(-1, keepdim=True)


CIRCUIT_METRICS = {"bigram": bigram, "label_attention": label_attention, "chunk_example": chunk_example}
