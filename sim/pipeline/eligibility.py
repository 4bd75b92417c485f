"""Who may settle (落户): one vectorized rule per channel of 盘政发〔2015〕53号 (pipeline step 6).

Where each clause lives:

- (四) designated towns (建制镇), fully open ........ `town`
- (五) urban districts (城区), opened in order ....... `urban_district`
- (六) talent (人才) ................................ `talent`
- (七) investment (投资) ............................ `investment`
- (八) no urban→rural hukou move .................... `HukouSnapshot`, `refuse_clause_8`
- (九) community collective household (社区集体户) ... `registration_possible`
- 二.2 land rights kept on settling ................. `sim.pipeline.settlement.apply`
- family (本人及其共同居住生活的配偶、子女、父母) ....... `family`

Every rule takes the state and the year's parameters ``p`` (``p.policy.…``) and
returns an `Eligibility`: who passed, and for each named condition who failed
it, so that `sim.explanation` can say *why* a person cannot settle.

Readings of the text that the code relies on (also in docs of `policy.toml`):

- A channel is open to persons living in Panjin whose hukou is not already an
  urban hukou of the area they live in; (四)/(五) also serve migrants from
  outside Panjin (外来人口), so the hukou's origin does not matter.
- "Legal stable residence (含租赁)" is the household's tenure; which tenures
  count is a parameter (own and rent under the reform). Employer dormitories
  and living with relatives do not count by default: they are not the
  applicant's own residence.
- A renter can only register where the landlord consents, unless clause 九 is
  in force (then the community collective household takes them).
- Counts of years (job, residence, insurance, tax) include the current year.
- Clause 五's insurance condition reads 国发〔2014〕25号's 参加城镇社会保险年限 (years of
  participation, not continuous years): the person contributes now (``insured``) and
  has at least ``urban_district.insurance_years`` cumulative contribution years
  (累计缴费年限, which a lost job does not reset); 0 asks no insurance at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.population import (
    CHILD,
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    EDUCATION,
    EMPLOYED,
    HEAD,
    INVESTMENT,
    PARENT,
    RENT,
    ROLES,
    SELF_EMPLOYED,
    SPOUSE,
    TALENT,
    TECHNICAL_SCHOOL,
    TENURE,
    TOWN,
    URBAN_DISTRICT,
    URBAN_DISTRICT_CHANNEL,
    Persons,
    State,
    one_of,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters


@dataclass(frozen=True)
class Eligibility:
    """Result of one channel's rule: ``passed`` per person, ``holds[condition]`` per person
    (each condition of the rule, in rule order; `reasons` names those a person failed).

    >>> e = Eligibility.of({"a": np.array([True, False]), "b": np.array([True, True])})
    >>> e.passed.tolist(), e.reasons(1)
    ([True, False], ['a'])
    """

    passed: np.ndarray
    holds: dict[str, np.ndarray]

    @classmethod
    def of(cls, holds: dict[str, np.ndarray]) -> Eligibility:
        """From conditions that must all hold (name -> holds per person): their AND in one
        array, not a stacked copy of every condition; the failed conditions are read per
        person when asked (`reasons`), not negated for everyone every year."""
        conditions = iter(holds.values())
        passed = np.array(next(conditions), dtype=bool)
        for ok in conditions:
            passed &= ok
        return cls(passed=passed, holds=holds)

    def reasons(self, row: int) -> list[str]:
        """Names of the conditions person ``row`` failed, in rule order."""
        return [name for name, ok in self.holds.items() if not ok[row]]


Rule = Callable[..., Eligibility]  # rule(state, p, shared=None)
Shared = dict[Any, Any]  # conditions several rules read, computed once per `evaluate`


def _once(shared: Shared | None, key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, or the value another rule of the same `evaluate` computed already
    (``shared``: the rules read one unchanged state, and no rule changes a condition)."""
    if shared is None:
        return compute()
    if key not in shared:
        shared[key] = compute()
    return shared[key]


def _codes(names: tuple[str, ...] | list[str], table: tuple[str, ...]) -> list[int]:
    return [table.index(n) for n in names]


