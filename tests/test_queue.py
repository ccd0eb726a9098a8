"""The paper-rate queue (`icmeta.experiments.queue`, `icmeta.train.queue_worker`, `python -m icmeta
queue`): its plan from the claims; a CPU window killed with SIGKILL mid-training and resumed on a
fresh machine from what the queue folder kept; and the whole round trip a lent GPU runs
(`scripts/gpu_queue.py`), tried on the CPU with tiny steps. Every cut run ends with the metrics
of an uncut one."""

import json
import os
import signal
import subprocess
import sys
import time
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
AS_GPU = ["--group-size", "256"]  # the round trip of a GPU window: its members in one group
# the CPU test: op by op (no compile time), long enough to be killed mid-training
SMALL = ["--set", "steps=600", "--set", "batch_size=16", "--set", "eval_size=64", "--set", "eval_every=10",
         "--set", "kernels=eager"]


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
    _queue("run", str(tmp_path / "out-ref"), "600", "--queue", str(tmp_path / "ref"), *TINY, *AS_GPU, work=tmp_path / "w-ref")
    _queue("unpack", str(tmp_path / "out-ref"), "--queue", str(tmp_path / "ref"), work=tmp_path / "w-ref")
    ref = sorted((tmp_path / "ref" / "runs").glob("run-*"))
    assert len(ref) == 2 and not list((tmp_path / "ref" / "pending").glob("*"))
    # window 1 stops every group at step 60; what comes back is at most 8 files, 64 MiB
    out1 = tmp_path / "out-1"
    log = _queue("run", str(out1), "600", "--queue", str(tmp_path / "cut"), *TINY, *AS_GPU, "--stop-at-step", "60",
                 work=tmp_path / "w-1")
    assert "stopped at step 60" in log
    sent = list(out1.iterdir())
    assert len(sent) <= 8 and sum(f.stat().st_size for f in sent) <= 64 * 2**20
    _queue("unpack", str(out1), "--queue", str(tmp_path / "cut"), work=tmp_path / "w-1")
    pending = list((tmp_path / "cut" / "pending").glob("group-*"))
    assert len(pending) == 1 and (pending[0] / "resume.pt").exists()
    assert not list((tmp_path / "cut" / "runs").glob("run-*")) if (tmp_path / "cut" / "runs").exists() else True
    assert "60 / 120 steps  pending" in _queue("status", "--queue", str(tmp_path / "cut"), *TINY, work=tmp_path / "w-1")
    # window 2, on a fresh machine (another work folder): resumes and finishes
    out2 = tmp_path / "out-2"
    _queue("run", str(out2), "600", "--queue", str(tmp_path / "cut"), *TINY, *AS_GPU, work=tmp_path / "w-2")
    _queue("unpack", str(out2), "--queue", str(tmp_path / "cut"), work=tmp_path / "w-2")
    windows = [json.loads(line) for line in (tmp_path / "cut" / "windows.jsonl").read_text().splitlines()]
    assert [w["pending"] for w in windows] == [1, 0] and all("commit" in w for w in windows)
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

    with pytest.raises(StoreError, match="icmeta queue run") as e:
        load_queue_runs("fig16", ("heads=2",), root=tmp_path)
    assert "\n" not in str(e.value) and "9" not in str(e.value).split(":")[1][:3]
    # nothing of the queue is stored yet: the paper-rate column is the fig16_paper GPU check's
    sr = rate_runs("fig16", root=ROOT / "runs", labels=("heads=2",))["lr 0.01"]
    assert sr.sweep.name == "fig16_paper" and {m.config.train.kernels for m in sr.members} == {"compiled"}


def _cli(*args, work, **kw):
    env = {**os.environ, "ICMETA_QUEUE_WORK": str(work), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "icmeta", "queue", *args], env=env, capture_output=True, text=True,
                          timeout=600, **kw)


def test_deadlines_read_a_time_of_day_or_a_duration_and_refuse_anything_else():
    from datetime import datetime

    from icmeta.queue_cli import parse_deadline

    now = datetime(2026, 12, 7, 20, 0, 0).timestamp()
    assert parse_deadline("22:30", None, now) - now == 2.5 * 3600
    assert parse_deadline("19:00", None, now) - now == 23 * 3600  # the next 19:00: tomorrow
    for text, seconds in (("2h30m", 9000), ("90m", 5400), ("560s", 560), ("560", 560), ("1h", 3600)):
        assert parse_deadline(None, text, now) - now == seconds
    for until, dur, field in (("24:00", None, "'until'"), ("7pm", None, "'until'"), (None, "soon", "'for'"),
                              (None, "0s", "'for'"), (None, None, "'until/for'"), ("20:00", "1h", "'until/for'")):
        with pytest.raises(ConfigError, match=field):
            parse_deadline(until, dur, now)


