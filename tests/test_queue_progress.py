"""What the book reads of the paper-rate queue while it trains: an unfinished group's resume state
read as runs (`icmeta.store.pending`), each member shown up to the step `shown.json` fixes
(`icmeta.experiments.queue.freeze`, `load_queue_progress`), and how closely `fast` stands in for
the paper's settings (`icmeta.analysis.proxy`), on synthetic curves where the answer is known."""

import json

import numpy as np
import pandas as pd
import pytest

from icmeta.analysis import proxy
from icmeta.config import Config
from icmeta.experiments import load_queue_progress
from icmeta.experiments import queue as Q
from icmeta.store.io import StoreError
from icmeta.store.pending import load_pending
from icmeta.train.loop import Stopped
from icmeta.train.runner import group_dir, train_group

TINY = {"steps": 200, "batch_size": 16, "eval_size": 64, "eval_every": 10, "kernels": "eager", "device": "cpu"}


def _queue(tmp_path):
    q = tmp_path / "queue"
    Q.write_plan([Q.Item("fig7a", ("T=1", "T=2"), (0,), "test")], q / "plan.json")
    return q, Q.queue_configs(Q.read_plan(q / "plan.json"), "cpu", TINY)


def _stop(cs, store, step):
    with pytest.raises(Stopped):
        train_group(cs, store, stop_at_step=step)


def test_a_pending_state_reads_as_the_finished_run_cut_at_its_step_and_the_book_stays_frozen(tmp_path):
    q, (a, b) = _queue(tmp_path)
    train_group([a], q / "runs")  # T=1: finished
    work = tmp_path / "work"
    _stop([b], work, 80)  # T=2: stopped at step 80, its state copied into the queue folder as a stretch leaves it
    pend = q / "pending" / group_dir([b], work).name
    pend.mkdir(parents=True)
    for f in ("resume.pt", "config.json", "ceilings.json"):
        (pend / f).write_bytes((group_dir([b], work) / f).read_bytes())
    (r,) = load_pending(pend)
    # trained to step 80; its last evaluation is the last one before (the state is saved after the update)
    assert r.info["status"] == "pending" and r.info["steps_done"] == 80 and 70 <= r.last_step < 80
    assert Config.from_dict(r.info["members"][0]["config"]) == b and r.labels == ["main"]
    shown = Q.freeze(q, overrides=TINY)
    assert sorted(shown["steps"].values()) == [r.last_step, 200] and sorted(shown["trained"].values()) == [80, 200]
    before = load_queue_progress("fig7a", ("T=1", "T=2"), (0,), root=tmp_path, overrides=TINY)
    assert [x.info["status"] for x in before.runs] == ["complete", "pending"]
    # the stretch goes on and commits a state further on: the book still shows what it showed, row for row
    _stop([b], work, 150)
    (pend / "resume.pt").write_bytes((group_dir([b], work) / "resume.pt").read_bytes())
    after = load_queue_progress("fig7a", ("T=1", "T=2"), (0,), root=tmp_path, overrides=TINY)
    pd.testing.assert_frame_equal(before.runs[1].metrics, after.runs[1].metrics)
    assert [(x.info["status"], x.info["steps_done"], x.info["wall_time_s"]) for x in after.runs] == \
        [(x.info["status"], x.info["steps_done"], x.info["wall_time_s"]) for x in before.runs]
    # ... and the finished run, cut at the shown step, is what the state showed
    train_group([b], work)
    # ... and once it has finished in the queue folder, still as it stood when frozen
    import shutil

    shutil.copytree(work / Q.run_name([b]), q / "runs" / Q.run_name([b]))
    finished = load_queue_progress("fig7a", ("T=1", "T=2"), (0,), root=tmp_path, overrides=TINY)
    frozen = Q.read_shown(q)  # T=1 complete when frozen, T=2 not, though the folder now holds it
    assert [Q.shown_complete(c, frozen) for c in (a, b)] == [True, False]
    pd.testing.assert_frame_equal(before.runs[1].metrics, finished.runs[1].metrics)
    assert finished.runs[1].info["status"] == "pending" and finished.runs[0].info["status"] == "complete"
    from icmeta.store.run import load_run

    full = load_run(work / Q.run_name([b]))
    cut = full.until(r.last_step).metrics.drop(columns="member").reset_index(drop=True)
    mine = before.runs[1].metrics.drop(columns="member").reset_index(drop=True)
    pd.testing.assert_frame_equal(cut, mine, check_dtype=False)
    # a claim about the full-pairs phase, read on a run still training below it: not measured, and says why
    from icmeta.analysis import claims
    from icmeta.experiments import Member, SweepRuns

    sr = SweepRuns(before.sweep, [Member("main", 0, b, ())], [before.runs[1]])
    (res,) = [x for x in claims.evaluate(claims.CLAIMS["table1.fcc_l1"], {"lr 0.01": sr}) if x.rate == "lr 0.01"]
    assert res.verdict.startswith(f"not measured (runs at step {before.runs[1].last_step:,}, still training")
    # a shown step the queue does not hold is refused in one line
    Q.freeze(q, overrides=TINY)  # shows T=2 finished ...
    shutil.rmtree(q / "runs" / Q.run_name([b]))  # ... which the queue folder no longer holds
    (pend / "resume.pt").write_bytes(b"not a state")
    with pytest.raises(StoreError, match="freeze") as e:
        load_queue_progress("fig7a", ("T=1", "T=2"), (0,), root=tmp_path, overrides=TINY)
    assert "\n" not in str(e.value)


