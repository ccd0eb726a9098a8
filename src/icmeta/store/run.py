"""A stored run: how it is named, read back and checked against the configs asked for.

A run (the members trained together in one loop, `icmeta.core.members`) lives in
``<root>/run-<hash>/``:

    config.json      status, results version, members (label, full config, seeds), and the
                     provenance of every training segment (commit, dirty files, hardware,
                     threads, wall time; a resumed run lists each segment)
    metrics.parquet  long table: member, seed, step, metric, layer, head, value
    patterns.npz     mean attention patterns (and one example sequence) at log-spaced
                     steps, keyed by member: ``mean:<label>:<seed>``, ``example:<label>:<seed>``
    ceilings.json    Bayes-ideal accuracies of the three strategies, per member
    probe.npz        (some runs) weights at a few steps in float16, for the probe (`icmeta.book.probe`)
    step_XXXXXXXX.pt model weights on a log-spaced schedule (not committed)
    resume.pt        the training state while a run is in progress (`icmeta.train.checkpoint`)

``config.json`` of a finished run also records the SHA-256 of each of these results files
present (``checksums``, `record_checksums`), and `load_run` refuses a run whose files no longer
match it: a results file changed after the run was written is never read as that run's.

The hash covers **every field** of every member's config and `RESULTS_VERSION`, so a
changed default or a changed meaning gives a new name. A stored run is returned only when
its recorded configs equal the requested ones field by field and its results version is this
code's; anything else is refused with one line (`StoreError`), never returned. Two processes
that ask for the same run take a lock in its folder: one trains, the other waits and loads.

This module reads runs; it never trains (figures and tables import it, not the trainer).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from ..config import Config, config_hash, differences
from ..core.model import Transformers
from .io import StoreError, atomic_write, default_runs_root, file_sha256, write_json

# Bumped whenever the data stream, the model or the meaning of a stored metric changes, so
# that results made under another meaning are never returned under the same name.
#   1  the first store (hash of the fields that differ from the defaults; column `run`)
#   2  every field hashed; RLA deals the labels so that no item keeps its label (was a
#      uniform permutation); column `member`; patterns keyed by member; `attn_scale` field
#   3  training and evaluation compiled (`kernels` field); the first layer built from the
#      tokens' parts and the last layer's queries at the query only (same math, other rounding)
RESULTS_VERSION = 3

METRIC_COLUMNS = ["member", "seed", "step", "metric", "layer", "head", "value"]

# The results files of a run whose SHA-256 ``config.json`` records (``checksums``), those present.
PROBE_FILE = "probe.npz"
RESULT_FILES = ("metrics.parquet", "patterns.npz", "ceilings.json", PROBE_FILE)


def checkpoint_name(step: int) -> str:
    """The file of the weights saved at `step` (``step_00000100.pt``)."""
    return f"step_{step:08d}.pt"


# ------------------------------------------------------------------------------ naming

def run_name(configs: Sequence[Config]) -> str:
    """``run-<hash>`` of every field of every member (in order) and `RESULTS_VERSION`."""
    return f"run-{config_hash(list(configs), RESULTS_VERSION)}"


# ---------------------------------------------------------------------------- the run

@dataclass
class Run:
    """A finished run read from the store.

    Attributes:
        directory: its folder.
        configs: one `Config` per member, in training order.
        labels: each member's label (see `icmeta.core.members.member_labels`).
        info: the parsed ``config.json``.
        metrics: long table (`METRIC_COLUMNS`).
        until_step: None, or the step at which `until` cut this view of the run.
    """

    directory: Path
    configs: list[Config]
    labels: list[str]
    info: dict
    metrics: pd.DataFrame
    until_step: int | None = None  # set by `until`: the run seen up to this step

    @property
    def config(self) -> Config:
        return self.configs[0]

    @property
    def members(self) -> list[tuple[str, int]]:
        """(label, seed) of every member, in training order."""
        return [(l, c.seed) for l, c in zip(self.labels, self.configs)]

    @property
    def last_step(self) -> int:
        return int(self.metrics.step.max())

    def until(self, step: int) -> "Run":
        """The same run seen up to `step` (metrics and patterns), e.g. to compare it with
        shorter runs: training is the same up to there, whatever the run's length, and when
        `step` is a multiple of the metrics interval the metrics equal those of a run of
        `step` steps (the attention snapshots are those of this run's schedule)."""
        if step > self.last_step:
            raise StoreError(f"{self.directory.name}: ends at step {self.last_step}, cannot be cut at {step}")
        return Run(self.directory, self.configs, self.labels, self.info,
                   self.metrics[self.metrics.step <= step].reset_index(drop=True), until_step=step)

    @property
    def wall_time_s(self) -> float:
        """Training wall time, all segments together."""
        return float(sum(s["wall_time_s"] for s in self.info["segments"]))

    def patterns(self, member: str | None = None, seed: int | None = None) -> dict[str, np.ndarray]:
        """One member's attention snapshots (the first member by default): ``steps`` [n];
        ``mean`` and ``example`` [n, layers, heads, S, S] (mean over the evaluation set; its
        first sequence)."""
        label, seed = self.member(member, seed)
        with _open_npz(self.directory / "patterns.npz") as z:
            key = f"{label}:{seed}"
            if f"mean:{key}" not in z.files:
                raise StoreError(f"{self.directory / 'patterns.npz'}: no patterns for member {label!r} seed {seed}")
            keep = z["steps"] <= (self.until_step if self.until_step is not None else np.inf)
            return {"steps": z["steps"][keep], "mean": z[f"mean:{key}"][keep], "example": z[f"example:{key}"][keep]}

    def member(self, member: str | None, seed: int | None) -> tuple[str, int]:
        """(label, seed) of the first member matching `member` and `seed` (None: any); `StoreError`
        naming the members when none does."""
        cands = [(l, s) for l, s in self.members if (member is None or l == member) and (seed is None or s == seed)]
        if not cands:
            raise StoreError(f"{self.directory.name}: no member {member!r} with seed {seed} "
                             f"(members: {', '.join(f'{l} seed {s}' for l, s in self.members)})")
        return cands[0]

    def ceilings(self) -> list[dict]:
        return _read_json(self.directory / "ceilings.json", "recompute it with icmeta.store.ceilings.write_ceilings")

    def checkpoint_steps(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in self.directory.glob("step_*.pt"))

    def checkpoint_state(self, step: int) -> dict:
        """The members' weights saved at `step` (a ``step_*.pt`` of this folder), as tensors."""
        f = self.directory / checkpoint_name(step)
        try:
            return torch.load(f, map_location="cpu", weights_only=True)["model"]
        except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is told in one line
            raise StoreError(f"{f}: not a readable checkpoint of this run ({type(e).__name__}); "
                             "delete it, or the run folder to retrain") from None

    def write_probe(self, arrays: dict) -> Path:
        """Store the probe's weights (`PROBE_FILE`: arrays by name) in this folder, with its checksum."""
        path = self.directory / PROBE_FILE
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))
        record_checksums(self.directory, files=[PROBE_FILE])
        return path

    def read_probe(self) -> dict:
        """The probe's weights (`write_probe`) as arrays by name; `StoreError` (one line, naming the
        command that writes them) when the folder has none."""
        path = self.directory / PROBE_FILE
        if not path.is_file():
            raise StoreError(f"{self.directory.name}: no {PROBE_FILE}; make it where the run's checkpoints are with "
                             "`make runs` (or icmeta.book.probe.export_checkpoints(run))")
        with np.load(path) as z:
            return {k: z[k] for k in z.files}

    def load_models(self, step: int | None = None):
        """The members' weights (`icmeta.core.model.Transformers`) at a checkpointed step (the last
        by default). Loaded with ``weights_only=True``: a checkpoint never runs code."""

        steps = self.checkpoint_steps()
        if not steps or (step is not None and step not in steps):
            raise StoreError(
                f"no checkpoint {'at step ' + str(step) + ' ' if step is not None else ''}in {self.directory} "
                f"(available: {steps or 'none; committed runs keep results only, retrain to get weights'})")
        step = steps[-1] if step is None else step
        model = Transformers(self.config.task, self.config.model, [torch.Generator() for _ in self.configs])
        model.load_state_dict(self.checkpoint_state(step))
        return model


