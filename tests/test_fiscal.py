"""Transfer-payment linkage and fiscal gap (clause 十六): sim.pipeline.fiscal."""

from __future__ import annotations

import math
from types import SimpleNamespace

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
    with pytest.raises(ValueError, match="allocate: 2 factors but 1 weights"):
        fs.allocate(1.0, np.ones((2, 2)), [1.0])
    bad = "allocate: pool, factors and weights must be finite, non-negative"
    one = np.ones((2, 1))
    for pool, factors, weights in [(1.0, -one, [1.0]), (1.0, one, [-1.0]), (-1.0, one, [1.0]),
                                   (math.inf, one, [1.0]), (math.nan, one, [1.0])]:
        with pytest.raises(ValueError, match=f"^{bad}$"):
            fs.allocate(pool, factors, weights)


def test_allocation_one_unit_short_after_rounding_still_adds_up():
    """1,942,920,786.54 yuan over 533 : 826 : 108: the whole units of the shares add up to
    one unit more than the pool (float rounding of the shares), so one area gives one unit
    (2**-22 yuan) back; the amounts still add up to the pool exactly, each within a unit of
    its share."""
    pool = 1942920786.54
    factors = np.array([[533.0], [826.0], [108.0]])
    out = fs.allocate(pool, factors, [1.0])
    assert math.fsum(out) == pool
    np.testing.assert_allclose(out, pool * factors[:, 0] / 1467, rtol=0,
                               atol=2 * np.spacing(pool))


def test_allocation_gives_leftover_units_to_the_largest_remainders():
    """A pool of 7 units of its last binary digit (7 x 2**-1074, the smallest float step):
    5.2 : 1.8 gives 5 and 1 whole units and the 7th to the larger remainder (0.8), not to
    the larger area; an area with no factors gets no unit, even with a zero remainder."""
    unit = 2.0 ** -1074
    out = fs.allocate(7 * unit, np.array([[5.2], [1.8], [0.0]]), [1.0])
    assert (out / unit).tolist() == [5, 2, 0]


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


# ------------------------------------------------- a three-area world worked on paper

HAND = {  # the parameters of the world below; every number chosen to keep the sums exact
    "fiscal.revenue_growth": 0.25,
    "fiscal.standard_spending_per_resident": 80.0,
    "fiscal.standard_spending_growth": 0.25,
    "fiscal.gap_payers": ["city", "county"],
    "fiscal.linkage.pool_rule": "per_settler",
    "fiscal.linkage.pool_per_settler": 130.0,
    "fiscal.linkage.rate_within_city": 1.0,
    "fiscal.linkage.rate_within_province": 2.0,
    "fiscal.linkage.rate_cross_province": 4.0,
    "fiscal.linkage.weight_permit_holder": 0.5,
    "fiscal.linkage.weight_migrant_pupil": 0.25,
    "fiscal.linkage.phase_down": [1.0, 0.5],
    "fiscal.linkage.capacity_tilt": 0.5,
    "fiscal.equalization.pool": 3440.0,
    "fiscal.equalization.growth": 0.25,
    "fiscal.county_guarantee.enabled": True,
    "fiscal.county_guarantee.level": 0.75,
    "fiscal.reward.rate_within_city": 100.0,
    "fiscal.reward.rate_within_province": 200.0,
    "fiscal.reward.rate_cross_province": 400.0,
    "fiscal.reward.pupil_rate": 50.0,
    "fiscal.reward.phase_down": [1.0],
    "fiscal.reward.provincial_match": 0.5,
}
HAND_BASE_REVENUE = [1600.0, 4000.0, 6400.0]  # 2015; areas A, B, C
# Incremental service cost of 2016 by payer (hand-made, not from the services step).
HAND_COSTS = {("incremental_cost_by_payer", "central"): np.array([1000.0, 1000.0, 1000.0]),
              ("incremental_cost_by_payer", "province"): np.array([500.0, 500.0, 500.0]),
              ("incremental_cost_by_payer", "city"): np.array([1000.0, 400.0, 0.0]),
              ("incremental_cost_by_payer", "county"): np.array([1000.0, 200.0, 0.0])}
A, B, C = 0, 1, 2