def _open_to(persons: Persons) -> dict[str, np.ndarray]:
    """Who may use a channel at all: lives in Panjin, not already urban hukou of that area."""
    return {
        "lives_in_panjin": persons.area >= 0,
        "not_urban_hukou_here": ~(persons.hukou_urban & (persons.hukou_area == persons.area)),
    }


def stable_job(persons: Persons) -> np.ndarray:
    """Legal stable employment (合法稳定就业): employee with a labour contract, or self-employed."""
    return (((persons.employment == EMPLOYED) & persons.labour_contract)
            | (persons.employment == SELF_EMPLOYED))


def landlord_consents(state: State, p: YearParameters, rows: np.ndarray | None = None
                      ) -> np.ndarray:
    """Per person (of ``rows`` only, if given): the household rents from a landlord who lets
    it register a hukou at the address (a share ``policy.landlord_consent_share`` of
    landlords do)."""
    hh = state.persons.household if rows is None else state.persons.household[rows]
    h = state.households
    return _consents(h.tenure[hh], h.landlord_draw[hh], p)


def _consents(tenure: np.ndarray, landlord_draw: np.ndarray, p: YearParameters) -> np.ndarray:
    return (tenure == RENT) & (landlord_draw < p.policy.landlord_consent_share)


def registration_possible(state: State, p: YearParameters) -> np.ndarray:
    """Clause 九: a renter whose landlord refuses can register only in a community collective
    household (社区集体户), which exists when ``policy.community_collective_household``.
    Decided per household, then given to its members (one gather instead of three)."""
    h = state.households
    possible = ((h.tenure != RENT) | _consents(h.tenure, h.landlord_draw, p)
                | bool(p.policy.community_collective_household))
    return possible[state.persons.household]


def _stable_residence(state: State, tenures: tuple[str, ...], shared: Shared | None = None
                      ) -> np.ndarray:
    return _once(shared, ("stable_residence", tuple(tenures)), lambda: one_of(
        _once(shared, "tenure", lambda: state.household_of("tenure")), _codes(tenures, TENURE)))


def town(state: State, p: YearParameters, shared: Shared | None = None) -> Eligibility:
    """Clause 四: legal stable residence (owned or rented) in the county-seat town (县政府驻地镇)
    or another designated town (建制镇) is enough. ``shared``: see `evaluate`."""
    persons = state.persons
    return Eligibility.of({
        **_once(shared, "open_to", lambda: _open_to(persons)),
        "lives_in_town": one_of(persons.place, (COUNTY_SEAT_TOWN, DESIGNATED_TOWN)),
        "stable_residence": _stable_residence(state, p.policy.town.residence_tenures, shared),
        "registration_place": _once(shared, "registration_place",
                                    lambda: registration_possible(state, p)),
    })


def urban_district(state: State, p: YearParameters, shared: Shared | None = None
                   ) -> Eligibility:
    """Clause 五: in the urban districts (城区), legal stable job and residence (含租赁) and urban
    social insurance "as the state requires" (按照国家规定).

    The three year-thresholds are scenario parameters of 0–3: 居住证暂行条例 Art. 16 lets a city
    whose urban districts hold 0.5–1 million people (Panjin's class, our reading) ask at most
    3 years of insurance; ``insurance_years = 1`` means "enrolled now" (counts include this
    year), more means enrolled now with that many cumulative years; 0 asks no insurance.
    ``shared``: see `evaluate`.
    """
    persons = state.persons
    ud = p.policy.urban_district
    holds = {
        **_once(shared, "open_to", lambda: _open_to(persons)),
        "lives_in_urban_district": persons.place == URBAN_DISTRICT,
        "stable_residence": _stable_residence(state, ud.residence_tenures, shared),
        "residence_years": persons.residence_years >= ud.residence_years,
        "registration_place": _once(shared, "registration_place",
                                    lambda: registration_possible(state, p)),
    }
    if ud.requires_stable_job:
        holds["stable_job"] = stable_job(persons)
        holds["job_years"] = persons.job_years >= ud.job_years
    holds["social_insurance"] = (ud.insurance_years <= 0) | (
        persons.insured & (persons.insurance_years >= ud.insurance_years))
    return Eligibility.of(holds)


