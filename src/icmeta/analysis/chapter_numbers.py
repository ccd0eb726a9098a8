"""The numbers each chapter's prose quotes, by glue name: one tested function per chapter section,
computed from stored runs with the tables of `tables` and `sweep_tables` (a page glues a function's
dict in one call, ``glue_numbers(**chapter_numbers.late_numbers(run, seeds))``). Ranges are
(low, high) pairs (`summaries.span`)."""

from __future__ import annotations

import pandas as pd

from ..experiments.load import SweepRuns
from . import phases as P
from .heads import label_accuracy, uniform_value
from .phases import run_phases
from .summaries import PAPER_LR, diverged_at, final_value, span
from .sweep_tables import (
    ceiling_mean,
    circuits_seen,
    divergences,
    final_range,
    layer_final,
    plateau_levels,
    reach_clock_range,
    reach_range,
    seed_count,
    task_table,
)
from .tables import (
    SETTLE_TOLERANCE,
    WINDOW_DECADES,
    circuits_late,
    last_to_settle,
    settling_steps,
    variant_plateaus,
    variant_summary,
)

# ---------------------------------------------------- the main result (02) and the reproduction notes (04)


def reproduction_numbers(runs: dict, main, gpu, seeds) -> dict:
    """What the reproduction notes say of their runs, by name (the page glues each): per variant
    (`runs`, as `variant_plateaus` reads them) its plateaus' levels, seeds and circuit metrics, the
    steps to 0.95 and final accuracies; the detector's parameters; the uniform values at the main
    run's N; and the main run (`fast`) beside the archived run at the paper's rate (`gpu`): its
    length, device, wall time and rate, the ratio of their plateaus' start steps, and the levels and
    metrics of their plateaus. Ranges are (low, high) pairs (`summaries.span`)."""
    plat, summary = variant_plateaus(runs), variant_summary(runs)

    def of(name, circuit=None):
        return plat[(plat.variant == name) & ((plat.circuit == circuit) if circuit else True)]

    def seeds_of(df):
        return f"{df.seed.nunique()} of {len(seeds)}"

    def both(df, m):
        return span(pd.concat([df[f"L1 {m}"], df[f"L2 {m}"]]))

    def final(name):
        return span(summary[summary.variant == name]["final acc"])

    def reach(name):
        return tuple(int(x) for x in span(summary[summary.variant == name]["step to 0.95"].dropna()))

    labels_ceiling = {name: span(pd.DataFrame(r.ceilings())["labels"]) for name, r in runs.items()}
    code, text, fixed, n8 = "preset (code encoding)", "paper-text encoding", "fixed label vectors only", "N = 8 (code)"
    text_low = of(text, "NCC")
    main_pt, gpu_pt = run_phases(main), run_phases(gpu)
    main_at, gpu_at = (lambda c: main_pt[main_pt.circuit == c]), (lambda c: gpu_pt[gpu_pt.circuit == c])
    ratio = [gpu_at(c).start.median() / main_at(c).start.median() for c in ("NCC", "SCC")]
    N = main.config.task.N
    return dict(
        preset_steps=main.config.train.steps, eval_size=main.config.train.eval_size,
        per_decade=P.PER_DECADE, flat=P.FLAT, rise_ratio=f"{P.RISE_RATIO:g}", min_jump=f"{P.MIN_JUMP:g}",
        uniform_bigram=uniform_value("bigram", N), uniform_label=uniform_value("label_attention", N),
        uniform_chunk=uniform_value("chunk_example", N),
        # the preset's labels-only plateau and the paper-text encoding's wait near the context-free level
        code_scc=span(of(code, "SCC").acc), code_labels_ceiling=labels_ceiling[code],
        code_scc_l2bigram=span(of(code, "SCC")["L2 bigram"]), code_scc_l1label=span(of(code, "SCC")["L1 label att."]),
        text_scc_seeds=seeds_of(of(text, "SCC")), text_low=span(text_low.acc),
        text_bigram=both(text_low, "bigram"), text_label=both(text_low, "label att."), text_final=final(text),
        offset_scc_seeds=seeds_of(of("offset positions only", "SCC")),
        offset_bigram=both(of("offset positions only", "NCC"), "bigram"),
        fixed_l2bigram=span(of(fixed, "NCC")["L2 bigram"]),
        # the fixed-label-vector seeds that leave the context-free level
        fixed_scc_seed=", ".join(map(str, of(fixed, "SCC").seed)), fixed_scc=span(of(fixed, "SCC").acc),
        fixed_scc_l1label=span(of(fixed, "SCC")["L1 label att."]), fixed_scc_l2bigram=span(of(fixed, "SCC")["L2 bigram"]),
        fixed_fcc_seed=", ".join(map(str, of(fixed, "FCC").seed)),
        fixed_fcc_l2label=span(of(fixed, "FCC")["L2 label att."]), fixed_fcc_chunk=span(of(fixed, "FCC")["L1 chunk"]),
        # the code's other choices, and N = 8
        shift_reach=reach("shift task maps (A1)"), code_reach=reach(code),
        n8_labels=labels_ceiling[n8], n8_final=final(n8), n8_scc_seeds=seeds_of(of(n8, "SCC")),
        # the paper's learning rate
        gpu_steps=gpu.last_step, gpu_device=gpu.info["segments"][-1]["device_name"], gpu_wall=round(gpu.wall_time_s),
        gpu_rate=round(gpu.last_step / gpu.wall_time_s), lr_ratio=(f"{min(ratio):.1f}", f"{max(ratio):.1f}"),
        gpu_low=span(gpu_at("NCC").acc), main_low=span(main_at("NCC").acc),
        gpu_scc=span(gpu_at("SCC").acc), main_scc=span(main_at("SCC").acc),
        main_scc_l2bigram=span(main_at("SCC").bigram_L2), main_scc_l1label=span(main_at("SCC").label_attention_L1),
        gpu_scc_l2bigram=span(gpu_at("SCC").bigram_L2), gpu_scc_l1label=span(gpu_at("SCC").label_attention_L1),
        gpu_final=span(pd.Series([final_value(gpu.metrics[gpu.metrics.seed == s]) for s in seeds])),
    )


