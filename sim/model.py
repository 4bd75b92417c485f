"""The urbanization model: one Mesa step per simulated year.

Persons and households are agents stored as columns (`sim.population`); the
yearly step calls the pipeline modules in the order of the design brief, each
a vectorized function of the state, the parameters in force and the model's
random generator. Mesa supplies the lifecycle, the seeded generator
(``model.rng``) and the data collector holding the indicator table.

Example
-------
>>> from sim.scenario import load_defaults
>>> model = UrbanizationModel(load_defaults().with_overrides(
...     {"run.scale": 0.002, "run.end_year": 2017}))
>>> model.run()
>>> sorted(model.indicators().year.unique().tolist())
[2015, 2016, 2017]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.agents import Explanation, Tracer, behaviour, explain_person
from sim.areas import load_areas
from sim.pipeline import (
    Flows,
    demography,
    divisions,
    eligibility,
    fiscal,
    indicators,
    life_course,
    migration,
    per_area,
    residence_permit,
    services,
    settlement,
    urban_village,
)
from sim.population import State, reuse_freed_memory
from sim.scenario import Scenario
from sim.synthesis import FitReport, synthesize

if TYPE_CHECKING:
    from sim.registry import ImportedPopulation


def replicate_seed(root_seed: int, stream: int) -> np.random.SeedSequence:
    """The random stream of replicate (or stream number) ``stream`` of a root seed: the
    one rule for seeds in runs, studies, ``explain`` and the explorer.

    >>> replicate_seed(7, 2).spawn_key
    (2,)
    """
    return np.random.SeedSequence(root_seed, spawn_key=(stream,))


class UrbanizationModel(mesa.Model):
    """Panjin's population under one scenario, from the 2015 base to ``run.end_year``.

    Parameters
    ----------
    scenario : the resolved scenario (`sim.scenario.load_scenario`).
    replicate : replicate number, written to the ``replicate`` column.
    seed : the root seed (an int; default ``scenario.run.seed``), whose stream for
        this replicate is `replicate_seed` — so ``UrbanizationModel(s, seed=S)`` is
        replicate 0 of ``hukou-sim run --seed S`` — or a `numpy.random.SeedSequence`
        used as it is.
    population : a registry extract (`sim.registry.load_population`) to start from
        instead of the synthetic population; ``run.scale`` does not apply to it.

    Reading the agents: `persons_frame`, `households_frame` (labels, not codes),
    `behaviour_frame` (intention to settle), `explain` (why a person can or cannot settle
    now) and, for persons chosen with `trace_persons` before running, `trace` (their
    yearly history).
    """

    def __init__(self, scenario: Scenario, replicate: int = 0,
                 seed: np.random.SeedSequence | int | None = None,
                 population: ImportedPopulation | None = None) -> None:
        reuse_freed_memory()  # numpy's large temporaries without page faults (glibc)
        seed = scenario.run.seed if seed is None else seed
        if not isinstance(seed, np.random.SeedSequence):
            seed = replicate_seed(seed, replicate)
        super().__init__(rng=np.random.default_rng(seed))
        self.scenario = scenario
        self.replicate = replicate
        self.areas = load_areas()
        self.state: State
        self.population_fit: FitReport  # how well the synthetic population matches its marginals
        self.state, self.population_fit = (
            synthesize(scenario.run.scale, self.rng) if population is None
            else population.state(self.rng))
        self.datacollector = mesa.DataCollector(tables={"indicators": list(indicators.COLUMNS)})
        self._tracer: Tracer | None = None  # opt-in yearly history (trace_persons)
        self._collect({})

    @property
    def year(self) -> int:
        """The year whose end the state describes."""
        return self.state.year

    def step(self) -> None:
        """Simulate one year, steps 1–11 of the pipeline (DESIGN.md)."""
        state, rng = self.state, self.rng
        year = state.year + 1
        p = self.scenario.at(year)                       # 1 policy in force
        flows: Flows = {}
        add = indicators.add_flows
        add(flows, divisions.step(state, p, rng))         #   and administrative divisions
        add(flows, demography.step(state, p, rng))        # 2 demography
        add(flows, life_course.step(state, p, rng))       # 3 life course
        add(flows, migration.step(state, p, rng))         # 4 migration
        add(flows, residence_permit.step(state, p, rng))  # 5 residence permits
        hukou_before = state.persons.hukou_area.copy()
        clause_8 = eligibility.HukouSnapshot.of(state.persons)
        add(flows, settlement.step(state, p, rng))        # 6 eligibility, 7 settlement
        add(flows, urban_village.step(state, p, rng))     # 8 urban villages
        refused = eligibility.refuse_clause_8(clause_8, state.persons)
        add(flows, {("hukou_moves_refused", ""): per_area(refused, state.persons.hukou_area,
                                                          len(self.areas))})
        add(flows, indicators.hukou_moves(hukou_before, state.persons, len(self.areas)))
        state.year = year
        costs = services.step(state, p, rng)              # 9 entitlements and cost
        add(flows, costs)
        add(flows, fiscal.step(state, p, rng, costs))     # 10 fiscal linkage
        self._collect(flows)                             # 11 data collection
        if year >= self.scenario.run.end_year:
            self.running = False

    def run(self, progress=None) -> None:
        """Step until the end year; ``progress(model)`` is called after each year."""
        while self.running and self.year < self.scenario.run.end_year:
            self.step()
            if progress is not None:
                progress(self)

    def _collect(self, flows: Flows) -> None:
        if self._tracer is not None:
            self._tracer.record(self.state, self.scenario.at(self.year))
        if self.year < self.scenario.run.start_year:
            return
        values = indicators.stocks(self.state, len(self.areas)) | flows
        table = self.datacollector.tables["indicators"]
        rows = indicators.rows(values, self.year, self.areas.ids, self.areas.city_id,
                               self.scenario.name, self.replicate)
        if not rows:
            return
        for column, values_of_column in zip(indicators.COLUMNS, zip(*rows, strict=True),
                                            strict=True):  # a column at a time
            table[column].extend(values_of_column)

    def indicators(self) -> pd.DataFrame:
        """The tidy indicator table collected so far."""
        return self.datacollector.get_table_dataframe("indicators")

    def persons_frame(self, decode: bool = True) -> pd.DataFrame:
        """Every person now, one row each: the columns of `sim.population.Persons`, with
        labels instead of codes (``decode=False``: the raw codes); ``household`` is the
        household's id, as in `households_frame`."""
        frame = self.state.persons.frame(decode)
        frame["household"] = self.state.households.id[self.state.persons.household]
        return frame

    def households_frame(self, decode: bool = True) -> pd.DataFrame:
        """Every household with members now, one row each: the columns of
        `sim.population.Households` (labels instead of codes unless ``decode=False``) and
        ``members``, the number of members."""
        size = self.state.by_household.count()
        frame = self.state.households.frame(decode).assign(members=size)
        return frame[size > 0].reset_index(drop=True)

    def behaviour_frame(self, person_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """The settlement behaviour of persons (all by default) in the current year, indexed
        by id: ``intention`` (the chance that their household intends to settle, evaluated on
        them as its applicant), ``intends``, ``aware`` (of the reform) and ``action_rate``
        (`sim.agents.behaviour`)."""
        ids = self.state.persons.id
        rows = (np.arange(len(ids)) if person_ids is None
                else np.flatnonzero(np.isin(ids, np.fromiter(person_ids, np.int64))))
        values = behaviour(self.state, self.scenario.at(self.year), rows)
        return pd.DataFrame({k: np.broadcast_to(v, rows.shape) for k, v in values.items()},
                            index=pd.Index(ids[rows], name="id"))

    def explain(self, person_id: int) -> Explanation:
        """Why a person can or cannot settle in the current year: each channel's failed
        conditions with the clause, the residence permit, and the household's behaviour
        (`sim.agents.explain_person`). ``print`` it for text."""
        return explain_person(self.state, self.scenario.at(self.year), person_id)

    def trace_persons(self, person_ids: Iterable[int]) -> None:
        """Record the yearly history of these persons from now on (read it with `trace`);
        ordinary runs record nothing."""
        if self._tracer is None:
            self._tracer = Tracer()
        self._tracer.follow(person_ids, self.state, self.scenario.at(self.year))

    def trace(self, person_id: int | None = None) -> pd.DataFrame:
        """The yearly history of a traced person (all traced persons by default), one row per
        year at the year's end (`sim.agents.Tracer`)."""
        if self._tracer is None:
            raise KeyError("no person is traced; call model.trace_persons(ids) before run()")
        return self._tracer.frame(person_id)
