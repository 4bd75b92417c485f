"""Migration (step 4): sim.pipeline.migration."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from sim.pipeline import migration
from sim.population import (
    CHILD,
    COLLEGE,
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    HEAD,
    JUNIOR,
    LIAONING,
    OTHER_PROVINCE,
    OUTSIDE,
    OWN,
    PANJIN,
    RENT,
    SPOUSE,
    URBAN_DISTRICT,
    URBAN_PLACES,
    VILLAGE,
)
from tests.factories import make_state, params

NO_MOVES = {"migration.rural_urban_household_rate": 0.0, "migration.rural_urban_young_rate": 0.0,
            "migration.arrival_rate": 0.0, "migration.migrant_departure_rate": 0.0,
            "migration.local_departure_rate": 0.0, "migration.return_rate": 0.0,
            "migration.hukou_out_rate": 0.0}


def village_and_town():
    """A village household of three in area 0, and a town household giving a destination."""
    state = make_state(4, household=[0, 0, 0, 1], role=[HEAD, 1, CHILD, HEAD],
                       place=[VILLAGE, VILLAGE, VILLAGE, 2], age=[40, 38, 12, 30],
                       residence_years=20, school_years_local=4,
                       education=COLLEGE)  # propensity 2: a sure move
    return state


def test_better_educated_and_men_move_more():
    state = make_state(3, education=[JUNIOR, COLLEGE, COLLEGE], sex=[1, 1, 0])
    propensity = migration.move_propensity(state.persons, params().migration)
    assert propensity[1] > propensity[0] and propensity[1] > propensity[2]


def test_village_household_moves_together_to_a_town():
    state = village_and_town()
    flows = migration.step(state, params(**{**NO_MOVES,
                                            "migration.rural_urban_household_rate": 1.0,
                                            "migration.to_city_districts_share": 0.0}),
                           np.random.default_rng(0))
    p = state.persons
    assert np.isin(p.place[:3], URBAN_PLACES).all() and (p.area[:3] == 0).all()
    assert (p.residence_years[:3] == 0).all()
    assert (p.school_years_local[:3] == 4).all()  # still in Panjin (area 0): schooling kept
    assert (p.hukou_area == 0).all() and not p.hukou_urban.any()  # a move is not a hukou move
    assert flows[("arrivals", "within_panjin")].sum() == 0  # same area: no arrival


def test_migrant_households_leave_and_flows_count_them():
    state = make_state(3, household=[0, 0, 1], role=[HEAD, CHILD, HEAD], hukou_area=OUTSIDE,
                       origin=LIAONING, village=-1)
    flows = migration.step(state, params(**{**NO_MOVES, "migration.migrant_departure_rate": 1.0}),
                           np.random.default_rng(0))
    assert len(state.persons) == 0
    assert flows[("departures", "liaoning")][0] == 3


def test_only_migrant_households_leave_not_a_migrant_in_a_panjin_household():
    """A migrant household is one whose head has no Panjin hukou: with a sure migrant
    departure, the migrant wife (no Panjin hukou) of a Panjin hukou holder stays; the head
    and child of a migrant household leave."""
    state = make_state(4, household=[0, 0, 1, 1], role=[HEAD, SPOUSE, HEAD, CHILD],
                       hukou_area=[0, OUTSIDE, OUTSIDE, OUTSIDE],
                       origin=[PANJIN, LIAONING, LIAONING, LIAONING])
    migration.step(state, params(**{**NO_MOVES, "migration.migrant_departure_rate": 1.0}),
                   np.random.default_rng(0))
    assert state.persons.id.tolist() == [100, 101]


def test_outside_holders_return_or_move_their_hukou_out():
    state = make_state(2, area=OUTSIDE, place=-1)
    flows = migration.step(state, params(**{**NO_MOVES, "migration.return_rate": 1.0}),
                           np.random.default_rng(0))
    assert (state.persons.area == 0).all() and (state.persons.place == VILLAGE).all()
    assert flows[("arrivals", "return")][0] == 2

    state = make_state(2, area=OUTSIDE, place=-1)
    flows = migration.step(state, params(**{**NO_MOVES, "migration.hukou_out_rate": 1.0}),
                           np.random.default_rng(0))
    assert len(state.persons) == 0 and flows[("hukou_moves_out", "")][0] == 2


def test_arrivals_copy_migrant_households_as_newcomers():
    """Two donor migrant households, a couple with a child (head 40, spouse 38, child 10;
    area 1, a town) and a man alone (25, area 0), among 60 residents of weight 1. Wanted
    arrivals = rate × residents / mean donor weight / mean donor size = 0.2 × 60 / 1 / 2 = 6
    households, a whole number (so no draw rounds it up). Each arrival is a copy of one donor
    household: same size, the same roles, ages, sexes, area and place member by member, in a
    household of its own with a new id; new to the city (no years here, no permit)."""
    n = 60
    role = [HEAD, SPOUSE, CHILD, HEAD] + [HEAD] * (n - 4)
    state = make_state(n, household=[0, 0, 0, 1] + list(range(2, n - 2)), role=role,
                       age=[40, 38, 10, 25] + [30] * (n - 4), sex=[1, 0, 1, 1] + [0] * (n - 4),
                       area=[1, 1, 1, 0] + [0] * (n - 4), place=[2, 2, 2, 0] + [2] * (n - 4),
                       hukou_area=[OUTSIDE] * 4 + [0] * (n - 4),
                       origin=[LIAONING] * 4 + [0] * (n - 4),
                       village=[-1] * 4 + [0] * (n - 4), residence_years=6, insurance_years=4,
                       permit=[True] * 4 + [False] * (n - 4),
                       permit_years=[3] * 4 + [0] * (n - 4))
    households_before = len(state.households)
    flows = migration.step(state, params(**{**NO_MOVES, "migration.arrival_rate": 0.2}),
                           np.random.default_rng(0))
    p = state.persons
    new = np.flatnonzero(p.id >= 100 + n)
    assert len(np.unique(p.household[new])) == 6
    assert (p.household[new] >= households_before).all()
    assert len(state.households) == households_before + 6
    patterns = {0: [(HEAD, 40, 1, 1, 2), (SPOUSE, 38, 0, 1, 2), (CHILD, 10, 1, 1, 2)],
                1: [(HEAD, 25, 1, 0, 0)]}
    sizes = []
    for h in np.unique(p.household[new]):
        members = new[p.household[new] == h]
        rows = [(int(p.role[i]), int(p.age[i]), int(p.sex[i]), int(p.area[i]), int(p.place[i]))
                for i in members]
        assert rows in patterns.values()
        sizes.append(len(members))
    k = len(new)
    assert flows[("arrivals", "liaoning")].sum() + flows[("arrivals", "other_province")].sum() == k
    assert (p.hukou_area[new] == OUTSIDE).all() and (p.village[new] == -1).all()
    assert (p.residence_years[new] == 0).all() and not p.permit[new].any()
    assert (p.insurance_years[new] == 0).all() and (p.permit_years[new] == 0).all()
    assert len(np.unique(p.id)) == len(p)
    assert (p.household[:4] == [0, 0, 0, 1]).all() and (p.residence_years[:4] == 6).all()


# ------------------------------------------------------------ hand-worked rules, one per test

def test_move_propensity_is_education_factor_times_male_factor():
    """Default factors: junior secondary 1.0, college 2.0; men × 1.1.
    Junior man 1.1, college woman 2.0, college man 2.2, primary woman 0.6."""
    state = make_state(4, education=[JUNIOR, COLLEGE, COLLEGE, 0], sex=[1, 0, 1, 0])
    got = migration.move_propensity(state.persons, params().migration)
    np.testing.assert_allclose(got, [1.1, 2.0, 2.2, 0.6])


def test_urban_destinations_weigh_residents_by_area_and_urban_place():
    """Residents (weights 1, 2, 4, 8, 16, 32): area 0 district 1 + 2, area 1 county seat 4,
    area 1 designated town 8; a villager (16) and someone outside (32) are no destination."""
    state = make_state(6, area=[0, 0, 1, 1, 1, OUTSIDE], place=[0, 0, 1, 2, VILLAGE, -1],
                       weight=[1, 2, 4, 8, 16, 32])
    city, town = migration.urban_destinations(state)
    np.testing.assert_array_equal(city, [3, 0, 0, 0, 0])
    np.testing.assert_array_equal(town, [[0, 0], [4, 8], [0, 0], [0, 0], [0, 0]])


def test_movers_go_to_the_city_districts_or_a_town_of_their_own_area():
    """Only area 1 has district residents, area 3 only a county seat, area 4 only a
    designated town, area 2 no urban place: city movers all go to area 1's district; the
    others stay in their area, at its county seat (3), its designated town (4), or its own
    urban district when it has no town (2)."""
    state = make_state(3, area=[1, 3, 4], place=[0, 1, 2])
    origin = np.array([0, 3, 4, 2, 3], np.int8)
    to_city = np.array([True, False, False, False, True])
    area, place = migration.choose_destinations(origin, to_city, state, np.random.default_rng(0))
    assert area.tolist() == [1, 3, 4, 2, 1]
    assert place.tolist() == [URBAN_DISTRICT, COUNTY_SEAT_TOWN, DESIGNATED_TOWN, URBAN_DISTRICT,
                              URBAN_DISTRICT]


def test_village_heads_move_only_of_working_age_and_flows_count_area_changes():
    """Household heads 40 (area 2, weight 3) and 60 (area 3) in villages, with a sure chance:
    only the 40-year-old's household (head ages 20–54) moves, to the city districts (area 0,
    the only district with residents); a move between areas is a departure of 3 from area 2
    and an arrival of 3 in area 0."""
    state = make_state(3, household=[0, 1, 2], role=HEAD, age=[40, 60, 30],
                       area=[2, 3, 0], place=[VILLAGE, VILLAGE, URBAN_DISTRICT],
                       weight=[3, 1, 1], education=COLLEGE)
    flows = migration.step(state, params(**{**NO_MOVES,
                                            "migration.rural_urban_household_rate": 1.0,
                                            "migration.to_city_districts_share": 1.0}),
                           np.random.default_rng(0))
    p = state.persons
    assert p.area.tolist() == [0, 3, 0] and p.place.tolist() == [URBAN_DISTRICT, VILLAGE,
                                                                 URBAN_DISTRICT]
    assert flows[("departures", "within_panjin")].tolist() == [0, 0, 3, 0, 0]
    assert flows[("arrivals", "within_panjin")].tolist() == [3, 0, 0, 0, 0]


def test_young_adults_move_alone_into_a_household_of_their_own():
    """A village household (income 900) of a head 50, a child 20 and a child 17: with a sure
    young-mover chance only the 20-year-old (ages 18–30, unmarried child) moves, heading a
    new household with a third of the income (300) and the family's land rights."""
    state = make_state(4, household=[0, 0, 0, 1], role=[HEAD, CHILD, CHILD, HEAD],
                       age=[50, 20, 17, 60], place=[VILLAGE, VILLAGE, VILLAGE, DESIGNATED_TOWN],
                       education=COLLEGE)
    state.households.income[:] = [900, 0]
    state.households.contract_land[:] = [True, False]
    migration.step(state, params(**{**NO_MOVES, "migration.rural_urban_young_rate": 1.0}),
                   np.random.default_rng(0))
    p = state.persons
    assert p.place.tolist() == [VILLAGE, DESIGNATED_TOWN, VILLAGE, DESIGNATED_TOWN]
    assert p.role.tolist() == [HEAD, HEAD, CHILD, HEAD]
    assert p.household.tolist() == [0, 2, 0, 1] and p.residence_years[1] == 0
    assert state.households.income[2] == 300 and state.households.contract_land[2]
    assert state.households.id[2] == state.next_household_id - 1


