"""Parameter uncertainty: runs drawn from the calibration's posterior sample.

The posterior sample is a CSV file (the calibration set's, ``sim/data/posterior.csv`` for
``forecast``,
by default): one row per parameter set, columns named by dotted parameter paths
(``behaviour.settlement.action_rate``) and an optional ``weight`` column.
``hukou-sim run --posterior N`` draws N rows (with probability proportional to
``weight`` when given; without replacement when unweighted and N is at most the
number of rows) and runs each with every replicate, so the bands of the summary
cover both the parameters' uncertainty and the model's randomness.

Run ``k = draw × replicates + replicate`` is written as replicate ``k`` with its own
random stream (`sim.model.replicate_seed`); the manifest's ``posterior``
entry records the file, the rows drawn and which run used which row.

Example
-------
>>> from sim.scenario import load_defaults
>>> import tempfile, pathlib
>>> f = pathlib.Path(tempfile.mkdtemp()) / "post.csv"
>>> _ = f.write_text("behaviour.settlement.action_rate\\n0.2\\n0.3\\n")
>>> draws = draw_posterior(load_defaults().with_overrides({"run.replicates": 2}), 2, f)
>>> len(draws.experiments), draws.record["draws"]
(4, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments import Experiment
from sim.scenario import Scenario, ScenarioError
from sim.study import StudyError

WEIGHT = "weight"
# Extra entropy word for the draw of posterior rows, so that it never shares a stream
# with a replicate (whose streams are the root seed's spawned children).
_DRAW_TAG = 0x706F73  # "pos"


class PosteriorError(StudyError):
    """The posterior sample is missing or malformed (one line: file, row or column,
    what is allowed)."""


@dataclass(frozen=True)
class PosteriorDraws:
    """The experiments of a posterior run and what the manifest records about them."""

    experiments: list[Experiment]
    record: dict[str, Any]


def load_posterior(path: Path, scenario: Scenario) -> pd.DataFrame:
    """Read and check a posterior sample: known parameter columns, finite positive weights,
    every row a valid override of ``scenario``."""
    if not path.is_file():
        raise PosteriorError(f"{path}: no posterior sample there; run the calibration that "
                             "writes it, or give one with --posterior-file FILE (CSV: one row "
                             "per parameter set, columns named by dotted parameter paths, "
                             "optional 'weight')")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise PosteriorError(f"{path}: not a readable CSV file ({e})") from None
    names = [c for c in table.columns if c != WEIGHT]
    if not names or table.empty:
        raise PosteriorError(f"{path}: needs at least one parameter column and one row")
    known = set(scenario.parameter_names())
    for c in names:
        if c not in known:
            raise PosteriorError(f"{path}: column {c!r} is not a parameter (columns are dotted "
                                 "parameter paths such as behaviour.settlement.action_rate, "
                                 f"or {WEIGHT!r})")
    if WEIGHT in table:
        w = pd.to_numeric(table[WEIGHT], errors="coerce")
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise PosteriorError(f"{path}: column {WEIGHT!r}: allowed: finite numbers >= 0, "
                                 "not all zero")
    for i, row in enumerate(table[names].itertuples(index=False), start=2):
        try:
            scenario.with_overrides(dict(zip(names, row, strict=True)))
        except ScenarioError as e:
            raise PosteriorError(f"{path}: line {i}: {e.field}: {e.problem}") from None
    return table


def draw_posterior(scenario: Scenario, draws: int, path: Path | None = None
                   ) -> PosteriorDraws:
    """``draws`` parameter sets from the posterior sample (default: that of the scenario's
    calibration set) × the scenario's replicates."""
    if path is None:
        if scenario.calibration is None:
            raise PosteriorError("the scenario has no run.calibration setting (custom "
                                 "defaults folder?); give a posterior sample with "
                                 "--posterior-file FILE")
        path = scenario.calibration.posterior
    path = Path(path)
    table = load_posterior(path, scenario)
    names = [c for c in table.columns if c != WEIGHT]
    rng = np.random.default_rng([scenario.run.seed, _DRAW_TAG])
    n = len(table)
    if WEIGHT in table:
        w = table[WEIGHT].to_numpy(float)
        rows = rng.choice(n, size=draws, replace=True, p=w / w.sum())
    else:
        rows = rng.choice(n, size=draws, replace=draws > n)
    replicates = scenario.run.replicates
    experiments, runs, drawn = [], [], []
    for d, row in enumerate(rows.tolist()):
        values = tuple((c, table[c].iloc[row].item()) for c in names)
        drawn.append(dict(values))
        for r in range(replicates):
            k = d * replicates + r
            experiments.append(Experiment(f"d{d:05d}-r{r:05d}", k, k, values))
            runs.append({"replicate": k, "draw": d, "posterior_row": row})
    record = {"file": str(path), "rows_available": n, "draws": draws,
              "replicates_per_draw": replicates, "weighted": WEIGHT in table,
              "with_replacement": bool(WEIGHT in table or draws > n),
              "parameters": names, "values": drawn, "runs": runs}
    return PosteriorDraws(experiments, record)
