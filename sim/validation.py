"""Model vs observed: the figures of ``sim/data/observations.toml`` and how a run compares.

Every observed figure the model can produce is listed once, with its source. Its ``role``
in a run depends on the calibration set the run used (``run.calibration``,
`sim.scenario.calibrated`): a figure of a year up to the set's ``through`` is a
``calibration`` target (the free parameters were fitted to it), a later one is
``out_of_sample`` (never used in fitting: the backtest of the forecast). The ``forecast``
set is fitted to every figure to 2023 but the held-out ones; the ``backtest`` set to those up
to 2020.

A figure may be a level in a year or a change between two years (``change_from``), and may
be flagged ``informed_base_data`` when the assumed 2015 base data were set with it in view
(no 2015 figure exists): its level then is not a clean out-of-sample test, its change is.
A ``held_out`` figure (added after both sets were fitted) is out of sample for every set.
Each out-of-sample figure is also compared with the naive forecast a planner would make
without the model: the trend of the previous observations the set was fitted to,
extrapolated (`naive_forecast`), so that both forecasts start from the same figures.

Example
-------
>>> obs = load_observations()
>>> sorted({role(o, through=2020) for o in obs})
['calibration', 'out_of_sample']
"""

from __future__ import annotations

import sys
import tomllib
from importlib import resources
from typing import Any, TextIO

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.pipeline.indicators import RATES

ROLES = ("calibration", "out_of_sample")

# derived indicators: name -> (numerator, denominator, multiplier), per 1,000 for crude rates
CRUDE_RATES = {
    "crude_birth_rate": ("births", "resident_population", 1000.0),
    "crude_death_rate": ("deaths", "resident_population", 1000.0),
}


def load_observations() -> list[dict[str, Any]]:
    """The observed figures (``observations.toml``), each a dict with indicator, area, year,
    observed, tolerance, source and optional change_from / informed_base_data / held_out."""
    text = resources.files("sim.data").joinpath("observations.toml").read_text("utf-8")
    return tomllib.loads(text)["observation"]


def role(obs: dict[str, Any], through: int | None) -> str:
    """``calibration`` if a calibration fitted to the figures up to ``through`` used this
    one, else ``out_of_sample`` (every figure is out of sample when ``through`` is None:
    parameters not fitted by a packaged calibration set, and a ``held_out`` one always:
    published figures added after the sets were fitted)."""
    fitted = through is not None and obs["year"] <= through and not obs.get("held_out")
    return ROLES[0] if fitted else ROLES[1]


def _members(area: str) -> list[str]:
    """The model areas whose sum a reported area is (a statistical unit such as
    ``dawa_district`` = dawa + liaodongwan)."""
    areas = load_areas()
    if area == areas.city_id or area in areas.ids:
        return [area]
    return [a for a, u in zip(areas.ids, areas.statistical_unit, strict=True) if u == area]


def unit_value(totals: pd.Series, year: int, area: str, indicator: str) -> float | None:
    """An indicator of a reported area in a year, from a series indexed by (year, area,
    indicator): sums of its member areas, rates rebuilt from their sums."""
    members = _members(area)

    def total(name: str) -> float | None:
        try:
            return float(sum(totals.loc[(year, a, name)] for a in members))
        except KeyError:
            return None

    if indicator in RATES or indicator in CRUDE_RATES:
        num_name, den_name, scale = (*RATES[indicator], 1.0) if indicator in RATES \
            else CRUDE_RATES[indicator]
        num, den = total(num_name), total(den_name)
        return None if num is None or not den else scale * num / den
    return total(indicator)


def observation_value(totals: pd.Series, obs: dict[str, Any]) -> float | None:
    """The model's value of one observation: a level, or a change since ``change_from``."""
    value = unit_value(totals, obs["year"], obs["area"], obs["indicator"])
    if value is None or "change_from" not in obs:
        return value
    before = unit_value(totals, obs["change_from"], obs["area"], obs["indicator"])
    return None if before is None else value - before


def fitted_through(manifest: dict[str, Any]) -> int | None:
    """The last year of the figures the run's calibration set was fitted to, from a run's
    manifest (None for a run without one)."""
    calibration = manifest.get("calibration")
    return None if calibration is None else calibration["through"]


def naive_forecast(obs: dict[str, Any], observations: list[dict[str, Any]],
                   through: int | None = None) -> float | None:
    """The trend a planner would extrapolate without a model: from the two latest earlier
    observations of the same indicator and area (levels only), a straight line; from one,
    no change. None when there is no earlier observation.

    With ``through`` (the run's calibration set), only the figures that set was fitted to
    count as known: the trend gets the information the model got, no more. Without it, a
    backtest's 2022 trend would be drawn through the 2021 figure the model never saw (a
    one-year-ahead forecast against the model's two-year-ahead one)."""
    if "change_from" in obs:
        return 0.0  # the naive forecast of a change is no change
    earlier = sorted((o["year"], o["observed"]) for o in observations
                     if o["indicator"] == obs["indicator"] and o["area"] == obs["area"]
                     and "change_from" not in o and o["year"] < obs["year"]
                     and (through is None or role(o, through) == "calibration"))
    if not earlier:
        return None
    if len(earlier) == 1:
        return earlier[0][1]
    (y0, v0), (y1, v1) = earlier[-2:]
    return v1 + (v1 - v0) / (y1 - y0) * (obs["year"] - y1)


