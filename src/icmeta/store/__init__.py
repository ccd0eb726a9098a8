"""The run store: where trained runs live (`io`), how they are named and read back (`run`), and
the Bayes ceilings stored beside each run's metrics (`ceilings`). Nothing here trains.

The names most callers need are importable from here: ``from icmeta.store import find_run``.
"""

from .io import PROJECT_ROOT, StoreError, default_runs_root
from .run import (
           METRIC_COLUMNS,
           RESULTS_VERSION,
           Run,
           check_stored,
           find_run,
           is_complete,
           load_run,
           run_name,
)

__all__ = ["PROJECT_ROOT", "StoreError", "default_runs_root", "METRIC_COLUMNS", "RESULTS_VERSION", "Run", "check_stored",
           "find_run", "is_complete", "load_run", "run_name"]
