"""The paper's tables, generated from configs and measurements (never typed by hand)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..config import Config
from ..core.task import Role, roles
from .heads import uniform_value
from .phases import run_phases
from .summaries import first_step

CIRCUITS = {1: "NCC (non-context)", 2: "SCC (semi-context)", 3: "FCC (full-context)"}
PAPER_TABLE1 = {  # the paper's Table 1, for comparison: (layer 1, layer 2, accuracy at T = 3)
    1: ("Bigram", "Bigram", "≈ 0.33–0.40"),
    2: ("Label Attention", "Bigram", "≈ 0.75"),
    3: ("Chunk Example", "Label Attention", "1.0"),
}
SYMBOLS = {
    "K": "item classes", "L": "labels", "T": "tasks", "N": "context pairs (sequence 2N+1)",
    "D": "content dimension", "P": "position dimension", "eps": "within-class noise ε",
    "p_B": "P(query class also in context)", "B": "copies when included", "alpha": "class Zipf exponent α",
    "beta": "task Zipf exponent β",
    "attn_scale": "attention logits: none = unscaled (paper §3), sqrt = ÷√(head width)",
    "arch": "attention-only (paper) or standard (attention + MLP, LayerNorm)",
    "w_o": "output matrix W_O after attention", "classifier_hidden": "hidden layers of the ReLU classifier",
    "lr": "SGD learning rate", "steps": "training steps", "batch_size": "sequences per step",
    "loss": "cross-entropy on the query's label (query, paper) or on every label (all_labels, Fig. 21)",
    "kernels": "how a step runs: compiled pieces, op by op (eager), or one graph (graph, the GPU path)",
    "sampler": "training data's random numbers: a generator per model, or counters (counter, the GPU path)",
}


# Where each value of the `paper` preset comes from: the paper's text, its official code (where
# the text is silent or differs, see the reproduction notes), or this project (how it measures).
FROM_PAPER = {"K", "L", "T", "N", "D", "P", "eps", "p_B", "B", "alpha", "beta", "task_maps", "query", "arch", "layers",
              "heads", "w_o", "classifier_hidden", "mask", "attn_scale", "optimizer", "lr", "batch_size", "loss",
              "delta_t (ΔAcc Δt)", "width (P+D)"}
FROM_CODE = {"labels", "positions", "steps"}


def source(name: str) -> str:
    """Where the `paper` preset's value of a Table 3 row comes from."""
    return "paper" if name in FROM_PAPER else "official code" if name in FROM_CODE else "this project"


def table3(config: Config) -> pd.DataFrame:
    """Table 3 (hyperparameters) from a config: one row per field, with its meaning and where the
    `paper` preset's value comes from (`source`)."""
    rows = []
    for section in ("task", "model", "train"):
        for f in dataclasses.fields(getattr(config, section)):
            rows.append({"group": section, "name": f.name, "value": getattr(getattr(config, section), f.name),
                         "meaning": SYMBOLS.get(f.name, "")})
    rows.append({"group": "train", "name": "delta_t (ΔAcc Δt)", "value": config.train.delta_t, "meaning": "100 steps at lr 0.01, scaled as 1/lr"})
    rows.append({"group": "model", "name": "width (P+D)", "value": config.task.d_model, "meaning": "residual stream"})
    out = pd.DataFrame(rows)
    out["source"] = out.name.map(source)
    return out


def table1(phase_table: pd.DataFrame, N: int | None = None) -> pd.DataFrame:
    """Table 1 from measurements: for each circuit, the plateaus assigned to it (by the
    nearest Bayes-ideal ceiling, `run_phases(run)["circuit"]`; the last one per seed when
    several are), their accuracy and the circuit metrics of each layer (mean over those seeds,
    accuracy with its range), beside the paper's row.

    Args:
        phase_table: `run_phases(run)` (one row per member, seed, phase, with a `circuit` column).
        N: the context's pairs; given, each metric shows its value under uniform attention beside
            it (`icmeta.analysis.heads.uniform_value`), the level that says nothing.
    """

    rows = []
    metrics = ["bigram", "label_attention", "chunk_example"]
    last = phase_table.sort_values("phase").groupby(["member", "seed", "circuit"]).tail(1)
    for i, name in enumerate(("NCC", "SCC", "FCC"), 1):
        g = last[last.circuit == name]
        row = {"phase": i, "circuit": CIRCUITS[i], "seeds with this plateau": f"{len(g)} ({', '.join(map(str, sorted(g.seed)))})"}
        if len(g):
            row["steps (median start–end)"] = f"{int(g.start.median())}–{int(g.end.median())}"
            row["accuracy"] = f"{g.acc.mean():.3f} [{g.acc.min():.3f}, {g.acc.max():.3f}]"
            for layer in (1, 2):
                vals = {m: g[f"{m}_L{layer}"].mean() for m in metrics if f"{m}_L{layer}" in g}
                row[f"layer {layer} (measured)"] = ", ".join(
                    f"{k.replace('_', ' ')} {v:.2f}" + (f" (uniform {uniform_value(k, N):.2f})" if N else "")
                    for k, v in vals.items())
        row["paper: layer 1 / layer 2 / acc"] = " / ".join(PAPER_TABLE1[i])
        rows.append(row)
    return pd.DataFrame(rows)


