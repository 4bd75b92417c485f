"""Step 9: entitlements and public-service cost (clauses 十一–十三).

Who may use a basic public service (基本公共服务) depends on a person's status:

- ``local_urban`` / ``local_rural``: Panjin hukou (户籍) holders living in Panjin,
  entitled as locals; urban vs rural registration picks the standard where one
  differs (低保 minimum living allowance has urban and rural standards);
- ``permit``: non-local holders of a residence permit (居住证), entitled per
  clause 十一: some services at once, others after years of continuous residence
  and social insurance, local senior-secondary schooling and exams (中考/高考)
  after years of local schooling (``policy.residence_permit``);
- ``no_permit``: other non-local residents get what the law gives everyone
  (``services.entitlement.no_permit``: compulsory education under "两为主",
  basic public health for all residents, …).

Costs are expectations, not draws: a person counts as ``take_up`` users of a
service (a share), so the cost of the same people under another status vector
(`counterfactual_status`) differs only through entitlement and standards, and
the incremental cost of citizenization (市民化) is exactly zero when nobody's
status changed. Costs are booked to the area where people live; Panjin hukou
holders living outside Panjin are not counted.

Parameters per service ``s`` (``services.<s>.*``): ``ages`` (band edges; users
are aged ``ages[0] <= age < ages[-1]``), ``unit_cost`` (yuan per user per year,
2015 prices, one per age band, at ``reference_year``), ``real_growth``,
``take_up``, ``payer_shares`` (central, province, city, county), optionally
``unit_cost_rural`` (rural standard) and ``enabled``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, area_index, rows_of, sum_by_area, uniform_weight
from sim.population import (
    CHILD,
    EMPLOYED,
    HEAD,
    LOCAL_RURAL,
    LOCAL_URBAN,
    NO_PERMIT,
    NONE,
    OUTSIDE,
    PANJIN,
    PERMIT,
    RENT,
    SPOUSE,
    STATUSES,
    URBAN_PLACES,
    VILLAGE,
    State,
    one_of,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters

SERVICES = ("compulsory_education", "senior_secondary", "vocational_training",
            "employment_services", "medical_insurance", "basic_public_health",
            "residents_pension", "minimum_living_allowance", "medical_assistance",
            "housing_security", "elderly_services", "public_culture",
            "urban_infrastructure")
PAYERS = ("central", "province", "city", "county")  # county = district/county level



# status by lives-with-Panjin-hukou · 4 + urban hukou · 2 + permit (`status_of`)
_STATUS_BY_FLAGS = np.array([NO_PERMIT, PERMIT, NO_PERMIT, PERMIT,
                             LOCAL_RURAL, LOCAL_RURAL, LOCAL_URBAN, LOCAL_URBAN], np.int8)


def status_of(state: State, rows: np.ndarray | None = None) -> np.ndarray:
    """Each person's entitlement status (待遇身份) now (`sim.population.Status` codes); of
    the persons ``rows`` only, if given. Panjin hukou holders are local urban or rural by
    their registration, others permit holders or not: looked up from the three yes/no
    columns as one byte (passes over bytes, not over 8-byte codes)."""
    t = state.persons
    flags = ((rows_of(t.hukou_area, rows) != OUTSIDE).view(np.uint8) * 4
             | rows_of(t.hukou_urban, rows).view(np.uint8) * 2
             | rows_of(t.permit, rows).view(np.uint8))
    return _STATUS_BY_FLAGS[flags]


def counterfactual_status(state: State, status: np.ndarray | None = None) -> np.ndarray:
    """Status had the reform changed nobody's: settlers back to their pre-settlement
    status (rural Panjin hukou if their hukou came from Panjin, else non-local without
    a permit), children born to settlers after they settled likewise (their hukou follows
    a parent's, 随父母落户, and their ``origin`` is that parent's), and permit holders
    without the permit (clauses 四–七, 十一, 十五). ``status``: the actual status
    (`status_of`), if already known."""
    t = state.persons
    s = status_of(state) if status is None else status.copy()
    changed = (t.settled_year != NONE) | born_to_settlers(state)
    s[changed] = np.where(t.origin[changed] == PANJIN, LOCAL_RURAL, NO_PERMIT)
    s[s == PERMIT] = NO_PERMIT
    return s


def born_to_settlers(state: State) -> np.ndarray:
    """Children (not settlers themselves) with a Panjin hukou, born in or after the year in
    which a parent in their household (head or spouse) settled through a channel. Evaluated
    over the members of the settled parents' households only."""
    t = state.persons
    parents = np.flatnonzero((t.settled_year != NONE) & one_of(t.role, (HEAD, SPOUSE)))
    never = np.iinfo(np.int16).max
    first = np.full(len(state.households), never, np.int16)  # per household, over the few
    np.minimum.at(first, t.household[parents], t.settled_year[parents])  # settled parents
    rows = state.by_household.members(parents)
    out = np.zeros(len(t), bool)
    out[rows] = ((t.role[rows] == CHILD) & (t.settled_year[rows] == NONE)
                 & (t.hukou_area[rows] != OUTSIDE)
                 & (state.year - t.age[rows] >= first[t.household[rows]]))
    return out