def totals_by_run(frame: pd.DataFrame) -> pd.DataFrame:
    """Indicator totals (category "") indexed by (year, area, indicator), one column per run
    (scenario, replicate)."""
    plain = frame[frame.category.fillna("") == ""]
    return plain.pivot_table(index=["year", "area", "indicator"],
                             columns=["replicate"], values="value", aggfunc="first")


def validation_table(frame: pd.DataFrame, through: int | None,
                     observations: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """Model vs observed for every observation, with its role for a calibration fitted to
    the figures up to ``through`` (`role`); the model value is the mean over the runs in
    ``frame`` (with the 5th and 95th percentiles when there are several), the naive trend
    forecast beside it for out-of-sample rows."""
    observations = load_observations() if observations is None else observations
    runs = totals_by_run(frame)
    out = []
    for obs in observations:
        values = [observation_value(runs[c], obs) for c in runs.columns]
        values = [v for v in values if v is not None]
        model = float(np.mean(values)) if values else None
        kind = role(obs, through)
        naive = naive_forecast(obs, observations, through) if kind == "out_of_sample" else None
        error = None if model is None else model - obs["observed"]
        out.append({
            "role": kind, "indicator": obs["indicator"], "area": obs["area"],
            "year": obs["year"], "change_from": obs.get("change_from"),
            "observed": obs["observed"], "model": model,
            "model_p5": float(np.percentile(values, 5)) if len(values) > 1 else None,
            "model_p95": float(np.percentile(values, 95)) if len(values) > 1 else None,
            "runs": len(values), "error": error,
            "relative_error": None if error is None or "change_from" in obs
            else error / obs["observed"],
            "naive_forecast": naive,
            "naive_error": None if naive is None else naive - obs["observed"],
            "tolerance": obs.get("tolerance"),
            "informed_base_data": bool(obs.get("informed_base_data", False)),
            "source": obs["source"],
        })
    return pd.DataFrame(out)


def out_of_sample_score(table: pd.DataFrame) -> dict[str, int]:
    """How the model's out-of-sample figures compare with the naive trend's, over the rows
    of `validation_table` that have both (a model value and a naive forecast): how many
    each gets within the figure's tolerance, and on how many the model is the nearer.

    >>> t = pd.DataFrame({"role": ["out_of_sample"] * 2, "model": [10.0, 30.0],
    ...                   "naive_forecast": [12.0, 20.0], "observed": [10.5, 21.0],
    ...                   "tolerance": [1.0, 2.0]})
    >>> out_of_sample_score(t)
    {'figures': 2, 'model_within': 1, 'naive_within': 1, 'model_nearer': 1}
    """
    rows = table[(table.role == "out_of_sample") & table.model.notna()
                 & table.naive_forecast.notna()]
    model = (rows.model - rows.observed).abs()
    naive = (rows.naive_forecast - rows.observed).abs()
    return {"figures": len(rows), "model_within": int((model <= rows.tolerance).sum()),
            "naive_within": int((naive <= rows.tolerance).sum()),
            "model_nearer": int((model < naive).sum())}


def _format_value(indicator: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if indicator.endswith("_urbanization_rate"):
        return f"{100 * value:.1f}%"
    if indicator in CRUDE_RATES:
        return f"{value:.2f}‰"
    return f"{value:,.0f}"


def print_validation(table: pd.DataFrame, out: TextIO | None = None) -> None:
    """The validation table on screen (``out``, default the current ``sys.stderr``),
    calibration targets and out-of-sample checks apart."""
    out = sys.stderr if out is None else out  # not bound at import: stderr may be replaced
    for role, title in (("calibration", "calibration targets (fitted: a fit is not a test)"),
                        ("out_of_sample", "out-of-sample checks (never fitted), "
                                          "with the naive trend forecast")):
        rows = table[table.role == role]
        if rows.empty:
            continue
        print(f"{title}:", file=out)
        for r in rows.itertuples():
            what = f"{r.indicator} {r.area} {r.year}"
            if r.change_from is not None and not pd.isna(r.change_from):
                what = f"{r.indicator} {r.area} {int(r.change_from)}→{r.year} (change)"
            if r.model is None or pd.isna(r.model):
                status = "model –"
            else:
                status = f"model {_format_value(r.indicator, r.model)}"
                if r.relative_error is not None and not pd.isna(r.relative_error):
                    status += f" ({100 * r.relative_error:+.1f}%)"
            naive = ""
            if role == "out_of_sample" and r.naive_forecast is not None \
                    and not pd.isna(r.naive_forecast):
                naive = f"  naive {_format_value(r.indicator, r.naive_forecast)}"
            flag = "  [level informed the 2015 base data]" if r.informed_base_data else ""
            print(f"  {what:<58} observed {_format_value(r.indicator, r.observed):>10}  "
                  f"{status}{naive}{flag}", file=out)
        if role == "out_of_sample":
            score = out_of_sample_score(table)
            if score["figures"]:
                print(f"  of the {score['figures']} with a naive forecast: within tolerance "
                      f"model {score['model_within']}, naive {score['naive_within']}; "
                      f"model nearer on {score['model_nearer']}", file=out)
