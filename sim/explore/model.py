"""The explorer's Mesa model: levers in, one simulated year per step, figures out.

`ExplorerModel` is what SolaraViz builds and steps. Its keyword arguments are the levers of
`sim.explore.levers` (SolaraViz passes the widgets' values as keywords); it resolves the chosen
scenario file with the moved levers as overrides and runs the urbanization model
(`sim.model.UrbanizationModel`) inside. Each district and county government (区县政府) is a
`mesa.Agent` (`AreaGovernment`) carrying its area's figures for the year, which the map panel
reads; the city's time series are Mesa model reporters, which `make_plot_component` draws.

A lever is applied only where it differs from the chosen scenario's value in the first
simulated year, so a scenario's dated values stay as written unless a lever moves them. A
lever value the scenario rules refuse is not applied and is listed in `problems`.

Example
-------
>>> m = ExplorerModel(scenario_file="scenarios/strict_insurance.toml", scale=0.005,
...                   insurance_years=1)
>>> m.moved
{'policy.urban_district.insurance_years': 1}
>>> m.step(); m.year
2016
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.explanation import behaviour, explain
from sim.explore import levers as lv
from sim.model import UrbanizationModel
from sim.pipeline import indicators
from sim.scenario import Scenario, ScenarioError, load_scenario

DEFAULT_SCENARIO = "scenarios/reform_2015.toml"
DEFAULT_SAVE_DIR = "results/explore"

# The figures of the table, the map and the area charts (indicator names of the run folder's
# indicators.csv, plus the linkage part of `transfer_payment`).
FIGURES = ("resident_population", "registered_population", "resident_urbanization_rate",
           "registered_urbanization_rate", "residence_permit_holders", "settlements",
           "public_service_cost", "incremental_cost", "linkage_transfer", "fiscal_gap")
CITY_SERIES = ("resident_population", "registered_population", "resident_urbanization_rate",
               "registered_urbanization_rate", "public_service_cost", "incremental_cost")
_BY_CATEGORY = {"settlements"}      # kept per channel in `history`


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """The explorer's figures from rows of the indicator table: columns ``year, area,
    figure, category, value``; categories summed except the settlement channels."""
    rows = rows.assign(category=rows["category"].fillna("").astype(str))
    linkage = (rows["indicator"] == "transfer_payment") & (rows["category"] == "linkage")
    rows = rows.assign(figure=rows["indicator"].where(~linkage, "linkage_transfer"))
    rows = rows[rows["figure"].isin(FIGURES)]
    rows = rows.assign(category=rows["category"].where(rows["figure"].isin(_BY_CATEGORY), ""))
    return (rows.groupby(["year", "area", "figure", "category"], as_index=False, sort=False)
            ["value"].sum())


class AreaGovernment(mesa.Agent):
    """The government of one district, county or zone (区县政府): it receives the linkage
    transfer and bears the fiscal gap. ``figures`` holds its area's figures of the year."""

    def __init__(self, model: ExplorerModel, area_id: str) -> None:
        super().__init__(model)
        self.area_id = area_id
        self.figures: dict[str, float] = {}