def late_numbers(run, seeds) -> dict:
    """What the main-result chapter says of the end of training, by name (the page glues each):
    the circuits a quarter of the way from the end and at the end (`circuits_late`), when each seed
    and metric settles (`settling_steps`, `last_to_settle`), the start of the full-pairs plateaus and
    the level of the labels-only ones, random-label accuracy at the end, the uniform values at the
    run's N, and how many times layer 2's label attention at the end exceeds its value over each
    seed's labels-only plateau. Ranges are (low, high) pairs (`summaries.span`)."""
    late = circuits_late(run)
    first, last = late[late.step == sorted(late.step.unique())[1]], late[late.step == late.step.max()]
    settle = settling_steps(run.metrics)
    acc_settle = settle[settle.metric == "acc"].settled_after
    done = last_to_settle(run).sort_values("within 0.05 of final after step")
    pt = run_phases(run)
    scc, fcc = pt[pt.circuit == "SCC"], pt[pt.circuit == "FCC"]
    rla_end = [final_value(run.metrics[run.metrics.seed == s], "rla") for s in seeds]
    ratio = [last[last.seed == s]["L2 label att."].iloc[0] / scc[scc.seed == s].label_attention_L2.iloc[0]
             for s in seeds if (scc.seed == s).any()]  # at the end, against the SCC plateau
    N = run.config.task.N
    return dict(
        run_steps=run.last_step, window_decades=f"{WINDOW_DECADES:g}", settle_tolerance=f"{SETTLE_TOLERANCE:g}",
        late_steps=", ".join(f"{s:,}" for s in sorted(late.step.unique())),
        step_a=int(first.step.iloc[0]), step_b=int(last.step.iloc[0]),
        acc_a=span(first["acc"]), acc_b=span(last["acc"]), chunk_a=span(first["L1 chunk"]), chunk_b=span(last["L1 chunk"]),
        l2label_a=span(first["L2 label att."]), l2label_b=span(last["L2 label att."]),
        l2self_a=span(first["L2 bigram"]), l2self_b=span(last["L2 bigram"]),
        settle_steps=", ".join(f"{x:,}" for x in done["within 0.05 of final after step"]),
        settle_seeds=", ".join(map(str, done.seed)),
        settle_metrics=", ".join(dict.fromkeys(done["last metric to settle"])),
        acc_settles=(int(acc_settle.min()), int(acc_settle.max())),
        fcc_start=(int(fcc.start.min()), int(fcc.start.max())), scc_acc=span(scc["acc"]),
        rla_end=(min(rla_end), max(rla_end)),
        uniform_chunk=uniform_value("chunk_example", N), uniform_label=uniform_value("label_attention", N),
        scc_l2label=span(scc["label_attention_L2"]),
        ratio=f"{min(ratio):.0f} to {max(ratio):.0f}" if ratio else "–",
    )