def test_the_plan_table_counts_what_the_pages_were_executed_with(tmp_path):
    """Committing the queue's progress changes no page: the table and its numbers count the members
    `shown.json` froze complete, whatever the folder holds since (a clean clone failed nbval when
    they counted the folder)."""
    q = tmp_path / "queue"
    Q.write_plan([Q.Item("fig7a", ("T=1", "T=2"), (0,), "test")], q / "plan.json")
    a, b = Q.queue_configs(Q.read_plan(q / "plan.json"))
    assert Q.summary(q)["queue_done"] == 0
    (q / Q.SHOWN).write_text(json.dumps({"trained": {Q.run_name([a]): a.train.steps, Q.run_name([b]): 10}}))
    assert Q.summary(q)["queue_done"] == 1 and Q.plan_table(q).trained.tolist() == [1]
    (q / "runs" / Q.run_name([b])).mkdir(parents=True)  # b finishes in the folder: nothing shown changes
    assert Q.summary(q)["queue_done"] == 1 and Q.plan_table(q).trained.tolist() == [1]
    # a member frozen complete on the other device counts too
    (q / Q.SHOWN).write_text(json.dumps({"trained": {Q.run_name([Q.twin(b)]): b.train.steps}}))
    assert Q.summary(q)["queue_done"] == 1


def test_nothing_shown_is_one_line(tmp_path):
    _queue(tmp_path)
    with pytest.raises(StoreError, match="queue run") as e:
        load_queue_progress("fig7a", ("T=1",), (0,), root=tmp_path, overrides=TINY)
    assert "\n" not in str(e.value)


def _curve(midpoints, steps, heights=(0.35, 0.8, 1.0), width=0.08):
    """Accuracy as steps of logistic rises in log10(step) at `midpoints` (clock steps)."""
    x = np.log10(steps)
    acc = np.full_like(x, 0.05, dtype=float)
    lo = 0.05
    for m, h in zip(midpoints, heights):
        acc += (h - lo) / (1 + np.exp(-(x - np.log10(m)) / width))
        lo = h
    return acc


def _rows(steps, acc):
    return pd.DataFrame({"step": steps, "value": acc})


def test_the_proxy_reads_one_clock_as_one_and_a_slower_run_as_slower():
    fast_steps = np.arange(0, 40_001, 10)
    paper_steps = np.arange(0, 400_001, 100)
    mids = (2e3, 2e4, 1e5)
    fast = _rows(fast_steps, _curve(mids, np.maximum(fast_steps * 10, 1)))
    # the same curve on the paper's clock: gap 0, every ratio 1
    same = proxy.compare(_rows(paper_steps, _curve(mids, np.maximum(paper_steps, 1))), fast, 0.01, 0.1)
    assert same["gap"] < 1e-9
    assert all(abs(same[f"ratio at {lv:g}"] - 1) < 1e-6 for lv in proxy.LEVELS)
    # every event twice as late at the paper's settings: ratios 2, and a large gap
    slow = proxy.compare(_rows(paper_steps, _curve([2 * m for m in mids], np.maximum(paper_steps, 1))), fast, 0.01, 0.1)
    assert all(abs(slow[f"ratio at {lv:g}"] - 2) < 0.05 for lv in proxy.LEVELS)
    assert slow["gap"] > 0.3
    # a run cut before the last jump: the levels it has not reached are not measured
    cut = paper_steps[paper_steps <= 60_000]
    short = proxy.compare(_rows(cut, _curve(mids, np.maximum(cut, 1))), fast, 0.01, 0.1)
    assert np.isnan(short["ratio at 0.95"]) and abs(short["ratio at 0.5"] - 1) < 1e-6
    assert short["paper steps"] == 60_000


def test_the_proxy_summary_counts_only_the_seeds_that_reached_a_level():
    t = pd.DataFrame({"seed": [0, 1], "gap": [0.05, 0.1], **{f"ratio at {lv:g}": [1.0, np.nan] for lv in proxy.LEVELS}})
    s = proxy.summary(t)
    assert s["proxy_seeds"] == 2 and s["proxy_gap_max"] == "0.10" and s["proxy_ratio_95_n"] == 1
    assert proxy.summary(t.assign(**{"ratio at 0.95": np.nan}))["proxy_ratio_95"] == "not reached"
