"""The synthetic 2015 population of Panjin, built from ``sim/data/base_2015.toml``.

How it is built (the usual two-stage method of synthetic populations):

1. **Candidate households** are drawn for every cell area × place × hukou
   status, with members (head, spouse, children, the head's parents) whose
   ages follow the household type — about 1.5 candidates per household needed.
2. **Iterative proportional updating** (IPU, Ye et al. 2009, the household
   version of iterative proportional fitting) reweights the candidates so
   that persons per cell, the city's broad age groups and its sex ratio all
   match the base data at once.
3. **Integerization**: each candidate is kept ``floor(w)`` times plus once more
   with probability ``w - floor(w)``, so counts are right in expectation.

Person attributes (education, work, insurance, tenure, land rights, …) are
then drawn conditionally on status, age and sex. `FitReport` says how close
every marginal came; the run's manifest carries it.

Example
-------
>>> import numpy as np
>>> state, fit = synthesize(scale=0.002, rng=np.random.default_rng(1))
>>> fit.worst_error() < 0.05
True
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sim.areas import load_areas
from sim.population import (
    CHILD,
    COLLEGE,
    DORMITORY,
    EMPLOYED,
    HEAD,
    JUNIOR,
    LIAONING,
    NONE,
    NOT_WORKING,
    OTHER_PROVINCE,
    OUTSIDE,
    PANJIN,
    PARENT,
    PLACES,
    PRIMARY,
    RENT,
    SECONDARY_SPECIALIZED,
    SELF_EMPLOYED,
    SENIOR,
    SPOUSE,
    TECHNICAL_SCHOOL,
    VILLAGE,
    Households,
    Persons,
    State,
)

STATUSES = ("local_urban", "local_rural_home", "local_rural_away",
            "migrant_liaoning", "migrant_province")
LOCAL_URBAN, LOCAL_RURAL_HOME, LOCAL_RURAL_AWAY, MIGRANT_LIAONING, MIGRANT_PROVINCE = range(5)
# the next level on the general ladder primary → junior → senior → college;
# vocational qualifications (中专, 技校/职高) stay what they are
ONE_LEVEL_UP = np.array([JUNIOR, SENIOR, COLLEGE, SECONDARY_SPECIALIZED, TECHNICAL_SCHOOL,
                         COLLEGE])
HOUSEHOLD_TYPES = ("single", "couple", "couple_children", "single_parent", "three_generation")
CANDIDATES_PER_HOUSEHOLD = 1.5
MAX_AGE = 100
OLDEST_BAND_END = 95  # the open 85+ band is spread over 85–94


class BaseDataError(ValueError):
    """The base data file is inconsistent (names the file and the field)."""


def load_base(path: str | Path | None = None) -> dict[str, Any]:
    """Read the base-year data (the shipped ``base_2015.toml`` by default)."""
    if path is None:
        text = resources.files("sim.data").joinpath("base_2015.toml").read_text("utf-8")
        name = "sim/data/base_2015.toml"
    else:
        text, name = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        base = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BaseDataError(f"{name}: {e}") from None
    base["_file"] = name
    _check_base(base)
    return base


def _check_base(base: dict[str, Any]) -> None:
    areas = load_areas()
    name = base["_file"]
    missing = [a for a in areas.ids if a not in base.get("area", {})]
    if missing:
        raise BaseDataError(f"{name}: [area] lacks {', '.join(missing)}")
    for a in areas.ids:
        shares = base["area"][a]["place_shares"]
        if set(shares) != set(PLACES) or abs(sum(shares.values()) - 1) > 1e-6:
            raise BaseDataError(f"{name}: area.{a}.place_shares must give {', '.join(PLACES)} "
                                f"summing to 1, got {shares}")
    tables = [("hukou_by_place", base["hukou_by_place"])] + [
        (f"area.{a}.hukou_by_place", base["area"][a]["hukou_by_place"])
        for a in areas.ids if "hukou_by_place" in base["area"][a]]
    for where, table in tables:
        for place in table:
            row = table[place]
            if place == "statuses":
                continue
            if place not in PLACES:
                raise BaseDataError(f"{name}: {where}.{place}: unknown place; "
                                    f"valid: {', '.join(PLACES)}")
            if len(row) != len(STATUSES) or abs(sum(row) - 1) > 1e-6:
                raise BaseDataError(f"{name}: {where}.{place} must give {len(STATUSES)} "
                                    f"shares ({', '.join(STATUSES)}) summing to 1")


@dataclass
class FitReport:
    """Target vs synthesized value for every marginal the synthesis fits."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, marginal: str, key: str, target: float, synthesized: float) -> None:
        err = (synthesized - target) / target if target else 0.0
        self.rows.append({"marginal": marginal, "key": key, "target": round(target, 3),
                          "synthesized": round(synthesized, 3), "relative_error": round(err, 5)})

    def worst_error(self, marginal: str | None = None) -> float:
        errs = [abs(r["relative_error"]) for r in self.rows
                if marginal is None or r["marginal"] == marginal]
        return max(errs, default=0.0)


