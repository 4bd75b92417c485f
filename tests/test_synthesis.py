"""The synthetic 2015 population matches the base data's marginals."""

import re
from importlib import resources

import numpy as np
import pytest

from sim.population import HEAD, OUTSIDE, SPOUSE, Persons
from sim.synthesis import (
    BaseDataError,
    FitReport,
    _distinct_columns,
    _draw_ages,
    _open_end,
    base_year_parameters,
    choice_by_group,
    load_base,
    setter,
    synthesize,
)

# At 5% of the city (about 70,000 agents) every marginal is met within 3%;
# at scale 1.0 within 0.5% except persons per household (see benchmarks/).
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def population():
    return synthesize(0.05, np.random.default_rng(7))


def test_every_marginal_within_tolerance(population):
    _, fit = population
    bad = [r for r in fit.rows if abs(r["relative_error"]) > TOLERANCE
           and r["marginal"] not in ("households", "age_band", "age_band_men")]
    assert not bad, bad


def test_household_size_near_census(population):
    _, fit = population
    assert fit.worst_error("households") < 0.06


def test_city_urban_population_is_the_2015_figure(population):
    state, _ = population
    p = state.persons
    urban = (p.area >= 0) & (p.place != 3)
    assert p.weight[urban].sum() == pytest.approx(1_038_200, rel=TOLERANCE)


def test_households_have_one_head_and_at_most_one_spouse(population):
    state, _ = population
    p = state.persons
    heads = np.bincount(p.household[p.role == HEAD], minlength=len(state.households))
    spouses = np.bincount(p.household[p.role == SPOUSE], minlength=len(state.households))
    occupied = np.bincount(p.household, minlength=len(state.households)) > 0
    assert (heads[occupied] == 1).all()
    assert (spouses <= 1).all()


def test_migrants_have_no_panjin_hukou_and_residents_outside_do(population):
    state, _ = population
    p = state.persons
    assert (p.hukou_area[p.origin > 0] == OUTSIDE).all()
    assert (p.hukou_area[p.area == OUTSIDE] >= 0).all()


def test_ids_unique_and_weights_are_inverse_scale(population):
    state, _ = population
    assert len(np.unique(state.persons.id)) == len(state.persons)
    assert np.allclose(state.persons.weight, 20.0)


def test_same_seed_same_population():
    a, _ = synthesize(0.005, np.random.default_rng(3))
    b, _ = synthesize(0.005, np.random.default_rng(3))
    for name, col in a.persons.columns().items():
        assert np.array_equal(col, getattr(b.persons, name)), name


def test_choice_by_group_follows_probabilities():
    rng = np.random.default_rng(0)
    draws = choice_by_group(rng, np.array([[0.2, 0.8]]), np.zeros(20_000, int))
    assert draws.mean() == pytest.approx(0.8, abs=0.01)


def test_inconsistent_base_data_names_file_and_field(tmp_path):
    text = resources.files("sim.data").joinpath("base_2015.toml").read_text("utf-8")
    broken = tmp_path / "base.toml"
    # the first area's place shares no longer add up to 1
    broken.write_text(re.sub(r"village = [0-9.]+ }", "village = 0.5 }", text, count=1),
                      encoding="utf-8")
    with pytest.raises(BaseDataError, match=r"base.toml: area.shuangtaizi.place_shares"):
        load_base(broken)


@pytest.mark.fullcity
def test_full_city_fits_within_half_a_percent():
    """One agent per person: every marginal but household size within 0.5%."""
    _, fit = synthesize(1.0, np.random.default_rng(1))
    assert fit.worst_error("city") < 0.005
    assert fit.worst_error("area") < 0.005
    assert fit.worst_error("age_share") < 0.005
    assert fit.worst_error("households") < 0.05


# ------------------------------------------------------------------ age–sex structure
# Each test below failed on the synthesis before issue 9's base-population fix (the open
# 85+ band spread evenly over 85–94, spouses clipped at 20, every lone parent a father,
# only three broad age groups fitted).

