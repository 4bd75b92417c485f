"""What every output of a run shares: the tidy table, orderings, replicate statistics,
money units and the run's context (scale, replicates, seeds, price base).

Charts, the workbook and the comparison report all summarize replicates the same
way: the **mean** over replicates (means of parts add up to the mean of the
total, so tables cross-foot) with a band that says honestly what it is — the
lowest and highest of the runs when there are fewer than `BAND_MIN_RUNS`, else the
5th–95th percentile.

Example
-------
>>> band_quantiles(3)
(0.0, 1.0)
>>> band_quantiles(40)
(0.05, 0.95)
>>> MONEY_UNITS["wan"].factor
10000.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from sim.areas import load_areas
from sim.output import labels
from sim.pipeline.indicators import COLUMNS

# The key city indicators of the workbook's summary sheet and the comparison report.
SUMMARY_INDICATORS = ("resident_population", "registered_population",
                      "resident_urbanization_rate", "registered_urbanization_rate",
                      "settlements", "residence_permit_holders", "public_service_cost",
                      "incremental_cost", "transfer_payment", "fiscal_gap")
# Years a compact table shows, where the run has them (five-year planning marks).
PREFERRED_YEARS = (2020, 2025, 2030, 2035)
# Below this many runs a 5th–95th percentile band is in effect the lowest and highest
# run (quantiles interpolate between the two extremes), so the band says min–max.
BAND_MIN_RUNS = 20
# Below this scale an area's figures move in coarse steps (1/scale persons per agent).
SMALL_SCALE = 0.2
# Money in every output is yuan at the prices of this year (the base year's prices).
PRICE_BASE_YEAR = 2015
# The year the opinion (盘政发〔2015〕53号, issued 2015-12-15) was first in force; charts
# mark it. A calendar fact of the document, not a behaviour parameter.
REFORM_START_YEAR = 2016


@dataclass(frozen=True)
class MoneyUnit:
    """How money is shown: divide yuan by ``factor``; label ``label_key``; Excel format."""

    factor: float
    label_key: str
    number_format: str


MONEY_UNITS = {
    "yuan": MoneyUnit(1.0, "unit_yuan", "#,##0"),
    "wan": MoneyUnit(1e4, "unit_10k_yuan", "#,##0.00"),
    "yi": MoneyUnit(1e8, "unit_100m_yuan", "#,##0.0000"),
}


def tidy(indicators: pd.DataFrame) -> pd.DataFrame:
    """The indicator table with an empty-string `category` and integer years.

    Raises ``ValueError`` naming the missing columns if it is not an indicator table.
    """
    missing = [c for c in COLUMNS if c not in indicators.columns]
    if missing:
        raise ValueError(f"indicator table lacks column(s): {', '.join(missing)}")
    df = indicators[list(COLUMNS)].copy()
    df["category"] = df["category"].fillna("").astype(str)
    df["year"] = df["year"].astype(int)
    df["replicate"] = df["replicate"].astype(int)
    df["value"] = df["value"].astype(float)
    return df


def area_order(area_ids: Sequence[str]) -> list[str]:
    """The areas present, city first, then in the order of ``areas.toml``."""
    areas = load_areas()
    known = [a for a in (areas.city_id, *areas.ids) if a in set(area_ids)]
    return known + sorted(set(area_ids) - set(known))


def category_order(indicator: str, present: Sequence[str]) -> list[str]:
    """The categories present, labelled ones in label-table order, then the rest."""
    table = labels.CATEGORY_TABLES.get(indicator, {})
    known = [c for c in table if c in set(present)]
    return known + sorted(set(present) - set(known) - {""})


def gap_payers(manifest: dict) -> list[str] | None:
    """The payers whose incremental cost the model's fiscal gap counts, if the manifest
    gives a plain list for ``fiscal.gap_payers``; else None."""
    value = manifest.get("parameters", {}).get("fiscal.gap_payers")
    value = value.get("value") if isinstance(value, dict) else value
    return [str(v) for v in value] if isinstance(value, list) and value else None


def band_quantiles(runs: int) -> tuple[float, float]:
    """The quantiles a band spans: min–max below `BAND_MIN_RUNS` runs, else 5–95%."""
    return (0.0, 1.0) if runs < BAND_MIN_RUNS else (0.05, 0.95)


def band_text(runs: int, lang: str) -> str:
    """What a band of ``runs`` replicates spans, in words ("lowest–highest of 3 runs")."""
    return labels.text("band_minmax" if runs < BAND_MIN_RUNS else "band_pct", lang, n=runs)


def summarize(df: pd.DataFrame, indicator: str, area: str,
              by_category: bool = False) -> pd.DataFrame:
    """Mean and band (see `band_quantiles`) over replicates, per year (and category).

    Categories are summed within a replicate unless ``by_category``. The result
    has columns ``year`` (, ``category``), ``mean``, ``lo``, ``hi``; it is empty
    when the run lacks the indicator for that area.
    """
    sub = df[(df["indicator"] == indicator) & (df["area"] == area)]
    keys = ["year", "category"] if by_category else ["year"]
    per_rep = sub.groupby(["replicate", *keys], as_index=False)["value"].sum()
    grouped = per_rep.groupby(keys)["value"]
    lo, hi = band_quantiles(int(df["replicate"].nunique()) if len(df) else 1)
    out = pd.DataFrame({"mean": grouped.mean(), "lo": grouped.quantile(lo),
                        "hi": grouped.quantile(hi)})
    return out.reset_index()


def seed_text(manifest: dict, lang: str = "en") -> str:
    """The run's seeds, short: plain seeds listed (at most four shown), or the common
    SeedSequence entropy with the replicates' spawn keys, as the runner records them.

    >>> seed_text({"seeds": [{"entropy": 7, "spawn_key": [0]}, {"entropy": 7, "spawn_key": [1]}]})
    '7 (spawn keys 0–1)'
    >>> seed_text({"seeds": [{"entropy": 7, "spawn_key": [0]}]}, "zh")
    '7（派生序号 0）'
    >>> seed_text({"seeds": [1, 2, 3, 4, 5]})
    '1, 2 … 5'
    """
    seeds = manifest.get("seeds") or ([manifest["seed"]] if "seed" in manifest else ["?"])
    if all(isinstance(s, dict) for s in seeds):
        entropies = {str(s.get("entropy", "?")) for s in seeds}
        keys = [".".join(map(str, s.get("spawn_key") or [])) for s in seeds]
        if len(entropies) == 1 and all(keys):
            spans = keys[0] if len(keys) == 1 else f"{keys[0]}–{keys[-1]}"
            return labels.text("spawn_keys", lang, seed=entropies.pop(), keys=spans)
        seeds = [f"{s.get('entropy', '?')}/{k}" if k else str(s.get("entropy", "?"))
                 for s, k in zip(seeds, keys, strict=True)]
    shown = [str(s) for s in seeds]
    return ", ".join(shown) if len(shown) <= 4 else f"{shown[0]}, {shown[1]} … {shown[-1]}"


@dataclass(frozen=True)
class RunContext:
    """What a reader must know to read a run's numbers: scenario, scale, runs, seeds."""

    scenario: str
    description: str
    scale: float | None
    replicates: int
    seeds: str
    version: str
    commit: str | None
    start_year: int | None
    end_year: int | None

    @classmethod
    def of(cls, manifest: dict, replicates: int, lang: str = "en") -> RunContext:
        """The context of a run from its manifest (``replicates`` counted in the data)."""
        scale = manifest.get("scale")
        return cls(str(manifest.get("scenario", "?")), str(manifest.get("description", "")),
                   float(scale) if scale is not None else None, replicates,
                   seed_text(manifest, lang), str(manifest.get("version", "?")),
                   manifest.get("git_commit"), manifest.get("start_year"),
                   manifest.get("end_year"))

    def small_scale(self) -> bool:
        """Whether area figures are too coarse to read small changes (scale < 0.2)."""
        return self.scale is not None and self.scale < SMALL_SCALE

    def scale_text(self, lang: str) -> str:
        """"scale 0.05 (one agent per 20 persons)", or "scale unknown"."""
        if self.scale is None:
            return labels.text("scale_unknown", lang)
        return labels.text("scale_is", lang, scale=f"{self.scale:g}",
                           persons=f"{1 / self.scale:,.0f}")

    def runs_text(self, lang: str) -> str:
        """"1 run (seed …)" or "3 runs (seeds …); values are means, bands span …"."""
        if self.replicates == 1:
            return labels.text("runs_one", lang, seeds=self.seeds)
        return labels.text("runs_many", lang, n=self.replicates, seeds=self.seeds,
                           band=band_text(self.replicates, lang))

    def scenario_label(self, lang: str) -> str:
        """The scenario's name in the language (shipped scenarios are translated)."""
        return labels.scenario(self.scenario, lang)


def selected_years(years: Sequence[int]) -> list[int]:
    """2020, 2025, 2030, 2035 where present; else the first, middle and last year.

    >>> selected_years(range(2015, 2031))
    [2020, 2025, 2030]
    >>> selected_years([2016, 2017, 2018, 2019])
    [2016, 2018, 2019]
    """
    ordered = sorted(set(years))
    chosen = [y for y in PREFERRED_YEARS if y in ordered]
    if chosen:
        return chosen
    return sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]})