def choice_by_group(rng: np.random.Generator, table: np.ndarray,
                    group: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the probability row ``table[group]``.

    >>> rng = np.random.default_rng(0)
    >>> choice_by_group(rng, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 1])).tolist()
    [0, 1, 1]
    """
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(group))
    out = (u[:, None] > cum[group]).sum(axis=1)
    return np.minimum(out, table.shape[1] - 1)


def _ages_from_shape(rng: np.random.Generator, bands: np.ndarray, shape: np.ndarray,
                     n: int, min_age: int = 0) -> np.ndarray:
    """Single-year ages drawn from 5-year band weights, at least ``min_age``."""
    upper = np.r_[bands[1:], OLDEST_BAND_END]
    w = shape * np.clip((upper - np.maximum(bands, min_age)) / (upper - bands), 0, 1)
    band = rng.choice(len(bands), size=n, p=w / w.sum())
    lo = np.maximum(bands[band], min_age)
    return (lo + rng.random(n) * (upper[band] - lo)).astype(np.int16)


def status_shares(base: dict[str, Any]) -> np.ndarray:
    """Shares of residents by hukou status, array (area, place, status).

    The city-wide ``hukou_by_place`` table, replaced where an area gives its own
    ``[area.<id>.hukou_by_place]`` row for a place.
    """
    areas = load_areas()
    city = np.array([base["hukou_by_place"][k] for k in PLACES])
    out = np.repeat(city[None], len(areas), axis=0)
    for i, a in enumerate(areas.ids):
        for k, row in base["area"][a].get("hukou_by_place", {}).items():
            out[i, PLACES.index(k)] = row
    return out


def _candidate_households(base: dict, cell_persons: np.ndarray, scale: float,
                          rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Candidate members, one row per person, with their candidate household."""
    hh_conf, age_conf = base["households"], base["age"]
    bands = np.array(age_conf["bands"])
    mean_size = base["city"]["persons_per_household"]
    n_cand = np.ceil(cell_persons * scale / mean_size * CANDIDATES_PER_HOUSEHOLD).astype(int)
    n_cand[cell_persons > 0] += 3
    cell = np.repeat(np.arange(cell_persons.size), n_cand.ravel())
    status = cell % len(STATUSES)
    migrant = status >= MIGRANT_LIAONING
    n = len(cell)
    mix = np.array([hh_conf["local_mix"], hh_conf["migrant_mix"]])
    htype = choice_by_group(rng, mix, migrant.astype(int))
    shapes = [np.array(age_conf["local_shape"]), np.array(age_conf["migrant_shape"])]
    head_age = np.where(migrant, _ages_from_shape(rng, bands, shapes[1], n, 20),
                        _ages_from_shape(rng, bands, shapes[0], n, 20))
    # a head past 60 rarely lives with a living parent: such households become
    # couples with children instead
    htype[(htype == 4) & (head_age >= 60)] = 2
    head_sex = (rng.random(n) < np.where(htype == 3, 0.2, 0.8)).astype(np.int8)
    has_spouse = np.isin(htype, (1, 2, 4))
    spouse_age = np.clip(head_age + np.where(head_sex == 1, -2, 2)
                         + rng.normal(0, 3, n).round().astype(int), 20, MAX_AGE)
    mother_age = np.where(head_sex == 0, head_age, np.where(has_spouse, spouse_age, head_age))
    n_children = np.where(np.isin(htype, (2, 3, 4)),
                          1 + choice_by_group(rng, np.array([hh_conf["children_per_family"]]),
                                              np.zeros(n, int)), 0)
    n_parents = np.where(htype == 4, 1 + (rng.random(n) < 0.5), 0)

    members = [(np.ones(n, bool), head_age, head_sex, HEAD),
               (has_spouse, spouse_age, 1 - head_sex, SPOUSE)]
    for k in range(3):
        age = mother_age - rng.integers(22, 37, n) - 2 * k
        members.append((n_children > k, age, (rng.random(n) < 0.52).astype(np.int8), CHILD))
    for k in range(2):
        age = np.minimum(head_age + rng.integers(24, 33, n), OLDEST_BAND_END)
        members.append((n_parents > k, age, np.full(n, 1 - k, np.int8), PARENT))
    present = np.stack([m[0] & (m[1] >= 0) for m in members], axis=1)
    hh_index = np.repeat(np.arange(n)[:, None], len(members), axis=1)[present]
    return {
        "household": hh_index,
        "age": np.stack([m[1] for m in members], axis=1)[present].astype(np.int16),
        "sex": np.stack([m[2] for m in members], axis=1)[present].astype(np.int8),
        "role": np.stack([np.full(n, m[3]) for m in members], axis=1)[present].astype(np.int8),
        "married": np.stack([has_spouse & (m[3] in (HEAD, SPOUSE)) for m in members],
                            axis=1)[present],
        "household_cell": cell,
        "household_type": htype,
    }


