"""How the training step and the evaluation passes run: compiled or op by op.

``kernels="compiled"`` (the default) hands each pure tensor function to `torch.compile` with
``fullgraph=True`` and static shapes: on the CPU, inductor fuses the elementwise work
around the matmuls into generated C++/OpenMP loops; on a GPU, ``mode="reduce-overhead"``
also replays the kernels as CUDA graphs, so a step is a few launches instead of hundreds.
Each function compiles once per shape (seconds, cached on disk by PyTorch across processes).
The arithmetic is the same as ``kernels="eager"`` up to float rounding (fused kernels sum
in another order), which is why the choice is a config field and part of a run's name.

``kernels="graph"`` (the GPU path, with the counter-based stream) compiles the whole training
step as one function, `graph_step`: the batch is drawn inside it, and the gradients come from
`torch.func.grad` traced into the same graph, so a step is one graph (one CUDA-graph replay on a
GPU) with nothing done per member on the host.

``ICMETA_COMPILE_MODE`` overrides the `torch.compile` mode (e.g. ``default`` on a GPU
where CUDA graphs misbehave); the mode used is recorded with each training segment.
"""

from __future__ import annotations

import os
import shutil
from typing import Callable

import torch
import torch.nn.functional as F

from ..config import ConfigError
from ..core.model import Transformers
from ..core.task import Batch, Sampler
from .optim import sgd_update_, sgd_updated


def compile_mode(device: torch.device) -> str:
    """The `torch.compile` mode for `device`: CUDA graphs on a GPU, plain inductor on the CPU."""
    return os.environ.get("ICMETA_COMPILE_MODE") or ("reduce-overhead" if device.type == "cuda" else "default")


# One compiled function per (function, mode, role) for the whole process: the model is an
# argument, so a new run's models reuse the compiled code of an earlier run of the same
# shapes; each new shape (members, batch, architecture) compiles once more.
_COMPILED: dict[tuple[Callable, str, str], Callable] = {}


def _configure_compiler() -> None:
    """Set before the first compile (not at import: importing this module changes nothing)."""
    torch._dynamo.config.recompile_limit = 64  # shapes per function in one process (a sweep has many)
    # The fused CPU kernels run on one thread (the matmuls still use every thread): split across
    # threads, a reduction's order depends on the tensor's shape, and so on the number of members
    # trained together; a member must train bit for bit the same alone or in any ensemble.
    torch._inductor.config.cpp.threads = 1


def prepare(fn: Callable, kernels: str, device: torch.device, role: str = "step") -> Callable:
    """`fn` as it will run: compiled (one graph, static shapes) or as it is.

    `role` says how its outputs are used, which matters only under CUDA graphs, where every
    replay writes its outputs into the same memory:

    - "step": a part of the training step; the loop calls `step_begin` once per step, and
      the outputs are used before the step ends (batch -> loss -> gradients).
    - "kept": outputs kept across calls (evaluation chunks): each call begins a graph step
      and returns copies.
    - "update": reads the step's gradients and updates the parameters in place: compiled
      without graphs (it is one fused kernel either way).
    """
    if kernels == "eager":
        return fn
    if device.type == "cpu" and not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        raise ConfigError("kernels", kernels, "'eager' on this machine: torch.compile needs a C++ compiler "
                          "on the CPU (install g++, e.g. apt-get install g++)")
    mode = compile_mode(device)
    if role == "update" and mode == "reduce-overhead":
        mode = "default"
    key = (fn, mode, role)
    if key not in _COMPILED:
        _configure_compiler()
        compiled = torch.compile(fn, mode=mode, fullgraph=True, dynamic=False)
        _COMPILED[key] = _kept(compiled) if role == "kept" and mode == "reduce-overhead" else compiled
    return _COMPILED[key]


def step_begin(kernels: str, device: torch.device) -> None:
    """Mark the start of a training step for CUDA graphs (a no-op elsewhere)."""
    if kernels != "eager" and compile_mode(device) == "reduce-overhead":
        torch.compiler.cudagraph_mark_step_begin()


