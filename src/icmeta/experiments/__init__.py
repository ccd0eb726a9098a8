"""The experiments as data: every sweep and GPU check the book draws (`sweeps`), the paper-rate
queue (`queue`, trained on the CPU or a lent GPU), and reading their stored runs back (`load`). Running them is
the trainer's job (`icmeta.train.runner`, `icmeta.train.queue_worker`).
"""

from .load import (
           SweepRuns,
           load_archived_paper_run,
           load_gpu_check,
           load_lr_check,
           load_main_run,
           load_queue_progress,
           load_queue_runs,
           load_sweep,
           load_variants,
)
from .sweeps import GPU_CHECKS, IN_BOOK, SWEEPS, Member, Sweep, sweep

__all__ = ["SweepRuns", "load_archived_paper_run", "load_main_run", "load_variants", "load_gpu_check", "load_lr_check", "load_queue_progress", "load_queue_runs", "load_sweep", "GPU_CHECKS", "IN_BOOK", "SWEEPS", "Member",
           "Sweep", "sweep"]
