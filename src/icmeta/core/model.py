"""The paper's transformers (the paper's Fig. 1; decisions A3, A4 of the reproduction-notes chapter), with a leading axis of E models.

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

from ..config import ModelConfig, TaskConfig
from .task import Batch, Role, roles


def hook_name(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_pattern"


def rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of each model's table: [E, n, w] from table [E, R, w] and index [E, ...] (n entries).

    One `index_select` over the flattened tables, whose gradient is a row-wise `index_add`
    (a `gather` along dim 1 would scatter element by element).
    """
    E, R, w = table.shape
    flat = (index.reshape(E, -1) + R * torch.arange(E, device=index.device)[:, None]).reshape(-1)
    return table.reshape(E * R, w).index_select(0, flat).reshape(E, -1, w)


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
            lab = rows(self.label_embed, batch.labels)
            u = u.clone()
            u[:, :, 1 : 2 * N : 2] += lab.reshape(E, b, N, self.d)
        return u

    def _layer_norm(self, x: torch.Tensor, block: nn.Module, i: int) -> torch.Tensor:
        gain, bias = block.ln[:, 2 * i][:, None, None, :], block.ln[:, 2 * i + 1][:, None, None, :]
        return F.layer_norm(x, (self.d,)) * gain + bias

    def sparse_first_layer(self) -> bool:
        """Whether the first layer's Q|K|V is built from the token's parts (see `_first_qkv`):
        attention-only blocks, where nothing (no LayerNorm) stands between tokens and W_QKV."""
        return self.cfg.arch != "standard"

    def _first_qkv(self, batch: Batch, W: torch.Tensor) -> torch.Tensor:
        """Q|K|V [E, b, S, 3d] of the input tokens without multiplying their zeros.

        A token is its content (an item, or a fixed label vector; D dims) plus a one-hot
        position (P dims) plus, at label slots, a learned label embedding (d dims), so

            token @ W = content @ W[:D] + W[D + position] + (label_embed @ W)[label]

        The same numbers as ``tokens @ W`` up to float rounding, with about a third of the
        multiply-adds (the one-hot and zero dims are never multiplied), and the learned label
        embeddings multiplied once per step (L rows) instead of once per slot.
        """
        E, b, N = batch.labels.shape
        D, S = self.task.D, 2 * N + 1
        w3 = W.shape[-1]
        items = torch.bmm(batch.items.reshape(E, -1, D), W[:, :D]).reshape(E, b, N + 1, w3)
        if self.label_embed is not None:  # learned: a table of L rows, gathered
            table = torch.bmm(self.label_embed, W)  # [E, L, 3d]
            labels = rows(table, batch.labels).reshape(E, b, N, w3)
        else:  # fixed label vectors are data, in the tokens' content dims
            labels = torch.bmm(batch.tokens[:, :, 1 : 2 * N : 2, :D].reshape(E, -1, D), W[:, :D]).reshape(E, b, N, w3)
        W_pos = W[:, D:]  # [E, P, 3d]: the row a one-hot position selects
        if self.task.positions == "offset":  # every slot s at position offset + s
            pos = batch.offsets[..., None] + torch.arange(S, device=W.device)
            at_pos = rows(W_pos, pos).reshape(E, b, S, w3)
        else:  # item k (the query is item N) at position k; labels carry none
            items = items + W_pos[:, None, : N + 1]
        qkv = torch.cat([torch.stack([items[:, :, :N], labels], 3).reshape(E, b, 2 * N, w3), items[:, :, N:]], 2)
        return qkv + at_pos if self.task.positions == "offset" else qkv

    def forward(
        self, batch: Batch, query_only: bool = False, return_patterns: bool = False, all_items: bool = False
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits [E, b, L] at the query, and the attention patterns if asked.

        Args:
            batch: a `Batch` for the same E models.
            query_only: compute the last layer's queries and output at the query position
                only. Training uses it: nothing else reaches the loss, so the loss and
                gradients are the same (keys and values are still computed everywhere).
            return_patterns: return {hook_name(l): [E, b, head, S, S]}; the last layer's
                pattern has one query row when `query_only`.
            all_items: logits [E, b, N+1, L] at every item position instead (item k predicts
                label k from the tokens up to it; the last is the query): the "all labels"
                objective. Not with `query_only`.
        """
        if all_items and query_only:
            raise ValueError("all_items needs every position: not with query_only")
        u = self.embed(batch)
        E, b, S, d = u.shape
        H, dh = self.heads, d // self.heads
        standard = self.cfg.arch == "standard"
        cache: dict[str, torch.Tensor] = {}
        for layer, blk in enumerate(self.blocks):
            last = query_only and layer == self.cfg.layers - 1
            x = self._layer_norm(u, blk, 0) if standard else u
            bias = self.attn_bias[layer]
            if layer == 0 and self.sparse_first_layer():
                q, k, v = self._first_qkv(batch, blk.W_QKV).reshape(E, b, S, 3, H, dh).permute(3, 0, 1, 4, 2, 5)
                if last:
                    q = q[:, :, :, -1:]
            elif last:  # queries at the query position only
                q = torch.bmm(x[:, :, -1], blk.W_QKV[:, :, :d]).reshape(E, b, 1, H, dh).permute(0, 1, 3, 2, 4)
                kv = torch.bmm(x.reshape(E, b * S, d), blk.W_QKV[:, :, d:]).reshape(E, b, S, 2, H, dh)
                k, v = kv.permute(3, 0, 1, 4, 2, 5)
            else:
                qkv = torch.bmm(x.reshape(E, b * S, d), blk.W_QKV).reshape(E, b, S, 3, H, dh)
                q, k, v = qkv.permute(3, 0, 1, 4, 2, 5)  # each [E, b, H, S, dh]
            if last:
                bias = bias[-1:]
            scores = q @ k.transpose(-1, -2)
            if self.cfg.attn_scale == "sqrt":
                scores = scores / math.sqrt(dh)
            pattern = torch.softmax(scores + bias, dim=-1)  # [E, b, H, Sq, S]
            if return_patterns:
                cache[hook_name(layer)] = pattern
            z = (pattern @ v).permute(0, 1, 3, 2, 4).reshape(E, b, -1, d)
            out = z if blk.W_O is None else torch.bmm(z.reshape(E, -1, d), blk.W_O).reshape(z.shape)
            u = (u[:, :, -1:] if last else u) + out
            if standard:
                h = self._layer_norm(u, blk, 1)
                h = F.relu(torch.baddbmm(blk.b_in[:, None], h.reshape(E, -1, d), blk.W_in))
                h = torch.baddbmm(blk.b_out[:, None], h, blk.W_out)
                u = u + h.reshape(u.shape)
        h = u[:, :, 0::2].reshape(E, -1, d) if all_items else u[:, :, -1]  # [E, b(N+1) or b, d]
        n = len(self.cls_W)
        for i, (W, bias) in enumerate(zip(self.cls_W, self.cls_b)):
            h = torch.baddbmm(bias[:, None, :], h, W)
            if i < n - 1:
                h = F.relu(h)
        return (h.reshape(E, b, S // 2 + 1, -1) if all_items else h), cache


def flops_per_step(task: TaskConfig, model: ModelConfig, batch_size: int) -> float:
    """Matmul FLOPs of one training step of one model, as `torch.utils.flop_counter` counts them.

    The forward pass of training: the first attention-only layer's Q|K|V from the tokens'
    content dims and a table of the L learned label embeddings (`Transformers._first_qkv`),
    the last layer's queries at the query position only. The backward pass costs twice each
    forward matmul (gradients of both operands), except where one operand is data (items,
    fixed label vectors): then only the weight's gradient. Elementwise work is ignored.
    """
    S, d, L, D, N = task.seq_len, task.d_model, task.L, task.D, task.N
    per_seq = per_step = 0.0  # forward FLOPs per sequence, and per step (independent of the batch)
    backward = 0.0  # per sequence
    for layer in range(model.layers):
        last = layer == model.layers - 1
        sq = 1 if last else S
        if layer == 0 and model.arch != "standard":
            items = 2 * (N + 1) * D * 3 * d
            per_seq += items
            backward += items  # the weight's gradient only
            if task.labels == "learned":
                per_step += 2 * L * d * 3 * d  # label_embed @ W_QKV, both gradients in the backward
            else:
                per_seq += 2 * N * D * 3 * d
                backward += 2 * N * D * 3 * d
            f = 0.0
        elif last:
            f = 2 * S * d * 2 * d + 2 * d * d  # keys and values everywhere, the query's query
        else:
            f = 2 * S * d * 3 * d
        f += 2 * sq * S * d * 2  # scores and pattern @ V
        if model.w_o:
            f += 2 * sq * d * d
        if model.arch == "standard":
            f += 2 * sq * d * 4 * d * 2
        per_seq += f
        backward += 2 * f
    widths = [d] * (model.classifier_hidden + 1) + [L]
    cls = sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))
    per_seq += cls
    backward += 2 * cls
    return (per_seq + backward) * batch_size + 3 * per_step
