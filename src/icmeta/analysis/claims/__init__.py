"""The paper's quantitative claims as code: each one measured per seed on stored runs, at every
rate it was trained at, under every reading of a plateau, against a criterion stated before
looking.

- `measures` and `circuit_measures`: what a claim measures of one seed (a small dataclass per
  kind: plateaus, levels, times, attention metrics, heads);
- `registry`: the paper's statements as data (`Claim`, `FIGURE_CLAIMS`), comparative ones with
  the base setting they read;
- `evaluation`: the runs each rate reads and the verdict per rate;
- `tables`: what the book shows.

A verdict per rate:

- **holds**: every seed, under every reading;
- **holds in k of n seeds**: the same k under every reading;
- **does not hold**: no seed, under any reading;
- **depends on the reading**: the readings disagree (the table shows each reading's count);
- **not measured**: the runs are not stored at that rate, miss a setting the claim needs, or
  stop before what it reads.

A seed whose training diverged (its loss became NaN) in a setting a claim reads is left out of
that claim's count, and the verdict says how many did. The readings are
`icmeta.analysis.readings.READINGS`; claims about a quantity that needs no reading (a final
level, a flat time near a level, a first step) have one verdict.
"""

from .circuit_measures import RLA, Metric, MetricsSwitch, OnePair, Roles, Transient
from .evaluation import Result, evaluate, evaluate_all, pause_sensitivity, rate_runs, reading_sensitivity, verdict
from .measures import (ABOUT, ABOVE, FULL_PAIRS, NEAR, AnyPlateau, AtStep, CeilingGap, DeltaAccRule, Dwell, FinalNear,
                       FirstPlateauFalls, FirstPlateauNear, LabelMean, LossDrops, Measure, NotMeasured, OneRise, Pause,
                       Plateaus, ReachMonotone, ReachOrder, ReachRatio)
from .registry import CLAIMS, FIGURE_CLAIMS, RATES, Claim
from .tables import agreement, chapter_table, claims_table, disagreements, rates_table, verdicts

__all__ = [
    "ABOUT", "ABOVE", "AnyPlateau", "AtStep", "CLAIMS", "CeilingGap", "Claim", "DeltaAccRule", "Dwell",
    "FIGURE_CLAIMS", "FULL_PAIRS", "FinalNear", "FirstPlateauFalls", "FirstPlateauNear", "LabelMean",
    "LossDrops", "Measure", "Metric", "MetricsSwitch", "NEAR", "NotMeasured", "OnePair", "OneRise", "Pause",
    "Plateaus", "RATES", "RLA", "ReachMonotone", "ReachOrder", "ReachRatio", "Result", "Roles", "Transient",
    "agreement", "chapter_table", "claims_table", "disagreements", "evaluate", "evaluate_all",
    "pause_sensitivity", "rate_runs", "reading_sensitivity", "rates_table", "verdict", "verdicts"
]