# ---------------------------------------------------- the context, depth and standard transformer chapter (09)


def _listed(xs) -> str:
    return ", ".join(f"{x:,}" for x in xs)


def loss_numbers(objective: SweepRuns) -> dict:
    """Fig. 21's numbers: final accuracy with the loss on the query and on every label, accuracy at
    each label position, the context-free ceiling, and each layer metric's lowest and highest seed."""
    acc_at = label_accuracy(objective)
    labels_k = [c for c in acc_at.columns if c.startswith("label ")]

    def rng(label, metric, layer):
        return layer_final(objective, label, metric, layer)[1:]  # lowest, highest seed

    out = dict(final_all=final_range(objective, "loss=all_labels"), final_query=final_range(objective, "loss=query"),
               label_first=span(acc_at[labels_k[0]]), label_second=span(acc_at[labels_k[1]]),
               label_later=span(acc_at[labels_k[2:]]), label_mean=span(acc_at["all positions (mean)"]),
               ignore_ceiling_21=ceiling_mean(objective, "loss=all_labels", "ignore"))
    for name, metric, layer in (("l2label", "label_attention", 2), ("chunk", "chunk_example", 1), ("l1bigram", "bigram", 1)):
        out[f"{name}_all"], out[f"{name}_query"] = rng("loss=all_labels", metric, layer), rng("loss=query", metric, layer)
    return out


def depth_numbers(depth: SweepRuns, reach: float) -> dict:
    """Figs. 22, 23's numbers: the steps to `reach` per depth, layer 2's label attention per depth,
    the 5-layer divergences, layer 1's chunk example and the deeper layers' bigram (seed means)."""
    n_layers = {label: depth.runs_of(label)[0].config.model.layers for label in depth.labels}

    def mean(label, metric, layer):
        return layer_final(depth, label, metric, layer)[0]

    deep_bigram = [mean(label, "bigram", k) for label, n in n_layers.items() for k in range(3, n + 1)]
    deep_chunk = [mean(label, "chunk_example", 1) for label, n in n_layers.items() if n >= 3]
    div5 = divergences(depth).query("setting == 'layers=5'")
    return {**{f"reach_L{n}": reach_range(depth, label, reach) for label, n in n_layers.items()},
            **{f"l2label_L{n}": mean(label, "label_attention", 2) for label, n in n_layers.items()},
            "l5_div_n": len(div5), "l5_div_steps": _listed(div5.step),
            "deep_chunk": (min(deep_chunk), max(deep_chunk)), "deep_bigram": (min(deep_bigram), max(deep_bigram)),
            "l2self_L2": mean("layers=2", "bigram", 2)}


