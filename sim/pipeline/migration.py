"""Step 4, migration (人口迁移): moves within Panjin, arrivals, departures, returns.

- **rural → urban** within Panjin: village households move to a town of their
  own district/county or to the city districts; young adults move alone; the
  better educated and men move more often (`move_propensity`);
- **arrivals** from elsewhere in Liaoning and other provinces: copies of
  migrant households already in Panjin (so arrivals look like the migrants
  the base data describes), new to the city: no residence, insurance or
  permit years here yet;
- **departures**: migrant households leave Panjin; young Panjin hukou holders
  leave to study or work elsewhere, keeping their hukou (人户分离 out of the city);
- **returns** of Panjin hukou holders living outside;
- **hukou moved out**: Panjin hukou holders living elsewhere who register where
  they live (students, workers settling in other cities) leave the registered
  population and the model.

No other hukou changes here: a move of residence is not a move of hukou.
Flows: ``arrivals`` by origin (``within_panjin``, ``liaoning``,
``other_province``, ``return``) and ``departures`` by destination
(``within_panjin``, ``liaoning``, ``other_province``, ``outside``: young
Panjin hukou holders leaving), per area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, counts_by_area, per_area, uniform_weight
from sim.population import (
    CHILD,
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    HEAD,
    LIAONING,
    NONE,
    OTHER_PROVINCE,
    OUTSIDE,
    OWN,
    PLACES,
    RENT,
    URBAN_DISTRICT,
    VILLAGE,
    Households,
    Persons,
    State,
    copy_land_rights,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters


def urban_destinations(state: State) -> tuple[np.ndarray, np.ndarray]:
    """Residents per (area, urban place): where movers go, in proportion. Agents of one
    weight are counted per area and place (`counts_by_area`, the same bits)."""
    p = state.persons
    n_areas = len(load_areas())
    weight = uniform_weight(p.weight)
    # place + 1 as the code (NONE becomes 0); the urban places are codes 1-3
    counted = None if weight is None else counts_by_area(
        p.area, p.place.view(np.uint8) + np.uint8(1), len(PLACES) + 1, n_areas)
    if counted is not None:
        counts = counted[:, 1:VILLAGE + 1] * weight
    else:
        inside = np.flatnonzero((p.area >= 0) & (p.place != VILLAGE) & (p.place >= 0))
        cell = p.area[inside].astype(np.intp) * 3 + p.place[inside]
        counts = np.bincount(cell, weights=p.weight[inside],
                             minlength=3 * n_areas).reshape(n_areas, 3)
    city = counts[:, URBAN_DISTRICT]
    town = counts[:, [COUNTY_SEAT_TOWN, DESIGNATED_TOWN]]
    return city, town


def move_propensity(persons: Persons, m: Any, rows: np.ndarray | None = None) -> np.ndarray:
    """Relative chance of a rural–urban move by education and sex (1 = reference); of the
    persons ``rows`` only, if given."""
    rows = slice(None) if rows is None else rows
    by_education = np.asarray(m.education_factor, float)[persons.education[rows]]
    return by_education * np.where(persons.sex[rows] == 1, m.male_factor, 1.0)


def choose_destinations(origin_area: np.ndarray, to_city: np.ndarray, state: State,
                        rng: np.random.Generator,
                        destinations: tuple[np.ndarray, np.ndarray] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Area and place for rural movers: a city district or a town of their own area.

    Areas without towns send their movers to their own urban district; the
    city districts are chosen in proportion to their urban-district population
    (`urban_destinations`, which may be passed in when no one has moved since).
    """
    city, town = urban_destinations(state) if destinations is None else destinations
    n = len(origin_area)
    area = origin_area.copy()
    place = np.full(n, URBAN_DISTRICT, np.int8)
    city_areas = np.flatnonzero(city > 0)
    if city_areas.size:
        pick = rng.choice(city_areas, size=n, p=city[city_areas] / city[city_areas].sum())
        area = np.where(to_city, pick, area)
    town_total = town.sum(axis=1)
    stays = ~to_city & (town_total[origin_area] > 0)
    seat_share = np.divide(town[:, 0], town_total, out=np.zeros_like(town_total),
                           where=town_total > 0)
    seat = rng.random(n) < seat_share[origin_area]
    place[stays] = np.where(seat[stays], COUNTY_SEAT_TOWN, DESIGNATED_TOWN)
    return area.astype(np.int8), place


