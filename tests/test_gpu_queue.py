"""The paper-rate queue (`icmeta.experiments.queue`, `scripts/gpu_queue.py`): its plan from the
claims, and the whole cycle a lent GPU runs, tried on the CPU with tiny steps: a window cut
short, its states unpacked into the repository, the next window on a fresh machine, and the
result equal to an uncut run."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from icmeta.config import ConfigError
from icmeta.experiments import queue as Q
from icmeta.presets import preset

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_queue.py"
TINY = ["--set", "steps=120", "--set", "batch_size=16", "--set", "eval_size=64", "--set", "eval_every=10"]


@dataclass
class FakeClaim:
    key: str
    sweep: str
    settings: tuple = ()


@dataclass
class FakeResult:
    claim: FakeClaim
    rate: str
    verdict: str


def results(key, sweep, settings=(), **verdicts):
    c = FakeClaim(key, sweep, settings)
    return [FakeResult(c, rate.replace("_", " ").replace("lr 003", "lr 0.03"), v) for rate, v in verdicts.items()]


def test_plan_queues_the_main_result_first_then_what_the_lower_rates_leave_open():
    res = (results("main.x", "main", fast="holds in 9 of 10 seeds")  # main: always first, by itself
           + results("a", "fig7a", ("T=2",), fast="holds", lr_003="holds")  # confirmed: not queued
           + results("b", "fig7a", ("T=3",), fast="holds", lr_003="does not hold")  # not confirmed
           + results("g", "fig13", ("mask=ncc",), fast="does not hold", lr_003="not measured")  # refuted at lr 0.1 only
           + results("c", "fig16", ("heads=2",), fast="depends on the reading (detector: 1/3)")
           + results("d", "fig19", ("N=16",), fast="holds in 2 of 3 seeds", lr_003="holds")
           + results("e", "fig16", ("heads=4", "heads=2"), fast="does not hold", lr_003="holds in 1 of 3 seeds")
           + results("f", "fig22", ("layers=5",), fast="not measured"))  # nothing to check
    plan = Q.make_plan(res)
    assert plan[0] == Q.MAIN and plan[0].seeds == tuple(range(10))
    assert [(i.sweep, i.labels) for i in plan[1:]] == [("fig7a", ("T=3",)), ("fig13", ("mask=ncc",)),
                                                        ("fig16", ("heads=2", "heads=4")), ("fig19", ("N=16",))]
    assert "b (fast: holds; lr 0.03: does not hold)" in plan[1].why and plan[1].seeds == Q.PAPER_SEEDS


def test_plan_members_are_the_paper_preset_with_the_gpu_settings(tmp_path):
    item = Q.Item("fig16", ("heads=2",), (0, 1), "why")
    ms = item.members()
    assert [m.label for m in ms] == ["heads=2", "heads=2"]
    c = ms[0].config
    assert (c.train.lr, c.train.batch_size, c.train.kernels, c.train.sampler, c.train.device) == (0.01, 128, "graph", "counter", "cuda")
    Q.write_plan([Q.MAIN, item], tmp_path / "plan.json")
    assert Q.read_plan(tmp_path / "plan.json") == [Q.MAIN, item]
    with pytest.raises(ConfigError, match="'labels'"):
        Q.Item("fig16", ("heads=3",), (0,), "").members()
    (tmp_path / "bad.json").write_text("[{}]")
    with pytest.raises(ConfigError, match="'plan'"):
        Q.read_plan(tmp_path / "bad.json")


def test_a_group_is_no_larger_than_its_resume_state_can_bring_back():
    c = preset("paper", kernels="graph", sampler="counter")
    assert Q.state_bytes(preset("paper", heads=16)) > Q.state_bytes(c) > Q.state_bytes(preset("paper", steps=1000))
    many = [preset("paper", seed=s) for s in range(40)]
    groups = Q.chunks(many)
    assert [c for g in groups for c in g] == many  # every member once, in order
    n = len(groups[0])
    assert 1 < n < 40 and n * Q.state_bytes(c) <= Q.STATE_BUDGET < (n + 1) * Q.state_bytes(c)
    assert all(sum(map(Q.state_bytes, g)) <= Q.STATE_BUDGET for g in groups)
    small = [preset("paper", seed=s, steps=1000, D=7, P=9, K=16, L=8) for s in range(40)]
    assert len(Q.chunks(small)) == 1 and [len(g) for g in Q.chunks(small, largest=16)] == [16, 16, 8]
    huge = preset("paper", N=32, heads=16)
    assert Q.state_bytes(huge) > Q.STATE_BUDGET and [len(g) for g in Q.chunks([huge, huge])] == [1, 1]


def _queue(*args, work, timeout=600):
    env = {**os.environ, "DEVICE": "cpu", "ICMETA_QUEUE_WORK": str(work), "PYTHONUNBUFFERED": "1"}
    p = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_unpack_needs_what_the_device_sends(tmp_path):
    p = subprocess.run([sys.executable, str(SCRIPT), "unpack", str(tmp_path), "--queue", str(tmp_path / "q")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "results.tar.gz" in p.stderr


@pytest.mark.slow
def test_a_window_cut_short_resumes_in_the_next_and_ends_as_an_uncut_run(tmp_path):
    plan = [Q.Item("fig7a", ("T=1", "T=2"), (0,), "test")]
    for name in ("ref", "cut"):
        Q.write_plan(plan, tmp_path / name / "plan.json")
    # uncut
    _queue("run", str(tmp_path / "out-ref"), "600", "--queue", str(tmp_path / "ref"), *TINY, work=tmp_path / "w-ref")
    _queue("unpack", str(tmp_path / "out-ref"), "--queue", str(tmp_path / "ref"), work=tmp_path / "w-ref")
    ref = sorted((tmp_path / "ref" / "runs").glob("run-*"))
    assert len(ref) == 2 and not list((tmp_path / "ref" / "pending").glob("*"))
    # window 1 stops every group at step 60; what comes back is at most 8 files, 64 MiB
    out1 = tmp_path / "out-1"
    log = _queue("run", str(out1), "600", "--queue", str(tmp_path / "cut"), *TINY, "--stop-at-step", "60",
                 work=tmp_path / "w-1")
    assert "stopped at step 60" in log
    sent = list(out1.iterdir())
    assert len(sent) <= 8 and sum(f.stat().st_size for f in sent) <= 64 * 2**20
    _queue("unpack", str(out1), "--queue", str(tmp_path / "cut"), work=tmp_path / "w-1")
    pending = list((tmp_path / "cut" / "pending").glob("group-*"))
    assert len(pending) == 1 and (pending[0] / "resume.pt").exists()
    assert not list((tmp_path / "cut" / "runs").glob("run-*")) if (tmp_path / "cut" / "runs").exists() else True
    assert "pending at step 60" in _queue("status", "--queue", str(tmp_path / "cut"), *TINY, work=tmp_path / "w-1")
    # window 2, on a fresh machine (another work folder): resumes and finishes
    out2 = tmp_path / "out-2"
    _queue("run", str(out2), "600", "--queue", str(tmp_path / "cut"), *TINY, work=tmp_path / "w-2")
    _queue("unpack", str(out2), "--queue", str(tmp_path / "cut"), work=tmp_path / "w-2")
    windows = [json.loads(line) for line in (tmp_path / "cut" / "windows.jsonl").read_text().splitlines()]
    assert [w["pending_groups"] for w in windows] == [1, 0] and all("commit" in w for w in windows)
    cut = sorted((tmp_path / "cut" / "runs").glob("run-*"))
    assert not list((tmp_path / "cut" / "pending").glob("group-*"))
    assert [d.name for d in cut] == [d.name for d in ref]
    for a, b in zip(ref, cut):
        assert not list(b.glob("step_*.pt"))  # weights stay on the device
        pd.testing.assert_frame_equal(pd.read_parquet(a / "metrics.parquet"), pd.read_parquet(b / "metrics.parquet"))
    assert "done" in _queue("status", "--queue", str(tmp_path / "cut"), *TINY, work=tmp_path / "w-2")


def test_claims_read_the_queue_runs_once_stored_and_the_older_gpu_runs_until_then(tmp_path):
    from icmeta.analysis.claims import rate_runs
    from icmeta.experiments import load_queue_runs
    from icmeta.store.io import StoreError

    with pytest.raises(StoreError, match="gpu_queue.py") as e:
        load_queue_runs("fig16", ("heads=2",), root=tmp_path)
    assert "\n" not in str(e.value) and "9" not in str(e.value).split(":")[1][:3]
    # nothing of the queue is stored yet: the paper-rate column is the fig16_paper GPU check's
    sr = rate_runs("fig16", root=ROOT / "runs", labels=("heads=2",))["lr 0.01"]
    assert sr.sweep.name == "fig16_paper" and {m.config.train.kernels for m in sr.members} == {"compiled"}
