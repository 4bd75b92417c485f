"""Entitlements and public-service cost (clauses 十一–十三): sim.pipeline.services."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from sim.pipeline import services as sv
from sim.population import (
    CHILD,
    EMPLOYED,
    HEAD,
    LIAONING,
    NONE,
    OUTSIDE,
    PANJIN,
    PARENT,
    RENT,
    SPOUSE,
    URBAN_DISTRICT,
    VILLAGE,
    State,
)
from tests import factories

YEAR = 2021  # the reference year of the education unit costs


def make_state(n: int, year: int = YEAR, **columns) -> State:
    """``n`` persons, each in a household of their own, living in area 0 in the city
    district, urban Panjin hukou, weight 1, age 30; ``columns`` override any column."""
    urban = {"place": URBAN_DISTRICT, "hukou_urban": True, "village": NONE}
    return factories.make_state(n, year, **{**urban, **columns})


def params(year: int = YEAR, **overrides):
    """Default parameters in force in ``year``, with dotted-name overrides."""
    return factories.params(year, **overrides)


def migrants(n: int, **columns) -> State:
    """Non-local residents (hukou from elsewhere in Liaoning)."""
    return make_state(n, hukou_area=OUTSIDE, hukou_urban=False, origin=LIAONING, **columns)


def cost(state: State, p, service: str, status=None) -> float:
    return float(sv.costs_by_service(state, p, status)[service][1].sum())


def test_defaults_describe_every_service():
    p = params()
    for service in sv.SERVICES:
        ps = getattr(p.services, service)
        assert len(ps.unit_cost) == len(ps.ages) - 1
        assert sv.payer_shares(p, service).sum() == pytest.approx(1.0)
    assert set(p.policy.residence_permit.immediate_services) <= set(sv.SERVICES)


def test_status_and_counterfactual():
    s = make_state(5, hukou_area=[0, 0, OUTSIDE, 1, 2],
                   hukou_urban=[True, False, False, True, True],
                   permit=[False, False, True, False, False],
                   origin=[PANJIN, PANJIN, LIAONING, PANJIN, LIAONING],
                   settled_year=[-1, -1, -1, 2019, 2020])
    assert sv.status_of(s).tolist() == [sv.LOCAL_URBAN, sv.LOCAL_RURAL, sv.PERMIT,
                                         sv.LOCAL_URBAN, sv.LOCAL_URBAN]
    assert sv.counterfactual_status(s).tolist() == [sv.LOCAL_URBAN, sv.LOCAL_RURAL,
                                                    sv.NO_PERMIT, sv.LOCAL_RURAL, sv.NO_PERMIT]


def test_hand_computed_pupil_costs():
    """A primary pupil and a junior-secondary pupil at the 2021 reference level, then
    one year of 3% real growth."""
    s = make_state(3, age=[7, 13, 30])
    assert cost(s, params(), "compulsory_education") == pytest.approx(10140.0 + 14575.0)
    s.year = 2022
    assert cost(s, params(2022), "compulsory_education") == pytest.approx(
        (10140.0 + 14575.0) * 1.03)


def test_costs_are_zero_for_services_nobody_is_entitled_to():
    s = migrants(50, age=np.arange(50) + 30)  # adults, no permit
    flows = sv.step(s, params())
    for service in sv.SERVICES:
        if service not in params().services.entitlement.no_permit:
            assert flows["public_service_cost", service].sum() == 0, service
            assert flows["service_users", service].sum() == 0, service
    closed = {f"services.entitlement.{k}": [] for k in ("local_urban", "local_rural", "no_permit")}
    closed |= {"policy.residence_permit.immediate_services": [],
               "policy.residence_permit.conditional_services": []}
    s = make_state(10, age=np.arange(10) * 9)
    assert all(v.sum() == 0 for v in sv.step(s, params(**closed)).values())


def test_people_outside_panjin_cost_nothing():
    s = make_state(2, area=[OUTSIDE, 0], age=8)
    assert sv.entitled(s, params(), "compulsory_education").tolist() == [False, True]


def test_permit_conditions_follow_years_and_household():
    p = params()
    # A holder with 2 years of residence and 1 of insurance; a child of the same household
    # without insurance of its own; a holder who arrived this year.
    # A holder with 2 years of residence and 1 of insurance; a child of the same household
    # without insurance of its own; a holder who arrived this year; one with the residence
    # years but no insurance; one insured without the residence years.
    s = migrants(5, permit=True, household=[0, 0, 1, 2, 3], residence_years=[2, 0, 0, 2, 0],
                 insured=[True, False, False, False, True], insurance_years=[1, 0, 0, 0, 3],
                 age=[35, 5, 35, 35, 35])
    assert sv.entitled(s, p, "housing_security").tolist() == [True, True, False, False, False]
    assert sv.entitled(s, p, "medical_insurance").all()  # immediate
    assert not sv.entitled(s, p, "residents_pension").any()  # follows the hukou


def test_switching_permit_entitlements_moves_cost_the_expected_way():
    """Conditional → immediate raises the cost when holders lack the years; immediate →
    conditional lowers it."""
    s = migrants(100, permit=True, residence_years=0, insurance_years=0,
                 age=np.arange(100) % 90)
    base = params()
    rp = base.policy.residence_permit
    to_immediate = params(**{
        "policy.residence_permit.immediate_services":
            [*rp.immediate_services, "minimum_living_allowance"],
        "policy.residence_permit.conditional_services":
            [x for x in rp.conditional_services if x != "minimum_living_allowance"]})
    assert (cost(s, to_immediate, "minimum_living_allowance")
            > cost(s, base, "minimum_living_allowance") == 0)
    to_conditional = params(**{
        "policy.residence_permit.immediate_services":
            [x for x in rp.immediate_services if x != "medical_insurance"],
        "policy.residence_permit.conditional_services":
            [*rp.conditional_services, "medical_insurance"]})
    assert (cost(s, to_conditional, "medical_insurance")
            < cost(s, base, "medical_insurance"))


def test_senior_secondary_follows_local_schooling_years():
    p = params()
    need = p.policy.residence_permit.exam_schooling_years
    s = migrants(3, permit=[True, True, False], age=16,
                 school_years_local=[need, need - 1, need])
    assert sv.entitled(s, p, "senior_secondary").tolist() == [True, False, False]


def test_incremental_cost_is_zero_when_nobody_changed_status():
    s = make_state(60, age=np.arange(60) * 1.5, hukou_urban=np.arange(60) % 2 == 0,
                   hukou_area=np.where(np.arange(60) % 3 == 0, OUTSIDE, 0))
    flows = sv.step(s, params())
    assert all(flows["incremental_cost", x].sum() == 0 for x in sv.SERVICES)
    assert sum(flows["public_service_cost", x].sum() for x in sv.SERVICES) > 0


def test_incremental_cost_of_settlers():
    """A settler from Liaoning gains the hukou services; a Panjin rural settler only
    moves from the rural to the urban 低保 standard."""
    p = params()
    ps = p.services.minimum_living_allowance
    moved = make_state(1, settled_year=2018, origin=PANJIN, age=40, insured=True,
                       insurance_years=5)  # household income 0: below every 低保 standard
    flows = sv.step(moved, p)
    urban = ps.take_up * ps.unit_cost[0]
    rural = ps.take_up * ps.unit_cost_rural[0]
    assert flows["incremental_cost", "minimum_living_allowance"].sum() == pytest.approx(
        (urban - rural) * sv.growth_factor(ps, YEAR))
    assert flows["incremental_cost", "medical_insurance"].sum() == 0
    outsider = make_state(1, settled_year=2018, origin=LIAONING, age=70)
    flows = sv.step(outsider, p)
    assert flows["incremental_cost", "residents_pension"].sum() > 0
    assert flows["incremental_cost", "basic_public_health"].sum() == 0  # everyone had it
    total = sum(flows["incremental_cost_by_payer", x].sum() for x in sv.PAYERS)
    assert total == pytest.approx(sum(flows["incremental_cost", x].sum() for x in sv.SERVICES))


def test_urban_infrastructure_is_one_time_and_off_by_default():
    s = make_state(3, settled_year=[YEAR, YEAR - 1, NONE], origin=PANJIN)
    assert cost(s, params(), "urban_infrastructure") == 0
    on = params(**{"services.urban_infrastructure.enabled": True})
    assert cost(s, on, "urban_infrastructure") == pytest.approx(80000.0)
    extra = sv.step(s, on)["incremental_cost", "urban_infrastructure"].sum()
    assert extra == pytest.approx(80000.0)


def test_housing_security_needs_renting_with_a_stable_job():
    """Household 0 has a member on contract; household 1 none; household 2 a member
    employed without a contract."""
    s = make_state(4, household=[0, 0, 1, 2], employment=[EMPLOYED, 0, 0, EMPLOYED],
                   labour_contract=[True, False, False, False], age=[30, 4, 30, 30])
    s.households.tenure[:] = RENT
    assert sv.use_and_unit_cost(s, params(), "housing_security", sv.status_of(s))[0].astype(
        bool).tolist() == [True, True, False, False]
    s.persons.place[:] = VILLAGE
    assert not sv.use_and_unit_cost(s, params(), "housing_security",
                                    sv.status_of(s))[0].any()


def test_payer_split_adds_up():
    s = make_state(40, age=np.arange(40) * 2)
    flows = sv.step(s, params())
    total = sum(flows["public_service_cost", x] for x in sv.SERVICES)
    by_payer = sum(flows["public_service_cost_by_payer", x] for x in sv.PAYERS)
    np.testing.assert_allclose(by_payer, total)
    assert set(flows["public_service_cost", "compulsory_education"].shape) == {5}


def test_unknown_service_names_are_refused():
    with pytest.raises(ValueError, match=re.escape("entitled: unknown service(s) ['schooling']")):
        sv.entitled(make_state(1), params(), "schooling")


# ------------------------------------------------ exact costs on a hand-built state

HAND = {  # unit costs chosen so every cost is a round number in 2021
    "services.residents_pension.unit_cost": [1000.0],
    "services.residents_pension.take_up": 0.5,
    "services.residents_pension.real_growth": 0.5,
    "services.residents_pension.reference_year": 2020,
    "services.elderly_services.unit_cost": [100.0, 400.0],
    "services.elderly_services.real_growth": 0.0,
    "services.minimum_living_allowance.unit_cost": [1000.0],
    "services.minimum_living_allowance.unit_cost_rural": [400.0],
    "services.minimum_living_allowance.take_up": 0.5,
    "services.minimum_living_allowance.real_growth": 0.0,
}


def hand_state() -> State:
    """Eight persons in 2021 (area 0 unless said; weight 1; households without income, so
    below either minimum-living standard):

    0. urban local, 70
    1. rural local living in a village, 85, with an employee pension
    2. urban local, 60
    3. urban local, 59
    4. permit holder (2 years here, 1 insured) living in a village, 40
    5. the same living in the urban district of area 1, weight 2
    6. non-local without a permit living in a village, 70
    7. urban local, 120 (past the last age band)
    """
    s = make_state(8, age=[70, 85, 60, 59, 40, 40, 70, 120],
                   employee_pension=[False, True, False, False, False, False, False, False],
                   insured=[False, False, False, False, True, True, False, False],
                   insurance_years=[0, 15, 14, 0, 1, 1, 0, 0],
                   residence_years=[0, 0, 0, 0, 2, 2, 0, 0],
                   hukou_area=[0, 0, 0, 0, OUTSIDE, OUTSIDE, OUTSIDE, 0],
                   hukou_urban=[True, False, True, True, False, False, False, True],
                   permit=[False, False, False, False, True, True, False, False],
                   area=[0, 0, 0, 0, 0, 1, 0, 0])
    s.persons.place[[1, 4, 6]] = VILLAGE
    s.persons.weight[5] = 2
    return s


def test_hand_computed_costs():
    """Residents' pension: 1000 x 1.5 (one year of 50% growth) x take-up 0.5 = 750 for
    persons 0 and 2 (aged 60 to 119, no employee pension); not 1 (employee pension),
    3 (59), 7 (120), nor the non-locals. Elderly services: 100 at 60-79 (0, 2), 400 at 80+
    (1). Minimum living allowance (ages 0-119, take-up 0.5, no income): urban standard
    1000 x 0.5 = 500 (0, 2, 3 and the urban-district permit holder 5), rural standard
    400 x 0.5 = 200 for the rural local 1 and for the permit holder 4 living in a village;
    nothing for 6 (no permit) and 7 (120): area 0 has 500 x 3 + 200 x 2 = 1900 yuan and
    2.5 users, area 1 2 x 500 = 1000 yuan and 1 user."""
    flows = sv.step(hand_state(), params(**HAND))
    assert flows["public_service_cost", "residents_pension"].tolist() == [1500, 0, 0, 0, 0]
    assert flows["service_users", "residents_pension"].tolist() == [1.0, 0, 0, 0, 0]
    assert flows["public_service_cost", "elderly_services"].tolist() == [600, 0, 0, 0, 0]
    np.testing.assert_allclose(flows["public_service_cost", "minimum_living_allowance"],
                               [1900, 1000, 0, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(flows["service_users", "minimum_living_allowance"],
                               [2.5, 1.0, 0, 0, 0], rtol=1e-12)


def test_non_locals_in_villages_get_the_rural_standard():
    s = hand_state()
    status = sv.status_of(s)
    assert sv.rural_standard(s, status).tolist() == [False, True, False, False, True, False,
                                                      True, False]
    use, unit = sv.use_and_unit_cost(s, params(**HAND), "minimum_living_allowance", status)
    assert unit[[4, 5]].tolist() == [400, 1000] and use[[4, 5]].tolist() == [0.5, 0.5]


@pytest.mark.parametrize("age, employee_pension, user", [
    (59, False, False), (60, False, True), (119, False, True), (120, False, False),
    (70, True, False)])
def test_residents_pension_boundaries(age, employee_pension, user):
    """Aged 60 to 119 (``ages[0] <= age < ages[-1]``) without an employee pension."""
    s = make_state(1, age=age, employee_pension=employee_pension)
    assert sv.entitled(s, params(), "residents_pension")[0]
    assert (sv.use_and_unit_cost(s, params(**HAND), "residents_pension",
                                 sv.status_of(s))[0][0] > 0) == user


def test_payers_share_each_service_by_its_payer_shares():
    """Only the pension open to anyone: 750 for person 0, split 50/20/15/15 %."""
    closed = {f"services.entitlement.{k}": [] for k in ("local_rural", "no_permit")}
    closed |= {"services.entitlement.local_urban": ["residents_pension"],
               "policy.residence_permit.immediate_services": [],
               "policy.residence_permit.conditional_services": []}
    s = make_state(1, age=70)
    flows = sv.step(s, params(**HAND, **closed))
    got = [flows["public_service_cost_by_payer", x][0] for x in sv.PAYERS]
    np.testing.assert_allclose(got, [375, 150, 112.5, 112.5], rtol=1e-12)


def test_senior_secondary_for_locals_whatever_their_schooling_years():
    s = make_state(2, age=16, hukou_urban=[True, False], school_years_local=0)
    assert sv.entitled(s, params(), "senior_secondary").tolist() == [True, True]


def test_costs_follow_the_status_given():
    """A local aged 70 costs a residents' pension as a local, nothing as a non-local."""
    s = make_state(1, age=70)
    p = params(**HAND)
    assert cost(s, p, "residents_pension") == 750
    assert cost(s, p, "residents_pension", np.array([sv.NO_PERMIT], np.int8)) == 0


