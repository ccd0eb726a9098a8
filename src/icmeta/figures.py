"""The one figure registry: every figure the book shows, and what ``python -m icmeta figure NAME`` draws.

An entry says what the figure reads (`Entry.load`: preset, seeds, runs root -> the keyword inputs
of its drawing, from stored runs only) and how it is drawn (`Entry.draw`: those inputs -> one
matplotlib Figure, or one per name in `Entry.stems`). A chapter passes the runs it has already
loaded, ``icmeta.book.show("fig5", sr=sr)``; the command line loads them, ``save("fig5")``. Both
go through `draw`, so a figure in the book can always be made from the command line. Nothing
here trains; nothing below this module imports it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt

from .config import ConfigError
from .experiments.load import (
    load_archived_paper_run,
    load_gpu_check,
    load_lr_check,
    load_main_run,
    load_queue_progress,
    load_sweep,
    load_variants,
)
from .experiments.sweeps import GPU_CHECKS
from .llm import load_results, stand_in_metrics
from .plots import heads, llm, main_run, schematics, sweeps
from .plots.style import start_log_axes
from .presets import PRESET_SEEDS, preset

Loader = Callable[[str, Sequence[int], "Path | None"], dict]


@dataclass(frozen=True)
class Entry:
    """One registered figure: its image names (glue names and file stems), its loader and its drawing."""

    stems: tuple[str, ...]
    load: Loader
    draw: Callable[..., Any]


def _main(preset_name, seeds, root) -> dict:
    return {"run": load_main_run(preset_name, seeds, root=root)}


def _sweep(name: str) -> Loader:
    return lambda preset_name, seeds, root: {"sr": load_sweep(name, preset_name, seeds, root=root)}


def _heads_sweep(name: str) -> Loader:
    return lambda preset_name, seeds, root: {"sr": load_sweep(name, preset_name, seeds, root=root), "seed": seeds[0]}


def _fast_only(name: str, preset_name: str) -> None:
    if preset_name != "fast":
        raise ConfigError("preset", preset_name, f"fast ({name} compares the fast preset with lower learning rates)")


def _lr(name: str) -> Loader:
    def load(preset_name, seeds, root):
        _fast_only(name, preset_name)
        fast, slow = load_lr_check(name, seeds, root)
        return {"fast": fast, "slow": slow}

    return load


def _gpu(name: str) -> Loader:
    """A GPU check (`GPU_CHECKS`) beside its base settings at `fast` and at the lr check's rate."""
    def load(preset_name, seeds, root):
        _fast_only(name, preset_name)
        fast, slow = load_lr_check(f"{GPU_CHECKS[name].base}_lr", seeds, root)
        gpu = load_gpu_check(name, seeds, None if root is None else Path(root) / "gpu" / name)
        return {"fast": fast, "slow": slow, "gpu": gpu, "seed": seeds[0]}

    return load


def _fig7(preset_name, seeds, root) -> dict:
    return {"panels": {n: load_sweep(n, preset_name, seeds, root=root) for n in ("fig7a", "fig7b", "fig7c", "fig7d", "fig7e")}}


def _fig1(preset_name, seeds, root) -> dict:
    return {"config": preset(preset_name, seed=seeds[0]), "example": None}


def _fig10(preset_name, seeds, root) -> dict:
    table, info = load_results("gpt2-xl", root=None if root is None else Path(root) / "llm")
    return {"table": table, "info": info}


def _fig10_tiny(preset_name, seeds, root) -> dict:
    return {"table": stand_in_metrics()}


def _lr_clock(preset_name, seeds, root) -> dict:
    return {"main": load_main_run(preset_name, seeds, root=root), "gpu": load_archived_paper_run(root)}


def _paper_settings(preset_name, seeds, root) -> dict:
    """The queue's main result as the book shows it, and the same seeds at `fast` (its ten-seed sweep)."""
    _fast_only("paper_settings", preset_name)
    progress = load_queue_progress("main_seeds", root=None if root is None else Path(root))
    return {"progress": progress, "fast": load_sweep("main_seeds", "fast", sorted({m.seed for m in progress.members}),
                                                     root=root)}


