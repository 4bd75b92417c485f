"""Migration (step 4): sim.pipeline.migration."""

from __future__ import annotations

import numpy as np

from sim.pipeline import migration
from sim.population import (
    CHILD,
    COLLEGE,
    HEAD,
    JUNIOR,
    LIAONING,
    OUTSIDE,
    SPOUSE,
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
                       residence_years=20, education=COLLEGE)  # propensity 2: a sure move
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
    assert (p.hukou_area == 0).all() and not p.hukou_urban.any()  # a move is not a hukou move
    assert flows[("arrivals", "within_panjin")].sum() == 0  # same area: no arrival


def test_migrant_households_leave_and_flows_count_them():
    state = make_state(3, household=[0, 0, 1], role=[HEAD, CHILD, HEAD], hukou_area=OUTSIDE,
                       origin=LIAONING, village=-1)
    flows = migration.step(state, params(**{**NO_MOVES, "migration.migrant_departure_rate": 1.0}),
                           np.random.default_rng(0))
    assert len(state.persons) == 0
    assert flows[("departures", "liaoning")][0] == 3


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
