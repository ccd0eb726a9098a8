"""The claims (`icmeta.analysis.claims`): each kind of criterion on tiny synthetic runs where it must
hold and where it must fail, the verdict words, and a rate that lacks a setting."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import FakeRun

from icmeta.analysis import claims as C
from icmeta.experiments.load import SweepRuns
from icmeta.experiments.sweeps import Member, Sweep
from icmeta.presets import preset

CEIL = {"ignore": 0.35, "labels": 0.78, "pairs": 1.0}
STEPS = np.unique(np.round(np.logspace(1, 4.6, 600)).astype(int))
X = np.log10(STEPS)


def rise(center, width=0.08):
    return 1 / (1 + np.exp(-(X - center) / width))


PHASED = 0.03 + 0.32 * rise(2.6) + 0.43 * rise(3.4) + 0.22 * rise(4.1)  # NCC, SCC, then 1.0
SMOOTH = 0.03 + 0.97 * rise(3.2, 0.1)  # one quick rise


def fake(name: str, seed: int, acc: np.ndarray, extra: dict | None = None, lr: float = 0.1) -> FakeRun:
    rows = [("main", seed, int(s), "acc", None, None, float(a)) for s, a in zip(STEPS, acc)]
    for (metric, layer), values in (extra or {}).items():
        rows += [("main", seed, int(s), metric, layer, 1, float(v)) for s, v in zip(STEPS, values)]
    m = pd.DataFrame(rows, columns=["member", "seed", "step", "metric", "layer", "head", "value"])
    return FakeRun(m, preset("fast", seed=seed, lr=lr), Path(f"/nowhere/{name}-{seed}-{lr}"), ceil=CEIL)


def sweep_of(curves: dict[str, list], lr: float = 0.1, extra: dict | None = None) -> SweepRuns:
    """A sweep whose setting `label` has one fake run per seed, from `curves[label]` (one curve a seed)."""
    members, runs = [], []
    for label, per_seed in curves.items():
        for seed, acc in enumerate(per_seed):
            members.append(Member(label, seed, preset("fast", seed=seed), ()))
            runs.append(fake(label, seed, acc, (extra or {}).get(label), lr))
    return SweepRuns(Sweep("t"), members, runs)


def claim(key: str, measure, **more) -> "C.Claim":
    """A claim of sweep "t" measured by `measure` (the registry's other fields do not matter here)."""
    return C.Claim(key=key, figure="Fig. 0", paper="a claim", quantity="q", criterion="c", sweep="t", measure=measure,
                   **more)


def outcome(measure, sr, seed=0, reading="detector"):
    return measure(sr, seed, reading)[1]


def test_plateau_presence_and_absence():
    sr = sweep_of({"a": [PHASED], "b": [SMOOTH]})
    assert outcome(C.Plateaus(("a",), ("NCC", "SCC"), True), sr)
    assert not outcome(C.Plateaus(("b",), ("NCC", "SCC"), True), sr)
    assert outcome(C.Plateaus(("b",), ("NCC", "SCC"), False), sr)
    assert not outcome(C.Plateaus(("a", "b"), ("NCC",), False), sr)  # every setting must skip it


def test_one_rise():
    sr = sweep_of({"a": [PHASED], "b": [SMOOTH]})
    assert outcome(C.OneRise(("b",)), sr) and not outcome(C.OneRise(("a",)), sr)
    assert C.OneRise(("a", "b")).labels == ("a", "b")


def test_pause_and_dwell_need_no_reading():
    sr = sweep_of({"a": [PHASED], "b": [SMOOTH]})
    assert outcome(C.Pause("a", "ignore", True), sr, reading=None)
    assert outcome(C.Pause("b", "ignore", False), sr, reading=None)
    assert outcome(C.Dwell("ignore", "b", "a"), sr, reading=None)  # shorter near NCC without the plateau
    assert not outcome(C.Dwell("ignore", "a", "b"), sr, reading=None)


def test_final_level_against_a_ceiling():
    sr = sweep_of({"a": [0.03 + 0.33 * rise(2.5)], "b": [PHASED]})  # "a" ends at 0.36, near the NCC ceiling
    near_ncc = C.FinalNear("a", "ignore")
    assert outcome(near_ncc, sr, reading=None)
    assert not outcome(C.FinalNear("b", "ignore"), sr, reading=None)


def test_a_metric_over_a_plateau_against_its_uniform_value():
    # layer-1 label attention 0.60 during the SCC plateau (uniform at N = 4: 0.44), 0.45 elsewhere
    scc = (STEPS > 10 ** 3.5) & (STEPS < 10 ** 3.95)
    high = np.where(scc, 0.60, 0.45)
    low = np.full(len(STEPS), 0.45)
    sr = sweep_of({"a": [PHASED], "b": [PHASED]},
                  extra={"a": {("label_attention", 1): high}, "b": {("label_attention", 1): low}})
    assert outcome(C.Metric(("a",), "label_attention", 1, "SCC"), sr)
    assert not outcome(C.Metric(("b",), "label_attention", 1, "SCC"), sr)
    assert outcome(C.Metric(("b",), "label_attention", 1, "SCC", above=False), sr)
    smooth = sweep_of({"a": [SMOOTH]}, extra={"a": {("label_attention", 1): high}})
    value, ok = C.Metric(("a",), "label_attention", 1, "SCC")(smooth, 0, "detector")
    assert not ok and value == "no SCC plateau"


def test_which_setting_reaches_a_level_first_on_the_paper_clock():
    fast = sweep_of({"a": [SMOOTH], "b": [0.03 + 0.97 * rise(3.6, 0.1)]})
    assert outcome(C.ReachOrder(("a", "acc"), ("b", "acc")), fast, reading=None)
    assert not outcome(C.ReachOrder(("b", "acc"), ("a", "acc")), fast, reading=None)
    assert outcome(C.ReachMonotone(("a", "b")), fast, reading=None)
    assert not outcome(C.ReachMonotone(("b", "a")), fast, reading=None)
    assert outcome(C.ReachRatio("a", "a", 1.5), fast, reading=None)
    assert not outcome(C.ReachRatio("b", "a", 1.5), fast, reading=None)  # 10^0.4 = x2.5 later


def test_verdict_words():
    seeds = [0, 1, 2]
    every = {(s, r): ("", True) for s in seeds for r in ("x", "y")}
    assert C.verdict(every, seeds, ("x", "y")) == "holds"
    assert C.verdict({k: ("", False) for k in every}, seeds, ("x", "y")) == "does not hold"
    some = {(s, r): ("", s == 0) for s in seeds for r in ("x", "y")}
    assert C.verdict(some, seeds, ("x", "y")) == "holds in 1 of 3 seeds"
    split = {(s, r): ("", r == "x") for s in seeds for r in ("x", "y")}
    assert C.verdict(split, seeds, ("x", "y")) == "depends on the reading (x: 3/3, y: 0/3)"
    assert C.verdict({}, [], ("x",)) == "not measured"


def test_a_rate_without_the_settings_a_claim_reads_is_not_measured():
    made = claim("t.k", C.OneRise(("b",)))
    results = C.evaluate(made, {"fast": sweep_of({"a": [SMOOTH], "b": [SMOOTH, SMOOTH]}), "lr 0.03": sweep_of({"a": [SMOOTH]})})
    by_rate = {r.rate: r for r in results}
    assert by_rate["fast"].verdict == "holds" and by_rate["fast"].seeds == [0, 1]
    assert by_rate["lr 0.03"].verdict == "not measured (not trained at this rate: b)"
    assert by_rate["lr 0.01"].verdict == "not measured"  # no runs at all at that rate


def test_every_claim_names_a_figure_a_sweep_and_the_settings_it_reads():
    from icmeta.experiments.sweeps import SWEEPS

    assert len(C.CLAIMS) == len(C.FIGURE_CLAIMS) >= 40
    for c in C.FIGURE_CLAIMS:
        assert c.figure and c.paper and c.quantity and c.criterion, c.key
        assert c.sweep == "main" or c.sweep in SWEEPS, c.key
        labels = [label for label, _ in SWEEPS[c.sweep].points()] if c.sweep != "main" else ["main"]
        assert c.settings and set(c.settings) <= set(labels), (c.key, c.settings)


def test_verdicts_of_an_unknown_figure_is_one_line():
    with pytest.raises(KeyError, match="no claim for Fig. 99"):
        C.verdicts("Fig. 99")


def test_a_seed_that_diverged_is_left_out_and_counted():
    sr = sweep_of({"b": [SMOOTH, SMOOTH]})
    bad = sr.runs[1]
    nan_loss = pd.DataFrame([("main", 1, int(s), "loss", None, None, float("nan") if s > 1000 else 1.0) for s in STEPS],
                            columns=bad.metrics.columns)
    bad.metrics = pd.concat([bad.metrics, nan_loss], ignore_index=True)
    made = claim("t.k", C.OneRise(("b",)))
    fast = C.evaluate(made, {"fast": sr})[0]
    assert fast.seeds == [0] and fast.verdict == "holds" and fast.note == "1 more diverged: seed 1"
    assert fast.shown == "holds (1 seed; 1 more diverged: seed 1)"


def test_a_claim_reads_ten_seeds_where_a_seed_extension_holds_its_settings():
    from icmeta.experiments.sweeps import SWEEPS, seed_extension

    assert seed_extension("fig16", ("heads=2",)) == "fig16_seeds"
    assert seed_extension("fig16", ("heads=1", "heads=2")) == "fig16_seeds"
    assert seed_extension("fig16", ("heads=2", "heads=4")) is None  # 4 heads have three seeds
    assert seed_extension("fig7a", ("T=2",)) is None  # no extension
    assert seed_extension("fig15a", ()) is None
    # the extension's members are its base sweep's, setting for setting, with seeds 0-9
    base = {(m.label, m.seed): m.config for m in SWEEPS["fig15a"].members("fast", [0, 1, 2])}
    ext = SWEEPS["fig15a_seeds"].members("fast")
    assert sorted({m.seed for m in ext}) == list(range(10))
    assert all(m.config == base[(m.label, m.seed)] for m in ext if m.seed < 3)


def test_without_the_extension_stored_a_claim_reads_its_sweep(tmp_path):
    # an empty store: neither the extension nor the sweep is there, so no rate is measured
    assert C.rate_runs("fig16", tmp_path, ("heads=2",)) == {}


def test_a_claim_about_the_full_pairs_phase_skips_runs_that_stopped_before_it():
    top, short = np.r_[SMOOTH[:-1], 1.0], np.minimum(SMOOTH, 0.8)
    made = claim("t.f", C.OneRise(("b",)), needs_full_pairs=True)
    one = C.evaluate(made, {"fast": sweep_of({"b": [top, short]})})[0]
    assert one.seeds == [0] and one.note == "1 more ended before the full-pairs level: seed 1"
    none = C.evaluate(made, {"fast": sweep_of({"b": [short, short]})})[0]
    assert none.verdict.startswith("not measured (the runs end at") and not none.seeds
    # a claim without the flag reads every seed
    plain = C.evaluate(claim("t.g", C.OneRise(("b",))),
                       {"fast": sweep_of({"b": [top, short]})})[0]
    assert plain.seeds == [0, 1]


def test_a_chapter_table_names_each_claims_figure_and_an_unknown_figure_is_one_line():
    with pytest.raises(KeyError, match="no claim for Fig. 99"):
        C.chapter_table("Fig. 99")
    t = C.chapter_table("Fig. 5", "Fig. 13", root=Path("/nowhere"))  # no stored runs: every rate not measured
    assert list(t.columns[:2]) == ["figure", "the paper"] and "criterion" not in t.columns
    assert set(t.figure) == {"Fig. 5", "Fig. 13"} and set(t["fast"]) == {"not measured"}


def _piecewise(knots):
    """Accuracy linear in log10(step) between (log10 step, accuracy) knots, flat outside them."""
    xs, ys = zip(*knots)
    return np.interp(X, xs, ys)


# jumps at the main runs' rate in the jumps (about 1.35 per decade), and between them a steady climb
# through each intermediate level at their median rate near the levels (about 0.30 per decade)
JUMP, CLIMB = 1.35, 0.30
STEADY = _piecewise([(2.3, 0.03), (2.3 + 0.22 / JUMP, 0.25), (2.3 + 0.22 / JUMP + 0.2 / CLIMB, 0.45),
                     (2.3 + 0.22 / JUMP + 0.2 / CLIMB + 0.27 / JUMP, 0.72),
                     (2.3 + 0.22 / JUMP + 0.2 / CLIMB + 0.27 / JUMP + 0.14 / CLIMB, 0.86),
                     (2.3 + 0.22 / JUMP + 0.2 / CLIMB + 0.27 / JUMP + 0.14 / CLIMB + 0.14 / JUMP, 1.0)])
# the same jumps with truly flat plateaus (half a decade each) at the two levels
FLAT = _piecewise([(2.3, 0.03), (2.3 + 0.32 / JUMP, 0.35), (2.8 + 0.32 / JUMP, 0.35),
                   (2.8 + 0.32 / JUMP + 0.43 / JUMP, 0.78), (3.3 + 0.75 / JUMP, 0.78), (3.3 + 0.97 / JUMP, 1.0)])
NOISE = np.random.default_rng(0).normal(0, 0.015, len(STEPS))  # an evaluation of 1,024 sequences


def test_a_pause_is_flat_a_steady_climb_or_one_sigmoid_is_not():
    from icmeta.analysis import readings as R

    sr = sweep_of({"flat": [np.clip(FLAT + NOISE, 0, 1)], "steady": [np.clip(STEADY + NOISE, 0, 1)],
                   "sigmoid": [np.clip(SMOOTH + NOISE, 0, 1)]})
    for strategy in ("ignore", "labels"):
        assert outcome(C.Pause("flat", strategy, True), sr, reading=None), strategy  # positive control
        assert not outcome(C.Pause("steady", strategy, True), sr, reading=None), strategy
        assert not outcome(C.Pause("sigmoid", strategy, True), sr, reading=None), strategy
        # what the rule replaces: time within the band, which the steady climb passes
        need = R.MIN_SPAN * (X[-1] - X[0])
        assert R.dwell(STEPS, STEADY, CEIL[strategy]) >= need
    # the comparison reads flat time too: the steady climb has none, the plateau some
    assert outcome(C.Dwell("ignore", "steady", "flat"), sr, reading=None)
    assert not outcome(C.Dwell("ignore", "flat", "steady"), sr, reading=None)


def test_the_slope_limit_is_a_tenth_of_the_run_s_steepest_rise():
    from icmeta.analysis import readings as R

    _, _, slope = R.local_slopes(STEPS, STEADY)
    assert np.nanmax(slope) == pytest.approx(JUMP, rel=0.05)
    d, limit = R.flat_dwell(STEPS, STEADY, CEIL["ignore"])
    assert limit == pytest.approx(R.FLAT_FRACTION * np.nanmax(slope)) and d == 0
    assert R.flat_dwell(STEPS[:2], STEADY[:2], 0.3) == (0.0, pytest.approx(float("nan"), nan_ok=True))


def test_a_pause_is_judged_only_on_runs_that_went_past_its_level():
    ends_on_it = np.where(X < 3.7, PHASED, PHASED[np.searchsorted(X, 3.7)])  # stays on the labels level to the end
    made = claim("t.p", C.Pause("a", "labels", True), past="labels")
    one = C.evaluate(made, {"fast": sweep_of({"a": [PHASED, ends_on_it]})})[0]
    assert one.seeds == [0] and "1 more ended before the end of the level: seed 1" == one.note
    none = C.evaluate(made, {"fast": sweep_of({"a": [ends_on_it]})})[0]
    assert none.verdict.startswith("not measured (the runs end at") and "before the end of the level" in none.verdict


def test_any_plateau_passes_a_skip_and_fails_a_run_with_both_phases():
    sr = sweep_of({"phased": [PHASED], "smooth": [SMOOTH]})
    assert outcome(C.AnyPlateau(("smooth",), ("NCC", "SCC"), every=False), sr)  # skips them
    assert not outcome(C.AnyPlateau(("phased",), ("NCC", "SCC"), every=False), sr)  # has both
    assert outcome(C.AnyPlateau(("phased",), ("NCC", "SCC")), sr)
    assert not outcome(C.AnyPlateau(("smooth",), ("NCC", "SCC")), sr)


def test_the_rla_gap_over_a_plateau_and_at_the_end():
    # RLA follows accuracy up to the labels-only level and stays there (the pairing is what it lacks)
    rla_like = np.minimum(PHASED, 0.78)
    rla_flat = np.full(len(STEPS), 0.05)  # no context use at all: a large gap everywhere
    sr = sweep_of({"main": [PHASED, PHASED]}, extra={"main": {("rla", None): rla_like}})
    sr.runs[1] = fake("main", 1, PHASED, {("rla", None): rla_flat})
    assert outcome(C.RLA("SCC", gap_max=0.02), sr, seed=0)
    assert not outcome(C.RLA("SCC", gap_max=0.02), sr, seed=1)
    assert outcome(C.RLA(None, gap_min=0.2), sr, seed=0, reading=None)  # 1.0 against 0.78
    assert not outcome(C.RLA(None, gap_min=0.2), sr_no_gap(), seed=0, reading=None)
    with pytest.raises(C.NotMeasured):
        C.RLA(None, gap_min=0.2)(sweep_of({"main": [PHASED]}), 0, None)


def sr_no_gap():
    return sweep_of({"main": [PHASED]}, extra={"main": {("rla", None): PHASED}})


def test_the_scc_theory_and_the_mean_over_label_positions():
    from icmeta.core.bayes import scc_theory_accuracy

    theory = scc_theory_accuracy(64, 4)  # the fake runs' K and N
    at_theory = 0.03 + (theory - 0.03) * rise(2.5)
    sr = sweep_of({"scc": [at_theory], "full": [SMOOTH]})
    assert outcome(C.FinalNear("scc", "theory"), sr, reading=None)
    assert not outcome(C.FinalNear("full", "theory"), sr, reading=None)
    labels = {("acc_label1", None): 0.7 * PHASED, ("acc_label2", None): 0.9 * PHASED, ("acc_label3", None): PHASED}
    sr = sweep_of({"a": [PHASED]}, extra={"a": labels})
    assert outcome(C.LabelMean("a", 0.8, 0.95), sr, reading=None)  # mean 0.867
    assert not outcome(C.LabelMean("a", 0.9, 1.0), sr, reading=None)
    with pytest.raises(C.NotMeasured):  # nothing recorded
        C.LabelMean("a", 0.8, 0.95)(sweep_of({"a": [PHASED]}), 0, None)


def _heads_run(name, per_head: dict, steps=(100, 200, 300, 400, 500, 600, 700, 800)):
    """A 2-head model whose circuit metrics are given per head as {(metric, layer): value or list
    over `steps`}; every other metric at its uniform value. Returns a one-setting sweep."""
    from icmeta.analysis.heads import METRICS, uniform_value
    from icmeta.store.run import Run

    cfg = preset("fast", heads=2)
    rows = [("main", 0, s, "acc", None, None, 0.5) for s in steps]
    for h in (1, 2):
        for metric in METRICS:
            for layer in (1, 2):
                v = per_head.get(h, {}).get((metric, layer), uniform_value(metric, cfg.task.N))
                vs = v if isinstance(v, list) else [v] * len(steps)
                rows += [("main", 0, s, metric, layer, h, float(x)) for s, x in zip(steps, vs)]
    m = pd.DataFrame(rows, columns=["member", "seed", "step", "metric", "layer", "head", "value"])
    run = Run(Path(f"/nowhere/{name}"), [cfg], ["main"], {"status": "complete"}, m)
    return SweepRuns(Sweep("t"), [Member(name, 0, cfg, ())], [run])


NCC_HEAD = {("bigram", 1): 0.95, ("bigram", 2): 0.95}
FCC_HEAD = {("chunk_example", 1): 0.9, ("label_attention", 2): 0.9}


def test_head_roles_need_the_heads_the_paper_names():
    split = _heads_run("split", {1: NCC_HEAD, 2: FCC_HEAD})
    both_ncc = _heads_run("both", {1: NCC_HEAD, 2: NCC_HEAD})
    assert outcome(C.Roles("split", (("NCC", 1), ("FCC", 1))), split, reading=None)
    assert not outcome(C.Roles("both", (("NCC", 1), ("FCC", 1))), both_ncc, reading=None)


def test_the_transient_needs_layer_1_label_attention_at_the_layer_2_bigram_peak():
    from icmeta.analysis.heads import uniform_value

    u = uniform_value("label_attention", 4)
    bigram = [0.2, 0.3, 0.9, 0.4, 0.2, 0.2, 0.2, 0.2]  # layer-2 bigram peaks at step 300
    with_scc = {**FCC_HEAD, ("bigram", 2): bigram, ("label_attention", 1): [u, u, u + 0.3, u, u, u, u, u]}
    without = {**FCC_HEAD, ("bigram", 2): bigram, ("label_attention", 1): u}
    assert outcome(C.Transient("a"), _heads_run("a", {1: NCC_HEAD, 2: with_scc}), reading=None)
    assert not outcome(C.Transient("a"), _heads_run("a", {1: NCC_HEAD, 2: without}), reading=None)


def test_skipping_a_phase_needs_reaching_the_next_level():
    stalls = 0.03 + 0.45 * rise(2.6)  # no SCC plateau, but it ends at 0.48, far below the full pairs
    direct = 0.03 + 0.32 * rise(2.6) + 0.65 * rise(3.4)  # NCC, then straight to the full pairs
    sr = sweep_of({"stalls": [stalls], "direct": [direct]})
    assert outcome(C.Plateaus(("direct",), ("SCC",), False, then="pairs"), sr)
    assert not outcome(C.Plateaus(("stalls",), ("SCC",), False, then="pairs"), sr)
    assert outcome(C.Plateaus(("stalls",), ("SCC",), False), sr)  # what "no SCC plateau" alone passed


# ------------------------------------------------------------------ the measures added for issue 28

def test_a_comparative_claim_holds_only_where_its_base_shows_what_goes():
    direct = 0.03 + 0.97 * rise(3.0)  # no NCC plateau, reaches the labels level and beyond
    skip = C.Plateaus(("varied",), ("NCC",), present=False, then="labels")
    base = C.Plateaus(("base",), ("NCC",))
    made = claim("t.c", skip, base=base, base_shows="the base has an NCC plateau")
    with_base = C.evaluate(made, {"fast": sweep_of({"varied": [direct, direct], "base": [PHASED, SMOOTH]})})[0]
    assert with_base.verdict == "holds in 1 of 2 seeds"  # seed 1's base never had the plateau
    assert with_base.base == "the base has an NCC plateau: 1/2"
    assert with_base.shown == "holds in 1 of 2 seeds (base: the base has an NCC plateau: 1/2)"
    # the same claim without reading its base passes both seeds: what the base adds can fail
    alone = C.evaluate(claim("t.d", skip), {"fast": sweep_of({"varied": [direct, direct]})})[0]
    assert alone.verdict == "holds"
    assert made.settings == ("varied", "base")


def test_the_loss_drops_at_every_jump_or_the_claim_fails():
    falls = 2.5 * (1 - PHASED) + 0.05  # the loss mirrors accuracy: it drops at each jump
    flat_loss = np.full(len(STEPS), 1.0)
    sr = sweep_of({"a": [PHASED], "b": [PHASED]},
                  extra={"a": {("loss", None): falls}, "b": {("loss", None): flat_loss}})
    assert outcome(C.LossDrops(("a",)), sr)
    assert not outcome(C.LossDrops(("b",)), sr)
    assert not outcome(C.LossDrops(("a",)), sweep_of({"a": [SMOOTH]}, extra={"a": {("loss", None): falls}}))


def test_accuracy_at_a_step_of_the_paper_s_clock():
    sr = sweep_of({"a": [SMOOTH]}, lr=0.1)  # at lr 0.1, step s is step 10 s of the paper's clock
    assert outcome(C.AtStep("a", 10 ** 4.2, 0.5), sr, reading=None)  # the rise's middle, 10^3.2 x 10
    assert not outcome(C.AtStep("a", 10 ** 4.2, 0.9), sr, reading=None)
    with pytest.raises(C.NotMeasured):  # beyond the run's end on that clock
        C.AtStep("a", 1e6, 1.0)(sr, 0, None)


def test_the_first_plateau_near_one_over_t_and_falling_with_t():
    def at(level):  # one plateau at `level`, then the rise to 1.0
        return 0.03 + (level - 0.03) * rise(2.6) + (1 - level) * rise(3.8)

    sr = sweep_of({"T=3": [at(0.33)], "wrong": [at(0.6)]})
    assert outcome(C.FirstPlateauNear(("T=3",)), sr)
    assert not outcome(C.FirstPlateauNear(("wrong",)), sr)  # 0.6 against 1/T = 0.33 (the fake runs' T = 3)
    # levels above the floor (three quarters of the fake context-free ceiling, 0.26)
    sr = sweep_of({"T=3": [at(0.45)], "T=6": [at(0.38)], "T=12": [at(0.3)]})
    assert outcome(C.FirstPlateauFalls(("T=3", "T=6", "T=12")), sr)
    assert not outcome(C.FirstPlateauFalls(("T=12", "T=6", "T=3")), sr)
    assert not outcome(C.FirstPlateauFalls(("T=3", "T=6")), sweep_of({"T=3": [at(0.33)], "T=6": [SMOOTH]}))


def test_the_ceiling_gap_must_shrink_along_the_settings():
    sr = sweep_of({"a": [PHASED], "b": [PHASED]})
    gaps = {"a": 0.4, "b": 0.2}
    for run, label in zip(sr.runs, ("a", "b")):
        run.ceilings = (lambda g: lambda: [{"seed": 0, "ignore": 0.3, "labels": 0.3 + g, "pairs": 1.0}])(gaps[label])
    assert outcome(C.CeilingGap(("a", "b")), sr, reading=None)
    assert not outcome(C.CeilingGap(("b", "a")), sr, reading=None)


def test_the_rla_gap_near_the_paper_s_value():
    half = sweep_of({"main": [PHASED]}, extra={"main": {("rla", None): np.minimum(PHASED, 0.6)}})
    assert outcome(C.RLA(None, gap_near=0.4), half, reading=None)  # 1.0 - 0.6
    assert not outcome(C.RLA(None, gap_near=0.4), sweep_of({"main": [PHASED]}, extra={"main": {("rla", None): np.minimum(PHASED, 0.78)}}), reading=None)


def test_a_metric_at_several_settings_must_hold_at_each():
    high, low = np.full(len(STEPS), 0.9), np.full(len(STEPS), 0.25)
    sr = sweep_of({"a": [PHASED], "b": [PHASED]},
                  extra={"a": {("chunk_example", 1): high}, "b": {("chunk_example", 1): low}})
    assert outcome(C.Metric(("a",), "chunk_example", 1), sr, reading=None)
    assert not outcome(C.Metric(("a", "b"), "chunk_example", 1), sr, reading=None)


def test_every_kind_of_measure_has_a_passing_and_a_failing_control_here():
    """Each measure class is called in this file at least twice (a control it passes and one it fails)."""
    import icmeta.analysis.claims.circuit_measures as CM
    import icmeta.analysis.claims.measures as M

    source = Path(__file__).read_text()
    kinds = {c.__name__ for mod in (M, CM) for c in vars(mod).values()
             if isinstance(c, type) and issubclass(c, C.Measure) and c is not C.Measure
             and "__dataclass_fields__" in vars(c)}  # measures, not the bases they share
    assert len(kinds) >= 19
    thin = {k for k in kinds if source.count(f"C.{k}(") < 2}
    assert not thin, f"measures without two controls: {sorted(thin)}"
    assert {type(c.measure).__name__ for c in C.FIGURE_CLAIMS} | {type(c.base).__name__ for c in C.FIGURE_CLAIMS if c.base} <= kinds


def test_the_paper_s_delta_acc_rule_marks_early_jumps_and_misses_late_ones():
    # at lr 0.01, ΔAcc over 100 steps is large for a jump at a few hundred steps and small for one
    # at 10^4: a curve with sharp early jumps, and the main-like one
    early = 0.03 + 0.32 * rise(1.6, 0.03) + 0.43 * rise(2.3, 0.03) + 0.22 * rise(2.9, 0.03)
    sr = sweep_of({"early": [early], "late": [PHASED]}, lr=0.01)
    assert outcome(C.DeltaAccRule(("early",)), sr)
    assert not outcome(C.DeltaAccRule(("late",)), sr)


def test_the_circuit_metrics_must_switch_at_every_jump():
    switching = {("label_attention", 1): 0.3 + 0.4 * rise(3.4), ("chunk_example", 1): 0.25 + 0.5 * rise(4.1)}
    only_first = {("label_attention", 1): 0.3 + 0.4 * rise(3.4)}
    sr = sweep_of({"a": [PHASED], "b": [PHASED]}, extra={"a": switching, "b": only_first})
    assert outcome(C.MetricsSwitch(("a",)), sr)
    assert not outcome(C.MetricsSwitch(("b",)), sr)  # nothing moves at the last jump


def test_layer_2_attends_to_one_pair_in_the_example_sequence():
    def run_with(query_row):
        ex = np.zeros((2, 2, 1, 9, 9))
        ex[-1, 1, 0, -1] = query_row
        run = fake("main", 0, SMOOTH)
        run.members = [("main", 0)]
        run.patterns = lambda member, seed: {"steps": np.array([1, 2]), "mean": ex, "example": ex}
        return SweepRuns(Sweep("t"), [Member("main", 0, preset("fast"), ())], [run])

    on_pair_3 = np.r_[0, 0, 0, 0, 0.2, 0.6, 0, 0, 0.2]  # item and label of pair 3: 0.8
    on_itself = np.r_[0, 0, 0, 0, 0, 0, 0, 0, 1.0]  # the query attends to itself (bigram)
    assert outcome(C.OnePair("main"), run_with(on_pair_3), reading=None)
    assert not outcome(C.OnePair("main"), run_with(on_itself), reading=None)


def test_the_reading_sensitivity_of_an_empty_store_lists_every_parameter_with_nothing_measured(tmp_path):
    from icmeta.analysis import readings as R

    t = C.reading_sensitivity(root=tmp_path)
    assert len(t) == 2 * (len(R.PARAMETERS) - 1)  # halved and doubled; the pause rule's window has its own table
    assert set(t["counts change"]) == {"0 of 0"} and set(t["which change their words"]) == {"–"}


def test_the_runs_table_counts_every_seed_read_and_the_full_range_of_steps():
    def result(seeds, diverged, steps):
        return C.Result(claim("t.r", C.OneRise(("a",))), "fast", seeds=seeds, verdict="holds", steps=steps, runs="t",
                        diverged=diverged)

    t = C.rates_table([result([0], [1, 2], (150_000, 150_000)), result([0, 1], [2], (100_000, 100_000))])
    assert t.to_dict("records") == [{"runs": "t", "rate": "fast", "seeds": "2 (and 1 diverged: 2)",
                                     "steps": "100,000–150,000"}]