def test_age_bands():
    """Bands [1, 3) and [3, 6): ages 0 and 6 are in none (also an empty age column)."""
    assert sv.age_band(np.array([0, 1, 2, 3, 5, 6, 90]), [1, 3, 6]).tolist() == [
        -1, 0, 0, 1, 1, -1, -1]
    assert sv.age_band(np.array([], np.int16), [1, 3, 6]).tolist() == []


class Group(SimpleNamespace):
    """A hand-made parameter group (``name in group`` as in the scenario's groups)."""

    def __contains__(self, name: str) -> bool:
        return name in vars(self)


def test_bad_unit_costs_and_payer_shares_are_named():
    """The scenario files refuse these already; the services step checks again for
    parameters built by hand."""
    elderly = Group(ages=[60, 80, 120], unit_cost=[100.0], real_growth=0.0,
                    reference_year=2021, take_up=1.0)
    p = SimpleNamespace(services=SimpleNamespace(elderly_services=elderly))
    with pytest.raises(ValueError, match=re.escape(
            "services.elderly_services: unit_cost needs one value per age band (2), got 1")):
        sv.service_base(make_state(1), p, "elderly_services")
    p = SimpleNamespace(services=SimpleNamespace(public_culture=Group(
        payer_shares=[0.5, 0.5, 0.5, 0.5])))
    with pytest.raises(ValueError, match=re.escape(
            "services.public_culture.payer_shares: need 4 shares (central, province, city, "
            "county) adding up to 1, got [0.5, 0.5, 0.5, 0.5]")):
        sv.payer_shares(p, "public_culture")