def _move(state: State, rows: np.ndarray, area: np.ndarray, place: np.ndarray) -> None:
    p = state.persons
    p.area[rows], p.place[rows] = area, place
    p.residence_years[rows] = 0
    p.school_years_local[rows] = np.where(area >= 0, p.school_years_local[rows], 0)


def _new_households(state: State, rows: np.ndarray, tenure: np.ndarray,
                    draw: np.ndarray) -> None:
    """Each person in ``rows`` becomes the head of a new one-person household, taking their
    share of the household income and the family's land rights (`copy_land_rights`)."""
    k = len(rows)
    h = Households.empty(k)
    h.id[:] = state.next_household_id + np.arange(k)
    h.tenure[:] = tenure
    h.landlord_draw[:] = draw
    origin = state.persons.household[rows]
    h.income[:] = state.households.income[origin] / np.maximum(
        1, state.by_household.count()[origin])
    copy_land_rights(h, state.households, origin)
    state.persons.household[rows] = len(state.households) + np.arange(k)
    state.persons.role[rows] = HEAD
    state.households = state.households.extend(h)
    state.next_household_id += k


def _flows(flows: Flows, name: str, category: str, area: np.ndarray, weight: np.ndarray,
           n_areas: int) -> None:
    key = (name, category)
    add = per_area(np.ones(len(area), bool), area, n_areas, weight)
    flows[key] = flows.get(key, np.zeros(n_areas)) + add