def _variants(preset_name, seeds, root) -> dict:
    return {"runs": load_variants(preset_name, seeds, root=root)}


def _nothing(preset_name, seeds, root) -> dict:
    return {}


REGISTRY: dict[str, Entry] = {
    # the main run (chapters 1-4 and the intro)
    "fig1": Entry(("fig1",), _fig1, schematics.fig1),
    "fig2": Entry(("fig2",), _main, main_run.fig2),
    "fig3": Entry(("fig3",), _main, main_run.fig3),
    "fig4": Entry(("fig4",), _main, main_run.fig4),
    "main_result": Entry(("main_result",), _main, main_run.main_result),
    "variants_acc": Entry(("variants_acc",), _variants, main_run.variant_grid),
    "variants_metrics": Entry(("variants_metrics",), _variants, main_run.variant_metrics),
    "lr_clock": Entry(("lr_clock",), _lr_clock, main_run.lr_clock),
    "paper_settings": Entry(("paper_settings",), _paper_settings, main_run.paper_settings),
    "readings": Entry(("readings",), lambda p, s, root: {**_main(p, s, root), "seed": s[0]}, main_run.readings),
    "exercise_maps": Entry(("exercise_maps",), lambda p, s, root: {**_main(p, s, root), "seed": s[0]},
                           main_run.shuffled_plateau_maps),
    # testing the circuits (chapter 5)
    "fig5": Entry(("fig5",), _sweep("fig5"), sweeps.fig5),
    "fig6": Entry(("fig6",), _main, sweeps.fig6),
    "fig13": Entry(("fig13",), _sweep("fig13"), sweeps.fig13),
    # data properties (chapter 6)
    "fig7": Entry(("fig7",), _fig7, sweeps.fig7),
    **{f"fig7{p}": Entry((f"fig7{p}",), _sweep(f"fig7{p}"), sweeps.sweep_grid) for p in "abcde"},
    "fig7e_tasks": Entry(("fig7e_tasks",), _sweep("fig7e"), lambda sr: sweeps.per_task_accuracy(sr, "beta=1")),
    "fig14": Entry(("fig14",), _nothing, schematics.fig14),
    "fig18": Entry(("fig18",), _sweep("fig18"), lambda sr: sweeps.sweep_overlay(sr, ("acc", "loss"), log_y=("loss",))),
    "phase_diagram": Entry(("phase_diagram",), _sweep("phase_diagram"), sweeps.phase_diagram),
    # copy task and burstiness (chapter 7)
    "fig11": Entry(("fig11",), _nothing, schematics.fig11),
    "fig12": Entry(("fig12a", "fig12b"), _sweep("fig12"), sweeps.fig12),
    "fig12_classes": Entry(("fig12_classes", "fig12_classes_maps"), _sweep("fig12_classes"), sweeps.fig12),
    "fig15a": Entry(("fig15a",), _sweep("fig15a"), sweeps.sweep_grid),
    "fig15b": Entry(("fig15b",), _sweep("fig15b"), sweeps.sweep_grid),
    # the learning-rate checks (chapters 6-9)
    **{f"{b}_lr": Entry((f"{b}_lr",), _lr(f"{b}_lr"), lambda fast, slow: sweeps.lr_check(fast, slow))
       for b in ("fig7a", "fig7b", "fig7c", "fig7d", "fig12", "fig16", "fig19", "fig22")},
    # architecture (chapters 8 and 9)
    "fig8": Entry(("fig8a", "fig8b"), _heads_sweep("fig16"), heads.fig8),
    "fig9": Entry(("fig9", "fig9_maps"), _heads_sweep("fig16"), heads.fig9),
    "fig16": Entry(("fig16a", "fig16b"), _heads_sweep("fig16"), heads.fig16),
    "fig17": Entry(("fig17",), _heads_sweep("fig16"), heads.fig17),
    "fig16_paper": Entry(("fig16_paper",), _gpu("fig16_paper"), heads.fig16_paper),
    "fig9_paper": Entry(("fig9_paper", "fig9_paper_maps"), _gpu("fig16_paper"), lambda gpu, seed: heads.fig9(gpu, seed=seed)),
    "fig19": Entry(("fig19a", "fig19b"), _heads_sweep("fig19"), heads.fig19),
    "fig19_lr_maps": Entry(("fig19_lr_maps",), lambda p, s, root: {**_lr("fig19_lr")(p, s, root), "seed": s[0]},
                           lambda slow, seed: heads.end_maps(slow, "N=16", seed=seed)),
    "fig20": Entry(("fig20a", "fig20b"), _heads_sweep("fig20"), heads.fig20),
    "fig21": Entry(("fig21",), _sweep("fig21"), heads.fig21),
    "fig22": Entry(("fig22",), _sweep("fig22"), heads.fig22),
    "fig23": Entry(("fig23",), _heads_sweep("fig22"), heads.fig23),
    # the large model (chapter 10)
    "fig10": Entry(("fig10",), _fig10, lambda table, info: llm.fig10(table, f"{info['model']}, {info['prompts']} SST-2 prompts")),
    "fig10_tiny": Entry(("fig10_tiny",), _fig10_tiny,
                        lambda table: llm.fig10(table, "tiny random GPT-2 (4 layers, 4 heads): a pipeline check, not a result")),
}


