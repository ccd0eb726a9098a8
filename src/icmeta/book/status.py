"""Where each of the paper's figures and tables stands in this book: one registry.

The intro's status table is generated from `PAPER_ITEMS`, and a test checks it against the
chapters (every item placed in a chapter has its "Paper Fig. N" caption there, and every such
caption is registered), so the table cannot drift from the book. No verdict is typed here: a
figure's status is computed from its claims (`icmeta.analysis.claims`), evaluated on the stored
runs at every rate they were trained at.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..analysis.claims import CLAIMS, RATES, Result, evaluate_all
from ..config import ConfigError
from ..experiments.load import load_main_run, load_queue_progress, load_sweep, load_variants, training_time_s
from ..experiments.sweeps import SWEEPS
from ..llm import COMMAND as LLM_COMMAND

# what a figure's status at one rate means: computed from its claims' verdicts there
# (`icmeta.analysis.claims`), or its kind when there is nothing to measure
STATUSES = {
    "holds": "every claim of the figure holds, in every seed, under every reading",
    "mixed": "some claims hold (in every seed or in some), some do not",
    "undecided": "the readings of a plateau disagree on one of its claims",
    "does not hold": "no claim holds in any seed under any reading",
    "not measured": ("its runs are not stored at this rate, miss a setting the claims read, or end before what "
                     "they read"),
    "drawn": "a schematic or a definition: nothing to measure",
    "pipeline only": "the code runs here on a stand-in; the real model is not on this project's machines",
}

CHAPTERS = {
    "01_task_and_model": "The task and the model",
    "02_main_result": "The main result",
    "03_explore": "Explore the training",
    "04_reproduction_notes": "Reproduction notes",
    "05_testing_the_circuits": "Testing the circuits",
    "06_data_properties": "What in the data makes each phase",
    "07_copy_and_burstiness": "The copy task and burstiness",
    "08_heads": "Heads",
    "09_context_depth_transformer": "Context length, depth and the standard transformer",
    "10_large_model": "Circuits in a large model",
    "11_exercises": "Exercises",
    "12_claims": "Every claim, measured",
}


@dataclass(frozen=True)
class Item:
    """One figure or table of the paper: what it shows, the chapter (notebook stem) that has it,
    and either the claims that decide its status (keys of `icmeta.analysis.claims.CLAIMS`, or
    their prefix ending in a dot) or its kind when there is nothing to measure."""

    name: str  # "Fig. 7b", "Table 1"
    what: str
    chapter: str
    claims: tuple[str, ...] = ()
    kind: str = "measured"  # or "drawn", "pipeline only"
    anchor: str = ""  # the label of its figure or table in the chapter (``:name:``), for links

    @property
    def link(self) -> str:
        """An HTML link from the intro to its figure or table in the chapter (the built book's pages
        sit side by side in ``book/``)."""
        return f'<a href="{self.chapter}.html#{self.anchor}">{self.name}</a>'

    @property
    def caption(self) -> str:
        """The caption prefix the chapter uses for it."""
        return f"Paper {self.name}"

    def claim_keys(self) -> list[str]:
        """The keys of its claims."""
        return [k for k in CLAIMS if any(k == c or (c.endswith(".") and k.startswith(c)) for c in self.claims)]


PAPER_ITEMS: tuple[Item, ...] = (
    Item("Fig. 1", "the task and the network", "01_task_and_model", kind="drawn", anchor="fig-1"),
    Item("Fig. 2", "accuracy, loss and attention maps per phase", "02_main_result", ("main.",), anchor="fig-2"),
    Item("Fig. 3", "phase boundaries from ΔAcc", "02_main_result", ("main.three_plateaus", "fig3."), anchor="fig-3"),
    Item("Fig. 4", "circuit metrics over training", "02_main_result", ("table1.", "fig4."), anchor="fig-4"),
    Item("Fig. 5", "SCC theory p + (1 − p)/2", "05_testing_the_circuits", ("fig5.",), anchor="fig-5"),
    Item("Fig. 6", "random-label accuracy", "05_testing_the_circuits", ("fig6.",), anchor="fig-6"),
    Item("Fig. 7a", "number of tasks T", "06_data_properties", ("fig7a.",), anchor="fig-fig7a"),
    Item("Fig. 7b", "number of item classes K", "06_data_properties", ("fig7b.",), anchor="fig-fig7b"),
    Item("Fig. 7c", "within-class noise ε", "06_data_properties", ("fig7c.",), anchor="fig-fig7c"),
    Item("Fig. 7d", "class Zipf exponent α", "06_data_properties", ("fig7d.",), anchor="fig-fig7d"),
    Item("Fig. 7e", "task Zipf exponent β", "06_data_properties", ("fig7e.",), anchor="fig-fig7e"),
    Item("Fig. 8", "1 vs 2 heads", "08_heads", ("fig8.",), anchor="fig-fig8a"),
    Item("Fig. 9", "per-head metrics of the 2-head model", "08_heads", ("fig9.",), anchor="fig-fig9"),
    Item("Fig. 10", "GPT2-XL on SST-2", "10_large_model", kind="pipeline only", anchor="fig-10-tiny"),
    Item("Fig. 11", "the induction circuit", "07_copy_and_burstiness", kind="drawn", anchor="fig-11"),
    Item("Fig. 12", "the copy task (T = 1, p_B = 1)", "07_copy_and_burstiness", ("fig12.",), anchor="fig-12a"),
    Item("Fig. 13", "models pruned to one circuit", "05_testing_the_circuits", ("fig13.",), anchor="fig-13"),
    Item("Fig. 14", "Zipf rank–frequency curves", "06_data_properties", kind="drawn", anchor="fig-14"),
    Item("Fig. 15", "burstiness B and p_B", "07_copy_and_burstiness", ("fig15a.", "fig15b."), anchor="fig-fig15a"),
    Item("Fig. 16", "1 to 16 heads", "08_heads", ("fig16.",), anchor="fig-fig16a"),
    Item("Fig. 17", "per-head, per-layer metrics", "08_heads", ("fig8.head_roles",), anchor="fig-fig17"),
    Item("Fig. 18", "T from 3 to 18", "06_data_properties", ("fig18.",), anchor="fig-18"),
    Item("Fig. 19", "context length N", "09_context_depth_transformer", ("fig19.",), anchor="fig-fig19a"),
    Item("Fig. 20", "standard transformer", "09_context_depth_transformer", ("fig20.",), anchor="fig-fig20a"),
    Item("Fig. 21", "loss on every label", "09_context_depth_transformer", ("fig21.",), anchor="fig-fig21"),
    Item("Fig. 22", "depth 2 to 5", "09_context_depth_transformer", ("fig22.",), anchor="fig-fig22"),
    Item("Fig. 23", "maps of deeper models", "09_context_depth_transformer", ("fig23.",), anchor="fig-fig23"),
    Item("Table 1", "circuits per phase", "02_main_result", ("table1.",), anchor="table-1"),
    Item("Table 2", "circuit metrics", "02_main_result", kind="drawn", anchor="table-2"),
    Item("Table 3", "hyperparameters", "01_task_and_model", kind="drawn", anchor="table-3"),
)


def item(name: str) -> Item:
    """The registry entry of a paper figure or table (``"Fig. 7b"``)."""
    for it in PAPER_ITEMS:
        if it.name == name:
            return it
    raise KeyError(f"{name!r} is not a figure or table of the paper (Fig. 1 … Fig. 23, Table 1 … Table 3)")


def rate_status(verdicts: list[str]) -> str:
    """The status word (`STATUSES`) of a figure at one rate, from its claims' verdicts there."""
    measured = [v for v in verdicts if not v.startswith("not measured")]
    if not measured:
        return "not measured"
    if all(v == "holds" for v in measured):
        return "holds"
    if all(v == "does not hold" for v in measured):
        return "does not hold"
    if any(v.startswith("depends on the reading") for v in measured):
        return "undecided"
    return "mixed"


