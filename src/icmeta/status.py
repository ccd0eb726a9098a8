"""Where each of the paper's figures and tables stands in this book: one registry.

The intro's status table is generated from `PAPER_ITEMS`, and a test checks it against the
chapters (every item placed in a chapter has its "Paper Fig. N" caption there, and every such
caption is registered), so the table cannot drift from the book. The verdicts are the
chapters' own comparisons, one line each; the numbers behind them are in the chapters.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# what a verdict means
STATUSES = {
    "reproduced": "the paper's finding holds in our measurement",
    "partly": "some of the finding holds, some does not (see the chapter)",
    "not at fast": "does not hold at the fast preset; the check at a lower learning rate is shown beside it",
    "drawn": "a schematic or a definition: nothing to measure",
    "training": "its runs are defined and training; the chapter names what is missing",
    "pipeline only": "the code runs here on a stand-in; the real model is not on this project's machines",
    "not yet": "not in the book yet",
}

CHAPTERS = {
    "01_task_and_model": "The task and the model",
    "02_main_result": "The main result",
    "03_explore": "Explore the training",
    "04_reproduction_notes": "Reproduction notes",
    "05_testing_the_circuits": "Testing the circuits",
    "06_data_properties": "What in the data makes each phase",
    "07_copy_and_burstiness": "The copy task and burstiness",
    "08_architecture": "Heads, length, depth and the standard transformer",
    "09_large_model": "Circuits in a large model",
    "10_exercises": "Exercises",
}


@dataclass(frozen=True)
class Item:
    """One figure or table of the paper: what it shows, the chapter (notebook stem) that has it
    (None: not in the book yet), its status (a key of `STATUSES`) and one line why."""

    name: str  # "Fig. 7b", "Table 1"
    what: str
    chapter: str | None
    status: str
    note: str

    @property
    def caption(self) -> str:
        """The caption prefix the chapter uses for it."""
        return f"Paper {self.name}"


PAPER_ITEMS: tuple[Item, ...] = (
    Item("Fig. 1", "the task and the network", "01_task_and_model", "drawn", "a sampled sequence and the model, drawn from the package"),
    Item("Fig. 2", "accuracy, loss and attention maps per phase", "02_main_result", "reproduced",
         "three plateaus at the three strategies' ceilings, with the paper's maps in each"),
    Item("Fig. 3", "phase boundaries from ΔAcc", "02_main_result", "reproduced",
         "boundaries found; read from the log-step curve, since a fixed ΔAcc threshold is noisy at fast"),
    Item("Fig. 4", "circuit metrics over training", "02_main_result", "reproduced",
         "bigram, label attention and chunk example move in the paper's order in both layers"),
    Item("Fig. 5", "SCC theory p + (1 − p)/2", "05_testing_the_circuits", "reproduced",
         "an SCC-only model ends within 0.01 of the theory at K = 8, 16, 32"),
    Item("Fig. 6", "random-label accuracy", "05_testing_the_circuits", "reproduced",
         "RLA = accuracy on the NCC and SCC plateaus; 0.54–0.69 at the end, under FCC"),
    Item("Fig. 7a", "number of tasks T", "06_data_properties", "partly",
         "1/T plateau and T = 1's single jump hold; T = 2 shows no NCC plateau, at fast nor at lr 0.03"),
    Item("Fig. 7b", "number of item classes K", "06_data_properties", "partly",
         "phase 2 gone from K = 256 on; K = 32 keeps phase 1 (at fast and lr 0.03); K ≥ 512 unfinished at 40,000 steps"),
    Item("Fig. 7c", "within-class noise ε", "06_data_properties", "partly",
         "at fast both plateaus thin out with ε, phase 2 not first; at lr 0.03 both survive ε = 1"),
    Item("Fig. 7d", "class Zipf exponent α", "06_data_properties", "reproduced",
         "no NCC or SCC left at α = 1; α = 1.25 the same at lr 0.03, where no seed diverges"),
    Item("Fig. 7e", "task Zipf exponent β", "06_data_properties", "reproduced",
         "average unchanged; the frequent task first, rare tasks with no intermediate level"),
    Item("Fig. 8", "1 vs 2 heads", "08_architecture", "partly",
         "one NCC head and one FCC head in seed 0 only; the NCC plateau stays with 2 heads at fast and lr 0.03, goes at the paper's lr 0.01 (GPU)"),
    Item("Fig. 9", "per-head metrics of the 2-head model", "08_architecture", "partly",
         "seed 0's FCC head peaks in layer-2 bigram (0.69) at step 3,550 with layer-1 label attention high; seeds 1, 2 and lr 0.01 (peak at 21,544) in layer 2 only"),
    Item("Fig. 10", "GPT2-XL on SST-2", "09_large_model", "pipeline only",
         "tested on a tiny random GPT-2; python -m icmeta llm measures GPT2-XL where its weights are"),
    Item("Fig. 11", "the induction circuit", "07_copy_and_burstiness", "drawn", "a schematic"),
    Item("Fig. 12", "the copy task (T = 1, p_B = 1)", "07_copy_and_burstiness", "partly",
         "one jump holds; the induction circuit appears with K = 1024 classes, not at K = 64 (memorised at fast and lr 0.03)"),
    Item("Fig. 13", "models pruned to one circuit", "05_testing_the_circuits", "partly",
         "NCC-only and SCC-only hold; FCC-only first holds the context-free level"),
    Item("Fig. 14", "Zipf rank–frequency curves", "06_data_properties", "drawn", "the distributions of Figs. 7d, 7e"),
    Item("Fig. 15", "burstiness B and p_B", "07_copy_and_burstiness", "reproduced",
         "larger B drops NCC (weakly), larger p_B smooths the curve"),
    Item("Fig. 16", "1 to 16 heads", "08_architecture", "partly",
         "NCC plateau in 6 of 6 seeds at fast and lr 0.03, in 1 of 6 at the paper's lr 0.01 (GPU), though accuracy slows near that level at every rate; with 4 heads 0–2 NCC heads, no whole FCC head"),
    Item("Fig. 17", "per-head, per-layer metrics", "08_architecture", "partly",
         "as the paper describes in seed 0 (head 2 bigram in both layers, head 1 chunk then label attention)"),
    Item("Fig. 18", "T from 3 to 18", "06_data_properties", "partly",
         "first plateau at 1/T's level and later jumps reproduced; from T = 12 the runs end mid-rise at 40,000 steps"),
    Item("Fig. 19", "context length N", "08_architecture", "partly",
         "phases at N = 2, 4, mostly gone at N = 8; one quick rise from N = 16; no chunking at N = 16 (fast and lr 0.03): the labels alone decide"),
    Item("Fig. 20", "standard transformer", "08_architecture", "partly",
         "SCC plateau in every seed near the paper's 5x10^4 steps, then FCC; layer 1 does not chunk by attention"),
    Item("Fig. 21", "loss on every label", "08_architecture", "partly",
         "phases in every seed; mean over positions 0.81–0.84; layer 1 chunks less than with the query's loss"),
    Item("Fig. 22", "depth 2 to 5", "08_architecture", "reproduced",
         "phases at 2, 3 layers, one rise at 4, 5; 5 layers diverge in 2 seeds of 3 at fast"),
    Item("Fig. 23", "maps of deeper models", "08_architecture", "reproduced",
         "layer 1 chunks, layer 2 reads the labels, layers 3–5 attend to the query itself"),
    Item("Table 1", "circuits per phase", "02_main_result", "reproduced",
         "each plateau's layer-1 and layer-2 patterns match the paper's rows"),
    Item("Table 2", "circuit metrics", "02_main_result", "drawn", "the definitions, printed from the package"),
    Item("Table 3", "hyperparameters", "01_task_and_model", "drawn", "generated from the presets"),
)


def item(name: str) -> Item:
    """The registry entry of a paper figure or table (``"Fig. 7b"``)."""
    for it in PAPER_ITEMS:
        if it.name == name:
            return it
    raise KeyError(f"{name!r} is not a figure or table of the paper (Fig. 1 … Fig. 23, Table 1 … Table 3)")


def status_table() -> pd.DataFrame:
    """One row per figure and table of the paper: what it shows, chapter, status, why."""
    return pd.DataFrame([{"paper": it.name, "shows": it.what,
                          "chapter": CHAPTERS.get(it.chapter, "—") if it.chapter else "—",
                          "status": it.status, "why": it.note} for it in PAPER_ITEMS])


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
    "08_architecture": ("sweeps of 15,000 steps (standard transformer: 40,000 at lr 0.01); lr checks at lr 0.03; 2 and 4 heads at lr 0.01 from a GPU (read, not trained)",
                        "python -m icmeta sweep fig16 (fig19, fig20, fig21, fig22, fig16_lr, fig19_lr, fig22_lr)",
                        ("fig16", "fig19", "fig20", "fig21", "fig22", "fig16_lr", "fig19_lr", "fig22_lr")),
    "09_large_model": ("nothing (a tiny random GPT-2; GPT2-XL where its weights are)",
                       "python -m icmeta llm --model gpt2-xl --data dev.tsv", ()),
    "10_exercises": ("nothing (reads the runs above)", "", ()),
}


def chapter_table(preset_name: str, seeds, device: str = "cpu") -> pd.DataFrame:
    """Per chapter: the paper's figures and tables it has (from `PAPER_ITEMS`), what it trains,
    the command, and the measured training time of its runs (each model counted once; a
    learning-rate check counts at the preset it exists for only). Reads stored runs only."""
    from .config import preset
    from .store import StoreError, find_run
    from .sweeps import SWEEPS, load_sweep, training_time_s
    from .train import load_variants

    main = find_run([preset(preset_name, seed=s, device=device) for s in seeds])
    if main is None:
        raise StoreError(f"the {preset_name} main run is not stored; train it with python -m icmeta train --preset {preset_name}")
    rows = []
    for stem, (trains, command, uses) in CHAPTER_RUNS.items():
        seconds = 0.0
        if "main" in uses:
            seconds += main.wall_time_s
        if "variants" in uses:
            seconds += sum(r.wall_time_s for r in load_variants(preset_name, seeds, device, progress=False).values()
                           if r.directory != main.directory)
        sweeps = [n for n in uses if n in SWEEPS and (not SWEEPS[n].presets or preset_name in SWEEPS[n].presets)]
        if sweeps:
            seconds += training_time_s([r for n in sweeps for r in load_sweep(n, preset_name, seeds, device=device).runs])
        items = ", ".join(it.name for it in PAPER_ITEMS if it.chapter == stem) or "—"
        rows.append({"chapter": CHAPTERS.get(stem, stem), "paper": items, "trains": trains,
                     "command": command.format(preset=preset_name), "training (s)": int(round(seconds))})
    return pd.DataFrame(rows)
