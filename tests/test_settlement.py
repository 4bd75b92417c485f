"""Settlement decisions (step 7): sim.pipeline.settlement."""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import settlement as st
from sim.population import (
    CHILD,
    COLLEGE,
    DORMITORY,
    EMPLOYED,
    HEAD,
    INVESTMENT,
    LIAONING,
    NONE,
    OTHER,
    OUTSIDE,
    OWN,
    PARENT,
    RELATIVES,
    RENT,
    SELF_EMPLOYED,
    SPOUSE,
    TALENT,
    TOWN,
    URBAN_DISTRICT,
    URBAN_DISTRICT_CHANNEL,
    VILLAGE,
)
from sim.synthesis import synthesize
from tests.test_eligibility import INVESTOR, make_state, params
from tests.test_eligibility import TALENT as TALENT_COLS

# Every eligible household that can act does: certain intention, full awareness, action.
ALL = {"behaviour.intention.intercept": 20.0, "behaviour.intention.homestead_effect": 0.0,
       "behaviour.intention.land_surrender_effect": 0.0,
       "behaviour.awareness.rate": 10.0, "behaviour.settlement.action_rate": 1.0}


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def settle(state, **overrides):
    p = params(**{**ALL, **overrides})
    d = st.decide(state, p, rng())
    st.check(d, state)
    st.apply(state, p, d)
    return d


def household(roles, **columns):
    return make_state(len(roles), household=[0] * len(roles), role=roles, **columns)


def test_town_household_settles_with_coresiding_family():
    state = household([HEAD, SPOUSE, CHILD, PARENT, OTHER])
    state.persons.origin[:] = LIAONING
    d = settle(state)
    assert d.applicant.tolist() == [True, False, False, False, False]
    assert d.movers.tolist() == [True, True, True, True, False]
    p = state.persons
    assert (p.settled_channel[:4] == TOWN).all() and p.settled_channel[4] == NONE
    assert p.hukou_urban[:4].all() and not p.hukou_urban[4]
    assert (p.settled_year[:4] == 2016).all()
    assert (p.origin == LIAONING).all()  # origin kept


def test_talent_brings_nobody():
    """The head passes only clause 六 (lives in a village): spouse and child stay rural."""
    state = household([HEAD, SPOUSE, CHILD], place=VILLAGE)
    for name, value in TALENT_COLS.items():
        getattr(state.persons, name)[0] = value
    d = settle(state)
    assert d.movers.tolist() == [True, False, False]
    assert d.channel[0] == TALENT
    assert st.REGISTRATION_PLACES[d.registration[0]] == "talent_centre"


def test_applicant_is_head_if_eligible_else_first_member():
    state = household([HEAD, SPOUSE, CHILD, CHILD], place=VILLAGE)
    for row in (2, 3):
        for name, value in TALENT_COLS.items():
            getattr(state.persons, name)[row] = value
    d = settle(state)
    assert d.applicant.tolist() == [False, False, True, False]


def test_eligible_head_is_preferred_to_an_earlier_member():
    """The head is eligible but not the first row: the head applies, not the child."""
    state = household([CHILD, HEAD, SPOUSE], place=VILLAGE)
    for row in (0, 1):
        for name, value in TALENT_COLS.items():
            getattr(state.persons, name)[row] = value
    assert st.choose_applicants(state, np.array([True, True, False])).tolist() == [
        False, True, False]
    assert settle(state).applicant.tolist() == [False, True, False]


def test_applicants_are_a_mask_and_nobody_has_no_registration_place():
    """`choose_applicants` gives a bool mask (callers combine it with `&`, `|`); a state
    without persons has no applicant and no registration place."""
    state = make_state(3, household=[0, 0, 1])
    applicants = st.choose_applicants(state, np.array([True, True, True]))
    assert applicants.dtype == bool and applicants.tolist() == [True, False, True]
    empty = make_state(0)
    assert st.registration_place(empty, params(), np.zeros(0, np.int8)).tolist() == []


def test_channel_prefers_family():
    """A graduate on contract who also runs an enterprise settles by 七 and brings family."""
    state = household([HEAD, SPOUSE], place=VILLAGE)
    for name, value in {**TALENT_COLS, **INVESTOR}.items():
        getattr(state.persons, name)[0] = value
    state.persons.employment[0] = EMPLOYED
    d = settle(state)
    assert d.channel.tolist() == [INVESTMENT, INVESTMENT]
    assert st.REGISTRATION_PLACES[d.registration[0]] == "employer_collective"


