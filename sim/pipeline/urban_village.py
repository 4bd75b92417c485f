"""Urban-village conversion (城中村居民市民化, clause 十五; pipeline step 8).

A village committee (村民委员会) becomes a community residents' committee: the village's whole
registered population (its Panjin rural hukou holders, wherever they live) becomes urban
hukou at once, and members living in the village become residents of the area's urban place.
Land contract, homestead and collective asset rights are protected (保障合法权益): households
keep them whatever principle 二.2's scenario switch says.

Which villages convert follows ``policy.urban_village.schedule``: rows {year, area, share},
``share`` of the area's villages (all it has, converted or not) in that year, chosen at random
among those not yet converted. A village's area is the hukou area of its registered members:
those whose hukou is still the village's (rural) or was converted with it. Members who
settled elsewhere through clauses 四–七 keep the ``village`` id (their land rights) but no
longer say where the village is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, per_area
from sim.population import (
    COUNTY_SEAT_TOWN,
    URBAN_DISTRICT,
    URBAN_VILLAGE,
    VILLAGE,
    State,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters


def village_areas(state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every village id with its area and whether it is still rural (has rural members).

    Converted villages are still known: their members keep the ``village`` id.
    """
    persons = state.persons
    registered_there = ~persons.hukou_urban | (persons.settled_channel == URBAN_VILLAGE)
    member = (persons.village >= 0) & (persons.hukou_area >= 0) & registered_there
    # village ids are small non-negative integers: dense tables instead of sorting them
    village, rows = persons.village[member], np.flatnonzero(member)
    n = int(village.max(initial=-1)) + 1
    first = np.full(n, len(persons))
    np.minimum.at(first, village, rows)  # each village's first member, in row order
    ids = np.flatnonzero(first < len(persons))
    rural = np.bincount(persons.village[member & ~persons.hukou_urban], minlength=n) > 0
    return ids, persons.hukou_area[first[ids]], rural[ids]


def choose_villages(state: State, p: YearParameters, rng: np.random.Generator,
                    villages: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                    ) -> np.ndarray:
    """Ids of the villages the schedule converts in year ``p.year``.

    Each row converts ``share`` × (the area's villages), stochastically rounded so small
    shares are right on average, capped by the villages still rural. ``villages``: the
    `village_areas` of the state, if already known.
    """
    area_list = load_areas()
    ids, areas, rural = village_areas(state) if villages is None else villages
    chosen = []
    for row in p.policy.urban_village.schedule:
        if row.year != p.year:
            continue
        area = area_list.index(row.area)
        in_area = areas == area
        exact = row.share * in_area.sum()
        n = int(np.floor(exact + rng.random()))
        candidates = ids[in_area & rural & ~np.isin(ids, chosen)]
        chosen.extend(rng.choice(candidates, size=min(n, len(candidates)), replace=False))
    return np.asarray(chosen, dtype=ids.dtype)


def urban_place(state: State, area: np.ndarray) -> np.ndarray:
    """The urban place a converted village joins: the urban districts where the area has them,
    else its county-seat town (县政府驻地镇)."""
    persons = state.persons
    has_district = np.zeros(len(load_areas()), bool)
    inside = persons.area >= 0
    has_district[persons.area[inside & (persons.place == URBAN_DISTRICT)]] = True
    return np.where(has_district[area], URBAN_DISTRICT, COUNTY_SEAT_TOWN)


def convert(state: State, villages: np.ndarray, year: int) -> np.ndarray:
    """Make the registered population of ``villages`` urban hukou; returns who converted.

    ``residence_years`` is kept: the members did not move, their place was reclassified.
    """
    persons = state.persons
    converts = (np.isin(persons.village, villages) & ~persons.hukou_urban
                & (persons.hukou_area >= 0))
    persons.hukou_urban[converts] = True
    persons.settled_channel[converts] = URBAN_VILLAGE
    persons.settled_year[converts] = year
    at_home = converts & (persons.place == VILLAGE) & (persons.area == persons.hukou_area)
    persons.place[at_home] = urban_place(state, persons.area[at_home])
    return converts


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """Convert this year's scheduled villages; flows by the villages' (hukou) area."""
    persons = state.persons
    n_areas = len(load_areas())
    if all(row.year != p.year for row in p.policy.urban_village.schedule):
        # no conversion this year (most years): the zeros that counting nobody gives
        return {("settlements", "urban_village"): np.zeros(n_areas),
                ("villages_converted", ""): np.zeros(n_areas)}
    ids, areas, rural = village_areas(state)
    villages = choose_villages(state, p, rng, (ids, areas, rural))
    converts = convert(state, villages, p.year)
    w = persons.weight
    return {
        ("settlements", "urban_village"): per_area(converts, persons.hukou_area, n_areas, w),
        ("villages_converted", ""): np.bincount(areas[np.isin(ids, villages)],
                                                minlength=n_areas).astype(float),
    }