# How close a metric must stay to its final value to count as settled, and the window (in decades
# of steps) a value at a step is the median over: the defaults of the functions below.
SETTLE_TOLERANCE = 0.05
WINDOW_DECADES = 0.05


def circuits_at(metrics: pd.DataFrame, steps: list[int], window_decades: float = WINDOW_DECADES) -> pd.DataFrame:
    """Accuracy and the circuit metrics of each layer (head-averaged) at chosen steps.

    Each value is the median over the evaluations in the last `window_decades` of steps up to
    the step (0.05 decade: 13.4k–15k for step 15k), so that single noisy evaluations do not
    decide it. One row per member, seed and step; columns acc, rla and e.g. ``bigram_L1``.
    """
    names = ["acc", "rla", "bigram", "label_attention", "chunk_example"]
    m = metrics[metrics.metric.isin(names)]
    m = m.groupby(["member", "seed", "step", "metric", "layer"], dropna=False).value.mean().reset_index()
    rows = []
    for (member, seed), g in m.groupby(["member", "seed"], sort=True):
        for step in steps:
            inside = g[(g.step <= step) & (g.step >= step * 10 ** -window_decades)]
            if inside.empty:
                continue
            row = {"member": member, "seed": seed, "step": step}
            for (name, layer), gg in inside.groupby(["metric", "layer"], dropna=False):
                row[name if pd.isna(layer) else f"{name}_L{int(layer)}"] = float(gg.value.median())
            rows.append(row)
    return pd.DataFrame(rows)


