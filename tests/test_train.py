import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from icmeta.cli import build_configs, main as cli_main
from icmeta.config import ConfigError
from icmeta.train import load_or_train, log_schedule

TINY = ["--set", "steps=150", "--set", "batch_size=16", "--set", "eval_size=64", "--set", "K=16", "--set", "L=8"]


def values(run, seed):
    m = run.metrics[run.metrics.seed == seed].sort_values(["step", "metric", "layer", "head"])
    return m.reset_index(drop=True)


# the CPU default, and the GPU path's one-graph step with its counter-based stream run on the CPU
MODES = {"compiled": {}, "graph": {"kernels": "graph", "sampler": "counter"}}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.slow
def test_ensemble_equals_separate_runs(tiny, tmp_path, threads, mode):
    torch.set_num_threads(threads)
    kw = MODES[mode]
    together = load_or_train([tiny(0, **kw), tiny(1, T=2, eps=0.3, **kw), tiny(2, **kw)], root=tmp_path, progress=False)
    alone = load_or_train(tiny(1, T=2, eps=0.3, **kw), root=tmp_path, progress=False)
    a = together.metrics[together.metrics.seed == 1].drop(columns="member")
    b = alone.metrics.drop(columns="member")
    a = a.sort_values(["step", "metric", "layer", "head"]).reset_index(drop=True)
    b = b.sort_values(["step", "metric", "layer", "head"]).reset_index(drop=True)
    # bit for bit, compiled kernels included (on the CPU)
    assert together.config.train.kernels == kw.get("kernels", "compiled")
    pd.testing.assert_frame_equal(a, b)
    pa, pb = together.patterns("T=2,eps=0.3", 1), alone.patterns()
    assert (pa["mean"] == pb["mean"]).all() and (pa["steps"] == pb["steps"]).all()
    assert together.labels == ["T=3,eps=0.1", "T=2,eps=0.3", "T=3,eps=0.1"]


@pytest.mark.slow
def test_same_seeds_give_identical_metrics_and_stored_runs_are_reused(tiny, tmp_path):
    r1 = load_or_train([tiny(0), tiny(1)], root=tmp_path / "a", progress=False)
    r2 = load_or_train([tiny(0), tiny(1)], root=tmp_path / "b", progress=False)
    pd.testing.assert_frame_equal(r1.metrics, r2.metrics)
    mtime = (r1.directory / "metrics.parquet").stat().st_mtime_ns
    r3 = load_or_train([tiny(0), tiny(1)], root=tmp_path / "a", progress=False)
    assert (r1.directory / "metrics.parquet").stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(r1.metrics, r3.metrics)
    r4 = load_or_train([tiny(2), tiny(1)], root=tmp_path / "a", progress=False)
    assert r4.directory != r1.directory
    assert not r1.metrics.equals(r4.metrics)


def test_run_contents(tiny, tmp_path):
    run = load_or_train([tiny(0)], root=tmp_path, progress=False)
    assert list(run.metrics.columns) == ["member", "seed", "step", "metric", "layer", "head", "value"]
    names = set(run.metrics.metric)
    assert {"acc", "loss", "rla", "bigram", "label_attention", "chunk_example", "acc_task1", "chunk_example_pair4"} <= names
    info = run.info
    assert info["status"] == "complete" and run.wall_time_s > 0 and info["members"][0]["seeds"]["init"] >= 0
    assert len(set(info["members"][0]["seeds"].values())) == 3
    assert run.checkpoint_steps()[0] == 0 and run.checkpoint_steps()[-1] == 60
    assert run.patterns()["mean"].shape[1:] == (2, 1, 9, 9)
    assert set(run.ceilings()[0]) >= {"ignore", "labels", "pairs", "stderr"}
    assert run.load_models(60).blocks[0].W_QKV.shape == (1, 128, 384)


def test_training_learns_something(tiny, tmp_path):
    run = load_or_train(tiny(0, steps=300, T=1), root=tmp_path, progress=False)
    acc = run.metrics[run.metrics.metric == "acc"].sort_values("step").value.to_numpy()
    assert acc[0] < 0.3 and acc[-1] > 0.6  # T=1: the query's label is learnable in-weights


