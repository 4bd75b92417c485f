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
    n = 60  # one migrant household and 59 local residents: 0.2 × 60 = 12 arrivals
    state = make_state(n, hukou_area=[OUTSIDE] + [0] * (n - 1), origin=[LIAONING] + [0] * (n - 1),
                       village=[-1] + [0] * (n - 1), residence_years=6, insurance_years=4,
                       permit=[True] + [False] * (n - 1), permit_years=[3] + [0] * (n - 1))
    migration.step(state, params(**{**NO_MOVES, "migration.arrival_rate": 0.2}),
                   np.random.default_rng(0))
    p = state.persons
    new = p.id >= 100 + n
    assert new.sum() > 0
    assert (p.hukou_area[new] == OUTSIDE).all()
    assert (p.residence_years[new] == 0).all() and not p.permit[new].any()
    assert (p.insurance_years[new] == 0).all()
    assert len(np.unique(p.id)) == len(p)