def test_settled_migrants_leave_less_often():
    """Departure chance 1, times 0 once here more than 5 years: the households here 5 years
    (Liaoning) and 2 years (another province) leave, the one here 6 years stays.
    Departures count persons by origin and area, weighted (2, and 3 in area 4)."""
    state = make_state(3, household=[0, 1, 2], role=HEAD, residence_years=[5, 6, 2],
                       hukou_area=OUTSIDE, origin=[LIAONING, LIAONING, OTHER_PROVINCE],
                       village=-1, weight=[2, 2, 3], area=[1, 1, 4])
    flows = migration.step(state, params(**{**NO_MOVES, "migration.migrant_departure_rate": 1.0,
                                            "migration.settled_departure_factor": 0.0}),
                           np.random.default_rng(0))
    assert state.persons.id.tolist() == [101]
    assert flows[("departures", "liaoning")].tolist() == [0, 2, 0, 0, 0]
    assert flows[("departures", "other_province")].tolist() == [0, 0, 0, 0, 3]


def test_young_locals_leave_keeping_their_hukou_and_do_not_return_that_year():
    """Panjin hukou holders 20 (weight 2, area 1) and 40: with sure departure and return
    chances (beyond the scenario bounds, so on the step's own function) the 20-year-old
    leaves (ages 18–30) to live outside in a household of his own, counted as a departure
    of 2 from area 1, and does not come back the same year."""
    state = make_state(2, household=[0, 0], role=[CHILD, HEAD], age=[20, 40], area=1,
                       hukou_area=1, weight=[2, 1])
    m = SimpleNamespace(**{**dict(params().migration.items()), "local_departure_rate": 1.0,
                           "migrant_departure_rate": 0.0, "return_rate": 1.0})
    flows: dict = {}
    rng = np.random.default_rng(0)
    just_left = migration.departures(state, m, rng, flows, 5, np.zeros(2, bool))
    came_back = migration.returns(state, m, rng, flows, 5, just_left)
    p = state.persons
    assert p.area.tolist() == [OUTSIDE, 1] and p.place[0] == -1 and p.hukou_area.tolist() == [1, 1]
    assert p.role[0] == HEAD and p.household[0] != p.household[1]
    assert just_left.tolist() == [True, False] and not came_back.any()
    assert flows[("departures", "outside")].tolist() == [0, 2, 0, 0, 0]
    assert flows[("arrivals", "return")].sum() == 0


