"""Files of the run store: where runs live, atomic writes, locks and provenance.

Every write goes to a temporary name and is renamed into place, so a file is either the old one
or the new one, never half written; a lock on a run's folder lets one process train it while
the others wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import torch

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # src/icmeta/store/io.py -> the project


class StoreError(Exception):
    """A run store problem, told in one line: what is wrong, with which file, and what to do."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook: a chapter shows the one line, not a traceback
        return [f"StoreError: {self}"]


def default_runs_root() -> Path:
    """`$ICMETA_RUNS`, else `runs/` in the project checkout, else `./runs`."""
    env = os.environ.get("ICMETA_RUNS")
    if env:
        return Path(env)
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "runs"
    return Path("runs")


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write to a temporary name in the same folder, flush to disk, rename over `path`:
    a process killed at any moment leaves the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()))


def write_torch(path: Path, obj: Any) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def write_metrics(path: Path, df: pd.DataFrame) -> None:
    atomic_write(path, lambda f: df.to_parquet(f, index=False))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_patterns(path: Path, steps: np.ndarray, patterns: dict[tuple[str, int], dict[str, np.ndarray]]) -> None:
    """patterns.npz: ``steps`` and, per member (label, seed), ``mean:<label>:<seed>`` and
    ``example:<label>:<seed>`` of shape [n_steps, layers, heads, S, S]."""
    arrays = {"steps": np.asarray(steps)}
    for (label, seed), d in patterns.items():
        for kind in ("mean", "example"):
            arrays[f"{kind}:{label}:{seed}"] = np.asarray(d[kind], dtype=np.float32)
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def git_state() -> dict[str, Any]:
    """The commit of the checkout and the files that differ from it (outside `runs/`).

    ``dirty`` lists modified, staged and untracked (not ignored) paths anywhere in the
    checkout except the run store itself; an empty list is a clean tree. None when the
    package does not run from a git checkout. The trainer reads it once per process, when it
    records its first segment (`icmeta.train.loop.provenance`).
    """
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--", ".", ":(exclude)runs")
        dirty = [line[3:] for line in status.stdout.splitlines() if line.strip()]
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def hardware(device: torch.device) -> dict[str, Any]:
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "host": platform.node(),
    }


@contextlib.contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Hold the run's lock (``.lock`` in its folder) while training it.

    A second process asking for the same run waits here until the first is done (or has
    died: the lock goes with its process), then looks again and loads what it finds.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{directory.name}: another process is training this run; waiting for it", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
