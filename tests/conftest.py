import os

import pytest
import torch

from icmeta.presets import preset

os.environ.setdefault("ICMETA_RUNS", os.path.join(os.path.dirname(__file__), "..", "_build", "test-runs"))
torch.set_num_threads(1)


@pytest.fixture
def tiny():
    """A config small enough to train in seconds (not the paper's setting)."""

    def make(seed=0, **kw):
        base = dict(steps=60, batch_size=16, eval_size=64, lr=0.1, eval_every=10, K=16, L=8)
        base.update(kw)
        return preset("fast", seed=seed, **base)

    return make


@pytest.fixture(autouse=True)
def _one_thread():
    """A test may change torch's thread count; the next one starts with one thread again."""
    yield
    torch.set_num_threads(1)
