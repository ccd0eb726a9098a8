"""The paper's sweep figures (Figs. 5, 6, 7, 11-15, 18 and the K x ε phase diagram), drawn from
stored sweeps (`icmeta.sweeps.load_sweep`); nothing here trains.

One palette across the book: seeds keep their colour in every figure (`SEED_COLORS`), and the
settings of a sweep run along one ordered colormap (`setting_colors`). Grids are seaborn
facets, one panel per swept value. Each sweep also gets a measured table of the plateaus each
member shows (`plateau_table`): detected by `icmeta.phases`, each named by the nearest Bayes
ceiling of that member's data draw.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

if not matplotlib.get_backend().lower().startswith(("module://", "agg", "inline")):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from . import bayes  # noqa: E402
from .figures import PHASE_COLORS, _tick_labels, draw_map  # noqa: E402
from .phases import nearest_strategy  # noqa: E402
from .sweeps import SweepRuns  # noqa: E402
from .tables import first_step  # noqa: E402

SEED_COLORS = dict(enumerate(sns.color_palette("colorblind", 10)))
CIRCUIT_LETTER = {"NCC": "N", "SCC": "S", "FCC": "F"}
CIRCUIT_COLORS = {"NCC": PHASE_COLORS[0], "SCC": PHASE_COLORS[1], "FCC": PHASE_COLORS[2]}


def setting_colors(labels: list[str]) -> dict[str, tuple]:
    """An ordered colormap over a sweep's settings (first light, last dark)."""
    pal = sns.color_palette("viridis_r", max(len(labels), 2))
    return dict(zip(labels, pal))


def _curves(sr: SweepRuns, metric: str) -> pd.DataFrame:
    df = sr.frame(metric)
    df = df.groupby(["label", "seed", "step"], sort=False).value.mean().reset_index()
    df["step"] = df.step.clip(lower=1)
    return df


# --------------------------------------------------------------------------- tables

def _phases(run) -> pd.DataFrame:
    """`Run.phases` of a single-member run, with circuit "one level" where the three strategies'
    ceilings coincide (T = 1: nothing to infer, so a plateau's level names no circuit)."""
    pt = run.phases()
    if len(pt) and _one_level(run.ceilings()[0]):
        pt["circuit"] = "one level"
    return pt


def _one_level(ceilings: dict) -> bool:
    levels = [ceilings[k] for k in ("ignore", "labels", "pairs")]
    return max(levels) - min(levels) < 0.01


def diverged_at(run) -> int | None:
    """The first evaluated step whose loss is not finite (training diverged), or None."""
    loss = run.metrics[run.metrics.metric == "loss"]
    bad = loss[~np.isfinite(loss.value)]
    return int(bad.step.min()) if len(bad) else None


def plateaus(run) -> list[tuple[str, float]]:
    """(circuit, accuracy level) of each plateau of a single-member run, in order."""
    pt = _phases(run)
    return list(zip(pt.circuit, pt.acc)) if len(pt) else []


def plateau_table(sr: SweepRuns) -> pd.DataFrame:
    """One row per setting: per seed, its plateaus in order as ``NCC 0.36 → SCC 0.79 → FCC 1.00``
    (circuit by nearest Bayes ceiling, level); how many seeds show each circuit; the final accuracy (mean of the last 5
    evaluations; range over seeds) with the strategy whose ceiling it is nearest (a run can end
    on a level too short to count as a plateau), or "diverged" for a seed whose loss became NaN
    (named in its cell with the step); the Bayes ceilings (mean over the seeds' draws)."""
    rows = []
    for label in sr.labels:
        row: dict = {"setting": label}
        finals, ceils, ends, seen = [], [], [], []
        for m, r in zip(sr.members, sr.runs):
            if m.label != label:
                continue
            found = plateaus(r)
            seen.append({c for c, _ in found})
            cell = " → ".join(f"{c} {a:.2f}" for c, a in found) or "no plateau"
            finals.append(_final(r.metrics))
            ceils.append(r.ceilings()[0])
            bad = diverged_at(r)
            if bad is not None:
                cell += f" ✗ diverged at step {bad:,} (loss NaN)"
                ends.append("diverged")
            else:
                ends.append("one level" if _one_level(ceils[-1]) else nearest_strategy(finals[-1], ceils[-1]))
            row[f"seed {m.seed}"] = cell
        row["seeds with NCC / SCC / FCC"] = " / ".join(str(sum(c in x for x in seen)) for c in ("NCC", "SCC", "FCC"))
        final = f"{min(finals):.2f}–{max(finals):.2f}" if len(finals) > 1 else f"{finals[0]:.2f}"
        row["final acc (nearest)"] = f"{final} ({'/'.join(dict.fromkeys(ends))})"
        row["ceilings: ignore / labels / pairs"] = " / ".join(
            f"{np.mean([c[k] for c in ceils]):.2f}" for k in ("ignore", "labels", "pairs"))
        rows.append(row)
    return pd.DataFrame(rows)


