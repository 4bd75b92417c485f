"""Print a run folder's headline figures for the city (mean over replicates).

    python scripts/headline.py RUN_DIR [RUN_DIR ...]

Registered population, registered urbanization, cumulative settlements since 2016 by
channel, incremental public-service cost, linkage transfer and fiscal gap in 2025, 2030
and 2035 — the table of "what changed and by how much" in docs/model.md is made with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

YEARS = (2025, 2030, 2035)


def headline(folder: Path) -> pd.DataFrame:
    """One row per headline figure, one column per year (city, mean over replicates)."""
    df = pd.read_csv(folder / "indicators.csv", keep_default_na=False)
    city = df[df.area == "panjin"]
    runs = city.replicate.nunique()

    def total(indicator: str, category: str | None = None, year: int = 0,
              cumulative: bool = False) -> float:
        sel = city.indicator == indicator
        if category is not None:
            sel &= city.category == category
        sel &= (city.year >= 2016) & (city.year <= year) if cumulative else city.year == year
        return city[sel].value.sum() / runs

    rows = {
        "registered population": lambda y: total("registered_population", "", y),
        "registered urbanization (%)": lambda y: 100 * total("registered_urbanization_rate",
                                                             "", y),
        "resident population": lambda y: total("resident_population", "", y),
    }
    for channel in ("town", "urban_district", "talent", "investment", "urban_village"):
        rows[f"settled since 2016: {channel}"] = (
            lambda y, c=channel: total("settlements", c, y, cumulative=True))
    rows["incremental cost (万元/yr)"] = lambda y: total("incremental_cost", None, y) / 1e4
    rows["linkage transfer (万元/yr)"] = lambda y: total("transfer_payment", "linkage", y) / 1e4
    rows["fiscal gap (万元/yr)"] = lambda y: total("fiscal_gap", "", y) / 1e4
    return pd.DataFrame({y: {k: f(y) for k, f in rows.items()} for y in YEARS})


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"## {arg}")
        table = headline(Path(arg))
        print("| figure | " + " | ".join(map(str, YEARS)) + " |")
        print("|---|" + "---:|" * len(YEARS))
        for name, row in table.iterrows():
            print(f"| {name} | " + " | ".join(f"{v:,.1f}" for v in row) + " |")
