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
