"""Settlement channel rules (clauses 四–九, 二.2): sim.pipeline.eligibility.

Each channel gets a table of cases read from the clause: a person who meets every condition
passes; removing one condition fails exactly that condition, named in ``failed``.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import eligibility as el
from sim.population import (
    CHILD,
    COLLEGE,
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    DORMITORY,
    EMPLOYED,
    HEAD,
    NOT_WORKING,
    OTHER,
    OTHER_PROVINCE,
    OUTSIDE,
    OWN,
    PARENT,
    RELATIVES,
    RENT,
    SECONDARY_SPECIALIZED,
    SELF_EMPLOYED,
    SENIOR,
    SPOUSE,
    TECHNICAL_SCHOOL,
    URBAN_DISTRICT,
    VILLAGE,
    State,
)
from sim.scenario import load_defaults
from tests.factories import make_state, params

YEAR = 2016


def failed(e: el.Eligibility) -> list[str]:
    return e.reasons(0)


# --------------------------------------------------------------- clause 四: towns

TOWN_CASES = [
    ("owner in a designated town", {}, {}, []),
    ("county-seat town", {"place": COUNTY_SEAT_TOWN}, {}, []),
    ("renter whose landlord consents", {"tenure": RENT, "landlord_consent": True}, {}, []),
    ("renter, landlord refuses, 九 on", {"tenure": RENT}, {}, []),
    ("renter, landlord refuses, 九 off", {"tenure": RENT},
     {"policy.community_collective_household": False}, ["registration_place"]),
    ("migrant from another province", {"hukou_area": OUTSIDE, "origin": OTHER_PROVINCE,
                                       "village": -1}, {}, []),
    ("urban hukou of another Panjin area", {"hukou_area": 1, "hukou_urban": True}, {}, []),
    ("lives outside Panjin", {"area": OUTSIDE}, {}, ["lives_in_panjin"]),
    ("already urban hukou here", {"hukou_urban": True}, {}, ["not_urban_hukou_here"]),
    ("lives in a village", {"place": VILLAGE}, {}, ["lives_in_town"]),
    ("lives in the urban districts", {"place": URBAN_DISTRICT}, {}, ["lives_in_town"]),
    ("employer dormitory", {"tenure": DORMITORY}, {}, ["stable_residence"]),
    ("with relatives", {"tenure": RELATIVES}, {}, ["stable_residence"]),
]


@pytest.mark.parametrize("case, columns, overrides, fails", TOWN_CASES,
                         ids=[c[0] for c in TOWN_CASES])
def test_town_clause_4(case, columns, overrides, fails):
    e = el.town(make_state(**columns), params(**overrides))
    assert failed(e) == fails
    assert e.passed[0] == (not fails)


# ------------------------------------------------------- clause 五: urban districts

UD = {"place": URBAN_DISTRICT, "employment": EMPLOYED, "labour_contract": True,
      "job_years": 1, "residence_years": 1, "insured": True, "insurance_years": 1}
UD_YEARS = {"policy.urban_district.job_years": 1, "policy.urban_district.residence_years": 1}

UD_CASES = [
    ("employee with contract, owner, enrolled", {}, {}, []),
    ("self-employed", {"employment": SELF_EMPLOYED, "labour_contract": False}, {}, []),
    ("renter, 九 on", {"tenure": RENT}, {}, []),
    ("renter, landlord refuses, 九 off", {"tenure": RENT},
     {"policy.community_collective_household": False}, ["registration_place"]),
    ("lives in a town", {"place": DESIGNATED_TOWN}, {}, ["lives_in_urban_district"]),
    ("dormitory", {"tenure": DORMITORY}, {}, ["stable_residence"]),
    ("too new a resident", {"residence_years": 0}, {}, ["residence_years"]),
    ("not working", {"employment": NOT_WORKING, "labour_contract": False}, {}, ["stable_job"]),
    ("employee without contract", {"labour_contract": False}, {}, ["stable_job"]),
    ("too new a job", {"job_years": 0}, {}, ["job_years"]),
    ("not insured", {"insured": False, "insurance_years": 0}, {}, ["social_insurance"]),
    ("lost the insured job: 5 cumulative years, not contributing now",
     {"insured": False, "insurance_years": 5}, {}, ["social_insurance"]),
    ("re-insured after a break: 3 cumulative years, 3 asked", {"insurance_years": 3},
     {"policy.urban_district.insurance_years": 3}, []),
    ("insured 1 year, 3 asked", {}, {"policy.urban_district.insurance_years": 3},
     ["social_insurance"]),
    ("no insurance asked", {"insured": False, "insurance_years": 0},
     {"policy.urban_district.insurance_years": 0}, []),
    ("no job asked", {"employment": NOT_WORKING, "labour_contract": False, "job_years": 0},
     {"policy.urban_district.requires_stable_job": False}, []),
    ("already urban hukou here", {"hukou_urban": True}, {}, ["not_urban_hukou_here"]),
]


@pytest.mark.parametrize("case, columns, overrides, fails", UD_CASES,
                         ids=[c[0] for c in UD_CASES])
def test_urban_district_clause_5(case, columns, overrides, fails):
    e = el.urban_district(make_state(**{**UD, **columns}), params(**{**UD_YEARS, **overrides}))
    assert failed(e) == fails
    assert e.passed[0] == (not fails)


def test_urban_district_years_are_capped_at_3():
    from sim.scenario import ScenarioError
    with pytest.raises(ScenarioError, match="out of range"):
        params(**{"policy.urban_district.insurance_years": 4})


# ------------------------------------------------------------- clause 六: talent

TALENT = {"education": COLLEGE, "employment": EMPLOYED, "labour_contract": True,
          "legal_person_employer": True, "place": VILLAGE}

TALENT_CASES = [
    ("college graduate on contract", {}, {}, []),
    ("technical secondary (中专)", {"education": SECONDARY_SPECIALIZED}, {}, []),
    ("技校 with certificate", {"education": TECHNICAL_SCHOOL, "vocational_cert": True}, {}, []),
    ("技校 without certificate", {"education": TECHNICAL_SCHOOL}, {}, ["vocational_cert"]),
    ("技校 with certificate, extension off",
     {"education": TECHNICAL_SCHOOL, "vocational_cert": True},
     {"policy.talent.technical_school_with_certificate": False}, ["education"]),
    ("senior high school only", {"education": SENIOR}, {}, ["education"]),
    ("employee without contract", {"labour_contract": False}, {}, ["labour_contract"]),
    ("contract with an individual business (个体工商户)", {"legal_person_employer": False}, {},
     ["legal_person_employer"]),
    ("self-employed", {"employment": SELF_EMPLOYED, "labour_contract": False,
                       "legal_person_employer": False}, {},
     ["labour_contract", "legal_person_employer"]),
    ("lives outside Panjin", {"area": OUTSIDE}, {}, ["lives_in_panjin"]),
]


@pytest.mark.parametrize("case, columns, overrides, fails", TALENT_CASES,
                         ids=[c[0] for c in TALENT_CASES])
def test_talent_clause_6(case, columns, overrides, fails):
    e = el.talent(make_state(**{**TALENT, **columns}), params(**overrides))
    assert failed(e) == fails
    assert e.passed[0] == (not fails)


# --------------------------------------------------------- clause 七: investment

INVESTOR = {"employment": SELF_EMPLOYED, "enterprise_rep": True, "business_premises": True,
            "business_licence": True, "tax_years": 1}

INVESTMENT_CASES = [
    ("representative with premises, licence, 1 year of tax", {}, {}, []),
    ("not a legal representative", {"enterprise_rep": False}, {}, ["enterprise_rep"]),
    ("no premises", {"business_premises": False}, {}, ["business_premises"]),
    ("no licence", {"business_licence": False}, {}, ["business_licence"]),
    ("no tax record yet", {"tax_years": 0}, {}, ["tax_record"]),
    ("no tax receipts, proof of tax relief", {"tax_years": 0, "tax_relief": True}, {}, []),
    ("one year of receipts, two asked", {}, {"policy.investment.tax_years": 2},
     ["tax_record"]),
    ("minimum set, investment below it", {"investment": 999_999.0},
     {"policy.investment.min_investment": 1e6}, ["min_investment"]),
    ("minimum set, investment meets it", {"investment": 1e6},
     {"policy.investment.min_investment": 1e6}, []),
    ("no minimum, nothing invested", {"investment": 0.0}, {}, []),
    ("a minimum of one yuan, nothing invested", {"investment": 0.0},
     {"policy.investment.min_investment": 1.0}, ["min_investment"]),
]


@pytest.mark.parametrize("case, columns, overrides, fails", INVESTMENT_CASES,
                         ids=[c[0] for c in INVESTMENT_CASES])
def test_investment_clause_7(case, columns, overrides, fails):
    e = el.investment(make_state(**{**INVESTOR, **columns}), params(**overrides))
    assert failed(e) == fails
    assert e.passed[0] == (not fails)


# ----------------------------------------------------- dated parameters by year

def test_reform_switches_on_in_2016():
    """Renters in towns: before the opinion (2015) renting did not count and no collective
    household existed; from 2016 both hold (dated defaults)."""
    renter = make_state(tenure=RENT)
    before = el.town(renter, params(2015))
    after = el.town(renter, params(2016))
    assert failed(before) == ["stable_residence", "registration_place"]
    assert after.passed[0]


def test_scenario_dated_override_switches_in_its_year():
    p = load_defaults().with_overrides({"policy.urban_district.insurance_years": {2019: 3}})
    state = make_state(**{**UD, "insurance_years": 2})
    assert el.urban_district(state, p.at(2018)).passed[0]
    assert failed(el.urban_district(state, p.at(2019))) == ["social_insurance"]


# ------------------------------------------------------------------ family rule

def family_state() -> State:
    """One household (rows 0–6): head, spouse, child, head's parent, other relative, a child
    living in another area, the head's other parent."""
    roles = [HEAD, SPOUSE, CHILD, PARENT, OTHER, CHILD, PARENT]
    state = make_state(len(roles), household=[0] * len(roles), role=roles)
    state.persons.area[5] = 1  # the second child lives elsewhere: not co-residing
    return state