def test_queue_command_errors_are_one_line(tmp_path):
    Q.write_plan([Q.Item("fig7a", ("T=1",), (0,), "test")], tmp_path / "q" / "plan.json")
    for args, want in ((["run", "--for", "1m", "--queue", str(tmp_path / "none")], "'plan'"),
                       (["run", "--for", "1m", "--queue", str(tmp_path / "q"), "--set", "K=0"], "'K'"),
                       (["run", "--for", "1m", "--queue", str(tmp_path / "q"), "--workers", "0"], "'workers'"),
                       (["run", "--until", "9", "--queue", str(tmp_path / "q")], "'until'"),
                       (["status", "--queue", str(tmp_path / "q"), "--device", "tpu"], "'device'")):
        p = _cli(*args, work=tmp_path / "w")
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and want in p.stderr, (args, p.stderr)
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_a_cpu_window_killed_mid_training_resumes_on_a_fresh_machine_and_ends_as_an_uncut_run(tmp_path):
    plan = [Q.Item("fig7a", ("T=1", "T=2"), (0,), "test")]
    for name in ("ref", "cut"):
        Q.write_plan(plan, tmp_path / name / "plan.json")
    ref = _cli("run", "--for", "600s", "--queue", str(tmp_path / "ref"), *SMALL, work=tmp_path / "w-ref")
    assert ref.returncode == 0, ref.stdout + ref.stderr
    assert "git add" in ref.stdout  # it says what to commit
    ref_runs = sorted((tmp_path / "ref" / "runs").glob("run-*"))
    assert len(ref_runs) == 2 and not list((tmp_path / "ref" / "pending").glob("group-*"))
    # a window killed (SIGKILL: parent and workers) as soon as the queue folder holds a state
    cut = tmp_path / "cut"
    env = {**os.environ, "ICMETA_QUEUE_WORK": str(tmp_path / "w-1"), "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "icmeta", "queue", "run", "--for", "600s", "--queue", str(cut), *SMALL,
                          "--resume-every", "0.2", "--sync-every", "0.3"], env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and not list(cut.glob("pending/group-*/resume.pt")):
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    assert list(cut.glob("pending/group-*/resume.pt")), "the window was not cut mid-training"
    status = _cli("status", "--queue", str(cut), *SMALL, work=tmp_path / "w-1").stdout
    assert "pending" in status and "steps/s" in status
    # the next stretch on a fresh machine: only the queue folder travels (the work store is gone)
    again = _cli("run", "--for", "600s", "--queue", str(cut), *SMALL, work=tmp_path / "w-2")
    assert again.returncode == 0, again.stdout + again.stderr
    cut_runs = sorted((cut / "runs").glob("run-*"))
    assert [d.name for d in cut_runs] == [d.name for d in ref_runs]
    assert not list(cut.glob("pending/group-*"))  # states leave the repository when their runs finish
    segments = []
    for a, b in zip(ref_runs, cut_runs):
        assert not list(b.glob("step_*.pt"))  # weights are not kept
        pd.testing.assert_frame_equal(pd.read_parquet(a / "metrics.parquet"), pd.read_parquet(b / "metrics.parquet"))
        info = json.loads((b / "config.json").read_text())
        assert info["status"] == "complete" and all("device_name" in s and "wall_time_s" in s for s in info["segments"])
        segments.append(len(info["segments"]))
    assert max(segments) == 2  # at least one member resumed from the killed window's state
    windows = [json.loads(line) for line in (cut / "windows.jsonl").read_text().splitlines()]
    assert windows[-1]["finished"] == 2 and windows[-1]["pending"] == 0
    assert "2 done" in _cli("status", "--queue", str(cut), *SMALL, work=tmp_path / "w-2").stdout


def test_background_returns_at_once_and_the_worker_logs_where_it_says(tmp_path):
    Q.write_plan([Q.Item("fig7a", ("T=1",), (0,), "test")], tmp_path / "q" / "plan.json")
    # a window shorter than the time kept for saving states starts no group: the worker only logs and exits
    p = _cli("run", "--for", "5s", "--queue", str(tmp_path / "q"), *SMALL, "--background", work=tmp_path / "w")
    assert p.returncode == 0 and "background (pid" in p.stdout, p.stdout + p.stderr
    log = tmp_path / "w" / "worker.log"
    assert str(log) in p.stdout
    deadline = time.time() + 120
    while time.time() < deadline and "commit what it left" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.2)
    text = log.read_text()
    assert "groups not started before the deadline" in text and "commit what it left" in text
