"""Drawing: every function here takes stored runs (or what was computed from them) and returns a
matplotlib Figure; nothing here trains or computes a result of its own (`icmeta.analysis` does).

In a notebook matplotlib keeps its inline backend; anywhere else without a display (the command
line, tests, a worker) figures are drawn with Agg.
"""

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://", "agg", "inline")):
    matplotlib.use("Agg")