def hand_world():
    """The year 2016 in a city of three areas A, B, C (weights are persons).

    ====  ====  =====  ==============  =======  ======  ===  ======
    row   area  hukou  origin          settled  weight  age  permit
    ====  ====  =====  ==============  =======  ======  ===  ======
    0     A     A      Liaoning        2016     2       30
    1     A     A      other province  2015     2       30
    2     A     B      Liaoning        2016     1       30
    3     A     A      (local)         -        75      30
    4     B     B      other province  2016     1       30
    5     B     B      Panjin          2016     2       30
    6     B     B      Liaoning        2014     4       30
    7     B     B      (local)         -        43      30
    8     C     -      Liaoning        -        4       30   yes
    9     C     -      Liaoning        -        8       8
    10    C     C      (local)         -        4       8
    11    C     C      (local)         -        4       30   yes (a local: not counted)
    12    out   A      Liaoning        2016     3       30
    ====  ====  =====  ==============  =======  ======  ===  ======
    """
    rows = [(A, A, LIAONING, 2016, 2, 30, False), (A, A, OTHER_PROVINCE, 2015, 2, 30, False),
            (A, B, LIAONING, 2016, 1, 30, False), (A, A, PANJIN, -1, 75, 30, False),
            (B, B, OTHER_PROVINCE, 2016, 1, 30, False), (B, B, PANJIN, 2016, 2, 30, False),
            (B, B, LIAONING, 2014, 4, 30, False), (B, B, PANJIN, -1, 43, 30, False),
            (C, OUTSIDE, LIAONING, -1, 4, 30, True), (C, OUTSIDE, LIAONING, -1, 8, 8, False),
            (C, C, PANJIN, -1, 4, 8, False), (C, C, PANJIN, -1, 4, 30, True),
            (OUTSIDE, A, LIAONING, 2016, 3, 30, False)]
    cols = list(zip(*rows, strict=True))
    return make_state(len(rows), year=2016, area=cols[0], hukou_area=cols[1], origin=cols[2],
                      settled_year=cols[3], weight=cols[4], age=cols[5], permit=cols[6])


@pytest.fixture
def three_areas(monkeypatch):
    """`fiscal` sees three areas with the base revenue `HAND_BASE_REVENUE`."""
    monkeypatch.setattr(fs, "load_areas", lambda: ("a", "b", "c"))
    monkeypatch.setattr(fs, "load_fiscal_base",
                        lambda: fs.FiscalBase(2015, np.array(HAND_BASE_REVENUE)))


def hand_step(**overrides):
    return fs.step(hand_world(), params(2016, **{**HAND, **overrides}), None, dict(HAND_COSTS))


def test_hand_world_factors():
    """Linkage factors (within city, within province, cross province, permit holders,
    pupils), phase-down 1, 0.5, 0 for settlers of 2016, 2015, 2014:

    - A: row 0 2 x 1 = 2 within province; row 1 2 x 0.5 = 1 cross province. Row 2 lives in
      A but its hukou is B's; row 12 settled in A but lives outside: neither counts here.
    - B: row 5 2 within city; row 2 1 within province (row 6 settled 2014: 4 x 0 = 0);
      row 4 1 cross province.
    - C: 4 non-local permit holders (row 11 is local); 8 non-local pupils (row 10 is local).
    """
    f = fs.linkage_factors(hand_world(), params(2016, **HAND), 3)
    assert f.tolist() == [[0, 2, 1, 0, 0], [2, 1, 1, 0, 0], [0, 0, 0, 4, 8]]
    assert fs.linkage_weights(params(2016, **HAND)).tolist() == [1, 2, 4, 0.5, 0.25]
    assert fs.residents(hand_world(), 3).tolist() == [80, 50, 20]


def test_hand_world_linkage(three_areas):
    """Pool (per settler): 130 yuan x 7 phase-weighted settlers (A 3, B 4) = 910.

    Scores with weights 1, 2, 4, 0.5, 0.25: A 2x2 + 1x4 = 8; B 2x1 + 1x2 + 1x4 = 8;
    C 4x0.5 + 8x0.25 = 4. Capacity tilt, exponent 0.5: revenue 2016 = 1.25 x (1600, 4000,
    6400) = (2000, 5000, 8000) over residents (80, 50, 20) is 25, 100, 400 a head against a
    city mean of 15000 / 150 = 100, so the tilt is sqrt(4, 1, 1/4) = (2, 1, 0.5).
    Tilted scores 16, 8, 2 (of 26): linkage = 910 x (16, 8, 2) / 26 = (560, 280, 70).

    Without the tilt: 910 x (8, 8, 4) / 20 = (364, 364, 182); with the province and
    cross-province weights swapped A scores 2x4 + 1x2 = 10 (x2 = 20 of 30).
    """
    flows = hand_step()
    np.testing.assert_allclose(flows["transfer_payment", "linkage"], [560, 280, 70],
                               rtol=1e-12)
    assert math.fsum(flows["transfer_payment", "linkage"]) == 910.0
    no_tilt = hand_step(**{"fiscal.linkage.capacity_tilt": 0.0})
    np.testing.assert_allclose(no_tilt["transfer_payment", "linkage"], [364, 364, 182],
                               rtol=1e-12)