def item_status(it: Item, results: list[Result], rate: str) -> str:
    """A figure's status at `rate` (`rate_status`), or its kind when there is nothing to measure."""
    if it.kind != "measured":
        return it.kind
    keys = set(it.claim_keys())
    return rate_status([r.verdict for r in results if r.claim.key in keys and r.rate == rate])


def status_table(results: list[Result] | None = None) -> pd.DataFrame:
    """One row per figure and table of the paper: what it shows, its chapter, and per rate its
    status (`rate_status`) with how many of its measured claims hold in every seed there
    (`icmeta.analysis.claims.evaluate_all`, run here if `results` is None)."""
    results = evaluate_all() if results is None else results
    rows = []
    for it in PAPER_ITEMS:
        row = {"paper": it.link, "shows": it.what, "chapter": CHAPTERS[it.chapter]}
        keys = set(it.claim_keys())
        for rate in RATES:
            word = item_status(it, results, rate)
            mine = [r for r in results if r.claim.key in keys and r.rate == rate and r.seeds]
            row[rate] = f"{word} ({sum(r.verdict == 'holds' for r in mine)} of {len(mine)})" if mine else word
        rows.append(row)
    return pd.DataFrame(rows)


def headline(results: list[Result], root=None) -> dict:
    """The intro's first numbers: the paper's measured figures and tables, and how many hold at
    the paper's own rate (lr 0.01), hold at `fast` but not there, do not hold at any rate measured,
    or are not yet measured at the paper's rate (`item_status`); the claims checked, and per rate
    (``fast``, and ``paper``: lr 0.01) how many are measured, hold (every seed, every reading),
    hold in part (some seeds, or some readings) or do not hold; and the verdicts of the main
    result's pause claims, as shown, and how many of its seeds at the paper's settings are complete
    (`main_queue_done`; `root`: the runs root)."""
    out: dict = {"claims": len(CLAIMS)}
    measured = [it for it in PAPER_ITEMS if it.kind == "measured"]
    at = {it.name: {rate: item_status(it, results, rate) for rate in RATES} for it in measured}
    out.update({
        "figures": len(measured),
        "fig_hold_paper": sum(v["lr 0.01"] == "holds" for v in at.values()),
        "fig_hold_fast_only": sum(v["fast"] == "holds" and v["lr 0.01"] != "holds" for v in at.values()),
        "fig_hold_nowhere": sum(all(w in ("does not hold", "not measured") for w in v.values())
                                and any(w == "does not hold" for w in v.values()) for v in at.values()),
        "fig_unmeasured_paper": sum(v["lr 0.01"] == "not measured" for v in at.values()),
    })
    for rate, tag in (("fast", "fast"), ("lr 0.01", "paper")):
        v = [r.verdict for r in results if r.rate == rate and not r.verdict.startswith("not measured")]
        holds, fails = sum(x == "holds" for x in v), sum(x == "does not hold" for x in v)
        out.update({f"{tag}_measured": len(v), f"{tag}_holds": holds, f"{tag}_not": fails,
                    f"{tag}_part": len(v) - holds - fails})
    shown = {(r.claim.key, r.rate): r.shown for r in results}
    for key, name in (("main.ncc_pause", "ncc"), ("main.scc_pause", "scc"), ("main.three_plateaus", "three")):
        for rate, tag in (("fast", "fast"), ("lr 0.01", "paper")):
            out[f"{name}_{tag}"] = shown.get((key, rate), "not measured")
    out.update(main_queue_done(root))
    return out


