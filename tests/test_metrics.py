import pytest
import torch

from icmeta.core import metrics as M


def test_identity_pattern():
    p = torch.eye(9).expand(3, 1, 9, 9)
    assert M.bigram(p, 4).item() == 1.0
    assert M.label_attention(p, 4).item() == 0.0
    assert M.chunk_example(p, 4).item() == 0.0


def test_uniform_pattern_values():
    p = M.uniform_pattern(4).expand(2, 1, 9, 9)
    assert M.bigram(p, 4).item() == pytest.approx(1 / 9)
    assert M.label_attention(p, 4).item() == pytest.approx(4 / 9)
    want = sum(1 / (2 * k) for k in range(1, 5)) / 4
    assert M.chunk_example(p, 4).item() == pytest.approx(want)
    assert want == pytest.approx(0.2604, abs=1e-4)
    assert M.chunk_example_pairs(p, 4)[0, -1].item() == pytest.approx(0.125)


def test_circuit_patterns():
    N, S = 4, 9
    scc = torch.eye(S)
    scc[8] = 0
    scc[8, 1:8:2] = 0.25  # query spreads over the four labels
    fcc = torch.eye(S)
    for k in range(N):
        fcc[2 * k + 1] = 0
        fcc[2 * k + 1, 2 * k] = 1.0  # label -> its own item
    p = torch.stack([scc, fcc])[None]  # [batch=1, head=2, S, S]
    assert torch.allclose(M.label_attention(p, N), torch.tensor([1.0, 0.0]))
    assert torch.allclose(M.chunk_example(p, N), torch.tensor([0.0, 1.0]))
    assert torch.allclose(M.bigram(p, N), torch.tensor([0.0, 1.0]))


def test_batch_mean_and_leading_axes():
    p = torch.zeros(2, 3, 1, 9, 9)
    p[..., 8, 8] = torch.tensor([0.0, 0.5, 1.0])[None, :, None]
    assert torch.allclose(M.bigram(p, 4), torch.full((2, 1), 0.5))


def test_bad_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \[..., batch, head, 9, 9\]"):
        M.bigram(torch.zeros(2, 1, 7, 7), 4)