@pytest.mark.parametrize("applicant, brought", [
    (0, [1, 2, 3, 6]),   # head: spouse, co-residing child, both parents
    (1, [0, 2]),         # head's spouse: the head (spouse) and the child
    (2, [0, 1]),         # child: the head and the head's spouse (its parents)
    (3, [0, 6]),         # head's parent: the head (its child) and the other parent
    (4, []),             # other relative: nobody
])
def test_family_is_coresiding_spouse_children_parents(applicant, brought):
    state = family_state()
    mask = np.zeros(len(state.persons), bool)
    mask[applicant] = True
    assert np.flatnonzero(el.family(state, mask)).tolist() == brought


def test_family_already_urban_here_does_not_move():
    state = family_state()
    state.persons.hukou_urban[1] = True
    mask = np.zeros(len(state.persons), bool)
    mask[0] = True
    assert 1 not in np.flatnonzero(el.family(state, mask))


def test_family_needs_one_applicant_per_household():
    state = family_state()
    with pytest.raises(ValueError, match="^family: more than one applicant in a household$"):
        el.family(state, np.array([True, True, False, False, False, False, False]))


def test_family_of_a_household_without_an_applicant_is_nobody():
    """Household 0 (a head alone) applies; household 1 (head and spouse) does not: nobody
    is brought, in particular not household 1's spouse."""
    state = make_state(3, household=[0, 1, 1], role=[HEAD, HEAD, SPOUSE])
    assert el.family(state, np.array([True, False, False])).tolist() == [False, False, False]


