"""The synthetic 2015 population of Panjin, built from ``sim/data/base_2015.toml``.

How it is built (the usual two-stage method of synthetic populations):

1. **Candidate households** are drawn for every cell area × place × hukou
   status, with members (head, spouse, children, the head's parents) whose
   ages follow the household type — about 1.5 candidates per household needed.
2. **Iterative proportional updating** (IPU, Ye et al. 2009, the household
   version of iterative proportional fitting) reweights the candidates so
   that persons per cell, every 5-year age band of the city (`age_targets`),
   the men of the old bands and the sex ratio all match the base data at once.
   Single ages are smooth inside the bands and the open 85+ band thins out as
   the life table's survivors (`single_year_weights`).
3. **Integerization**: each candidate is kept ``floor(w)`` times plus once more
   with probability ``w - floor(w)``, so counts are right in expectation.

Person attributes (education, work, insurance, tenure, land rights, …) are
then drawn conditionally on status, age and sex. `FitReport` says how close
every marginal came; the run's manifest carries it.

Example
-------
>>> import numpy as np
>>> state, fit = synthesize(scale=0.002, rng=np.random.default_rng(1))
>>> bool(fit.worst_error("city") < 0.05)
True
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim.areas import load_areas
from sim.pipeline.demography import survivorship
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
    CodeTable,
    Households,
    Persons,
    State,
)
from sim.scenario import YearParameters, load_defaults


class BaseStatus(CodeTable):
    """Hukou status of a base-year resident, the cells of ``base_2015.toml``'s
    ``hukou_by_place`` (not the entitlement status `sim.population.Status`)."""

    LOCAL_URBAN = 0
    LOCAL_RURAL_HOME = 1
    LOCAL_RURAL_AWAY = 2
    MIGRANT_LIAONING = 3
    MIGRANT_PROVINCE = 4


STATUSES = BaseStatus.labels()
LOCAL_URBAN, LOCAL_RURAL_HOME, LOCAL_RURAL_AWAY, MIGRANT_LIAONING, MIGRANT_PROVINCE = BaseStatus
# the next level on the general ladder primary → junior → senior → college;
# vocational qualifications (中专, 技校/职高) stay what they are
ONE_LEVEL_UP = np.array([JUNIOR, SENIOR, COLLEGE, SECONDARY_SPECIALIZED, TECHNICAL_SCHOOL,
                         COLLEGE])
HOUSEHOLD_TYPES = ("single", "couple", "couple_children", "single_parent", "three_generation")
COUPLE_WITH_CHILDREN, THREE_GENERATION = 2, 4
OPEN_GROUP_END = 120  # age.target_groups end an open group here
TYPES_WITH_SPOUSE = (1, 2, 4)
TYPES_WITH_CHILDREN = (2, 3, 4)
MAX_CHILDREN, MAX_PARENTS = 3, 2
CANDIDATES_PER_HOUSEHOLD = 1.5
SHARE_SUM_TOLERANCE = 1e-6  # shares read from the base data must sum to 1 within this


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
        if set(shares) != set(PLACES) or abs(sum(shares.values()) - 1) > SHARE_SUM_TOLERANCE:
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
            if len(row) != len(STATUSES) or abs(sum(row) - 1) > SHARE_SUM_TOLERANCE:
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
        return float(max(errs, default=0.0))


def setter(table: Persons | Households, given: dict[str, np.ndarray] | None = None
           ) -> Callable[[str, np.ndarray], None]:
    """A function that stores drawn values in a column of ``table``, except in the rows
    where ``given[column]`` is True: an imported registry extract (`sim.registry`) keeps
    the values it has and gets the synthetic model's draws for the rest, from the same
    code and in the same order as the synthetic population.

    >>> t = Persons.empty(2)
    >>> t.age[:] = [30, 5]
    >>> setter(t, {"age": np.array([True, False])})("age", np.array([40, 50]))
    >>> t.age.tolist()
    [30, 50]
    """
    given = given or {}

    def put(column: str, values: np.ndarray) -> None:
        keep = given.get(column)
        target = getattr(table, column)
        target[:] = values if keep is None else np.where(keep, target, values)
    return put


def choice_by_group(rng: np.random.Generator, table: np.ndarray,
                    group: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the probability row ``table[group]``.

    >>> rng = np.random.default_rng(0)
    >>> choice_by_group(rng, np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 1])).tolist()
    [0, 1, 1]
    """
    cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(group))
    # the number of cumulative shares below each draw, counted one share of its group at a
    # time: the count of ``u > cum[group]`` without a row of shares per draw (a table of
    # draws × categories: 106-117 against 63-65 ms for 1.5 million draws of 6 categories,
    # the draws included)
    if len(group) and (group.min() < 0 or group.max() >= len(cum)):
        raise IndexError(f"choice_by_group: a group outside the table's {len(cum)} rows")
    out = np.zeros(len(group), np.int16)
    for g, shares in enumerate(cum):
        mine = group == g
        for share in shares:
            out += mine & (u > share)
    return np.minimum(out, table.shape[1] - 1, dtype=np.intp)


