"""Step 2, demography (人口变动): ageing, deaths, births, partnering (婚配) and new households.

- **Mortality** is a life table by age and sex: a published age pattern of
  death rates (5-year groups) scaled so that the table's life expectancy at
  birth is the published one (`mortality_level`), plus infant mortality.
- **Fertility** is a published age pattern scaled to a total fertility rate
  for all women; births go to married women at the rate that keeps the total
  (`birth_probability`).
- **Partnering** pairs single adults of any household role living in the
  same area, by age (`find_couples`); the couple lives in the household of the
  partner who heads one, else in a new household (`move_in_together`).

A newborn takes a Panjin parent's hukou when either parent has one (the
mother's first): since 2016 a child may register with either parent (随父随母).
All numbers are in ``sim/data/parameters/demography.toml`` with their sources.

Example
-------
>>> import numpy as np
>>> from sim.scenario import load_defaults
>>> d = load_defaults().at(2016).demography
>>> q = death_probability(np.array([1, 40, 80]), np.array([0, 0, 0]), d)
>>> bool(q[0] < q[1] < q[2])
True
>>> bool(abs(life_expectancy(0, d) - d.mortality.life_expectancy_female) < 0.05)
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import brentq

from sim.areas import load_areas
from sim.pipeline import Flows, per_area
from sim.population import (
    CHILD,
    HEAD,
    OWN,
    RENT,
    SPOUSE,
    HouseholdGroups,
    Households,
    Persons,
    State,
    copy_land_rights,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters

GROUP_WIDTH = 5  # the published tables use 5-year age groups
LIFE_TABLE_END = 110  # oldest age of the life table; the open group's rate applies above 100
PER_MILLE = 1000.0
FEMALE, MALE = 0, 1


def group_of(age: np.ndarray, first_age: int, n_groups: int) -> np.ndarray:
    """Index of the 5-year group of each age (groups start at ``first_age``; ages below
    fall in the first group, ages above in the last, open one).

    >>> group_of(np.array([3, 15, 22, 90]), 15, 7).tolist()
    [0, 0, 1, 6]
    """
    return np.clip((np.asarray(age) - first_age) // GROUP_WIDTH, 0, n_groups - 1)


def _pattern_rate(exact_age: np.ndarray, rates: tuple[float, ...], first_age: int) -> np.ndarray:
    """Death rate (per person-year) at an exact age, log-linear between group midpoints."""
    midpoints = first_age + GROUP_WIDTH * np.arange(len(rates)) + GROUP_WIDTH / 2
    return np.exp(np.interp(exact_age, midpoints, np.log(np.asarray(rates) / PER_MILLE)))


def _survivors(level: float, rates: tuple[float, ...], first_age: int,
               infant: float) -> np.ndarray:
    """Life-table survivors l(0..LIFE_TABLE_END) of a cohort of 1 under ``level`` × pattern."""
    ages = np.arange(1, LIFE_TABLE_END)
    q = 1.0 - np.exp(-level * _pattern_rate(ages + 0.5, rates, first_age))
    return np.cumprod(np.r_[1.0, 1.0 - infant, 1.0 - q])


def _life_expectancy(level: float, rates: tuple[float, ...], first_age: int,
                     infant: float) -> float:
    survivors = _survivors(level, rates, first_age, infant)
    # person-years: half a year for the year of death; infants who die live ~0.1 year
    lived = (survivors[:-1] + survivors[1:]) / 2
    lived[0] = survivors[1] + 0.1 * infant
    return float(lived.sum())


@lru_cache(maxsize=64)
def _level(e0: float, rates: tuple[float, ...], first_age: int, infant: float) -> float:
    """The level solved by root-finding; the upper end of the bracket grows tenfold until
    it brackets the root (a pattern of very low rates needs a large factor)."""
    def gap(k: float) -> float:
        return _life_expectancy(k, rates, first_age, infant) - e0
    high = 50.0
    while gap(high) > 0 and high < 1e15:  # noqa: PLR2004 - far beyond any real pattern
        high *= 10
    return brentq(gap, 1e-3, high)


def mortality_level(sex: int, d: Any) -> float:
    """Factor on the published age pattern that gives the sex's life expectancy
    (``d`` = ``p.demography``): the table's level, solved once per parameter set."""
    m = d.mortality
    rates, e0 = ((m.rates_male, m.life_expectancy_male) if sex == MALE
                 else (m.rates_female, m.life_expectancy_female))
    return _level(float(e0), tuple(rates), int(m.first_age), float(m.infant))