def test_family_is_a_mask():
    """Callers index persons with it: bool, one value per person."""
    state = family_state()
    mask = np.zeros(len(state.persons), bool)
    mask[0] = True
    assert el.family(state, mask).dtype == bool


def test_evaluate_runs_every_channel_rule_on_every_person():
    """`evaluate` (settlement's entry) gives, per channel code, that channel's rule."""
    state = make_state(3, place=[DESIGNATED_TOWN, URBAN_DISTRICT, VILLAGE],
                       **{k: v for k, v in {**UD, **INVESTOR}.items() if k != "place"})
    p = params()
    got = el.evaluate(state, p)
    assert sorted(got) == sorted(el.RULES)
    for code, rule in el.RULES.items():
        assert got[code].passed.tolist() == rule(state, p).passed.tolist()
    assert got[el.TOWN].passed.tolist() != got[el.URBAN_DISTRICT_CHANNEL].passed.tolist()


def test_only_talent_settles_alone():
    assert el.BRINGS_FAMILY == {0: True, 1: True, 2: False, 3: True}


# ------------------------------------------------------------------ clause 八

def test_clause_8_refuses_urban_to_rural_moves_only():
    state = make_state(4, hukou_urban=True)
    before = el.HukouSnapshot.of(state.persons)
    assert not el.refuse_clause_8(before, state.persons).any()
    state.persons.hukou_urban[1] = False          # urban → rural in Panjin: forbidden
    state.persons.hukou_area[1] = 2               # ... into another area's village
    state.persons.hukou_area[2] = OUTSIDE         # hukou moved out of Panjin: not 八's business
    newborn = make_state(1, hukou_urban=False)
    newborn.persons.id[:] = 999
    persons = state.persons.extend(newborn.persons)
    assert el.urban_to_rural(before, persons).tolist() == [False, True, False, False, False]
    graduate = np.zeros(len(persons), bool)
    graduate[1] = True  # fresh in-province graduate returning to origin: allowed
    assert not el.refuse_clause_8(before, persons, exceptions=graduate).any()
    assert not persons.hukou_urban[1]
    # without the exception the one move is refused (the run goes on): the urban hukou stays
    persons.hukou_urban[1] = False
    refused = el.refuse_clause_8(before, persons)
    assert refused.tolist() == [False, True, False, False, False]
    assert persons.hukou_urban[1] and persons.hukou_area[1] == 0
    assert persons.hukou_area[2] == OUTSIDE and not persons.hukou_urban[4]