def single_year_weights(bands: np.ndarray, shape: np.ndarray,
                        survivors: np.ndarray) -> np.ndarray:
    """Weights of the single ages 0…len(survivors)−1 from 5-year band weights (the last band
    open): smooth inside the closed bands, and life-table decay in the open one.

    - Closed bands: the density (band weight per year) is interpolated linearly between
      band midpoints, then rescaled so that each band keeps its weight: no step at band
      edges where neighbouring bands differ, no flat plateau inside a band.
    - The open band (85+ in the census): its weight is spread in proportion to the
      survivors ``l(x)`` of the life table (`demography.survivorship`), as a cohort thins out
      — not evenly over a fixed span, which put too many people at 90–94 and none above.

    >>> w = single_year_weights(np.array([0, 5]), np.array([5.0, 1.0]),
    ...                         np.array([1, 1, 1, 1, 1, 1, .5, .25, 0]))
    >>> [round(float(x), 3) for x in w]
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.571, 0.286, 0.143, 0.0]
    """
    ages = np.arange(len(survivors))
    last = bands[-1]
    widths = np.diff(bands)
    density = np.interp(ages + 0.5, bands[:-1] + widths / 2, shape[:-1] / widths)
    band = np.searchsorted(bands, ages, side="right") - 1
    closed = ages < last
    in_band = np.bincount(band[closed], weights=density[closed], minlength=len(bands))
    weights = np.zeros(len(ages))
    weights[closed] = density[closed] * np.divide(
        shape, in_band, out=np.zeros(len(bands)), where=in_band > 0)[band[closed]]
    weights[~closed] = shape[-1] * survivors[~closed] / survivors[~closed].sum()
    return weights


def _draw_ages(rng: np.random.Generator, weights: np.ndarray, n: int,
               min_age: int = 0) -> np.ndarray:
    """``n`` single ages drawn from `single_year_weights`, at least ``min_age``."""
    w = np.where(np.arange(len(weights)) >= min_age, weights, 0.0)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int16)


def both_sexes_survivorship(base: dict[str, Any], d: Any) -> np.ndarray:
    """Life-table survivors of a birth cohort of both sexes (mixed by the old cohorts'
    share of boys at birth, ``age.old_cohorts_male_share_at_birth``)."""
    boys = base["age"]["old_cohorts_male_share_at_birth"]
    return boys * survivorship(1, d) + (1 - boys) * survivorship(0, d)


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


def resident_cells(base: dict[str, Any]) -> np.ndarray:
    """Residents per cell, array (area, place, status): population × place share × status
    share."""
    areas = load_areas()
    pop = np.array([base["area"][a]["resident_population"] for a in areas.ids], float)
    place = np.array([[base["area"][a]["place_shares"][k] for k in PLACES] for a in areas.ids])
    return pop[:, None, None] * place[:, :, None] * status_shares(base)


def _open_end(hi: int) -> int:
    return 1000 if hi >= OPEN_GROUP_END else hi