def test_returners_go_to_a_village_or_the_urban_districts_or_the_county_seat():
    """Outside holders of a rural hukou of area 1, an urban hukou of area 0 (which has
    district residents) and an urban hukou of area 3 (no district: its county seat) come
    back: to a village, area 0's district, area 3's county seat; arrivals by hukou area."""
    state = make_state(4, area=[OUTSIDE, OUTSIDE, OUTSIDE, 0], place=[-1, -1, -1, 0],
                       hukou_area=[1, 0, 3, 0], hukou_urban=[False, True, True, True],
                       weight=[1, 2, 4, 1])
    flows = migration.step(state, params(**{**NO_MOVES, "migration.return_rate": 1.0}),
                           np.random.default_rng(0))
    p = state.persons
    assert p.area.tolist() == [1, 0, 3, 0]
    assert p.place.tolist() == [VILLAGE, URBAN_DISTRICT, COUNTY_SEAT_TOWN, URBAN_DISTRICT]
    assert flows[("arrivals", "return")].tolist() == [2, 1, 0, 4, 0]


def test_urban_returners_need_district_residents_and_returns_tell_who_came_back():
    """Area 3 has residents, but none in an urban district (one in a village, one in its
    county-seat town): an outside holder of its urban hukou comes back to the county seat,
    not a district; an outside rural holder of area 1 to a village; a migrant who left
    (no Panjin hukou) does not come back. `returns` tells exactly the two who came back."""
    state = make_state(5, area=[OUTSIDE, OUTSIDE, 3, 3, OUTSIDE],
                       place=[-1, -1, VILLAGE, COUNTY_SEAT_TOWN, -1],
                       hukou_area=[3, 1, 3, 3, OUTSIDE], hukou_urban=[True, False, False, True,
                                                                        False])
    came_back = migration.returns(state, sure(return_rate=1.0).migration,
                                  np.random.default_rng(0), {}, 5, np.zeros(5, bool))
    p = state.persons
    assert came_back.tolist() == [True, True, False, False, False]
    assert p.area.tolist() == [3, 1, 3, 3, OUTSIDE]
    assert p.place.tolist() == [COUNTY_SEAT_TOWN, VILLAGE, VILLAGE, COUNTY_SEAT_TOWN, -1]


