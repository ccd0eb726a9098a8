"""Training: `load_or_train` returns the stored run of a list of configs, training it if needed.

The parts, one file each: `optim` (SGD/Adam over stacked parameters, per-member lr),
`evaluate` (pure measurement), `log` (metrics table and attention snapshots), `checkpoint`
(safe resume states), `loop` (the `Trainer` and its callbacks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..config import Config, ConfigError, set_field
from ..core.members import check_members
from ..store.io import default_runs_root, run_lock
from ..store.run import Run, find_run, run_name
from .loop import Callback, Progress, Trainer, log_schedule

__all__ = ["load_or_train", "prepare", "Trainer", "Callback", "Progress", "log_schedule", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", name, "cpu or auto (no CUDA device is available)")
    return torch.device(name)


def prepare(configs: Config | Sequence[Config]) -> list[Config]:
    """Validate the members and store "auto" as the device it resolves to here (a GPU run and
    a CPU run differ)."""
    configs = [configs] if isinstance(configs, Config) else list(configs)
    check_members(configs)
    return [set_field(c, "device", resolve_device(c.train.device).type) for c in configs]


def load_or_train(
    configs: Config | Sequence[Config],
    root: Path | str | None = None,
    progress: bool = True,
    resume_every_s: float = 30.0,
) -> Run:
    """The stored run of exactly these configs; else train it (resuming if it was cut).

    Args:
        configs: one `Config` or a list trained together (same model, shapes and schedule).
        root: folder of the run store (default `$ICMETA_RUNS` or `runs/` in the project).
        progress: show a progress bar.
        resume_every_s: seconds between saves of the resume state.

    Raises:
        ConfigError: a bad config (one line).
        icmeta.store.StoreError: a stored run under this name was made with other configs.
    """
    configs = prepare(configs)
    root = Path(root) if root is not None else default_runs_root()
    run = find_run(configs, root)
    if run is not None:
        return run
    directory = root / run_name(configs)
    with run_lock(directory):
        run = find_run(configs, root)  # another process may have trained it while we waited
        if run is not None:
            return run
        callbacks = [Progress()] if progress else []
        return Trainer(configs, directory, callbacks=callbacks, resume_every_s=resume_every_s).run()
