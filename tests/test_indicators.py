"""Stocks, flow merging and indicator rows (step 11): sim.pipeline.indicators.

The stock definitions are checked against counts made by hand on a small state, not
recomputed from the same columns: resident stocks by area of residence, registered stocks
by hukou area, wherever the holder lives.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import indicators as ind
from sim.population import (
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    OUTSIDE,
    URBAN_DISTRICT,
    VILLAGE,
    Persons,
)
from tests.factories import make_state


def six_persons():
    """Six persons (weight = persons they stand for):

    =  ======  ================  ==========  =====  ======
    #  lives   place             hukou       urban  weight
    =  ======  ================  ==========  =====  ======
    0  0       urban district    area 1      yes    10
    1  1       village           area 0      yes    5
    2  0       village           area 0      no     2
    3  out     -                 area 1      no     3
    4  1       county-seat town  non-local   -      4   (permit)
    5  2       designated town   area 2      yes    1
    =  ======  ================  ==========  =====  ======
    """
    return make_state(6, area=[0, 1, 0, OUTSIDE, 1, 2],
                      place=[URBAN_DISTRICT, VILLAGE, VILLAGE, VILLAGE, COUNTY_SEAT_TOWN,
                             DESIGNATED_TOWN],
                      hukou_area=[1, 0, 0, 1, OUTSIDE, 2],
                      hukou_urban=[True, True, False, False, False, True],
                      permit=[False, False, False, False, True, False],
                      weight=[10, 5, 2, 3, 4, 1])


def test_stocks_by_hand():
    """Residents: area 0 = #0 + #2 = 12, area 1 = #1 + #4 = 9, area 2 = 1 (#3 lives outside).
    Resident urban (urban places): 10, 4, 1. Registered (by hukou area): area 0 = #1 + #2
    = 7, area 1 = #0 + #3 = 13, area 2 = 1. Registered urban: #1 in area 0 (5, although
    living in area 1's village), #0 in area 1 (10, although living in area 0), #5: 5, 10,
    1. Permit holders: 4 in area 1."""
    s = ind.stocks(six_persons(), 5)
    assert s["resident_population", ""].tolist() == [12, 9, 1, 0, 0]
    assert s["resident_urban_population", ""].tolist() == [10, 4, 1, 0, 0]
    assert s["registered_population", ""].tolist() == [7, 13, 1, 0, 0]
    assert s["registered_urban_population", ""].tolist() == [5, 10, 1, 0, 0]
    assert s["residence_permit_holders", ""].tolist() == [0, 4, 0, 0, 0]
    np.testing.assert_allclose(s["resident_urbanization_rate", ""],
                               [10 / 12, 4 / 9, 1, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(s["registered_urbanization_rate", ""],
                               [5 / 7, 10 / 13, 1, 0, 0], rtol=1e-12)


def test_city_rows_sum_areas_and_recompute_rates():
    """City: 22 residents of whom 15 urban (not the mean of the area rates); 21 registered
    of whom 16 urban."""
    city = ind.city_rows(ind.stocks(six_persons(), 5))
    assert city["resident_population", ""] == 22
    assert city["registered_population", ""] == 21
    assert city["resident_urbanization_rate", ""] == pytest.approx(15 / 22, rel=1e-12)
    assert city["registered_urbanization_rate", ""] == pytest.approx(16 / 21, rel=1e-12)
    assert ind.city_rows({("resident_urbanization_rate", ""): np.zeros(2)}) == {}
    # a rate needs both parts; with one of them only that part is summed
    assert ind.city_rows({("resident_urban_population", ""): np.ones(2)}) == {
        ("resident_urban_population", ""): 2.0}


def test_rates_of_empty_areas_are_zero():
    assert ind.stocks(make_state(0), 2)["resident_urbanization_rate", ""].tolist() == [0, 0]
    assert ind.city_rows(ind.stocks(make_state(0), 2))["resident_urbanization_rate", ""] == 0


def test_rows_are_tidy_and_sorted():
    values = {("births", ""): np.array([1.0, 2.0]), ("arrivals", "return"): np.array([0.0, 4.0])}
    out = ind.rows(values, 2020, ("a", "b"), "city", "s", 3)
    assert out == [("s", 3, 2020, "a", "arrivals", "return", 0.0),
                   ("s", 3, 2020, "b", "arrivals", "return", 4.0),
                   ("s", 3, 2020, "city", "arrivals", "return", 4.0),
                   ("s", 3, 2020, "a", "births", "", 1.0),
                   ("s", 3, 2020, "b", "births", "", 2.0),
                   ("s", 3, 2020, "city", "births", "", 3.0)]
    assert all(len(r) == len(ind.COLUMNS) for r in out)


def test_add_flows_sums_shared_keys_and_keeps_the_others():
    total = {("a", ""): np.array([1.0, 2.0])}
    out = ind.add_flows(total, {("a", ""): np.array([10.0, 20.0]), ("b", "x"): np.ones(2)})
    assert out is total
    assert out["a", ""].tolist() == [11, 22] and out["b", "x"].tolist() == [1, 1]


def test_hukou_moves_by_old_and_new_area():
    """#0 moves its hukou from area 0 to 1 (weight 5); #1, a migrant, settles in area 2
    (weight 2: in, but out of no Panjin area); #2 keeps area 1."""
    persons = Persons.empty(3)
    persons.hukou_area[:] = [1, 2, 1]
    persons.weight[:] = [5, 2, 3]
    moves = ind.hukou_moves(np.array([0, OUTSIDE, 1]), persons, 3)
    assert moves["hukou_moves_in", ""].tolist() == [0, 5, 2]
    assert moves["hukou_moves_out", ""].tolist() == [5, 0, 0]


def test_registered_population_aged_60_plus_by_hukou_area_from_60():
    """Ages 59, 60, 75, 61, 80 with hukou areas 0, 0, 0, 1 and non-local (weights 1, 5, 2,
    3, 4): area 0 counts #1 and #2 (60 is in, 59 not) = 7, area 1 counts #3 = 3 although
    #3 lives outside Panjin; the non-local 80-year-old #4 counts nowhere."""
    state = make_state(5, age=[59, 60, 75, 61, 80], area=[0, 1, 0, OUTSIDE, 1],
                       hukou_area=[0, 0, 0, 1, OUTSIDE], weight=[1, 5, 2, 3, 4])
    s = ind.stocks(state, 3)
    assert s["registered_population_aged_60_plus", ""].tolist() == [7, 3, 0]
