"""The tables the book shows of evaluated claims: per chapter, per figure, per rate's runs, and
the seeds where the readings disagree."""

from __future__ import annotations

import pandas as pd

from .. import readings as R
from .evaluation import Result, evaluate_all
from .registry import FIGURE_CLAIMS


def claims_table(results: list[Result]) -> pd.DataFrame:
    """One row per claim: the figure, the paper's statement, the criterion, and one column per
    rate with its verdict (a comparative claim's base count beside it)."""
    rows = {}
    for r in results:
        row = rows.setdefault(r.claim.key, {"figure": r.claim.figure, "the paper": r.claim.paper,
                                            "measured per seed": r.claim.quantity, "criterion": r.claim.criterion})
        row[r.rate] = r.shown
    return pd.DataFrame(list(rows.values()))


def rates_table(results: list[Result]) -> pd.DataFrame:
    """Per sweep and rate the claims read: the seeds read by any claim (those whose training
    diverged named apart) and the training steps of the runs read, shortest to longest over every
    claim (a claim measured on a shorter run says so here)."""
    rows: dict[tuple[str, str], dict] = {}
    for r in results:
        if not r.seeds:
            continue
        row = rows.setdefault((r.runs, r.rate), {"seeds": set(), "diverged": set(), "lo": r.steps[0], "hi": r.steps[1]})
        row["seeds"] |= set(r.seeds)
        row["diverged"] |= set(r.diverged)
        row["lo"], row["hi"] = min(row["lo"], r.steps[0]), max(row["hi"], r.steps[1])
    out = []
    for (runs, rate), row in rows.items():
        div = sorted(row["diverged"] - row["seeds"])
        seeds = f"{len(row['seeds'])}" + (f" (and {len(div)} diverged: {', '.join(map(str, div))})" if div else "")
        out.append({"runs": runs, "rate": rate, "seeds": seeds,
                    "steps": "–".join(f"{s:,}" for s in dict.fromkeys((row["lo"], row["hi"])))})
    return pd.DataFrame(out)


def disagreements(results: list[Result]) -> pd.DataFrame:
    """Per claim and rate whose verdict depends on the reading: one row, and per reading the seeds
    where the claim holds under it (a comparative claim where its base shows the phase too)."""
    rows = []
    for r in results:
        if not r.verdict.startswith("depends"):
            continue
        row = {"claim": r.claim.paper, "rate": r.rate}
        for reading in r.claim.readings:
            ok = [s for s in r.seeds if r.holds(s, reading)]
            row[reading] = f"{len(ok)}/{len(r.seeds)}" + (f": seed{'s' if len(ok) > 1 else ''} "
                                                          f"{', '.join(map(str, ok))}" if ok else "")
        rows.append(row)
    return pd.DataFrame(rows)


def _keys(figures: tuple[str, ...]) -> list[str]:
    keys = [c.key for c in FIGURE_CLAIMS if c.figure in figures]
    if not keys:
        raise KeyError(f"no claim for {', '.join(figures)}; figures with claims: "
                       + ", ".join(dict.fromkeys(c.figure for c in FIGURE_CLAIMS)))
    return keys


def verdicts(*figures: str, root=None) -> pd.DataFrame:
    """The claims of the given figures (``"Fig. 7a"``), evaluated: one row per claim with the
    paper's statement, the criterion and the verdict at each rate (the table under a figure)."""
    t = claims_table(evaluate_all(_keys(figures), root))
    return t.drop(columns=["figure"]).rename(columns={"the paper": "the paper's claim"})


def chapter_table(*figures: str, root=None) -> pd.DataFrame:
    """The claims of a chapter's figures together (the table a chapter opens with): one row per
    claim with its figure, the paper's statement and the verdict at each rate; the criteria are
    in the claims tables under the figures (`verdicts`)."""
    return claims_table(evaluate_all(_keys(figures), root)).drop(columns=["measured per seed", "criterion"])


def agreement(results: list[Result]) -> pd.DataFrame:
    """Per rate, the claims measured that read plateaus (more than one reading) and how many of
    them every reading decides the same way."""
    rows = []
    for rate in dict.fromkeys(r.rate for r in results):
        read = [r for r in results if r.rate == rate and r.seeds and len(r.claim.readings) > 1]
        alike = sum(not r.verdict.startswith("depends") for r in read)
        rows.append({"rate": rate, "claims that read plateaus": len(read), "decided alike by every reading": alike,
                     "share": f"{alike / len(read):.0%}" if read else "–"})
    return pd.DataFrame(rows)
