"""The paper's statements as data: one `Claim` per checkable statement, with the figure, the
statement in one line, what is measured per seed, the criterion (stated before any run was read)
and, for comparative statements, the base setting read with the same reading.

A comparative claim ("larger ε skips phase 2", "heads take the pause away") holds for a seed only
where the varied setting does what the claim says *and* the base setting shows what is said to
go (`base`, described by `base_shows`): skipping a plateau the base never had is no skip.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..readings import READINGS
from .circuit_measures import RLA, Metric, MetricsSwitch, OnePair, Roles, Transient
from .measures import (ABOUT, ABOVE, NEAR, AnyPlateau, AtStep, CeilingGap, DeltaAccRule, Dwell, FinalNear,
                       FirstPlateauFalls,
                       FirstPlateauNear, LabelMean, LossDrops, Measure, OneRise, Pause, Plateaus, ReachMonotone,
                       ReachOrder, ReachRatio)

RATES = ("fast", "lr 0.03", "lr 0.01")  # the preset (lr 0.1), the learning-rate check, the paper's rate


@dataclass(frozen=True)
class Claim:
    """One statement of the paper, measured per seed (module doc)."""

    key: str
    figure: str
    paper: str  # the statement, in one line
    quantity: str  # what is measured per seed
    criterion: str
    sweep: str
    measure: Measure
    base: Measure | None = None  # comparative claims: what the base setting must show
    base_shows: str = ""  # ... in words, for the tables ("ε = 0.1 has an SCC plateau")
    rates: tuple[str, ...] = RATES
    needs_full_pairs: bool = False  # judged only on runs that reached the full-pairs level
    # judged only on runs that went past this strategy's level (ended above its ceiling + BAND): a
    # run that ends on a level has not shown whether it pauses there or stays
    past: str | None = None

    @property
    def settings(self) -> tuple[str, ...]:
        """The sweep labels its measures read."""
        return tuple(dict.fromkeys(self.measure.labels + (self.base.labels if self.base else ())))

    @property
    def readings(self) -> tuple[str, ...]:
        """The readings it is measured under (``("none",)`` where it needs none)."""
        uses = self.measure.uses_reading or (self.base is not None and self.base.uses_reading)
        return READINGS if uses else ("none",)


LEVELS = "the levels of the seed's plateaus (named by the nearest ceiling)"
FLAT = "decades of log-step flat (slope ≤ a tenth of the run's steepest) within ±0.06 of the"
FLAT_NCC = f"{FLAT} context-ignored ceiling"
FLAT_SCC = f"{FLAT} labels-only ceiling"
PAUSE = "at least the flat-band reading's minimum plateau length"
BELOW_END = f"the seed's plateaus more than {NEAR} below its final level"
OVER = f"at least {ABOVE}"
CHUNK_END = "layer-1 chunk example minus its uniform value, at the end"

FIGURE_CLAIMS: list[Claim] = [
    # ------------------------------------------------------------------ the main result
    Claim(key="main.three_plateaus", figure="Fig. 2", sweep="main",
          paper="With T = 3, accuracy climbs through three plateaus: ≈ 1/T, ≈ 0.75, then 1.0",
          quantity=LEVELS, criterion="a plateau at the NCC, the SCC and the FCC level",
          measure=Plateaus(("main",), ("NCC", "SCC", "FCC")), needs_full_pairs=True),
    Claim(key="main.ncc_pause", figure="Fig. 2", sweep="main",
          paper="Accuracy pauses at the context-free level (phase 1)",
          quantity=FLAT_NCC, criterion=PAUSE, measure=Pause("main", "ignore"), past="ignore"),
    Claim(key="main.scc_pause", figure="Fig. 2", sweep="main",
          paper="Accuracy pauses at the labels-only level (phase 2)",
          quantity=FLAT_SCC, criterion=PAUSE, measure=Pause("main", "labels"), past="labels"),
    Claim(key="main.loss_drops", figure="Fig. 2", sweep="main",
          paper="The loss drops at each jump",
          quantity="fall of the loss from the end of each plateau to the start of the next",
          criterion="at least a tenth at every jump (two plateaus or more)",
          measure=LossDrops(("main",)), needs_full_pairs=True),
    Claim(key="fig3.acc_at_1e4", figure="Fig. 3", sweep="main",
          paper="At lr 0.01 accuracy is ≈ 0.3 at 10⁴ steps",
          quantity="smoothed accuracy at step 10⁴ of the paper's clock (step × lr / 0.01)",
          criterion=f"within {ABOUT} of 0.3", measure=AtStep("main", 1e4, 0.3)),
    Claim(key="fig3.acc_at_1e5", figure="Fig. 3", sweep="main",
          paper="... and ≈ 0.8 at 10⁵ steps",
          quantity="smoothed accuracy at step 10⁵ of the paper's clock",
          criterion=f"within {ABOUT} of 0.8", measure=AtStep("main", 1e5, 0.8)),
    Claim(key="fig3.dacc_rule", figure="Fig. 3", sweep="main",
          paper="A phase boundary is where ΔAcc = Acc(t + 100) − Acc(t) exceeds 0.025",
          quantity="ΔAcc over 100 steps of the paper's clock (smoothed accuracy), in each jump and on each plateau",
          criterion="above 0.025 in every jump between two plateaus, and in no plateau's middle half",
          measure=DeltaAccRule(("main",))),
    Claim(key="fig4.metrics_switch", figure="Fig. 4", sweep="main",
          paper="The circuit metrics switch at the phase boundaries",
          quantity="per jump, the circuit metric that moves most between the plateaus on either side",
          criterion=f"some metric moves by {OVER} across every jump, more than within either plateau",
          measure=MetricsSwitch(("main",))),
    Claim(key="table1.ncc", figure="Table 1", sweep="main",
          paper="Phase 1 (NCC): the query attends to itself in layer 1 (Bigram)",
          quantity="layer-1 bigram minus its uniform value, over the NCC plateau", criterion=OVER,
          measure=Metric(("main",), "bigram", 1, "NCC")),
    Claim(key="table1.ncc_l2", figure="Table 1", sweep="main",
          paper="Phase 1 (NCC): the query attends to itself in layer 2 (Bigram)",
          quantity="layer-2 bigram minus its uniform value, over the NCC plateau", criterion=OVER,
          measure=Metric(("main",), "bigram", 2, "NCC")),
    Claim(key="table1.scc_l1", figure="Table 1", sweep="main",
          paper="Phase 2 (SCC): layer 1 attends from the query to the labels (Label Attention)",
          quantity="layer-1 label attention minus its uniform value, over the SCC plateau", criterion=OVER,
          measure=Metric(("main",), "label_attention", 1, "SCC")),
    Claim(key="table1.scc_l2", figure="Table 1", sweep="main",
          paper="Phase 2 (SCC): layer 2 attends to the query itself (Bigram)",
          quantity="layer-2 bigram minus its uniform value, over the SCC plateau", criterion=OVER,
          measure=Metric(("main",), "bigram", 2, "SCC")),
    Claim(key="table1.fcc_l1", figure="Table 1", sweep="main",
          paper="Phase 3 (FCC): in layer 1 each label attends to its item (Chunk Example)",
          quantity="layer-1 chunk example minus its uniform value, over the FCC plateau", criterion=OVER,
          measure=Metric(("main",), "chunk_example", 1, "FCC"), needs_full_pairs=True),
    Claim(key="table1.fcc_l2", figure="Table 1", sweep="main",
          paper="Phase 3 (FCC): layer 2 attends from the query to the labels (Label Attention)",
          quantity="layer-2 label attention minus its uniform value, over the FCC plateau", criterion=OVER,
          measure=Metric(("main",), "label_attention", 2, "FCC"), needs_full_pairs=True),
    Claim(key="fig6.rla_scc", figure="Fig. 6", sweep="main",
          paper="Random-label accuracy rises with the phase-2 jump: SCC needs only the label set",
          quantity="accuracy minus random-label accuracy, over the SCC plateau", criterion="at most 0.02",
          measure=RLA("SCC", gap_max=0.02)),
    Claim(key="fig6.rla_end", figure="Fig. 6", sweep="main",
          paper="Once FCC forms, random-label accuracy stays well below accuracy (≈ 0.6 against 1.0)",
          quantity="accuracy minus random-label accuracy, at the end", criterion=f"within {ABOUT} of 0.4",
          measure=RLA(None, gap_near=0.4), needs_full_pairs=True),
    # ------------------------------------------------------------------ the SCC theory, pruning
    *[Claim(key=f"fig5.theory_K{k}", figure="Fig. 5", sweep="fig5",
            paper=f"An SCC-only model matches the theory p + (1 − p)/2 (K = {k})",
            quantity="final accuracy minus the theory", criterion=f"within {NEAR}",
            measure=FinalNear(f"K=L={k}", "theory")) for k in (8, 16, 32)],
    Claim(key="fig13.ncc_only", figure="Fig. 13", sweep="fig13",
          paper="A model pruned to NCC plateaus at the context-free level (≈ 0.4)",
          quantity="final accuracy minus the context-ignored ceiling", criterion=f"within {NEAR}",
          measure=FinalNear("mask=ncc", "ignore")),
    Claim(key="fig13.scc_only", figure="Fig. 13", sweep="fig13",
          paper="A model pruned to SCC plateaus at the labels-only level (≈ 0.8)",
          quantity="final accuracy minus the labels-only ceiling", criterion=f"within {NEAR}",
          measure=FinalNear("mask=scc", "labels")),
    Claim(key="fig13.fcc_only_one_jump", figure="Fig. 13", sweep="fig13",
          paper="A model pruned to FCC reaches 1.0 in a single jump",
          quantity=BELOW_END, criterion="none", measure=OneRise(("mask=fcc",))),
    Claim(key="fig13.full_last", figure="Fig. 13", sweep="fig13",
          paper="The full model reaches 1.0 after the FCC-only model",
          quantity="step at which smoothed accuracy first reaches 0.95 (FCC only vs full)", criterion="FCC only first",
          measure=ReachOrder(("mask=fcc", "acc"), ("mask=none", "acc"))),
    # ------------------------------------------------------------------ data properties
    Claim(key="fig7a.T1_one_jump", figure="Fig. 7a", sweep="fig7a",
          paper="With T = 1 the model learns in one jump",
          quantity="the plateaus of the seed below its final level", criterion="none", measure=OneRise(("T=1",))),
    Claim(key="fig7a.three_phases", figure="Fig. 7a", sweep="fig7a",
          paper="Every T ≥ 2 shows the three phases",
          quantity=f"{LEVELS} at T = 2, 3, 4", criterion="an NCC and an SCC plateau at each T",
          measure=Plateaus(("T=2", "T=3", "T=4"), ("NCC", "SCC"))),
    Claim(key="fig7a.ncc_level", figure="Fig. 7a", sweep="fig7a",
          paper="The phase-1 level falls roughly as 1/T",
          quantity="the level of the seed's first plateau at T = 2, 3, 4", criterion=f"within {ABOUT} of 1/T at each T",
          measure=FirstPlateauNear(("T=2", "T=3", "T=4"))),
    Claim(key="fig7b.k32_skips_ncc", figure="Fig. 7b", sweep="fig7b",
          paper="K = 32 skips phase 1 (straight to the SCC level)",
          quantity=f"{LEVELS} at K = 32", criterion="no NCC plateau, and it reaches the labels-only level",
          measure=Plateaus(("K=32",), ("NCC",), present=False, then="labels"),
          base=Plateaus(("K=64",), ("NCC",)), base_shows="K = 64 has an NCC plateau"),
    Claim(key="fig7b.large_k_skips_scc", figure="Fig. 7b", sweep="fig7b",
          paper="K = 128 and 256 skip phase 2 (NCC straight to FCC)",
          quantity=f"{LEVELS} at K = 128, 256",
          criterion="no SCC plateau at either K, and each reaches the full-pairs level",
          measure=Plateaus(("K=128", "K=256"), ("SCC",), present=False, then="pairs"),
          base=Plateaus(("K=64",), ("SCC",)), base_shows="K = 64 has an SCC plateau"),
    Claim(key="fig7b.ceilings_close", figure="Fig. 7b", sweep="fig7b",
          paper="... because the labels-only ceiling approaches the context-free one as K grows",
          quantity="labels-only minus context-free ceiling of the seed's data draw, K = 32 ... 256",
          criterion="smaller at every larger K", measure=CeilingGap(("K=32", "K=64", "K=128", "K=256"))),
    Claim(key="fig7c.eps_skips_scc", figure="Fig. 7c", sweep="fig7c",
          paper="Larger ε skips phase 2",
          quantity=f"{LEVELS} at ε = 0.75, 1",
          criterion="no SCC plateau at either ε, and each reaches the full-pairs level",
          measure=Plateaus(("eps=0.75", "eps=1"), ("SCC",), present=False, then="pairs"),
          base=Plateaus(("eps=0.1",), ("SCC",)), base_shows="ε = 0.1 has an SCC plateau"),
    Claim(key="fig7c.eps1_skips_ncc", figure="Fig. 7c", sweep="fig7c",
          paper="At ε = 1 phase 1 goes too",
          quantity=f"{LEVELS} at ε = 1", criterion="no NCC plateau, and it reaches the labels-only level",
          measure=Plateaus(("eps=1",), ("NCC",), present=False, then="labels"),
          base=Plateaus(("eps=0.1",), ("NCC",)), base_shows="ε = 0.1 has an NCC plateau"),
    Claim(key="fig7c.eps_shortens_ncc", figure="Fig. 7c", sweep="fig7c",
          paper="Hard pairs (large ε) leave less of phase 1",
          quantity="decades flat near the context-ignored ceiling at ε = 1 vs ε = 0.1", criterion="shorter at ε = 1",
          measure=Dwell("ignore", "eps=1", "eps=0.1"),
          base=Pause("eps=0.1", "ignore"), base_shows="ε = 0.1 pauses there"),
    Claim(key="fig7d.alpha1_skips", figure="Fig. 7d", sweep="fig7d",
          paper="Large α skips phase 1 or phase 2",
          quantity=f"{LEVELS} at α = 1", criterion="no NCC or no SCC plateau",
          measure=AnyPlateau(("alpha=1",), ("NCC", "SCC"), every=False),
          base=Plateaus(("alpha=0",), ("NCC", "SCC")), base_shows="α = 0 has both plateaus"),
    Claim(key="fig7e.average_unchanged", figure="Fig. 7e", sweep="fig7e",
          paper="β barely changes the average accuracy curve",
          quantity="step at which smoothed accuracy first reaches 0.95, β = 1 vs β = 0",
          criterion="within a factor 1.5",
          measure=ReachRatio("beta=1", "beta=0", 1.5)),
    Claim(key="fig7e.frequent_first", figure="Fig. 7e", sweep="fig7e",
          paper="At large β the frequent task is learned first",
          quantity="step at which task 1 and task 3 first reach 0.9 (β = 1)", criterion="task 1 first",
          measure=ReachOrder(("beta=1", "acc_task1"), ("beta=1", "acc_task3"), 0.9)),
    Claim(key="fig7e.rare_skip_ncc", figure="Fig. 7e", sweep="fig7e",
          paper="At large β the rare task skips NCC and goes straight to FCC",
          quantity=f"the plateaus of task 3's accuracy (β = 1) more than {NEAR} below its final level",
          criterion="none", measure=OneRise(("beta=1",), "acc_task3"),
          base=OneRise(("beta=0",), "acc_task3", one_go=False), base_shows="at β = 0 task 3 pauses below its end"),
    Claim(key="fig15a.B_skips_ncc", figure="Fig. 15a", sweep="fig15a",
          paper="Larger B tends to skip NCC",
          quantity="decades flat near the context-ignored ceiling at B = 2 vs B = 1", criterion="shorter at B = 2",
          measure=Dwell("ignore", "B=2", "B=1"), base=Pause("B=1", "ignore"), base_shows="B = 1 pauses there"),
    Claim(key="fig15b.pB_smooths", figure="Fig. 15b", sweep="fig15b",
          paper="Larger p_B gives smoother curves with less distinct phases",
          quantity="decades flat near the context-ignored ceiling at p_B = 0.75 vs p_B = 0",
          criterion="shorter at p_B = 0.75",
          measure=Dwell("ignore", "p_B=0.75", "p_B=0"), base=Pause("p_B=0", "ignore"),
          base_shows="p_B = 0 pauses there"),
    Claim(key="fig18.jumps_persist", figure="Fig. 18", sweep="fig18",
          paper="Jumps persist up to T = 18",
          quantity=f"{LEVELS} at T = 6, 12, 18",
          criterion="an NCC plateau at each T, then a jump to the labels-only level",
          measure=Plateaus(("T=6", "T=12", "T=18"), ("NCC",), then="labels")),
    Claim(key="fig18.first_plateau_falls", figure="Fig. 18", sweep="fig18",
          paper="The first plateau gets lower as T grows",
          quantity="the level of the seed's first plateau, T = 3 ... 18",
          criterion="Kendall's τ against T at most −0.6 (most pairs in order)",
          measure=FirstPlateauFalls(("T=3", "T=6", "T=9", "T=12", "T=15", "T=18"))),
    Claim(key="fig18.later_jump", figure="Fig. 18", sweep="fig18",
          paper="The next jump comes later as T grows",
          quantity="step at which smoothed accuracy first reaches 0.5, T = 3 ... 18",
          criterion="later for every larger T",
          measure=ReachMonotone(("T=3", "T=6", "T=9", "T=12", "T=15", "T=18"))),
    # ------------------------------------------------------------------ copy task
    Claim(key="fig12.one_jump", figure="Fig. 12", sweep="fig12",
          paper="The copy task (T = 1, p_B = 1) learns in one jump",
          quantity=BELOW_END, criterion="none", measure=OneRise(("main",))),
    Claim(key="fig12.acc_at_1e3", figure="Fig. 12", sweep="fig12",
          paper="... ≈ 0.1 at 10³ steps",
          quantity="smoothed accuracy at step 10³ of the paper's clock", criterion=f"within {ABOUT} of 0.1",
          measure=AtStep("main", 1e3, 0.1)),
    Claim(key="fig12.acc_at_1e4", figure="Fig. 12", sweep="fig12",
          paper="... and 1.0 by 10⁴ steps",
          quantity="smoothed accuracy at step 10⁴ of the paper's clock", criterion=f"within {NEAR} of 1.0",
          measure=AtStep("main", 1e4, 1.0, NEAR)),
    Claim(key="fig12.induction_K64", figure="Fig. 12", sweep="fig12",
          paper="Layer 1 chunks the pairs (induction circuit), K = 64",
          quantity=CHUNK_END, criterion=OVER, measure=Metric(("main",), "chunk_example", 1)),
    Claim(key="fig12.one_pair", figure="Fig. 12", sweep="fig12",
          paper="Layer 2 attends from the query to one pair and copies its label",
          quantity="the largest share of the layer-2 query row on one context pair (item and label), "
                   "in the example sequence at the last snapshot", criterion="at least 0.5",
          measure=OnePair("main")),
    Claim(key="fig12.induction_K1024", figure="Fig. 12", sweep="fig12_classes",
          paper="Layer 1 chunks the pairs (induction circuit), K = 1024 (beyond the paper's K)",
          quantity=CHUNK_END, criterion=OVER, measure=Metric(("K=1024",), "chunk_example", 1)),
    # ------------------------------------------------------------------ architecture
    Claim(key="fig8.two_heads_smooth", figure="Fig. 8", sweep="fig16",
          paper="A 2-head model rises without clear plateaus",
          quantity=BELOW_END, criterion="none", measure=OneRise(("heads=2",))),
    Claim(key="fig8.head_roles", figure="Figs. 8, 17", sweep="fig16",
          paper="One head settles into NCC, the other into FCC",
          quantity="each head's role at the end (Table 1's patterns)", criterion="one NCC head and one FCC head",
          measure=Roles("heads=2", (("NCC", 1), ("FCC", 1)))),
    Claim(key="fig9.transient", figure="Fig. 9", sweep="fig16",
          paper="In the FCC head, layer-2 bigram peaks while layer-1 label attention is high",
          quantity="layer-1 label attention minus uniform at the layer-2 bigram peak of the FCC head", criterion=OVER,
          measure=Transient("heads=2")),
    Claim(key="fig16.heads_smooth", figure="Fig. 16", sweep="fig16",
          paper="Every multi-head model rises smoothly: 2 and 4 heads",
          quantity=f"{BELOW_END}, with 2 and 4 heads", criterion="none", measure=OneRise(("heads=2", "heads=4"))),
    Claim(key="fig16.many_heads_smooth", figure="Fig. 16", sweep="fig16",
          paper="... and 8 and 16 heads",
          quantity=f"{BELOW_END}, with 8 and 16 heads", criterion="none", measure=OneRise(("heads=8", "heads=16"))),
    Claim(key="fig16.heads_shorter_pause", figure="Fig. 16", sweep="fig16",
          paper="Heads take the pause at the context-free level away",
          quantity="decades flat near the context-ignored ceiling, 2 heads vs 1 head", criterion="shorter with 2 heads",
          measure=Dwell("ignore", "heads=2", "heads=1"), base=Pause("heads=1", "ignore"),
          base_shows="1 head pauses there"),
    Claim(key="fig16.four_heads_split", figure="Fig. 16", sweep="fig16",
          paper="In a 4-head model two heads do NCC and two FCC",
          quantity="each head's role at the end", criterion="two NCC heads and two FCC heads",
          measure=Roles("heads=4", (("NCC", 2), ("FCC", 2)))),
    Claim(key="fig19.small_N_phases", figure="Fig. 19", sweep="fig19",
          paper="Phases are visible up to about N = 8",
          quantity=f"{LEVELS} at N = 2, 4, 8", criterion="an NCC or an SCC plateau at each N",
          measure=AnyPlateau(("N=2", "N=4", "N=8"), ("NCC", "SCC"))),
    Claim(key="fig19.large_N_one_rise", figure="Fig. 19", sweep="fig19",
          paper="For N ≥ 16, one quick rise to 1.0",
          quantity=f"{BELOW_END}, at N = 16, 32", criterion="none", measure=OneRise(("N=16", "N=32"))),
    Claim(key="fig19.fcc_maps_N16", figure="Fig. 19", sweep="fig19",
          paper="At N = 16 the maps are FCC: layer 1 chunks the pairs",
          quantity=f"{CHUNK_END}, N = 16", criterion=OVER, measure=Metric(("N=16",), "chunk_example", 1)),
    Claim(key="fig20.standard_scc", figure="Fig. 20", sweep="fig20",
          paper="A standard transformer shows SCC-like maps first: layer 1 attends from the query to the labels",
          quantity="layer-1 label attention minus its uniform value, over the labels-level plateau", criterion=OVER,
          measure=Metric(("main",), "label_attention", 1, "SCC")),
    Claim(key="fig20.standard_fcc", figure="Fig. 20", sweep="fig20",
          paper="... and FCC maps at the end: layer 1 chunks the pairs",
          quantity=CHUNK_END, criterion=OVER, measure=Metric(("main",), "chunk_example", 1), needs_full_pairs=True),
    Claim(key="fig21.all_labels_phases", figure="Fig. 21", sweep="fig21",
          paper="A loss on every label token still shows phases",
          quantity=LEVELS, criterion="an NCC or an SCC plateau",
          measure=AnyPlateau(("loss=all_labels",), ("NCC", "SCC"))),
    Claim(key="fig21.ends_near_09", figure="Fig. 21", sweep="fig21",
          paper="... and ends near 0.9 (early labels have too little context)",
          quantity="mean accuracy over the label positions at the end", criterion="between 0.85 and 0.95",
          measure=LabelMean("loss=all_labels", 0.85, 0.95)),
    Claim(key="fig21.ends_fcc", figure="Fig. 21", sweep="fig21",
          paper="... and its final circuit is FCC: layer 1 chunks the pairs",
          quantity=CHUNK_END, criterion=OVER, measure=Metric(("loss=all_labels",), "chunk_example", 1)),
    Claim(key="fig22.shallow_phases", figure="Fig. 22", sweep="fig22",
          paper="2- and 3-layer models show phases",
          quantity=f"{LEVELS} at 2 and 3 layers", criterion="an NCC or an SCC plateau at each depth",
          measure=AnyPlateau(("layers=2", "layers=3"), ("NCC", "SCC"))),
    Claim(key="fig22.deep_smooth", figure="Fig. 22", sweep="fig22",
          paper="4- and 5-layer models rise smoothly",
          quantity=f"{BELOW_END}, at 4 and 5 layers", criterion="none", measure=OneRise(("layers=4", "layers=5"))),
    Claim(key="fig23.layer1_chunks", figure="Fig. 23", sweep="fig22",
          paper="Whatever the depth, layer 1 shows chunk example: 5 layers",
          quantity=f"{CHUNK_END}, 5 layers", criterion=OVER, measure=Metric(("layers=5",), "chunk_example", 1)),
    Claim(key="fig23.layer1_chunks_shallower", figure="Fig. 23", sweep="fig22",
          paper="... and 2, 3 and 4 layers",
          quantity=f"{CHUNK_END}, 2 to 4 layers", criterion=f"{OVER} at every depth",
          measure=Metric(("layers=2", "layers=3", "layers=4"), "chunk_example", 1)),
    Claim(key="fig23.layer2_labels", figure="Fig. 23", sweep="fig22",
          paper="... and layer 2 label attention",
          quantity="layer-2 label attention minus its uniform value at the end, 2 to 5 layers",
          criterion=f"{OVER} at every depth",
          measure=Metric(("layers=2", "layers=3", "layers=4", "layers=5"), "label_attention", 2)),
]

CLAIMS: dict[str, Claim] = {c.key: c for c in FIGURE_CLAIMS}