def death_probability(age: np.ndarray, sex: np.ndarray, d: Any) -> np.ndarray:
    """Probability of dying within the year for a person of ``age`` after this year's
    ageing (the mid-year exact age of someone who had ``age − 1`` at the start).
    Age 0 means a newborn of this year: the infant mortality.
    """
    m = d.mortality
    age = np.asarray(age)
    # a table by sex and whole year of age, then one lookup per person (the rule is
    # computed for ~110 ages instead of for every person)
    every = np.arange(int(age.max(initial=0)) + 1)
    table = np.empty((2, every.size))
    for s, rates in ((FEMALE, m.rates_female), (MALE, m.rates_male)):
        hazard = mortality_level(s, d) * _pattern_rate(every, tuple(rates), m.first_age)
        table[s] = 1.0 - np.exp(-hazard)
    table[:, 0] = m.infant
    return table[np.asarray(sex, np.intp), age]


def survivorship(sex: int, d: Any) -> np.ndarray:
    """Life-table survivors l(x) at exact ages 0…LIFE_TABLE_END of a cohort of 1 (sex 0
    women, 1 men): the chance of reaching each age. The synthesis shapes the oldest ages
    of the base population with it.

    >>> from sim.scenario import load_defaults
    >>> l = survivorship(0, load_defaults().at(2016).demography)
    >>> bool(l[0] == 1 and (np.diff(l) <= 0).all())
    True
    """
    m = d.mortality
    rates = m.rates_male if sex == MALE else m.rates_female
    return _survivors(mortality_level(sex, d), tuple(rates), m.first_age, m.infant)


def life_expectancy(sex: int, d: Any) -> float:
    """Period life expectancy at birth of the model's life table for ``sex`` (0 women)."""
    m = d.mortality
    rates = m.rates_male if sex == MALE else m.rates_female
    return _life_expectancy(mortality_level(sex, d), tuple(rates), m.first_age, m.infant)


def fertility_rates(d: Any) -> np.ndarray:
    """Births per woman per year in each 5-year group (the schedule scaled to the TFR)."""
    shape = np.asarray(d.fertility.age_shape, float)
    return d.fertility.total_fertility_rate * shape / shape.sum() / GROUP_WIDTH


def fertile(age: np.ndarray, d: Any) -> np.ndarray:
    """Whether each age lies in the fertility schedule's groups (``first_age`` to the end of
    the last 5-year group of ``age_shape``): the ages that give birth and whose married
    share sets a married woman's rate.

    >>> from sim.scenario import load_defaults
    >>> fertile(np.array([14, 15, 49, 50]), load_defaults().at(2016).demography).tolist()
    [False, True, True, False]
    """
    f = d.fertility
    age = np.asarray(age)
    return (age >= f.first_age) & (age < f.first_age + GROUP_WIDTH * len(f.age_shape))


def birth_probability(age: np.ndarray, d: Any, married_share: np.ndarray | None = None
                      ) -> np.ndarray:
    """Yearly probability that a woman of ``age`` gives birth.

    Without ``married_share`` it is the schedule's rate for all women; with the
    married share of women in each group, it is the rate of a married woman,
    ``rate / share`` (capped at 1), so that births to married women alone keep
    the total fertility rate.
    """
    f = d.fertility
    rates = fertility_rates(d)
    if married_share is not None:
        rates = np.minimum(np.divide(rates, married_share, out=np.zeros_like(rates),
                                     where=married_share > 0), 1.0)
    age = np.asarray(age)
    return np.where(fertile(age, d), rates[group_of(age, f.first_age, len(rates))], 0.0)