def age_targets(base: dict[str, Any], d: Any) -> list[dict[str, Any]]:
    """The age–sex structure the synthesis fits, as shares of all residents: one row per
    5-year band (``sex`` None), and one for the men of each band from
    ``age.sex_by_survivorship_from`` on (``sex`` 1).

    - A band's share is its target group's share (``age.target_groups`` /
      ``target_shares``) split over the group's bands by the residents' age shape: the
      local and migrant shapes mixed by the residents' statuses.
    - Men's share of an old band is that of a life-table population born with the old
      cohorts' share of boys (``age.old_cohorts_male_share_at_birth``): women outlive men,
      so most of the oldest old are women.

    ``d`` is the demography parameters (``p.demography``) whose life table is used.
    """
    age = base["age"]
    bands = np.array(age["bands"])
    cells = resident_cells(base)
    migrant = cells[..., MIGRANT_LIAONING:].sum() / cells.sum()
    local_shape = np.array(age["local_shape"], float)
    migrant_shape = np.array(age["migrant_shape"], float)
    mixed = ((1 - migrant) * local_shape / local_shape.sum()
             + migrant * migrant_shape / migrant_shape.sum())
    upper = np.r_[bands[1:], OPEN_GROUP_END]
    boys = age["old_cohorts_male_share_at_birth"]
    l_men, l_women = survivorship(1, d), survivorship(0, d)
    rows = []
    for (lo, hi), share in zip(age["target_groups"], age["target_shares"], strict=True):
        inside = (bands >= lo) & (bands < hi)
        if (upper[inside] > hi).any() or not inside.any():
            raise BaseDataError(f"{base['_file']}: age.target_groups: group {lo}–{hi} must "
                                f"start and end on an edge of age.bands {age['bands']}")
        for b in np.flatnonzero(inside):
            band_share = share * mixed[b] / mixed[inside].sum()
            rows.append({"lo": int(bands[b]), "hi": _open_end(int(upper[b])), "sex": None,
                         "share": band_share})
            if bands[b] >= age["sex_by_survivorship_from"]:
                years = slice(int(bands[b]), int(upper[b]))
                men = boys * l_men[years].sum()
                women = (1 - boys) * l_women[years].sum()
                rows.append({"lo": int(bands[b]), "hi": _open_end(int(upper[b])), "sex": 1,
                             "share": band_share * men / (men + women)})
    return rows


