"""The paper-rate queue on a lent GPU, in the command the device tool runs (no install there):

    python3 scripts/gpu_queue.py run "$OUT" 560 --bench   # on the GPU machine, one command per window
    python scripts/gpu_queue.py unpack FILES_AT           # here: what came back -> runs/queue/

It is `python -m icmeta queue run --device cuda --out OUT --for SECONDS` (`icmeta.queue_cli`,
`icmeta.train.queue_worker`), the same queue the CPU trains with ``python -m icmeta queue run
--until HH:MM``; ``plan`` and ``status`` pass through too. ``DEVICE=cpu`` runs a window on the
CPU (tests/test_queue.py tries the whole round trip that way with tiny steps).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from icmeta.cli import main as icmeta_main  # noqa: E402  (the GPU machine has no installed package)


def translate(argv: list[str]) -> list[str]:
    """``run OUT SECONDS [...]`` -> ``queue run --out OUT --for SECONDSs --device $DEVICE [...]``."""
    if argv[:1] == ["run"] and len(argv) >= 3 and not argv[1].startswith("-"):
        out, seconds, rest = argv[1], argv[2], argv[3:]
        return ["queue", "run", "--out", out, "--for", f"{seconds}s", "--device",
                os.environ.get("DEVICE", "cuda"), *rest]
    return ["queue", *argv]


if __name__ == "__main__":
    sys.exit(icmeta_main(translate(sys.argv[1:])))