def _final(metrics: pd.DataFrame, metric: str = "acc", layer: int | None = None, last: int = 5) -> float:
    """Mean of a metric over the last `last` steps that measured it (heads averaged)."""
    m = metrics[metrics.metric == metric]
    if layer is not None:
        m = m[m.layer == layer]
    per_step = m.groupby("step").value.mean().sort_index()
    return float(per_step.iloc[-last:].mean())


def theory_table(sr: SweepRuns) -> pd.DataFrame:
    """Fig. 5's comparison: per K (= L), the SCC theory p + (1 - p)/2 and each seed's final
    accuracy (mean of the last 5 evaluations)."""
    rows = []
    for label in sr.labels:
        ms = [(m, r) for m, r in zip(sr.members, sr.runs) if m.label == label]
        K, N = ms[0][0].config.task.K, ms[0][0].config.task.N
        row = {"setting": label, "theory p + (1 − p)/2": round(bayes.scc_theory_accuracy(K, N), 3)}
        for m, r in ms:
            row[f"seed {m.seed}"] = round(_final(r.metrics), 3)
        vals = [_final(r.metrics) for _, r in ms]
        row["mean − theory"] = round(float(np.mean(vals)) - row["theory p + (1 − p)/2"], 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index("setting")


def rla_table(run) -> pd.DataFrame:
    """Fig. 6's numbers: per seed and plateau, the accuracy level and the random-label accuracy
    (median over the plateau), and both at the end of training."""
    rows = []
    pt = run.phases()
    for (label, seed) in run.members:
        for r in pt[(pt.member == label) & (pt.seed == seed)].itertuples():
            rows.append({"seed": seed, "when": f"plateau {r.phase} ({r.circuit})", "steps": f"{r.start:,}–{r.end:,}",
                         "accuracy": round(r.acc, 3), "RLA": round(r.rla, 3)})
        m = run.metrics[(run.metrics.member == label) & (run.metrics.seed == seed)]
        rows.append({"seed": seed, "when": "end (last 5 measurements)", "steps": f"{run.last_step:,}",
                     "accuracy": round(_final(m, "acc"), 3), "RLA": round(_final(m, "rla"), 3)})
    return pd.DataFrame(rows).set_index(["seed", "when"])


def copy_circuit_table(sr: SweepRuns) -> pd.DataFrame:
    """Fig. 12's numbers: per setting and seed, the steps at which accuracy first reaches 0.5 and
    0.95, and the circuit metrics of both layers at the end (mean of the last 5 measurements)."""
    rows = []
    for m, r in zip(sr.members, sr.runs):
        row = {"setting": m.label, "seed": m.seed, "acc ≥ 0.5 at step": first_step(r.metrics, 0.5),
               "acc ≥ 0.95 at step": first_step(r.metrics, 0.95)}
        for layer in (1, 2):
            for name, short in (("bigram", "bigram"), ("label_attention", "label att."), ("chunk_example", "chunk")):
                row[f"L{layer} {short}"] = round(_final(r.metrics, name, layer), 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["setting", "seed"])


def lr_check_table(fast: SweepRuns, *slower: SweepRuns) -> pd.DataFrame:
    """`plateau_table` of the same settings at `fast` and at one or more lower learning rates (an
    lr check, a GPU check), one row per setting and lr, with the step at which each seed's
    accuracy first reaches 0.95 on the paper's clock (step x lr / 0.01: events move as 1/lr, so
    equal numbers mean the same event)."""
    parts = []
    slow = slower[-1]
    for sr in (fast, *slower):
        t = plateau_table(sr)
        lr = sr.members[0].config.train.lr
        t.insert(1, "lr", f"{lr:g}")
        reach = []
        for label in t.setting:
            s = [first_step(r.metrics, 0.95) for m, r in zip(sr.members, sr.runs) if m.label == label]
            reach.append(" / ".join("–" if x is None else f"{round(x * lr / 0.01):,}" for x in s))
        t["acc ≥ 0.95 at (paper clock), per seed"] = reach
        steps = {m.label: m.config.train.steps for m in sr.members}
        t.insert(2, "steps", [f"{steps[label]:,}" for label in t.setting])
        parts.append(t)
    order = {label: i for i, label in enumerate(slow.labels)}
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("setting", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def level_dwell(*rates: SweepRuns, strategy: str = "ignore", band: float = 0.06, window: int = 9) -> pd.DataFrame:
    """How long each seed's accuracy stays near one strategy's Bayes ceiling (default: the
    context-free level, where the NCC plateau sits), on the paper's clock (step x lr / 0.01), for
    the same settings at one or more learning rates. Accuracy is smoothed over `window`
    evaluations; a cell gives the first and the last step within ±`band` of the seed's ceiling (of
    its own evaluation draws) and their ratio: a plateau is a long stay, a smooth rise passes
    through the band in a short one. One row per setting and lr, one column per seed."""
    rows = []
    for sr in rates:
        for m, r in zip(sr.members, sr.runs):
            lr = m.config.train.lr
            acc = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean()
            acc = acc.rolling(window, center=True, min_periods=1).mean()
            level = float(r.ceilings()[0][strategy])
            near = acc[(acc - level).abs() <= band]
            if len(near) and near.index.min() > 0:
                a, b = near.index.min() * lr / 0.01, near.index.max() * lr / 0.01
                text = f"{a:,.0f}–{b:,.0f} (×{b / a:.2f})"
            else:
                text = "–"
            rows.append({"setting": m.label, "lr": f"{lr:g}", "seed": f"seed {m.seed}", "near": text})
    df = pd.DataFrame(rows)
    out = df.pivot_table(index=["setting", "lr"], columns="seed", values="near", aggfunc="first", sort=False)
    return out.reset_index().rename_axis(columns=None)


def cost_table(sr: SweepRuns) -> pd.DataFrame:
    """Per setting, what its models cost to train, from each stored run's record: tokens per
    sequence (N pairs and the query: 2N + 1), the training wall time per model (median and range
    over seeds; a model trained in a group of n counts for 1/n of the group's time), the median
    milliseconds per step, and the torch threads each had."""
    rows = []
    for label in sr.labels:
        runs = [r for m, r in zip(sr.members, sr.runs) if m.label == label]
        secs = [r.wall_time_s / r.info.get("trained_in", {}).get("members", 1) for r in runs]
        steps = [r.config.train.steps for r in runs]
        threads = sorted({s["threads"] for r in runs for s in r.info.get("segments", [])})
        rows.append({"setting": label, "tokens per sequence": 2 * runs[0].config.task.N + 1,
                     "s per model (median)": round(float(np.median(secs))),
                     "range over seeds": f"{min(secs):,.0f}–{max(secs):,.0f}",
                     "ms per step": f"{np.median([t / n * 1000 for t, n in zip(secs, steps)]):.1f}",
                     "threads": ", ".join(map(str, threads))})
    return pd.DataFrame(rows)


def reach_table(sr: SweepRuns, levels: tuple[float, ...] = (0.5, 0.95)) -> pd.DataFrame:
    """Per setting: the step at which each seed's accuracy first reaches each level ("–" if never),
    seeds separated by "/"."""
    rows = []
    for label in sr.labels:
        runs = [r for m, r in zip(sr.members, sr.runs) if m.label == label]
        row = {"setting": label}
        for level in levels:
            row[f"acc ≥ {level:g} at step, per seed"] = " / ".join(
                "–" if (x := first_step(r.metrics, level)) is None else f"{x:,}" for r in runs)
        rows.append(row)
    return pd.DataFrame(rows)


def task_table(sr: SweepRuns, label: str) -> pd.DataFrame:
    """Per seed and task of one setting: the task's sampling probability, the first step at which
    its accuracy reaches 0.5 and 0.9, and its final accuracy (mean of the last 5 evaluations)."""
    rows = []
    for m, r in zip(sr.members, sr.runs):
        if m.label != label:
            continue
        t = m.config.task
        w = np.arange(1, t.T + 1, dtype=float) ** -t.beta
        for k in range(1, t.T + 1):
            a = r.metrics[r.metrics.metric == f"acc_task{k}"].sort_values("step")
            rows.append({"seed": m.seed, "task": k, "probability": round(float(w[k - 1] / w.sum()), 3),
                         "acc ≥ 0.5 at step": first_step(r.metrics, 0.5, f"acc_task{k}"),
                         "acc ≥ 0.9 at step": first_step(r.metrics, 0.9, f"acc_task{k}"),
                         "final acc": round(float(a.value.iloc[-5:].mean()), 3)})
    return pd.DataFrame(rows).set_index(["seed", "task"])


def circuits_seen(sr: SweepRuns) -> pd.DataFrame:
    """Long table: setting, seed, and which of NCC / SCC / FCC appear as plateaus (booleans)."""
    rows = []
    for m, r in zip(sr.members, sr.runs):
        seen = {c for c, _ in plateaus(r)}
        rows.append({"label": m.label, "seed": m.seed, **dict(m.setting), **{c: c in seen for c in CIRCUIT_LETTER}})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------- figures

def shade_circuits(ax, run, alpha: float = 0.6) -> None:
    """Shade each plateau of a single-member run in its circuit's colour (NCC, SCC, FCC as in
    the main-result figures)."""
    for r in _phases(run).itertuples():
        ax.axvspan(max(r.start, 1), r.end, color=CIRCUIT_COLORS.get(r.circuit, "#eeeeee"), alpha=alpha, lw=0, zorder=0)


def sweep_grid(sr: SweepRuns, metric: str = "acc", col_wrap: int | None = None, ceilings: bool = True,
               height: float = 2.3, ylabel: str | None = None):
    """One panel per setting: the metric of every seed over steps (log axis), the Bayes
    ceilings of the three strategies (mean over the seeds' draws) dotted, dashed and
    dash-dotted, and the plateaus of the first seed shaded by circuit."""
    df = _curves(sr, metric)
    n = len(sr.labels)
    col_wrap = col_wrap or (n if n <= 4 else 3)
    g = sns.relplot(data=df, x="step", y="value", col="label", hue="seed", kind="line", col_wrap=col_wrap,
                    palette=SEED_COLORS, height=height, aspect=1.25, linewidth=1.1, estimator=None,
                    facet_kws={"sharey": True}, legend=True)
    for label, ax in g.axes_dict.items():
        runs = [(m, r) for m, r in zip(sr.members, sr.runs) if m.label == label]
        if metric == "acc":
            shade_circuits(ax, runs[0][1])
        if ceilings and metric == "acc":
            for k, ls in (("ignore", ":"), ("labels", "--"), ("pairs", "-.")):
                ax.axhline(np.mean([r.ceilings()[0][k] for _, r in runs]), color="gray", ls=ls, lw=0.8)
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    if metric == "acc":
        g.set(ylim=(0, 1.02))
    g.set_axis_labels("step", ylabel or metric)
    g.figure.suptitle(sr.sweep.title, fontsize=10, y=1.02)
    return g.figure


def sweep_overlay(sr: SweepRuns, metrics: tuple[str, ...] = ("acc",), seed: int | None = None, log_y: tuple = ()):
    """All settings on one axes per metric (colour = setting, ordered), every seed (or one)."""
    labels = sr.labels
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.2), layout="constrained", squeeze=False)
    cols = setting_colors(labels)
    for ax, metric in zip(axes[0], metrics):
        df = _curves(sr, metric)
        if seed is not None:
            df = df[df.seed == seed]
        sns.lineplot(data=df, x="step", y="value", hue="label", units="seed", estimator=None, palette=cols, ax=ax,
                     lw=1.0, alpha=0.85, legend=ax is axes[0][0])
        ax.set_xscale("log")
        if metric in log_y:
            ax.set_yscale("log")
        ax.set_ylabel(metric)
    leg = axes[0][0].get_legend()
    if leg is not None:
        leg.set_title(sr.sweep.axes[0].name if sr.sweep.axes else "")
        for t in leg.get_texts():
            t.set_fontsize(7)
    fig.suptitle(sr.sweep.title, fontsize=10)
    return fig