def test_hand_world_equalization_and_guarantee(three_areas):
    """Local incremental cost (city + county payers): A 1000 + 1000 = 2000, B 400 + 200 =
    600, C 0. Standard spending: 80 x 1.25 = 100 a resident, plus that cost: A 8000 + 2000
    = 10000, B 5000 + 600 = 5600, C 2000. Less revenue (2000, 5000, 8000): gaps 8000, 600,
    none. Equalization pool 3440 x 1.25 = 4300 split 8000 : 600: (4000, 300, 0).

    County guarantee at 75%: A 7500 - (2000 + 560 + 4000) = 940; B 4200 - 5580 < 0 and
    C 1500 - 8070 < 0 get nothing. At level 1: A 10000 - 6560 = 3440, B 5600 - 5580 = 20.
    Fiscal gap = local incremental cost - linkage = (1440, 320, -70).
    """
    flows = hand_step()
    np.testing.assert_allclose(flows["transfer_payment", "equalization"], [4000, 300, 0],
                               rtol=1e-12)
    np.testing.assert_allclose(flows["transfer_payment", "county_guarantee"], [940, 0, 0],
                               rtol=1e-12)
    np.testing.assert_allclose(flows["fiscal_gap", ""], [1440, 320, -70], rtol=1e-12)
    full = hand_step(**{"fiscal.county_guarantee.level": 1.0})
    np.testing.assert_allclose(full["transfer_payment", "county_guarantee"], [3440, 20, 0],
                               rtol=1e-12)
    off = hand_step(**{"fiscal.county_guarantee.enabled": False})
    assert off["transfer_payment", "county_guarantee"].tolist() == [0, 0, 0]


def test_hand_world_gap_counts_only_the_gap_payers(three_areas):
    """With all four payers the local cost is A 3500, B 2100, C 1500: the gap is (2940,
    1820, 1430), standard spending (11500, 7100, 3500), its excess over revenue (9500,
    2100, 0), so equalization = 4300 x (9500, 2100) / 11600."""
    flows = hand_step(**{"fiscal.gap_payers": list(sv.PAYERS)})
    np.testing.assert_allclose(flows["fiscal_gap", ""], [2940, 1820, 1430], rtol=1e-12)
    np.testing.assert_allclose(flows["transfer_payment", "equalization"],
                               [4300 * 9500 / 11600, 4300 * 2100 / 11600, 0], rtol=1e-12)


@pytest.mark.parametrize("rule, pool", [
    ("growing", {"fiscal.linkage.pool_amount": 832.0, "fiscal.linkage.pool_growth": 0.25}),
    ("reward", {"fiscal.linkage.reward_passthrough": 0.65})])
def test_hand_world_other_pool_rules(three_areas, rule, pool):
    """Growing: 832 x 1.25 (one year) = 1040; reward: 0.65 x the reward of 2400 (below) =
    1560. Split 16 : 8 : 2 as above: (640, 320, 80) and (960, 480, 120)."""
    flows = hand_step(**{"fiscal.linkage.pool_rule": rule, **pool})
    expected = {"growing": [640, 320, 80], "reward": [960, 480, 120]}[rule]
    np.testing.assert_allclose(flows["transfer_payment", "linkage"], expected, rtol=1e-12)


def test_hand_world_reward(three_areas):
    """The reward counts settlers of 2016 only (phase-down [1]): A 2 within province x 200
    = 400; B 2 within city x 100 + 1 within province x 200 + 1 cross province x 400 = 800;
    C 8 pupils x 50 = 400. Plus the province's half: (600, 1200, 600)."""
    np.testing.assert_allclose(hand_step()["citizenization_reward", ""], [600, 1200, 600],
                               rtol=1e-12)