def talent(state: State, p: YearParameters, shared: Shared | None = None) -> Eligibility:
    """Clause 六: a graduate of college or technical secondary school (大中专; 技校/职高 only with
    a primary vocational qualification 初级工及以上职业资格) formally hired (正式聘用) by a
    legal-person employer (法人单位; an individual business 个体工商户 is not one) on a labour
    contract filed with the HR bureau. Settles alone (本人落户). ``shared``: see `evaluate`."""
    persons = state.persons
    tp = p.policy.talent
    qualifying = _codes(tp.education, EDUCATION)
    technical = persons.education == TECHNICAL_SCHOOL
    if tp.technical_school_with_certificate:
        education_ok = one_of(persons.education, qualifying) | technical
        cert_ok = ~technical | persons.vocational_cert
    else:
        education_ok = one_of(persons.education, qualifying)
        cert_ok = np.ones(len(persons), bool)
    employee = persons.employment == EMPLOYED
    return Eligibility.of({
        **_once(shared, "open_to", lambda: _open_to(persons)),
        "education": education_ok,
        "vocational_cert": cert_ok,
        "labour_contract": employee & persons.labour_contract,
        "legal_person_employer": employee & persons.legal_person_employer,
    })


def investment(state: State, p: YearParameters, shared: Shared | None = None) -> Eligibility:
    """Clause 七: legal representative (法定代表人) of an enterprise with fixed premises, a business
    licence and 1+ year of tax receipts *or* proof of tax relief (纳税凭证或减免税证明); no minimum
    investment (取消投资金额的限制). A scenario's minimum (before 2016) is compared with the
    capital the representative invested (``investment``). ``shared``: see `evaluate`."""
    persons = state.persons
    ip = p.policy.investment
    return Eligibility.of({
        **_once(shared, "open_to", lambda: _open_to(persons)),
        "enterprise_rep": persons.enterprise_rep,
        "business_premises": persons.business_premises,
        "business_licence": persons.business_licence,
        "tax_record": (persons.tax_years >= ip.tax_years) | persons.tax_relief,
        "min_investment": (ip.min_investment <= 0) | (persons.investment >= ip.min_investment),
    })


RULES: dict[int, Rule] = {
    TOWN: town,
    URBAN_DISTRICT_CHANNEL: urban_district,
    TALENT: talent,
    INVESTMENT: investment,
}
"""Channel rules by code of `sim.population.CHANNELS` (urban_village is a schedule)."""

BRINGS_FAMILY: dict[int, bool] = {TOWN: True, URBAN_DISTRICT_CHANNEL: True, TALENT: False,
                                  INVESTMENT: True}
"""Whether a channel lets co-residing spouse, children and parents settle too (六: self only)."""


def evaluate(state: State, p: YearParameters) -> dict[int, Eligibility]:
    """Every channel's rule on every person. The conditions several rules read (living in
    Panjin and not urban hukou there, the household's tenure, stable residence, the
    registration place) are computed once for all four (``shared``), not once per rule:
    the same arrays, read by every rule."""
    shared: Shared = {}
    return {code: rule(state, p, shared) for code, rule in RULES.items()}


# Family rule. Roles are relative to the household head, so for a non-head applicant we map
# them: the head's spouse brings the head and the children; a child brings the head and the
# head's spouse (its parents); a parent of the head brings the head (its child) and the other
# parent (its spouse). Relations the roles cannot express (a child's own spouse, recorded as
# "other") are not brought: conservative, and rare since married children form households.
_BRINGS = np.zeros((len(ROLES), len(ROLES)), bool)
_BRINGS[HEAD, [SPOUSE, CHILD, PARENT]] = True
_BRINGS[SPOUSE, [HEAD, CHILD]] = True
_BRINGS[CHILD, [HEAD, SPOUSE]] = True
_BRINGS[PARENT, [HEAD, PARENT]] = True  # an OTHER member brings nobody


