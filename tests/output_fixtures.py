"""Synthetic run folders for the output tests.

TEST FIXTURE DATA: every number here is made up to look plausible; none of it is
a model result, a statistic or a calibration target.

Example
-------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = write_run(Path(tmp) / "a", scenario="fixture_a", replicates=3)
...     sorted(p.name for p in run.iterdir())
['indicators.csv', 'manifest.json', 'run_complete.json']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.pipeline.indicators import COLUMNS
from sim.runner import COMPLETE_MARKER

MONEY = ("public_service_cost", "public_service_cost_by_payer", "incremental_cost",
         "transfer_payment", "fiscal_gap")
CHANNELS = ("town", "urban_district", "talent", "investment", "urban_village")
# Made-up yearly cost per user (yuan). "community_clinic_pilot" has no label on
# purpose: outputs must fall back to the raw name.
SERVICES = {"compulsory_education": 9000.0, "basic_public_health": 1200.0,
            "housing_security": 2500.0, "minimum_living_allowance": 1800.0,
            "community_clinic_pilot": 300.0}
PAYER_SHARES = {"central": 0.2, "province": 0.15, "city": 0.35, "county": 0.3}
MECHANISMS = {"linkage": 0.55, "equalization": 0.25, "county_guarantee": 0.1}
GAP_PAYERS = ["city", "county"]     # as the model's `fiscal.gap_payers` default


def make_indicators(scenario: str = "fixture_a", replicates: int = 1,
                    years: Sequence[int] = range(2015, 2021), money: bool = True,
                    settle_boost: float = 1.0, area_ids: Sequence[str] | None = None,
                    ) -> pd.DataFrame:
    """A tidy indicator table shaped like a run's ``indicators.csv`` (made-up numbers)."""
    areas = load_areas()
    ids = list(area_ids) if area_ids is not None else list(areas.ids)
    base_pop = np.linspace(300_000, 80_000, len(ids))
    rows: list[tuple] = []
    for rep in range(replicates):
        rng = np.random.default_rng(1000 + rep)
        for a, area_id in enumerate(ids):
            resident, registered = base_pop[a], base_pop[a] * 0.93
            for t, year in enumerate(years):
                noise = 1 + rng.normal(0, 0.01)
                resident *= 1.004 * noise
                registered *= 1.002 + 0.004 * settle_boost
                r_urban, g_urban = 0.62 + 0.012 * t, 0.48 + 0.015 * t * settle_boost
                settled = {c: float(round((400 - 60 * i) * settle_boost * noise * (1 + t / 5)))
                           for i, c in enumerate(CHANNELS)}
                permits = float(round(resident * (0.04 + 0.004 * t) * noise))
                users = {s: float(round(permits * 0.4 + sum(settled.values()) * (t + 1)))
                         for s in SERVICES}
                cost = {s: users[s] * unit for s, unit in SERVICES.items()}
                incr = {s: round(cost[s] * 0.3, 2) for s in SERVICES}
                transfer = {m: round(sum(incr.values()) * share * 0.8 * noise, 2)
                            for m, share in MECHANISMS.items()}
                values: list[tuple[str, str, float]] = [
                    ("resident_population", "", round(resident)),
                    ("registered_population", "", round(registered)),
                    ("resident_urban_population", "", round(resident * r_urban)),
                    ("registered_urban_population", "", round(registered * g_urban)),
                    ("resident_urbanization_rate", "", r_urban),
                    ("registered_urbanization_rate", "", g_urban),
                    ("residence_permit_holders", "", permits),
                    ("births", "", round(resident * 0.007)),
                    ("deaths", "", round(resident * 0.006)),
                    ("arrivals", "", round(resident * 0.02)),
                    ("departures", "", round(resident * 0.017)),
                ]
                values += [("settlements", c, v) for c, v in settled.items()]
                values += [("service_users", s, v) for s, v in users.items()]
                if money:
                    total = sum(cost.values())
                    values += [("public_service_cost", s, v) for s, v in cost.items()]
                    values += [("public_service_cost_by_payer", p, round(total * share, 2))
                               for p, share in PAYER_SHARES.items()]
                    incr_by_payer = {p: round(sum(incr.values()) * share, 2)
                                     for p, share in PAYER_SHARES.items()}
                    values += [("incremental_cost", s, v) for s, v in incr.items()]
                    values += [("incremental_cost_by_payer", p, v)
                               for p, v in incr_by_payer.items()]
                    values += [("transfer_payment", m, v) for m, v in transfer.items()]
                    borne = sum(incr_by_payer[p] for p in GAP_PAYERS)
                    values.append(("fiscal_gap", "", round(borne - transfer["linkage"], 2)))
                rows += [(scenario, rep, year, area_id, ind, cat, float(v))
                         for ind, cat, v in values]
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    city = _city_rows(df, areas.city_id)
    return pd.concat([df, city], ignore_index=True)