def _kept(fn: Callable) -> Callable:
    """A CUDA-graphed function whose outputs survive its next call."""
    def call(*args, **kwargs):
        torch.compiler.cudagraph_mark_step_begin()
        out = fn(*args, **kwargs)
        return torch.utils._pytree.tree_map(lambda t: t.clone() if isinstance(t, torch.Tensor) else t, out)

    return call


def build_batch(sampler: Sampler, u: torch.Tensor, z: torch.Tensor) -> Batch:
    """`Sampler.build` as a function of the sampler: the batch from its random draws."""
    return sampler.build(u, z)


def counter_batch(sampler: Sampler, keys: torch.Tensor, step: torch.Tensor, b: int) -> Batch:
    """The batch of training step `step` from the counter-based stream (`Sampler.counter_draws`)."""
    return sampler.build(*sampler.counter_draws(keys, step, b))


def graph_step(model: Transformers, sampler: Sampler, keys: torch.Tensor, step: torch.Tensor, lrs: list[torch.Tensor],
               b: int, all_labels: bool = False, in_place: bool = True) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    """One whole SGD step of every member as one function (``kernels="graph"``): draw the batch of
    `step` from the counter-based stream, forward, per-member cross-entropy, gradients
    (`torch.func.grad`, traced into the same graph), and the update p -= lr g. Returns the [E]
    losses, and with ``in_place=False`` the new parameters instead of writing them (in
    `model.parameters()` order; the caller copies them in, `apply_update`).

    On the CPU the update is written inside the graph (faster there). On a GPU the graph
    returns the new parameters: it mutates none of its inputs, so it replays as one CUDA graph
    whatever CUDA graphs allow for mutated inputs. The arithmetic is the same either way.

    The cross-entropy is inside the graph, so on a GPU a member's rounding may depend on its
    group (exactness across groupings is the CPU's promise; on the CPU it holds here too).
    """
    batch = counter_batch(sampler, keys, step, b)
    params = dict(model.named_parameters())

    def loss(p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        def call(m, bt, **kw):
            return torch.func.functional_call(m, p, (bt,), kw)

        losses = member_losses(model, batch, forward=call, all_labels=all_labels)
        return losses.sum(), losses

    grads, losses = torch.func.grad(loss, has_aux=True)(params)
    grads = [grads[n] for n in params]
    if in_place:
        with torch.no_grad():
            sgd_update_(list(params.values()), grads, lrs)
        return losses.detach(), None
    return losses.detach(), sgd_updated([p.detach() for p in params.values()], grads, lrs)


@torch.no_grad()
def apply_update(params: list[torch.Tensor], new: list[torch.Tensor]) -> None:
    """Copy `graph_step`'s new parameters into the model's (one fused copy)."""
    torch._foreach_copy_(params, new)


def forward(model: Transformers, batch: Batch, query_only: bool = False, return_patterns: bool = False,
            all_items: bool = False):
    """`Transformers.forward` as a function of the model (what the evaluation compiles)."""
    return model(batch, query_only=query_only, return_patterns=return_patterns, all_items=all_items)


def member_losses(model: Transformers, batch: Batch, forward: Callable = forward, all_labels: bool = False) -> torch.Tensor:
    """[E] mean cross-entropy of each member's query predictions (the training loss); with
    `all_labels`, the mean over the query and every context label, each predicted at its item.

    `forward` is the model's forward pass (compiled or not); the cross-entropy stays outside
    it, op by op: compiled, its fused kernels round a member's loss differently depending on
    how many members share the batch, and a member must train the same alone or in any
    ensemble (tests/test_train.py).
    """
    if all_labels:
        logits, _ = forward(model, batch, all_items=True)  # [E, b, N+1, L]
        target = torch.cat([batch.labels, batch.target[..., None]], -1)  # [E, b, N+1]
    else:
        logits, _ = forward(model, batch, query_only=True)
        target = batch.target
    E = logits.shape[0]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.flatten(), reduction="none").reshape(E, -1).mean(1)