def permit_conditions_met(state: State, p: YearParameters, rows: np.ndarray | None = None
                          ) -> np.ndarray:
    """Whether the years conditions of clause 十一 are met for the conditional services.

    Family-based services (assistance, housing) follow the best-placed member of the
    household, so children and dependants qualify through the applicant. Insurance counts
    for a member who contributes now, with their cumulative contribution years. ``rows``
    (whole households) evaluates only those persons, as `intention.hukou_gain` asks. The best-placed
    member meets a threshold when any member does: a scatter of the members who do, not a
    maximum over everyone (``ufunc.at``, 4× slower).
    """
    rp = p.policy.residence_permit
    t = state.persons
    groups = state.by_household
    insured_years = np.where(rows_of(t.insured, rows), rows_of(t.insurance_years, rows), 0)
    # both conditions per household, then one projection onto the members (the AND of
    # two projections, with one gather over the persons instead of two)
    return groups.project(
        groups.any(rows_of(t.residence_years, rows) >= rp.conditional_residence_years, rows=rows)
        & groups.any(insured_years >= rp.conditional_insurance_years, rows=rows), rows)


def _check_names(names: Sequence[str], where: str) -> None:
    bad = _unknown(tuple(names))
    if bad:
        raise ValueError(f"{where}: unknown service(s) {list(bad)}; valid: "
                         f"{', '.join(SERVICES)}")


@functools.cache  # the same few lists every call: `entitled_of` checks six per call
def _unknown(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names if n not in SERVICES)


def entitled(state: State, p: YearParameters, service: str, status: np.ndarray | None = None,
             conditions: np.ndarray | None = None, rows: np.ndarray | None = None
             ) -> np.ndarray:
    """Per person: may this person use ``service`` under ``status`` (default: actual)?

    One function for the actual and the counterfactual status vector; ``conditions``
    (`permit_conditions_met`) may be passed in to save recomputing it. ``status`` and
    ``conditions`` have one value per person; ``rows`` (person rows) evaluates only those
    persons, where only a few can differ (the counterfactual, a household's gain).
    """
    t = state.persons
    rp = p.policy.residence_permit
    return entitled_of(
        p, service, rows_of(status_of(state) if status is None else status, rows),
        lambda: rows_of(permit_conditions_met(state, p) if conditions is None else conditions,
                    rows),
        lambda: rows_of(t.school_years_local, rows) >= rp.exam_schooling_years,
        rows_of(t.area, rows) != OUTSIDE)


# the statuses of the four entitlement lists, as row numbers: numpy reads a list of enum
# members slowly (it asks each for the array protocols)
_OUTRIGHT_ORDER = np.array([LOCAL_URBAN, LOCAL_RURAL, NO_PERMIT, PERMIT], np.intp)