def main_queue_done(root=None) -> dict:
    """How far the paper-rate queue's main result stood when the pages were executed (`shown.json`):
    seeds complete and seeds queued (0 of 0 where the queue holds none)."""
    from ..experiments import queue as Q
    from ..store.io import StoreError

    q = Q.queue_root(None if root is None else f"{root}/queue")
    try:
        planned = {s for it in Q.read_plan(q / "plan.json") if it.sweep == "main_seeds" for s in it.seeds}
    except ConfigError:  # no queue planned in this store
        planned = set()
    try:
        progress = load_queue_progress("main_seeds", root=root)
    except StoreError:
        return {"main_done": 0, "main_seeds": len(planned)}
    return {"main_done": sum(r.info.get("status") == "complete" for _, r in progress.pairs()),
            "main_seeds": len(planned)}


# What each chapter reads: (what is trained for it, the command that trains it, the sweeps it
# draws). "main" is the main run; "variants" the reproduction notes' runs beside it.
CHAPTER_RUNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "01_task_and_model": ("nothing (configs and the data draw)", "python -m icmeta figure fig1", ()),
    "02_main_result": ("the main run", "python -m icmeta train --preset {preset}", ("main",)),
    "03_explore": ("nothing new (the main run)", "python -m icmeta train --preset {preset}", ()),
    "04_reproduction_notes": ("7 variants of 15,000 steps", "python scripts/train_book_runs.py", ("variants",)),
    "05_testing_the_circuits": ("sweeps of 15,000 steps", "python -m icmeta sweep fig5 (fig13)", ("fig5", "fig13")),
    "06_data_properties": ("sweeps of 15,000 steps (Figs. 7b, 18 and the K × ε diagram: 40,000); lr checks at lr 0.03",
                           "python -m icmeta sweep fig7a (fig7b … fig7e, fig18, phase_diagram, fig7a_lr … fig7d_lr)",
                           ("fig7a", "fig7b", "fig7c", "fig7d", "fig7e", "fig18", "phase_diagram",
                            "fig7a_lr", "fig7b_lr", "fig7c_lr", "fig7d_lr")),
    "07_copy_and_burstiness": ("sweeps of 15,000 steps; lr check at lr 0.03",
                               "python -m icmeta sweep fig12 (fig12_lr, fig12_classes, fig15a, fig15b)",
                               ("fig12", "fig12_lr", "fig12_classes", "fig15a", "fig15b")),
    "08_heads": ("sweeps of 15,000 steps; lr check at lr 0.03; 2 and 4 heads at lr 0.01 from a GPU (read, not trained)",
                 "python -m icmeta sweep fig16 (fig16_lr)", ("fig16", "fig16_lr")),
    "09_context_depth_transformer": ("sweeps of 15,000 steps (standard transformer: 40,000 at lr 0.01); lr checks at lr 0.03",
                                     "python -m icmeta sweep fig19 (fig20, fig21, fig22, fig19_lr, fig22_lr)",
                                     ("fig19", "fig20", "fig21", "fig22", "fig19_lr", "fig22_lr")),
    "10_large_model": ("nothing (a tiny random GPT-2; GPT2-XL where its weights are)",
                       LLM_COMMAND.format(model="gpt2-xl"), ()),
    "11_exercises": ("nothing (reads the runs above)", "", ()),
    "12_claims": ("nothing (reads the runs above)", "", ()),
}