def _ipu(household_group: np.ndarray, group_targets: np.ndarray, sizes: np.ndarray,
         person_household: np.ndarray, person_targets: list[tuple[np.ndarray, float]],
         max_iterations: int = 200, tolerance: float = 1e-4) -> np.ndarray:
    """Household weights so that weighted person counts hit every target.

    Two kinds of target: persons per household group (each household is in one
    group: one vectorized pass updates them all) and persons with a property
    (``(mask over persons, target count)``: one pass each). Iterates until
    every target is met within ``tolerance`` (relative).

    Households alike in group, size and persons counted by each target start with the
    same weight and get the same factors, so the iteration runs on these kinds of
    household (a few thousand), each standing for its ``multiplicity`` of households:
    the same algorithm as over every household, twenty times faster.
    """
    n = len(household_group)
    counts = np.stack([np.bincount(person_household[mask], minlength=n)
                       for mask, _ in person_targets])
    kinds, kind_of, multiplicity = np.unique(
        np.vstack([household_group, sizes, counts]), axis=1, return_inverse=True,
        return_counts=True)
    group, persons = kinds[0], kinds[1] * multiplicity.astype(float)
    incidence = kinds[2:] * multiplicity.astype(float)  # persons counted, all alike households
    touched = [np.flatnonzero(inc) for inc in incidence]
    goals = np.array([t for _, t in person_targets])
    ok = group_targets > 0
    w = np.ones(len(group))
    achieved = np.bincount(group, weights=w * persons, minlength=len(group_targets))
    for _ in range(max_iterations):
        factor = np.divide(group_targets, achieved, out=np.ones_like(achieved),
                           where=achieved > 0)
        w *= factor[group]
        for (_, target), inc, rows in zip(person_targets, incidence, touched, strict=True):
            w[rows] *= target / (inc @ w)
        worst_person = np.max(np.abs(incidence @ w / goals - 1))
        achieved = np.bincount(group, weights=w * persons, minlength=len(group_targets))
        worst_group = np.max(np.abs(achieved[ok] / group_targets[ok] - 1))
        if max(worst_person, worst_group) < tolerance:
            break
    return w[kind_of]