def per_task_accuracy(sr: SweepRuns, label: str, seed: int | None = None):
    """Accuracy on each task separately (Zipf-distributed tasks: task 1 the most frequent)."""
    m = [(mm, r) for mm, r in zip(sr.members, sr.runs) if mm.label == label and (seed is None or mm.seed == seed)]
    T = m[0][0].config.task.T
    fig, axes = plt.subplots(1, len(m), figsize=(3.3 * len(m), 2.8), layout="constrained", squeeze=False, sharey=True)
    pal = sns.color_palette("rocket", T)
    for ax, (mm, r) in zip(axes[0], m):
        for t in range(1, T + 1):
            d = r.metrics[r.metrics.metric == f"acc_task{t}"].sort_values("step")
            ax.plot(d.step.clip(lower=1), d.value, color=pal[t - 1], lw=1.0, label=f"task {t}")
        a = r.metrics[r.metrics.metric == "acc"].sort_values("step")
        ax.plot(a.step.clip(lower=1), a.value, color="k", lw=1.4, ls="--", label="average")
        ax.set_xscale("log")
        ax.set_title(f"{label}, seed {mm.seed}", fontsize=9)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=7)
    return fig


def phase_diagram(sr: SweepRuns, rows: str = "K", cols: str = "eps"):
    """Which plateaus appear in each cell of a two-axis sweep: the cell's colour is the number of
    distinct circuits seen (mean over seeds); its text lists each seed's circuits in order (N =
    NCC, S = SCC, F = FCC)."""
    seen = circuits_seen(sr)
    text = {}
    for m, r in zip(sr.members, sr.runs):
        letters = "".join(CIRCUIT_LETTER[c] for c in dict.fromkeys(c for c, _ in plateaus(r)) if c in CIRCUIT_LETTER) or "–"
        text.setdefault((dict(m.setting)[rows], dict(m.setting)[cols]), []).append(letters)
    seen["n"] = seen[list(CIRCUIT_LETTER)].sum(axis=1)
    grid = seen.groupby([rows, cols]).n.mean().unstack(cols)
    annot = grid.copy().astype(object)
    for (a, b), v in text.items():
        annot.loc[a, b] = "\n".join(v)
    fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 1.8, 0.95 * grid.shape[0] + 1.2), layout="constrained")
    sns.heatmap(grid, annot=annot.to_numpy(), fmt="", cmap="Greens", vmin=0, vmax=3, ax=ax,
                cbar_kws={"label": "distinct circuits (mean over seeds)"}, annot_kws={"fontsize": 7}, linewidths=0.5)
    ax.set_title(f"{sr.sweep.title}\n(per seed, the circuits of its plateaus in order)", fontsize=9)
    return fig


