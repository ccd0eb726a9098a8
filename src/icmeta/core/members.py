"""Who is in a run: the members (models) trained together, and how each is named.

A run trains a list of member configs in one loop: seeds of one setting, or a sweep over
settings that share tensor shapes and schedule. A member is named by its label (the fields
in which the members differ, ``main`` when they differ only in seed) and its seed; the pair
(label, seed) keys its rows in the metrics table, its attention snapshots and its ceilings.
"""

from __future__ import annotations

from typing import Sequence

from ..config import SEED_FIELDS, Config, ConfigError, flatten, validate
from .task import check_shared

# Training fields that one loop shares: members must agree on them.
SHARED_TRAIN_FIELDS = ("optimizer", "batch_size", "steps", "eval_size", "eval_every", "metrics_every", "device", "kernels", "loss", "sampler")


def member_labels(configs: Sequence[Config]) -> list[str]:
    """Name each member by the fields (other than seeds) in which the members differ."""
    flat = [flatten(c) for c in configs]
    keys = [k for k in flat[0] if k not in SEED_FIELDS and len({str(f[k]) for f in flat}) > 1]
    return [",".join(f"{k}={f[k]}" for k in keys) or "main" for f in flat]


def check_members(configs: Sequence[Config]) -> None:
    """Validate each config and that they can be trained in one loop; raise `ConfigError`."""
    if not configs:
        raise ConfigError("seeds", [], "at least one model")
    for c in configs:
        validate(c)
    for name in SHARED_TRAIN_FIELDS:
        if len({getattr(c.train, name) for c in configs}) > 1:
            raise ConfigError(name, [getattr(c.train, name) for c in configs], "one value for all models trained together")
    if len({c.model for c in configs}) > 1:
        raise ConfigError("model", "differs between members", "one model config for all models trained together")

    check_shared([c.task for c in configs])
    keys = [(l, c.seed) for l, c in zip(member_labels(configs), configs)]
    if len(set(keys)) != len(keys):
        raise ConfigError("seeds", [c.seed for c in configs], "distinct seeds for identical settings")