def _tenure_of_movers(k: int, m: Any, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Tenure at the new home, and the landlord draw that goes with a new home."""
    own = rng.random(k) < m.mover_owns_share
    return np.where(own, OWN, RENT).astype(np.int8), rng.random(k)


def _in_ages(age: np.ndarray, ages: tuple[int, int]) -> np.ndarray:
    return (age >= ages[0]) & (age < ages[1])


def rural_to_urban(state: State, m: Any, rng: np.random.Generator, flows: Flows,
                   n_areas: int) -> np.ndarray:
    """Village households (head of working age) and young adults alone move to a town of
    their own area or to the city districts. Returns who moved (bool per person)."""
    persons = state.persons
    head = persons.role == HEAD
    village_heads = (head & (persons.place == VILLAGE) & (persons.area >= 0)
                     & _in_ages(persons.age, m.household_head_ages))
    draw_household, draw_young = rng.random((2, len(persons)))
    # the propensity of the few who may move only (village heads, young villagers)
    heads = np.flatnonzero(village_heads)
    mover_heads = heads[draw_household[heads]
                        < m.rural_urban_household_rate * move_propensity(persons, m, heads)]
    movers_hh = persons.household[mover_heads]
    destinations = urban_destinations(state)  # nobody moves before the end: one count
    hh_area = np.full(len(state.households), NONE, np.int8)
    hh_place = np.full(len(state.households), NONE, np.int8)
    if movers_hh.size:
        origin = persons.area[mover_heads]
        to_city = rng.random(movers_hh.size) < m.to_city_districts_share
        hh_area[movers_hh], hh_place[movers_hh] = choose_destinations(origin, to_city, state,
                                                                      rng, destinations)
        tenure, draw = _tenure_of_movers(movers_hh.size, m, rng)
        state.households.tenure[movers_hh] = tenure
        state.households.landlord_draw[movers_hh] = draw
    moving = state.by_household.project(hh_area) != NONE
    young_rows = np.flatnonzero(
        (persons.role == CHILD) & ~persons.married & (persons.place == VILLAGE)
        & (persons.area >= 0) & _in_ages(persons.age, m.young_mover_ages) & ~moving)
    young_rows = young_rows[draw_young[young_rows] < m.rural_urban_young_rate
                            * move_propensity(persons, m, young_rows)]
    rows = np.flatnonzero(moving)
    dest_area, dest_place = hh_area[persons.household[rows]], hh_place[persons.household[rows]]
    if young_rows.size:
        to_city = rng.random(young_rows.size) < m.to_city_districts_share
        ya, yp = choose_destinations(persons.area[young_rows], to_city, state, rng,
                                     destinations)
        tenure, draw = _tenure_of_movers(young_rows.size, m, rng)
        _new_households(state, young_rows, tenure, draw)
        rows = np.r_[rows, young_rows]
        dest_area, dest_place = np.r_[dest_area, ya], np.r_[dest_place, yp]
    changed_area = persons.area[rows] != dest_area
    w = persons.weight[rows]
    _flows(flows, "departures", "within_panjin", persons.area[rows][changed_area],
           w[changed_area], n_areas)
    _flows(flows, "arrivals", "within_panjin", dest_area[changed_area], w[changed_area],
           n_areas)
    _move(state, rows, dest_area, dest_place)
    moving[young_rows] = True
    return moving


def departures(state: State, m: Any, rng: np.random.Generator, flows: Flows, n_areas: int,
               moved: np.ndarray) -> np.ndarray:
    """Migrant households leave Panjin (less often once settled in); young Panjin hukou
    holders leave to study or work elsewhere, keeping their hukou. The migrants move outside
    Panjin without a Panjin hukou, out of the model (`gone`): the step removes them with the
    hukou moved out, in one copy of the table. Returns who left this year (bool per person)."""
    persons = state.persons
    draw_migrant, draw_local = rng.random((2, len(persons)))
    heads = np.flatnonzero(state.migrant_heads())  # the rate of the migrant heads only
    rate = np.where(persons.residence_years[heads] > m.settled_migrant_years,
                    m.migrant_departure_rate * m.settled_departure_factor,
                    m.migrant_departure_rate)
    leaving_hh = state.by_household.any(draw_migrant[heads] < rate, rows=heads)
    leaves = state.by_household.project(leaving_hh) & (persons.hukou_area == OUTSIDE)
    for origin, cat in ((LIAONING, "liaoning"), (OTHER_PROVINCE, "other_province")):
        sel = leaves & (persons.origin == origin)
        _flows(flows, "departures", cat, persons.area[sel], persons.weight[sel], n_areas)
    local_leavers = np.flatnonzero(
        (persons.hukou_area >= 0) & (persons.area >= 0) & ~leaves & ~moved
        & _in_ages(persons.age, m.young_mover_ages) & (draw_local < m.local_departure_rate))
    _flows(flows, "departures", "outside", persons.area[local_leavers],
           persons.weight[local_leavers], n_areas)
    _new_households(state, local_leavers, np.full(local_leavers.size, RENT, np.int8),
                    rng.random(local_leavers.size))
    _move(state, local_leavers, np.full(local_leavers.size, OUTSIDE, np.int8),
          np.full(local_leavers.size, NONE, np.int8))
    persons.area[leaves], persons.place[leaves] = OUTSIDE, NONE
    just_left = leaves.copy()
    just_left[local_leavers] = True
    return just_left


def gone(persons: Persons) -> np.ndarray:
    """Who has left the model: living outside Panjin without a Panjin hukou (departed
    migrants, until the step removes them). Nobody else is so: the model holds Panjin's
    residents and its hukou holders (a registry extract may not hold such a person)."""
    return (persons.area == OUTSIDE) & (persons.hukou_area == OUTSIDE)


def _draws(rng: np.random.Generator, persons: Persons) -> np.ndarray:
    """A uniform draw per person still in the model (1 for the `gone`): the same numbers, in
    the same order, as one draw per row once the gone are removed."""
    staying = ~gone(persons)
    u = np.ones(len(persons))
    u[staying] = rng.random(int(staying.sum()))
    return u


def returns(state: State, m: Any, rng: np.random.Generator, flows: Flows, n_areas: int,
            just_left: np.ndarray) -> np.ndarray:
    """Panjin hukou holders living outside come back to the area of their hukou: a village if
    their hukou is rural, else the urban districts (the county-seat town where the area has
    none). Returns who came back."""
    persons = state.persons
    returning = np.flatnonzero((persons.area == OUTSIDE) & (persons.hukou_area >= 0)
                               & (_draws(rng, persons) < m.return_rate) & ~just_left)
    ret_area = persons.hukou_area[returning]
    ret_place = np.where(persons.hukou_urban[returning], URBAN_DISTRICT, VILLAGE).astype(np.int8)
    no_district = urban_destinations(state)[0][ret_area] == 0  # nobody lives in one there
    ret_place[persons.hukou_urban[returning] & no_district] = COUNTY_SEAT_TOWN
    _move(state, returning, ret_area, ret_place)
    _flows(flows, "arrivals", "return", ret_area, persons.weight[returning], n_areas)
    came_back = np.zeros(len(persons), bool)
    came_back[returning] = True
    return came_back


def hukou_moves_out(state: State, m: Any, rng: np.random.Generator, flows: Flows,
                    n_areas: int, staying_out: np.ndarray) -> None:
    """Panjin hukou holders living elsewhere register where they live (students, workers
    settling in other cities): they leave the registered population and the model, removed
    with the departed migrants (`gone`) in one copy of the table."""
    persons = state.persons
    moves_out = (persons.area == OUTSIDE) & (persons.hukou_area >= 0) & staying_out & \
        (_draws(rng, persons) < m.hukou_out_rate)
    flows[("hukou_moves_out", "")] = per_area(moves_out, persons.hukou_area, n_areas,
                                              persons.weight)
    state.persons = persons.take(~(moves_out | gone(persons)))


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """All moves of the year, in the order: rural → urban, departures, returns, hukou moved
    out, arrivals."""
    m = p.migration
    n_areas = len(load_areas())
    flows: Flows = {(name, cat): np.zeros(n_areas) for name, cats in (
        ("arrivals", ("within_panjin", "liaoning", "other_province", "return")),
        ("departures", ("within_panjin", "liaoning", "other_province", "outside")))
        for cat in cats}
    moved = rural_to_urban(state, m, rng, flows, n_areas)
    just_left = departures(state, m, rng, flows, n_areas, moved)
    came_back = returns(state, m, rng, flows, n_areas, just_left)
    hukou_moves_out(state, m, rng, flows, n_areas, ~just_left & ~came_back)
    arrive(state, m, rng, flows, n_areas)
    return flows


def members_of(household: np.ndarray, chosen: np.ndarray, n_households: int) -> np.ndarray:
    """The rows of the members of the households ``chosen`` (repeats allowed), household by
    household in the order of ``chosen``, members in row order. Only the members of the
    chosen households are sorted, not every person.

    >>> members_of(np.array([1, 0, 1, 2]), np.array([1, 2, 1]), 3).tolist()
    [0, 2, 3, 0, 2]
    """
    wanted = np.zeros(n_households, bool)
    wanted[chosen] = True
    order = np.flatnonzero(wanted[household])
    order = order[np.argsort(household[order], kind="stable")]
    starts = np.searchsorted(household[order], chosen)
    counts = np.bincount(household[order], minlength=n_households)[chosen]
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return order[np.repeat(starts, counts) + offsets]


def arrive(state: State, m: Any, rng: np.random.Generator, flows: Flows, n_areas: int) -> None:
    """New migrant households from outside Panjin, copied from migrant households here."""
    p = state.persons
    residents = p.weight[p.area >= 0].sum()
    donors_head = state.migrant_heads()
    donor_hh = p.household[donors_head]
    if donor_hh.size == 0:
        return
    household_sizes = state.by_household.count()
    sizes = household_sizes[donor_hh]
    mean_weight = float(p.weight[donors_head].mean())
    wanted = m.arrival_rate * residents / mean_weight / sizes.mean()
    n_new = int(np.floor(wanted) + (rng.random() < wanted % 1))
    if n_new == 0:
        return
    chosen = rng.choice(donor_hh, size=n_new)
    origin = np.where(rng.random(n_new) < m.arrival_origin_liaoning_share, LIAONING,
                      OTHER_PROVINCE)
    counts = household_sizes[chosen]
    newcomers = p.take(members_of(p.household, chosen, len(state.households)))
    k = len(newcomers)
    new_hh_index = len(state.households) + np.repeat(np.arange(n_new), counts)
    households = state.households.take(chosen)
    households.id[:] = state.next_household_id + np.arange(n_new)
    households.landlord_draw[:] = rng.random(n_new)  # a new home here
    households.intention_draw[:] = np.nan  # new people: their own decision, drawn when due
    households.awareness_draw[:] = np.nan
    newcomers.id[:] = state.next_person_id + np.arange(k)
    newcomers.household[:] = new_hh_index
    newcomers.origin[:] = np.repeat(origin, counts)
    newcomers.hukou_area[:] = OUTSIDE
    for col in ("residence_years", "insurance_years", "job_years", "tax_years",
                "school_years_local", "permit_years"):
        getattr(newcomers, col)[:] = 0
    newcomers.permit[:] = False
    newcomers.insured[:] = False  # a new job here: not yet enrolled
    newcomers.settled_year[:] = NONE
    newcomers.settled_channel[:] = NONE
    newcomers.village[:] = NONE
    for o, cat in ((LIAONING, "liaoning"), (OTHER_PROVINCE, "other_province")):
        sel = newcomers.origin == o
        _flows(flows, "arrivals", cat, newcomers.area[sel], newcomers.weight[sel], n_areas)
    state.persons = p.extend(newcomers)
    state.households = state.households.extend(households)
    state.next_person_id += k
    state.next_household_id += n_new