def fig5(sr: SweepRuns):
    """Fig. 5: the SCC-only model's accuracy over training against the theory p + (1 - p)/2,
    for each K (= L) of the sweep."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.2), layout="constrained")
    cols = setting_colors(sr.labels)
    df = _curves(sr, "acc")
    for label in sr.labels:
        K = dict(next(m.setting for m in sr.members if m.label == label))["K"]
        N = next(m.config.task.N for m in sr.members if m.label == label)
        th = bayes.scc_theory_accuracy(K, N)
        d = df[df.label == label]
        for s, g in d.groupby("seed"):
            axes[0].plot(g.step, g.value, color=cols[label], lw=1.0, alpha=0.8, label=label if s == d.seed.min() else None)
        axes[0].axhline(th, color=cols[label], ls=":", lw=1.0)
        finals = d.sort_values("step").groupby("seed").value.apply(lambda v: v.iloc[-5:].mean())
        axes[1].scatter([K] * len(finals), finals, color=[SEED_COLORS[s] for s in finals.index], zorder=3, s=18)
        axes[1].scatter([K], [th], marker="_", s=400, color="k", zorder=2)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("accuracy")
    axes[0].legend(fontsize=7, title="dotted: theory", title_fontsize=7)
    ks = sorted({dict(m.setting)["K"] for m in sr.members})
    axes[1].set_xscale("log", base=2)
    axes[1].set_xticks(ks, [str(k) for k in ks])
    axes[1].set_xlabel("K = L")
    axes[1].set_ylabel("final accuracy (last 5 evaluations)")
    axes[1].set_title("dots: seeds; bars: p + (1 − p)/2", fontsize=9)
    fig.suptitle(sr.sweep.title, fontsize=10)
    return fig


def fig6(run):
    """Fig. 6: accuracy and random-label accuracy (RLA) of the main run over training, one panel
    per seed, that seed's plateaus shaded by circuit."""
    fig, axes = plt.subplots(1, len(run.members), figsize=(3.6 * len(run.members), 3.0), layout="constrained",
                             sharey=True, squeeze=False)
    m = run.metrics
    pt = run.phases()
    for ax, (label, seed) in zip(axes[0], run.members):
        get = lambda metric: m[(m.member == label) & (m.seed == seed) & (m.metric == metric)].sort_values("step")
        acc, rla = get("acc"), get("rla")
        for r in pt[(pt.member == label) & (pt.seed == seed)].itertuples():
            ax.axvspan(max(r.start, 1), r.end, color=CIRCUIT_COLORS.get(r.circuit, "#eeeeee"), alpha=0.6, lw=0, zorder=0)
        ax.plot(acc.step.clip(lower=1), acc.value, color="k", lw=1.0, label="accuracy")
        ax.plot(rla.step.clip(lower=1), rla.value, color=SEED_COLORS[seed], lw=1.4, marker=".", ms=3,
                label="random-label accuracy")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("step")
        ax.set_title(f"seed {seed}", fontsize=9)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=7, loc="upper left")
    return fig


