"""Every registered figure draws from a tiny stored run.

For each name in `icmeta.figures.REGISTRY` the inputs its loader would return (a main run of two
seeds trained together, sweeps whose labels are those the drawing looks up, learning-rate checks,
a GPU check's third rate, the reproduction-notes variants, the large model's table...) are built
from tiny runs trained once into a module-wide store, and `figures.draw` must give one matplotlib
Figure per stem, each with drawn content. The tiny runs measure nothing: the test is that every
drawing runs end to end on stored runs of the real shapes.

Cost: everything trains with eager kernels (no compile per shape), and the Bayes ceilings of each
member but the main run's are estimated from 4,000 sequences instead of 100,000 (they are drawn,
not checked, here; the main run keeps its own, which set the floors of its phase detection).
The sweeps are trained together, in as few groups as their shapes allow, the first time a test
needs one of them.
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from icmeta import figures, llm
from icmeta.book.display import inline_png, map_px, png_width
from icmeta.plots import palette
from icmeta.analysis.phases import run_phases
from icmeta.core import bayes
from icmeta.experiments import Sweep, load_sweep
from icmeta.experiments.sweeps import Axis
from icmeta.presets import VARIANTS, preset
from icmeta.train import load_or_train
from icmeta.train.runner import plan_groups, train_group

pytestmark = pytest.mark.slow
MIN_MAP_PX = 150  # an attention map's width in the page (as tests/test_legibility.py asks of the book's)

SEEDS = [0, 1]
# The main run trains 120 steps (a plateau for the exercise to draw), the sweeps 60; the variants
# train VARIANT_STEPS and the main run is cut there (a multiple of the metrics interval, 5
# evaluations of 10 steps).
MAIN_STEPS, SWEEP_STEPS, VARIANT_STEPS = 120, 60, 50
TINY = {"steps": SWEEP_STEPS, "batch_size": 16, "eval_size": 64, "eval_every": 10, "K": 16, "L": 8, "kernels": "eager"}
CHECK_LR, GPU_LR = 0.03, 0.01  # the lr checks' rate and the GPU check's (the paper's)


def tiny(seed: int = 0, **kw):
    return preset("fast", seed=seed, **{**TINY, **kw})


def _sweep(name: str, *axes: Axis, title: str = "", base: str = "", lr_scale: float = 1.0, **fixed) -> Sweep:
    return Sweep(name, tuple(axes), tuple({**TINY, **fixed}.items()), title=title or name, base=base, lr_scale=lr_scale)


COPY = {"T": 1, "p_B": 1.0, "B": 1}  # Fig. 12's copy task
# The tiny counterparts of `icmeta.experiments.SWEEPS`, with the labels the drawings look up.
SWEEPS: dict[str, Sweep] = {s.name: s for s in [
    _sweep("fig5", Axis.tied(["K", "L"], [8, 16]), task_maps="disjoint", T=2, mask="scc"),
    _sweep("fig7a", Axis.of("T", [2, 3])),
    _sweep("fig7b", Axis.of("K", [16, 32])),
    _sweep("fig7c", Axis.of("eps", [0.1, 0.5])),
    _sweep("fig7d", Axis.of("alpha", [0.0, 1.25])),
    _sweep("fig7e", Axis.of("beta", [0.0, 1.0])),  # fig7e_tasks: "beta=1"
    _sweep("fig12", **COPY),
    _sweep("fig12_classes", Axis.of("K", [16, 32]), **COPY),
    _sweep("fig13", Axis.of("mask", ["none", "ncc", "scc", "fcc"])),
    _sweep("fig15a", Axis.of("B", [1, 2]), p_B=0.25),
    _sweep("fig15b", Axis.of("p_B", [0.0, 1.0])),
    _sweep("fig18", Axis.of("T", [3, 6])),
    _sweep("phase_diagram", Axis.of("K", [16, 32]), Axis.of("eps", [0.1, 0.5])),
    _sweep("fig16", Axis.of("heads", [1, 2, 4])),  # Figs. 8, 9, 17: "heads=2"; Fig. 16: "heads=4"
    _sweep("fig19", Axis.of("N", [2, 16]), K=40),  # "N=16"
    _sweep("fig20", arch="standard", attn_scale="sqrt", lr_scale=0.1),
    _sweep("fig21", Axis.of("loss", ["query", "all_labels"])),  # "loss=all_labels"
    _sweep("fig22", Axis.of("layers", [2, 3, 4, 5])),  # Fig. 23: "layers=3", "layers=4", "layers=5"
]}
# The learning-rate checks: some settings of a base sweep again at CHECK_LR (`load_lr_check`).
LR_CHECKS = {"fig7a": Axis.of("T", [2]), "fig7b": Axis.of("K", [32]), "fig7c": Axis.of("eps", [0.5]),
             "fig7d": Axis.of("alpha", [1.25]), "fig12": None, "fig16": Axis.of("heads", [2, 4]),
             "fig19": Axis.of("N", [16]), "fig22": Axis.of("layers", [5])}
for _base, _axis in LR_CHECKS.items():
    _fixed = {k: v for k, v in SWEEPS[_base].fixed if TINY.get(k, object()) != v}
    SWEEPS[f"{_base}_lr"] = _sweep(f"{_base}_lr", *([_axis] if _axis else []), base=_base, lr=CHECK_LR, **_fixed)
# Fig. 16's GPU check: its settings at a third rate (`load_gpu_check`).
SWEEPS["fig16_paper"] = _sweep("fig16_paper", Axis.of("heads", [2, 4]), lr=GPU_LR)


# `bayes.ideal_accuracies` on 4,000 sequences while the tiny runs train: their ceilings are drawn,
# not checked, here.
FEW_CEILING_SAMPLES = functools.partial(bayes.ideal_accuracies, n=4_000, chunk=4_000)


class Store:
    """The tiny runs in one folder, each trained the first time a figure asks for it."""

    def __init__(self, root):
        self.root = root
        self._sweeps_trained = False

    def _train(self, fn):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(bayes, "ideal_accuracies", FEW_CEILING_SAMPLES)
            return fn()

    def sweep(self, name: str, labels=None):
        if not self._sweeps_trained:  # every sweep at once: members of one shape train together
            configs = [m.config for sw in SWEEPS.values() for m in sw.members("fast", SEEDS)]
            self._train(lambda: [train_group(g, self.root) for g in plan_groups(configs, 64)])
            self._sweeps_trained = True
        return load_sweep(SWEEPS[name], "fast", SEEDS, root=self.root, labels=labels)

    def lr_check(self, name: str):
        """(the base sweep's settings at `fast`, the check): what `load_lr_check` returns."""
        slow = self.sweep(name)
        return self.sweep(SWEEPS[name].base, labels=slow.labels), slow

    def run(self, *configs, few_ceiling_samples: bool = True):
        train = lambda: load_or_train(list(configs), root=self.root, progress=False)
        return self._train(train) if few_ceiling_samples else train()

    @functools.cached_property
    def main(self):
        """The main run with its ceilings in full: they set the floors of its phase detection."""
        return self.run(*(tiny(s, steps=MAIN_STEPS) for s in SEEDS), few_ceiling_samples=False)

    @functools.cached_property
    def seed_with_a_plateau(self) -> int:
        """The exercise draws one seed's plateaus (the loader passes the first seed); in a tiny run
        not every seed has one (at 120 steps seed 1 has an NCC plateau, seed 0 none)."""
        pt = run_phases(self.main)
        assert len(pt), "the tiny main run has no plateau in any seed: nothing for the exercise to draw"
        return int(pt.seed.iloc[0])

    @functools.cached_property
    def variants(self):
        """What `load_variants` returns: every variant over VARIANT_STEPS, the preset's own the main run cut there."""
        return {name: self.run(*(tiny(s, steps=VARIANT_STEPS, **kw) for s in SEEDS)) if kw
                else self.main.until(VARIANT_STEPS) for name, kw in VARIANTS.items()}

    @functools.cached_property
    def archived(self):
        """The archived `paper` run's stand-in: three seeds at the paper's rate."""
        return self.run(*(tiny(s, steps=MAIN_STEPS, lr=GPU_LR) for s in (0, 1, 2)))


# What each figure's loader returns, built from the store (name -> store -> inputs).
def _main(s):
    return {"run": s.main}


def _sr(sweep: str, heads: bool = False):
    return lambda s: {"sr": s.sweep(sweep), **({"seed": SEEDS[0]} if heads else {})}


def _lr(name: str):
    def inputs(s):
        fast, slow = s.lr_check(name)
        return {"fast": fast, "slow": slow, "seed": SEEDS[0]}
    return inputs


def _gpu(s):
    fast, slow = s.lr_check("fig16_lr")
    return {"fast": fast, "slow": slow, "gpu": s.sweep("fig16_paper"), "seed": SEEDS[0]}


def _nothing(s):
    return {}


def _paper_settings(s):
    """The queue's main result (the archived stand-in, at the paper's rate) beside the main run, one
    member per seed each, as `load_queue_progress` and `load_sweep` give them."""
    from icmeta.experiments.load import SweepRuns, member_view
    from icmeta.experiments.sweeps import Member

    def per_seed(run, name):
        return SweepRuns(Sweep(name), [Member("main", seed, c, ()) for (_, seed), c in zip(run.members, run.configs)],
                         [member_view(run, label, seed) for label, seed in run.members])

    return {"progress": per_seed(s.archived, "main_seeds_paper"), "fast": per_seed(s.main, "main_seeds")}


RECIPES = {
    "fig1": lambda s: {"config": preset("fast", seed=SEEDS[0]), "example": None},
    "fig2": _main, "fig3": _main, "fig4": _main, "main_result": _main, "fig6": _main,
    "variants_acc": lambda s: {"runs": s.variants},
    "variants_metrics": lambda s: {"runs": s.variants},
    "lr_clock": lambda s: {"main": s.main, "gpu": s.archived},
    "paper_settings": _paper_settings,
    "exercise_maps": lambda s: {"run": s.main, "seed": s.seed_with_a_plateau},
    "readings": lambda s: {"run": s.main, "seed": s.seed_with_a_plateau},
    "fig5": _sr("fig5"), "fig13": _sr("fig13"),
    "fig7": lambda s: {"panels": {n: s.sweep(n) for n in ("fig7a", "fig7b", "fig7c", "fig7d", "fig7e")}},
    **{f"fig7{p}": _sr(f"fig7{p}") for p in "abcde"},
    "fig7e_tasks": _sr("fig7e"),
    "fig14": _nothing, "fig11": _nothing,
    "fig18": _sr("fig18"), "phase_diagram": _sr("phase_diagram"),
    "fig12": _sr("fig12"), "fig12_classes": _sr("fig12_classes"),
    "fig15a": _sr("fig15a"), "fig15b": _sr("fig15b"),
    **{f"{b}_lr": _lr(f"{b}_lr") for b in LR_CHECKS},
    "fig8": _sr("fig16", heads=True), "fig9": _sr("fig16", heads=True),
    "fig16": _sr("fig16", heads=True), "fig17": _sr("fig16", heads=True),
    "fig16_paper": _gpu, "fig9_paper": _gpu,
    "fig19": _sr("fig19", heads=True), "fig19_lr_maps": _lr("fig19_lr"),
    "fig20": _sr("fig20", heads=True),
    "fig21": _sr("fig21"), "fig22": _sr("fig22"), "fig23": _sr("fig22", heads=True),
    "fig10": lambda s: {"table": llm.stand_in_metrics(), "info": {"model": "tiny random GPT-2", "prompts": 12}},
    "fig10_tiny": lambda s: {"table": llm.stand_in_metrics()},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("registry-runs"))


def _drawn(ax) -> bool:
    return bool(ax.lines or ax.images or ax.collections or ax.patches)


@pytest.mark.parametrize("name", figures.names())
def test_registered_figure_draws_from_a_tiny_stored_run(name, store):
    assert name in RECIPES, f"no tiny inputs for the registered figure {name!r}: add a recipe to RECIPES"
    figs = figures.draw(name, **RECIPES[name](store))
    try:
        assert list(figs) == list(figures.entry(name).stems)
        for stem, fig in figs.items():
            assert isinstance(fig, Figure), (stem, type(fig))
            assert fig.axes, f"{stem}: no axes"
            assert any(_drawn(ax) for ax in fig.axes), f"{stem}: no lines, images, collections or patches"
            assert palette.misuses(fig) == [], stem  # levels in their palette, shading by level only
            width = png_width(inline_png(fig))
            narrow = [px for px in map_px(fig, width) if px < MIN_MAP_PX]
            assert not narrow, f"{stem}: attention maps {narrow} px wide in the page, under {MIN_MAP_PX}"
    finally:
        for fig in figs.values():
            plt.close(fig)


def test_every_registered_figure_is_tested_and_its_stems_are_unique():
    assert set(figures.names()) == set(figures.REGISTRY) == set(RECIPES)
    stems = [s for e in figures.REGISTRY.values() for s in e.stems]
    assert len(stems) == len(set(stems)), sorted(s for s in stems if stems.count(s) > 1)
    assert all(e.stems for e in figures.REGISTRY.values())