def _city_rows(df: pd.DataFrame, city_id: str) -> pd.DataFrame:
    """City totals: sums over areas, rates recomputed from the urban populations."""
    keys = ["scenario", "replicate", "year", "indicator", "category"]
    city = df.groupby(keys, as_index=False)["value"].sum()
    city["area"] = city_id
    totals = city[city["category"] == ""]
    wide = totals.set_index(keys[:3] + ["indicator"])["value"].unstack()
    for rate, urban, pop in (
            ("resident_urbanization_rate", "resident_urban_population", "resident_population"),
            ("registered_urbanization_rate", "registered_urban_population",
             "registered_population")):
        ratio = (wide[urban] / wide[pop]).rename("ratio").reset_index()
        mask = city["indicator"] == rate
        merged = city[mask].merge(ratio, on=keys[:3], how="left")
        city.loc[mask, "value"] = merged["ratio"].to_numpy()
    return city[list(COLUMNS)]


def write_run(folder: Path, scenario: str = "fixture_a", replicates: int = 1,
              years: Sequence[int] = range(2015, 2021), money: bool = True,
              settle_boost: float = 1.0, area_ids: Sequence[str] | None = None) -> Path:
    """Write ``indicators.csv`` and ``manifest.json`` of a made-up run into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    df = make_indicators(scenario, replicates, years, money, settle_boost, area_ids)
    df.to_csv(folder / "indicators.csv", index=False)
    manifest = {
        "scenario": scenario,
        "description": f"TEST FIXTURE {scenario}: made-up numbers, not a model run",
        "seeds": [20151215 + r for r in range(replicates)],
        "replicates": replicates,
        "start_year": min(years),
        "end_year": max(years),
        "version": "0.0.0-fixture",
        "parameters": {
            "policy.urban_district.insurance_years": {
                "value": 0, "unit": "years",
                "source": "居住证暂行条例 Art. 16 caps it at 3",
                "doc": "Years of urban social insurance that clause 五 may require."},
            "services.unit_cost.compulsory_education": {
                "value": SERVICES["compulsory_education"], "unit": "yuan/person/year",
                "assumption": "test fixture value",
                "doc": "Yearly cost of basic public education per pupil."},
            "fiscal.gap_payers": {
                "value": GAP_PAYERS, "unit": "payers", "assumption": "test fixture value",
                "doc": "Payers whose incremental cost counts in the fiscal gap."},
            "fiscal.linkage.share": {
                "value": {"2016": 0.5, "2019": 0.55}, "unit": "share",
                "assumption": "test fixture value",
                "doc": "Share of incremental cost that the linkage transfer covers."},
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
    (folder / COMPLETE_MARKER).write_text(json.dumps({"files": ["indicators.csv",
                                                                 "manifest.json"]}),
                                          encoding="utf-8")     # a complete run folder
    return folder


def read_run(folder: Path) -> tuple[pd.DataFrame, dict]:
    """The indicator table and manifest of a run folder, as the outputs read them."""
    df = pd.read_csv(folder / "indicators.csv", dtype={"category": str})
    df["category"] = df["category"].fillna("")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return df, manifest