def synthesize(scale: float = 1.0, rng: np.random.Generator | None = None,
               base: dict[str, Any] | None = None) -> tuple[State, FitReport]:
    """Build the 2015 population at ``scale`` (1.0 = one agent per person).

    Each agent carries ``weight = 1/scale`` persons.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    rng = rng if rng is not None else np.random.default_rng()
    base = base if base is not None else load_base()
    areas = load_areas()
    n_a, n_p, n_s = len(areas), len(PLACES), len(STATUSES)

    pop = np.array([base["area"][a]["resident_population"] for a in areas.ids], float)
    place = np.array([[base["area"][a]["place_shares"][k] for k in PLACES] for a in areas.ids])
    status = status_shares(base)
    cell_persons = pop[:, None, None] * place[:, :, None] * status

    cand = _candidate_households(base, cell_persons, scale, rng)
    n_cand = len(cand["household_cell"])
    total = pop.sum() * scale
    targets = []
    groups = base["age"]["target_groups"]
    for (lo, hi), share in zip(groups, base["age"]["target_shares"], strict=True):
        targets.append(((cand["age"] >= lo) & (cand["age"] < hi), share * total))
    targets.append((cand["sex"] == 1, base["age"]["male_share"] * total))
    sizes = np.bincount(cand["household"], minlength=n_cand)
    w = _ipu(cand["household_cell"], cell_persons.ravel() * scale, sizes, cand["household"],
             targets)

    copies = np.floor(w).astype(int) + (rng.random(n_cand) < w - np.floor(w))
    keep_hh = np.repeat(np.arange(n_cand), copies)
    # persons of every kept copy, gathered by candidate household
    order = np.argsort(cand["household"], kind="stable")
    starts = np.searchsorted(cand["household"][order], np.arange(n_cand))
    rows = _expand(order, starts[keep_hh], sizes[keep_hh])
    hh_of_person = np.repeat(np.arange(len(keep_hh)), sizes[keep_hh])

    hh_cell = cand["household_cell"][keep_hh]
    h_area, h_place, h_status = np.unravel_index(hh_cell, (n_a, n_p, n_s))
    persons = Persons.empty(len(rows))
    persons.id[:] = np.arange(len(rows))
    persons.household[:] = hh_of_person
    persons.weight[:] = 1.0 / scale
    for col in ("age", "sex", "role", "married"):
        getattr(persons, col)[:] = cand[col][rows]
    persons.area[:] = h_area[hh_of_person]
    persons.place[:] = h_place[hh_of_person]
    p_status = h_status[hh_of_person]

    households = Households.empty(len(keep_hh))
    households.id[:] = np.arange(len(keep_hh))
    _assign_hukou(persons, p_status, hh_of_person, base, rng)
    _assign_life_course(persons, p_status, base, rng)
    _assign_households(persons, households, h_status, base, rng)

    outside_p, outside_h = _registered_outside(base, scale, rng, len(persons), len(households))
    persons, households = persons.extend(outside_p), households.extend(outside_h)
    state = State(persons=persons, households=households, year=base["year"],
                  next_person_id=len(persons), next_household_id=len(households))
    return state, fit_report(state, base, scale)


def _expand(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenate ``order[start:start+size]`` for every (start, size) pair."""
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return order[np.repeat(starts, sizes) + offsets]


def _assign_hukou(persons: Persons, status: np.ndarray, household: np.ndarray,
                  base: dict, rng: np.random.Generator) -> None:
    areas = load_areas()
    n = len(persons)
    local = status <= LOCAL_RURAL_AWAY
    persons.hukou_area[:] = np.where(local, persons.area, OUTSIDE)
    away = status == LOCAL_RURAL_AWAY
    hh_draw = rng.random(household.max() + 1)[household]
    other = away & (hh_draw < base["migrants"]["cross_area_share"])
    # one other area per household, never the one it lives in
    shift = rng.integers(1, len(areas), household.max() + 1)[household]
    persons.hukou_area[other] = (persons.area[other] + shift[other]) % len(areas)
    persons.origin[:] = np.select([local, status == MIGRANT_LIAONING], [PANJIN, LIAONING],
                                  OTHER_PROVINCE)
    urban_share = base["migrants"]["urban_hukou_share"]
    migrant_urban = rng.random(household.max() + 1)[household] < urban_share
    persons.hukou_urban[:] = (status == LOCAL_URBAN) | (~local & migrant_urban)
    rural_local = local & ~persons.hukou_urban
    villages = np.array([base["area"][a]["villages"] for a in areas.ids])
    first = np.r_[0, np.cumsum(villages)[:-1]]
    hh_village = rng.random(household.max() + 1)[household]
    ha = np.clip(persons.hukou_area, 0, None)
    persons.village[:] = np.where(rural_local,
                                  first[ha] + (hh_village * villages[ha]).astype(int), NONE)
    persons.residence_years[:] = np.where(
        status <= LOCAL_RURAL_HOME, persons.age,
        np.minimum(persons.age, rng.exponential(base["residence"]["mean_years_migrant"], n)))


def _status_group(status: np.ndarray) -> np.ndarray:
    """Collapse the five statuses to the four groups of the attribute tables."""
    return np.minimum(status, MIGRANT_LIAONING)


