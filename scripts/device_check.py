"""Run on a lent GPU machine: ``python3 scripts/device_check.py OUT [SECONDS]``.

One prepared script for the little device time a session gets (see DEVELOPERS.md):

1. smoke: a small 3-seed run, compiled with CUDA graphs (``reduce-overhead``); if that fails,
   the same with ``ICMETA_COMPILE_MODE=default`` (fused kernels, no graphs). The mode that
   worked is used below and recorded in each training segment.
2. the `paper` preset, 3 seeds x 4x10^5 steps, into OUT/runs (a state carried in
   ``runs/gpu-wip/`` is copied there first and resumed), until it completes or SECONDS
   (default 570) have passed since the start; the resume state, saved every 20 s, then
   comes back in OUT for the next call.
3. once the run is complete, in the time left: ``python -m icmeta bench --device cuda`` for the
   sizes in ``ICMETA_BENCH_SIZES`` (default "1 16"), numbers also in OUT/bench-cuda.json.

Each phase runs in its own process with a time limit, so one failure does not lose the rest.
Everything that should come back (the run folder without its weights, with the resume state
if unfinished; logs; bench numbers) is packed into OUT/device.tar.gz: the device tool returns
at most 8 files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

T0 = time.time()
final = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/device-check").resolve()
deadline = float(sys.argv[2]) if len(sys.argv) > 2 else 540.0
out = Path("/tmp/device-work")
out.mkdir(parents=True, exist_ok=True)
final.mkdir(parents=True, exist_ok=True)
env = {**os.environ, "PYTHONPATH": "src", "PYTHONUNBUFFERED": "1"}
py = sys.executable


def left() -> float:
    return deadline - (time.time() - T0)


def phase(name: str, args: list[str], limit: float, extra_env: dict | None = None) -> bool:
    limit = min(limit, left())
    if limit < 10:
        print(f"[{name}] skipped: {limit:.0f} s left", flush=True)
        return False
    t = time.time()
    print(f"[{name}] start ({limit:.0f} s limit): {' '.join(args)}", flush=True)
    try:
        r = subprocess.run([py, *args], env={**env, **(extra_env or {})}, timeout=limit,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ok, text = r.returncode == 0, r.stdout
    except subprocess.TimeoutExpired as e:
        ok, text = False, (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        text += "\n(time limit reached)"
    (out / f"{name}.log").write_text(text)
    lines = [l for l in text.splitlines() if not l.startswith(("W1", "E1", "I1", "USDT"))]
    print("\n".join(lines[-40:]), flush=True)
    print(f"[{name}] {'ok' if ok else 'FAILED'} in {time.time() - t:.0f} s", flush=True)
    return ok


print(f"device check, deadline {deadline:.0f} s", flush=True)
subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,clocks.max.sm", "--format=csv"])

small = ["-m", "icmeta", "train", "--preset", "paper", "--seeds", "0", "1", "2", "--no-progress",
         "--set", "device=cuda", "--set", "steps=3000", "--set", "eval_size=512", "--out", str(out / "smoke")]
mode = {}
if not (out / "runs").exists() and Path("runs/gpu-wip").exists():
    shutil.copytree("runs/gpu-wip", out / "runs")
resuming = (out / "runs").exists()
bench = ["-m", "icmeta", "bench", "--device", "cuda", "--quick", "--sizes",
         *os.environ.get("ICMETA_BENCH_SIZES", "1 16").split(), "--json", str(out / "bench-cuda.json")]
benched = False
if resuming:  # the bench (CUDA graphs) doubles as the smoke test
    print("resuming a carried run", flush=True)
    benched = phase("bench", bench, 120, {"ICMETA_COMPILE_MODE": "reduce-overhead"})
    mode = {"ICMETA_COMPILE_MODE": "reduce-overhead" if benched else "default"}
elif phase("smoke-reduce-overhead", small, 150):
    mode = {"ICMETA_COMPILE_MODE": "reduce-overhead"}
elif phase("smoke-default", small, 150, {"ICMETA_COMPILE_MODE": "default"}):
    mode = {"ICMETA_COMPILE_MODE": "default"}
else:
    print("no compiled CUDA path worked; nothing trained", flush=True)
print(f"compile mode: {mode.get('ICMETA_COMPILE_MODE')}", flush=True)

done = mode and phase("paper", ["-m", "icmeta", "train", "--preset", "paper", "--seeds", "0", "1", "2", "--set", "device=cuda",
                       "--no-progress", "--resume-every", "20", "--out", str(out / "runs")], left() - 5, mode)
for d in sorted((out / "runs").glob("run-*")):
    print(d.name, sorted(p.name for p in d.iterdir()), flush=True)
if done and not benched:
    phase("bench", bench, left() - 5, mode)
with tarfile.open(final / "device.tar.gz", "w:gz") as tar:
    for f in sorted(out.rglob("*")):
        if f.is_file() and not f.name.startswith("step_") and "smoke" not in f.parts:
            tar.add(f, arcname=str(f.relative_to(out)))
print(f"packed {(final / 'device.tar.gz').stat().st_size / 1e6:.1f} MB; total {time.time() - T0:.0f} s", flush=True)
