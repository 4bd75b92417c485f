"""Mortality, fertility and household formation behave as their sources say."""

import numpy as np
import pytest

from sim.pipeline import demography
from sim.population import CHILD, HEAD, SPOUSE, Persons
from sim.scenario import load_defaults

D = load_defaults().at(2016).demography


def test_life_expectancy_near_china_2020():
    women, men = demography.life_expectancy(0, D), demography.life_expectancy(1, D)
    assert 79.5 < women < 82.5 and 74 < men < 77
    assert 77 < (women + men) / 2 < 79


def test_mortality_rises_with_age_and_is_higher_for_men():
    ages = np.arange(30, 90)
    q_w = demography.death_probability(ages, np.zeros_like(ages), D)
    q_m = demography.death_probability(ages, np.ones_like(ages), D)
    assert (np.diff(q_w) > 0).all() and (q_m > q_w).all()


def test_fertility_integrates_to_tfr():
    ages = np.arange(0, 60)
    assert demography.birth_probability(ages, D).sum() == pytest.approx(
        D.fertility.total_fertility_rate)
    assert demography.birth_probability(np.array([14, 50]), D).sum() == 0


def test_crude_rates_near_liaoning(small_run):
    _, df = small_run
    city = df[(df.area == "panjin") & (df.category == "")].pivot(
        index="year", columns="indicator", values="value").dropna()
    cbr = (city.births / city.resident_population * 1000).mean()
    cdr = (city.deaths / city.resident_population * 1000).mean()
    # FACTS.md: Liaoning 6.4–6.5‰ births, 6.9–7.4‰ deaths (2017–2019); Dawa 5.1–5.8‰, 6.5–7‰
    assert 4.5 < cbr < 7.5
    assert 6.0 < cdr < 10.0


def _family(mother_hukou: int, father_hukou: int) -> Persons:
    p = Persons.empty(2)
    p.household[:] = 0
    p.role[:] = [HEAD, SPOUSE]
    p.sex[:] = [1, 0]
    p.married[:] = True
    p.hukou_area[:] = [father_hukou, mother_hukou]
    p.hukou_urban[:] = [True, False]
    return p


@pytest.mark.parametrize("mother,father,expected_area,expected_urban", [
    (2, 1, 2, False),    # mother's Panjin hukou first
    (-1, 1, 1, True),    # a migrant mother, Panjin father: the father's
    (-1, -1, -1, False),  # no Panjin parent: not Panjin hukou
])
def test_newborn_takes_a_panjin_parents_hukou(mother, father, expected_area, expected_urban):
    from sim.population import Households, State
    state = State(_family(mother, father), Households.empty(1), 2016, 2, 1)
    child = demography.newborns(state, np.array([1]), D, np.random.default_rng(0))
    assert child.hukou_area[0] == expected_area
    assert child.hukou_urban[0] == expected_urban
    assert child.role[0] == CHILD and child.age[0] == 0 and child.household[0] == 0


def test_spouse_index_pairs_head_and_spouse():
    p = _family(1, 1)
    assert demography.spouse_index(p).tolist() == [1, 0]
