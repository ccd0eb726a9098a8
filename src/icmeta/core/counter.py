"""Counter-based random numbers: each number a pure function of (member key, step, stream, row, column).

The default training stream draws every batch from one `torch.Generator` per member, on the
host, one call per member and per draw. Here a number is instead a hash of where it is used,
computed by integer tensor operations: a whole group's batch is a few fused kernels whatever
the group's size (the compiled training step samples inside its graph), a member's numbers do
not depend on which members share its group, and resuming at step s needs nothing but s.

The hash is MurmurHash3's 32-bit finaliser (`fmix32`, a bijection of 32-bit words with full
avalanche), chained over the inputs with a distinct odd constant at each link. Every value
is held in int64 below 2^32 and every product is split so that it stays below 2^63: no
operation overflows, so CPU, GPU and compiled code compute the same bits.

Uniforms are (h + 1/2) / 2^32 in float64 (never 0 or 1); normals are Box-Muller from two
24-bit uniforms in float32.
"""

from __future__ import annotations

import math

import torch

MASK32 = 0xFFFFFFFF
# the links of the chain: odd constants (the fractional digits of the golden ratio, of sqrt 2, ...)
_LINKS = (0x9E3779B9, 0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F)
STREAM_SHIFT = 20  # rows (sequences in a batch) < 2^20; the stream id above them


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """x * c mod 2^32 for x in [0, 2^32) (int64) and a constant c < 2^32, without overflow:
    c = c_hi 2^16 + c_lo, and x c_hi 2^16 mod 2^32 = (x c_hi mod 2^16) 2^16."""
    lo, hi = c & 0xFFFF, c >> 16
    return (x * lo + ((x * hi) & 0xFFFF) * 65536) & MASK32


def fmix32(h: torch.Tensor) -> torch.Tensor:
    """MurmurHash3's finaliser on 32-bit words held in int64."""
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def _link(h: torch.Tensor, x: torch.Tensor | int, i: int) -> torch.Tensor:
    return fmix32(((h ^ x) + _LINKS[i]) & MASK32)


def member_keys(seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """[E, 2] int64: each member's 64-bit seed as two 32-bit words (low, high)."""
    return torch.tensor([[s & MASK32, (s >> 32) & MASK32] for s in seeds], dtype=torch.int64, device=device)


def step_hash(keys: torch.Tensor, step: torch.Tensor | int) -> torch.Tensor:
    """[E] int64: the hash of each member's key with the step (a python int or a 0-d tensor)."""
    h = _link(torch.zeros_like(keys[:, 0]), keys[:, 0], 0)
    h = _link(h, keys[:, 1], 1)
    return _link(h, step, 2)


def bits(h_step: torch.Tensor, stream: int, rows: int, cols: int) -> torch.Tensor:
    """[E, rows, cols] 32-bit words of one stream: word (e, r, c) hashes (member e's step hash,
    stream, r, c) and nothing else, so it does not depend on `rows`, `cols` or the group."""
    dev = h_step.device
    r = torch.arange(rows, device=dev, dtype=torch.int64) + (stream << STREAM_SHIFT)
    c = torch.arange(cols, device=dev, dtype=torch.int64)
    h = _link(h_step[:, None], r, 3)  # [E, rows]
    return _link(_link(h[..., None], c, 4), 0, 5)  # [E, rows, cols]: two rounds on the column


def uniform(words: torch.Tensor) -> torch.Tensor:
    """Uniforms in (0, 1), float64, from 32-bit words."""
    return (words.double() + 0.5) * 2.0**-32


def normal(words_a: torch.Tensor, words_b: torch.Tensor) -> torch.Tensor:
    """Standard normals (float32) by Box-Muller from two arrays of 32-bit words."""
    u1 = ((words_a >> 8).float() + 0.5) * 2.0**-24  # (0, 1): the log is finite
    u2 = (words_b >> 8).float() * 2.0**-24
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2 * math.pi) * u2)
