"""Transfer-payment linkage and fiscal gap (clause 十六): sim.pipeline.fiscal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.pipeline import fiscal as fs
from sim.pipeline import services as sv
from sim.population import LIAONING, OTHER_PROVINCE, OUTSIDE, PANJIN
from tests.test_services import YEAR, make_state, migrants, params

amounts = st.floats(0, 1e12, allow_nan=False, allow_infinity=False)
factor = st.floats(0, 1e7, allow_nan=False, allow_infinity=False)


@st.composite
def allocation_cases(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 5))
    factors = np.array(draw(st.lists(st.lists(factor, min_size=k, max_size=k),
                                     min_size=n, max_size=n)))
    weights = draw(st.lists(st.floats(0, 10, allow_nan=False), min_size=k, max_size=k))
    return draw(amounts), factors, weights


@settings(max_examples=300, deadline=None)
@given(allocation_cases())
def test_allocation_adds_up_to_the_pool_exactly(case):
    pool, factors, weights = case
    out = fs.allocate(pool, factors, weights)
    assert math.fsum(out) == pool
    assert (out >= 0).all()


@settings(max_examples=300, deadline=None)
@given(allocation_cases(), st.integers(0, 7), st.floats(0, 1e6, allow_nan=False))
def test_more_settlers_never_get_less(case, area, more):
    pool, factors, weights = case
    area %= len(factors)
    before = fs.allocate(pool, factors, weights)[area]
    factors = factors.copy()
    factors[area, 0] += more  # more settlers in one area, all else equal
    after = fs.allocate(pool, factors, weights)[area]
    assert after >= before - 1e-12 * pool  # float rounding at most


def test_two_area_example_by_hand():
    """Area A: 10 within-city settlers, 4 migrant pupils; area B: 5 cross-province
    settlers, 20 permit holders. Weights 0.8, 1.0, 1.2, 0.2, 0.5:
    A = 8 + 2 = 10, B = 6 + 4 = 10: a pool of 1,000,000 splits in halves; with B's
    settlers doubled B = 16 of 26."""
    weights = [0.8, 1.0, 1.2, 0.2, 0.5]
    factors = np.array([[10, 0, 0, 0, 4], [0, 0, 5, 20, 0]], dtype=float)
    assert fs.allocate(1e6, factors, weights).tolist() == [5e5, 5e5]
    factors[1, 2] = 10
    np.testing.assert_allclose(fs.allocate(1e6, factors, weights),
                               [1e6 * 10 / 26, 1e6 * 16 / 26])


def test_allocation_edge_cases():
    assert fs.allocate(0.0, np.ones((3, 1)), [1.0]).tolist() == [0, 0, 0]
    assert fs.allocate(9.0, np.zeros((3, 2)), [1.0, 1.0]).tolist() == [3, 3, 3]
    with pytest.raises(ValueError):
        fs.allocate(1.0, np.ones((2, 2)), [1.0])
    with pytest.raises(ValueError):
        fs.allocate(1.0, -np.ones((2, 1)), [1.0])


def test_phase_down_year_by_year():
    """One settler of 2016, counted each year from 2016 on: 1, 0.8, 0.6, 0.4, 0.2, 0."""
    schedule = params().fiscal.linkage.phase_down
    s = make_state(1, settled_year=2016, origin=OTHER_PROVINCE, hukou_area=1)
    seen = []
    for year in range(2016, 2023):
        s.year = year
        seen.append(fs.settlers_by_origin(s, schedule, 5)[1, 2])
    assert seen == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    assert fs.phase_down(np.array([-1, 0, 4, 5]), schedule).tolist() == [0, 1.0, 0.2, 0]


def test_settlers_are_counted_where_they_settled_by_origin():
    s = make_state(4, settled_year=YEAR, hukou_area=[0, 0, 3, 3],
                   origin=[PANJIN, LIAONING, OTHER_PROVINCE, OTHER_PROVINCE])
    got = fs.settlers_by_origin(s, [1.0], 5)
    assert got[0].tolist() == [1, 1, 0] and got[3].tolist() == [0, 0, 2]


def fiscal_flows(state, p):
    return fs.step(state, p, None, sv.step(state, p))


def test_step_links_transfers_to_settlers():
    p = params()
    # Area 2 (Dawa) citizenized 30 migrants this year; everyone else is a local.
    s = make_state(200, area=np.arange(200) % 5, hukou_area=np.arange(200) % 5,
                   age=np.arange(200) % 80)
    s.persons.settled_year[:30] = YEAR
    s.persons.origin[:30] = LIAONING
    s.persons.area[:30] = 2
    s.persons.hukou_area[:30] = 2
    flows = fiscal_flows(s, p)
    linkage = flows["transfer_payment", "linkage"]
    assert math.fsum(linkage) == pytest.approx(30 * p.fiscal.linkage.pool_per_settler)
    assert linkage[2] == pytest.approx(linkage.sum())
    reward = flows["citizenization_reward", ""]
    assert reward[2] == pytest.approx(30 * p.fiscal.reward.rate_within_province
                                      * (1 + p.fiscal.reward.provincial_match))
    assert np.delete(reward, 2).sum() == 0
    extra = fs.local_incremental_cost(sv.step(s, p), p.fiscal.gap_payers, 5)
    np.testing.assert_allclose(flows["fiscal_gap", ""], extra - linkage)
    assert extra[2] > 0
    assert (flows["transfer_payment", "county_guarantee"] >= 0).all()
    assert math.fsum(flows["transfer_payment", "equalization"]) == pytest.approx(
        p.fiscal.equalization.pool * (1 + p.fiscal.equalization.growth) ** (YEAR - 2015))


def test_no_settlers_no_linkage_under_the_per_settler_rule():
    flows = fiscal_flows(make_state(20, area=np.arange(20) % 5), params())
    assert flows["transfer_payment", "linkage"].sum() == 0
    assert flows["fiscal_gap", ""].sum() == 0


@pytest.mark.parametrize("rule", fs.POOL_RULES)
def test_pool_rules(rule):
    p = params(**{"fiscal.linkage.pool_rule": rule})
    lk = p.fiscal.linkage
    expected = {"fixed": lk.pool_amount,
                "growing": lk.pool_amount * (1 + lk.pool_growth) ** 3,
                "per_settler": lk.pool_per_settler * 7,
                "reward": lk.reward_passthrough * 1234.0}[rule]
    assert fs.linkage_pool(p, 3, 7.0, 1234.0) == pytest.approx(expected)


def test_permit_holders_and_pupils_draw_linkage():
    p = params(**{"fiscal.linkage.pool_rule": "fixed"})
    s = migrants(4, permit=[True, True, False, False], area=[1, 1, 4, 4], age=[30, 30, 8, 30])
    factors = fs.linkage_factors(s, p, 5)
    assert factors[1].tolist() == [0, 0, 0, 2, 0] and factors[4].tolist() == [0, 0, 0, 0, 1]
    linkage = fiscal_flows(s, p)["transfer_payment", "linkage"]
    assert math.fsum(linkage) == p.fiscal.linkage.pool_amount
    assert linkage[1] > 0 and linkage[4] > 0 and linkage[0] == 0


def test_capacity_tilt_favours_weak_areas():
    tilt = fs.capacity_tilt(np.array([100.0, 400.0, 0.0]), np.array([10.0, 10.0, 0.0]), 0.5)
    assert tilt[0] > 1 > tilt[1] and tilt[2] == 1
    assert fs.capacity_tilt(np.array([1.0, 9.0]), np.array([1.0, 1.0]), 0.0).tolist() == [1, 1]


def test_fiscal_base_and_defaults_load():
    base = fs.load_fiscal_base()
    assert base.year == 2015 and len(base.revenue) == 5
    assert base.revenue.sum() == pytest.approx(11.48e9 * (1 - 0.213))
    assert params().fiscal.linkage.pool_rule in fs.POOL_RULES


def test_outside_and_unknown_payers():
    with pytest.raises(ValueError, match="unknown payer"):
        fs.local_incremental_cost({}, ["town"], 5)
    s = migrants(1, area=OUTSIDE, age=8)
    assert fs.migrant_pupils(s, params(), 5).sum() == 0