def names() -> list[str]:
    """Every registered figure name."""
    return list(REGISTRY)


def panels(name: str) -> list[str]:
    """The registered names `name` draws: itself, or for a paper figure registered panel by panel
    (``fig15`` as ``fig15a`` and ``fig15b``) every panel; `ConfigError` (one line, the allowed
    names) for anything else."""
    if name in REGISTRY:
        return [name]
    found = [n for n in REGISTRY if len(n) == len(name) + 1 and n.startswith(name) and n[-1] in "abcde"]
    if not found:
        raise ConfigError("figure", name, ", ".join(REGISTRY))
    return found


def entry(name: str) -> Entry:
    """The registry's entry of `name`; `ConfigError` (one line, the allowed names) otherwise."""
    if name not in REGISTRY:
        raise ConfigError("figure", name, ", ".join(REGISTRY))
    return REGISTRY[name]


def draw(name: str, **inputs) -> dict[str, Any]:
    """Draw figure `name` from its inputs (those its loader returns; a chapter passes the runs it
    loaded, and only the inputs the drawing takes are used): ``{stem: Figure}``."""
    e = entry(name)
    params = inspect.signature(e.draw).parameters
    figs = e.draw(**{k: v for k, v in inputs.items() if k in params})
    figs = figs if isinstance(figs, tuple) else (figs,)
    for fig in figs:
        start_log_axes(fig)
    return dict(zip(e.stems, figs, strict=True))


def load(name: str, preset_name: str = "fast", seeds: Sequence[int] | None = None, root: Path | str | None = None) -> dict:
    """The inputs of figure `name`, read from the store (never trained). Raises
    `icmeta.store.StoreError` (one line, naming the command that trains them) when runs are missing."""
    seeds = list(seeds) if seeds else list(PRESET_SEEDS.get(preset_name, (0,)))
    return entry(name).load(preset_name, seeds, root)


def save(name: str, preset_name: str = "fast", seeds: Sequence[int] | None = None, out: Path | str = Path("figures"),
         root: Path | str | None = None) -> list[Path]:
    """Load and draw figure `name` (every panel of a paper figure registered by panels, `panels`)
    into ``out/<stem>.png`` (one file per image); returns the paths."""
    out = Path(out)
    paths = []
    for one in panels(name):
        figs = draw(one, **load(one, preset_name, seeds, root))
        out.mkdir(parents=True, exist_ok=True)
        for stem, fig in figs.items():
            paths.append(out / f"{stem}.png")
            fig.savefig(paths[-1], dpi=130, bbox_inches="tight")
            plt.close(fig)
    return paths