def depth_lr_numbers(fast: SweepRuns, slow: SweepRuns, reach: float) -> dict:
    """The 5-layer learning-rate check's numbers: reach and divergences at both rates (steps and the
    paper's clock), and layer 1's chunk example (lowest, highest seed)."""
    div_fast, div_lr03 = divergences(fast), divergences(slow)
    return dict(l5_fast_last=reach_range(fast, "layers=5", reach)[1],
                l5_fast_clock=reach_clock_range(fast, "layers=5", reach),
                l5_lr03_clock=reach_clock_range(slow, "layers=5", reach),
                l5_lr03_div_seeds=", ".join(map(str, div_lr03.seed)),
                l5_lr03_div_steps=_listed(div_lr03.step), l5_lr03_div_clock=_listed(div_lr03.clock),
                l5_fast_div_steps=_listed(div_fast.step), l5_fast_div_clock=_listed(div_fast.clock),
                l5_lr03_chunk=layer_final(slow, "layers=5", "chunk_example", 1)[1:],
                l5_fast_chunk=layer_final(fast, "layers=5", "chunk_example", 1)[1:])


def standard_numbers(standard: SweepRuns, reach: float, lr_scale: float) -> dict:
    """Fig. 20's numbers: the standard transformer's labels-only plateaus (level, steps, and the steps
    at its own paper rate, lr 0.01 x `lr_scale`), their metrics, reach and the metrics at the end."""
    factor = standard.members[0].config.train.lr / (PAPER_LR * lr_scale)  # steps at the paper's rate per step here
    pt = pd.concat([run_phases(r) for _, r in standard.pairs()])
    labels_only = pt[pt.circuit == "SCC"]  # plateaus nearest the labels-only ceiling
    steps = (int(labels_only.start.min()), int(labels_only.end.max()))
    return dict(std_factor=f"{factor:g}", std_scc_acc=span(labels_only.acc),
                labels_ceiling_std=ceiling_mean(standard, "main", "labels"),
                std_scc_steps=steps, std_scc_paper=tuple(round(s * factor) for s in steps),
                std_scc_l2bigram=span(labels_only.bigram_L2), std_scc_l1label=span(labels_only.label_attention_L1),
                std_reach=reach_range(standard, "main", reach),
                std_chunk=layer_final(standard, "main", "chunk_example", 1)[1:],
                std_l2label=layer_final(standard, "main", "label_attention", 2)[1:])


# ---------------------------------------------------- what in the data makes each phase (06)


def t_numbers(sr: SweepRuns) -> dict:
    """Fig. 7a's numbers: seeds with a context-free plateau at T = 2, how far the first plateaus of
    T = 3 and 4 sit from their context-free ceiling, and that ceiling at T = 2, 3, 4."""
    pl = plateau_levels(sr)
    first = pl[(pl.named == "NCC") & pl.setting.isin(["T=3", "T=4"])]
    return dict(t2_ncc=seed_count(sr, ["T=2"], "NCC"), t34_gap=(first.level - first.ignore).abs().max(),
                **{f"ignore_t{t}": ceiling_mean(sr, f"T={t}", "ignore") for t in (2, 3, 4)})


def k_numbers(sr: SweepRuns) -> dict:
    """Fig. 7b's numbers: K = 32's context-free plateaus and the seeds that go straight from it to
    full pairs, the labels-only ceilings, K = 128's labels-only level, and the largest K's finals."""
    pl = plateau_levels(sr)
    k32 = pl[(pl.setting == "K=32") & (pl.named == "NCC")]
    k128 = pl[(pl.setting == "K=128") & (pl.named == "SCC")]
    seen = circuits_seen(sr)
    k32_seen = seen[seen.label == "K=32"]
    big = [final_range(sr, k) for k in ("K=512", "K=1024")]
    return dict(k32_ncc=seed_count(sr, ["K=32"], "NCC"), k32_ncc_level=span(k32.level),
                k32_ignore=ceiling_mean(sr, "K=32", "ignore"),
                k32_direct=f"{int((k32_seen.NCC & k32_seen.FCC & ~k32_seen.SCC).sum())} of {len(k32_seen)}",
                **{f"labels_k{k}": ceiling_mean(sr, f"K={k}", "labels") for k in (32, 128, 1024)},
                k128_scc=span(k128.level), kbig_final=(min(a for a, _ in big), max(b for _, b in big)))