def test_log_schedule():
    s = log_schedule(1000, 4)
    assert s[:4] == [0, 1, 2, 3] and s[-1] == 1000 and 100 in s and 562 in s


def _cli(args, env, **kw):
    return subprocess.Popen([sys.executable, "-m", "icmeta", "train", "--no-progress", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.slow
def test_resume_after_kill_matches_uninterrupted_run(tmp_path, mode):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [*TINY, "--seeds", "0", "1", "--set", "steps=2000"]
    for k, v in MODES[mode].items():
        args += ["--set", f"{k}={v}"]
    ref = _cli([*args, "--out", str(tmp_path / "ref")], env)
    out, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err
    ref_dir = Path(out.strip().splitlines()[-1])
    cut = tmp_path / "cut"
    p = _cli([*args, "--out", str(cut), "--resume-every", "0"], env)
    deadline = time.time() + 600  # (compiling the graph kernels takes minutes on a busy machine)
    while time.time() < deadline and not list(cut.glob("*/step_00000100.pt")):
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    run_dir = next(cut.glob("run-*"))
    assert (run_dir / "resume.pt").exists() and not (run_dir / "metrics.parquet").exists()
    again = _cli([*args, "--out", str(cut)], env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert Path(out.strip().splitlines()[-1]).name == ref_dir.name
    a = pd.read_parquet(ref_dir / "metrics.parquet")
    b = pd.read_parquet(run_dir / "metrics.parquet")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "sets, field",
    [
        (["eps=-1"], "'eps'"),
        (["p_B=1.5"], "'p_B'"),
        (["N=40", "positions=offset"], "'N'"),
        (["T=9", "L=8", "task_maps=shift"], "'T'"),
        (["K=4"], "'K'"),
        (["heads=3"], "'heads'"),
        (["nonsense=1"], "unknown key 'nonsense'"),
        (["lr=fast"], "'lr'"),
        (["steps=2.5"], "'steps'"),
        (["steps=1e99"], "'steps'"),
        (["eval_every=50000"], "'eval_every'"),
        (["eps=1e300"], "'eps'"),
        (["alpha=50"], "'alpha'"),
        (["D=100000"], "'D'"),
        (["T=5000", "K=65536"], "'T'"),
        (["optimizer=rmsprop"], "'optimizer'"),
        (["attn_scale=half"], "'attn_scale'"),
        (["B=9"], "'B'"),
        (["eps"], "'--set'"),
        (["mask=scc", "layers=1"], "'mask'"),
        (["K=10", "L=8", "task_maps=disjoint"], "'K'"),
        (["K=4", "query=any"], "'K'"),
        (["K=1000000000"], "'K'"),
        (["init_seed=18446744073709551616"], "'init_seed'"),
        (["data_seed=10", "eval_seed=11"], "'seeds'"),
        (["eval_size=1000000", "N=32"], "'eval_size'"),
        (["batch_size=60000", "N=64", "K=128"], "'batch_size'"),
    ],
)
def test_validation_names_the_field_in_one_line(sets, field):
    with pytest.raises(ConfigError) as e:
        build_configs("fast", [0], sets)
    msg = str(e.value)
    assert field in msg and "allowed" in msg and "\n" not in msg


@pytest.mark.slow
def test_cli_validation_error_is_one_line_exit_2_and_writes_nothing(tmp_path):
    p = _cli(["--set", "steps=1e99", "--out", str(tmp_path / "store")], os.environ)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "'steps'" in err and "allowed" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


def test_bad_preset_and_seed(tmp_path, capsys):
    for args, field in ((["--preset", "huge"], "'preset'"), (["--seeds", "-3"], "'seed'")):
        assert cli_main(["train", *args, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert field in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_run_cut_at_a_step_equals_a_shorter_run(tiny, tmp_path):
    long = load_or_train(tiny(0, steps=120), root=tmp_path, progress=False)
    short = load_or_train(tiny(0, steps=50), root=tmp_path, progress=False)  # 50: a full-metrics step
    cut = long.until(50)
    pd.testing.assert_frame_equal(cut.metrics, short.metrics)
    assert cut.last_step == 50 and cut.patterns()["steps"].max() <= 50
    assert set(cut.patterns()["steps"]) <= set(short.patterns()["steps"])
