"""``indicators_summary.csv``: what many runs say about each indicator, labelled honestly.

Per scenario × year × area × indicator × category the summary gives the number of
runs, the mean, the 5th, 50th and 95th percentiles, the minimum and maximum, and
``band``: which interval a chart should shade.

- **Totals add up in the mean.** The mean is linear, so the mean of the city equals
  the sum of the areas' means and the mean of a total equals the sum of its
  categories' means. For every indicator with categories a row with category
  ``total`` summarizes each run's own total (the sum of its categories), so the
  band of a total is a band of totals, not a sum of bands. Percentiles do not
  add up; tables that must add up (the workbook) use the mean.
- **Bands say what they are.** With fewer than `sim.output.common.BAND_MIN_RUNS` runs
  the empirical 5th and 95th percentiles are no more than the extreme runs
  (fewer than one run is expected beyond each), so ``p5``/``p95`` are left empty
  and ``band`` is ``min-max``; from that many runs on ``band`` is ``p5-p95``.

Example
-------
>>> frame = pd.DataFrame({"scenario": "s", "replicate": [0, 1], "year": 2020,
...     "area": "panjin", "indicator": "births", "category": "", "value": [1.0, 3.0]})
>>> summarize(frame)[["runs", "mean", "p50", "band"]].to_dict("records")
[{'runs': 2, 'mean': 2.0, 'p50': 2.0, 'band': 'min-max'}]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.output.common import BAND_MIN_RUNS

TOTAL = "total"
KEYS = ["scenario", "year", "area", "indicator", "category"]
COLUMNS = [*KEYS, "runs", "mean", "p5", "p50", "p95", "min", "max", "band"]


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Summary over runs (the ``replicate`` column) of a tidy indicator table."""
    frame = frame.assign(category=frame.category.fillna(""))
    split = frame[frame.category != ""]
    totals = (split.groupby(["scenario", "replicate", "year", "area", "indicator"], sort=False)
              .value.sum().reset_index().assign(category=TOTAL))
    values = pd.concat([frame, totals[frame.columns]], ignore_index=True)
    grouped = values.groupby(KEYS, sort=False).value
    out = grouped.agg(runs="count", mean="mean", min="min", max="max")
    quantiles = grouped.quantile([0.05, 0.5, 0.95]).unstack()
    out["p5"], out["p50"], out["p95"] = (quantiles[q] for q in (0.05, 0.5, 0.95))
    few = out.runs < BAND_MIN_RUNS
    out.loc[few, ["p5", "p95"]] = np.nan
    out["band"] = np.where(few, "min-max", "p5-p95")
    out = out.reset_index()
    areas = load_areas()
    order = {a: i for i, a in enumerate((*areas.ids, areas.city_id))}
    out = out.assign(_area=out.area.map(order)).sort_values(
        ["scenario", "year", "_area", "indicator", "category"], kind="stable")
    return out[COLUMNS].reset_index(drop=True)


def band_limits(summary: pd.DataFrame) -> pd.DataFrame:
    """The ``low`` and ``high`` edge of each row's band (p5/p95 or min/max, as ``band``
    says), for charts."""
    wide = summary.band == "p5-p95"
    return pd.DataFrame({"low": summary.p5.where(wide, summary["min"]),
                         "high": summary.p95.where(wide, summary["max"])})
