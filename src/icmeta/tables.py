"""The paper's tables, generated from configs and measurements (never typed by hand)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .config import Config

CIRCUITS = {1: "NCC (non-context)", 2: "SCC (semi-context)", 3: "FCC (full-context)"}
PAPER_TABLE1 = {  # the paper's Table 1, for comparison: (layer 1, layer 2, accuracy at T = 3)
    1: ("Bigram", "Bigram", "≈ 0.33–0.40"),
    2: ("Label Attention", "Bigram", "≈ 0.75"),
    3: ("Chunk Example", "Label Attention", "1.0"),
}
TABLE2 = [
    ("Bigram", r"$p_{2N+1,\,2N+1}$", "the query attends to itself", "icmeta.metrics.bigram"),
    ("Label Attention", r"$\sum_{k=1}^{N} p_{2N+1,\,2k}$", "total attention from the query to the labels",
     "icmeta.metrics.label_attention"),
    ("Chunk Example", r"$\frac{1}{N}\sum_{k=1}^{N} p_{2k,\,2k-1}$", "each label attends to its own item",
     "icmeta.metrics.chunk_example"),
]
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


def first_step(metrics: pd.DataFrame, level: float, metric: str = "acc") -> int | None:
    """The first evaluated step at which `metric` (mean over the rows of a step) reaches `level`
    (None if it never does)."""
    m = metrics[metrics.metric == metric].groupby("step").value.mean()
    hit = m[m >= level]
    return int(hit.index.min()) if len(hit) else None


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


def table1(phase_table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 from measurements: for each circuit, the plateaus assigned to it (by the
    nearest Bayes-ideal ceiling, `Run.phases()["circuit"]`; the last one per seed when
    several are), their accuracy and the circuit metrics of each layer (mean over those seeds,
    accuracy with its range), beside the paper's row.

    Args:
        phase_table: `Run.phases()` (one row per member, seed, phase, with a `circuit` column).
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
                row[f"layer {layer} (measured)"] = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in vals.items())
        row["paper: layer 1 / layer 2 / acc"] = " / ".join(PAPER_TABLE1[i])
        rows.append(row)
    return pd.DataFrame(rows)


def circuits_at(metrics: pd.DataFrame, steps: list[int], window_decades: float = 0.05) -> pd.DataFrame:
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


def settling_steps(metrics: pd.DataFrame, tolerance: float = 0.05, window_decades: float = 0.05,
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


def styled(df: pd.DataFrame, precision: int = 3, compact: bool = False):
    """A table for the book: no index column, fixed precision, padded cells (a pandas Styler);
    `compact` for wide tables (smaller type, tighter cells).

    Its HTML id comes from the table's content, so the same table renders to the same HTML
    (the notebooks' outputs are regression-tested)."""
    import hashlib

    # the index is hidden: a named one (seed, setting) becomes columns; a unique one keeps to_json happy
    df = df.reset_index() if any(n is not None for n in df.index.names) else df.reset_index(drop=True)
    uuid = hashlib.sha256(df.to_json().encode()).hexdigest()[:10]
    # words read from the left, numbers from the right
    text = [i for i, c in enumerate(df.columns) if not pd.api.types.is_numeric_dtype(df[c])]
    styles = [{"selector": "th, td", "props": "padding: 1px 4px; text-align: right; font-size: 0.8em;"
               if compact else "padding: 2px 6px; text-align: right;"}]
    styles += [{"selector": f"td.col{i}, th.col{i}", "props": "text-align: left;"} for i in text]
    return df.style.set_uuid(uuid).hide(axis="index").format(precision=precision, na_rep="–").set_table_styles(styles)


def token_table(config: Config, example: dict) -> pd.DataFrame:
    """One sampled sequence token by token (chapter 1): position (1-indexed), role, class,
    label (the query's target after an arrow) and what the token's vector holds in the
    config's encoding. `example`: ``{"classes": [N+1], "labels": [N], "target": int}``."""
    from .task import Role, roles

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
        pt = r.phases()
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
        pt = r.phases().assign(variant=name, ceilings=lambda t: t.seed.map(ceil))
        parts.append(pt[["variant", "seed", "circuit", "start", "end", "acc", *names, "ceilings"]])
    return pd.concat(parts, ignore_index=True).rename(columns={**names, "ceilings": "ceilings ignore / labels"})
