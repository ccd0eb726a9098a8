"""The run store: names, refusal of stale or foreign runs, locking, safe checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from icmeta import cli
from icmeta.presets import preset
from icmeta.store import RESULTS_VERSION, StoreError, find_run, load_run, run_name
from icmeta.train import Callback, Trainer, load_or_train, prepare


def test_golden_run_name():
    # Changes only with a field, a default or RESULTS_VERSION: if this fails, the stored runs
    # of every preset get new names (bump RESULTS_VERSION if a meaning changed).
    assert RESULTS_VERSION == 3
    assert run_name([preset("paper", seed=0)]) == "run-3eca45932c32"


def test_every_field_changes_the_name(tiny):
    base = run_name([tiny(0)])
    assert run_name([tiny(0, eval_size=128)]) != base  # a default-valued field, changed
    assert run_name([tiny(0), tiny(1)]) != run_name([tiny(1), tiny(0)])  # member order counts


def test_edited_config_is_refused_with_one_line(tiny, tmp_path):
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    f = run.directory / "config.json"
    info = json.loads(f.read_text())
    info["members"][0]["config"]["train"]["lr"] = 0.2
    f.write_text(json.dumps(info))
    with pytest.raises(StoreError, match=r"lr=0\.2 but lr=0\.1") as e:
        load_or_train(tiny(0), root=tmp_path, progress=False)
    assert "\n" not in str(e.value)
    # the CLI says the same in one line, exit status 2
    code = cli.main(["train", "--no-progress", "--out", str(tmp_path), "--seeds", "0",
                     *[a for k, v in TINY_SETS.items() for a in ("--set", f"{k}={v}")]])
    assert code == 2


def test_other_results_version_is_refused(tiny, tmp_path):
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    f = run.directory / "config.json"
    info = json.loads(f.read_text())
    info["results_version"] = RESULTS_VERSION - 1
    f.write_text(json.dumps(info))
    with pytest.raises(StoreError, match="results version"):
        find_run(prepare(tiny(0)), tmp_path)


@pytest.mark.parametrize("name", ["metrics.parquet", "ceilings.json", "patterns.npz"])
@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_missing_or_unreadable_files_are_named(tiny, tmp_path, name, damage):
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    f = run.directory / name
    f.unlink() if damage == "missing" else f.write_bytes(b"\x00garbage")
    with pytest.raises(StoreError, match=name) as e:
        r = load_run(run.directory)
        r.ceilings()
        r.patterns()
    assert "\n" not in str(e.value) and ("missing" in str(e.value) or "unreadable" in str(e.value))


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = Path("/tmp/icmeta-test-pickle-ran")


class StopAt(Callback):
    def __init__(self, step):
        self.at = step

    def on_step(self, trainer):
        if trainer.step == self.at:
            raise KeyboardInterrupt


def _interrupted(configs, root, at):
    configs = prepare(configs)
    d = Path(root) / run_name(configs)
    with pytest.raises(KeyboardInterrupt):
        Trainer(configs, d, callbacks=[StopAt(at)], resume_every_s=0).run()
    return d


def test_planted_pickle_never_runs_and_the_run_resumes(tiny, tmp_path):
    MARKER.unlink(missing_ok=True)
    d = _interrupted(tiny(0), tmp_path, 30)
    torch.save({"name": d.name, "payload": Evil()}, d / "resume.pt")
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    assert not MARKER.exists()
    assert len(list(d.glob("resume.pt.bad-*"))) == 1
    ref = load_or_train(tiny(0), root=tmp_path / "ref", progress=False)
    pd.testing.assert_frame_equal(run.metrics, ref.metrics)
    # it went on from the previous good state (step 28), in a second segment
    assert [s["from_step"] for s in run.info["segments"]] == [0, 28]


def test_truncated_state_falls_back_to_the_previous_one(tiny, tmp_path):
    d = _interrupted(tiny(0), tmp_path, 40)
    data = (d / "resume.pt").read_bytes()
    (d / "resume.pt").write_bytes(data[: len(data) // 2])
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    ref = load_or_train(tiny(0), root=tmp_path / "ref", progress=False)
    pd.testing.assert_frame_equal(run.metrics, ref.metrics)
    assert run.info["segments"][1]["from_step"] == 38 and len(list(d.glob("resume.pt.bad-*"))) == 1


def test_state_of_another_run_is_moved_aside(tiny, tmp_path):
    d = _interrupted(tiny(0), tmp_path, 20)
    other = prepare(tiny(1))
    os.replace(d / "resume.pt", tmp_path / "foreign.pt")
    d2 = tmp_path / run_name(other)
    d2.mkdir()
    os.replace(tmp_path / "foreign.pt", d2 / "resume.pt")
    run = load_or_train(other, root=tmp_path, progress=False)
    assert len(list(d2.glob("resume.pt.bad-*"))) == 1 and run.info["segments"][0]["from_step"] == 0


TINY_SETS = dict(steps=60, batch_size=16, eval_size=64, lr=0.1, eval_every=10, K=16, L=8)


@pytest.mark.slow
def test_two_concurrent_starters_train_once(tmp_path):
    args = [sys.executable, "-m", "icmeta", "train", "--no-progress", "--out", str(tmp_path), "--seeds", "0",
            *[a for k, v in {**TINY_SETS, "steps": 400}.items() for a in ("--set", f"{k}={v}")]]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    dirs = {o[0].strip().splitlines()[-1] for o in outs}
    assert len(dirs) == 1
    info = json.loads((Path(dirs.pop()) / "config.json").read_text())
    assert len(info["segments"]) == 1 and info["segments"][0]["from_step"] == 0  # trained once, never restarted
    assert sum("waiting" in o[1] for o in outs) == 1, outs


def test_provenance_of_each_segment(tiny, tmp_path):
    d = _interrupted(tiny(0), tmp_path, 25)
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    seg = run.info["segments"]
    assert [(s["from_step"], s["to_step"]) for s in seg] == [(0, 24), (24, 60)]
    for s in seg:
        assert s["threads"] >= 1 and s["device"] == "cpu" and "commit" in s and "dirty" in s and s["wall_time_s"] > 0
    assert run.wall_time_s == pytest.approx(sum(s["wall_time_s"] for s in seg))
    assert 0 <= run.info["members"][0]["rla_unbroken_sequences"] < 0.2


def test_state_that_loads_but_does_not_fit_restarts_from_scratch(tiny, tmp_path):
    d = _interrupted(tiny(0), tmp_path, 40)
    state = torch.load(d / "resume.pt", weights_only=True)
    state["model"].pop(next(iter(state["model"])))  # the other weights would load, then fail
    torch.save(state, d / "resume.pt")
    (d / "resume.prev.pt").unlink()
    run = load_or_train(tiny(0), root=tmp_path, progress=False)
    ref = load_or_train(tiny(0), root=tmp_path / "ref", progress=False)
    pd.testing.assert_frame_equal(run.metrics, ref.metrics)  # nothing half-restored survived
    assert len(list(d.glob("resume.pt.bad-*"))) == 1


def test_an_archived_run_of_an_older_version_is_read_only_when_asked():
    gpu = Path(__file__).resolve().parents[1] / "runs" / "gpu" / "paper-lr0.01-90k"
    with pytest.raises(StoreError, match="results version 2"):
        load_run(gpu)
    run = load_run(gpu, archive=True)
    assert run.info["results_version"] == 2 and run.config.train.kernels == "eager"
    assert run.config.train.device == "cuda" and len(run.metrics) > 0