def test_hukou_moves_out_count_by_hukou_area_and_spare_residents():
    """With a sure hukou move-out: the two outside holders (hukou areas 2 and 4, weights 3
    and 5) leave the model, counted by hukou area; the resident stays."""
    state = make_state(3, area=[OUTSIDE, OUTSIDE, 0], place=[-1, -1, 2], hukou_area=[2, 4, 0],
                       weight=[3, 5, 1])
    flows = migration.step(state, params(**{**NO_MOVES, "migration.hukou_out_rate": 1.0}),
                           np.random.default_rng(0))
    assert state.persons.id.tolist() == [102]
    assert flows[("hukou_moves_out", "")].tolist() == [0, 0, 3, 0, 5]


def test_arrivals_come_from_liaoning_by_its_share():
    """With the Liaoning share 1 every arrival is from Liaoning, counted by area; with 0
    every one from another province."""
    for share, origin, cat in ((1.0, LIAONING, "liaoning"), (0.0, OTHER_PROVINCE,
                                                              "other_province")):
        state = make_state(25, hukou_area=[OUTSIDE] + [0] * 24, origin=[OTHER_PROVINCE] + [0] * 24,
                           village=[-1] + [0] * 24, area=[2] + [0] * 24)
        flows = migration.step(state, params(**{**NO_MOVES, "migration.arrival_rate": 0.2,
                                                "migration.arrival_origin_liaoning_share": share}),
                               np.random.default_rng(0))
        new = state.persons.id >= 125
        assert new.sum() == 5  # 0.2 × 25 residents / weight 1 / size 1
        assert (state.persons.origin[new] == origin).all()
        assert flows[("arrivals", cat)].tolist() == [0, 0, 5, 0, 0]