def _assign_life_course(persons: Persons, status: np.ndarray, base: dict,
                        rng: np.random.Generator) -> None:
    n, age, sex = len(persons), persons.age, persons.sex
    edu, emp = base["education"], base["employment"]
    group = _status_group(status)
    rural = (group == LOCAL_RURAL_HOME) | (group == LOCAL_RURAL_AWAY)
    edu_group = np.where(group == LOCAL_URBAN, 0, np.where(rural, 1, 2))
    adult_edu = choice_by_group(rng, np.array([edu["local_urban"], edu["local_rural"],
                                               edu["migrant"]]), edu_group)
    shift = (age < 40) & (rng.random(n) < edu["young_shift_probability"])
    adult_edu = np.where(shift, ONE_LEVEL_UP[adult_edu], adult_edu)
    persons.education[:] = np.select([age < 15, age < 18], [PRIMARY, JUNIOR], adult_edu)
    persons.vocational_cert[:] = ((persons.education == TECHNICAL_SCHOOL)
                                  & (rng.random(n) < edu["vocational_cert_share"]))

    retirement_age = np.where(sex == 1, 60, 55)  # noqa: PLR2004 - as life_course.work
    working_age = (age >= 18) & (age < retirement_age)  # noqa: PLR2004 - school-leaving age
    table = np.array([emp["local_urban"], emp["local_rural_home"], emp["local_rural_away"],
                      emp["migrant"]])
    persons.employment[:] = np.where(working_age, choice_by_group(rng, table, group), NOT_WORKING)
    employee = persons.employment == EMPLOYED
    contract_p = np.where(group == MIGRANT_LIAONING, emp["labour_contract_migrant"],
                          emp["labour_contract_local"])
    persons.labour_contract[:] = employee & (rng.random(n) < contract_p)
    persons.legal_person_employer[:] = employee & (rng.random(n)
                                                   < emp["legal_person_employer_share"])
    working = np.isin(persons.employment, (EMPLOYED, SELF_EMPLOYED))
    work_span = np.maximum(age - 18, 0)  # noqa: PLR2004 - school-leaving age
    persons.job_years[:] = np.where(
        working, np.minimum(rng.exponential(emp["mean_job_years"], n), work_span), 0)
    insured_p = np.where(persons.labour_contract, emp["insured_with_contract"],
                         emp["insured_without_contract"])
    persons.insured[:] = working & (rng.random(n) < insured_p)
    low, high = base["pension"]["contribution_density"]
    career = np.floor(work_span * rng.uniform(low, high, n))
    persons.insurance_years[:] = np.where(persons.insured,
                                          np.maximum(career, persons.job_years), 0)
    _assign_pensions(persons, group, retirement_age, base["pension"], rng)
    rep = ((persons.employment == SELF_EMPLOYED)
           & (rng.random(n) < emp["enterprise_rep_share_of_self_employed"]))
    persons.enterprise_rep[:] = rep
    licensed = rep & (rng.random(n) < emp["licence_and_premises_share"])
    persons.business_premises[:] = licensed
    persons.business_licence[:] = licensed
    persons.tax_years[:] = np.where(licensed, np.minimum(persons.job_years, 10), 0)
    persons.tax_relief[:] = licensed & (rng.random(n) < emp["tax_relief_share"])
    persons.investment[:] = np.where(
        rep, rng.lognormal(np.log(emp["investment_median"]), emp["investment_sigma"], n), 0.0)
    in_school = (age >= 6) & (age < 18)
    persons.school_years_local[:] = np.where(
        in_school, np.minimum(age - 6, persons.residence_years), 0)


def _assign_pensions(persons: Persons, group: np.ndarray, retirement_age: np.ndarray,
                     pension: dict, rng: np.random.Generator) -> None:
    """Retirees (past retirement age, or not working past the early-retirement age): an
    employee pension (职工养老金) for a share by status, with a frozen record of cumulative
    contribution years (累计缴费年限) between the minimum and their working span; the others
    have no employee contribution record."""
    n = len(persons)
    retired = ((persons.age >= retirement_age)
               | (persons.employment == NOT_WORKING)
               & (persons.age >= pension["early_retirement_age"]))
    share = np.asarray(pension["employee_pension_share"], float)[group]
    pensioner = retired & (rng.random(n) < share)
    least = pension["minimum_contribution_years"]
    most = np.maximum(retirement_age - 18, least)  # noqa: PLR2004 - school-leaving age
    years = least + np.floor(rng.random(n) * (most - least + 1))
    persons.employee_pension[:] = pensioner
    persons.insurance_years[retired] = np.where(pensioner[retired], years[retired], 0)


