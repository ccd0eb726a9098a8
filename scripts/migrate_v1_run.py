#!/usr/bin/env python
"""Migrate a results-version-1 run folder to version 2, checking that nothing measured changes.

Version 2 (`icmeta.store.RESULTS_VERSION`) changed the store's format and one meaning:
the metrics column `run` is now `member`, patterns are keyed by member, provenance is a list
of training segments, configs carry the `attn_scale` field, and RLA deals the labels so that
no item keeps its label. Version 1 trained the same data stream and the same model (checked
on the CPU: every metric but RLA bit-identical), so a version-1 run is migrated by:

- renaming the column and re-keying the patterns (values copied, then compared exactly);
- adding `attn_scale="none"` (version 1's attention-only model was unscaled);
- **dropping the RLA rows** (measured under the old permutation; they cannot be recomputed
  without the weights, which are not kept);
- turning the old provenance fields into one segment, keeping what was recorded.

Only for runs that cannot be retrained here (the GPU run). Usage:
    python scripts/migrate_v1_run.py OLD_DIR NEW_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from icmeta.config import Config
from icmeta.core.members import member_labels
from icmeta.store import RESULTS_VERSION, load_run
from icmeta.store.io import write_json, write_metrics, write_patterns


def migrate(old: Path, new: Path) -> None:
    info = json.loads((old / "config.json").read_text())
    if info.get("results_version", 1) != 1 or info.get("status") != "complete":
        raise SystemExit(f"{old}: not a complete version-1 run")
    for m in info["members"]:
        m["config"]["model"].setdefault("attn_scale", "none")
    configs = [Config.from_dict(m["config"]) for m in info["members"]]
    labels = member_labels(configs)
    assert labels == [m["label"] for m in info["members"]], "member labels changed"
    df = pd.read_parquet(old / "metrics.parquet")
    kept = df[df.metric != "rla"].rename(columns={"run": "member"}).reset_index(drop=True)
    with np.load(old / "patterns.npz") as z:
        steps, mean, example = z["steps"], z["mean"], z["example"]
    members = [(l, c.seed) for l, c in zip(labels, configs)]
    patterns = {m: {"mean": mean[:, e], "example": example[:, e]} for e, m in enumerate(members)}
    new.mkdir(parents=True, exist_ok=True)
    write_metrics(new / "metrics.parquet", kept)
    write_patterns(new / "patterns.npz", steps, patterns)
    (new / "ceilings.json").write_text((old / "ceilings.json").read_text())
    segment = {k: info.get(k) for k in ("device", "device_name", "threads", "torch", "python", "host")}
    segment.update(from_step=0, to_step=info["steps_done"], wall_time_s=info["wall_time_s"],
                   commit=info.get("git_commit"), dirty=None, cpu_count=None, started_utc=None)
    out = {
        "status": "complete", "name": new.name, "results_version": RESULTS_VERSION,
        "package_version": info.get("package_version"),
        "members": [{"label": l, "seed": c.seed, "config": c.to_dict(), "seeds": m["seeds"],
                     "rla_unbroken_sequences": None, "rla_labels_in_place": None}
                    for l, c, m in zip(labels, configs, info["members"])],
        "segments": [segment], "steps_done": info["steps_done"], "wall_time_s": info["wall_time_s"],
        "delta_t": info["delta_t"], "eval_interval": info["eval_interval"], "metrics_interval": info["metrics_interval"],
        "migrated_from": {"results_version": 1, "name": info["name"],
                          "dropped": "rla (measured with a uniform permutation; see scripts/migrate_v1_run.py)"},
    }
    write_json(new / "config.json", out)
    # the check: every kept value, and every pattern, is exactly the old one
    run = load_run(new)
    pd.testing.assert_frame_equal(run.metrics, kept)
    old_rows = df[df.metric != "rla"].reset_index(drop=True)
    assert (run.metrics.member == old_rows.run).all()
    pd.testing.assert_frame_equal(run.metrics.drop(columns="member"), old_rows.drop(columns="run"))
    for e, (l, s) in enumerate(members):
        p = run.patterns(l, s)
        assert np.array_equal(p["mean"], mean[:, e]) and np.array_equal(p["example"], example[:, e])
        assert np.array_equal(p["steps"], steps)
    print(f"{old} -> {new}: {len(kept)} rows kept, {len(df) - len(kept)} RLA rows dropped, patterns of {len(members)} members identical")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.splitlines()[-1].strip())
    migrate(Path(sys.argv[1]), Path(sys.argv[2]))