def sure(**rates) -> SimpleNamespace:
    """Migration parameters with every rate 0 but ``rates``, which may lie beyond the
    scenario bounds (a sure departure): the step reads only ``p.migration``."""
    m = {**dict(params().migration.items()), **{k.split(".")[1]: v for k, v in NO_MOVES.items()},
         **rates}
    return SimpleNamespace(migration=SimpleNamespace(**m), year=2016)


FLOW_KEYS = {("arrivals", c) for c in ("within_panjin", "liaoning", "other_province", "return")
             } | {("departures", c) for c in ("within_panjin", "liaoning", "other_province",
                                               "outside")} | {("hukou_moves_out", "")}


def test_step_reports_exactly_the_documented_flows():
    """The module docstring's flows and nothing else, even in a year without moves."""
    state = make_state(2)
    assert set(migration.step(state, params(**NO_MOVES), np.random.default_rng(0))) == FLOW_KEYS


def test_young_mover_ages_include_18_and_exclude_31():
    """young_mover_ages (18, 31): Panjin hukou holders aged 17, 18, 30, 31 in area 0 with a
    sure departure: 18 and 30 leave. Leavers lose their local schooling years (9 → 0), head
    a household of their own (income 900 of a lone person's household: all of it), with a
    landlord draw of their own; ids follow on from the next household id."""
    state = make_state(4, age=[17, 18, 30, 31], school_years_local=9)
    state.households.income[:] = 900
    first = state.next_household_id
    migration.step(state, sure(local_departure_rate=1.0), np.random.default_rng(0))
    p = state.persons
    assert p.area.tolist() == [0, OUTSIDE, OUTSIDE, 0]
    assert p.school_years_local.tolist() == [9, 0, 0, 9]
    assert p.household.tolist() == [0, 4, 5, 3]
    h = state.households
    assert h.id[4:].tolist() == [first, first + 1] and state.next_household_id == first + 2
    assert h.income[4:].tolist() == [900, 900]
    draws = h.landlord_draw[4:]
    assert ((draws >= 0) & (draws < 1)).all() and draws[0] != draws[1]


def test_leavers_are_not_moved_out_or_back_the_year_they_leave():
    """A young local with sure departure, return and hukou move-out chances leaves and stays
    a Panjin hukou holder living outside (neither back nor moved out this year); a young
    villager who moved to a town this year does not also leave the city."""
    state = make_state(3, household=[0, 1, 1], role=[HEAD, HEAD, CHILD], age=[20, 50, 20],
                       place=[DESIGNATED_TOWN, VILLAGE, VILLAGE], education=COLLEGE)
    migration.step(state, sure(local_departure_rate=1.0, return_rate=1.0, hukou_out_rate=1.0,
                               rural_urban_young_rate=1.0), np.random.default_rng(0))
    p = state.persons
    assert p.id.tolist() == [100, 101, 102]
    assert p.area.tolist() == [OUTSIDE, 0, 0] and p.place[2] != VILLAGE