def _resident_share(state, mask):
    p = state.persons
    inside = p.area >= 0
    return p.weight[inside & mask].sum() / p.weight[inside].sum()


def test_65_plus_within_60_plus_as_in_liaonings_2015_survey(population):
    """Liaoning 2015 1% survey: 65+ were 562.0 of 902.4万 aged 60+ (62.3%). The old
    synthesis put 69% of its 60+ above 65."""
    state, _ = population
    p = state.persons
    ratio = _resident_share(state, p.age >= 65) / _resident_share(state, p.age >= 60)
    assert ratio == pytest.approx(562.0 / 902.4, abs=0.02)


def test_every_5_year_band_is_fitted(population):
    """Each band within 10% of its target at 5% of the city (0.3 points of the old-age
    share at most); the old synthesis had 20–24 at 1.6 times its shape."""
    _, fit = population
    bands = [r for r in fit.rows if r["marginal"] == "age_band"]
    assert len(bands) == len(load_base()["age"]["bands"])
    assert max(abs(r["relative_error"]) for r in bands) < 0.10


def test_oldest_old_are_mostly_women(population):
    """Women outlive men: about two thirds of the 85+ are women (a life-table population
    gives 0.65); the old synthesis had 0.38, every lone parent being a father."""
    state, _ = population
    p = state.persons
    old = p.age >= 85
    assert _resident_share(state, old & (p.sex == 0)) / _resident_share(state, old) > 0.58


def test_oldest_ages_thin_out_without_a_cap():
    """Single ages from `single_year_weights` fall with the life table inside the open band
    (no flat spread to a cap, nobody missing above it), and step smoothly across bands."""
    from sim.pipeline.demography import LIFE_TABLE_END
    from sim.synthesis import both_sexes_survivorship, single_year_weights

    base = load_base()
    age = base["age"]
    l_x = both_sexes_survivorship(base, base_year_parameters(base).demography)
    assert len(l_x) == LIFE_TABLE_END + 1
    w = single_year_weights(np.array(age["bands"]), np.array(age["local_shape"], float), l_x)
    assert w.sum() == pytest.approx(sum(age["local_shape"]))
    tail = w[85:101]
    assert (np.diff(tail) < 0).all()  # falls every year, 85 to 100
    assert w[95:].sum() > 0 and w[85:95].sum() < 0.95 * age["local_shape"][-1]
    steps = w[1:80] / w[:79]
    assert steps.max() < 1.15 and steps.min() > 0.85  # no cliff at a band edge


def test_no_spike_at_any_single_age(population):
    """No single age from 15 to 84 holds more than 1.35 times the mean of its four
    neighbours (the old synthesis piled spouses at exactly 20: 1.5 times)."""
    state, _ = population
    p = state.persons
    inside = p.area >= 0
    counts = np.bincount(p.age[inside], weights=p.weight[inside], minlength=110)
    ages = np.arange(15, 85)
    neighbours = (counts[ages - 2] + counts[ages - 1] + counts[ages + 1] + counts[ages + 2]) / 4
    assert (counts[ages] / neighbours).max() < 1.35


def test_no_spouse_below_the_legal_marriage_age(population):
    """婚姻法 Art. 6: women 20, men 22. The old synthesis clipped spouses at 20 for both."""
    state, _ = population
    p = state.persons
    women_min, men_min = load_base()["households"]["marriage_min_age"]
    spouse = p.role == SPOUSE
    assert (p.age[spouse & (p.sex == 0)] >= women_min).all()
    assert (p.age[spouse & (p.sex == 1)] >= men_min).all()