def family(state: State, applicants: np.ndarray) -> np.ndarray:
    """Clauses 四, 五, 七: the applicant's co-residing (共同居住生活) spouse, children and parents
    who settle with them: same household, same area and place, and not already urban hukou
    there. At most one applicant per household."""
    persons = state.persons
    rows = np.flatnonzero(applicants)
    hh = persons.household[rows]
    if len(np.unique(hh)) != len(hh):
        raise ValueError("family: more than one applicant in a household")
    applicant_row = np.full(len(state.households), -1)
    applicant_row[hh] = rows
    a = applicant_row[persons.household]
    members = np.flatnonzero((a >= 0) & ~applicants)  # the rule over these rows only
    a = a[members]
    area = persons.area[members]
    out = np.zeros(len(persons), bool)
    out[members] = ((area == persons.area[a]) & (persons.place[members] == persons.place[a])
                    & _BRINGS[persons.role[a], persons.role[members]]
                    & ~(persons.hukou_urban[members] & (persons.hukou_area[members] == area)))
    return out


@dataclass(frozen=True)
class HukouSnapshot:
    """Hukou of every person at one moment, kept to enforce clause 八 after the year's moves."""

    ids: np.ndarray
    urban_in_panjin: np.ndarray
    hukou_area: np.ndarray

    @classmethod
    def of(cls, persons: Persons) -> HukouSnapshot:
        """The snapshot of ``persons`` now, in the order of their ids. The rows are in that
        order already in a run (ids are given in increasing order and rows never move), so
        they are copied as they are, without sorting every id each year."""
        ids = persons.id
        urban = persons.hukou_urban & (persons.hukou_area >= 0)
        if (ids[1:] > ids[:-1]).all():
            return cls(ids=ids.copy(), urban_in_panjin=urban,
                       hukou_area=persons.hukou_area.copy())
        order = np.argsort(ids)
        return cls(ids=ids[order], urban_in_panjin=urban[order],
                   hukou_area=persons.hukou_area[order])

    def positions(self, persons: Persons) -> tuple[np.ndarray, np.ndarray]:
        """Row of each person in the snapshot, and whether they were in it."""
        if len(self.ids) == 0:
            return np.zeros(len(persons), np.intp), np.zeros(len(persons), bool)
        if np.array_equal(self.ids, persons.id):  # the usual case: the same persons
            return np.arange(len(persons)), np.ones(len(persons), bool)
        pos = np.minimum(np.searchsorted(self.ids, persons.id), len(self.ids) - 1)
        return pos, self.ids[pos] == persons.id


def urban_to_rural(before: HukouSnapshot, persons: Persons) -> np.ndarray:
    """Persons (rows of ``persons``) whose Panjin urban hukou has become a Panjin rural one."""
    pos, known = before.positions(persons)
    # a snapshot of nobody has no row to look up: nobody in it was urban
    was_urban = known & before.urban_in_panjin[pos] if len(before.ids) else known
    return was_urban & ~persons.hukou_urban & (persons.hukou_area >= 0)


def refuse_clause_8(before: HukouSnapshot, persons: Persons,
                    exceptions: np.ndarray | None = None) -> np.ndarray:
    """Clause 八: town residents may not move their hukou to rural areas (严禁城镇居民户口迁往
    农村), except unemployed fresh in-province graduates returning to their origin
    (应届省内生源毕业生未就业回原籍). The "three dependencies" (三投靠) are moves *between rural
    residents*, so they never turn an urban hukou rural. ``exceptions`` marks the rows moved
    under the graduate exception. Every other urban→rural move is refused, as the public
    security bureau would refuse the application: the person keeps the urban hukou they had.
    Returns who was refused (bool per person)."""
    refused = urban_to_rural(before, persons)
    if exceptions is not None:
        refused &= ~exceptions
    pos, _ = before.positions(persons)
    persons.hukou_urban[refused] = True
    persons.hukou_area[refused] = before.hukou_area[pos[refused]]
    return refused