def _candidate_households(base: dict, cell_persons: np.ndarray, scale: float,
                          d: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
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
    survivors = both_sexes_survivorship(base, d)
    min_head = hh_conf["head_min_age"]
    local_ages = single_year_weights(bands, np.array(age_conf["local_shape"], float), survivors)
    migrant_ages = single_year_weights(bands, np.array(age_conf["migrant_shape"], float),
                                       survivors)
    head_age = np.where(migrant, _draw_ages(rng, migrant_ages, n, min_head),
                        _draw_ages(rng, local_ages, n, min_head))
    # a head this old rarely lives with a living parent: such households become couples
    # with children instead
    htype[(htype == THREE_GENERATION)
          & (head_age >= hh_conf["three_generation_max_head_age"])] = COUPLE_WITH_CHILDREN
    head_sex = (rng.random(n) < np.asarray(hh_conf["head_male_share"])[htype]).astype(np.int8)
    has_spouse = np.isin(htype, TYPES_WITH_SPOUSE)
    spouse_age = _spouse_ages(head_age, head_sex, hh_conf, len(survivors) - 1, rng)
    mother_age = np.where(head_sex == 0, head_age, np.where(has_spouse, spouse_age, head_age))
    n_children = np.where(np.isin(htype, TYPES_WITH_CHILDREN),
                          1 + choice_by_group(rng, np.array([hh_conf["children_per_family"]]),
                                              np.zeros(n, int)), 0)
    two_parents = rng.random(n) < hh_conf["two_parents_share"]
    n_parents = np.where(htype == THREE_GENERATION, 1 + two_parents, 0)
    # a lone parent is the mother with this chance; of two, the first is the father
    lone_father = rng.random(n) >= hh_conf["lone_parent_mother_share"]

    members = [(np.ones(n, bool), head_age, head_sex, HEAD),
               (has_spouse, spouse_age, 1 - head_sex, SPOUSE)]
    first_birth, last_birth = hh_conf["mother_age_at_first_birth"]
    boys = d.fertility.male_share_at_birth
    for k in range(MAX_CHILDREN):
        age = mother_age - rng.integers(first_birth, last_birth + 1, n) \
            - hh_conf["birth_spacing_years"] * k
        members.append((n_children > k, age, (rng.random(n) < boys).astype(np.int8), CHILD))
    youngest, oldest = hh_conf["parent_age_gap"]
    for k in range(MAX_PARENTS):
        age = head_age + rng.integers(youngest, oldest + 1, n)
        sex = np.where(two_parents, 1 - k, lone_father).astype(np.int8)
        members.append((n_parents > k, age, sex, PARENT))
    present = np.stack([m[0] & (m[1] >= 0) for m in members], axis=1)
    # a candidate per row, a member per column: the rows of the members present are their
    # households, the columns their roles (no table of row numbers or roles is built)
    hh_index, slot = np.nonzero(present)
    return {
        "household": hh_index,
        "age": np.stack([m[1].astype(np.int16) for m in members], axis=1)[present],
        "sex": np.stack([m[2].astype(np.int8) for m in members], axis=1)[present],
        "role": np.array([m[3] for m in members], np.int8)[slot],
        "married": np.stack([has_spouse & (m[3] in (HEAD, SPOUSE)) for m in members],
                            axis=1)[present],
        "household_cell": cell,
        "household_type": htype,
    }


def _spouse_ages(head_age: np.ndarray, head_sex: np.ndarray, hh_conf: dict, oldest: int,
                 rng: np.random.Generator) -> np.ndarray:
    """A spouse's age: the head's, less the usual gap when the head is the husband (more
    when the wife), plus normal noise truncated at the spouse's legal marriage age — so no
    spouse is younger than the law allows, and no pile-up sits at that age (a clip did)."""
    gap, spread = hh_conf["spouse_age_gap"], hh_conf["spouse_age_sd"]
    women_min, men_min = hh_conf["marriage_min_age"]
    centre = head_age + np.where(head_sex == 1, -gap, gap)
    lowest = np.where(head_sex == 1, women_min, men_min) - 0.5
    draw = stats.truncnorm.rvs((lowest - centre) / spread, (oldest + 0.5 - centre) / spread,
                               loc=centre, scale=spread, random_state=rng)
    return np.round(draw).astype(int)


def _distinct_columns(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(table, axis=1, return_inverse=True, return_counts=True)`` for a table of
    small non-negative integers, in lexicographic order of the columns.

    Each column is read as one number in mixed radix (first row most significant), ranked
    again whenever the next digit could overflow int64: a 1-D unique, where ``axis=1``
    sorts the columns as raw bytes (9 s of the 13 s of IPU for the whole city).
    """
    key = np.zeros(table.shape[1], np.int64)
    bound = 1
    for row in table:
        base = int(row.max(initial=0)) + 1
        if bound * base >= 2**62:
            ranks, key = np.unique(key, return_inverse=True)
            bound = len(ranks)
        key = key * base + row
        bound *= base
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                          return_counts=True)
    return table[:, first], inverse, counts


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
    # group, size and persons counted by each target, per household, in the smallest
    # dtype that holds them: at full scale an int64 table and its stacked copy were the
    # peak memory of the whole run (two tables of 30 rows × 1.4 million households)
    top = max(int(household_group.max(initial=0)), int(sizes.max(initial=0)))
    table = np.empty((2 + len(person_targets), n), np.min_scalar_type(top))
    table[0], table[1] = household_group, sizes
    for row, (mask, _) in enumerate(person_targets, start=2):
        table[row] = np.bincount(person_household[mask], minlength=n)
    kinds, kind_of, multiplicity = _distinct_columns(table)
    del table
    group, persons = kinds[0], kinds[1] * multiplicity.astype(float)
    incidence = kinds[2:] * multiplicity.astype(float)  # persons counted, all alike households
    touched = [np.flatnonzero(inc) for inc in incidence]
    counted = [inc[rows] for inc, rows in zip(incidence, touched, strict=True)]
    goals = np.array([t for _, t in person_targets])
    ok = group_targets > 0
    w = np.ones(len(group))

    def counts_now() -> np.ndarray:
        # sums, not matrix products: a threaded BLAS spends ten times the CPU on these
        # short products on a busy machine (measured at scale 0.1: 9 s against 1.2 s)
        return np.array([(c * w[rows]).sum() for c, rows in zip(counted, touched, strict=True)])

    achieved = np.bincount(group, weights=w * persons, minlength=len(group_targets))
    for _ in range(max_iterations):
        factor = np.divide(group_targets, achieved, out=np.ones_like(achieved),
                           where=achieved > 0)
        w *= factor[group]
        for (_, target), c, rows in zip(person_targets, counted, touched, strict=True):
            touched_w = w[rows]  # gathered once for the sum and the update
            w[rows] = touched_w * (target / (c * touched_w).sum())
        achieved = np.bincount(group, weights=w * persons, minlength=len(group_targets))
        worst_group = np.max(np.abs(achieved[ok] / group_targets[ok] - 1))
        # the person targets are summed again only once the groups are met: in all but
        # the last few rounds they are not (164 of 168 at scale 0.1), and the sums were
        # 40% of the IPU
        if (worst_group < tolerance
                and np.max(np.abs(counts_now() / goals - 1)) < tolerance):
            break
    return w[kind_of]


def synthesize(scale: float = 1.0, rng: np.random.Generator | None = None,
               base: dict[str, Any] | None = None,
               p: YearParameters | None = None) -> tuple[State, FitReport]:
    """Build the 2015 population at ``scale`` (1.0 = one agent per person).

    Each agent carries ``weight = 1/scale`` persons. ``p`` gives the life table, school and
    retirement ages (default: the default parameters of the base year).
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    rng = rng if rng is not None else np.random.default_rng()
    base = base if base is not None else load_base()
    p = p if p is not None else base_year_parameters(base)
    areas = load_areas()
    n_a, n_p, n_s = len(areas), len(PLACES), len(STATUSES)

    cell_persons = resident_cells(base)
    cand = _candidate_households(base, cell_persons, scale, p.demography, rng)
    n_cand = len(cand["household_cell"])
    total = cell_persons.sum() * scale
    targets = [(_age_mask(cand["age"], cand["sex"], t), t["share"] * total)
               for t in age_targets(base, p.demography)]
    targets.append((cand["sex"] == 1, base["age"]["male_share"] * total))
    sizes = np.bincount(cand["household"], minlength=n_cand)
    w = _ipu(cand["household_cell"], cell_persons.ravel() * scale, sizes, cand["household"],
             targets)
    del targets  # a mask over all candidates per target: free them before the persons exist

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
    del cand, order, rows
    persons.area[:] = h_area[hh_of_person]
    persons.place[:] = h_place[hh_of_person]
    p_status = h_status[hh_of_person]

    households = Households.empty(len(keep_hh))
    households.id[:] = np.arange(len(keep_hh))
    _assign_hukou(persons, p_status, hh_of_person, base, rng)
    assign_attributes(persons, households, p_status, h_status, base, p, rng)

    outside_p, outside_h = _registered_outside(base, scale, p, rng, len(persons),
                                               len(households))
    persons, households = persons.extend(outside_p), households.extend(outside_h)
    state = State(persons=persons, households=households, year=base["year"],
                  next_person_id=len(persons), next_household_id=len(households))
    return state, fit_report(state, base, p)


def base_year_parameters(base: dict[str, Any]) -> YearParameters:
    """The default parameters of the base year (life table, school and retirement ages)."""
    return load_defaults().at(base["year"])


def _age_mask(age: np.ndarray, sex: np.ndarray, target: dict[str, Any]) -> np.ndarray:
    """Persons in an `age_targets` row: its band, and its sex when it names one."""
    mask = (age >= target["lo"]) & (age < target["hi"])
    return mask if target["sex"] is None else mask & (sex == target["sex"])


def _expand(order: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenate ``order[start:start+size]`` for every (start, size) pair."""
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return order[np.repeat(starts, sizes) + offsets]


def _assign_hukou(persons: Persons, status: np.ndarray, household: np.ndarray,
                  base: dict, rng: np.random.Generator) -> None:
    areas = load_areas()
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
    hh_village = rng.random(household.max() + 1)[household]
    persons.village[:] = np.where(rural_local, village_of(persons.hukou_area, hh_village, base),
                                  NONE)
    persons.residence_years[:] = residence_years(status, persons.age, base, rng)


def village_of(hukou_area: np.ndarray, draw: np.ndarray, base: dict) -> np.ndarray:
    """A village (rural collective) of the hukou area for a uniform ``draw`` in [0, 1): the
    area's ``villages`` of the base data are numbered one after another across areas."""
    villages = np.array([base["area"][a]["villages"] for a in load_areas().ids])
    first = np.r_[0, np.cumsum(villages)[:-1]]
    ha = np.clip(hukou_area, 0, None)
    return first[ha] + (draw * villages[ha]).astype(int)


def residence_years(status: np.ndarray, age: np.ndarray, base: dict,
                    rng: np.random.Generator) -> np.ndarray:
    """Years at the present address: a lifetime for Panjin's own urban and home-village
    people, an exponential draw (at most the age) for everyone who moved."""
    return np.where(status <= LOCAL_RURAL_HOME, age,
                    np.minimum(age, rng.exponential(base["residence"]["mean_years_migrant"],
                                                    len(age))))


def _status_group(status: np.ndarray) -> np.ndarray:
    """Collapse the five statuses to the four groups of the attribute tables."""
    return np.minimum(status, MIGRANT_LIAONING)


def working_ages(persons: Persons, p: YearParameters) -> tuple[np.ndarray, np.ndarray]:
    """Who is of working age (from leaving school to the statutory retirement age of the
    person's sex, ``life_course.schooling.ages`` and ``work.retirement_age_*``), and each
    person's retirement age."""
    work = p.life_course.work
    retirement_age = np.where(persons.sex == 1, work.retirement_age_men,
                              work.retirement_age_women)
    leaves_school = p.life_course.schooling.ages[1]
    return (persons.age >= leaves_school) & (persons.age < retirement_age), retirement_age


def assign_attributes(persons: Persons, households: Households, status: np.ndarray,
                      household_status: np.ndarray, base: dict, p: YearParameters,
                      rng: np.random.Generator, given: dict[str, np.ndarray] | None = None
                      ) -> None:
    """Draw education, work, insurance, enterprise, tenure, land rights and income
    conditionally on status (`STATUSES`), age and sex: the synthetic population's
    attributes, and the defaults of an imported registry extract (`sim.registry`), which
    keeps a value wherever ``given[column]`` is True (see `setter`)."""
    _assign_life_course(persons, status, base, p, rng, given)
    _assign_households(persons, households, household_status, base, p, rng, given)


def _assign_life_course(persons: Persons, status: np.ndarray, base: dict, p: YearParameters,
                        rng: np.random.Generator,
                        given: dict[str, np.ndarray] | None = None) -> None:
    n, age = len(persons), persons.age
    put = setter(persons, given)
    edu, emp = base["education"], base["employment"]
    starts_school, leaves_school = p.life_course.schooling.ages
    group = _status_group(status)
    rural = (group == LOCAL_RURAL_HOME) | (group == LOCAL_RURAL_AWAY)
    edu_group = np.where(group == LOCAL_URBAN, 0, np.where(rural, 1, 2))
    adult_edu = choice_by_group(rng, np.array([edu["local_urban"], edu["local_rural"],
                                               edu["migrant"]]), edu_group)
    shift = (age < edu["young_shift_below_age"]) & (rng.random(n)
                                                    < edu["young_shift_probability"])
    adult_edu = np.where(shift, ONE_LEVEL_UP[adult_edu], adult_edu)
    put("education", np.select([age < edu["junior_completed_age"], age < leaves_school],
                               [PRIMARY, JUNIOR], adult_edu))
    put("vocational_cert", (persons.education == TECHNICAL_SCHOOL)
        & (rng.random(n) < edu["vocational_cert_share"]))

    working_age, retirement_age = working_ages(persons, p)
    table = np.array([emp["local_urban"], emp["local_rural_home"], emp["local_rural_away"],
                      emp["migrant"]])
    put("employment", np.where(working_age, choice_by_group(rng, table, group), NOT_WORKING))
    employee = persons.employment == EMPLOYED
    contract_p = np.where(group == MIGRANT_LIAONING, emp["labour_contract_migrant"],
                          emp["labour_contract_local"])
    put("labour_contract", employee & (rng.random(n) < contract_p))
    put("legal_person_employer", employee & (rng.random(n)
                                             < emp["legal_person_employer_share"]))
    working = np.isin(persons.employment, (EMPLOYED, SELF_EMPLOYED))
    work_span = np.maximum(age - leaves_school, 0)
    put("job_years", np.where(
        working, np.minimum(rng.exponential(emp["mean_job_years"], n), work_span), 0))
    insured_p = np.where(persons.labour_contract, emp["insured_with_contract"],
                         emp["insured_without_contract"])
    put("insured", working & (rng.random(n) < insured_p))
    low, high = base["pension"]["contribution_density"]
    career = np.floor(work_span * rng.uniform(low, high, n))
    put("insurance_years", np.where(persons.insured, np.maximum(career, persons.job_years), 0))
    _assign_pensions(persons, group, retirement_age, leaves_school, base["pension"], rng, put)
    rep = ((persons.employment == SELF_EMPLOYED)
           & (rng.random(n) < emp["enterprise_rep_share_of_self_employed"]))
    put("enterprise_rep", rep)
    licensed = persons.enterprise_rep & (rng.random(n) < emp["licence_and_premises_share"])
    put("business_premises", licensed)
    put("business_licence", licensed)
    put("tax_years", np.where(persons.business_licence,
                              np.minimum(persons.job_years, emp["tax_record_max_years"]), 0))
    put("tax_relief", persons.business_licence & (rng.random(n) < emp["tax_relief_share"]))
    put("investment", np.where(persons.enterprise_rep, rng.lognormal(
        np.log(emp["investment_median"]), emp["investment_sigma"], n), 0.0))
    in_school = (age >= starts_school) & (age < leaves_school)
    put("school_years_local", np.where(
        in_school, np.minimum(age - starts_school, persons.residence_years), 0))


def _assign_pensions(persons: Persons, group: np.ndarray, retirement_age: np.ndarray,
                     leaves_school: int, pension: dict, rng: np.random.Generator,
                     put: Callable[[str, np.ndarray], None]) -> None:
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
    most = np.maximum(retirement_age - leaves_school, least)
    years = least + np.floor(rng.random(n) * (most - least + 1))
    put("employee_pension", pensioner)
    put("insurance_years", np.where(retired, np.where(persons.employee_pension, years, 0),
                                    persons.insurance_years))


def _assign_households(persons: Persons, households: Households,
                       h_status: np.ndarray, base: dict, p: YearParameters,
                       rng: np.random.Generator,
                       given: dict[str, np.ndarray] | None = None) -> None:
    n_h = len(households)
    put = setter(households, given)
    ten, land, inc = base["tenure"], base["land"], base["income"]
    group = _status_group(h_status)
    table = np.array([ten["local_urban"], ten["local_rural_home"], ten["local_rural_away"],
                      ten["migrant"]])
    put("tenure", choice_by_group(rng, table, group))
    put("landlord_draw", rng.random(n_h))
    head = persons.role == HEAD
    rural_hukou = np.zeros(n_h, bool)
    rural_hukou[persons.household[head]] = ~persons.hukou_urban[head]
    put("contract_land", rural_hukou & (rng.random(n_h) < land["contract_land_rural"]))
    put("homestead", rural_hukou & (rng.random(n_h) < land["homestead_rural"]))
    put("collective_income", rural_hukou & (rng.random(n_h) < land["collective_income_rural"]))
    per_person = np.select([group == LOCAL_URBAN, group == MIGRANT_LIAONING],
                           [inc["urban_per_person"], inc["migrant_per_person"]],
                           inc["rural_per_person"])
    size = np.bincount(persons.household, minlength=n_h)
    noise = rng.lognormal(-inc["sigma"] ** 2 / 2, inc["sigma"], n_h)
    put("income", per_person * size * noise)
    # dormitory dwellers are employees (their employer houses them)
    dorm = households.tenure[persons.household] == DORMITORY
    setter(persons, given)("employment", np.where(
        dorm & (persons.employment == NOT_WORKING) & working_ages(persons, p)[0], EMPLOYED,
        persons.employment))


def _registered_outside(base: dict, scale: float, p: YearParameters, rng: np.random.Generator,
                        first_person: int, first_household: int) -> tuple[Persons, Households]:
    """Panjin hukou holders living outside Panjin: each their own household."""
    areas = load_areas()
    counts = np.array([base["area"][a]["registered_living_outside"] for a in areas.ids]) * scale
    n_per_area = np.floor(counts).astype(int) + (rng.random(len(counts)) < counts % 1)
    n = int(n_per_area.sum())
    out = Persons.empty(n)
    out.id[:] = first_person + np.arange(n)
    out.household[:] = first_household + np.arange(n)
    out.weight[:] = 1.0 / scale
    out.area[:] = OUTSIDE
    out.place[:] = NONE
    out.hukou_area[:] = np.repeat(np.arange(len(areas)), n_per_area)
    out.hukou_urban[:] = rng.random(n) < base["migrants"]["outside_urban_share"]
    out.origin[:] = PANJIN
    ages = single_year_weights(np.array(base["age"]["bands"]),
                               np.array(base["age"]["migrant_shape"], float),
                               both_sexes_survivorship(base, p.demography))
    out.age[:] = _draw_ages(rng, ages, n, p.life_course.schooling.ages[1])
    out.sex[:] = rng.random(n) < base["age"]["male_share"]
    out.village[:] = np.where(out.hukou_urban, NONE,
                              village_of(out.hukou_area, rng.random(n), base))
    # they lived like Panjin's own rural people in town before they left
    _assign_life_course(out, np.full(n, LOCAL_RURAL_AWAY), base, p, rng)
    h = Households.empty(n)
    h.id[:] = first_household + np.arange(n)
    h.tenure[:] = RENT
    h.landlord_draw[:] = rng.random(n)
    h.income[:] = base["income"]["migrant_per_person"]
    return out, h


def fit_report(state: State, base: dict, p: YearParameters) -> FitReport:
    """Compare the synthesized population with every marginal of the base data: city and
    area totals, the broad age groups, each 5-year band (``age_band``) and the men of the
    old bands (``age_band_men``), the sex ratio and the household size.

    Computed on every run (each replicate's manifest holds it), so the age and sex sums
    run over the residents' columns taken once (the same values in the same order: the
    same sums) and the households are counted by a scatter, not sorted (`np.unique` was
    two thirds of it, 0.38 CPU s for the whole city).
    """
    areas = load_areas()
    persons = state.persons
    inside = persons.area >= 0
    w = persons.weight.astype(float)
    fit = FitReport()
    w_in, age_in, sex_in = w[inside], persons.age[inside], persons.sex[inside]
    total = w_in.sum()
    fit.add("city", "resident_population", base["city"]["resident_population"], total)
    urban = inside & (persons.place != VILLAGE)
    fit.add("city", "urban_resident_population", base["city"]["urban_resident_population"],
            w[urban].sum())
    fit.add("city", "registered_population", base["city"]["registered_population"],
            w[persons.hukou_area >= 0].sum())
    for i, a in enumerate(areas.ids):
        fit.add("area", a, base["area"][a]["resident_population"], w[persons.area == i].sum())
    for (lo, hi), share in zip(base["age"]["target_groups"], base["age"]["target_shares"],
                               strict=True):
        fit.add("age_share", f"{lo}-{hi - 1}", share,
                w_in[(age_in >= lo) & (age_in < hi)].sum() / total)
    for t in age_targets(base, p.demography):
        key = f"{t['lo']}+" if t["hi"] >= OPEN_GROUP_END else f"{t['lo']}-{t['hi'] - 1}"
        fit.add("age_band" if t["sex"] is None else "age_band_men", key, t["share"],
                w_in[_age_mask(age_in, sex_in, t)].sum() / total)
    fit.add("sex", "male_share", base["age"]["male_share"], w_in[sex_in == 1].sum() / total)
    with_residents = np.zeros(len(state.households), bool)
    with_residents[persons.household[inside]] = True
    fit.add("households", "persons_per_household", base["city"]["persons_per_household"],
            inside.sum() / np.count_nonzero(with_residents))
    return fit