def test_step_links_transfers_to_settlers():
    """The default world: 30 settlers from Liaoning in Dawa (area 2) this year draw the
    whole per-settler pool and the whole reward; the equalization pool grows 5% a year."""
    p = params()
    s = make_state(200, area=np.arange(200) % 5, hukou_area=np.arange(200) % 5,
                   age=np.arange(200) % 80)
    s.persons.settled_year[:30] = YEAR
    s.persons.origin[:30] = LIAONING
    s.persons.area[:30] = 2
    s.persons.hukou_area[:30] = 2
    flows = fiscal_flows(s, p)
    linkage = flows["transfer_payment", "linkage"]
    lk, r = p.fiscal.linkage, p.fiscal.reward
    assert math.fsum(linkage) == 30 * lk.pool_per_settler * lk.phase_down[0]
    assert linkage[2] == linkage.sum()
    reward = flows["citizenization_reward", ""]
    assert reward.tolist() == [0, 0, 30 * r.rate_within_province * r.phase_down[0]
                               * (1 + r.provincial_match), 0, 0]
    eq = p.fiscal.equalization
    assert math.fsum(flows["transfer_payment", "equalization"]) == pytest.approx(
        eq.pool * (1 + eq.growth) ** (YEAR - 2015), rel=1e-12)


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
    """Without the tilt a fixed pool splits 2 permit holders x 0.2 : 1 pupil x 0.5, i.e.
    4 : 5 between areas 1 and 4 (default weights)."""
    p = params(**{"fiscal.linkage.pool_rule": "fixed", "fiscal.linkage.capacity_tilt": 0.0,
                  "fiscal.linkage.weight_permit_holder": 0.2,
                  "fiscal.linkage.weight_migrant_pupil": 0.5})
    s = migrants(4, permit=[True, True, False, False], area=[1, 1, 4, 4], age=[30, 30, 8, 30])
    factors = fs.linkage_factors(s, p, 5)
    assert factors[1].tolist() == [0, 0, 0, 2, 0] and factors[4].tolist() == [0, 0, 0, 0, 1]
    linkage = fiscal_flows(s, p)["transfer_payment", "linkage"]
    pool = p.fiscal.linkage.pool_amount
    assert math.fsum(linkage) == pool
    np.testing.assert_allclose(linkage, [0, pool * 4 / 9, 0, 0, pool * 5 / 9], rtol=1e-12)


def test_capacity_tilt_by_hand():
    """Revenue per head 10 and 40 against a city mean of 500 / 20 = 25: ratios 2.5 and
    0.625, to the power 0.5; an area without residents gets 1."""
    tilt = fs.capacity_tilt(np.array([100.0, 400.0, 0.0]), np.array([10.0, 10.0, 0.0]), 0.5)
    np.testing.assert_allclose(tilt, [2.5 ** 0.5, 0.625 ** 0.5, 1.0], rtol=1e-12)
    assert fs.capacity_tilt(np.array([1.0, 9.0]), np.array([1.0, 1.0]), 0.0).tolist() == [1, 1]
    assert fs.capacity_tilt(np.array([50.0, 0.0]), np.array([10.0, 10.0]), 1.0).tolist() == [
        0.5, 1.0]  # no revenue: no per-head figure, no tilt
    assert fs.capacity_tilt(np.array([50.0, 30.0]), np.array([10.0, 0.0]), 1.0).tolist() == [
        1.6, 1.0]  # revenue but no residents: no tilt either
    # fractions of a person (small scales): 0.4 and 1.2 a head, city mean 0.4 / 0.5 = 0.8
    np.testing.assert_allclose(
        fs.capacity_tilt(np.array([0.1, 0.3]), np.array([0.25, 0.25]), 1.0), [2, 2 / 3],
        rtol=1e-12)


def test_unknown_pool_rule_names_the_valid_ones():
    p = SimpleNamespace(fiscal=SimpleNamespace(linkage=SimpleNamespace(pool_rule="magic")))
    with pytest.raises(ValueError, match="fiscal.linkage.pool_rule: unknown rule 'magic'; "
                                         "valid: fixed, growing, per_settler, reward"):
        fs.linkage_pool(p, 1, 1.0, 1.0)


def test_fiscal_base_and_defaults_load():
    base = fs.load_fiscal_base()
    assert base.year == 2015 and len(base.revenue) == 5
    assert base.revenue.sum() == pytest.approx(11.48e9 * (1 - 0.213))
    # split by the Jan-Apr 2025 revenue of each unit (亿元): 3.36, 18.80, 4.94, 5.72, 19.09
    np.testing.assert_allclose(base.revenue / base.revenue[0],
                               np.array([3.36, 18.80, 4.94, 5.72, 19.09]) / 3.36, rtol=1e-12)
    assert params().fiscal.linkage.pool_rule in fs.POOL_RULES


def test_outside_and_unknown_payers():
    with pytest.raises(ValueError, match="unknown payer"):
        fs.local_incremental_cost({}, ["town"], 5)
    assert fs.local_incremental_cost({}, ["city"], 3).tolist() == [0, 0, 0]  # no such flow
    assert fs.local_incremental_cost({}, [], 3).tolist() == [0, 0, 0]
    s = migrants(1, area=OUTSIDE, age=8)
    assert fs.migrant_pupils(s, params(), 5).sum() == 0