def test_nobody_settles_without_passing_a_rule():
    state, _ = synthesize(scale=0.003, rng=np.random.default_rng(3))
    p = params(**ALL)
    d = st.decide(state, p, rng())
    passed_any = np.logical_or.reduce([e.passed for e in d.eligibility.values()])
    assert d.applicant.any()
    assert not (d.applicant & ~passed_any).any()
    for code, e in d.eligibility.items():
        assert not (d.applicant & (d.channel == code) & ~e.passed).any()
    assert not (d.movers & ~d.applicant & (d.channel == TALENT)).any()
    st.check(d, state)


def test_check_catches_a_forged_settler():
    state = make_state(2, place=VILLAGE)
    d = st.decide(state, params(**ALL), rng())
    forged = st.Decision(d.eligibility, np.array([True, False]),
                         np.array([TOWN, NONE], np.int8), np.array([0, NONE], np.int8),
                         np.array([True, False]))
    with pytest.raises(AssertionError, match="town"):
        st.check(forged, state)


def test_check_catches_a_settler_who_did_not_intend():
    state = make_state(2, place=VILLAGE)
    d = st.decide(state, params(**ALL), rng())
    forged = st.Decision(d.eligibility, np.array([True, False]),
                         np.array([TOWN, NONE], np.int8), np.array([0, NONE], np.int8),
                         np.array([False, False]))
    with pytest.raises(AssertionError, match="^a household settled without intending to$"):
        st.check(forged, state)


def test_no_action_settles_nobody():
    state = household([HEAD, SPOUSE])
    d = settle(state, **{"behaviour.settlement.action_rate": 0.0})
    assert not d.movers.any()


@pytest.mark.parametrize("tenure, consent, collective, place", [
    (OWN, False, True, "own_home"),
    (RENT, True, True, "rented_home"),
    (RENT, False, True, "community_collective"),
])
def test_registration_place_of_towns(tenure, consent, collective, place):
    state = make_state(tenure=tenure, landlord_consent=consent)
    d = settle(state, **{"policy.community_collective_household": collective})
    assert st.REGISTRATION_PLACES[d.registration[0]] == place


def test_registration_place_of_talent():
    """A relative's household when one holds urban hukou here; employer collective for a
    dormitory dweller."""
    state = household([HEAD, CHILD], place=VILLAGE)
    state.persons.hukou_urban[0] = True
    for name, value in TALENT_COLS.items():
        getattr(state.persons, name)[1] = value
    state.persons.place[:] = URBAN_DISTRICT
    d = settle(state, **{"policy.urban_district.insurance_years": 3})
    assert d.channel[1] == TALENT
    assert st.REGISTRATION_PLACES[d.registration[1]] == "relative"

    dorm = make_state(tenure=DORMITORY, **TALENT_COLS)
    d = settle(dorm)
    assert st.REGISTRATION_PLACES[d.registration[0]] == "employer_collective"


def test_renter_without_consent_cannot_settle_without_clause_9():
    state = make_state(tenure=RENT, place=URBAN_DISTRICT, employment=SELF_EMPLOYED,
                       insured=True, insurance_years=1)
    assert not settle(state, **{"policy.community_collective_household": False}).movers.any()
    d = settle(state)
    assert d.channel[0] == URBAN_DISTRICT_CHANNEL


def test_land_rights_kept_unless_principle_off():
    for kept in (True, False):
        state = household([HEAD, SPOUSE])
        h = state.households
        h.contract_land[:] = h.homestead[:] = h.collective_income[:] = True
        settle(state, **{"policy.land_rights_kept_on_settling": kept})
        assert state.persons.hukou_urban.all()
        assert h.contract_land[0] == kept and h.homestead[0] == kept
        assert h.collective_income[0] == kept


def test_settling_migrant_gets_hukou_of_residence_and_drops_permit():
    state = make_state(hukou_area=OUTSIDE, village=-1, permit=True, permit_years=2)
    state.persons.area[:] = 3
    settle(state)
    p = state.persons
    assert p.hukou_area[0] == 3 and p.hukou_urban[0]
    assert not p.permit[0] and p.permit_years[0] == 0


