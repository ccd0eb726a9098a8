"""Saving and restoring training state, safely.

While a run trains, its full state (weights, optimiser, data-stream generators, the metrics
and snapshots so far, provenance) is rewritten atomically to ``resume.pt`` every few seconds;
the state it replaces is kept as ``resume.prev.pt``. A run killed at any moment resumes
from the newest state that loads and ends with exactly the metrics of an uninterrupted run
(on the CPU).

Every file is read with ``torch.load(weights_only=True)``: tensors and plain Python values
only, so a planted pickle is refused, never executed. A file that does not load, or that
belongs to another run or results version, is moved aside as ``<name>.bad-<time>`` with a
one-line warning (never silently discarded) and the next older state is tried.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

from ..store.io import write_torch
from ..store.run import RESULTS_VERSION, checkpoint_name

RESUME, PREVIOUS = "resume.pt", "resume.prev.pt"
STATE_KEYS = {"name", "results_version", "step", "model", "optimizer", "data_gens", "rows", "snapshots", "segments"}


def save_weights(directory: Path, step: int, model: torch.nn.Module) -> None:
    write_torch(Path(directory) / checkpoint_name(step), {"step": step, "model": model.state_dict()})


def save_state(directory: Path, state: dict) -> None:
    """Write ``resume.pt``; the state it replaces becomes ``resume.prev.pt``."""
    d = Path(directory)
    tmp = d / ".resume.new"
    write_torch(tmp, state)  # complete and on disk before anything is renamed
    if (d / RESUME).exists():
        os.replace(d / RESUME, d / PREVIOUS)
    os.replace(tmp, d / RESUME)


def quarantine(path: Path, why: str) -> Path:
    """Move an unusable file aside (``<name>.bad-<time>``) and say so in one line."""
    path = Path(path)
    dest = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
    os.replace(path, dest)
    print(f"warning: {path} {why}; moved aside to {dest.name}", file=sys.stderr, flush=True)
    return dest


def load_state(directory: Path, name: str) -> tuple[dict, Path] | None:
    """The newest usable resume state of run `name` in `directory` (and its file), or None.

    Unusable files are quarantined; the caller quarantines a state that loads but cannot be
    applied (see `quarantine`) and asks again.
    """
    d = Path(directory)
    for f in (d / RESUME, d / PREVIOUS):
        if not f.exists():
            continue
        try:
            state = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - truncated, corrupt, foreign or code-running pickles
            quarantine(f, f"does not load as a training state ({type(e).__name__})")
            continue
        if not isinstance(state, dict) or not STATE_KEYS <= set(state):
            quarantine(f, "is not a training state of this version")
        elif state["name"] != name or state["results_version"] != RESULTS_VERSION:
            quarantine(f, f"belongs to run {state['name']!r} (results version {state['results_version']}), not {name!r}")
        else:
            return state, f
    return None


def clear_states(directory: Path) -> None:
    for f in (RESUME, PREVIOUS):
        (Path(directory) / f).unlink(missing_ok=True)