def test_clause_8_refuses_urban_to_rural_within_area_0():
    """Clause 八 in the first area code too (area 0 is a Panjin area, not 'outside'): an
    urban hukou of area 0 turned rural of area 0 is an urban → rural move."""
    state = make_state(1, hukou_urban=True, hukou_area=0)
    before = el.HukouSnapshot.of(state.persons)
    state.persons.hukou_urban[0] = False
    assert el.urban_to_rural(before, state.persons).tolist() == [True]


def test_clause_8_knows_the_last_person_of_the_snapshot_among_newcomers():
    """The person with the largest id of the snapshot, now among newborns (the snapshot's
    positions then found by search): their urban → rural move is refused too."""
    state = make_state(2, hukou_urban=True)
    before = el.HukouSnapshot.of(state.persons)
    newborn = make_state(1, hukou_urban=False)
    newborn.persons.id[:] = 999
    persons = newborn.persons.extend(state.persons)  # the newborn first: not the same rows
    persons.hukou_urban[2] = False  # id 101, the snapshot's last
    assert el.urban_to_rural(before, persons).tolist() == [False, False, True]


def test_clause_8_after_a_snapshot_of_nobody():
    """A snapshot of an empty population knows nobody: nobody was urban, nobody is refused
    (the persons added since are new)."""
    before = el.HukouSnapshot.of(make_state(0).persons)
    state = make_state(3, hukou_urban=[True, False, True])
    pos, known = before.positions(state.persons)
    assert pos.dtype == np.intp and pos.shape == (3,)
    assert known.dtype == bool and known.tolist() == [False, False, False]
    assert el.urban_to_rural(before, state.persons).tolist() == [False, False, False]
    assert not el.refuse_clause_8(before, state.persons).any()


def test_clause_8_rural_to_rural_moves_are_fine():
    state = make_state(2)
    before = el.HukouSnapshot.of(state.persons)
    state.persons.hukou_area[0] = 1  # 三投靠 between rural residents
    assert not el.refuse_clause_8(before, state.persons).any()
    assert state.persons.hukou_area[0] == 1


# ------------------------------------------------------------------ explain

def test_explain_names_the_failing_condition_and_clause():
    from sim.explanation import explain, format_explanation
    state = make_state(2, tenure=RENT)
    d = explain(state, params(**{"policy.community_collective_household": False}), 101)
    assert d["channels_passed"] == []
    town = d["channels"]["town"]
    assert town["clause"] == "四"
    assert [f["condition"] for f in town["failed"]] == ["registration_place"]
    assert "clause 九" in town["failed"][0]["reason"]
    assert d["residence_permit"]["failed"][0]["condition"] == "no_panjin_hukou"
    text = format_explanation(d)
    assert "person 101" in text and "town (clause 四): fails" in text
    assert explain(state, params(), 101)["channels_passed"] == ["town"]
    with pytest.raises(KeyError):
        explain(state, params(), 7)


def test_landlord_consent_share_is_a_scenario_parameter():
    """Each home keeps one draw, so changing (or dating) the share changes who may register."""
    state = make_state(tenure=RENT)
    state.households.landlord_draw[:] = 0.5
    assert el.landlord_consents(state, params(**{"policy.landlord_consent_share": 0.6}))[0]
    assert not el.landlord_consents(state, params(**{"policy.landlord_consent_share": 0.4}))[0]
    owner = make_state(tenure=OWN)
    assert not el.landlord_consents(owner, params(**{"policy.landlord_consent_share": 1.0}))[0]
