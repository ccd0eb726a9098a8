"""Optimisers over stacked parameters: one update for E models, each with its own lr.

Every parameter has a leading members axis [E, ...]; the learning rate is a [E] tensor
broadcast over the rest, so members that differ in lr train in one loop. SGD is the paper's
optimiser (§4); Adam (betas 0.9, 0.999, eps 1e-8, bias-corrected, as `torch.optim.Adam`) is
kept for the learning-rate notes.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def sgd_update_(params: list[torch.Tensor], grads: list[torch.Tensor], lrs: list[torch.Tensor]) -> None:
    """p -= lr * g for every parameter, in place (a pure tensor function: it can be compiled)."""
    torch._foreach_sub_(params, torch._foreach_mul(grads, lrs))


def sgd_updated(params: list[torch.Tensor], grads: list[torch.Tensor], lrs: list[torch.Tensor]) -> list[torch.Tensor]:
    """p - lr * g for every parameter, as new tensors (`sgd_update_`'s arithmetic, mutating nothing)."""
    return torch._foreach_sub(params, torch._foreach_mul(grads, lrs))


class StackedOptimizer:
    """SGD or Adam for the parameters of `model` (each with a leading members axis).

    Args:
        model: the module whose parameters are updated in place from their ``.grad``.
        kind: "sgd" or "adam".
        lr: [E] learning rates, one per member.
    """

    def __init__(self, model: nn.Module, kind: str, lr: torch.Tensor, sgd_update: Callable | None = None):
        self.params = dict(model.named_parameters())
        self.kind, self.lr = kind, lr
        # each parameter's lr broadcast to its shape, made once (views: no copies)
        self.lrs = [lr.reshape(-1, *([1] * (p.dim() - 1))).expand_as(p) for p in self.params.values()]
        self.sgd_update = sgd_update or sgd_update_
        self.t = 0  # updates made
        self.m: dict[str, torch.Tensor] = {}
        self.v: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter from its gradient, then clear the gradient."""
        self.t += 1
        params = list(self.params.values())
        grads = [p.grad for p in params]
        if self.kind == "sgd":
            self.sgd_update(params, grads, self.lrs)
        else:
            for name, p, g, lr in zip(self.params, params, grads, self.lrs):
                m = self.m.setdefault(name, torch.zeros_like(p))
                v = self.v.setdefault(name, torch.zeros_like(p))
                m.mul_(BETA1).add_(g, alpha=1 - BETA1)
                v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                mhat = m / (1 - BETA1**self.t)
                vhat = v / (1 - BETA2**self.t)
                p.sub_(lr * mhat / (vhat.sqrt() + ADAM_EPS))
        for p in params:
            p.grad = None

    def state_dict(self) -> dict:
        return {"t": self.t, "m": dict(self.m), "v": dict(self.v)}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.t = int(state["t"])
        self.m = {k: v.to(device) for k, v in state["m"].items()}
        self.v = {k: v.to(device) for k, v in state["v"].items()}
