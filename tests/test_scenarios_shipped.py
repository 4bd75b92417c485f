"""Every shipped scenario loads, says what it represents, and runs the policy steps."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from sim.pipeline import eligibility, residence_permit, settlement, urban_village
from sim.scenario import load_defaults, load_scenario
from sim.synthesis import synthesize

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.toml"))
NAMES = [s.stem for s in SCENARIOS]


def test_the_shipped_set():
    assert {"reform_2015", "pre_reform", "strict_insurance", "no_collective_household",
            "land_for_hukou", "generous_permit", "full_opening"} <= set(NAMES)


@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_loads_with_header_and_name(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# "), "a header comment says what the scenario represents"
    s = load_scenario(path)
    assert s.name == path.stem and s.description
    if path.stem != "reform_2015":
        assert "reform_2015.toml" in s.chain[1]


def test_pre_reform_keeps_the_2015_rules():
    """The dated defaults' 2015 values are the pre-reform rules; pre_reform keeps them."""
    defaults = load_defaults()
    old = load_scenario(SCENARIO_DIR / "pre_reform.toml")
    for name in defaults.parameter_names():
        if name.startswith("policy.") and defaults.at(2015)[name] != defaults.at(2016)[name]:
            assert old.at(2030)[name] == defaults.at(2015)[name], name


@pytest.mark.parametrize("name, path, values", [
    ("reform_2015", "policy.urban_district.insurance_years", 1),
    ("strict_insurance", "policy.urban_district.insurance_years", 3),
    ("no_collective_household", "policy.community_collective_household", False),
    ("land_for_hukou", "policy.land_rights_kept_on_settling", False),
    ("generous_permit", "policy.residence_permit.conditional_services", ()),
    ("full_opening", "policy.urban_district.requires_stable_job", False),
    ("pre_reform", "policy.residence_permit.available", False),
])
def test_each_scenario_sets_its_lever(name, path, values):
    s = load_scenario(SCENARIO_DIR / f"{name}.toml")
    assert s.at(2020)[path] == values


@pytest.fixture(scope="module")
def base_state():
    state, _ = synthesize(scale=0.002, rng=np.random.default_rng(5))
    return state


@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_policy_steps_run_and_keep_the_hard_rules(path, base_state):
    state = copy.deepcopy(base_state)
    s = load_scenario(path)
    rng = np.random.default_rng(0)
    settled = 0.0
    for year in (2016, 2017):
        p = s.at(year)
        before = eligibility.HukouSnapshot.of(state.persons)
        land = state.households.contract_land.copy()
        residence_permit.step(state, p, rng)
        flows = settlement.step(state, p, rng)
        urban_village.step(state, p, rng)
        assert not eligibility.refuse_clause_8(before, state.persons).any()
        if p.policy.land_rights_kept_on_settling:
            assert (state.households.contract_land == land).all()
        settled += sum(v.sum() for k, v in flows.items() if k[0] == "settlements")
        state.year = year
    assert settled > 0
