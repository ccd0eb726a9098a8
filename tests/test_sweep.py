"""The sweep runner: expansion, labels, grouping, executors (local = Dask = alone), resume, failures."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from icmeta.config import ConfigError, flatten
from icmeta.store import StoreError, find_run, load_run
from icmeta.experiments import SWEEPS, Sweep, load_sweep
from icmeta.experiments.sweeps import Axis, parse_vary
from icmeta.train import load_or_train
from icmeta.train.runner import group_dir, plan_groups, run_sweep, train_group

TINY = (("steps", 60), ("batch_size", 16), ("eval_size", 64), ("eval_every", 10), ("K", 16), ("L", 8))


def tiny_sweep(*axes, name="t", **fixed):
    return Sweep(name, tuple(axes), TINY + tuple(fixed.items()))


def member_metrics(run):
    return run.metrics.sort_values(["step", "metric", "layer", "head"]).reset_index(drop=True)


# ------------------------------------------------------------------ expansion and labels

def test_expansion_labels_and_order():
    sw = Sweep("s", parse_vary(["K=32,64", "eps=0.5,1"]))
    ms = sw.members("fast", seeds=[0, 1])
    assert [m.label for m in ms[::2]] == ["K=32,eps=0.5", "K=32,eps=1", "K=64,eps=0.5", "K=64,eps=1"]
    assert [m.seed for m in ms[:4]] == [0, 1, 0, 1]  # seeds inside each point
    assert ms[3].config.task.K == 32 and ms[3].config.task.eps == 1.0 and ms[3].config.train.steps == 15_000
    assert ms[0].setting == (("K", 32), ("eps", 0.5))
    # values are typed like --set: "1" and "1.0" are the same point, labelled the same
    assert Sweep("s", parse_vary(["eps=1.0"])).members("fast", [0])[0].label == "eps=1"
    tied = Sweep("s", (Axis.tied(["K", "L"], [8, 16]),), (("task_maps", "disjoint"), ("T", 2)))
    m = tied.members("fast", [0])
    assert [x.label for x in m] == ["K=L=8", "K=L=16"] and m[1].config.task.L == 16
    assert Sweep("s").members("fast", [0, 1])[0].label == "main"


def test_bad_sweeps_are_one_line_errors():
    with pytest.raises(ConfigError, match="'K'.*N\\+1"):
        Sweep("s", parse_vary(["K=3"])).members("fast", [0])
    with pytest.raises(ConfigError, match="unknown key 'Q'"):
        parse_vary(["Q=1,2"])
    with pytest.raises(ConfigError, match="'eps'.*a number"):
        parse_vary(["eps=0.1,x"])
    with pytest.raises(ConfigError, match="one --vary per field"):
        parse_vary(["K=32", "K=64"])
    with pytest.raises(ConfigError, match="distinct values"):
        parse_vary(["K=32,32"])
    with pytest.raises(ConfigError, match="not both"):
        Sweep("s", parse_vary(["K=32"])).members("fast", [0], overrides={"K": 64})
    with pytest.raises(ConfigError, match="distinct"):
        Sweep("s").members("fast", [0, 0])
    with pytest.raises(ConfigError, match="executor"):
        run_sweep([], executor="ray")


def test_book_sweeps_expand_and_share_members():
    names = {n: {m.config for m in s.members("fast")} for n, s in SWEEPS.items()}
    assert len(SWEEPS["fig7b"].members("fast")) == 18
    # the default setting is one stored model, whichever figure asks for it (at each length)
    assert names["fig7a"] & names["fig7c"] & names["fig7d"] & names["fig7e"] & names["fig13"] & names["fig15b"]
    assert names["fig7b"] & names["phase_diagram"] & names["fig18"]  # the 40,000-step ones: the main run's seeds
    assert all(c.model.mask == "scc" and c.task.K == c.task.L for c in names["fig5"])


def test_lr_checks_retrain_their_base_settings_at_a_lower_lr_and_only_at_fast():
    from icmeta.experiments.sweeps import LR_CHECK

    checks = {n: s for n, s in SWEEPS.items() if s.base}
    assert set(checks) == {"fig7a_lr", "fig7b_lr", "fig7c_lr", "fig7d_lr", "fig12_lr", "fig16_lr", "fig19_lr", "fig22_lr"}
    for name, check in checks.items():
        base = {(m.label, m.seed): m for m in SWEEPS[check.base].members("fast")}
        for m in check.members("fast"):
            b = base[m.label, m.seed]  # same label, setting and seed ...
            assert m.setting == b.setting and m.config.train.lr == LR_CHECK < b.config.train.lr
            # ... and nothing else changed but the rate and the length
            assert flatten(replace(m.config, train=b.config.train)) == flatten(b.config)
        with pytest.raises(ConfigError, match=f"at paper train {check.base} itself"):
            check.members("paper")


def test_grouping_is_deterministic_and_respects_what_must_be_shared(tiny):
    cs = [tiny(s, K=k) for k in (16, 32) for s in (0, 1, 2)] + [tiny(0, L=4), tiny(0, lr=0.05, eval_every=0), tiny(0, lr=0.05), tiny(0, K=16)]
    groups = plan_groups(cs, 4)
    assert plan_groups(cs, 4) == groups
    sizes = sorted(len(g) for g in groups)
    assert sizes == [1, 1, 3, 4]  # seven compatible (lr may differ; duplicate dropped), L=4 alone, eval interval 20 alone
    assert all(len({c.task.L for c in g}) == 1 and len({c.train.eval_interval for c in g}) == 1 for g in groups)
    assert len(plan_groups(cs, 1)) == 9
    with pytest.raises(ConfigError, match="group-size"):
        plan_groups(cs, 0)


# ------------------------------------------------------------ grouping changes nothing

@pytest.mark.slow
def test_grouping_and_executor_never_change_a_member(tmp_path):
    sw = tiny_sweep(Axis.of("K", [16, 32]), Axis.of("eps", [0.1, 0.5]))
    members = sw.members("fast", seeds=[0, 1])
    grouped = run_sweep(members, root=tmp_path / "grouped", group_size=3, workers=2, progress=False)
    dask = run_sweep(members, root=tmp_path / "dask", executor="dask", group_size=2, workers=2, progress=False)
    assert grouped.ok and dask.ok and grouped.trained == dask.trained == 8
    # one run folder per member, named by its config only
    assert [d.name for d in grouped.directories] == [d.name for d in dask.directories]
    assert len(set(grouped.directories)) == 8
    assert not list((tmp_path / "grouped").glob("group-*"))  # groups are split and removed
    m = members[5]  # K=32,eps=0.1 seed 1
    alone = load_or_train([m.config], root=tmp_path / "alone", progress=False)
    for res in (grouped, dask):
        run = load_run(res.directories[5])
        assert run.labels == ["main"] and run.info["trained_in"]["members"] in (2, 3)
        pd.testing.assert_frame_equal(member_metrics(run), member_metrics(alone))  # bit for bit
        assert (run.patterns()["mean"] == alone.patterns()["mean"]).all()
        assert run.ceilings() == alone.ceilings()
        w, wa = run.load_models(60).state_dict(), alone.load_models(60).state_dict()
        assert all((w[k] == wa[k]).all() for k in wa)
    # stored members are found, not retrained
    again = run_sweep(members, root=tmp_path / "grouped", progress=False)
    assert again.trained == 0 and again.directories == grouped.directories
    # the labels belong to the sweep: the same stored models under another sweep's names
    runs = load_sweep(sw, "fast", [0, 1], root=tmp_path / "grouped")
    acc = runs.frame("acc")
    assert set(acc.label) == {"K=16,eps=0.1", "K=16,eps=0.5", "K=32,eps=0.1", "K=32,eps=0.5"}
    assert {"K", "eps", "seed", "step", "value"} <= set(acc.columns)


@pytest.mark.slow
def test_missing_members_are_named_in_one_line(tmp_path):
    sw = tiny_sweep(Axis.of("K", [16, 32]), name="fig_t")
    run_sweep(sw.members("fast", [0])[:1], root=tmp_path, progress=False)
    with pytest.raises(StoreError) as e:
        load_sweep(sw, "fast", [0], root=tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "1 of 2 runs not stored (K=32 seed 0)" in msg and "python -m icmeta sweep fig_t" in msg


@pytest.mark.slow
def test_a_failing_group_is_reported_and_the_others_finish(tmp_path):
    sw = tiny_sweep(Axis.of("L", [4, 8]))  # L differs: two groups
    members = sw.members("fast", [0], overrides={"kernels": "eager"})
    from icmeta.train.runner import member_dir

    member_dir(members[0].config, tmp_path).parent.mkdir(parents=True, exist_ok=True)
    member_dir(members[0].config, tmp_path).write_text("not a folder")  # its group cannot write there
    res = run_sweep(members, root=tmp_path, workers=2, progress=False)
    assert not res.ok and res.failures[0][0] == ["L=4 seed 0"] and "Error" in res.failures[0][1]
    assert res.directories[0] is None and find_run([members[1].config], tmp_path) is not None


@pytest.mark.slow
def test_a_group_cut_while_being_split_is_split_not_retrained(tmp_path):
    from icmeta.train import prepare
    from icmeta.train.loop import Trainer

    cs = prepare([m.config for m in tiny_sweep(Axis.of("eps", [0.1, 0.5])).members("fast", [0])])
    gdir = group_dir(cs, tmp_path)
    Trainer(cs, gdir).run()  # trained, never split
    made = (gdir / "metrics.parquet").stat().st_mtime_ns
    dirs = train_group(cs, tmp_path)
    assert all(find_run([c], tmp_path) is not None for c in cs) and not gdir.exists()
    assert made < (Path(dirs[0]) / "metrics.parquet").stat().st_mtime_ns


# --------------------------------------------------------------------------- resume

def _sweep_cli(root, *extra):
    args = [sys.executable, "-m", "icmeta", "sweep", "--vary", "eps=0.1,0.5", "--seeds", "0", "1", "--no-progress",
            "--set", "steps=4000", "--set", "batch_size=16", "--set", "eval_size=64", "--set", "K=16", "--set", "L=8",
            "--set", "eval_every=50", "--group-size", "2", "--workers", "2", "--resume-every", "0.5",
            "--out", str(root), *extra]
    return args


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_ends_with_the_same_results(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    full = subprocess.run(_sweep_cli(tmp_path / "full"), capture_output=True, text=True, env=env, timeout=900)
    assert full.returncode == 0, full.stderr[-2000:]
    cut = tmp_path / "cut"
    p = subprocess.Popen(_sweep_cli(cut), env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and not list(cut.glob("group-*/resume.pt")):
        time.sleep(0.05)
    # killed as soon as a resume state exists (written atomically, so whole): waiting longer let a
    # fast machine finish the group first, and the test then failed without a resume to check
    os.killpg(p.pid, signal.SIGKILL)  # the sweep and its workers, mid-training
    p.wait()
    assert list(cut.glob("group-*/resume.pt")), "the sweep was not cut mid-training"
    again = subprocess.run(_sweep_cli(cut), capture_output=True, text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    a = full.stdout.split()
    b = again.stdout.split()
    assert [Path(x).name for x in a] == [Path(x).name for x in b] and len(a) == 4
    for x, y in zip(a, b):
        rx, ry = load_run(x), load_run(y)
        pd.testing.assert_frame_equal(member_metrics(rx), member_metrics(ry))
        assert len(ry.info["segments"]) >= 1
    assert any(len(load_run(y).info["segments"]) == 2 for y in b)  # at least one group resumed


def test_sweep_command_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    from icmeta import cli

    out = tmp_path / "runs"
    for argv, want in ((["sweep", "fig99"], "'sweep'"), (["sweep", "--vary", "eps=0.1,x"], "'eps'"),
                       (["sweep", "fig7a", "--vary", "T=1"], "'vary'"), (["sweep", "--vary", "K=32", "--executor", "ray"], "'executor'"),
                       (["sweep", "--vary", "K=32", "--scheduler", "tcp://x:1"], "'scheduler'"),
                       (["sweep", "--vary", "K=32", "--set", "K=64"], "not both"),
                       (["sweep", "--vary", "K=32", "--workers", "0"], "'workers'")):
        assert cli.main([*argv, "--out", str(out), "--no-progress"]) == 2, argv
        err = capsys.readouterr().err
        assert want in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert not out.exists() or not any(out.iterdir())


def test_the_book_draws_exactly_the_sweeps_make_runs_trains():
    import re

    from icmeta.experiments import IN_BOOK
    from icmeta.experiments.sweeps import FOR_CLAIMS

    book = Path(__file__).resolve().parents[1] / "book"
    text = "".join(p.read_text() for p in book.glob("*.ipynb"))
    drawn = set(re.findall(r'load_(?:sweep|lr_check)\(\\"(\w+)\\"', text))
    # every sweep of the book is drawn, and a page draws only what `make runs` trains (the ten-seed
    # sweeps the claims read are trained at `fast` too)
    assert set(IN_BOOK) <= set(SWEEPS) and set(IN_BOOK) <= drawn <= set(IN_BOOK) | set(FOR_CLAIMS)


@pytest.mark.slow
def test_a_sweep_submits_to_a_running_dask_scheduler(tmp_path):
    from distributed import LocalCluster

    sw = tiny_sweep(Axis.of("eps", [0.1, 0.5]))
    members = sw.members("fast", [0], overrides={"kernels": "eager"})
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = run_sweep(members, root=tmp_path, executor="dask", scheduler=cluster.scheduler_address, progress=False)
    assert res.ok and res.trained == 2 and all(d is not None for d in res.directories)
    alone = load_or_train([members[1].config], root=tmp_path / "alone", progress=False)
    pd.testing.assert_frame_equal(member_metrics(load_run(res.directories[1])), member_metrics(alone))


def test_gpu_checks_are_the_base_sweeps_settings_at_the_paper_preset_read_from_runs_gpu(tmp_path):
    from icmeta.store import StoreError
    from icmeta.experiments import GPU_CHECKS, load_gpu_check

    check = GPU_CHECKS["fig16_paper"]
    paper = {(m.label, m.seed): m for m in SWEEPS["fig16"].members("paper", device="cuda")}
    members = check.members()
    assert {m.label for m in members} == {"heads=2", "heads=4"} and len(members) == 6
    for m in members:  # the paper preset's member of Fig. 16, at the length the device time allowed
        b = paper[m.label, m.seed]
        assert m.config.train.lr == 0.01 and m.config.train.steps == dict(check.steps)[m.label]
        assert flatten(replace(m.config, train=replace(m.config.train, steps=b.config.train.steps))) == flatten(b.config)
    # the committed runs (runs/gpu/fig16_paper/), made on a GPU with these configs
    sr = load_gpu_check("fig16_paper", root=Path(__file__).resolve().parents[1] / "runs" / "gpu" / "fig16_paper")
    assert [r.config for r in sr.runs] == [m.config for m in members]
    assert all(r.info["segments"][-1]["device"] == "cuda" for r in sr.runs)
    with pytest.raises(StoreError, match="device_sweep.py OUT SECONDS --preset paper --vary heads=4 --set steps=100000"):
        load_gpu_check("fig16_paper", root=tmp_path)
    with pytest.raises(ConfigError, match="fig16_paper"):
        load_gpu_check("fig99")


@pytest.mark.slow
def test_a_killed_dask_worker_loses_nothing(tmp_path):
    """A Dask worker killed (SIGKILL) in the middle of a group: the scheduler gives the group to the
    worker its nanny restarts, which resumes from the group's state in the store; the sweep finishes
    with the metrics of an uninterrupted local run."""
    import threading

    from distributed import Client, LocalCluster

    sw = tiny_sweep(Axis.of("eps", [0.1]), steps=1500)
    members = sw.members("fast", [0, 1], overrides={"kernels": "eager"})
    ref = run_sweep(members, root=tmp_path / "local", workers=1, progress=False)
    root = tmp_path / "dask"
    out = {}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        sweep = threading.Thread(target=lambda: out.update(res=run_sweep(
            members, root=root, executor="dask", scheduler=cluster.scheduler_address, progress=False,
            resume_every_s=0.2, poll_s=0.2)))
        sweep.start()
        deadline = time.time() + 600
        while time.time() < deadline and not list(root.glob("*/resume.pt")):
            time.sleep(0.05)
        assert list(root.glob("*/resume.pt")), "no resume state written"
        assert not any((root / d.name / "metrics.parquet").exists() for d in ref.directories)  # mid-group
        killed = client.run(os.getpid)  # {worker address: pid}
        for pid in killed.values():
            os.kill(pid, signal.SIGKILL)
        sweep.join(timeout=900)
        assert set(client.run(os.getpid).values()).isdisjoint(killed.values())  # the worker was replaced
    res = out["res"]
    assert res.ok and res.trained == 2, res.failures
    for a, b in zip(ref.directories, res.directories):
        pd.testing.assert_frame_equal(member_metrics(load_run(a)), member_metrics(load_run(b)))