def nearest_snapshot(steps: np.ndarray, step: int) -> int:
    """Index of the attention snapshot whose step is nearest `step` on a log scale."""
    return int(np.argmin(np.abs(np.log(np.maximum(steps, 1)) - math.log(max(step, 1)))))


def attention_maps(run, steps: list[int], title: str = "", head: int | None = None, seed: int | None = None):
    """Mean attention maps of every layer (rows) at the snapshot steps nearest `steps` (columns):
    of one head (1-based), or averaged over heads; the member of `seed` (default the first)."""
    pats = run.patterns(seed=seed)
    nl = pats["mean"].shape[1]
    fig, axes = plt.subplots(nl, len(steps), figsize=(2.1 * len(steps) + 0.4, 2.1 * nl), layout="constrained", squeeze=False)
    for j, want in enumerate(steps):
        i = nearest_snapshot(pats["steps"], want)
        for layer in range(nl):
            p = pats["mean"][i, layer]
            draw_map(axes[layer][j], p.mean(0) if head is None else p[head - 1],
                     title=f"step {int(pats['steps'][i])}" if layer == 0 else None,
                     ylabel=f"layer {layer + 1}" if j == 0 else None)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def fig12(sr: SweepRuns, label: str | None = None):
    """Fig. 12: the copy task (T = 1, p_B = 1, B = 1): accuracy of every seed, and the attention
    maps of the first seed of `label` (default: the last setting) before the jump, during it and
    at the end."""
    fig_a = sweep_grid(sr, col_wrap=None if len(sr.labels) > 1 else 1, height=2.6)
    label = label or sr.labels[-1]
    i = next(i for i, m in enumerate(sr.members) if m.label == label)
    r = sr.runs[i]
    half = first_step(r.metrics, 0.5)
    last = int(r.metrics.step.max())
    half = last if half is None else half
    fig_b = attention_maps(r, [max(1, half // 4), half, last], title=f"{label}, seed {sr.members[i].seed}")
    return fig_a, fig_b


def fig13(sr: SweepRuns):
    """Fig. 13: models pruned at initialisation to one phase's circuit beside the full model."""
    df = _curves(sr, "acc")
    fig, ax = plt.subplots(figsize=(5.8, 3.4), layout="constrained")
    names = {"mask=none": "full model", "mask=ncc": "NCC only", "mask=scc": "SCC only", "mask=fcc": "FCC only"}
    cols = {"mask=none": "k", "mask=ncc": "#d95f02", "mask=scc": "#1b9e77", "mask=fcc": "#7570b3"}
    for label in sr.labels:
        for s, g in df[df.label == label].groupby("seed"):
            ax.plot(g.step, g.value, color=cols.get(label, "gray"), lw=1.1, alpha=1.0 if s == df.seed.min() else 0.4,
                    label=names.get(label, label) if s == df.seed.min() else None)
    c = sr.runs[0].ceilings()[0]
    for k, ls in (("ignore", ":"), ("labels", "--"), ("pairs", "-.")):
        ax.axhline(c[k], color="gray", ls=ls, lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    return fig


def fig14(K: int = 64, alphas=(0.0, 0.25, 0.5, 0.75, 1.0, 1.25), T: int = 3, betas=(0.0, 0.25, 0.5, 0.75, 1.0)):
    """Fig. 14: the Zipf rank-frequency curves of classes (α) and tasks (β), f(r) ∝ r^-a."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3), layout="constrained")
    for ax, n, exps, sym in ((axes[0], K, alphas, "α"), (axes[1], T, betas, "β")):
        cols = sns.color_palette("viridis_r", len(exps))
        r = np.arange(1, n + 1)
        for col, a in zip(cols, exps):
            f = r ** -float(a)
            ax.plot(r, f / f.sum(), color=col, marker="." if n < 10 else None, label=f"{sym} = {a:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rank")
        ax.set_ylabel("probability")
        ax.legend(fontsize=7)
    axes[0].set_title(f"classes (K = {K})", fontsize=9)
    axes[1].set_title(f"tasks (T = {T})", fontsize=9)
    return fig


def fig11(N: int = 4):
    """Fig. 11: the induction circuit of the copy task, drawn: layer 1 binds each label to its
    item (previous-token head), layer 2 finds the item equal to the query and copies its label."""
    S = 2 * N + 1
    fig, ax = plt.subplots(figsize=(8, 2.8), layout="constrained")
    ax.set_xlim(-0.7, S - 0.3)
    ax.set_ylim(-0.6, 2.9)
    ax.axis("off")
    ticks = _tick_labels(S)
    ys = {0: 0.0, 1: 1.2, 2: 2.4}
    for y_name, y in ys.items():
        ax.text(-0.65, y, ["tokens", "layer 1", "layer 2"][y_name], fontsize=8, va="center", ha="left", color="gray")
    match = 2  # the context pair whose item has the query's class
    for i in range(S):
        role = "query" if i == S - 1 else ("item" if i % 2 == 0 else "label")
        fc = {"item": "#9ecae1", "label": "#fdae6b", "query": "#a1d99b"}[role]
        if i in (2 * match, S - 1):
            fc = "#fb6a4a" if role != "label" else fc
        for y in ys.values():
            ax.add_patch(plt.Rectangle((i - 0.3 + 0.35, y - 0.22), 0.6, 0.44, fc=fc, ec="k", lw=0.5))
        ax.text(i + 0.35, -0.45, ticks[i], ha="center", fontsize=8)
    for k in range(N):  # layer 1: each label attends to its own item
        ax.annotate("", xy=(2 * k + 0.35, ys[0] + 0.25), xytext=(2 * k + 1 + 0.35, ys[1] - 0.25),
                    arrowprops=dict(arrowstyle="<-", color="tab:blue", lw=1.0))
    ax.annotate("", xy=(2 * match + 1 + 0.35, ys[1] + 0.25), xytext=(S - 1 + 0.35, ys[2] - 0.25),
                arrowprops=dict(arrowstyle="<-", color="tab:red", lw=1.6, connectionstyle="arc3,rad=0.15"))
    ax.text(0.2, 0.62, "layer 1: each label attends to its own item (chunk example)", fontsize=7.5, color="tab:blue")
    ax.text(2.0, 1.86, "layer 2: the query attends to the label whose item matches it, and copies it",
            fontsize=7.5, color="tab:red")
    return fig


def clock_frame(*rates: SweepRuns) -> pd.DataFrame:
    """Accuracy of every member of sweeps trained at different learning rates on the paper's
    clock: columns ``step``, ``value``, ``clock`` (step x lr / 0.01), ``label``, ``seed``, ``lr``
    (as text, ``lr 0.1``); step 0 left out (the clock is drawn on a log scale)."""
    parts = []
    for sr in rates:
        for m, r in zip(sr.members, sr.runs):
            lr = m.config.train.lr
            d = r.metrics[r.metrics.metric == "acc"].groupby("step").value.mean().reset_index()
            d = d[d.step > 0]
            parts.append(d.assign(clock=d.step * lr / 0.01, label=m.label, seed=m.seed, lr=f"lr {lr:g}"))
    return pd.concat(parts, ignore_index=True)


def lr_check(fast: SweepRuns, *slower: SweepRuns, height: float = 2.5):
    """One panel per setting: every seed (colour) at `fast` (dashed) and at one or more lower
    learning rates (the lowest solid, one between dotted), on the paper's clock (step x lr / 0.01),
    with the Bayes ceilings of the three strategies (mean over the seeds' draws) in gray."""
    slow = slower[-1]
    df = clock_frame(fast, *slower)
    lrs = [f"lr {sr.members[0].config.train.lr:g}" for sr in (fast, *slower)]
    dashes = {lr: d for lr, d in zip(lrs, [(3, 2), *[(1, 1.5)] * (len(lrs) - 2), ""])}
    g = sns.relplot(data=df, x="clock", y="value", col="label", hue="seed", style="lr", style_order=lrs,
                    dashes=dashes, kind="line", palette=SEED_COLORS, height=height,
                    aspect=1.3, linewidth=1.1, estimator=None, col_wrap=min(len(slow.labels), 3),
                    facet_kws={"sharey": True})
    for label, ax in g.axes_dict.items():
        runs = [r for m, r in zip(slow.members, slow.runs) if m.label == label]
        for k, ls in (("ignore", ":"), ("labels", "--"), ("pairs", "-.")):
            ax.axhline(np.mean([r.ceilings()[0][k] for r in runs]), color="gray", ls=ls, lw=0.8)
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
    g.set(ylim=(0, 1.02))
    g.set_axis_labels("step × lr / 0.01 (the paper's clock)", "accuracy")
    g.figure.suptitle(slow.sweep.title, fontsize=10, y=1.03)
    return g.figure


def fig7(panels: dict[str, SweepRuns]):
    """Fig. 7 (a-e) on one page: accuracy of every setting (colour) and seed, one panel per sweep."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.2), layout="constrained", sharey=True)
    for ax, (name, sr) in zip(np.atleast_1d(axes), panels.items()):
        df = _curves(sr, "acc")
        sns.lineplot(data=df, x="step", y="value", hue="label", units="seed", estimator=None,
                     palette=setting_colors(sr.labels), ax=ax, lw=0.9, alpha=0.85)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"({name[-1]}) {sr.sweep.title}", fontsize=9)
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=6.5, title=None)
    return fig


# --------------------------------------------------------------- `python -m icmeta figure`

def _panel(name: str):
    from .sweeps import load_sweep

    return lambda preset, seeds, root: [(name, sweep_grid(load_sweep(name, preset, seeds, root=root)))]


def _fig7(preset, seeds, root):
    from .sweeps import load_sweep

    return [("fig7", fig7({n: load_sweep(n, preset, seeds, root=root) for n in ("fig7a", "fig7b", "fig7c", "fig7d", "fig7e")}))]


def _one(name: str, draw):
    from .sweeps import load_sweep

    return lambda preset, seeds, root: [(name, draw(load_sweep(name, preset, seeds, root=root)))]


def _fig6(preset_name, seeds, root):
    from .config import PRESET_SEEDS, preset
    from .store import StoreError, find_run

    seeds = list(seeds) if seeds else list(PRESET_SEEDS.get(preset_name, (0,)))
    run = find_run([preset(preset_name, seed=s) for s in seeds], root)
    if run is None:
        raise StoreError(f"fig6: the {preset_name} main run of seeds {' '.join(map(str, seeds))} is not stored; train it with "
                         f"`python -m icmeta train --preset {preset_name} --seeds {' '.join(map(str, seeds))}`")
    return [("fig6", fig6(run))]


def _fig12(preset, seeds, root):
    from .sweeps import load_sweep

    a, b = fig12(load_sweep("fig12", preset, seeds, root=root))
    return [("fig12a", a), ("fig12b", b)]


def _fig12_classes(preset, seeds, root):
    from .sweeps import load_sweep

    a, b = fig12(load_sweep("fig12_classes", preset, seeds, root=root))
    return [("fig12_classes", a), ("fig12_classes_maps", b)]


def _lr(name: str):
    def draw(preset, seeds, root):
        from .config import ConfigError
        from .sweeps import load_lr_check

        if preset != "fast":
            raise ConfigError("preset", preset, f"fast ({name} checks the fast preset at a lower lr)")
        return [(name, lr_check(*load_lr_check(name, seeds, root)))]

    return draw


def _fig10(preset, seeds, root):
    from .llm import fig10, load_results

    table, info = load_results("gpt2-xl", root=None if root is None else Path(root) / "llm")
    return [("fig10", fig10(table, f"{info['model']}, {info['prompts']} SST-2 prompts"))]


def _both(*names):
    return lambda preset, seeds, root: [x for n in names for x in SWEEP_FIGURES[n](preset, seeds, root)]


# name -> (preset, seeds, root) -> [(file stem, Figure)]; nothing trains
SWEEP_FIGURES = {
    "fig5": _one("fig5", fig5),
    "fig6": _fig6,
    "fig7": _fig7,
    **{f"fig7{p}": _panel(f"fig7{p}") for p in "abcde"},
    "fig7e_tasks": _one("fig7e", lambda sr: per_task_accuracy(sr, "beta=1")),
    "fig10": _fig10,
    "fig11": lambda preset, seeds, root: [("fig11", fig11())],
    "fig12": _fig12,
    "fig12_classes": _fig12_classes,
    **{f"{b}_lr": _lr(f"{b}_lr") for b in ("fig7a", "fig7b", "fig7c", "fig7d", "fig12", "fig16", "fig19", "fig22")},
    "fig13": _one("fig13", fig13),
    "fig14": lambda preset, seeds, root: [("fig14", fig14())],
    "fig15a": _panel("fig15a"),
    "fig15b": _panel("fig15b"),
    "fig18": _one("fig18", lambda sr: sweep_overlay(sr, ("acc", "loss"), log_y=("loss",))),
    "phase_diagram": _one("phase_diagram", phase_diagram),
}
SWEEP_FIGURES["fig15"] = _both("fig15a", "fig15b")


def _architecture(name: str):
    def draw(preset, seeds, root):
        from .architecture import ARCH_FIGURES

        return ARCH_FIGURES[name](preset, seeds, root)

    return draw


SWEEP_FIGURES.update({n: _architecture(n) for n in ("fig8", "fig9", "fig16", "fig16_paper", "fig17", "fig19", "fig20", "fig21", "fig22", "fig23")})
