"""The settlement decision (sim.pipeline.intention): each behavioural rule on
constructed households, the calibrated fit, and the ordering of scenarios."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim.calibration import calibration_observations
from sim.model import UrbanizationModel
from sim.pipeline import intention, settlement
from sim.population import (
    COLLEGE,
    EMPLOYED,
    JUNIOR,
    LIAONING,
    OTHER_PROVINCE,
    OUTSIDE,
    OWN,
    PANJIN,
    RENT,
    URBAN_DISTRICT,
)
from sim.scenario import load_defaults, load_scenario
from sim.scenario.calibrated import calibration_set
from sim.validation import validation_table
from tests.factories import make_state

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def migrant(n: int = 1, **columns):
    """Migrant adults from elsewhere in Liaoning renting in the city districts."""
    base = dict(hukou_area=OUTSIDE, origin=LIAONING, village=-1, place=URBAN_DISTRICT,
                residence_years=3, employment=EMPLOYED, education=JUNIOR)
    return make_state(n, tenure=RENT, **{**base, **columns})


def chance(state, year: int = 2018, scenario=None, **overrides) -> np.ndarray:
    s = scenario or load_defaults()
    p = (s.with_overrides(overrides) if overrides else s).at(year)
    return intention.probability(state, p)


def test_more_education_raises_intention():
    low, high = chance(migrant(education=JUNIOR)), chance(migrant(education=COLLEGE))
    assert high[0] > low[0]


def test_homestead_lowers_propensity_by_twelve_percent():
    without = migrant()
    with_homestead = migrant()
    with_homestead.households.homestead[:] = True
    ratio = chance(with_homestead)[0] / chance(without)[0]
    assert ratio == pytest.approx(0.88)  # Gu et al. 2020; age 30, no contract: no interaction


def test_homestead_strengthens_age_and_weakens_contract_effects():
    def gap(col, lo, hi):
        out = []
        for homestead in (False, True):
            a, b = migrant(**{col: lo}), migrant(**{col: hi})
            a.households.homestead[:] = b.households.homestead[:] = homestead
            out.append(np.log(chance(b)[0] / chance(a)[0]))
        return out
    age_plain, age_homestead = gap("age", 30, 55)
    assert age_homestead < age_plain < 0
    contract_plain, contract_homestead = gap("labour_contract", False, True)
    assert 0 < contract_homestead < contract_plain


def test_generous_permit_lowers_the_pull_of_hukou_for_permit_holders():
    state = migrant(permit=True, permit_years=1, residence_years=1)
    reform = chance(state, scenario=load_scenario(SCENARIOS / "reform_2015.toml"))
    generous = chance(state, scenario=load_scenario(SCENARIOS / "generous_permit.toml"))
    assert intention.hukou_gain(state, load_scenario(
        SCENARIOS / "generous_permit.toml").at(2018))[0] == 0
    assert generous[0] < reform[0]


def test_land_surrender_condition_lowers_intention_of_land_holders():
    state = migrant()
    state.households.contract_land[:] = True
    kept = chance(state)
    surrendered = chance(state, **{"policy.land_rights_kept_on_settling": False})
    assert surrendered[0] < kept[0]


def test_settled_peers_raise_intention():
    state = migrant(3)
    alone = chance(state)[0]
    state.persons.settled_channel[1:] = 0
    assert chance(state)[0] > alone


def test_awareness_starts_with_the_reform_and_grows():
    b = load_defaults().at(2016).behaviour
    values = [intention.awareness(y, b) for y in (2015, 2016, 2017, 2020)]
    assert values[0] == 0 and 0 < values[1] < values[2] < values[3] < 1


def test_ineligible_households_never_settle_even_when_certain():
    # a migrant in a village, renting without consent: no channel passes
    state = migrant(place=3)
    p = load_defaults().with_overrides({"behaviour.intention.intercept": 20.0,
                                        "behaviour.settlement.action_rate": 1.0}).at(2020)
    decision = settlement.decide(state, p, np.random.default_rng(0))
    assert not decision.movers.any()


# Figures a calibration set does not fit, and why (docs/calibration.md, "What the forecast
# set cannot fit"): Dawa District's registered deaths stay a quarter above its bulletins at
# Liaoning's life table, and no free parameter moves mortality; its registered urban count
# grows while the bulletins' fell, because the model registers more settlers there a year
# than that allows and the five free parameters act on every area alike. Nothing was tuned
# to them. (The backtest set's old point, the marginal medians, put Panjin's 2020 residents
# 1.1% above the census; its point is now a posterior member, `sim.calibration.pick_point`.)
DAWA = "dawa_district"
NOT_FITTED = {
    "backtest": set(),
    "forecast": {("registered_deaths", DAWA, 2021, None), ("registered_deaths", DAWA, 2022, None),
                 ("registered_urban_population", DAWA, 2022, 2021),
                 ("resident_population", "panjin", 2020, None)},
}


@pytest.mark.parametrize("name", ["backtest", "forecast"])
def test_calibration_set_hits_its_figures_within_tolerance(name):
    """A set's calibrated values (its point estimate), mean of three seeds at scale 0.1:
    every figure it was fitted to within its tolerance, except those listed in NOT_FITTED.
    (A fit, not a test of the forecast: see the backtest's out-of-sample rows.)"""
    chosen = calibration_set(name)
    calibrated = tomllib.loads(chosen.calibrated.read_text(encoding="utf-8"))
    s = load_scenario(SCENARIOS / "reform_2015.toml").with_overrides(
        {"run.calibration": name})
    assert calibrated["behaviour"]["intention"]["intercept"] == pytest.approx(
        s.at(2016).behaviour.intention.intercept)
    observations = calibration_observations(chosen.through)
    s = s.with_overrides(
        {"run.scale": 0.1, "run.end_year": max(o["year"] for o in observations)})
    values = []
    for seed in (1, 2, 3):
        model = UrbanizationModel(s, seed=seed)
        model.run()
        values.append(validation_table(model.indicators(), chosen.through, observations)
                      .model.to_numpy())
    model_values = np.mean(values, axis=0)
    missed = {(o["indicator"], o["area"], o["year"], o.get("change_from"))
              for o, m in zip(observations, model_values, strict=True)
              if abs(m - o["observed"]) > o["tolerance"]}
    assert missed <= NOT_FITTED[name], missed - NOT_FITTED[name]


def _settled(name: str, seeds=(1, 2, 3)) -> float:
    """Mean cumulative settlements 2016–2030 through the channels of clauses 四–七.

    Urban-village conversions (十五) follow the same schedule in every scenario;
    which villages convert is random, so they are left out as noise.
    """
    s = load_scenario(SCENARIOS / f"{name}.toml").with_overrides(
        {"run.scale": 0.02, "run.end_year": 2030})
    total = 0.0
    for seed in seeds:
        model = UrbanizationModel(s, seed=seed)
        model.run()
        df = model.indicators()
        sel = ((df.area == "panjin") & (df.indicator == "settlements") & (df.year >= 2016)
               & (df.category != "urban_village"))
        total += df[sel].value.sum()
    return total / len(seeds)


@pytest.fixture(scope="module")
def cumulative_settlements():
    names = ("full_opening", "reform_2015", "pre_reform", "no_collective_household",
             "strict_insurance", "land_for_hukou", "generous_permit")
    # Eight seeds: at scale 0.02 the paired seed-to-seed spread of the reform's settlements
    # is about 6,000 persons, as large as the strict-insurance variant's effect (about 7,000
    # fewer, measured on seeds 1-8 after session 6's recalibration); three seeds put that
    # variant above the reform by chance.
    return {n: _settled(n, seeds=range(1, 9)) for n in names}


def test_scenario_ordering_of_cumulative_settlements(cumulative_settlements):
    c = cumulative_settlements
    assert c["full_opening"] >= c["reform_2015"] >= c["pre_reform"]
    # generous_permit: permits already give what hukou would, so the pull is weaker
    for weaker in ("no_collective_household", "strict_insurance", "land_for_hukou",
                   "generous_permit"):
        assert c[weaker] < c["reform_2015"], weaker


def test_intention_is_persistent_not_redrawn_each_year():
    """Memory: the same household in the same circumstances intends (or not) every year;
    only a change of circumstances changes it."""
    from sim.model import UrbanizationModel
    s = load_defaults().with_overrides({"run.scale": 0.002, "run.end_year": 2016})
    model = UrbanizationModel(s, seed=3)
    model.run()
    state = model.state
    heads = np.flatnonzero(state.migrant_heads())
    p = s.at(2017)
    first = intention.intends(state, p, heads)
    # settling draws only whether to act this year: who intends does not depend on the
    # year's random numbers (the old model redrew intention every year)
    candidates = np.zeros(len(state.persons), bool)
    candidates[heads] = True
    _, intending_a = intention.settles(state, p, candidates, np.random.default_rng(1))
    _, intending_b = intention.settles(state, p, candidates, np.random.default_rng(2))
    assert (intending_a == intending_b).all() and (intending_a[heads] == first).all()
    assert 0.05 < first.mean() < 0.8  # a share intends, the rest does not
    # a change of circumstances that raises P(intend) can only add intending households
    richer = s.with_overrides({"behaviour.intention.intercept":
                               p.behaviour.intention.intercept + 1.0}).at(2017)
    more = intention.intends(state, richer, heads)
    assert (more >= first).all() and more.sum() > first.sum()


def test_cumulative_settlement_is_bounded_by_intention():
    """Over 2016–2035 every household that settled through 四–七 intended when it settled,
    and the settled households never outnumber those that ever intended — however long
    they stay eligible (the old yearly redraw let ~64% of eligible households settle)."""
    from sim.model import UrbanizationModel
    from sim.pipeline import settlement
    s = load_scenario(SCENARIOS / "reform_2015.toml").with_overrides(
        {"run.scale": 0.005, "run.end_year": 2035, "behaviour.settlement.action_rate": 1.0})
    model = UrbanizationModel(s, seed=11)
    settled_ids: set[int] = set()
    ever_intending: set[int] = set()
    original = settlement.decide

    def recording(state, p, rng):
        d = original(state, p, rng)
        hh_ids = state.households.id[state.persons.household]
        assert not (d.applicant & ~d.intending).any()
        settled_ids.update(hh_ids[d.applicant].tolist())
        ever_intending.update(hh_ids[d.intending].tolist())
        return d

    settlement.decide = recording
    try:
        model.run()
    finally:
        settlement.decide = original
    assert settled_ids and settled_ids <= ever_intending


# ------------------------------------------------------------------ each term by hand

TERMS = ("intercept", "education", "log_income", "intra_province", "insured", "married",
         "years_here", "age_over_39", "female", "rural_hukou", "owns_home", "labour_contract",
         "school_children", "hukou_gain", "peers")


def _only(year: int = 2018, **intention_values: object):
    """Parameters whose utility has only the given terms (every other coefficient 0), no
    homestead effect and land rights kept: then logit(P(intend)) is U itself."""
    values = {**dict.fromkeys(TERMS, 0.0), "homestead_effect": 0.0, **intention_values}
    return load_defaults().with_overrides(
        {**{f"behaviour.intention.{k}": v for k, v in values.items()},
         "policy.land_rights_kept_on_settling": True}).at(year)


def _logit(prob: np.ndarray) -> np.ndarray:
    return np.log(prob / (1 - prob))


# (coefficient, its value, person columns, household columns, other parameters, the term's
# variable worked out by hand for person 0 of a household of two)
CASES = [
    ("intercept", 1.3, {}, {}, {}, 1.0),
    ("education", 0.5, {"education": COLLEGE}, {},
     {"school_years_by_education": [1.0, 2.0, 3.0, 4.0, 5.0, 20.0]}, 20 - 9),
    ("education", 0.5, {"education": JUNIOR}, {},
     {"school_years_by_education": [1.0, 2.0, 3.0, 4.0, 5.0, 20.0]}, 2 - 9),
    ("log_income", 0.8, {}, {"income": 60_000.0}, {"income_reference": 20_000.0},
     np.log(30_000 / 20_000)),
    ("log_income", 0.8, {}, {"income": 0.0},
     {"income_reference": 20_000.0, "income_floor": 2_000.0}, np.log(2_000 / 20_000)),
    ("intra_province", 0.7, {"origin": LIAONING}, {}, {}, 1.0),
    ("intra_province", 0.7, {"origin": PANJIN}, {}, {}, 1.0),
    ("intra_province", 0.7, {"origin": OTHER_PROVINCE}, {}, {}, 0.0),
    ("insured", 0.4, {"insured": True}, {}, {}, 1.0),
    ("married", -0.6, {"married": True}, {}, {}, 1.0),
    ("years_here", 0.1, {"residence_years": 25}, {}, {"years_here_cap": 20}, 20.0),
    ("years_here", 0.1, {"residence_years": 7}, {}, {"years_here_cap": 20}, 7.0),
    ("age_over_39", -0.05, {"age": 50}, {}, {}, 11.0),
    ("age_over_39", -0.05, {"age": 50}, {"homestead": True}, {"homestead_age_boost": 0.5},
     11 * 1.5),
    ("age_over_39", -0.05, {"age": 39}, {}, {}, 0.0),
    ("female", 0.3, {"sex": 0}, {}, {}, 1.0),
    ("female", 0.3, {"sex": 1}, {}, {}, 0.0),
    ("rural_hukou", -0.4, {"hukou_urban": False}, {}, {}, 1.0),
    ("rural_hukou", -0.4, {"hukou_urban": True}, {}, {}, 0.0),
    ("owns_home", -0.3, {}, {"tenure": OWN}, {}, 1.0),
    ("owns_home", -0.3, {}, {"tenure": RENT}, {}, 0.0),
    ("labour_contract", 0.6, {"labour_contract": True}, {}, {}, 1.0),
    ("labour_contract", 0.6, {"labour_contract": True}, {"homestead": True},
     {"homestead_contract_damping": 0.25}, 0.75),
]


@pytest.mark.parametrize("term, value, person, household, other, variable", CASES)
def test_each_term_of_the_utility_by_hand(term, value, person, household, other, variable):
    """Two adults of 30 in one household (person columns set on both, the household's on
    it), every other coefficient 0: logit P(intend) = coefficient × the term's variable
    (the intercept's variable is 1), for all persons and for ``rows`` alone."""
    state = make_state(2, household=[0, 0], **person)
    for column, v in household.items():
        getattr(state.households, column)[:] = v
    p = _only(**{term: value, **other})
    expected = value * variable
    np.testing.assert_allclose(_logit(intention.probability(state, p)), [expected] * 2,
                               atol=1e-12)
    np.testing.assert_allclose(_logit(intention.probability(state, p, np.array([1]))),
                               [expected], atol=1e-12)


def test_school_children_term_counts_migrant_pupils_without_exam_access():
    """Household 0: an adult and a migrant pupil of 10 with 2 local school years (3 give
    exam access): term 1 for both. Household 1: a migrant pupil with 3 years. Household 2:
    a Panjin-hukou pupil. Household 3: a migrant of 18 (past school age). Household 4: a
    migrant of 6 (first school age) with none. Asked for the rows 6, 1 and 4 only (of
    households 4, 0 and 3), the same terms: the pupils are found among those households'
    members."""
    state = make_state(7, household=[0, 0, 1, 2, 3, 4, 4],
                       age=[30, 10, 10, 10, 18, 6, 35], hukou_area=[-1, -1, -1, 0, -1, -1, -1],
                       school_years_local=[0, 2, 3, 0, 0, 0, 0])
    p = load_defaults().with_overrides(
        {**{f"behaviour.intention.{k}": 0.0 for k in TERMS},
         "behaviour.intention.homestead_effect": 0.0,
         "behaviour.intention.school_children": 0.9,
         "policy.residence_permit.exam_schooling_years": 3,
         "life_course.schooling.ages": [6, 18]}).at(2018)
    np.testing.assert_allclose(_logit(intention.probability(state, p)),
                               [0.9, 0.9, 0, 0, 0, 0.9, 0.9], atol=1e-12)
    np.testing.assert_allclose(_logit(intention.probability(state, p, np.array([6, 1, 4]))),
                               [0.9, 0.9, 0], atol=1e-12)


def test_homestead_and_land_surrender_scale_the_chance():
    """U = 0 (P = 1/2). Homestead effect 0.2, land surrender effect 0.5: with land kept on
    settling only a homestead lowers the chance (0.4); when settling surrenders land, any
    of the three rights does (×0.5), and a homestead both (0.2)."""
    state = make_state(4)
    h = state.households
    h.homestead[:] = [False, True, False, False]
    h.contract_land[:] = [False, False, True, False]
    h.collective_income[:] = [False, False, False, True]
    values = {**{f"behaviour.intention.{k}": 0.0 for k in TERMS},
              "behaviour.intention.homestead_effect": 0.2,
              "behaviour.intention.land_surrender_effect": 0.5}
    for kept, expected in ((True, [0.5, 0.4, 0.5, 0.5]), (False, [0.5, 0.2, 0.25, 0.25])):
        p = load_defaults().with_overrides(
            {**values, "policy.land_rights_kept_on_settling": kept}).at(2018)
        np.testing.assert_allclose(intention.probability(state, p), expected)


def test_hukou_gain_and_peers_enter_with_their_coefficients():
    """logit P = 2 × hukou_gain + 3 × peer_share, each as its own function gives it."""
    state = migrant(3)
    state.persons.settled_channel[1] = 0
    p = _only(hukou_gain=2.0, peers=3.0)
    expected = 2 * intention.hukou_gain(state, p) + 3 * intention.peer_share(state)
    assert expected.min() > 0
    np.testing.assert_allclose(_logit(intention.probability(state, p)), expected, atol=1e-12)


def test_hukou_gain_is_the_households_mean_share_of_members():
    """A local urban resident gains nothing; a migrant some share g; in one household both
    gain g / 2, and asking for one row gives its household's value."""
    alone = migrant(1)
    p = load_defaults().at(2018)
    g = intention.hukou_gain(alone, p)[0]
    assert 0 < g <= 1
    state = migrant(3, household=[0, 0, 1])
    state.persons.hukou_area[0] = 0
    state.persons.hukou_urban[0] = True
    state.persons.origin[0] = PANJIN
    np.testing.assert_allclose(intention.hukou_gain(state, p), [g / 2, g / 2, g])
    np.testing.assert_allclose(intention.hukou_gain(state, p, np.array([2, 0])), [g, g / 2])


def test_peer_share_by_village_and_by_area_and_origin():
    """Village 4: four registered members, one settled: 1/4 each; village 0: two members,
    one settled: 1/2; village 5: one member, settled: 1. Migrants from another province in
    area 1: two, one settled: 1/2; a migrant from Liaoning in area 1: none of its peers
    settled: 0; a migrant from another province living alone in area 2, settled: 1. Panjin
    urban hukou holders (no village) in area 1, one of them settled: 0, they have no
    peers; nor has a settler from Liaoning who has since moved out of Panjin."""
    state = make_state(15, village=[4, 4, 4, 4, 0, 0, 5] + [-1] * 8,
                       origin=[PANJIN] * 7 + [OTHER_PROVINCE, OTHER_PROVINCE, LIAONING,
                                              OTHER_PROVINCE, PANJIN, PANJIN, PANJIN, LIAONING],
                       area=[0, 0, 0, 0, 0, 0, 3, 1, 1, 1, 2, 1, 1, 0, -1],
                       hukou_area=[0] * 7 + [-1, -1, -1, -1, 1, 1, 1, 2])
    state.persons.settled_channel[[2, 4, 6, 8, 10, 12]] = 0
    np.testing.assert_allclose(intention.peer_share(state),
                               [0.25] * 4 + [0.5, 0.5, 1] + [0.5, 0.5, 0, 1] + [0, 0, 0, 0])


def test_hukou_gain_of_each_person_is_the_share_of_services_the_urban_status_adds():
    """One-person households of every kind the gain depends on (status, clause 十一's
    years conditions, local schooling at and below the exam threshold, living outside
    with an urban or a rural Panjin hukou or none):
    the gain is the count of services a local urban resident in the same circumstances may
    use and the person may not, over the count the urban resident may use (0 when none),
    each read from `services.entitled` person by person."""
    from sim.pipeline import services
    p = load_defaults().at(2018)
    rp = p.policy.residence_permit
    years = max(rp.conditional_residence_years, rp.conditional_insurance_years)
    k = rp.exam_schooling_years
    state = make_state(
        12, hukou_area=[-1, -1, -1, -1, -1, 0, 0, -1, -1, 0, 0, -1],
        hukou_urban=[False] * 6 + [True, False, False, True, False, False],
        permit=[False, True, True, True, True, False, False, True, False, False, False, False],
        residence_years=[1, 1, years, years, years, 1, 1, years, 1, 1, 1, 1],
        insured=[False, False, True, True, True, False, False, True, False, False, False,
                 False],
        insurance_years=[0, 0, years, years, years, 0, 0, years, 0, 0, 0, 0],
        school_years_local=[0, 0, 0, k, k - 1, 0, 0, k, k, 0, 0, 0],
        age=[30, 30, 30, 12, 12, 30, 30, 12, 12, 30, 30, 30],
        area=[0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1])
    urban = np.full(12, services.LOCAL_URBAN)
    gained = possible = 0
    for service in services.SERVICES:
        as_urban = services.entitled(state, p, service, status=urban)
        gained = gained + (as_urban & ~services.entitled(state, p, service))
        possible = possible + as_urban
    expected = np.divide(gained, possible, out=np.zeros(12), where=possible > 0)
    assert expected[0] > 0 and expected[6] == 0 and len(np.unique(expected)) >= 4
    np.testing.assert_allclose(intention.hukou_gain(state, p), expected)
    np.testing.assert_allclose(intention.hukou_gain(state, p, np.array([9, 3])),
                               expected[[9, 3]])


def test_awareness_by_hand():
    """Start 2016, rate 0.5: 1 − e^(−0.5 × years since the start, counting the first);
    nobody before the start."""
    b = load_defaults().with_overrides({"behaviour.awareness.start_year": 2016,
                                        "behaviour.awareness.rate": 0.5}).at(2016).behaviour
    got = [intention.awareness(y, b) for y in (2012, 2015, 2016, 2019)]
    assert got == pytest.approx([0.0, 0.0, 1 - np.exp(-0.5), 1 - np.exp(-2.0)])


def test_settles_needs_awareness_intention_and_action():
    """Four one-person households with P(intend) = 1/2 (U = 0) and awareness 1 − e^−0.5
    ≈ 0.39 in 2016: intention draws 0.4 (intends) or 0.6 (not), awareness draws 0.3 (aware)
    or 0.5 (not). With action certain, only the intending and aware one settles; with
    action impossible nobody; a non-candidate never does."""
    state = make_state(5)
    state.households.intention_draw[:] = [0.4, 0.4, 0.6, 0.6, 0.4]
    state.households.awareness_draw[:] = [0.3, 0.5, 0.3, 0.5, 0.3]
    candidates = np.array([True, True, True, True, False])
    for rate, expected in ((1.0, [True, False, False, False, False]), (0.0, [False] * 5)):
        p = load_defaults().with_overrides(
            {**{f"behaviour.intention.{k}": 0.0 for k in TERMS},
             "behaviour.intention.homestead_effect": 0.0,
             "behaviour.awareness.start_year": 2016, "behaviour.awareness.rate": 0.5,
             "behaviour.settlement.action_rate": rate}).at(2016)
        settles, intending = intention.settles(state, p, candidates, np.random.default_rng(0))
        assert settles.tolist() == expected
        assert intending.tolist() == [True, True, False, False, False]


def test_each_candidate_draws_whether_to_act():
    """Forty aware, intending candidates acting at a rate of one half: some act, not all."""
    state = make_state(40)
    state.households.intention_draw[:] = 0.0
    state.households.awareness_draw[:] = 0.0
    p = load_defaults().with_overrides({"behaviour.awareness.start_year": 2016,
                                        "behaviour.settlement.action_rate": 0.5}).at(2018)
    settles, _ = intention.settles(state, p, np.ones(40, bool), np.random.default_rng(0))
    assert 5 < settles.sum() < 35


def test_draw_missing_fills_only_new_households_each_with_its_own_draw():
    state = make_state(4)
    h = state.households
    h.intention_draw[:] = [0.25, np.nan, np.nan, 0.75]
    h.awareness_draw[:] = [np.nan, 0.5, np.nan, np.nan]
    intention.draw_missing(state, np.random.default_rng(0))
    assert h.intention_draw[[0, 3]].tolist() == [0.25, 0.75] and h.awareness_draw[1] == 0.5
    drawn = np.r_[h.intention_draw[[1, 2]], h.awareness_draw[[0, 2, 3]]]
    assert ((drawn >= 0) & (drawn < 1)).all() and len(np.unique(drawn)) == 5