@pytest.mark.parametrize("where", ["local_urban", "local_rural", "no_permit",
                                   "immediate_services", "conditional_services"])
def test_unknown_service_in_an_entitlement_list_is_named(where):
    """Each entitlement list is checked and named (the parameter files limit the choices;
    a hand-made parameter set is checked too)."""
    lists = {k: [] for k in ("local_urban", "local_rural", "no_permit",
                             "immediate_services", "conditional_services")}
    lists[where] = ["schooling"]
    p0 = params()
    p = SimpleNamespace(
        services=SimpleNamespace(public_culture=p0.services.public_culture,
                                 entitlement=SimpleNamespace(**{k: lists[k] for k in (
                                     "local_urban", "local_rural", "no_permit")})),
        policy=SimpleNamespace(residence_permit=SimpleNamespace(**{k: lists[k] for k in (
            "immediate_services", "conditional_services")})))
    group = "policy.residence_permit" if where.endswith("services") else "services.entitlement"
    with pytest.raises(ValueError, match=re.escape(
            f"{group}.{where}: unknown service(s) ['schooling']; valid: "
            + ", ".join(sv.SERVICES))):
        sv.entitled(make_state(1), p, "public_culture")


def test_born_to_settlers_means_children_born_in_or_after_a_parents_settling_year():
    """2021. Household 0: the head settled in 2018; children aged 3 (born 2018, the settling
    year: counts), 2 (born 2019: counts) and 4 (born 2017: before, does not); a child with a
    non-local hukou (does not). Household 1: only the spouse settled, in 2020; a child of 1
    (born 2020: counts) and a parent of the head (not a child: does not). Household 2: nobody
    settled; a child of 0 (does not). A child who settled himself (2019, age 10) is a
    settler, not born to one."""
    s = make_state(10, household=[0, 0, 0, 0, 0, 1, 1, 1, 2, 2],
                   role=[HEAD, CHILD, CHILD, CHILD, CHILD, HEAD, SPOUSE, CHILD, HEAD, CHILD],
                   age=[40, 3, 2, 4, 1, 40, 38, 1, 30, 0],
                   settled_year=[2018, NONE, NONE, NONE, NONE, NONE, 2020, NONE, NONE, NONE],
                   hukou_area=[0, 0, 0, 0, OUTSIDE, 0, 0, 0, 0, 0])
    assert sv.born_to_settlers(s).tolist() == [False, True, True, False, False, False, False,
                                               True, False, False]
    s = make_state(2, household=[0, 0], role=[HEAD, CHILD], age=[40, 10],
                   settled_year=[2018, 2019])
    assert sv.born_to_settlers(s).tolist() == [False, False]
    s = make_state(2, household=[0, 0], role=[PARENT, CHILD], age=[70, 1],
                   settled_year=[2018, NONE])
    assert sv.born_to_settlers(s).tolist() == [False, False]  # a settled grandparent