def test_flows_count_persons_by_area_channel_and_place():
    state = household([HEAD, SPOUSE, CHILD])
    state.persons.weight[:] = 50.0
    p = params(**ALL)
    flows = st.step(state, p, rng())
    assert flows[("settlements", "town")].tolist() == [150.0, 0, 0, 0, 0]
    assert flows[("settlements", "talent")].sum() == 0
    assert flows[("settlements_by_registration_place", "own_home")][0] == 150.0
    assert {k[1] for k in flows if k[0] == "settlements"} == {
        "town", "urban_district", "talent", "investment"}
    assert {k[1] for k in flows if k[0] == "settlements_by_registration_place"} == set(
        st.REGISTRATION_PLACES)


def test_settled_persons_are_not_eligible_again():
    state = household([HEAD, SPOUSE])
    settle(state)
    assert not settle(state).movers.any()


def test_parent_applicant_when_head_already_urban():
    state = household([HEAD, PARENT, PARENT])
    state.persons.hukou_urban[0] = True
    d = settle(state)
    assert d.applicant.tolist() == [False, True, False]
    assert d.movers.tolist() == [False, True, True]


def test_college_graduate_is_talent_only_outside_towns():
    state = make_state(place=VILLAGE, education=COLLEGE, employment=EMPLOYED,
                       labour_contract=True, legal_person_employer=True)
    assert settle(state).channel[0] == TALENT


def test_registration_place_by_tenure_and_channel():
    """Clauses 四/五/七/九 by hand, the community collective household on and no landlord
    consenting: one person per household, in a town unless said.

    0. town channel, dormitory: employer collective (not the community collective);
    1. town channel, living with relatives: the relative's household;
    2. town channel, renting (no consent; collective off in the second call): employer
       collective, the fallback, when the community collective is off;
    3. investment channel, own home in a town: the own home;
    4. investment channel, own home in a village: the enterprise's collective household;
    5. no channel: NONE.
    """
    state = make_state(6, tenure=[DORMITORY, RELATIVES, RENT, OWN, OWN, OWN],
                       place=[URBAN_DISTRICT] * 4 + [VILLAGE, URBAN_DISTRICT])
    channel = np.array([TOWN, TOWN, TOWN, INVESTMENT, INVESTMENT, NONE], np.int8)
    got = st.registration_place(state, params(), channel)
    assert got.tolist() == [st.EMPLOYER_COLLECTIVE, st.RELATIVE, st.COMMUNITY_COLLECTIVE,
                            st.OWN_HOME, st.EMPLOYER_COLLECTIVE, NONE]
    got = st.registration_place(state, params(**{"policy.community_collective_household":
                                                 False}), channel)
    assert got[2] == st.EMPLOYER_COLLECTIVE


def _forged(state, applicant, channel):
    """A decision that names its own applicants and channels (all intending)."""
    d = st.decide(state, params(**ALL), rng())
    n = len(state.persons)
    return st.Decision(d.eligibility, np.array(applicant), np.array(channel, np.int8),
                       np.zeros(n, np.int8), np.ones(n, bool))


def test_check_catches_family_of_a_talent_settler_and_family_without_an_applicant():
    """六 brings nobody: a talent applicant's spouse moving with him is refused. A family
    member settling in a household without an applicant is refused."""
    state = household([HEAD, SPOUSE], **TALENT_COLS)
    with pytest.raises(AssertionError, match="^talent channel brought family members$"):
        st.check(_forged(state, [True, False], [TALENT, TALENT]), state)
    with pytest.raises(AssertionError, match="^a family member settled without an applicant "
                                             "in the household$"):
        st.check(_forged(state, [False, False], [NONE, TOWN]), state)


def test_land_surrendered_only_by_the_settling_household():
    """Principle off: the settling household gives up its land rights; a household that
    does not settle (no one eligible: renting without consent, collective off) keeps them."""
    state = make_state(2, household=[0, 1], role=HEAD, tenure=[OWN, RENT])
    h = state.households
    h.contract_land[:] = h.homestead[:] = h.collective_income[:] = True
    d = settle(state, **{"policy.land_rights_kept_on_settling": False,
                         "policy.community_collective_household": False})
    assert d.applicant.tolist() == [True, False]
    assert h.contract_land.tolist() == [False, True] and h.homestead.tolist() == [False, True]
    assert h.collective_income.tolist() == [False, True]