def alpha_numbers(sr: SweepRuns) -> dict:
    """Fig. 7d's numbers: α = 1's final accuracy, and the α = 1.25 seed that diverged: when, and the
    level it stood at over its last twenty evaluations before."""
    bad = [(m.seed, diverged_at(r), r) for m, r in sr.pairs("alpha=1.25") if diverged_at(r) is not None]
    div_seed, div_step, div_run = bad[0]
    acc = div_run.metrics[div_run.metrics.metric == "acc"].groupby("step").value.mean()
    return dict(alpha1_final=final_range(sr, "alpha=1"), div_seed=div_seed, div_step=div_step,
                div_level=acc[acc.index < div_step].iloc[-20:].median())


def beta_numbers(sr: SweepRuns) -> dict:
    """Fig. 7e's numbers: the context-free ceilings at β = 0 and 1 and how far the plateaus sit from
    them, when each task is learnt at β = 1, and the labels-only plateau that sits highest above its
    own ceiling."""
    pl = plateau_levels(sr)
    ncc = pl[pl.named == "NCC"]
    high = pl[(pl.named == "SCC") & (pl.level > pl.labels)].sort_values("level").iloc[-1]  # above its own ceiling
    tasks = task_table(sr, "beta=1").reset_index()
    hi, lo = "acc ≥ 0.9 at step", "acc ≥ 0.5 at step"
    return dict(ignore_b0=ceiling_mean(sr, "beta=0", "ignore"), ignore_b1=ceiling_mean(sr, "beta=1", "ignore"),
                beta_ncc_gap=(ncc.level - ncc.ignore).abs().max(),
                task1_hi=span(tasks[tasks.task == 1][hi]), task3_hi=span(tasks[tasks.task == 3][hi]),
                task23_lo=tasks[tasks.task > 1][lo].min(),
                high_seed=int(high.seed), high_setting=high.setting.replace("beta=", "β = "),
                high_level=high.level, high_labels=high.labels)


def many_tasks_numbers(sr: SweepRuns) -> dict:
    """Fig. 18's numbers: how far the first plateaus sit from the context-free ceiling, that ceiling
    at T = 3 and 18, and the final accuracy at T = 12 and 18."""
    pl = plateau_levels(sr)
    first = pl[(pl.plateau == 1) & (pl.named == "NCC")]
    return dict(many_gap=(first.level - first.ignore).abs().max(),
                many_ignore_3=ceiling_mean(sr, "T=3", "ignore"), many_ignore_18=ceiling_mean(sr, "T=18", "ignore"),
                final_t12=final_range(sr, "T=12"), final_t18=final_range(sr, "T=18"))


def phase_diagram_numbers(sr: SweepRuns) -> dict:
    """The K × ε diagram's numbers: seeds with each plateau in groups of cells, the K = 256 ceilings
    and final accuracies."""
    def cell(Ks, epss):
        return [f"K={k},eps={e}" for k in Ks for e in epss]

    unfinished = [final_range(sr, x) for x in cell([256], ["0.5", "1"])]
    return dict(ke_ncc_noisy=seed_count(sr, cell([32, 64], ["1"]), "NCC"),
                ke_scc_noisy=seed_count(sr, cell([32, 64], ["1"]), "SCC"),
                ke_ncc_clean=seed_count(sr, cell([32, 64], ["0.1", "0.5"]), "NCC"),
                ke_scc_mid=seed_count(sr, cell([64, 128], ["0.1", "0.5", "1"]), "SCC"),
                ke_scc_32=seed_count(sr, cell([32], ["0.1", "0.5", "1"]), "SCC"),
                ke_scc_256=seed_count(sr, cell([256], ["0.1", "0.5", "1"]), "SCC"),
                ke_labels_256=ceiling_mean(sr, "K=256,eps=0.1", "labels"),
                ke_ignore_256=ceiling_mean(sr, "K=256,eps=0.1", "ignore"),
                ke_final_256=(min(a for a, _ in unfinished), max(b for _, b in unfinished)),
                ke_final_128=final_range(sr, "K=128,eps=1"),
                ke_ncc_bigk_noisy=seed_count(sr, cell([128, 256], ["1"]), "NCC"))
