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
    OUTSIDE,
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
# than that allows and the five free parameters act on every area alike. The backtest set's
# medians put Panjin's 2020 residents 1.1% above the census (its posterior-predictive mean
# is within 0.5%): the median of each parameter is not the joint posterior's best point.
# Nothing was tuned to them.
DAWA = "dawa_district"
NOT_FITTED = {
    "backtest": {("resident_population", "panjin", 2020, None)},
    "forecast": {("registered_deaths", DAWA, 2021, None), ("registered_deaths", DAWA, 2022, None),
                 ("registered_urban_population", DAWA, 2022, 2021)},
}


@pytest.mark.parametrize("name", ["backtest", "forecast"])
def test_calibration_set_hits_its_figures_within_tolerance(name):
    """A set's calibrated values (posterior medians), mean of three seeds at scale 0.1:
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
    return {n: _settled(n) for n in names}


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