def test_residents_medical_insurance_is_for_those_outside_the_employees_scheme():
    """Clause 十三: neither contributing now nor an employee pensioner. Persons: contributing,
    employee pensioner, neither, both: only the third may use 城乡居民医保."""
    s = make_state(4, insured=[True, False, False, True],
                   employee_pension=[False, True, False, True])
    possible = sv.service_base(s, params(), "medical_insurance")[0]
    assert possible.tolist() == [False, False, True, False]


def test_minimum_living_allowance_means_test_uses_the_standard_of_the_place_of_residence():
    """Standards (2015 prices, defaults): urban 6720, rural 4200 yuan a person a year; a
    household qualifies strictly below the standard of where it lives. Incomes per person:
    5000 in a town (below 6720: yes), 5000 in a village (above 4200: no), 6720 in a town
    (at the standard: no), 4199 in a village (yes)."""
    s = make_state(4, place=[URBAN_DISTRICT, VILLAGE, URBAN_DISTRICT, VILLAGE])
    s.households.income[:] = [5000, 5000, 6720, 4199]
    possible = sv.service_base(s, params(), "minimum_living_allowance")[0]
    assert possible.tolist() == [True, False, False, True]


def test_incremental_cost_is_weighted_by_the_settlers_weight():
    """The settler of `test_incremental_cost_of_settlers` with weight 2: twice the gap
    between the urban and the rural 低保 cost (HAND: (500 − 200) × 2 = 600)."""
    moved = make_state(1, settled_year=2018, origin=PANJIN, age=40, insured=True,
                       insurance_years=5, weight=2)
    flows = sv.step(moved, params(**HAND))
    assert flows["incremental_cost", "minimum_living_allowance"].tolist() == [600, 0, 0, 0, 0]