def married_share_by_group(persons: Persons, women: np.ndarray, d: Any) -> np.ndarray:
    """Weighted married share of the women in ``women`` (mask) by fertility age group; only
    women of the groups' ages count (girls and women past the last group are in no group)."""
    n = len(d.fertility.age_shape)
    women = np.flatnonzero(women & fertile(persons.age, d))  # one pass over the mask, then gathers
    group = group_of(persons.age[women], d.fertility.first_age, n)
    w = persons.weight[women].astype(float)
    total = np.bincount(group, weights=w, minlength=n)
    married = np.bincount(group, weights=w * persons.married[women], minlength=n)
    return np.divide(married, total, out=np.zeros(n), where=total > 0)


def spouse_index(persons: Persons, rows: np.ndarray | None = None) -> np.ndarray:
    """Row of each head's or spouse's partner in the same household, or -1; of the persons
    ``rows`` only, if given (then only their households are searched).

    A household's married head pairs with its married spouse; where a household holds more
    than one of either, its last head (in row order) pairs with its first spouse. Found by
    one pass over dense per-household tables, where sorting the couples cost twice as much.
    """
    n = len(persons)
    partner = np.full(n, -1)
    n_households = int(persons.household.max(initial=-1)) + 1
    if rows is None:
        married, role = persons.married, persons.role
    else:
        members = HouseholdGroups(persons, n_households).members(rows)
        married, role = persons.married[members], persons.role[members]
    heads = np.flatnonzero(married & (role == HEAD))
    spouses = np.flatnonzero(married & (role == SPOUSE))
    if rows is not None:
        heads, spouses = members[heads], members[spouses]
    last_head = np.full(n_households, -1)
    np.maximum.at(last_head, persons.household[heads], heads)
    first_spouse = np.full(n_households, n)
    np.minimum.at(first_spouse, persons.household[spouses], spouses)
    pair = (last_head >= 0) & (first_spouse < n)
    partner[last_head[pair]], partner[first_spouse[pair]] = first_spouse[pair], last_head[pair]
    return partner if rows is None else partner[rows]


def newborns(state: State, mothers: np.ndarray, d: Any, rng: np.random.Generator) -> Persons:
    """The children born this year to the women in ``mothers`` (row indices)."""
    persons = state.persons
    partner = spouse_index(persons, mothers)
    father = np.where(partner >= 0, partner, mothers)
    from_mother = persons.hukou_area[mothers] >= 0
    parent = np.where(from_mother | (persons.hukou_area[father] < 0), mothers, father)
    n = len(mothers)
    child = Persons.empty(n)
    child.id[:] = state.next_person_id + np.arange(n)
    child.household[:] = persons.household[mothers]
    child.weight[:] = persons.weight[mothers]
    child.sex[:] = rng.random(n) < d.fertility.male_share_at_birth
    child.role[:] = CHILD
    for col in ("area", "place"):
        getattr(child, col)[:] = getattr(persons, col)[mothers]
    for col in ("hukou_area", "hukou_urban", "origin", "village"):
        getattr(child, col)[:] = getattr(persons, col)[parent]
    return child


def promote_heads(state: State) -> None:
    """Give every household that lost its head a new one: its oldest member."""
    persons = state.persons
    groups = state.by_household
    headless = ~groups.project(groups.any(persons.role == HEAD))
    rows = np.flatnonzero(headless)
    oldest_first = rows[np.argsort(-persons.age[rows], kind="stable")]
    persons.role[groups.first(oldest_first)] = HEAD


def partnering_rate(persons: Persons, d: Any) -> np.ndarray:
    """Yearly chance that each person looks for a partner: by sex and 5-year age group
    for single persons living in Panjin from ``households.min_age``, else 0."""
    pr = d.partnering
    every = np.arange(int(persons.age.max(initial=0)) + 1)  # a table by sex and age
    table = np.empty((2, every.size))
    for s, rates in ((FEMALE, pr.rate_female), (MALE, pr.rate_male)):
        table[s] = np.asarray(rates)[group_of(every, pr.group_first_age, len(rates))]
    single = np.flatnonzero(~persons.married & (persons.area >= 0)
                            & (persons.age >= d.households.min_age))
    rate = np.zeros(len(persons))  # looked up for the single only, in the flat table
    rate[single] = table.ravel()[persons.sex[single].astype(np.intp) * every.size
                                 + np.maximum(persons.age[single], 0)]
    return rate


