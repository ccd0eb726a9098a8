"""Claims evaluated on stored runs: per rate, per seed and per reading, then one verdict per rate
(the words are defined in `icmeta.analysis.claims`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pandas as pd

from ...experiments.load import SweepRuns, load_gpu_check, load_main_rates, load_queue_runs, load_sweep
from ...experiments.sweeps import GPU_CHECKS, SWEEPS, seed_extension
from ...store.io import StoreError
from .. import readings as R
from ..summaries import ceilings_of, diverged_at, final_value
from .measures import FULL_PAIRS, NotMeasured
from .registry import CLAIMS, FIGURE_CLAIMS, Claim

Cells = dict[tuple[int, str], tuple[str, bool]]  # (seed, reading) -> (value shown, criterion holds)


def rate_runs(sweep: str, root=None, labels: tuple[str, ...] = ()) -> dict[str, SweepRuns]:
    """The stored runs a claim reads, per rate: ``fast`` (the ten seeds of the sweep's
    `seed_extension` where it holds every one of `labels` and is stored, else the sweep's
    three); ``lr 0.03`` (the sweep's learning-rate check); ``lr 0.01`` (the paper-rate queue's runs
    of `labels` where a GPU has trained them, else a GPU check on the sweep, or for the main
    result the queue's or the archived `paper` runs). A rate whose runs are not stored is left out."""
    if sweep == "main":
        return load_main_rates(root)
    more = seed_extension(sweep, labels)

    def at_fast():
        if more:
            try:
                return load_sweep(more, "fast", root=root)
            except StoreError:
                pass
        return load_sweep(sweep, "fast", root=root)

    def at_paper():
        try:  # the paper-rate queue's runs, once a GPU has trained them
            return load_queue_runs(sweep, labels, root=root)
        except StoreError:
            return next((load_gpu_check(n, root=None if root is None else f"{root}/gpu/{n}")
                         for n, c in GPU_CHECKS.items() if c.base == sweep), None)

    out = {}
    for rate, load in (("fast", at_fast),
                       ("lr 0.03", lambda: load_sweep(f"{sweep}_lr", "fast", root=root)
                        if f"{sweep}_lr" in SWEEPS else None),
                       ("lr 0.01", at_paper)):
        try:
            sr = load()
        except StoreError:
            sr = None
        if sr is not None:
            out[rate] = sr
    return out


@dataclass
class Result:
    """One claim at one rate: per seed and reading, (value shown, holds), and the verdict."""

    claim: Claim
    rate: str
    seeds: list[int] = field(default_factory=list)
    cells: Cells = field(default_factory=dict)  # the claim's own criterion
    base_cells: Cells = field(default_factory=dict)  # comparative claims: the base setting
    verdict: str = "not measured"
    steps: tuple[int, int] | None = None  # the shortest and the longest run read
    runs: str = ""  # the sweep whose runs were read (a seed extension names its own)
    note: str = ""  # e.g. the seeds left out because they diverged
    diverged: list[int] = field(default_factory=list)  # seeds left out: their training diverged

    def holds(self, seed: int, reading: str) -> bool:
        """The claim holds for this seed under this reading (and its base shows what goes)."""
        key = (seed, reading)
        return self.cells[key][1] and (key not in self.base_cells or self.base_cells[key][1])

    @property
    def base(self) -> str:
        """How many seeds' base setting shows what a comparative claim says goes ("" otherwise)."""
        if not self.base_cells or not self.seeds:
            return ""
        n = len(self.seeds)
        counts = {r: sum(self.base_cells[(s, r)][1] for s in self.seeds) for r in self.claim.readings}
        k = (f"{next(iter(counts.values()))}/{n}" if len(set(counts.values())) == 1
             else ", ".join(f"{r} {k}/{n}" for r, k in counts.items()))
        return f"{self.claim.base_shows}: {k}"

    @property
    def shown(self) -> str:
        """The verdict as a table shows it: with the number of seeds read where the words do not
        give it ("holds", "does not hold"), its note and the base count."""
        n = len(self.seeds)
        n = f"{n} seed{'s' if n > 1 else ''}" if self.verdict in ("holds", "does not hold") else ""
        extra = "; ".join(x for x in (n, self.note, self.base and f"base: {self.base}") if x)
        return f"{self.verdict} ({extra})" if extra else self.verdict


def verdict(cells: Cells, seeds: list[int], readings: tuple[str, ...]) -> str:
    """The verdict words (module doc) from per-seed, per-reading outcomes."""
    if not seeds:
        return "not measured"
    counts = {r: sum(cells[(s, r)][1] for s in seeds) for r in readings}
    n = len(seeds)
    if len(set(counts.values())) > 1:
        return "depends on the reading (" + ", ".join(f"{r}: {k}/{n}" for r, k in counts.items()) + ")"
    k = next(iter(counts.values()))
    return "holds" if k == n else "does not hold" if k == 0 else f"holds in {k} of {n} seeds"


def _left_out(claim: Claim, sr: SweepRuns, seeds: list[int]) -> tuple[list[int], list[int]]:
    """Seeds a claim cannot judge: those whose training diverged (loss NaN) in a setting it reads,
    and those that stopped before what it reads (the full-pairs level, the end of a level)."""
    needed = claim.settings or tuple(sr.labels)
    diverged = [s for s in seeds if any(diverged_at(sr.run(label, s)) is not None for label in needed)]
    short = [s for s in seeds if s not in diverged and claim.needs_full_pairs
             and any(final_value(sr.run(label, s).metrics) < FULL_PAIRS for label in needed)]
    short += [s for s in seeds if s not in diverged and claim.past and s not in short and any(
        final_value(sr.run(label, s).metrics) < ceilings_of(sr.run(label, s), s)[claim.past] + R.BAND
        for label in needed)]
    return diverged, short


def _seeds(n: list[int]) -> str:
    return f"seed{'s' if len(n) > 1 else ''} {', '.join(map(str, n))}"


def evaluate(claim: Claim, rates: dict[str, SweepRuns]) -> list[Result]:
    """The claim at every rate of `claim.rates` (`rate_runs` gives the runs). A comparative claim
    holds for a seed where its own criterion holds and its base shows what it says goes."""
    out = []
    for rate in claim.rates:
        res = Result(claim, rate)
        out.append(res)
        sr = rates.get(rate)
        if sr is None:
            continue
        missing = [label for label in claim.settings if label not in sr.labels]
        if missing:  # the rate was trained, but not at every setting the claim reads
            res.verdict = f"not measured (not trained at this rate: {', '.join(missing)})"
            continue
        needed = claim.settings or tuple(sr.labels)
        seeds = sorted({m.seed for m in sr.members if m.label == needed[0]})
        diverged, short = _left_out(claim, sr, seeds)
        seeds = [s for s in seeds if s not in diverged and s not in short]
        where = "the full-pairs level" if claim.needs_full_pairs else "the end of the level"
        if short and not seeds:
            last = max(sr.run(label, s).last_step for label in needed for s in short)
            training = any(sr.run(label, s).info.get("status") == "pending" for label in needed for s in short)
            res.verdict = (f"not measured (runs at step {last:,}, still training, before {where})" if training
                           else f"not measured (the runs end at {last:,} steps, before {where})")
            continue
        try:
            for s in seeds:
                for r in claim.readings:
                    reading = None if r == "none" else r
                    res.cells[(s, r)] = claim.measure(sr, s, reading)
                    if claim.base is not None:
                        res.base_cells[(s, r)] = claim.base(sr, s, reading)
        except NotMeasured as e:
            res.cells, res.base_cells, res.verdict = {}, {}, f"not measured ({e})"
            continue
        res.seeds, res.runs, res.diverged = seeds, sr.sweep.name, diverged
        read = [sr.run(label, s) for label in needed for s in seeds] or list(sr.runs)
        res.steps = (min(r.last_step for r in read), max(r.last_step for r in read))
        res.verdict = verdict({k: (v, res.holds(*k)) for k, (v, _) in res.cells.items()}, seeds, claim.readings)
        res.note = "; ".join(([f"{len(diverged)} more diverged: {_seeds(diverged)}"] if diverged else [])
                             + ([f"{len(short)} more ended before {where}: {_seeds(short)}"] if short else []))
    return out


def evaluate_all(keys: list[str] | None = None, root=None, runs: dict | None = None) -> list[Result]:
    """Every claim (or those of `keys`) at every rate, each sweep's runs read once (`runs`: a
    dict to keep them in across calls)."""
    claims = [CLAIMS[k] for k in keys] if keys else FIGURE_CLAIMS
    cache: dict[tuple[str, str | None], dict[str, SweepRuns]] = {} if runs is None else runs
    out = []
    for c in claims:
        key = (c.sweep, seed_extension(c.sweep, c.settings) if c.sweep != "main" else None)
        if key not in cache:
            cache[key] = rate_runs(c.sweep, root, c.settings)
        out += evaluate(c, cache[key])
    return out


def pause_sensitivity(root=None, rates: tuple[str, ...] = ("fast", "lr 0.03", "lr 0.01")) -> pd.DataFrame:
    """How each verdict that the pause rule (`icmeta.analysis.readings.flat_dwell`) reads moves when
    the rule's two bounds are halved and doubled, one at a time: one row per claim and rate
    measured, one column per rule."""
    keys = [k for k, c in CLAIMS.items() if c.measure.flat_rule or (c.base is not None and c.base.flat_rule)]
    rules = {"as stated": None, "slope bound ÷2": ("FLAT_FRACTION", 0.5), "slope bound ×2": ("FLAT_FRACTION", 2),
             "fit window ÷2": ("SLOPE_WINDOW", 0.5), "fit window ×2": ("SLOPE_WINDOW", 2)}
    cols: dict[str, dict] = {}
    runs: dict = {}
    for name, change in rules.items():
        with R.varied(*change) if change else contextlib.nullcontext():
            cols[name] = {(r.claim.key, r.rate): r.verdict for r in evaluate_all(keys, root, runs) if r.rate in rates}
    rows = [{"claim": k, "rate": rate, **{name: col[(k, rate)] for name, col in cols.items()}}
            for (k, rate) in cols["as stated"]
            if any(not col[(k, rate)].startswith("not measured") for col in cols.values())]
    return pd.DataFrame(rows)


def _kind(verdict: str) -> str:
    """A verdict's words without its counts: holds, holds in some seeds, does not hold, depends
    on the reading, not measured."""
    for words in ("holds in", "depends on the reading", "not measured"):
        if verdict.startswith(words):
            return "holds in some seeds" if words == "holds in" else words
    return verdict


def reading_sensitivity(root=None) -> pd.DataFrame:
    """How the verdicts of the claims that read plateaus move when each parameter of the readings
    (`icmeta.analysis.readings.PARAMETERS`) is halved and doubled, one at a time: one row per
    parameter and change, with how many claim × rate verdicts change their counts and how many
    change their words (holds, holds in some seeds, does not hold, depends on the reading), of
    those measured, and which change their words."""
    keys = [k for k, c in CLAIMS.items() if len(c.readings) > 1]
    runs: dict = {}

    def verdicts() -> dict:
        return {(r.claim.key, r.rate): r.verdict for r in evaluate_all(keys, root, runs) if r.seeds}

    base = verdicts()
    rows = []
    for name, (_, moves) in R.PARAMETERS.items():
        if name == "SLOPE_WINDOW":  # the pause rule only: `pause_sensitivity`
            continue
        for word, factor in (("÷2", 0.5), ("×2", 2)):
            stated = R.parameter(name)
            with R.varied(name, factor) as value:
                now = verdicts()
            counts = [k for k, v in base.items() if now.get(k) != v]
            words = [f"{k} ({rate}): {_kind(base[(k, rate)])} → {_kind(now.get((k, rate), 'not measured'))}"
                     for (k, rate) in counts if _kind(base[(k, rate)]) != _kind(now.get((k, rate), "not measured"))]
            rows.append({"parameter": name, "reading": R.moves_text(moves),
                         "as stated → varied": f"{stated:g} → {value:g} ({word})",
                         "counts change": f"{len(counts)} of {len(base)}",
                         "words change": f"{len(words)} of {len(base)}",
                         "which change their words": "; ".join(words) or "–"})
    return pd.DataFrame(rows)
