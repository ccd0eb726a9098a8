"""The paper's sweeps, by figure: which settings each figure trains, over which seeds.

A sweep is the cross product of its axes (``K=32,64,128`` x ``eps=0.1,0.5``), each point
trained with every seed, on top of a preset and fixed overrides. Every point-and-seed is one
**member**: one model with one config, stored as its own run (``run-<hash of that config>``,
`icmeta.store`), whichever members it was trained beside (`icmeta.train.runner`). A member's
label names its swept values (``K=32,eps=0.5``); it belongs to the sweep, not to the stored
run, so the same stored model can appear in two sweeps under two labels (the K = 64 point of
Fig. 7b is the ε = 0.1 point of Fig. 7c).

`SWEEPS` holds every sweep the book draws, keyed by the figure (panel) that draws it;
`python -m icmeta sweep` builds the same objects from ``--vary`` options. `load_sweep` reads a
sweep's stored runs (it never trains; the runner is `icmeta.train.runner`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..config import Config, ConfigError, flatten, set_field, split_assignment, validate
from ..presets import PRESET_SEEDS, PRESETS, VARIANT_STEPS, preset

Setting = tuple[tuple[str, Any], ...]  # ((field, value), ...), hashable


@dataclass(frozen=True)
class Axis:
    """One swept quantity: its name and, per point, the label text and the fields it sets.

    Most axes set one field (``Axis.of("K", [32, 64])``); a tied axis sets several
    (Fig. 5's ``K=L``: K and L together).
    """

    name: str
    points: tuple[tuple[str, Setting], ...]

    @classmethod
    def of(cls, name: str, values: Sequence[Any]) -> "Axis":
        """An axis over one config field; values are typed and checked like ``--set``."""
        points = []
        for v in values:
            typed = _typed(name, v)
            points.append((_text(typed), ((name, typed),)))
        if len({p[0] for p in points}) != len(points):
            raise ConfigError(name, list(values), "distinct values")
        return cls(name, tuple(points))

    @classmethod
    def tied(cls, names: Sequence[str], values: Sequence[Any]) -> "Axis":
        """Several fields set to the same value at each point (``K=L``)."""
        points = tuple((_text(_typed(names[0], v)), tuple((n, _typed(n, v)) for n in names)) for v in values)
        return cls("=".join(names), points)

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.points[0][1]]


def _typed(name: str, value: Any) -> Any:
    """`value` converted to the type of config field `name` (ConfigError if it cannot be)."""
    c = set_field(Config(), name, value)
    return flatten(c)[name]


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Member:
    """One model of a sweep: its label (swept values), seed and full config."""

    label: str
    seed: int
    config: Config
    setting: Setting  # the swept fields and their values


@dataclass(frozen=True)
class Sweep:
    """A grid of settings x seeds over a preset.

    Attributes:
        name: the figure (panel) it is drawn in, e.g. ``fig7b``, or a name of the user's.
        axes: the swept quantities; the grid is their cross product (none: one point).
        fixed: overrides applied to every member (``(("p_B", 0.25),)``).
        steps: training steps per preset; a preset not listed trains its `VARIANT_STEPS`.
        title: one line for figures and progress.
        presets: the presets it is defined for (empty: every preset).
        base: for a learning-rate check, the sweep whose settings it trains again at a lower
            learning rate (its labels are that sweep's labels).
        lr_scale: the preset's learning rate times this (Fig. 20's standard transformer trains
            at a tenth of the attention-only models' rate, as in the paper).
        seeds: the seeds it trains when none are given (empty: the preset's, `PRESET_SEEDS`).
    """

    name: str
    axes: tuple[Axis, ...] = ()
    fixed: Setting = ()
    steps: tuple[tuple[str, int], ...] = ()
    title: str = ""
    presets: tuple[str, ...] = ()
    base: str = ""
    lr_scale: float = 1.0
    seeds: tuple[int, ...] = ()

    def steps_for(self, preset_name: str) -> int:
        own = dict(self.steps)
        if preset_name in own:
            return own[preset_name]
        if preset_name in VARIANT_STEPS:
            return VARIANT_STEPS[preset_name]
        return PRESETS[preset_name].get("steps", 400_000)

    def points(self) -> list[tuple[str, Setting]]:
        """(label, setting) of every grid point, in axis order."""
        if not self.axes:
            return [("main", ())]
        out = []
        for combo in itertools.product(*(a.points for a in self.axes)):
            label = ",".join(f"{a.name}={text}" for a, (text, _) in zip(self.axes, combo))
            out.append((label, tuple(kv for _, s in combo for kv in s)))
        return out

    def members(self, preset_name: str = "fast", seeds: Sequence[int] | None = None, device: str = "cpu",
                overrides: Setting | dict = ()) -> list[Member]:
        """Every point x seed as a validated `Member` (points outer, seeds inner).

        `overrides` (``--set``) apply to every member after `fixed`; a swept field cannot be
        overridden. Raises `ConfigError` (one line) for an unknown preset or a bad value.
        """
        if preset_name not in PRESETS:
            raise ConfigError("preset", preset_name, ", ".join(PRESETS))
        if self.presets and preset_name not in self.presets:
            why = f" (the {self.base} check at a lower lr; at {preset_name} train {self.base} itself)" if self.base else ""
            raise ConfigError("preset", f"{preset_name} for sweep {self.name}", ", ".join(self.presets) + why)
        seeds = list((self.seeds or PRESET_SEEDS.get(preset_name, (0,))) if seeds is None else seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ConfigError("seeds", seeds, "one or more distinct integers")
        overrides = tuple(overrides.items()) if isinstance(overrides, dict) else tuple(overrides)
        swept = {f for a in self.axes for f in a.fields}
        for k, _ in overrides:
            if k in swept:
                raise ConfigError(k, "set and swept", f"either --set {k}=... or --vary {k}=..., not both")
        out = []
        for label, setting in self.points():
            for s in seeds:
                c = preset(preset_name, seed=s, device=device, steps=self.steps_for(preset_name))
                if self.lr_scale != 1.0:
                    c = set_field(c, "lr", round(c.train.lr * self.lr_scale, 12))
                for k, v in (*self.fixed, *overrides, *setting):
                    c = set_field(c, k, v)
                out.append(Member(label, s, validate(c), setting))
        return out


def parse_vary(texts: Sequence[str]) -> tuple[Axis, ...]:
    """``--vary K=32,64,128`` options as axes (one per option, in order)."""
    axes = []
    for text in texts:
        name, values = split_assignment(text)
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not vals:
            raise ConfigError(name, values, "a comma-separated list of values, e.g. K=32,64,128")
        if name in {f for a in axes for f in a.fields}:
            raise ConfigError(name, "varied twice", "one --vary per field")
        axes.append(Axis.of(name, vals))
    return tuple(axes)


# ----------------------------------------------------------------------- the paper's sweeps

def _sweep(name: str, title: str, *axes: Axis, fixed: dict | None = None, steps: dict | None = None,
           lr_scale: float = 1.0, seeds: tuple[int, ...] = ()) -> Sweep:
    return Sweep(name, tuple(axes), tuple((fixed or {}).items()), tuple((steps or {}).items()), title,
                 lr_scale=lr_scale, seeds=seeds)


# The learning-rate checks. `fast` runs at lr 0.1, ten times the paper's; a setting where `fast`
# differs from the paper is trained again at LR_CHECK (on this CPU the paper's own 0.01 would
# need 10x the steps) before the book calls it reproduced or not. Events move as 1/lr, so a
# check runs `fast`'s steps x 10/3, rounded up past the last jump measured at `fast`.
LR_CHECK = 0.03


def _lr_check(base: str, axis: Axis | None, steps: int, fixed: dict | None = None) -> Sweep:
    title = f"{SWEEPS[base].title}, at lr {LR_CHECK:g}"
    return Sweep(f"{base}_lr", (axis,) if axis else (), tuple({**(fixed or {}), "lr": LR_CHECK}.items()),
                 (("fast", steps),), title, presets=("fast",), base=base)


# Full length of the preset (40,000 steps at `fast`, 4x10^5 at `paper`) where the last jump
# comes late (large T or K: Figs. 7b, 18 and the K x ε diagram); the variants' length
# (`VARIANT_STEPS`: 15,000 / 150,000) elsewhere, where every setting has finished by then.
_FULL = {name: PRESETS[name].get("steps", 400_000) for name in PRESETS}

SWEEPS: dict[str, Sweep] = {s.name: s for s in [
    _sweep("fig7a", "number of tasks T", Axis.of("T", [1, 2, 3, 4])),
    # K >= 128 is still rising at 15,000 steps (measured: final accuracy 0.71-0.95 at K = 128,
    # 0.40-0.42 at K = 256): the whole panel trains the preset's full length
    _sweep("fig7b", "number of item classes K", Axis.of("K", [32, 64, 128, 256, 512, 1024]), steps=_FULL),
    _sweep("fig7c", "within-class noise ε", Axis.of("eps", [0.1, 0.25, 0.5, 0.75, 1.0])),
    _sweep("fig7d", "class Zipf exponent α", Axis.of("alpha", [0.0, 0.25, 0.5, 0.75, 1.0, 1.25])),
    _sweep("fig7e", "task Zipf exponent β", Axis.of("beta", [0.0, 0.25, 0.5, 0.75, 1.0])),
    _sweep("fig5", "SCC theory: SCC-only model, K = L, T = 2, disjoint task maps",
           Axis.tied(["K", "L"], [8, 16, 32]), fixed={"task_maps": "disjoint", "T": 2, "mask": "scc"}),
    _sweep("fig12", "the copy task: T = 1, p_B = 1, B = 1", fixed={"T": 1, "p_B": 1.0, "B": 1}),
    _sweep("fig13", "pruned at initialisation to one phase's circuit", Axis.of("mask", ["none", "ncc", "scc", "fcc"])),
    _sweep("fig15a", "burstiness B at p_B = 0.25", Axis.of("B", [1, 2]), fixed={"p_B": 0.25}),
    _sweep("fig15b", "probability p_B that the query class is in the context (B = 1)",
           Axis.of("p_B", [0.0, 0.25, 0.5, 0.75, 1.0])),
    # three noise levels (of Fig. 7c's five) keep the grid at 12 cells, 24 models beyond Figs. 7b and 7c's
    _sweep("phase_diagram", "K x ε: which plateaus appear", Axis.of("K", [32, 64, 128, 256]),
           Axis.of("eps", [0.1, 0.5, 1.0]), steps=_FULL),
    _sweep("fig18", "many tasks: T from 3 to 18", Axis.of("T", [3, 6, 9, 12, 15, 18]), steps=_FULL),
    # The architecture (Figs. 8, 9, 16, 17 draw the heads sweep; Fig. 23 the depth sweep's maps).
    _sweep("fig16", "number of attention heads", Axis.of("heads", [1, 2, 4, 8, 16])),
    _sweep("fig19", "context length N", Axis.of("N", [2, 4, 8, 16, 32])),
    _sweep("fig22", "attention-only depth", Axis.of("layers", [2, 3, 4, 5])),
    _sweep("fig21", "loss on the query's label only, or on every label", Axis.of("loss", ["query", "all_labels"])),
    # The paper trains its standard transformer (pre-LayerNorm blocks, 4x ReLU MLP, attention
    # scaled by 1/sqrt(head width)) at lr 10^-3, a tenth of its attention-only models' rate,
    # and sees FCC at 4x10^5 steps: `fast` keeps the tenth (lr 0.01) and the full length.
    # Measured at lr 0.1 (one seed): one rise to 0.99 by step 1,500, too fast to see a phase.
    _sweep("fig20", "standard transformer", fixed={"arch": "standard", "attn_scale": "sqrt"}, steps=_FULL,
           lr_scale=0.1),
    # The main result over ten seeds, one model each (seeds 0-2 are the main run's members, split
    # out of it): three seeds cannot tell "every seed" from "most seeds".
    _sweep("main_seeds", "the main result, ten seeds", steps=_FULL, seeds=tuple(range(10))),
    # Ten seeds of the settings where one seed of three turned a claim (the claims read these at
    # `fast` in place of their sweep's three seeds: `seed_extension`). Seeds 0-2 are the base
    # sweep's own runs (same configs, stored once); seeds 3-9 are trained for these.
    _sweep("fig16_seeds", "1 and 2 heads, ten seeds", Axis.of("heads", [1, 2]), seeds=tuple(range(10))),
    _sweep("fig15a_seeds", "burstiness B at p_B = 0.25, ten seeds", Axis.of("B", [1, 2]), fixed={"p_B": 0.25},
           seeds=tuple(range(10))),
    _sweep("fig7c_seeds", "within-class noise ε = 0.1 and 1, ten seeds", Axis.of("eps", [0.1, 1.0]),
           seeds=tuple(range(10))),
]}


def seed_extension(name: str, labels: Sequence[str]) -> str | None:
    """The ten-seed sweep (``<name>_seeds``) that holds every one of `labels` of sweep `name`
    with the same settings, or None."""
    ext = SWEEPS.get(f"{name}_seeds")
    if ext is None or not labels:
        return None
    own = {label: dict(setting) for label, setting in SWEEPS[name].points()}
    theirs = {label: dict(setting) for label, setting in ext.points()}
    same = all(label in theirs and theirs[label] == own.get(label) for label in labels)
    return ext.name if same and dict(ext.fixed) == dict(SWEEPS[name].fixed) else None

# Measured at `fast` (3 seeds): the last jump passes 0.95 by step 6,280 at T = 2, 6,510 at K = 32,
# 5,550 at α = 1.25, 12,370 at ε = 0.75 (ε = 1 had not finished by 15,000) and 700 in the copy
# task; x 10/3 at lr 0.03 gives 21k, 22k, 19k, 41k and 2.3k steps.
SWEEPS.update({s.name: s for s in [
    _lr_check("fig7a", Axis.of("T", [2]), 30_000),
    _lr_check("fig7b", Axis.of("K", [32]), 30_000),
    _lr_check("fig7c", Axis.of("eps", [0.75, 1.0]), 50_000),
    _lr_check("fig7d", Axis.of("alpha", [1.25]), 30_000),
    _lr_check("fig12", None, 10_000, fixed=dict(SWEEPS["fig12"].fixed)),
    # the multi-head models keep their NCC plateau at `fast`, against the paper's smooth rise;
    # their last jump passes 0.95 by step 10,550 (2 heads) and 8,550 (4 heads)
    _lr_check("fig16", Axis.of("heads", [2, 4]), 40_000),
    # 5 layers diverge at `fast` (loss NaN near step 8,200 in 2 seeds of 3) after passing 0.95 by
    # step 4,400
    _lr_check("fig22", Axis.of("layers", [5]), 20_000),
    # at N = 16 the layer-1 chunk example stays at its uniform value at `fast`, against the
    # paper's FCC maps; the last jump passes 0.95 by step 5,340
    _lr_check("fig19", Axis.of("N", [16]), 20_000),
]})
# Beyond the paper: the copy task with more classes, where memorising each class's label is
# harder than copying it from the context (Reddy's induction-head regime has many rare classes).
SWEEPS["fig12_classes"] = _sweep("fig12_classes", "the copy task with more classes", Axis.of("K", [256, 1024]),
                                 fixed=dict(SWEEPS["fig12"].fixed))


# The sweeps the book's chapters draw (`make runs` trains these); the others are defined and
# trained with `python -m icmeta sweep NAME` (or `scripts/train_book_runs.py --all-sweeps`) but
# not drawn in the book yet.
IN_BOOK = ("fig5", "fig7a", "fig7b", "fig7c", "fig7d", "fig7e", "fig12", "fig13", "fig15a", "fig15b", "fig18", "phase_diagram",
           "fig7a_lr", "fig7b_lr", "fig7c_lr", "fig7d_lr", "fig12_lr", "fig12_classes",
           "fig16", "fig19", "fig20", "fig21", "fig22", "fig16_lr", "fig19_lr", "fig22_lr")
# The ten-seed sweeps the claims read at `fast` (`analysis.claims`): `make runs` trains them at
# `fast` with their own seeds, whatever seeds the book's pages show.
FOR_CLAIMS = ("main_seeds", "fig16_seeds", "fig15a_seeds", "fig7c_seeds")


def sweep(name: str) -> Sweep:
    """The sweep named `name` (a key of `SWEEPS`); ConfigError naming the choices otherwise."""
    if name not in SWEEPS:
        raise ConfigError("sweep", name, ", ".join(SWEEPS))
    return SWEEPS[name]


# ------------------------------------------------------------------ checks on a lent GPU

# The paper's own learning rate (the `paper` preset, lr 0.01) needs ten times `fast`'s steps: on
# this project's CPUs days for a sweep, on a lent GPU minutes. Such checks are trained with
# `scripts/device_sweep.py` and stored under runs/gpu/<name>/ (how each was made:
# runs/gpu/README.md); the book reads them and nothing here retrains them. Each setting keeps
# the length its session's device time allowed.
@dataclass(frozen=True)
class GpuCheck:
    """Settings of sweep `base` trained at the `paper` preset on a GPU.

    Attributes:
        name: its folder under runs/gpu/ and the figure that draws it.
        base: the sweep whose settings (labels) it trains.
        steps: (setting label, training steps) of each setting trained.
        title: one line for figures.
    """

    name: str
    base: str
    steps: tuple[tuple[str, int], ...]
    title: str

    def members(self, seeds: Sequence[int] | None = None) -> list[Member]:
        steps = dict(self.steps)
        return [replace(m, config=validate(set_field(m.config, "steps", steps[m.label])))
                for m in SWEEPS[self.base].members("paper", seeds, device="cuda") if m.label in steps]

    def command(self, label: str) -> str:
        steps = dict(self.steps)[label]
        field, value = label.split("=")
        extra = "" if steps == SWEEPS[self.base].steps_for("paper") else f" --set steps={steps}"
        return f"python3 scripts/device_sweep.py OUT SECONDS --preset paper --vary {field}={value}{extra}"


GPU_CHECKS: dict[str, GpuCheck] = {c.name: c for c in [
    # 2 heads at the paper's full variant length; 4 heads for what was left of the 15 minutes
    GpuCheck("fig16_paper", "fig16", (("heads=2", 150_000), ("heads=4", 100_000)),
             "2 and 4 heads, at the paper's lr 0.01 (on a GPU)"),
]}