def entitled_of(p: YearParameters, service: str, status: np.ndarray,
              conditions: Callable[[], np.ndarray], schooled: Callable[[], np.ndarray],
              inside: np.ndarray) -> np.ndarray:
    """The rule of `entitled` on aligned arrays of any rows (persons, or kinds of person
    alike in everything it reads): ``status``, ``inside`` (lives in Panjin) and the
    functions ``conditions`` (`permit_conditions_met`) and ``schooled`` (local schooling
    years for exams met), called only when the service needs them.

    >>> from sim.scenario import load_defaults
    >>> yes = lambda: np.array([True, True])
    >>> entitled_of(load_defaults().at(2016), "compulsory_education",
    ...             np.array([NO_PERMIT, NO_PERMIT]), yes, yes, np.array([True, False])).tolist()
    [True, False]
    """
    _check_names([service], "entitled")
    group = getattr(p.services, service)
    if "enabled" in group and not group.enabled:
        return np.zeros(len(status), dtype=bool)
    ent = p.services.entitlement
    rp = p.policy.residence_permit
    for where, names in (("services.entitlement.local_urban", ent.local_urban),
                         ("services.entitlement.local_rural", ent.local_rural),
                         ("services.entitlement.no_permit", ent.no_permit),
                         ("policy.residence_permit.immediate_services", rp.immediate_services),
                         ("policy.residence_permit.conditional_services",
                          rp.conditional_services)):
        _check_names(names, where)
    # entitled outright, by status (one lookup instead of a comparison per status)
    outright = np.zeros(len(STATUSES), dtype=bool)
    outright[_OUTRIGHT_ORDER] = (
        service in ent.local_urban, service in ent.local_rural, service in ent.no_permit,
        service in rp.immediate_services)
    out = outright[status]
    holder = status == int(PERMIT)
    if service in rp.conditional_services and service not in rp.immediate_services:
        out |= holder & conditions()
    if service == "senior_secondary":  # 中考/高考 after years of local schooling (十一, 十三)
        out |= holder & schooled()
    return out & inside


def rural_standard(state: State, status: np.ndarray, rows: np.ndarray | None = None
                   ) -> np.ndarray:
    """Whose benefits follow the rural standard: rural hukou holders, and non-locals
    living in a village (assistance follows the place of residence). ``status`` has one
    value per person; ``rows`` as in `entitled`."""
    return _rural(rows_of(status, rows), rows_of(state.persons.place, rows) == VILLAGE)


def _rural(status: np.ndarray, village: np.ndarray) -> np.ndarray:
    """The rule of `rural_standard` on aligned arrays (``village``: lives in a village)."""
    return (status == LOCAL_RURAL) | ((status >= PERMIT) & village)


# Status-independent conditions of use beyond age (who is a user if entitled).
def _no_employee_insurance(state: State, ps: Any) -> np.ndarray:
    """City–rural residents' medical insurance (城乡居民医保) covers those outside the
    urban employees' scheme (clause 十三): neither contributing now nor an employee
    pensioner (retirees keep the employees' medical insurance)."""
    t = state.persons
    return ~(t.insured | t.employee_pension)


def _no_employee_pension(state: State, ps: Any) -> np.ndarray:
    """The residents' basic pension (城乡居民基础养老金) goes to those without an employee
    pension (职工养老金)."""
    return ~state.persons.employee_pension


def _income_below_standard(state: State, ps: Any) -> np.ndarray:
    """The minimum living allowance (低保) is means-tested: household income per person
    below the standard of the place of residence (urban in towns, rural in villages),
    whatever the hukou, so settling changes who is entitled, not who is poor.

    Decided per household against both standards (bit 1: below the urban one, bit 2: below
    the rural one), then one byte per member picks the bit of their place: the same
    comparisons, without a float column of incomes and one of standards per person."""
    income = state.income_per_member()
    below = ((income < ps.income_standard).view(np.uint8)
             | (income < ps.income_standard_rural).view(np.uint8) << np.uint8(1))
    village = (state.persons.place == VILLAGE).view(np.uint8)
    return (state.by_household.project(below) >> village & np.uint8(1)).view(bool)


