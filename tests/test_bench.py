"""`python -m icmeta bench`: its options fail in one line, its queue projection and its reference
loop compute what they say (nothing here times anything: the benchmark prints, tests do not assert
speeds)."""

from pathlib import Path

import pytest
import torch

from icmeta import bench
from icmeta.cli import main as cli_main

PLAN = Path(__file__).resolve().parents[1] / "runs" / "queue" / "plan.json"


@pytest.mark.parametrize("args, field", [
    (["--kernels", "graph", "--sampler", "generator"], "sampler"),
    (["--kernels", "fused"], "kernels"),
    (["--sampler", "philox"], "sampler"),
    (["--sizes", "0"], "sizes"),
])
def test_bad_options_are_one_line(args, field, capsys):
    assert cli_main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{field}'" in err


def test_queue_projection_scales_with_the_time_per_step(capsys):
    slow = bench.project_queue({16: 4e-3, 64: 5e-3, 256: 9e-3}, PLAN)
    fast = bench.project_queue({16: 2e-3, 64: 2.5e-3, 256: 4.5e-3}, PLAN)
    assert slow["members"] == fast["members"] > 0 and slow["model_steps"] > 1e6
    assert slow["serial_s"] == pytest.approx(2 * fast["serial_s"]) and slow["bound_s"] == pytest.approx(2 * fast["bound_s"])
    assert fast["bound_s"] < fast["serial_s"]
    assert "min one group after another" in capsys.readouterr().out


def test_the_authors_style_loop_trains_one_model():
    loop = bench.AuthorsStyleLoop()
    before = [p.detach().clone() for p in loop.params]
    loop.step(b=16)
    assert all(not torch.equal(a, p) for a, p in zip(before, loop.params) if p.requires_grad)
    assert loop.logits(*loop.loader.batch(4)[:2]).shape == (4, 32)
