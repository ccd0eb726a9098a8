"""Bayes-ideal ceilings of each stored member's data draw (``ceilings.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..config import Config
from ..core import bayes
from ..core.members import member_labels
from ..core.task import make_world
from .io import write_json
from .run import is_complete, record_checksums


def write_ceilings(directory: Path, configs: Sequence[Config]) -> list[dict]:
    """Bayes-ideal accuracies of each member's data draw, written to ``ceilings.json``.

    A pure function of the configs (the data seed fixes the draw, the evaluation seed + 7 the
    Monte-Carlo sample), so it can be rerun on a stored run, e.g. after a fix in `bayes`: in a
    finished run its checksum in ``config.json`` is updated too (`icmeta.store.run.record_checksums`).
    """

    out = []
    for label, c in zip(member_labels(configs), configs):
        s = c.seeds()
        world = make_world(c.task, torch.Generator().manual_seed(s["data"]))
        out.append({"label": label, "seed": c.seed, **bayes.ideal_accuracies(c.task, world, seed=s["eval"] + 7)})
    write_json(Path(directory) / "ceilings.json", out)
    if is_complete(directory):
        record_checksums(directory, files=["ceilings.json"])
    return out
