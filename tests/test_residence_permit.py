"""Residence permits (clause 十一, 居住证暂行条例 Art. 2, 10): sim.pipeline.residence_permit."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import residence_permit as rp
from sim.pipeline import services
from sim.population import DORMITORY, EMPLOYED, LIAONING, NOT_WORKING, OUTSIDE, RENT
from tests.factories import make_state, params

MIGRANT = {"hukou_area": OUTSIDE, "origin": LIAONING, "village": -1, "residence_years": 1,
           "tenure": RENT}

CASES = [
    ("migrant renting for a year", {}, {}, []),
    ("employed, in a dormitory", {"tenure": DORMITORY, "employment": EMPLOYED,
                                  "labour_contract": True}, {}, []),
    ("schoolchild in a dormitory", {"tenure": DORMITORY, "age": 10, "school_years_local": 2},
     {}, []),
    ("permits not issued yet", {}, {"policy.residence_permit.available": False},
     ["permits_issued"]),
    ("lives outside Panjin", {"area": OUTSIDE}, {}, ["lives_in_panjin"]),
    ("Panjin hukou in another district", {"hukou_area": 1}, {}, ["no_panjin_hukou"]),
    ("arrived this year", {"residence_years": 0}, {}, ["residence_half_year"]),
    ("dormitory, not working, not studying", {"tenure": DORMITORY, "employment": NOT_WORKING},
     {}, ["job_residence_or_study"]),
]


@pytest.mark.parametrize("case, columns, overrides, fails", CASES, ids=[c[0] for c in CASES])
def test_who_may_hold_a_permit(case, columns, overrides, fails):
    e = rp.may_hold(make_state(**{**MIGRANT, **columns}), params(**overrides))
    assert e.reasons(0) == fails
    assert e.passed[0] == (not fails)


def test_no_permits_before_2016():
    assert not rp.may_hold(make_state(**MIGRANT), params(2015)).passed[0]


def test_take_up_endorsement_and_lapse():
    state = make_state(3, **MIGRANT)
    state.persons.weight[:] = 10.0
    everyone = params(**{"behaviour.permit.take_up": 1.0})
    flows = rp.step(state, everyone, np.random.default_rng(0))
    p = state.persons
    assert p.permit.all() and (p.permit_years == 1).all()
    assert flows[("residence_permits_issued", "")][0] == 30.0
    rp.step(state, everyone, np.random.default_rng(0))
    assert (p.permit_years == 2).all()
    p.area[1] = OUTSIDE  # leaves Panjin: the permit lapses and its years restart (Art. 10)
    flows = rp.step(state, everyone, np.random.default_rng(0))
    assert p.permit.tolist() == [True, False, True]
    assert p.permit_years.tolist() == [3, 0, 3]
    assert flows[("residence_permits_lapsed", "")].sum() == 0.0  # counted where they live: gone


def test_no_take_up_issues_nothing_but_holders_are_endorsed():
    state = make_state(2, **MIGRANT)
    state.persons.permit[0] = True
    state.persons.permit_years[0] = 4
    rp.step(state, params(**{"behaviour.permit.take_up": 0.0}),
            np.random.default_rng(0))
    assert state.persons.permit.tolist() == [True, False]
    assert state.persons.permit_years.tolist() == [5, 0]


def test_take_up_share_is_applied():
    state = make_state(20000, **MIGRANT)
    rp.step(state, params(**{"behaviour.permit.take_up": 0.25}),
            np.random.default_rng(1))
    assert state.persons.permit.mean() == pytest.approx(0.25, abs=0.02)


def test_entitlement_table_follows_clause_11():
    r = params().policy.residence_permit
    assert set(r.immediate_services) == {"employment_services", "compulsory_education",
                                         "basic_public_health", "medical_insurance",
                                         "public_culture"}
    assert set(r.conditional_services) == {"vocational_training", "housing_security",
                                           "elderly_services", "minimum_living_allowance",
                                           "medical_assistance"}
    assert not set(r.immediate_services) & set(r.conditional_services)
    assert set(r.immediate_services) | set(r.conditional_services) <= set(services.SERVICES)


def test_households_with_pupils_apply_more_readily():
    state = make_state(2, household=[0, 1], **MIGRANT)
    state.persons.age[1] = 10  # household 1 has a pupil
    prob = rp.take_up_probability(state, params())
    assert prob[1] == pytest.approx(2 * prob[0])


def test_studying_means_school_age_with_a_year_of_local_schooling():
    """Ages below the end of schooling (18) with at least one year in a Panjin school."""
    s = make_state(5, age=[10, 10, 17, 18, 30], school_years_local=[1, 0, 2, 1, 12])
    assert rp.studying(s, params()).tolist() == [True, False, True, False, False]


def test_take_up_probability_is_capped_at_one():
    """A take-up of 0.6 doubled for a household with a pupil would be 1.2: the chance is 1."""
    state = make_state(2, household=[0, 1], **MIGRANT)
    state.persons.age[1] = 10
    p = params(**{"behaviour.permit.take_up": 0.6,
                  "behaviour.permit.school_children_factor": 2.0})
    assert rp.take_up_probability(state, p).tolist() == [0.6, 1.0]


def test_issued_and_lapsed_are_counted_by_weight_where_the_holders_live():
    """Area 2: a holder (weight 3) who moved into an employer dormitory without work lapses
    inside Panjin; area 1: a newcomer (weight 2) is issued one."""
    state = make_state(2, household=[0, 1], area=[2, 1], weight=[3.0, 2.0],
                       **{k: v for k, v in MIGRANT.items() if k != "tenure"},
                       tenure=[DORMITORY, RENT], employment=NOT_WORKING)
    state.persons.permit[0] = True
    state.persons.permit_years[0] = 2
    flows = rp.step(state, params(**{"behaviour.permit.take_up": 1.0}),
                    np.random.default_rng(0))
    assert flows["residence_permits_lapsed", ""].tolist() == [0, 0, 3, 0, 0]
    assert flows["residence_permits_issued", ""].tolist() == [0, 2, 0, 0, 0]
    assert state.persons.permit.tolist() == [False, True]
