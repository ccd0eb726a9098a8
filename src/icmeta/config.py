"""Configuration: the paper's symbols, the model, training and seeds (the named presets: `icmeta.presets`).

Three frozen dataclasses hold every knob (`TaskConfig`, `ModelConfig`, `TrainConfig`);
`Config` nests them with the seeds. Derived values are properties, never stored copies.
`validate` checks every field and raises `ConfigError` naming the field, the value and
what is allowed; `apply_overrides` turns ``key=value`` strings (the paper's symbols and the
training/model fields) into a new config, type-checked, unknown keys rejected.

Symbols (the paper's task, its Fig. 1 and Table 3): K item classes, L labels, T tasks, N context pairs (sequence length
2N+1), D content dimension, P position dimension (token width P+D), eps within-class
noise, p_B probability that the query's class is also in the context, B copies of it,
alpha Zipf exponent of classes, beta Zipf exponent of tasks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

SEED_FIELDS = ("seed", "init_seed", "data_seed", "eval_seed")


class ConfigError(ValueError):
    """A configuration value outside what is allowed; the message is one line for the user."""

    def __init__(self, name: str, value: Any, allowed: str, unknown: bool = False):
        self.name, self.value, self.allowed = name, value, allowed
        what = f"unknown key '{name}' (value {value!r})" if unknown else f"invalid value for '{name}': {value!r}"
        super().__init__(f"{what} (allowed: {allowed})")


@dataclass(frozen=True)
class TaskConfig:
    """The in-context meta-learning task (the paper's Fig. 1 and Table 3; decisions A1, A2, A7, A8 of the reproduction-notes chapter)."""

    K: int = 64
    L: int = 32
    T: int = 3
    N: int = 4
    D: int = 63
    P: int = 65
    eps: float = 0.1
    p_B: float = 0.0
    B: int = 1
    alpha: float = 0.0
    beta: float = 0.0
    # "random": independent random class->label maps (paper text, A1); "shift": cyclic shifts
    # of one random base map (official code); "disjoint": the SCC-theory setting of §5
    # (K = L, every task a permutation, no (class, label) pair shared by two tasks).
    task_maps: str = "random"
    # Token encoding, two halves (A2). labels: "learned" position-free embeddings (code) or
    # "fixed" random vectors in the content dims (paper text). positions: "pair" = items carry
    # a one-hot of their pair index, labels none (code); "offset" = every token carries a
    # one-hot of its sequence position shifted by a random offset (paper text).
    labels: str = "learned"
    positions: str = "pair"
    # "excluded": the query class is never in the context unless burstiness puts it there
    # (paper); "any": the query class is drawn from all K classes (official code).
    query: str = "excluded"

    @property
    def seq_len(self) -> int:
        return 2 * self.N + 1

    @property
    def d_model(self) -> int:
        return self.P + self.D


@dataclass(frozen=True)
class ModelConfig:
    """The network (the paper's Fig. 1; decisions A3, A4 of the reproduction-notes chapter)."""

    arch: str = "attention_only"  # or "standard": pre-LayerNorm attention + 4x ReLU MLP blocks
    layers: int = 2
    heads: int = 1
    w_o: bool = True
    classifier_hidden: int = 1  # hidden layers of the ReLU classifier (paper 1, code 2)
    mask: str = "none"  # "none", or one phase's circuit only: "ncc", "scc", "fcc"
    # Expected norm of a learned label embedding at initialisation (entries N(0, norm^2/width)).
    # 1.0 matches the items' content norm; PyTorch's nn.Embedding default is sqrt(width).
    label_norm: float = 1.0
    # Attention logits: "none" = (K u_j)^T (Q u_i) unscaled, as the paper writes it (§3);
    # "sqrt" = divided by sqrt(head width), the usual transformer (set it for arch="standard"
    # to get the textbook block).
    attn_scale: str = "none"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and measurement schedule (the paper's Table 3 and its phase rule; decisions A5, A6 of the reproduction-notes chapter)."""

    optimizer: str = "sgd"
    lr: float = 0.01
    batch_size: int = 128
    steps: int = 400_000
    # Sequences in the fixed evaluation set. 1024 keeps evaluation every Δt affordable on a
    # CPU; the standard error of one accuracy value is up to 0.016, but ΔAcc compares the
    # same sequences at two steps and is far less noisy (see icmeta.analysis.phases).
    eval_size: int = 1024
    # Evaluate every `eval_every` steps; 0 means the ΔAcc interval Δt scaled with the
    # learning rate: Δt = 100 steps at lr 0.01 (the paper), 10 at lr 0.1.
    eval_every: int = 0
    # Circuit metrics, RLA and attention need full patterns (costly): every
    # `metrics_every` steps (0 means 5 evaluation intervals) and at log-spaced steps.
    metrics_every: int = 0
    device: str = "cpu"
    # "compiled": the training step and the evaluation passes go through torch.compile
    # (fused kernels; CUDA graphs on a GPU); "eager": op by op; "graph": the whole training
    # step (sampling, forward, loss, backward, update) is one compiled graph (needs
    # sampler="counter" and SGD; the GPU path). The same arithmetic up to float rounding, so
    # it is part of a run's identity (icmeta.train.kernels).
    kernels: str = "compiled"
    # The training objective: "query" = cross-entropy on the query's label only (the paper's
    # "Last Label Only"); "all_labels" = also every context label, each predicted at its item
    # from the tokens before it (Fig. 21's "All Labels"), the mean over the N+1 predictions.
    # Accuracy and the reported loss stay the query's either way.
    loss: str = "query"
    # Where the training batches' random numbers come from: "generator" = one torch.Generator
    # per model, called on the host (every CPU run of the book); "counter" = each number a hash
    # of (model seed, step, slot) computed by tensor operations (icmeta.core.counter), which
    # the one-graph step (kernels="graph") draws inside its graph. Another data stream, so part
    # of a run's identity.
    sampler: str = "generator"

    @property
    def delta_t(self) -> int:
        """ΔAcc interval in steps: the paper's 100 steps at lr 0.01, scaled as 1/lr."""
        return max(1, round(100 * 0.01 / self.lr))

    @property
    def eval_interval(self) -> int:
        return self.eval_every or self.delta_t

    @property
    def metrics_interval(self) -> int:
        return self.metrics_every or 5 * self.eval_interval


@dataclass(frozen=True)
class Config:
    """One model's full configuration with its seeds.

    `seed` names the model; the three streams (initialisation, training data with the
    data draw of class means and task maps, evaluation sets) get distinct seeds derived
    from it by a fixed rule unless set explicitly.
    """

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    init_seed: int | None = None
    data_seed: int | None = None
    eval_seed: int | None = None

    def seeds(self) -> dict[str, int]:
        """The three seeds actually used: explicit ones, else derived from `seed`."""
        derived = {
            "init": self.init_seed if self.init_seed is not None else _derive(self.seed, "init"),
            "data": self.data_seed if self.data_seed is not None else _derive(self.seed, "data"),
            "eval": self.eval_seed if self.eval_seed is not None else _derive(self.seed, "eval"),
        }
        return derived

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        return cls(
            task=TaskConfig(**d["task"]),
            model=ModelConfig(**d["model"]),
            train=TrainConfig(**d["train"]),
            **{k: d[k] for k in SEED_FIELDS},
        )


MAX_SEED = 2**62  # generators take 64-bit seeds; +1 and +7 are added for the sub-streams
MAX_STEPS = 10_000_000  # 25x the paper's 4x10^5
MAX_CLASSES = 65_536  # K and L (the paper's largest K is 1024)
MAX_MAP_ENTRIES = 1 << 24  # T * K


def _derive(seed: int, purpose: str) -> int:
    digest = hashlib.sha256(f"icmeta:{purpose}:{seed}".encode()).digest()
    return int.from_bytes(digest[:7], "little")


def config_hash(configs: list[Config], results_version: int) -> str:
    """Hash of every field of every member, in order, and of the results version.

    Every field counts, defaults included: a changed default gives new names, never the old
    results under the old name. `results_version` (`icmeta.store.RESULTS_VERSION`) changes
    when the data stream, the model or the meaning of a metric changes.
    """
    text = json.dumps({"results_version": results_version, "members": [_hashed(c) for c in configs]},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# Fields added after runs were stored, with the value every earlier run had: hashed only when
# a config differs from it, so the earlier runs keep their names (and a later change of the
# field's default still gives new names).
ADDED_FIELDS = {("train", "loss"): "query", ("train", "sampler"): "generator"}


def _hashed(c: Config) -> dict[str, Any]:
    d = c.to_dict()
    for (section, name), before in ADDED_FIELDS.items():
        if d[section][name] == before:
            del d[section][name]
    return d


def differences(a: Config, b: Config) -> list[tuple[str, Any, Any]]:
    """(field, value in a, value in b) for every field in which two configs differ."""
    da, db = flatten(a), flatten(b)
    return [(k, da.get(k), db.get(k)) for k in sorted(set(da) | set(db), key=str.lower) if da.get(k) != db.get(k)]


def flatten(c: Config) -> dict[str, Any]:
    """Every field of a config by its name (task, model, train, then the seeds)."""
    out: dict[str, Any] = {}
    for k, v in c.to_dict().items():
        out.update(v) if isinstance(v, dict) else out.__setitem__(k, v)
    return out


# ----------------------------------------------------------------------------- validation

_CHOICES = {
    "task_maps": ("random", "shift", "disjoint"),
    "labels": ("learned", "fixed"),
    "positions": ("pair", "offset"),
    "query": ("excluded", "any"),
    "arch": ("attention_only", "standard"),
    "mask": ("none", "ncc", "scc", "fcc"),
    "attn_scale": ("none", "sqrt"),
    "optimizer": ("sgd", "adam"),
    "device": ("cpu", "cuda", "auto"),
    "kernels": ("compiled", "eager", "graph"),
    "loss": ("query", "all_labels"),
    "sampler": ("generator", "counter"),
}


def _check_int(name: str, v: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(name, v, f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else ""))
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(name, v, f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else ""))


def _check_float(name: str, v: Any, lo: float, hi: float | None = None, open_lo: bool = False) -> None:
    bounds = (f"> {lo}" if open_lo else f">= {lo}") + (f" and <= {hi}" if hi is not None else "")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(name, v, f"a finite number {bounds}")
    if (v <= lo if open_lo else v < lo) or (hi is not None and v > hi):
        raise ConfigError(name, v, f"a number {bounds}")


def validate(c: Config) -> Config:
    """Check every field; return the config unchanged or raise `ConfigError`."""
    t, m, tr = c.task, c.model, c.train
    for name, choices in _CHOICES.items():
        for part in (t, m, tr):
            if hasattr(part, name) and getattr(part, name) not in choices:
                raise ConfigError(name, getattr(part, name), ", ".join(choices))
    # Bounds: far beyond any setting of the paper (K <= 1024, T <= 18, N <= 32, width 128),
    # small enough that the tensors they imply fit in memory and a run can finish.
    _check_int("L", t.L, 2, MAX_CLASSES)
    _check_int("T", t.T, 1, 10_000)
    _check_int("N", t.N, 1, 256)
    _check_int("D", t.D, 1, 1024)
    _check_int("P", t.P, 1, 1024)
    _check_int("B", t.B, 1, 256)
    _check_float("eps", t.eps, 0.0, 100.0)
    _check_float("p_B", t.p_B, 0.0, 1.0)
    _check_float("alpha", t.alpha, 0.0, 10.0)
    _check_float("beta", t.beta, 0.0, 10.0)
    # N distinct context classes plus a query class that is not among them.
    # N distinct context classes and a query class drawn outside them (the sampler draws N+1
    # distinct classes in every mode; with query="any" it then redraws the query from all K)
    need = t.N + 1
    if isinstance(t.K, bool) or not isinstance(t.K, int) or not need <= t.K <= MAX_CLASSES:
        raise ConfigError("K", t.K, f"an integer between N+1={need} and {MAX_CLASSES} (N={t.N} distinct context classes "
                          "and a query class outside them)")
    if t.T * t.K > MAX_MAP_ENTRIES:
        raise ConfigError("T", t.T, f"T * K <= {MAX_MAP_ENTRIES} (the task maps are held in memory); T <= {MAX_MAP_ENTRIES // t.K} at K={t.K}")
    if t.B > t.N:
        raise ConfigError("B", t.B, f"an integer between 1 and N={t.N}")
    if t.positions == "offset" and t.seq_len > t.P:
        raise ConfigError("N", t.N, f"2N+1 <= P={t.P} with positions='offset', so N <= {(t.P - 1) // 2}")
    if t.positions == "pair" and t.N + 1 > t.P:
        raise ConfigError("N", t.N, f"N+1 <= P={t.P} with positions='pair', so N <= {t.P - 1}")
    if t.task_maps == "shift" and t.T > t.L:
        raise ConfigError("T", t.T, f"<= L={t.L} with task_maps='shift' (distinct shifts)")
    if t.task_maps == "disjoint":
        if t.K != t.L:
            raise ConfigError("K", t.K, f"K = L (={t.L}) with task_maps='disjoint' (the SCC-theory setting)")
        if t.T > t.L:
            raise ConfigError("T", t.T, f"<= L={t.L} with task_maps='disjoint'")
    _check_int("layers", m.layers, 1, 8)
    _check_int("heads", m.heads, 1, 64)
    if t.d_model % m.heads:
        raise ConfigError("heads", m.heads, f"a divisor of the width P+D={t.d_model}")
    if not isinstance(m.w_o, bool):
        raise ConfigError("w_o", m.w_o, "true or false")
    _check_int("classifier_hidden", m.classifier_hidden, 0, 4)
    _check_float("label_norm", m.label_norm, 0.0, 1000.0, open_lo=True)
    if m.mask != "none" and m.layers < 2:
        raise ConfigError("mask", m.mask, "'none' when layers < 2 (the phase masks need two layers)")
    if m.mask != "none" and m.arch != "attention_only":
        raise ConfigError("mask", m.mask, "'none' with arch='standard'")
    if tr.loss == "all_labels" and m.mask != "none":
        raise ConfigError("loss", tr.loss, "'query' with a phase mask (the masks shape the query's circuit and "
                          "leave every item attending to itself alone, so its label could only be memorised)")
    if tr.kernels == "graph" and tr.sampler != "counter":
        raise ConfigError("sampler", tr.sampler, "'counter' with kernels='graph' (the one-graph step draws its "
                          "batch inside the graph)")
    if tr.kernels == "graph" and tr.optimizer != "sgd":
        raise ConfigError("optimizer", tr.optimizer, "'sgd' with kernels='graph'")
    _check_float("lr", tr.lr, 0.0, 10.0, open_lo=True)
    _check_int("batch_size", tr.batch_size, 1, 1 << 16)
    # one forward pass holds the batch's activations and attention scores: at most 2^28
    # numbers each (1 GiB of float32) per model
    if tr.batch_size * max(t.seq_len * t.d_model * (4 if m.arch == "standard" else 1), m.heads * t.seq_len**2) > 1 << 28:
        raise ConfigError("batch_size", tr.batch_size, "batch_size * max((2N+1) * (P+D) [x4 with arch='standard'], "
                          "heads * (2N+1)^2) <= 2^28 (activations of one step in memory)")
    if tr.eval_size * m.heads * t.seq_len**2 > 1 << 28:
        raise ConfigError("eval_size", tr.eval_size, f"eval_size * heads * (2N+1)^2 <= 2^28 (attention patterns kept in memory); "
                          f"at most {(1 << 28) // (m.heads * t.seq_len**2)} here")
    _check_int("steps", tr.steps, 1, MAX_STEPS)
    _check_int("eval_size", tr.eval_size, 16, 1 << 20)
    _check_int("eval_every", tr.eval_every, 0, tr.steps)
    _check_int("metrics_every", tr.metrics_every, 0, tr.steps)
    for name in SEED_FIELDS:
        v = getattr(c, name)
        if v is not None and name != "seed" or name == "seed":
            if v is not None:
                _check_int(name, v, 0, MAX_SEED)
    s = c.seeds()
    # the streams actually seeded: weights (init), data draw (data), training stream (data+1),
    # evaluation sets (eval) and the Monte-Carlo ceilings (eval+7) must all differ
    streams = [s["init"], s["data"], s["data"] + 1, s["eval"], s["eval"] + 7]
    if len(set(streams)) != len(streams):
        raise ConfigError("seeds", s, "init, data, data+1, eval and eval+7 all distinct (one generator per stream)")
    return c


# ------------------------------------------------------------------------------ overrides

# Command-line keys: the paper's symbols and the training/model fields.
_KEYS: dict[str, str] = {}
for _section, _cls in (("task", TaskConfig), ("model", ModelConfig), ("train", TrainConfig)):
    for _f in fields(_cls):
        _KEYS[_f.name] = _section
for _name in SEED_FIELDS:
    _KEYS[_name] = ""


def _field_type(section: str, name: str) -> type:
    cls = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig, "": Config}[section]
    default = {f.name: f for f in fields(cls)}[name].default
    return type(default) if default is not None else int


def _parse_value(name: str, text: str, typ: type) -> Any:
    if typ is bool:
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(name, text, "true or false")
    if typ is int:
        try:
            f = float(text)
        except ValueError:
            raise ConfigError(name, text, "an integer") from None
        if not f.is_integer():
            raise ConfigError(name, text, "an integer")
        return int(f)
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(name, text, "a number") from None
    return text


def set_field(c: Config, name: str, value: Any) -> Config:
    """Return a copy of `c` with one field changed (type-checked)."""
    if name not in _KEYS:
        raise ConfigError(name, value, "one of " + ", ".join(sorted(_KEYS, key=str.lower)), unknown=True)
    section = _KEYS[name]
    typ = _field_type(section, name)
    if isinstance(value, str) and typ is not str:
        value = _parse_value(name, value, typ)
    elif typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if section == "":
        return replace(c, **{name: value})
    return replace(c, **{section: replace(getattr(c, section), **{name: value})})


def apply_overrides(c: Config, overrides: list[str] | dict[str, Any]) -> Config:
    """Apply ``key=value`` strings (or a dict) and validate the result."""
    items = overrides.items() if isinstance(overrides, dict) else [split_assignment(o) for o in overrides]
    for k, v in items:
        c = set_field(c, k, v)
    return validate(c)


def split_assignment(text: str) -> tuple[str, str]:
    """``"key=value"`` as ``(key, value)``, stripped; `ConfigError` (one line) without an ``=``."""
    if "=" not in text:
        raise ConfigError("--set", text, "key=value, e.g. T=3 or lr=0.1")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()