def _read_json(path: Path, fix: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: missing; {fix}") from None
    except (OSError, ValueError) as e:
        raise StoreError(f"{path}: unreadable ({type(e).__name__}); {fix}") from None


@contextlib.contextmanager
def _open_npz(path: Path):
    try:
        z = np.load(path)
    except FileNotFoundError:
        raise StoreError(f"{path}: missing; delete the run folder to retrain it") from None
    except Exception as e:  # noqa: BLE001
        raise StoreError(f"{path}: unreadable ({type(e).__name__}); delete the run folder to retrain it") from None
    with z:
        yield z


def record_checksums(directory: Path | str, info: dict | None = None, files: Sequence[str] | None = None) -> dict:
    """Write the run's ``config.json`` with the SHA-256 of its results files (``checksums``,
    name -> hex digest) and return what was written; the one way checksums get recorded.

    Args:
        info: the ``config.json`` to write (the trainer's finished run, a split member's);
            default: the one in the folder, read as it is.
        files: the results files rewritten in a finished run (e.g. ``["ceilings.json"]``): only
            their entries are (re)computed, the others are kept as recorded. Default: every
            `RESULT_FILES` present, replacing the field (a run being finalised). A run
            without ``checksums`` (from before they were recorded) is left as it is: its files
            stay unverified until ``scripts/migrate_checksums.py`` checks and records them all.

    Call it after the files are in place: ``config.json`` is written atomically, last.
    """
    d = Path(directory)
    if files is not None and set(files) - set(RESULT_FILES):
        raise ValueError(f"not results files of a run: {sorted(set(files) - set(RESULT_FILES))} (see RESULT_FILES)")
    if info is None:
        info = _read_json(d / "config.json", "delete the folder to retrain it")
    if files is None:
        files, sums = RESULT_FILES, {}
    elif "checksums" not in info:
        return info
    else:
        sums = dict(info["checksums"])
    for name in files:
        if (d / name).is_file():
            sums[name] = file_sha256(d / name)
        else:
            sums.pop(name, None)
    info = {**info, "checksums": dict(sorted(sums.items()))}
    write_json(d / "config.json", info)
    return info


def verify_checksums(directory: Path | str, info: dict) -> None:
    """Raise `StoreError` (one line, naming the file) if a results file recorded in
    ``info["checksums"]`` is present but its SHA-256 differs. A recorded file that is missing
    is told by whatever reads it; a file that no longer parses is told as unreadable (by its
    reader) rather than as changed. A run without ``checksums`` (written before they were
    recorded) has nothing to verify."""
    d = Path(directory)
    sums = info.get("checksums", {})
    if not isinstance(sums, dict) or not all(n in RESULT_FILES and isinstance(h, str) for n, h in sums.items()):
        raise StoreError(f"{d / 'config.json'}: malformed (checksums: {sums!r:.80}); delete the folder to retrain it")
    for name, digest in sums.items():
        path = d / name
        if not path.is_file() or file_sha256(path) == digest:
            continue
        if path.suffix == ".json":
            _read_json(path, "delete the run folder to retrain it")
        elif path.suffix == ".npz":
            with _open_npz(path) as z:
                z.files
        raise StoreError(f"{path}: changed after the run was written (SHA-256 differs from config.json); "
                         "restore it, or delete the run folder to retrain")


def is_complete(directory: Path) -> bool:
    """The folder holds a finished run (status complete); says nothing about which."""
    try:
        return json.loads((Path(directory) / "config.json").read_text()).get("status") == "complete"
    except (OSError, ValueError, AttributeError):
        return False


# Archived runs: results versions whose files this code still reads (`load_run(..., archive=True)`).
# Version 2 had the same metrics, columns and patterns; its arithmetic was op by op (eager).
READABLE_ARCHIVES = (2,)


def load_run(directory: Path | str, archive: bool = False) -> Run:
    """Read a finished run; `StoreError` (one line) if a file is missing or unreadable, the run
    is unfinished, or it was made under another results version.

    `archive=True` also reads a run of an older results version listed in `READABLE_ARCHIVES`
    (a record made by older code, e.g. on a GPU that cannot be rerun here); it is never
    returned by `find_run`, and `Run.info["results_version"]` says which version made it.

    Every results file that ``config.json`` records a checksum of and that is present
    (metrics, patterns, ceilings, probe weights; `verify_checksums`) is hashed here, so a file
    changed after the run was written is refused now, before anything of the run is used,
    even the files read later (`Run.patterns`, `Run.ceilings`, the probe). A run without
    ``checksums`` (a store from before they were recorded; ``scripts/migrate_checksums.py``
    adds them) still loads, unverified.
    """
    d = Path(directory)
    retrain = "delete the folder to retrain it"
    info = _read_json(d / "config.json", retrain)
    if not isinstance(info, dict) or info.get("status") != "complete":
        raise StoreError(f"{d}: not a finished run (status {info.get('status') if isinstance(info, dict) else None!r}); "
                         "train it to the end, or delete the folder")
    version = info.get("results_version", 1)
    if version != RESULTS_VERSION and not (archive and version in READABLE_ARCHIVES):
        raise StoreError(f"{d}: made under results version {version}, this code reads version {RESULTS_VERSION} "
                         f"(see icmeta.store.RESULTS_VERSION); {retrain}")
    try:
        if version < 3:  # made before the `kernels` field: op by op
            for m in info["members"]:
                m["config"]["train"].setdefault("kernels", "eager")
        configs = [Config.from_dict(m["config"]) for m in info["members"]]
        labels = [m["label"] for m in info["members"]]
        info["segments"][0]["wall_time_s"]
    except (KeyError, TypeError, IndexError) as e:
        raise StoreError(f"{d / 'config.json'}: malformed ({type(e).__name__}: {e}); {retrain}") from None
    try:
        df = pd.read_parquet(d / "metrics.parquet")
    except FileNotFoundError:
        raise StoreError(f"{d / 'metrics.parquet'}: missing; {retrain}") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises many kinds
        raise StoreError(f"{d / 'metrics.parquet'}: unreadable ({type(e).__name__}); {retrain}") from None
    if list(df.columns) != METRIC_COLUMNS:
        raise StoreError(f"{d / 'metrics.parquet'}: columns {list(df.columns)}, expected {METRIC_COLUMNS}; {retrain}")
    verify_checksums(d, info)
    return Run(d, configs, labels, info, df)


def check_stored(run: Run, configs: Sequence[Config]) -> None:
    """Raise `StoreError` unless `run` was made with exactly `configs` (field by field)."""
    where = run.directory / "config.json"
    if len(run.configs) != len(configs):
        raise StoreError(f"{where}: holds {len(run.configs)} members, {len(configs)} were asked for; "
                         "the file was edited or belongs to another run: delete the folder to retrain")
    for i, (stored, asked) in enumerate(zip(run.configs, configs)):
        diff = differences(stored, asked)
        if diff:
            name, have, want = diff[0]
            raise StoreError(f"{where}: member {i} was stored with {name}={have!r} but {name}={want!r} was asked for; "
                             "the file was edited or belongs to another run: delete the folder to retrain")


def find_run(configs: Sequence[Config], root: Path | str | None = None) -> Run | None:
    """The stored run of exactly these configs, or None if it is not (completely) stored.

    Raises `StoreError` when a finished run under that name does not match them."""
    root = Path(root) if root is not None else default_runs_root()
    d = root / run_name(configs)
    if not is_complete(d):
        return None
    run = load_run(d)
    check_stored(run, configs)
    return run