def test_base_crude_death_rate_near_liaonings_2015(population):
    """Expected deaths in the first simulated year, from the life table, per 1,000
    residents: Liaoning's 2015 rate was 6.59‰ (China Statistical Yearbook 2016 table 2-8)
    and Panjin is younger (60+ 13.1% against Liaoning's 15.4% in 2010), so below it but
    not far; the old synthesis gave 7.2‰, above Liaoning's."""
    from sim.pipeline.demography import death_probability

    state, _ = population
    p = state.persons
    inside = p.area >= 0
    d = base_year_parameters(load_base()).demography
    q = death_probability(p.age[inside] + 1, p.sex[inside], d)
    cdr = 1000 * (q * p.weight[inside]).sum() / p.weight[inside].sum()
    assert 5.0 < cdr < 6.59


# ------------------------------------------------------------------ small pieces by hand

def test_fit_report_rows_and_worst_error_by_hand():
    """Target 200, synthesized 210.123 4: error +5.0617%, rounded to 3 and 5 decimals; a
    zero target has error 0; the worst error is over one marginal or all, 0 for none."""
    fit = FitReport()
    fit.add("city", "resident_population", 200.0, 210.1234)
    fit.add("area", "a", 0.0, 3.0)
    fit.add("area", "b", 1.23456, 1.0)
    assert fit.rows[0] == {"marginal": "city", "key": "resident_population", "target": 200.0,
                           "synthesized": 210.123, "relative_error": 0.05062}
    assert fit.rows[1]["relative_error"] == 0.0
    assert fit.rows[2]["target"] == 1.235 and fit.rows[2]["relative_error"] == -0.18999
    assert fit.worst_error("area") == 0.18999
    assert fit.worst_error("city") == 0.05062
    assert fit.worst_error() == 0.18999
    assert fit.worst_error("sex") == 0.0 and FitReport().worst_error() == 0.0


def test_setter_keeps_given_values_and_replaces_the_rest():
    t = Persons.empty(3)
    t.age[:] = [30, 5, 7]
    t.sex[:] = [1, 1, 1]
    put = setter(t, {"age": np.array([True, False, True])})
    put("age", np.array([40, 50, 60]))
    put("sex", np.array([0, 0, 0]))   # no given values for this column: all replaced
    assert t.age.tolist() == [30, 50, 7] and t.sex.tolist() == [0, 0, 0]
    put = setter(t)
    put("age", np.array([1, 2, 3]))
    assert t.age.tolist() == [1, 2, 3]


def test_draw_ages_follow_the_weights_from_the_lowest_age():
    """Weights 1, 0, 3 over ages 0–2: age 0 drawn a quarter of the time, 2 the rest;
    from a lowest age of 2, only 2 (the lowest age itself is allowed)."""
    rng = np.random.default_rng(0)
    ages = _draw_ages(rng, np.array([1.0, 0.0, 3.0]), 4000)
    assert ages.dtype == np.int16 and set(ages.tolist()) == {0, 2}
    assert (ages == 0).mean() == pytest.approx(0.25, abs=0.03)
    assert set(_draw_ages(rng, np.array([1.0, 0.0, 3.0]), 50, 2).tolist()) == {2}


def test_open_end_marks_only_groups_reaching_the_open_end():
    assert (_open_end(119), _open_end(120), _open_end(150)) == (119, 1000, 1000)


@pytest.mark.parametrize("high", [3, 2**40])
def test_distinct_columns_are_numpys_unique_columns(high):
    """Small numbers, and numbers large enough that the mixed-radix key is re-ranked."""
    rng = np.random.default_rng(1)
    table = rng.integers(0, 3, (6, 200))
    table[2::2] *= high
    kinds, inverse, counts = _distinct_columns(table)
    want, want_inverse, want_counts = np.unique(table, axis=1, return_inverse=True,
                                                return_counts=True)
    assert np.array_equal(kinds, want) and np.array_equal(counts, want_counts)
    assert np.array_equal(inverse.ravel(), want_inverse.ravel())
    assert np.array_equal(kinds[:, inverse.ravel()], table)