def _renting_with_stable_job(state: State, ps: Any) -> np.ndarray:
    """Housing security (住房保障: public rental housing) for renting households in
    towns with a member in stable contracted work (clause 十三)."""
    t = state.persons
    groups = state.by_household
    # renting with a stable job decided per household, then one projection onto the members
    renting_stable = (groups.any((t.employment == EMPLOYED) & t.labour_contract)
                      & (state.households.tenure == RENT))
    return groups.project(renting_stable) & one_of(t.place, URBAN_PLACES)


def _settling_this_year(state: State, ps: Any) -> np.ndarray:
    """The one-time urban infrastructure cost (yuan per settler, once) falls in the year of
    settling."""
    return state.persons.settled_year == state.year


CONDITIONS: dict[str, Callable[[State, YearParameters], np.ndarray]] = {
    "medical_insurance": _no_employee_insurance,
    "residents_pension": _no_employee_pension,
    "minimum_living_allowance": _income_below_standard,
    "housing_security": _renting_with_stable_job,
    "urban_infrastructure": _settling_this_year,
}


def age_band(age: np.ndarray, ages: Sequence[float]) -> np.ndarray:
    """Index of each age's band in ``ages`` (band edges); -1 outside all bands."""
    edges = np.asarray(ages, dtype=float)
    every = np.arange(max(int(age.max(initial=0)), 0) + 1)  # a lookup per whole year of age
    lut = np.where((every >= edges[0]) & (every < edges[-1]),
                   np.searchsorted(edges, every, side="right") - 1, -1)
    return lut[np.maximum(age, 0)]


def growth_factor(ps: Any, year: int) -> float:
    """Real growth of a unit cost from its reference year to ``year``."""
    return float((1.0 + ps.real_growth) ** (year - ps.reference_year))


def service_base(state: State, p: YearParameters, service: str) -> tuple[np.ndarray, ...]:
    """What does not depend on status, per person: may use the service if entitled (age
    band and conditions), take-up and yuan per user at the urban and the rural standard."""
    possible, *rest = _base(p, service, state.persons.age, state.year)
    if service in CONDITIONS:
        possible &= CONDITIONS[service](state, getattr(p.services, service))
    return possible, *rest


def _base(p: YearParameters, service: str, age: np.ndarray, year: int
          ) -> tuple[np.ndarray, ...]:
    """`service_base` by age alone, without the service's condition of use (`CONDITIONS`)."""
    ps = getattr(p.services, service)
    band = age_band(age, ps.ages)
    costs = np.asarray(ps.unit_cost, dtype=float)
    costs_rural = np.asarray(ps.unit_cost_rural if "unit_cost_rural" in ps else ps.unit_cost,
                             dtype=float)
    if len(costs) != len(ps.ages) - 1 or len(costs_rural) != len(costs):
        raise ValueError(f"services.{service}: unit_cost needs one value per age band "
                         f"({len(ps.ages) - 1}), got {len(costs)}")
    b = np.maximum(band, 0)
    growth = growth_factor(ps, year)
    return band >= 0, ps.take_up, costs[b] * growth, costs_rural[b] * growth


def use_and_unit_cost(state: State, p: YearParameters, service: str, status: np.ndarray,
                      conditions: np.ndarray | None = None,
                      base: tuple[np.ndarray, ...] | None = None,
                      rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per person: expected users (0..1, zero if not entitled) and yuan per user this year.

    ``base`` (`service_base`) may be passed in when the same service is evaluated
    under several status vectors; ``rows`` as in `entitled`.
    """
    possible, take_up, unit, unit_rural = (
        base if base is not None else service_base(state, p, service))
    use = entitled(state, p, service, status, conditions, rows) & rows_of(possible, rows)
    return _use_and_unit(use, rural_standard(state, status, rows), take_up,
                         rows_of(unit, rows), rows_of(unit_rural, rows))


def _use_and_unit(use: np.ndarray, rural: np.ndarray, take_up: float,
                  unit: np.ndarray, unit_rural: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected users and yuan per user from entitled use and the standard that applies
    (the rural standard differs in unit cost only; take-up is the same)."""
    return use * take_up, np.where(rural, unit_rural, unit)


def payer_shares(p: YearParameters, service: str) -> np.ndarray:
    """Shares of a service's cost paid by central, province, city, county (sum 1)."""
    shares = np.asarray(getattr(p.services, service).payer_shares, dtype=float)
    if len(shares) != len(PAYERS) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"services.{service}.payer_shares: need {len(PAYERS)} shares "
                         f"({', '.join(PAYERS)}) adding up to 1, got {shares.tolist()}")
    return shares