def test_senior_secondary_cost_follows_local_schooling_years_in_the_yearly_step():
    """The yearly step (persons grouped in cells) as `entitled`: three permit holders of 16
    with `exam_schooling_years` (3), 2 and 4 years of local schooling; users are the first
    and the third only, at the senior-secondary take-up each."""
    p = params()
    need = p.policy.residence_permit.exam_schooling_years
    s = migrants(3, permit=True, age=16, school_years_local=[need, need - 1, need + 1])
    users = sv.step(s, p)["service_users", "senior_secondary"].sum()
    assert users == pytest.approx(2 * p.services.senior_secondary.take_up)


# ------------------------------------------- `rows`, cached arguments and the cells

def mixed_state(seed: int = 7, n: int = 160) -> State:
    """A random mix of every kind of person the rules distinguish, in 2021: households of
    one to six members, locals urban and rural, permit holders and others from outside,
    settlers and children born to them, persons outside Panjin, every place, ages 0–110,
    residence, insurance and local schooling years around the clause-十一 thresholds,
    incomes around the 低保 standards, renters with and without a contract, weights."""
    rng = np.random.default_rng(seed)
    household = np.sort(rng.integers(0, n // 3, n))
    household = np.unique(household, return_inverse=True)[1]  # no empty household
    local = rng.random(n) < 0.5
    s = make_state(
        n, household=household,
        role=np.where(np.r_[True, household[1:] != household[:-1]], HEAD,
                      rng.choice([SPOUSE, CHILD, PARENT], n)),
        age=rng.integers(0, 111, n), weight=rng.choice([0.5, 1.0, 2.0, 3.0], n),
        area=rng.choice([0, 1, 2, 3, 4, OUTSIDE], n, p=[.3, .2, .2, .1, .1, .1]),
        place=rng.choice([URBAN_DISTRICT, 1, 2, VILLAGE], n),
        hukou_area=np.where(local, rng.integers(0, 5, n), OUTSIDE),
        hukou_urban=local & (rng.random(n) < 0.5),
        origin=np.where(local, PANJIN, LIAONING),
        permit=~local & (rng.random(n) < 0.6),
        settled_year=np.where(local & (rng.random(n) < 0.3), rng.integers(2016, 2022, n),
                              NONE),
        residence_years=rng.integers(0, 5, n), insured=rng.random(n) < 0.5,
        insurance_years=rng.integers(0, 5, n), school_years_local=rng.integers(0, 6, n),
        employee_pension=rng.random(n) < 0.2, employment=rng.choice([0, EMPLOYED], n),
        labour_contract=rng.random(n) < 0.5)
    s.persons.age[:6] = [0, 0, 1, 5, 6, 110]  # every seed: band edges of `BANDS`
    s.households.income[:] = rng.choice([0.0, 4000.0, 9000.0, 60000.0], len(s.households))
    s.households.tenure[:] = rng.choice([0, RENT], len(s.households))
    return s


def whole_households(state: State, households: list[int]) -> np.ndarray:
    """The rows of every member of ``households``, in an order other than the table's."""
    return np.flatnonzero(np.isin(state.persons.household, households))[::-1]


@pytest.mark.parametrize("seed", [7, 8])
def test_rows_give_the_full_computation_restricted_to_those_rows(seed):
    """``rows`` is a speed-up (the intention's hukou gain of a few households): every
    function taking it returns what it returns for everyone, at those rows, under the actual
    and the counterfactual status alike."""
    s, p = mixed_state(seed), params()
    rows = whole_households(s, [1, 4, 5, 9, 20, 33])
    assert 10 < rows.size < len(s.persons) // 2
    np.testing.assert_array_equal(sv.status_of(s, rows), sv.status_of(s)[rows])
    years = s.persons.residence_years
    groups = s.by_household
    np.testing.assert_array_equal(groups.project(groups.any(years[rows] >= 3, rows=rows), rows),
                                  groups.project(groups.any(years >= 3))[rows])
    np.testing.assert_array_equal(sv.permit_conditions_met(s, p, rows),
                                  sv.permit_conditions_met(s, p)[rows])
    for status in (sv.status_of(s), sv.counterfactual_status(s)):
        np.testing.assert_array_equal(sv.rural_standard(s, status, rows),
                                      sv.rural_standard(s, status)[rows])
        for service in sv.SERVICES:
            everyone = sv.entitled(s, p, service, status)
            np.testing.assert_array_equal(
                sv.entitled(s, p, service, status, rows=rows), everyone[rows], service)
            use, unit = sv.use_and_unit_cost(s, p, service, status)
            use_rows, unit_rows = sv.use_and_unit_cost(s, p, service, status, rows=rows)
            np.testing.assert_array_equal(use_rows, use[rows], service)
            np.testing.assert_array_equal(unit_rows, unit[rows], service)


def test_cached_conditions_and_base_are_the_ones_used():
    """``conditions`` and ``base`` are taken as given, not recomputed: the counterfactual
    or a caller's own evaluation may pass other values than today's. Permit holders with no
    years at all are entitled to housing security once the conditions say met; a base with
    another unit cost and take-up gives those."""
    s = migrants(3, permit=True, residence_years=0, insurance_years=0, household=[0, 0, 1])
    s.households.tenure[:] = RENT
    p, status = params(), sv.status_of(s)
    assert not sv.entitled(s, p, "housing_security", status).any()
    met = np.array([True, True, False])
    assert sv.entitled(s, p, "housing_security", status, met).tolist() == [True, True, False]
    assert sv.entitled(s, p, "housing_security", status, met,
                       rows=np.array([2, 1])).tolist() == [False, True]
    possible = np.ones(3, bool)
    base = (possible, 0.5, np.full(3, 100.0), np.full(3, 40.0))
    use, unit = sv.use_and_unit_cost(s, p, "public_culture", status, base=base)
    assert use.tolist() == [0.5] * 3 and unit.tolist() == [100.0] * 3
    use, unit = sv.use_and_unit_cost(s, p, "housing_security", status, met, base,
                                     rows=np.array([1, 2]))
    assert use.tolist() == [0.5, 0.0] and unit.tolist() == [100.0, 100.0]


BANDS = {  # infants apart: a band edge at age 1 (no default service has one)
    "services.basic_public_health.ages": [0, 1, 6, 120],
    "services.basic_public_health.unit_cost": [300.0, 80.0, 60.0]}


@pytest.mark.parametrize("seed, bands", [(7, False), (8, True), (9, True)])
def test_yearly_step_by_cells_equals_the_sum_over_persons(seed, bands):
    """The yearly step groups persons into cells (`_Cells`); its users, cost and
    incremental cost per area are the weighted sums over persons of `use_and_unit_cost`
    under the actual and the counterfactual status, service by service (with the default
    age bands, and with infants in a band of their own)."""
    s = mixed_state(seed)
    p = params(**{"services.urban_infrastructure.enabled": True, **(BANDS if bands else {})})
    flows = sv.step(s, p)
    t = s.persons
    n = len(flows["public_service_cost", "public_culture"])
    index = np.where(t.area == OUTSIDE, n, t.area)
    now, before = sv.status_of(s), sv.counterfactual_status(s)
    assert (now != before).sum() > 10
    for service in sv.SERVICES:
        use, unit = sv.use_and_unit_cost(s, p, service, now)
        use0, unit0 = sv.use_and_unit_cost(s, p, service, before)
        by_area = [np.bincount(index, weights=t.weight * x, minlength=n + 1)[:n]
                   for x in (use, use * unit, use * unit - use0 * unit0)]
        for name, expected in zip(("service_users", "public_service_cost",
                                   "incremental_cost"), by_area, strict=True):
            np.testing.assert_allclose(flows[name, service], expected, rtol=1e-9,
                                       atol=1e-6, err_msg=f"{name} {service}")
