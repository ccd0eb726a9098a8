"""The paper's transformers (PAPER.md §3, §7 A3, A4), with a leading axis of E models.

Every weight has shape [E, ...]: E independent models, each initialised from its own
generator, trained together in one loop (one batched matmul per weight). Attention
patterns are returned under TransformerLens hook names, ``blocks.{l}.attn.hook_pattern``
with shape [E, batch, head, query_pos, key_pos] (l counts from 0; the paper's "layer 1"
is ``blocks.0``). They are never kept in module state or checkpoints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig, TaskConfig
from .task import Batch, Role, roles


def hook_name(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_pattern"


def phase_masks(mask: str, N: int, layers: int) -> torch.Tensor | None:
    """Allowed attention [layers, S, S] (bool) for one phase's circuit (§5, A3), or None.

    ncc: every token attends only to itself in both layers.
    scc: layer 1 query -> labels; layer 2 self only.
    fcc: layer 1 each label -> its own item; layer 2 query -> labels.
    Tokens without a rule attend to themselves; layers beyond the second attend to self.
    """
    if mask == "none":
        return None
    S = 2 * N + 1
    r = roles(N)
    label_cols = torch.tensor([x == Role.LABEL for x in r])
    allowed = torch.eye(S, dtype=torch.bool).repeat(layers, 1, 1)
    q = S - 1
    if mask == "scc":
        allowed[0, q] = label_cols
    elif mask == "fcc":
        for k in range(N):
            allowed[0, 2 * k + 1] = False
            allowed[0, 2 * k + 1, 2 * k] = True
        allowed[1, q] = label_cols
    return allowed


class Transformers(nn.Module):
    """E attention-only (or standard pre-LN) transformers with an MLP classifier at the query.

    Args:
        task: the task shapes (N, L, P+D width, label encoding).
        model: layers, heads, W_O, classifier depth, architecture, phase mask.
        generators: one CPU generator per model for its initialisation.
    """

    def __init__(self, task: TaskConfig, model: ModelConfig, generators: list[torch.Generator]):
        super().__init__()
        self.task, self.cfg = task, model
        E, d, nl = len(generators), task.d_model, model.layers
        self.E, self.d, self.heads, self.N = E, d, model.heads, task.N
        gens = generators

        def uniform(*shape: int, fan_in: int) -> nn.Parameter:
            # nn.Linear's default initialisation, one model at a time from its own generator.
            bound = 1 / math.sqrt(fan_in)
            return nn.Parameter(torch.stack([(torch.rand(*shape, generator=g) * 2 - 1) * bound for g in gens]))

        self.blocks = nn.ModuleList()
        for _ in range(nl):
            block = nn.Module()
            block.W_QKV = uniform(d, 3 * d, fan_in=d)  # [E, d, Q | K | V], heads side by side
            block.W_O = uniform(d, d, fan_in=d) if model.w_o else None
            if model.arch == "standard":  # pre-LayerNorm block with a 4x ReLU MLP
                block.ln = nn.Parameter(torch.stack([torch.stack([torch.ones(d), torch.zeros(d)] * 2) for _ in gens]))
                block.W_in = uniform(d, 4 * d, fan_in=d)
                block.b_in = uniform(4 * d, fan_in=d)
                block.W_out = uniform(4 * d, d, fan_in=4 * d)
                block.b_out = uniform(d, fan_in=4 * d)
            self.blocks.append(block)
        if task.labels == "learned":
            self.label_embed = nn.Parameter(torch.stack([torch.randn(task.L, d, generator=g) * (model.label_norm / math.sqrt(d)) for g in gens]))
        else:
            self.label_embed = None
        widths = [d] * (model.classifier_hidden + 1) + [task.L]
        self.cls_W = nn.ParameterList([uniform(a, b, fan_in=a) for a, b in zip(widths[:-1], widths[1:])])
        self.cls_b = nn.ParameterList([uniform(b, fan_in=a) for a, b in zip(widths[:-1], widths[1:])])
        masks = phase_masks(model.mask, task.N, nl)
        S = task.seq_len
        causal = torch.ones(S, S, dtype=torch.bool).tril()
        allowed = causal.repeat(nl, 1, 1) if masks is None else masks & causal
        bias = torch.zeros(nl, S, S).masked_fill(~allowed, -math.inf)
        self.register_buffer("attn_bias", bias, persistent=False)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Residual stream input [E, b, S, d]: tokens plus learned label embeddings."""
        u = batch.tokens
        if self.label_embed is not None:
            E, b, N = batch.labels.shape
            lab = torch.gather(self.label_embed, 1, batch.labels.reshape(E, -1, 1).expand(-1, -1, self.d))
            u = u.clone()
            u[:, :, 1 : 2 * N : 2] += lab.reshape(E, b, N, self.d)
        return u

    def _layer_norm(self, x: torch.Tensor, block: nn.Module, i: int) -> torch.Tensor:
        gain, bias = block.ln[:, 2 * i][:, None, None, :], block.ln[:, 2 * i + 1][:, None, None, :]
        return F.layer_norm(x, (self.d,)) * gain + bias

    def forward(
        self, batch: Batch, query_only: bool = False, return_patterns: bool = False
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits [E, b, L] at the query, and the attention patterns if asked.

        Args:
            batch: a `Batch` for the same E models.
            query_only: compute the last layer at the query position only. Training uses
                it: nothing else reaches the loss, so the loss and gradients are identical.
            return_patterns: return {hook_name(l): [E, b, head, S, S]}; the last layer's
                pattern has one query row when `query_only`.
        """
        u = self.embed(batch)
        E, b, S, d = u.shape
        H, dh = self.heads, d // self.heads
        standard = self.cfg.arch == "standard"
        cache: dict[str, torch.Tensor] = {}
        for layer, blk in enumerate(self.blocks):
            last = query_only and layer == self.cfg.layers - 1
            x = self._layer_norm(u, blk, 0) if standard else u
            qkv = torch.bmm(x.reshape(E, b * S, d), blk.W_QKV).reshape(E, b, S, 3, H, dh)
            q, k, v = (t.transpose(2, 3) for t in qkv.unbind(3))  # [E, b, H, S, dh]
            bias = self.attn_bias[layer]
            if last:
                q, bias = q[:, :, :, -1:], bias[-1:]
            scores = q @ k.transpose(-1, -2)
            if self.cfg.attn_scale == "sqrt":
                scores = scores / math.sqrt(dh)
            pattern = torch.softmax(scores + bias, dim=-1)  # [E, b, H, Sq, S]
            if return_patterns:
                cache[hook_name(layer)] = pattern
            z = (pattern @ v).transpose(2, 3).reshape(E, b, -1, d)
            out = z if blk.W_O is None else torch.bmm(z.reshape(E, -1, d), blk.W_O).reshape(z.shape)
            u = (u[:, :, -1:] if last else u) + out
            if standard:
                h = self._layer_norm(u, blk, 1)
                h = F.relu(torch.baddbmm(blk.b_in[:, None], h.reshape(E, -1, d), blk.W_in))
                h = torch.baddbmm(blk.b_out[:, None], h, blk.W_out)
                u = u + h.reshape(u.shape)
        h = u[:, :, -1]  # [E, b, d]
        n = len(self.cls_W)
        for i, (W, bias) in enumerate(zip(self.cls_W, self.cls_b)):
            h = torch.baddbmm(bias[:, None, :], h, W)
            if i < n - 1:
                h = F.relu(h)
        return h, cache


def flops_per_step(task: TaskConfig, model: ModelConfig, batch_size: int) -> float:
    """Matmul FLOPs of one training step of one model, as `torch.utils.flop_counter` counts them.

    Forward with the query-only last layer used in training; the backward pass costs twice
    each forward matmul (gradients of both operands), except the first layer's QKV product
    when nothing before it needs a gradient (fixed label vectors, no LayerNorm in front):
    then only its weight gradient is computed. Elementwise work is ignored.
    """
    S, d, L = task.seq_len, task.d_model, task.L
    f = 0.0
    for layer in range(model.layers):
        last = layer == model.layers - 1
        sq = 1 if last else S
        f += 2 * S * d * 3 * d  # QKV
        f += 2 * sq * S * d * 2  # scores and pattern @ V
        if model.w_o:
            f += 2 * sq * d * d
        if model.arch == "standard":
            f += 2 * sq * d * 4 * d * 2
    widths = [d] * (model.classifier_hidden + 1) + [L]
    f += sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
    backward = 2 * f
    if task.labels == "fixed" and model.arch != "standard":  # no gradient w.r.t. the tokens
        backward -= 2 * S * d * 3 * d
    return (f + backward) * batch_size