class ExplorerModel(mesa.Model):
    """A scenario with the page's levers applied, stepped one year at a time.

    Parameters
    ----------
    scenario_file : the scenario the levers start from (a TOML file).
    lang : ``en`` or ``zh``, for the texts the model writes (saved-file notes).
    save_dir : where `save` writes scenario files.
    **kwargs : levers by keyword (`sim.explore.levers.LEVERS`); values may be the widgets'
        (text fields give strings). A lever not given keeps the scenario's value.
    """

    def __init__(self, scenario_file: str = DEFAULT_SCENARIO, lang: str = "en",
                 save_dir: str = DEFAULT_SAVE_DIR, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(lv.LEVERS_BY_ARG))
        if unknown:
            raise TypeError(f"unknown lever(s) {', '.join(unknown)}; levers: "
                            f"{', '.join(lv.LEVERS_BY_ARG)}")
        self.scenario_file = Path(scenario_file)
        self.lang = lang
        self.save_dir = Path(save_dir)
        self.base: Scenario = load_scenario(self.scenario_file)
        self.first_year = self.base.run.start_year + 1
        self.problems: list[str] = []
        self.scenario, self.moved = self._apply(kwargs)
        self.levers = lv.lever_values(self.scenario, self.first_year)
        super().__init__(seed=self.scenario.run.seed)
        self.city = UrbanizationModel(self.scenario)  # replicate 0 of `hukou-sim run`
        self.base_year = self.city.year  # the synthetic population's year: step 0
        self.areas = load_areas()
        self.governments = [AreaGovernment(self, a) for a in self.areas.ids]
        self.datacollector = mesa.DataCollector(model_reporters={
            name: (lambda m, name=name: m.figure(name)) for name in CITY_SERIES})
        self.history = pd.DataFrame(columns=["year", "area", "figure", "category", "value"])
        self._rows_read = 0
        self.person_id = self._sample_person()
        self.followed: list[int] = [self.person_id]   # persons sampled so far, in order
        self.step_seconds: float | None = None
        self._absorb()

    # ------------------------------------------------------------ levers

    def _apply(self, given: Mapping[str, Any]) -> tuple[Scenario, dict[str, Any]]:
        """The scenario with the moved levers; the policy overrides applied, by name."""
        scenario, moved = self.base, {}
        current = lv.lever_values(self.base, self.first_year)
        for arg, raw in given.items():
            lever = lv.LEVERS_BY_ARG[arg]
            try:
                value = lv.parse(lever, raw)
                if _same(value, current[arg]):
                    continue
                scenario = scenario.with_overrides({lever.name: value})
            except (ValueError, ScenarioError) as e:
                problem = e.problem if isinstance(e, ScenarioError) else str(e)
                self.problems.append(f"{lever.text(self.lang)}: {problem}; kept "
                                     f"{lv.plain_text(current[arg])}")
                continue
            if arg not in lv.RUN_ARGS:
                moved[lever.name] = value
        return scenario, moved

    # ------------------------------------------------------------ stepping

    @property
    def year(self) -> int:
        """The year whose end the figures describe."""
        return self.city.year

    def step(self) -> None:
        """Simulate one year and update the figures, the governments and the series."""
        started = time.perf_counter()
        self.city.step()
        self._absorb()
        self.step_seconds = time.perf_counter() - started
        self.running = self.city.running

    def _absorb(self) -> None:
        """Read the indicator rows the city model collected since the last call."""
        table = self.city.datacollector.tables["indicators"]
        end = len(table["year"])
        new = pd.DataFrame({c: table[c][self._rows_read:end] for c in indicators.COLUMNS})
        self._rows_read = end
        if len(new):
            part = summarize(new)
            self.history = part if self.history.empty else pd.concat(
                [self.history, part], ignore_index=True)
        self.current = self.figures(self.year)
        for government in self.governments:
            government.figures = self.current.loc[government.area_id].to_dict()
        self.datacollector.collect(self)
        if not (self.city.state.persons.id == self.person_id).any():
            self.person_id = self._sample_person()
            self.followed.append(self.person_id)

    # ------------------------------------------------------------ reading

    def figures(self, year: int) -> pd.DataFrame:
        """The figures of a year: one row per area and the city, one column per figure of
        `FIGURES` (NaN where the year has none, e.g. the base year's flows). The current
        year's are kept as ``current``."""
        rows = self.history[self.history["year"] == year]
        table = rows.pivot_table(index="area", columns="figure", values="value",
                                 aggfunc="sum")
        order = [*self.areas.ids, self.areas.city_id]
        return table.reindex(index=order, columns=list(FIGURES))

    def figure(self, name: str, area: str | None = None) -> float:
        """One figure of the current year, for the city by default."""
        value = self.current.at[area or self.areas.city_id, name]
        return float(value) if pd.notna(value) else math.nan

    def series(self, figure: str, area: str | None = None, by_category: bool = False
               ) -> pd.DataFrame:
        """A figure over the years for one area (the city by default): columns ``year``,
        ``value`` (and ``category`` if ``by_category``)."""
        rows = self.history[(self.history["figure"] == figure)
                            & (self.history["area"] == (area or self.areas.city_id))]
        keys = ["year", "category"] if by_category else ["year"]
        return rows.groupby(keys, as_index=False)["value"].sum()

    # ------------------------------------------------------------ the followed household

    def _sample_person(self) -> int:
        """The head of a migrant household living in Panjin, drawn with the model's rng."""
        persons = self.city.state.persons
        pool = persons.id[self.city.state.migrant_heads()]
        if not len(pool):
            pool = persons.id
        return int(self.rng.choice(pool))

    def explanation(self) -> dict[str, Any]:
        """`sim.explanation.explain` for the followed person this year, with the household's size
        and its behaviour: intention to settle, awareness of the reform, yearly chance to act
        if eligible (as ``hukou-sim explain`` prints them)."""
        state = self.city.state
        p = self.scenario.at(self.year)
        d = explain(state, p, self.person_id)
        row = np.flatnonzero(state.persons.id == self.person_id)
        d["household_size"] = int((state.persons.household
                                    == state.persons.household[row[0]]).sum())
        d["behaviour"] = behaviour(state, p, self.person_id)
        return d

    # ------------------------------------------------------------ saving

    def save(self) -> Path:
        """Write the moved levers as a scenario file extending the chosen scenario (a new
        file in ``save_dir``); ``hukou-sim run`` and ``check`` accept it."""
        moved = ", ".join(f"{name} = {lv.plain_text(v)}" for name, v in self.moved.items())
        description = (f"{self.base.name} with levers moved in the explorer: {moved}"
                       if moved else f"{self.base.name} as explored (no lever moved)")
        note = (f"Saved by `hukou-sim explore` from {self.scenario_file}.\n"
                f"Explored at scale {self.scenario.run.scale:g}, seed {self.scenario.run.seed}"
                " (run settings are not saved: `hukou-sim run` takes --scale and --seed).")
        return lv.save_scenario(self.scenario_file, self.save_dir, self.moved, description,
                                note)


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared to slider precision (a slider gives 0.35000000000000003)."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
