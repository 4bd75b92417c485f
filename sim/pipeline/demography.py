"""Step 2, demography (人口变动): ageing, deaths, births, new households.

Mortality is a Gompertz–Makeham law by sex with an infant term; fertility an
age schedule scaled to a total fertility rate; both in
``sim/data/parameters/demography.toml`` with their sources. A newborn takes a
Panjin parent's hukou when either parent has one (the mother's first): since
2016 a child may register with either parent (随父随母), so a Panjin parent's
hukou is what a family in Panjin would choose.

Example
-------
>>> import numpy as np
>>> from sim.scenario import load_defaults
>>> p = load_defaults().at(2016)
>>> q = death_probability(np.array([0, 40, 80]), np.array([0, 0, 0]), p.demography)
>>> bool(q[2] > q[1])
True
"""

from __future__ import annotations

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, per_area
from sim.population import (
    CHILD,
    HEAD,
    OWN,
    RENT,
    SPOUSE,
    Households,
    Persons,
    State,
    copy_land_rights,
)

FERTILE_AGES = (15, 50)


def death_probability(age: np.ndarray, sex: np.ndarray, d) -> np.ndarray:
    """Probability of dying within the year, by age and sex (``d`` = demography params)."""
    a = np.where(sex == 1, d.mortality.gompertz_male, d.mortality.gompertz_female)
    hazard = d.mortality.background + a * np.exp(d.mortality.gompertz_slope * age)
    hazard = hazard + np.where(age == 0, d.mortality.infant, 0.0)
    return 1.0 - np.exp(-hazard)


def life_expectancy(sex: int, d, max_age: int = 110) -> float:
    """Period life expectancy at birth implied by the mortality parameters."""
    ages = np.arange(max_age + 1)
    q = death_probability(ages, np.full(ages.size, sex), d)
    survivors = np.cumprod(np.r_[1.0, 1.0 - q[:-1]])
    return float(survivors.sum() - 0.5)


def birth_probability(age: np.ndarray, d) -> np.ndarray:
    """Yearly probability that a woman of ``age`` gives birth (age schedule × TFR)."""
    shape = np.asarray(d.fertility.age_shape, float)
    per_year = d.fertility.total_fertility_rate * shape / shape.sum() / 5.0
    band = (age - FERTILE_AGES[0]) // 5
    fertile = (age >= FERTILE_AGES[0]) & (age < FERTILE_AGES[1])
    return np.where(fertile, per_year[np.clip(band, 0, len(shape) - 1)], 0.0)