def settling_steps(metrics: pd.DataFrame, tolerance: float = SETTLE_TOLERANCE, window_decades: float = WINDOW_DECADES,
                   smooth: int = 21) -> pd.DataFrame:
    """When each metric stops moving: per member, seed, metric and layer, the last step at which
    the metric (a running median of `smooth` evaluations) is more than `tolerance` away from
    its final value (the median over the run's last `window_decades`); 0 if never.

    Covers accuracy and the three circuit metrics (head-averaged). One row per member, seed,
    metric and layer, with the final value and the settling step.
    """
    names = ["acc", "bigram", "label_attention", "chunk_example"]
    m = metrics[metrics.metric.isin(names)]
    m = m.groupby(["member", "seed", "metric", "layer", "step"], dropna=False).value.mean().reset_index()
    rows = []
    for (member, seed, name, layer), g in m.groupby(["member", "seed", "metric", "layer"], dropna=False, sort=True):
        g = g.sort_values("step")
        last = g.step.max()
        final = float(g.value[g.step >= last * 10 ** -window_decades].median())
        run = g.value.rolling(smooth, center=True, min_periods=smooth // 4 + 1).median().to_numpy()
        away = np.flatnonzero(np.abs(run - final) > tolerance)
        rows.append({"member": member, "seed": seed, "metric": name if pd.isna(layer) else f"{name}_L{int(layer)}",
                     "final": final, "settled_after": int(g.step.to_numpy()[away[-1]]) if len(away) else 0})
    return pd.DataFrame(rows)


def token_table(config: Config, example: dict) -> pd.DataFrame:
    """One sampled sequence token by token (chapter 1): position (1-indexed), role, class,
    label (the query's target after an arrow) and what the token's vector holds in the
    config's encoding. `example`: ``{"classes": [N+1], "labels": [N], "target": int}``."""

    t = config.task
    label_vector = "learned label embedding" if t.labels == "learned" else "fixed random label vector"
    rows = []
    for pos, role in enumerate(roles(t.N)):
        k = pos // 2
        item = role != Role.LABEL
        where = f"one-hot(pair {k + 1})" if t.positions == "pair" else f"one-hot(position {pos + 1} + offset)"
        rows.append({
            "position": pos + 1,
            "role": role.name.lower(),
            "class": example["classes"][k] if item else "",
            "label": example["labels"][k] if role == Role.LABEL else (f"→ {example['target']}" if role == Role.QUERY else ""),
            "vector": f"noisy class mean ⊕ {where}" if item else label_vector,
        })
    return pd.DataFrame(rows)


def variant_summary(runs: dict) -> pd.DataFrame:
    """The reproduction notes' comparison: per variant and seed, its plateaus (level, nearest
    ceiling, start step), the first step at which accuracy reaches 0.95, and the final
    accuracy and random-label accuracy. `runs`: name -> `Run` (`icmeta.train.load_variants`)."""
    rows = []
    for name, r in runs.items():
        pt = run_phases(r)
        for seed, g in pt.groupby("seed"):
            last = lambda metric: float(r.metrics[(r.metrics.metric == metric) & (r.metrics.seed == seed)].sort_values("step").value.iloc[-1])
            rows.append({
                "variant": name, "seed": seed, "phases": len(g),
                "plateaus": " → ".join(f"{a:.2f}" for a in g.acc),
                "nearest ceiling": " → ".join(g.circuit),
                "starts": " → ".join(str(int(s)) for s in g.start),
                "step to 0.95": first_step(r.metrics[r.metrics.seed == seed], 0.95),
                "final acc": last("acc"), "final RLA": last("rla"),
            })
    out = pd.DataFrame(rows)
    out["step to 0.95"] = out["step to 0.95"].astype("Int64")  # missing where it never got there
    return out


def variant_plateaus(runs: dict) -> pd.DataFrame:
    """Every plateau of every variant with the circuit metrics over its window and the seed's
    Bayes ceilings (context ignored / labels only)."""
    names = {"bigram_L1": "L1 bigram", "label_attention_L1": "L1 label att.", "chunk_example_L1": "L1 chunk",
             "bigram_L2": "L2 bigram", "label_attention_L2": "L2 label att."}
    parts = []
    for name, r in runs.items():
        ceil = {c["seed"]: f"{c['ignore']:.2f} / {c['labels']:.2f}" for c in r.ceilings()}
        pt = run_phases(r).assign(variant=name, ceilings=lambda t: t.seed.map(ceil))
        parts.append(pt[["variant", "seed", "circuit", "start", "end", "acc", *names, "ceilings"]])
    return pd.concat(parts, ignore_index=True).rename(columns={**names, "ceilings": "ceilings ignore / labels"})


def table3_presets(paper: Config, fast: Config) -> pd.DataFrame:
    """Table 3 of the `paper` preset beside the `fast` preset's values: group, name, the paper's
    value, where that value comes from, the fast value, and its meaning."""
    t = table3(paper).rename(columns={"value": "paper"})
    t.insert(3, "fast", table3(fast)["value"].values)
    return t.rename(columns={"source": "from"})[["group", "name", "paper", "from", "fast", "meaning"]]


SHORT_METRICS = {f"{m}_L{l}": f"L{l} {s}" for l in (1, 2)
                 for m, s in (("bigram", "bigram"), ("label_attention", "label att."), ("chunk_example", "chunk"))}


def plateau_metrics(phase_table: pd.DataFrame) -> pd.DataFrame:
    """A phase table (`run_phases`) as the book shows it: per seed and plateau, its circuit, steps,
    accuracy, RLA and the circuit metrics of both layers (short column names)."""
    cols = ["seed", "phase", "circuit", "start", "end", "acc", "rla", *SHORT_METRICS]
    return phase_table[cols].rename(columns=SHORT_METRICS)


def ceilings_table(run) -> pd.DataFrame:
    """Per seed: the Bayes-ideal accuracy of the three strategies on that seed's data draw."""
    ceil = pd.DataFrame(run.ceilings())[["seed", "ignore", "labels", "pairs"]]
    return ceil.rename(columns={"ignore": "context ignored", "labels": "labels only", "pairs": "full pairs"})


def first_and_last(run, metric: str) -> pd.DataFrame:
    """Per seed and layer: a metric's value at the first and at the last evaluation."""
    g = run.metrics[run.metrics.metric == metric].sort_values("step").groupby(["seed", "layer"]).value
    return pd.DataFrame({"first evaluation": g.first(), "last evaluation": g.last()})


def circuits_late(run, fractions: tuple[float, ...] = (0.25, 0.375, 0.625, 1.0)) -> pd.DataFrame:
    """`circuits_at` at fractions of the run's length (a quarter of it to its end): accuracy, RLA
    and the circuit metrics per seed, short column names."""
    names = {"acc": "acc", "rla": "RLA", **{k: v for k, v in SHORT_METRICS.items() if k != "chunk_example_L2"}}
    late = circuits_at(run.metrics, [int(run.last_step * f) for f in fractions])
    return late[["seed", "step", *names]].rename(columns=names)


def last_to_settle(run, tolerance: float = SETTLE_TOLERANCE) -> pd.DataFrame:
    """Per seed: the metric that settles last (`settling_steps`), its final value and the step
    after which it stays within `tolerance` of it."""
    s = settling_steps(run.metrics, tolerance)
    last = s.loc[s.groupby("seed").settled_after.idxmax(), ["seed", "metric", "final", "settled_after"]]
    return last.rename(columns={"metric": "last metric to settle",
                                "settled_after": f"within {tolerance:g} of final after step"})


# ------------------------------------------------------------- the reproduction notes, by level

# A plateau's level, named by the strategy whose Bayes ceiling it sits nearest (`run_phases`'s
# `circuit` column): a level, not a circuit; the attention metrics say which circuit carries it.
LEVEL_NAMES = {"NCC": "context-free", "SCC": "labels-only", "FCC": "full-pairs"}


def by_level(df: pd.DataFrame) -> pd.DataFrame:
    """A plateau table (`variant_summary`, `variant_plateaus`, `run_phases`) with each plateau
    named by its level (`LEVEL_NAMES`: "context-free" for NCC ...) instead of a circuit: the
    columns ``circuit`` and ``nearest ceiling`` become ``level`` and ``nearest level``, their
    values (one name, or names joined by " → ") translated word by word."""
    out = df.copy()
    for col, new in (("circuit", "level"), ("nearest ceiling", "nearest level")):
        if col in out:
            out[col] = out[col].map(lambda v: " → ".join(LEVEL_NAMES.get(w, w) for w in str(v).split(" → ")))
            out = out.rename(columns={col: new})
    return out


def variant_overview(runs: dict) -> pd.DataFrame:
    """The reproduction notes in one table: per variant (`runs`: name -> `Run`, as for
    `variant_summary`), the number of seeds with a plateau at each level (`LEVEL_NAMES`), how far
    layer 2's bigram stands above its uniform-attention value on the context-free plateaus (range
    over them; near 0: attention still uniform, the bigram circuit absent), the step at which
    each seed's accuracy first reaches 0.95 ("–": never) and the final accuracy (range over seeds,
    the last evaluation, as in `variant_summary`)."""
    from .heads import uniform_value

    summary = variant_summary(runs)
    rows = []
    for name, r in runs.items():
        pt = run_phases(r)
        s = summary[summary.variant == name]
        row = {"variant": name, "seeds": len(s)}
        for circuit, level in LEVEL_NAMES.items():
            row[f"{level} plateau (seeds)"] = int(pt[pt.circuit == circuit].seed.nunique())
        low = pt[pt.circuit == "NCC"].bigram_L2 - uniform_value("bigram", r.config.task.N)
        row["L2 bigram − uniform, context-free plateaus"] = f"{low.min():.2f}–{low.max():.2f}" if len(low) else "–"
        row["acc ≥ 0.95 at step, per seed"] = " / ".join("–" if pd.isna(x) else f"{int(x):,}" for x in s["step to 0.95"])
        row["final acc"] = f"{s['final acc'].min():.3f}–{s['final acc'].max():.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def level_sequences(runs: dict) -> pd.DataFrame:
    """The plateaus of the same seeds trained in different ways (`runs`: name -> `Run`, the first
    the reference): per seed and run, the levels it pauses at in order with the step each
    plateau starts (the project's detector, `run_phases`), and whether that order of levels is
    the reference's ("yes", "no"; "(reference)" on the reference's own rows)."""
    rows = []
    for name, r in runs.items():
        pt = by_level(run_phases(r))
        for seed, g in pt.groupby("seed"):
            rows.append({"seed": int(seed), "run": name, "levels": tuple(g.level),
                         "plateaus (level from step)": " → ".join(f"{lv} from {int(s):,}" for lv, s in zip(g.level, g.start))})
    df = pd.DataFrame(rows)
    ref = next(iter(runs))
    first = df[df.run == ref].set_index("seed").levels
    df["same levels"] = ["(reference)" if r == ref else "yes" if first.get(s) == lv else "no"
                         for r, s, lv in zip(df.run, df.seed, df.levels)]
    return df.sort_values(["seed"], kind="stable").drop(columns="levels").reset_index(drop=True)


def level_differences(runs: dict) -> str:
    """In words, where the runs of `level_sequences` pause at other levels than the first
    (reference) run: "seed 1 pauses at the context-free level with <run> only", one clause per
    seed and run that differ, or "none"."""
    tables = {name: by_level(run_phases(r)) for name, r in runs.items()}
    ref_name, ref = next(iter(tables.items()))
    clauses = []
    for name, t in list(tables.items())[1:]:
        for seed in sorted(set(ref.seed) | set(t.seed)):
            a, b = list(ref[ref.seed == seed].level), list(t[t.seed == seed].level)
            for levels, who in (([lv for lv in b if lv not in a], name), ([lv for lv in a if lv not in b], ref_name)):
                if levels:
                    clauses.append(f"seed {seed} pauses at the {' and '.join(levels)} level{'s' * (len(levels) > 1)} "
                                   f"with the {who} only")
            if not [lv for lv in b if lv not in a] and not [lv for lv in a if lv not in b] and a != b:
                clauses.append(f"seed {seed} pauses at the same levels in another order with the {name}")
    return "; ".join(clauses) or "none"
