"""Reading an unfinished group's resume state as runs: what a long training has measured so far.

A group that stopped at a deadline keeps ``resume.pt`` (its weights, every metric row and
attention snapshot so far, its segments) and ``config.json`` (its members) in its folder; the
paper-rate queue commits them (``runs/queue/pending/``). `load_pending` reads each member as a
`Run` whose metrics end at the state's step, as `icmeta.store.run.Run.until` would show the
finished run there: training is deterministic, so the rows up to that step are those the
finished run will have. Snapshots are not read (the run has no ``patterns.npz`` yet).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from ..config import Config
from .io import StoreError
from .run import METRIC_COLUMNS, RESULTS_VERSION, Run, run_name

PENDING = "pending"  # the status of such a run's info


def load_pending(directory: Path | str) -> list[Run]:
    """Every member of the unfinished group in `directory`, one single-member `Run` each (label
    ``main``, as a finished member's), its ``info`` the group's with ``status`` "pending",
    ``steps_done`` the state's step and the state's segments. `StoreError` in one line when the
    folder holds no readable state of this results version."""
    d = Path(directory)
    try:
        state = torch.load(d / "resume.pt", map_location="cpu", weights_only=True)
        info = json.loads((d / "config.json").read_text())
        step, rows, segments = int(state["step"]), state["rows"], list(state["segments"])
        members = [(m["label"], int(m["seed"]), Config.from_dict(m["config"])) for m in info["members"]]
    except Exception as e:  # noqa: BLE001 - missing, truncated, foreign or code-running files: one line
        raise StoreError(f"{d}: not a readable resume state with its config.json ({type(e).__name__})") from None
    if state.get("results_version") != RESULTS_VERSION:
        raise StoreError(f"{d / 'resume.pt'}: results version {state.get('results_version')}, not {RESULTS_VERSION}")
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    frame["layer"] = frame["layer"].astype("Int64")
    frame["head"] = frame["head"].astype("Int64")
    out = []
    for label, seed, c in members:
        m = frame[(frame.member == label) & (frame.seed == seed)].assign(member="main").reset_index(drop=True)
        run_info = {**info, "status": PENDING, "name": run_name([c]), "steps_done": step, "segments": segments,
                    "members": [{**mi, "label": "main"} for mi in info["members"] if mi["label"] == label
                                and int(mi["seed"]) == seed],
                    "wall_time_s": round(sum(float(s["wall_time_s"]) for s in segments), 2), "pending_in": d.name}
        out.append(Run(d, [c], ["main"], run_info, m, until_step=step))
    return out


def pending_members(root: Path | str) -> dict[str, Run]:
    """Every member of every unfinished group under `root` (``group-*/`` folders), by its run
    name; unreadable states are skipped."""
    out: dict[str, Run] = {}
    for d in sorted(Path(root).glob("group-*")) if Path(root).exists() else ():
        try:
            for r in load_pending(d):
                out[run_name(r.configs)] = r
        except StoreError:
            continue
    return out