def test_movers_own_their_new_home_by_the_share_and_draw_a_landlord_each():
    """200 village households (a head of 40 alone) and 100 young villagers (20, living with
    a head of 60 who stays) move with sure chances to area 0's towns (county seat and
    designated town, 1 resident each). Owner share 1: all 300 new homes owned; share 0.5:
    about half (one draw per home, sd 0.029). Each new home has its own landlord draw in
    [0, 1); the town is drawn per mover (the seat's share 0.5)."""
    def movers(share):
        role = [HEAD] * 202 + [HEAD, CHILD] * 100
        household = list(range(202)) + list(np.repeat(np.arange(202, 302), 2))
        state = make_state(402, household=household, role=role,
                           age=[30, 30] + [40] * 200 + [60, 20] * 100,
                           place=[COUNTY_SEAT_TOWN, DESIGNATED_TOWN] + [VILLAGE] * 400,
                           education=COLLEGE, sex=0, tenure=RENT)
        migration.step(state, sure(rural_urban_household_rate=1.0, rural_urban_young_rate=1.0,
                                   to_city_districts_share=0.0, mover_owns_share=share),
                       np.random.default_rng(0))
        return state
    home = np.r_[2:202, 302:402]
    state = movers(1.0)
    h = state.households
    assert len(h) == 402 and (h.tenure[home] == OWN).all() and (h.tenure[202:302] == RENT).all()
    state = movers(0.5)
    h = state.households
    assert 0.4 < (h.tenure[home] == OWN).mean() < 0.6
    draws = h.landlord_draw[home]
    assert ((draws >= 0) & (draws < 1)).all() and len(np.unique(draws)) == 300
    seat = state.persons.place[2:202] == COUNTY_SEAT_TOWN
    assert 0.4 < seat.mean() < 0.6


def test_city_districts_are_chosen_in_proportion_to_their_residents():
    """District residents: area 0 weight 1, area 1 weight 3; 400 movers to the city land
    in area 1 about 3 times in 4 (sd 0.022)."""
    state = make_state(2, area=[0, 1], place=URBAN_DISTRICT, weight=[1, 3])
    origin = np.full(400, 3, np.int8)
    area, place = migration.choose_destinations(origin, np.ones(400, bool), state,
                                                np.random.default_rng(0))
    assert set(area.tolist()) == {0, 1} and (place == URBAN_DISTRICT).all()
    assert 0.68 < (area == 1).mean() < 0.82


def test_returns_and_hukou_moves_out_are_drawn_per_person():
    """400 holders outside, chance 0.5: about half come back (sd 0.025); of 400 others
    about half move their hukou out."""
    state = make_state(400, area=OUTSIDE, place=-1)
    migration.step(state, sure(return_rate=0.5), np.random.default_rng(0))
    assert 0.4 < (state.persons.area == 0).mean() < 0.6
    state = make_state(400, area=OUTSIDE, place=-1)
    migration.step(state, sure(hukou_out_rate=0.5), np.random.default_rng(0))
    assert 160 < len(state.persons) < 240


def test_arrivals_scale_with_residents_over_the_donors_weight():
    """25 residents of weight 2 (50 persons represented), one donor of size 1 and weight 2:
    wanted = 0.2 × 50 / 2 / 1 = 5 households. Wanted 1 (rate 0.04): one. Wanted 2.5 (rate
    0.1): 2 or 3, 3 with chance 0.5, so over 200 draws the mean is 2.5 (sd 0.035).
    Newcomers are not insured (the donor is), ids and next ids follow on."""
    def arrivals(rate, seed=0):
        state = make_state(25, hukou_area=[OUTSIDE] + [0] * 24, origin=[LIAONING] + [0] * 24,
                           village=[-1] + [0] * 24, weight=2, insured=True)
        migration.arrive(state, sure(arrival_rate=rate).migration, np.random.default_rng(seed),
                         {}, 5)
        return state
    state = arrivals(0.2)
    p = state.persons
    new = p.id >= 125
    assert new.sum() == 5 and not p.insured[new].any()
    assert p.id[new].tolist() == list(range(125, 130)) and state.next_person_id == 130
    assert state.households.id[25:].tolist() == list(range(25, 30))
    assert state.next_household_id == 30
    draws = state.households.landlord_draw[25:]
    assert ((draws >= 0) & (draws < 1)).all() and len(np.unique(draws)) == 5
    assert (arrivals(0.04).persons.id >= 125).sum() == 1
    counts = [(arrivals(0.1, seed).persons.id >= 125).sum() for seed in range(200)]
    assert set(counts) == {2, 3} and 2.35 < np.mean(counts) < 2.65