def spouse_index(persons: Persons) -> np.ndarray:
    """Row of each head's or spouse's partner in the same household, or -1."""
    n = len(persons)
    partner = np.full(n, -1)
    couple = persons.married & np.isin(persons.role, (HEAD, SPOUSE))
    rows = np.flatnonzero(couple)
    key = persons.household[rows] * 2 + (persons.role[rows] == SPOUSE)
    order = np.argsort(key, kind="stable")
    rows, key = rows[order], key[order]
    # a head at key 2h pairs with a spouse at key 2h+1
    is_pair = (key[:-1] // 2 == key[1:] // 2) & (key[:-1] % 2 == 0)
    heads, spouses = rows[:-1][is_pair], rows[1:][is_pair]
    partner[heads], partner[spouses] = spouses, heads
    return partner


def newborns(state: State, mothers: np.ndarray, d, rng: np.random.Generator) -> Persons:
    """The children born this year to the women in ``mothers`` (row indices)."""
    p = state.persons
    partner = spouse_index(p)[mothers]
    father = np.where(partner >= 0, partner, mothers)
    from_mother = p.hukou_area[mothers] >= 0
    parent = np.where(from_mother | (p.hukou_area[father] < 0), mothers, father)
    n = len(mothers)
    child = Persons.empty(n)
    child.id[:] = state.next_person_id + np.arange(n)
    child.household[:] = p.household[mothers]
    child.weight[:] = p.weight[mothers]
    child.sex[:] = rng.random(n) < d.fertility.male_share_at_birth
    child.role[:] = CHILD
    for col in ("area", "place"):
        getattr(child, col)[:] = getattr(p, col)[mothers]
    for col in ("hukou_area", "hukou_urban", "origin", "village"):
        getattr(child, col)[:] = getattr(p, col)[parent]
    return child


def promote_heads(persons: Persons) -> None:
    """Give every household that lost its head a new one: its oldest member."""
    has_head = np.zeros(persons.household.max() + 1 if len(persons) else 0, bool)
    has_head[persons.household[persons.role == HEAD]] = True
    orphan = ~has_head[persons.household]
    if not orphan.any():
        return
    rows = np.flatnonzero(orphan)
    order = np.lexsort((-persons.age[rows], persons.household[rows]))
    rows = rows[order]
    first = np.r_[True, persons.household[rows][1:] != persons.household[rows][:-1]]
    persons.role[rows[first]] = HEAD


def form_households(state: State, d, rng: np.random.Generator) -> tuple[Persons, Households]:
    """Unmarried adult children marry and set up a new household together.

    Couples are paired at random within an area; the new household lives where
    the husband lived. Marriage does not move a hukou here (投靠 moves of a
    spouse's hukou are left out: they do not change Panjin's registered total).
    """
    p = state.persons
    n_before = len(state.households)
    d_h = d.households
    willing = ((p.role == CHILD) & ~p.married & (p.area >= 0)
               & (p.age >= d_h.min_age) & (p.age < 40)
               & (rng.random(len(p)) < d_h.marriage_rate))
    men, women = [], []
    for area in range(len(load_areas())):
        m = rng.permutation(np.flatnonzero(willing & (p.sex == 1) & (p.area == area)))
        w = rng.permutation(np.flatnonzero(willing & (p.sex == 0) & (p.area == area)))
        k = min(len(m), len(w))
        men.append(m[:k])
        women.append(w[:k])
    men, women = np.concatenate(men), np.concatenate(women)
    k = len(men)
    new_hh = n_before + np.arange(k)
    households = Households.empty(k)
    households.id[:] = state.next_household_id + np.arange(k)
    owns = rng.random(k) < d_h.new_household_owns_share
    households.tenure[:] = np.where(owns, OWN, RENT)
    households.landlord_draw[:] = rng.random(k)
    copy_land_rights(households, state.households, p.household[men])
    households.income[:] = state.income_per_person()[men] * 2
    p.household[men], p.household[women] = new_hh, new_hh
    p.role[men], p.role[women] = HEAD, SPOUSE
    p.married[men], p.married[women] = True, True
    moved = (p.area[women] != p.area[men]) | (p.place[women] != p.place[men])
    p.area[women], p.place[women] = p.area[men], p.place[men]
    p.residence_years[women[moved]] = 0
    return p, households


def step(state: State, p, rng: np.random.Generator) -> Flows:
    """Age everyone a year, remove the dead, add the newborns, form households."""
    d = p.demography
    n_areas = len(load_areas())
    persons = state.persons
    persons.age += 1

    dies = rng.random(len(persons)) < death_probability(persons.age, persons.sex, d)
    women = (persons.sex == 0) & (persons.area >= 0)
    if d.fertility.married_only:
        women &= persons.married
    gives_birth = women & ~dies & (rng.random(len(persons)) < birth_probability(persons.age, d))
    children = newborns(state, np.flatnonzero(gives_birth), d, rng)
    # deaths in the first year of life (ages are counted at the end of the year)
    infant_dies = rng.random(len(children)) < death_probability(children.age, children.sex, d)

    w, wc = persons.weight.astype(float), children.weight.astype(float)
    born = np.ones(len(children), bool)
    flows: Flows = {
        ("deaths", ""): per_area(dies, persons.area, n_areas, w)
        + per_area(infant_dies, children.area, n_areas, wc),
        ("registered_deaths", ""): per_area(dies, persons.hukou_area, n_areas, w)
        + per_area(infant_dies, children.hukou_area, n_areas, wc),
        ("births", ""): per_area(born, children.area, n_areas, wc),
        ("registered_births", ""): per_area(born, children.hukou_area, n_areas, wc),
    }
    state.next_person_id += len(children)  # ids of infants who died are not reused
    children = children.take(~infant_dies)
    widowed_households = np.unique(persons.household[dies & persons.married])
    survivors = persons.take(~dies)
    widowed = np.isin(survivors.household, widowed_households) & survivors.married
    partner = spouse_index(survivors)
    survivors.married[widowed & (partner < 0)] = False
    state.persons = survivors.extend(children)
    promote_heads(state.persons)

    state.persons, new_households = form_households(state, d, rng)
    state.households = state.households.extend(new_households)
    state.next_household_id += len(new_households)
    return flows