def chapter_table(preset_name: str, seeds, device: str = "cpu") -> pd.DataFrame:
    """Per chapter: the paper's figures and tables it has (from `PAPER_ITEMS`), what it trains,
    the command, and the measured training time of its runs (each model counted once; a
    learning-rate check counts at the preset it exists for only). Reads stored runs only."""

    main = load_main_run(preset_name, seeds, device)
    rows = []
    for stem, (trains, command, uses) in CHAPTER_RUNS.items():
        seconds = 0.0
        if "main" in uses:
            seconds += main.wall_time_s
        if "variants" in uses:
            seconds += sum(r.wall_time_s for r in load_variants(preset_name, seeds, device).values()
                           if r.directory != main.directory)
        sweeps = [n for n in uses if n in SWEEPS and (not SWEEPS[n].presets or preset_name in SWEEPS[n].presets)]
        if sweeps:
            seconds += training_time_s([r for n in sweeps for r in load_sweep(n, preset_name, seeds, device=device).runs])
        items = ", ".join(it.name for it in PAPER_ITEMS if it.chapter == stem) or "—"
        rows.append({"chapter": CHAPTERS.get(stem, stem), "paper": items, "trains": trains,
                     "command": command.format(preset=preset_name), "training (s)": int(round(seconds))})
    return pd.DataFrame(rows)
