import torch
from torch import nn

from icmeta.train.optim import StackedOptimizer


class Stacked(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w.clone())


def _loss(w, x):
    return ((x @ w).tanh() ** 2).mean()


def test_adam_matches_torch_adam_for_one_model():
    g = torch.Generator().manual_seed(0)
    w0 = torch.randn(6, 4, generator=g, dtype=torch.float64)
    xs = [torch.randn(5, 6, generator=g, dtype=torch.float64) for _ in range(20)]
    ref = nn.Parameter(w0.clone())
    opt = torch.optim.Adam([ref], lr=3e-3)
    mine = Stacked(w0[None])
    sopt = StackedOptimizer(mine, "adam", torch.tensor([3e-3], dtype=torch.float64))
    for x in xs:
        opt.zero_grad()
        _loss(ref, x).backward()
        opt.step()
        _loss(mine.w[0], x).backward()
        sopt.step()
    assert torch.allclose(mine.w[0], ref, rtol=0, atol=1e-12), (mine.w[0] - ref).abs().max()
    assert not torch.allclose(ref, w0)


def test_sgd_uses_each_members_lr():
    w0 = torch.ones(3, 2, 2)
    mine = Stacked(w0)
    opt = StackedOptimizer(mine, "sgd", torch.tensor([0.1, 0.0, 1.0]))
    mine.w.sum().backward()
    opt.step()
    assert torch.allclose(mine.w[:, 0, 0], torch.tensor([0.9, 1.0, 0.0])) and mine.w.grad is None
