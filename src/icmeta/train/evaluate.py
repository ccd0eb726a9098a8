"""Measurement of E models on fixed evaluation sets, without side effects.

`Evaluator` holds the evaluation batch and its random-label twin (both drawn once from the
evaluation seed) and returns, for the models as they are now: accuracy, loss, per-sequence
correctness, and with ``full=True`` random-label accuracy (RLA), the circuit metrics of every
layer and head (Table 2), and the attention patterns. It changes nothing; what to keep is
the loop's business (`icmeta.train.log`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..core import metrics as M
from ..core.model import Transformers, hook_name
from ..core.task import Batch

CHUNK = 128  # sequences per evaluation forward pass: a chunk's activations stay in the CPU's caches
CIRCUIT_METRICS = ("bigram", "label_attention", "chunk_example")


@dataclass
class Evaluation:
    """What one evaluation measured; tensors have a leading members axis E."""

    acc: torch.Tensor  # [E]
    loss: torch.Tensor  # [E]
    correct: torch.Tensor  # [E, b] 1.0 where the query was answered right
    rla: torch.Tensor | None = None  # [E]
    layers: list[dict[str, torch.Tensor]] = field(default_factory=list)  # per layer: name -> [E, H] (pairs [E, H, N])
    patterns: list[torch.Tensor] = field(default_factory=list)  # per layer: [E, b, H, S, S]
    label_acc: torch.Tensor | None = None  # [E, N] accuracy at each context label (all-labels objective)


class Evaluator:
    """Evaluate models on `batch` (and RLA on `rla_batch`, the same sequences with labels re-dealt).

    The batches are cut into chunks of `CHUNK` sequences once, here, so that every forward
    pass sees the same shapes (a compiled forward compiles once).
    """

    def __init__(self, batch: Batch, rla_batch: Batch, N: int, layers: int, all_labels: bool = False):
        self.batch, self.N, self.layers, self.all_labels = batch, N, layers, all_labels
        size = batch.target.shape[1]
        self.chunks = [batch.select(slice(i, i + CHUNK)) for i in range(0, size, CHUNK)]
        self.rla_chunks = [rla_batch.select(slice(i, i + CHUNK)) for i in range(0, size, CHUNK)]

    @torch.no_grad()
    def __call__(self, model: Transformers | Callable, full: bool) -> Evaluation:
        """Measure `model` (a `Transformers`, or a function with its call signature, e.g.
        its compiled forward). With the all-labels objective, a full evaluation also measures
        the accuracy at every context label (predicted at its item)."""
        logits, caches = [], []
        every = full and self.all_labels
        for chunk in self.chunks:
            if every:
                lg, cache = model(chunk, return_patterns=True, all_items=True)
            else:
                lg, cache = model(chunk, query_only=not full, return_patterns=full)
            logits.append(lg)
            caches.append(cache)
        logits = torch.cat(logits, 1)
        label_acc = None
        if every:
            label_acc = (logits[:, :, :-1].argmax(-1) == self.batch.labels).double().mean(1)  # [E, N]
            logits = logits[:, :, -1]
        target = self.batch.target
        E = target.shape[0]
        correct = (logits.argmax(-1) == target).double()
        loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), reduction="none").reshape(E, -1).mean(1)
        out = Evaluation(acc=correct.mean(1), loss=loss, correct=correct, label_acc=label_acc)
        if not full:
            return out
        rla = []
        for chunk in self.rla_chunks:
            lg, _ = model(chunk, query_only=True, return_patterns=False)
            rla.append(lg.argmax(-1) == chunk.target)
        out.rla = torch.cat(rla, 1).double().mean(1)
        out.patterns = [torch.cat([c[hook_name(l)] for c in caches], 1) for l in range(self.layers)]
        for p in out.patterns:
            out.layers.append({
                "bigram": M.bigram(p, self.N),
                "label_attention": M.label_attention(p, self.N),
                "chunk_example": M.chunk_example(p, self.N),
                "chunk_pairs": M.chunk_example_pairs(p, self.N),
            })
        return out
