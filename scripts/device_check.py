"""GPU check, run on a lent GPU machine: `PYTHONPATH=src python3 scripts/device_check.py OUTDIR`.

1. trains a small run on the CPU and on the GPU and compares them (the GPU path must agree
   with the CPU path up to floating-point differences);
2. checks ensemble == separate on the GPU;
3. times the `paper` preset (3 seeds together) for a slice of its 4x10^5 steps and
   extrapolates; prints everything.
"""

import sys
import time
from pathlib import Path

import torch

from icmeta.config import preset
from icmeta.train import load_or_train

out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/device-check")
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0))
torch.set_num_threads(1)

tiny = dict(steps=1500, batch_size=64, eval_size=512, lr=0.1, K=32, L=16)
res = {}
for dev in ("cpu", "cuda"):
    t = time.time()
    run = load_or_train([preset("fast", seed=0, device=dev, **tiny)], root=out / dev, progress=False)
    acc = run.metrics[run.metrics.metric == "acc"].sort_values("step")
    res[dev] = acc.set_index("step").value
    print(f"{dev}: {time.time() - t:.1f} s, final acc {acc.value.iloc[-1]:.4f}")
diff = (res["cpu"] - res["cuda"]).abs()
print(f"cpu vs cuda accuracy: max |diff| over {len(diff)} evaluations {diff.max():.4f}, at the end {diff.iloc[-1]:.4f}")

a = load_or_train([preset("fast", seed=s, device="cuda", **{**tiny, "steps": 200}) for s in (0, 1, 2)], root=out / "ens", progress=False)
b = load_or_train(preset("fast", seed=1, device="cuda", **{**tiny, "steps": 200}), root=out / "alone", progress=False)
ma = a.metrics[a.metrics.seed == 1].sort_values(["step", "metric", "layer", "head"]).value.to_numpy()
mb = b.metrics.sort_values(["step", "metric", "layer", "head"]).value.to_numpy()
print(f"cuda ensemble vs alone (seed 1, 200 steps): max |diff| {abs(ma - mb).max():.2e}")

steps = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
t = time.time()
run = load_or_train([preset("paper", seed=s, device="cuda", steps=steps) for s in (0, 1, 2)], root=out / "paper", progress=False)
wall = time.time() - t
print(f"paper preset, 3 seeds together on cuda: {steps} steps in {wall:.1f} s ({steps / wall:.0f} steps/s incl. evaluation);"
      f" 4x10^5 steps would take ~{4e5 / steps * wall / 60:.0f} min")
acc = run.metrics[run.metrics.metric == "acc"].groupby("seed").apply(lambda g: g.sort_values("step").value.iloc[-1])
print("paper preset accuracy at the end of the slice:", acc.round(3).to_dict())