def _assign_households(persons: Persons, households: Households,
                       h_status: np.ndarray, base: dict, rng: np.random.Generator) -> None:
    n_h = len(households)
    ten, land, inc = base["tenure"], base["land"], base["income"]
    group = _status_group(h_status)
    table = np.array([ten["local_urban"], ten["local_rural_home"], ten["local_rural_away"],
                      ten["migrant"]])
    households.tenure[:] = choice_by_group(rng, table, group)
    households.landlord_draw[:] = rng.random(n_h)
    head = persons.role == HEAD
    rural_hukou = np.zeros(n_h, bool)
    rural_hukou[persons.household[head]] = ~persons.hukou_urban[head]
    households.contract_land[:] = rural_hukou & (rng.random(n_h) < land["contract_land_rural"])
    households.homestead[:] = rural_hukou & (rng.random(n_h) < land["homestead_rural"])
    households.collective_income[:] = rural_hukou & (rng.random(n_h)
                                                     < land["collective_income_rural"])
    per_person = np.select([group == LOCAL_URBAN, group == MIGRANT_LIAONING],
                           [inc["urban_per_person"], inc["migrant_per_person"]],
                           inc["rural_per_person"])
    size = np.bincount(persons.household, minlength=n_h)
    noise = rng.lognormal(-inc["sigma"] ** 2 / 2, inc["sigma"], n_h)
    households.income[:] = per_person * size * noise
    # dormitory dwellers are employees (their employer houses them)
    dorm = households.tenure[persons.household] == DORMITORY
    persons.employment[dorm & (persons.employment == NOT_WORKING) & (persons.age >= 18)
                       & (persons.age < 55)] = EMPLOYED


def _registered_outside(base: dict, scale: float, rng: np.random.Generator,
                        first_person: int, first_household: int) -> tuple[Persons, Households]:
    """Panjin hukou holders living outside Panjin: each their own household."""
    areas = load_areas()
    counts = np.array([base["area"][a]["registered_living_outside"] for a in areas.ids]) * scale
    n_per_area = np.floor(counts).astype(int) + (rng.random(len(counts)) < counts % 1)
    n = int(n_per_area.sum())
    p = Persons.empty(n)
    p.id[:] = first_person + np.arange(n)
    p.household[:] = first_household + np.arange(n)
    p.weight[:] = 1.0 / scale
    p.area[:] = OUTSIDE
    p.place[:] = NONE
    p.hukou_area[:] = np.repeat(np.arange(len(areas)), n_per_area)
    p.hukou_urban[:] = rng.random(n) < base["migrants"]["outside_urban_share"]
    p.origin[:] = PANJIN
    bands = np.array(base["age"]["bands"])
    p.age[:] = _ages_from_shape(rng, bands, np.array(base["age"]["migrant_shape"]), n, 18)
    p.sex[:] = rng.random(n) < base["age"]["male_share"]
    villages = np.array([base["area"][a]["villages"] for a in areas.ids])
    first = np.r_[0, np.cumsum(villages)[:-1]]
    ha = p.hukou_area
    p.village[:] = np.where(p.hukou_urban, NONE,
                            first[ha] + (rng.random(n) * villages[ha]).astype(int))
    # they lived like Panjin's own rural people in town before they left
    _assign_life_course(p, np.full(n, LOCAL_RURAL_AWAY), base, rng)
    h = Households.empty(n)
    h.id[:] = first_household + np.arange(n)
    h.tenure[:] = RENT
    h.landlord_draw[:] = rng.random(n)
    h.income[:] = base["income"]["migrant_per_person"]
    return p, h


def fit_report(state: State, base: dict, scale: float) -> FitReport:
    """Compare the synthesized population with every marginal of the base data."""
    areas = load_areas()
    p = state.persons
    inside = p.area >= 0
    w = p.weight.astype(float)
    fit = FitReport()
    fit.add("city", "resident_population", base["city"]["resident_population"],
            w[inside].sum())
    urban = inside & (p.place != VILLAGE)
    fit.add("city", "urban_resident_population", base["city"]["urban_resident_population"],
            w[urban].sum())
    fit.add("city", "registered_population", base["city"]["registered_population"],
            w[p.hukou_area >= 0].sum())
    for i, a in enumerate(areas.ids):
        fit.add("area", a, base["area"][a]["resident_population"], w[p.area == i].sum())
    total = w[inside].sum()
    for (lo, hi), share in zip(base["age"]["target_groups"], base["age"]["target_shares"],
                               strict=True):
        sel = inside & (p.age >= lo) & (p.age < hi)
        fit.add("age_share", f"{lo}-{hi - 1}", share, w[sel].sum() / total)
    fit.add("sex", "male_share", base["age"]["male_share"],
            w[inside & (p.sex == 1)].sum() / total)
    n_households = len(np.unique(p.household[inside]))
    fit.add("households", "persons_per_household", base["city"]["persons_per_household"],
            inside.sum() / n_households)
    return fit
