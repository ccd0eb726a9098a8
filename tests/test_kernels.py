import pytest
import torch

from icmeta.config import ConfigError
from icmeta.train import kernels


def test_compiled_kernels_without_a_cpp_compiler_stop_with_one_line(monkeypatch):
    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="kernels.*eager.*C\\+\\+ compiler"):
        kernels.prepare(kernels.forward, "compiled", torch.device("cpu"))
    assert kernels.prepare(kernels.forward, "eager", torch.device("cpu")) is kernels.forward


def test_one_compiled_function_per_function_and_mode_is_shared_between_runs():
    cpu = torch.device("cpu")
    a = kernels.prepare(kernels.forward, "compiled", cpu)
    assert kernels.prepare(kernels.forward, "compiled", cpu) is a
    assert kernels.compile_mode(cpu) == "default"


@pytest.mark.slow
def test_the_gpu_form_of_the_one_graph_step_updates_as_the_cpu_form(tiny):
    """On a GPU the one-graph step returns the new parameters instead of writing them (no
    mutated input for CUDA graphs); tried here on the CPU, both forms train the same, bit for bit."""
    from functools import partial

    from icmeta.train.loop import Trainer

    cfgs = [tiny(s, kernels="graph", sampler="counter") for s in (0, 1)]
    a, b = Trainer(cfgs, "/nonexistent-a"), Trainer(cfgs, "/nonexistent-b")
    b.graph_step = partial(b.graph_step, in_place=False)
    for step in range(5):
        a.step = b.step = step
        la, lb = a.train_step(), b.train_step()
        assert torch.equal(la, lb)
    for (name, p), q in zip(a.model.named_parameters(), b.model.parameters()):
        assert torch.equal(p, q), name
    assert not torch.equal(a.model.cls_b[0], Trainer(cfgs, "/nonexistent-c").model.cls_b[0])  # it did train