def costs_by_service(state: State, p: YearParameters, status: np.ndarray | None = None
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Users and cost (yuan) per area for every service under ``status``."""
    status = status_of(state) if status is None else status
    return {service: (users, cost) for service, users, cost, _ in _costs(state, p, status)}


class _Cells:
    """Persons grouped into cells alike in everything their entitlement and cost under a
    status depend on, apart from a service's own condition of use (`CONDITIONS`): area, age,
    status, living in a village, the permit's years conditions and local schooling.

    The rules then run once per cell in use (~7,000 at scale 0.1 of ~70,000 possible)
    instead of once per person, and each service's users and cost per area are one sum
    over the cells: thirteen services cost a handful of passes over the persons instead of
    ~8 each. ``key`` is each person's cell; the other attributes have one value per cell of
    ``cells``, given by `describe`.
    """

    IN_VILLAGE, MET, SCHOOLED = 4, 2, 1  # bits of the three yes/no attributes
    FLAGS = 8  # their combinations

    def __init__(self, state: State, p: YearParameters, status: np.ndarray,
                 conditions: np.ndarray, index: np.ndarray, n_areas: int) -> None:
        t = state.persons
        self.n_ages = int(t.age.max(initial=0)) + 1
        self.size = (n_areas + 1) * self.n_ages * len(STATUSES) * self.FLAGS
        self._n_areas = n_areas
        schooled = t.school_years_local >= p.policy.residence_permit.exam_schooling_years
        # per person in the narrowest dtypes that hold them: passes over 1 and 4 bytes a
        # person instead of 8
        self._flags = ((t.place == VILLAGE).astype(np.uint8) * self.IN_VILLAGE
                       | conditions.astype(np.uint8) * self.MET
                       | schooled.astype(np.uint8) * self.SCHOOLED)
        dtype = np.int32 if self.size <= np.iinfo(np.int32).max else np.int64
        self._area_age = index.astype(dtype) * self.n_ages + np.maximum(t.age, 0)
        self.key = self.of(status)

    def describe(self, cells: np.ndarray) -> None:
        """Give the attributes (area, age, status, village, conditions, schooled, inside) of
        the cells ``cells`` only, in their order: the rules then run over these cells."""
        self.cells = cells
        rest, flags = np.divmod(cells, self.FLAGS)
        rest, self.status = np.divmod(rest, len(STATUSES))
        self.area, self.age = np.divmod(rest, self.n_ages)
        self.village, self.conditions, self.schooled = (
            (flags & self.IN_VILLAGE) > 0, (flags & self.MET) > 0,
            (flags & self.SCHOOLED) > 0)
        self.inside = self.area < self._n_areas

    def of(self, status: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The cells of the persons ``rows`` (default all) had they the status ``status``
        (one value per person in ``rows``)."""
        return ((rows_of(self._area_age, rows) * len(STATUSES) + status) * self.FLAGS
                + rows_of(self._flags, rows))


def _weighted_count(cell: np.ndarray, weight: np.ndarray | float, condition: np.ndarray,
                    n_cells: int) -> np.ndarray:
    """The weight of the persons meeting ``condition`` per cell (``cell`` of each person).
    A rare condition (the means test, housing) sums its persons only: the same sums, without
    their zero terms. ``weight``: one per person, or the one weight every person carries
    (`uniform_weight`: the persons are counted, times the weight: the same bits)."""
    rows = np.flatnonzero(condition)
    if isinstance(weight, float):
        counts = (np.bincount(cell[rows], minlength=n_cells) if 2 * rows.size < condition.size
                  else np.bincount(cell, weights=condition, minlength=n_cells))
        return counts * weight
    if 2 * rows.size < condition.size:
        return np.bincount(cell[rows], weights=weight[rows], minlength=n_cells)
    return np.bincount(cell, weights=weight * condition, minlength=n_cells)


def _costs(state: State, p: YearParameters, status: np.ndarray,
           counterfactual: np.ndarray | None = None
           ) -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per service: users and cost (yuan) per area under ``status``, and how much more that
    cost is than under the ``counterfactual`` status (zeros without one).

    Computed per cell of persons alike (`_Cells`); the difference is summed over the persons
    whose status differs only, whose cost is the same under both otherwise. A service that
    nobody may use (disabled, or nobody entitled in its ages) is zero without evaluating its
    condition of use.
    """
    t = state.persons
    n = len(load_areas())
    # agents of one weight are counted (count × weight: the same bits), not weighed
    w = uniform_weight(t.weight)
    w = t.weight.astype(float) if w is None else w
    index = area_index(t.area, n)
    cells = _Cells(state, p, status, permit_conditions_met(state, p), index, n)
    weight = (np.bincount(cells.key, minlength=cells.size) * w if isinstance(w, float)
              else np.bincount(cells.key, weights=w, minlength=cells.size))
    counterfactual = status if counterfactual is None else counterfactual
    changed = np.flatnonzero(status != counterfactual)
    now, before = cells.key[changed], cells.of(counterfactual[changed], changed)
    # only the cells in use: with persons, or someone's counterfactual cell (a cell without
    # either adds nothing to any sum)
    used = weight > 0
    used[before] = True
    cells.describe(np.flatnonzero(used))
    position = np.zeros(cells.size, np.intp)
    position[cells.cells] = np.arange(cells.cells.size)
    now, before = position[now], position[before]
    weight = weight[cells.cells]
    rural = _rural(cells.status, cells.village)
    w_changed, index_changed = t.weight[changed].astype(float), index[changed]
    in_cell = None  # each person's position among the cells in use, once a condition needs it
    for service in SERVICES:
        possible, *rest = _base(p, service, cells.age, state.year)
        use = entitled_of(p, service, cells.status, lambda: cells.conditions,
                        lambda: cells.schooled, cells.inside) & possible
        if not use.any():  # every term of every sum is zero
            yield service, np.zeros(n), np.zeros(n), np.zeros(n)
            continue
        share, unit = _use_and_unit(use, rural, *rest)
        cost_each = share * unit  # yuan per person of the cell (per unit of weight)
        of_service, w_of_changed = weight, w_changed
        if service in CONDITIONS:  # the cells' weight of those meeting the condition
            met = CONDITIONS[service](state, getattr(p.services, service))
            in_cell = position[cells.key] if in_cell is None else in_cell
            of_service = _weighted_count(in_cell, w, met, cells.cells.size)
            w_of_changed = w_changed * met[changed]
        extra = w_of_changed * (cost_each[now] - cost_each[before])
        yield (service, sum_by_area(cells.area, of_service * share, n),
               sum_by_area(cells.area, of_service * cost_each, n),
               sum_by_area(index_changed, extra, n))


def step(state: State, p: YearParameters, rng: np.random.Generator | None = None) -> Flows:
    """This year's service users, cost by service and payer, and the incremental cost
    of citizenization by service and payer (actual minus counterfactual status)."""
    n = len(load_areas())
    flows: Flows = {}
    by_payer = np.zeros((len(PAYERS), n))
    extra_by_payer = np.zeros((len(PAYERS), n))
    status = status_of(state)
    for service, users, cost, extra in _costs(state, p, status,
                                              counterfactual_status(state, status)):
        shares = payer_shares(p, service)
        flows["service_users", service] = users
        flows["public_service_cost", service] = cost
        flows["incremental_cost", service] = extra
        by_payer += shares[:, None] * cost
        extra_by_payer += shares[:, None] * extra
    for i, payer in enumerate(PAYERS):
        flows["public_service_cost_by_payer", payer] = by_payer[i]
        flows["incremental_cost_by_payer", payer] = extra_by_payer[i]
    return flows
