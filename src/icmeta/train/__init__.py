"""Training: `load_or_train` returns the stored run of a list of configs, training it if needed.

The parts, one file each: `optim` (SGD/Adam over stacked parameters, per-member lr),
`evaluate` (pure measurement), `log` (metrics table and attention snapshots), `checkpoint`
(safe resume states), `loop` (the `Trainer` and its callbacks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..config import VARIANT_STEPS, VARIANTS, Config, ConfigError, preset, set_field
from ..members import check_members
from ..store import Run, default_runs_root, find_run, run_lock, run_name
from .loop import Callback, Progress, Trainer, log_schedule

__all__ = ["load_or_train", "load_variants", "prepare", "Trainer", "Callback", "Progress", "log_schedule", "resolve_device"]


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


def variant_configs(preset_name: str, seeds: Sequence[int], device: str = "cpu") -> dict[str, list[Config]]:
    """The reproduction-notes variants (`icmeta.config.VARIANTS`) other than the preset itself,
    each at `VARIANT_STEPS` of the preset, one config per seed."""
    steps = VARIANT_STEPS[preset_name]
    return {name: [preset(preset_name, seed=s, device=device, steps=steps, **kw) for s in seeds]
            for name, kw in VARIANTS.items() if kw}


def load_variants(preset_name: str, seeds: Sequence[int], device: str = "cpu", root: Path | str | None = None,
                  progress: bool = True) -> dict[str, Run]:
    """Every variant of `icmeta.config.VARIANTS` as a stored (or trained) run over the first
    `VARIANT_STEPS` steps; the preset's own entry is the main run cut at that step."""
    main = load_or_train([preset(preset_name, seed=s, device=device) for s in seeds], root=root, progress=progress)
    others = variant_configs(preset_name, seeds, device)
    return {name: main.until(VARIANT_STEPS[preset_name]) if name not in others
            else load_or_train(others[name], root=root, progress=progress) for name in VARIANTS}