def pair_by_age(men_age: np.ndarray, women_age: np.ndarray, d: Any
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pair two groups of seekers by age: everyone sorted by age (a man's age less
    ``age_gap``), each seeker pairs with the nearest younger unpaired seeker of the other
    sex, as brackets close. Returns the paired positions (men, women); pairs further apart
    than ``max_age_difference`` are dropped (both stay single this year).

    The matching is a stack: a seeker pairs with the one on top if of the other sex, else
    waits on it. Computed without a loop: with men +1 and women −1 in age order, the stack
    is the running sum's level; a seeker who brings it closer to 0 pairs with the latest
    seeker who crossed the same step between two levels, the one who pushed the seeker
    now on top (each step between levels is crossed alternately away from 0 and back).

    >>> from types import SimpleNamespace as NS
    >>> d = NS(partnering=NS(age_gap=2, max_age_difference=5))
    >>> [m.tolist() for m in pair_by_age(np.array([40, 25, 31]), np.array([29, 23]), d)]
    [[1, 2], [1, 0]]
    """
    pr = d.partnering
    key = np.r_[np.asarray(men_age, float) - pr.age_gap, np.asarray(women_age, float)]
    is_man = np.arange(key.size) < len(men_age)
    order = np.argsort(key, kind="stable")
    sign = np.where(is_man[order], 1, -1)
    after = np.cumsum(sign)
    before = after - sign
    pairs_up = np.abs(after) < np.abs(before)  # pops the seeker on top of the stack
    by_step = np.argsort(np.minimum(before, after), kind="stable")  # in age order per step
    closing = np.flatnonzero(pairs_up[by_step])
    i, j = by_step[closing], by_step[closing - 1]  # the closing seeker, the one it pops
    in_order = np.argsort(i)  # pairs in the order they close
    i, j = order[i[in_order]], order[j[in_order]]
    man, woman = np.where(is_man[i], i, j), np.where(is_man[i], j, i)
    close = np.abs(key[man] - key[woman]) <= pr.max_age_difference
    return man[close], woman[close] - len(men_age)


def find_couples(persons: Persons, d: Any, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """This year's new couples: rows of the men and of the women, pair by pair.

    Single persons look for a partner at their age's rate (`partnering_rate`) and
    pair with a seeker of the other sex in the same area (`pair_by_age`), never with
    a member of their own household.
    """
    seeking = np.flatnonzero(rng.random(len(persons)) < partnering_rate(persons, d))
    area_of, sex = persons.area[seeking], persons.sex[seeking]
    men, women = [], []
    for area in range(len(load_areas())):  # over the seekers only: a few thousand rows
        here = area_of == area
        m = rng.permutation(seeking[here & (sex == MALE)])
        w = rng.permutation(seeking[here & (sex == FEMALE)])
        pm, pw = pair_by_age(persons.age[m].astype(float), persons.age[w].astype(float), d)
        men.append(m[pm])
        women.append(w[pw])
    men, women = np.concatenate(men).astype(np.intp), np.concatenate(women).astype(np.intp)
    apart = persons.household[men] != persons.household[women]
    return men[apart], women[apart]


def move_in_together(state: State, men: np.ndarray, women: np.ndarray, d: Any,
                     rng: np.random.Generator) -> Households:
    """Marry each pair and give it a home; returns the new households to append.

    The couple moves into the household of the partner who heads one: the woman's if
    she heads a household with other members (her children stay in their home), else
    the man's if he heads one, else the woman's. Otherwise the couple forms a new
    household headed by the man, with his family's land rights (`copy_land_rights`:
    rural land rights follow the husband's family). A partner who moves takes his or
    her share of the household income and lives where the household lives. Marriage
    does not move a hukou (投靠 moves do not change Panjin's registered total).
    """
    persons, households = state.persons, state.households
    groups = state.by_household
    # the partners' values only (a few thousand rows), not everyone's
    income_m, income_w = np.split(state.income_per_person(np.r_[men, women]), [len(men)])
    size_of_hers = groups.count()[persons.household[women]]
    hers, his = persons.role[women] == HEAD, persons.role[men] == HEAD
    into_hers = (hers & (size_of_hers > 1)) | (hers & ~his)
    into_his = ~into_hers & his
    new = ~into_hers & ~into_his
    joiner = np.r_[men[into_hers], women[into_his]]
    income_joiner = np.r_[income_m[into_hers], income_w[into_his]]
    host = np.r_[women[into_hers], men[into_his]]

    k = int(new.sum())
    created = Households.empty(k)
    created.id[:] = state.next_household_id + np.arange(k)
    created.tenure[:] = np.where(rng.random(k) < d.households.new_household_owns_share,
                                 OWN, RENT)
    created.landlord_draw[:] = rng.random(k)
    copy_land_rights(created, households, persons.household[men[new]])
    created.income[:] = income_m[new] + income_w[new]

    # each household's income less its leavers' and plus its joiners' shares, summed over
    # those persons only, in row order: the sums over every member without the zero terms
    leaving = np.r_[joiner, men[new], women[new]]
    by_row, by_host = np.argsort(leaving), np.argsort(host)
    income_leaving = np.r_[income_joiner, income_m[new], income_w[new]]
    households.income[:] = (
        households.income - groups.sum(income_leaving[by_row], rows=leaving[by_row])
        + groups.sum(income_joiner[by_host], rows=host[by_host]))

    new_hh = len(households) + np.arange(k)
    persons.household[joiner] = persons.household[host]
    persons.household[men[new]], persons.household[women[new]] = new_hh, new_hh
    persons.role[joiner] = SPOUSE
    persons.role[men[new]], persons.role[women[new]] = HEAD, SPOUSE
    persons.married[men], persons.married[women] = True, True
    movers = np.r_[joiner, women[new]]
    anchor = np.r_[host, men[new]]
    moved = (persons.area[movers] != persons.area[anchor]) | \
        (persons.place[movers] != persons.place[anchor])
    persons.area[movers], persons.place[movers] = persons.area[anchor], persons.place[anchor]
    persons.residence_years[movers[moved]] = 0
    return created


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """Age everyone a year, remove the dead, add the newborns, pair single adults."""
    d = p.demography
    n_areas = len(load_areas())
    persons = state.persons
    persons.age += 1

    draw_death, draw_birth = rng.random((2, len(persons)))
    dies = draw_death < death_probability(persons.age, persons.sex, d)
    women = (persons.sex == FEMALE) & (persons.area >= 0)
    share = None
    if d.fertility.married_only:
        share = married_share_by_group(persons, women, d)
        women &= persons.married
    may_give_birth = np.flatnonzero(women & ~dies)  # the chance of these rows only
    mothers = may_give_birth[draw_birth[may_give_birth]
                             < birth_probability(persons.age[may_give_birth], d, share)]
    children = newborns(state, mothers, d, rng)
    # deaths in the first year of life (ages are counted at the end of the year)
    infant_dies = rng.random(len(children)) < death_probability(children.age, children.sex, d)

    w, wc = persons.weight, children.weight  # float32: `per_area` sums in float64
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
    widowed_households = state.by_household.any(dies & persons.married)
    survivors = persons.take(~dies)
    widowed = widowed_households[survivors.household] & survivors.married
    widowed = np.flatnonzero(widowed)
    survivors.married[widowed[spouse_index(survivors, widowed) < 0]] = False
    state.persons = survivors.extend(children)
    promote_heads(state)

    men, women_rows = find_couples(state.persons, d, rng)
    new_households = move_in_together(state, men, women_rows, d, rng)
    state.households = state.households.extend(new_households)
    state.next_household_id += len(new_households)
    promote_heads(state)  # a head who moved in with a partner left a household behind
    return flows
