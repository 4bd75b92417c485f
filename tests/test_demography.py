"""Mortality, fertility, partnering and household formation behave as their sources say.

Sources of the bands (sim/data/sources.toml): Liaoning life expectancy 78.88 (2017) and
78.97 (2019) [liaoning-health-reports]; China 2020 women 80.88, men 75.37
[nbs-census-2020]; Liaoning 2019 crude death rate 7.25‰ with 60+ 24.7% and 65+ 16.2%
[liaoning-bulletins]; Panjin 2010 census age structure [panjin-census-2010]; mean age at
first marriage 2020: men 29.38, women 27.95 [census-yearbook-2020-marriage].
"""

from types import SimpleNamespace as NS

import numpy as np
import pytest

from sim.model import UrbanizationModel
from sim.pipeline import demography
from sim.population import CHILD, HEAD, OWN, PARENT, RENT, SPOUSE, Households, Persons, State
from sim.scenario import load_defaults
from sim.synthesis import both_sexes_survivorship, load_base, single_year_weights
from tests.conftest import small_scenario

D = load_defaults().at(2016).demography
SEXES = (0, 1)
BIRTH_SHARE_MALE = 0.51  # weights of the sexes in a both-sexes life expectancy


def _with(**changes: object):
    """The default demography parameters of 2016 with some fields replaced
    (``_with(**{"partnering.rate_male": [1.0]})``)."""
    return load_defaults().with_overrides(
        {f"demography.{k}": v for k, v in changes.items()}).at(2016).demography


# ------------------------------------------------------------------ mortality

def test_life_expectancy_is_liaonings():
    women, men = demography.life_expectancy(0, D), demography.life_expectancy(1, D)
    both = BIRTH_SHARE_MALE * men + (1 - BIRTH_SHARE_MALE) * women
    assert 78.5 < both < 79.5          # Liaoning 78.88–78.97
    assert 4.5 < women - men < 6.5     # China 2020: 5.51


def test_the_steps_deaths_give_the_life_tables_life_expectancy():
    """Follow a birth cohort through the step's own rule (age, then die with
    `death_probability` at the age reached): its mean lifetime is the life table's e0.
    The old law's table evaluated the hazard half a year too early and overstated e0 by
    half a year, which made the model's deaths too many for its stated life expectancy."""
    for sex in SEXES:
        ages = np.arange(0, 111)
        q = demography.death_probability(ages, np.full(ages.size, sex), D)
        alive_end = np.cumprod(1 - q)          # alive at the end of calendar year k
        alive_start = np.r_[1.0, alive_end[:-1]]
        exposure = np.r_[0.5, np.ones(ages.size - 1)]  # born mid-year on average
        lifetime = float(((alive_start + alive_end) / 2 * exposure).sum())
        assert lifetime == pytest.approx(demography.life_expectancy(sex, D), abs=0.15)


def test_life_expectancy_counts_person_years_of_a_constant_hazard_by_hand():
    """A flat pattern of 100‰ at level 1: after the first year everyone dies at hazard 0.1,
    q = 1 − e^−0.1. With infant mortality 0.2, l(1) = 0.8 and l(k) = 0.8 (1 − q)^(k−1) up to
    k = 110. Person-years: l(1) + 0.1 × 0.2 in the first year (infants who die live a tenth
    of a year), then (l(k) + l(k+1)) / 2 for k = 1…109:
    0.82 + 0.8 × (1 + s) / 2 × Σ_{j<109} s^j with s = e^−0.1."""
    s_ = np.exp(-0.1)
    by_hand = 0.82 + 0.8 * (1 + s_) / 2 * (1 - s_ ** 109) / (1 - s_)
    e0 = demography._life_expectancy(1.0, (100.0,) * 20, 5, 0.2)
    assert e0 == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("sex, e0", [(0, "life_expectancy_female"), (1, "life_expectancy_male")])
def test_survivorship_of_each_sex_gives_its_published_life_expectancy(sex, e0):
    """Person-years under each sex's survivors l(x) (half a year in the year of death, a
    tenth for infants) are that sex's life expectancy of the parameters: the curve uses
    the sex's own rates and level."""
    survivors = demography.survivorship(sex, D)
    lived = (survivors[:-1] + survivors[1:]) / 2
    lived[0] = survivors[1] + 0.1 * D.mortality.infant
    assert lived.sum() == pytest.approx(getattr(D.mortality, e0), abs=1e-6)


def test_mortality_rises_with_age_and_is_higher_for_men():
    ages = np.arange(30, 90)
    q_w = demography.death_probability(ages, np.zeros_like(ages), D)
    q_m = demography.death_probability(ages, np.ones_like(ages), D)
    assert (np.diff(q_w) > 0).all() and (q_m > q_w).all()
    assert demography.death_probability(np.array([0]), np.array([1]), D)[0] == D.mortality.infant


def _standard_population(under_15: float, age_15_59: float, age_60_64: float,
                         over_65: float) -> tuple[np.ndarray, np.ndarray]:
    """Single-year weights (ages 0–110) from broad census shares: uniform within 0–14,
    15–59 and 60–64; 65+ shaped as the synthesis shapes the base data's local age shape
    (`single_year_weights`: smooth within bands, the open 85+ band by the life table)."""
    base = load_base()
    age = base["age"]
    ages = np.arange(demography.LIFE_TABLE_END + 1)
    shaped = single_year_weights(np.array(age["bands"]), np.array(age["local_shape"], float),
                                 both_sexes_survivorship(base, D))
    weight = np.zeros(ages.size)
    weight[:15] = under_15 / 15
    weight[15:60] = age_15_59 / 45
    weight[60:65] = age_60_64 / 5
    weight[65:] = shaped[65:] / shaped[65:].sum() * over_65
    return ages, weight


def _crude_death_rate(ages: np.ndarray, weight: np.ndarray) -> float:
    q = sum(demography.death_probability(ages, np.full(ages.size, s), D) for s in SEXES) / 2
    return float((q * weight).sum() / weight.sum() * 1000)


def test_crude_death_rate_of_liaonings_age_structure():
    """Liaoning 2019: 60+ 24.7%, 65+ 16.2%, crude death rate 7.25‰ (0–15 about 11%).
    The old Gompertz law gave 8.5‰ here."""
    cdr = _crude_death_rate(*_standard_population(0.11, 0.643, 0.085, 0.162))
    assert 7.25 * 0.85 < cdr < 7.25 * 1.15


def test_crude_death_rate_of_liaonings_2023_age_structure():
    """Liaoning 2023, after the 2020 census: 0–15 10.86%, 16–59 59.73%, 60+ 29.41%, crude
    death rate 9.69‰ [liaoning-bulletins-2021-2023] (2021: 8.91‰). The 65+ share is not
    published with it; Liaoning 2019's ratio (16.2 / 24.7 of 60+) is assumed. The life
    table sits between the published rates before the census (7.25‰, table 6% above) and
    after it (table 8% below): it is not too high for Liaoning, although Dawa District's
    registry counts 6.5–7.0‰ (docs/calibration.md, "What the forecast set cannot fit")."""
    over_60, over_65 = 0.2941, 0.2941 * 16.2 / 24.7
    cdr = _crude_death_rate(*_standard_population(0.1086, 0.5973, over_60 - over_65, over_65))
    assert 9.69 * 0.85 < cdr < 9.69
    before = _crude_death_rate(*_standard_population(0.11, 0.643, 0.085, 0.162))
    assert 7.25 < before


def test_crude_death_rate_of_panjins_2010_age_structure():
    """Panjin 2010 census: 0–14 12.71%, 15–59 74.20%, 60+ 13.09%, 65+ 8.04%. At today's
    mortality such a young population dies at well under Liaoning's 6.9–7.4‰ and under the
    5.5‰ that Panjin's older registered population (60+ 18.2%) had in the early 2010s."""
    cdr = _crude_death_rate(*_standard_population(0.1271, 0.7420, 0.0505, 0.0804))
    assert 3.5 < cdr < 5.5


# ------------------------------------------------------------------ fertility

def test_fertility_integrates_to_tfr():
    ages = np.arange(0, 60)
    assert demography.birth_probability(ages, D).sum() == pytest.approx(
        D.fertility.total_fertility_rate)
    assert demography.birth_probability(np.array([14, 50]), D).sum() == 0


def test_births_to_married_women_only_keep_the_tfr():
    """With births only to married women, a married woman's rate is the group's rate over
    the married share, so the women of all marital states together still have the TFR
    (the old code applied the all-women rate to married women only: births fell with the
    married share)."""
    ages = np.arange(0, 60)
    share = np.linspace(0.1, 0.9, len(D.fertility.age_shape))
    married_rate = demography.birth_probability(ages, D, share)
    group = demography.group_of(ages, D.fertility.first_age, len(share))
    fertile = demography.birth_probability(ages, D) > 0
    assert (married_rate * share[group] * fertile).sum() == pytest.approx(
        D.fertility.total_fertility_rate)


def test_crude_rates_in_the_sources_band(small_run):
    _, df = small_run
    city = df[(df.area == "panjin") & (df.category == "")].pivot(
        index="year", columns="indicator", values="value").dropna()
    cbr = city.births / city.resident_population * 1000
    cdr = city.deaths / city.resident_population * 1000
    # Liaoning 6.4–6.5‰ births, 6.9–7.4‰ deaths (2017–2019); Dawa 5.1–5.8‰, 6.5–7‰.
    # Deaths: the sources' range 6.5–7.4‰ for the 2016–2022 mean. Measured on the default
    # seed 7.26‰; seeds 1–4 gave 7.30, 7.12, 6.97, 7.69 (mean of the five 7.27‰): the
    # model's expectation is inside the range, the 1% sample's spread (about ±0.3‰ for a
    # 7-year mean of ~700 deaths) can leave it on another seed. The old model: 9.6–10.4‰.
    # Births: still the wide band (a 1% sample; not yet checked against 5.1–6.5‰ by seed).
    assert 4.0 < cbr.mean() < 8.0 and cbr.min() > 3.0
    assert 6.5 < cdr.mean() < 7.4


# ------------------------------------------------------------------ partnering

def _mean_age_at_first_marriage(rates, first_age: int, min_age: int) -> float:
    ages = np.arange(min_age, 50)
    r = np.asarray(rates)[demography.group_of(ages, first_age, len(rates))]
    single = np.cumprod(np.r_[1.0, 1 - r])[:-1]
    marrying = single * r
    return float((ages * marrying).sum() / marrying.sum() + 0.5)


@pytest.mark.parametrize("rates, census", [("rate_female", 27.95), ("rate_male", 29.38)])
def test_partnering_rates_give_the_censuss_age_at_first_marriage(rates, census):
    pr = D.partnering
    mean_age = _mean_age_at_first_marriage(getattr(pr, rates), pr.group_first_age,
                                           D.households.min_age)
    assert abs(mean_age - census) < 1.0


def _state(rows: list[dict], households: int) -> State:
    persons = Persons.empty(len(rows))
    persons.id[:] = np.arange(len(rows))
    persons.weight[:] = 1
    for i, row in enumerate(rows):
        for column, value in row.items():
            getattr(persons, column)[i] = value
    hh = Households.empty(households)
    hh.id[:] = np.arange(households)
    hh.income[:] = 10_000 * np.arange(1, households + 1)
    return State(persons, hh, 2016, len(rows), households)


def _everyone_looks():
    return _with(**{"partnering.rate_female": [1.0], "partnering.rate_male": [1.0]})


def _marry(state: State, d) -> Households:
    men, women = demography.find_couples(state.persons, d, np.random.default_rng(0))
    created = demography.move_in_together(state, men, women, d, np.random.default_rng(0))
    state.households = state.households.extend(created)
    demography.promote_heads(state)
    return created


def test_a_single_head_partners_and_the_woman_moves_into_his_household():
    """Two young movers living alone (one-person households, heads) in the same area:
    the old code let only adult children at home marry."""
    state = _state([dict(household=0, role=HEAD, sex=1, age=28, area=2, place=0),
                    dict(household=1, role=HEAD, sex=0, age=26, area=2, place=1,
                         residence_years=4)], 2)
    created = _marry(state, _everyone_looks())
    persons = state.persons
    assert len(created) == 0
    assert persons.married.all() and persons.household.tolist() == [0, 0]
    assert persons.role.tolist() == [HEAD, SPOUSE]
    assert persons.place[1] == 0 and persons.residence_years[1] == 0
    assert state.households.income.tolist() == [30_000, 0]  # her income moved with her


def test_a_mother_heading_her_household_keeps_it():
    state = _state([dict(household=0, role=CHILD, sex=1, age=30, area=1),
                    dict(household=0, role=HEAD, sex=1, age=58, area=1, married=True),
                    dict(household=1, role=HEAD, sex=0, age=29, area=1),
                    dict(household=1, role=CHILD, sex=1, age=4, area=1)], 2)
    _marry(state, _everyone_looks())
    persons = state.persons
    assert persons.household.tolist() == [1, 0, 1, 1]
    assert persons.role.tolist() == [SPOUSE, HEAD, HEAD, CHILD]


def test_two_adult_children_form_a_new_household_with_his_familys_land():
    state = _state([dict(household=0, role=CHILD, sex=1, age=27, area=0),
                    dict(household=0, role=HEAD, sex=1, age=55, area=0, married=True),
                    dict(household=1, role=CHILD, sex=0, age=25, area=0),
                    dict(household=1, role=HEAD, sex=0, age=52, area=0, married=True)], 2)
    state.households.contract_land[:] = [True, False]
    created = _marry(state, _everyone_looks())
    persons = state.persons
    assert len(created) == 1 and created.contract_land[0]
    assert created.tenure[0] in (OWN, RENT) and created.income[0] == pytest.approx(
        10_000 / 2 + 20_000 / 2)
    assert persons.household[[0, 2]].tolist() == [2, 2]
    assert persons.role[[0, 2]].tolist() == [HEAD, SPOUSE]
    assert persons.role[[1, 3]].tolist() == [HEAD, HEAD]


def test_no_pairs_within_a_household_across_areas_or_below_the_marriage_age():
    state = _state([dict(household=0, role=CHILD, sex=1, age=27, area=0),
                    dict(household=0, role=CHILD, sex=0, age=25, area=0),   # his sister
                    dict(household=1, role=HEAD, sex=0, age=26, area=1),    # another area
                    dict(household=2, role=HEAD, sex=0, age=D.households.min_age - 1,
                         area=0),                                            # too young
                    dict(household=3, role=HEAD, sex=1, age=30, area=-1)], 4)  # outside
    men, women = demography.find_couples(state.persons, _everyone_looks(),
                                         np.random.default_rng(0))
    assert len(men) == len(women) == 0


def test_partnering_starts_at_the_marriage_age_for_single_residents():
    """Rate 1 at every age: a single resident looks from ``households.min_age`` on, not a
    year earlier; not when married, nor when living outside Panjin."""
    d = _everyone_looks()
    age = d.households.min_age
    state = _state([dict(age=age - 1), dict(age=age), dict(age=age, sex=1),
                    dict(age=age + 5, married=True), dict(age=age + 5, area=-1)], 1)
    assert demography.partnering_rate(state.persons, d).tolist() == [0, 1, 1, 0, 0]


def test_the_age_gap_and_the_largest_difference_decide_a_pair():
    """Age gap 2, largest difference 5: a man of 30 and a woman of 24 are 30 − 2 − 24 = 4
    apart and pair; a man of 31 and a woman of 24 are 5 apart and pair; 32 and 24 do not."""
    d = NS(partnering=NS(age_gap=2, max_age_difference=5))
    for man, paired in ((30., True), (31., True), (32., False)):
        men, women = demography.pair_by_age(np.array([man]), np.array([24.]), d)
        assert (men.tolist(), women.tolist()) == (([0], [0]) if paired else ([], []))


def test_only_seekers_of_one_area_pair_and_each_draws_whether_to_look():
    """A single man of 27 and a married woman of 25 (another household) in area 0: no pair.
    Then 40 single men and 40 single women of 25, each in a household of their own, all in
    area 1, looking at a rate of one half: some couples form, and not every seeker's."""
    state = _state([dict(household=0, sex=1, age=27, area=0),
                    dict(household=1, sex=0, age=25, area=0, married=True)], 2)
    men, women = demography.find_couples(state.persons, _everyone_looks(),
                                         np.random.default_rng(0))
    assert len(men) == len(women) == 0
    state = _state([dict(household=k, sex=k % 2, age=25, area=1) for k in range(80)], 80)
    half = _with(**{"partnering.rate_female": [0.5], "partnering.rate_male": [0.5]})
    men, women = demography.find_couples(state.persons, half, np.random.default_rng(0))
    assert 5 < len(men) < 35 and (state.persons.sex[men] == 1).all()
    assert (state.persons.sex[women] == 0).all()


def test_new_households_of_couples_each_get_their_own_id_row_and_draws():
    """Forty couples of adult children living with their parents form forty new households:
    ids and rows follow the existing ones in order, each draws its tenure (a share of one
    half owns) and its landlord draw. A woman moving into her husband's household in the
    same area and place keeps her years of residence; one coming from another place
    restarts them."""
    rows, n = [], 40
    for k in range(n):
        rows += [dict(household=2 * k, role=HEAD, sex=1, age=55, married=True, area=0),
                 dict(household=2 * k, role=CHILD, sex=1, age=25, area=0),
                 dict(household=2 * k + 1, role=HEAD, sex=0, age=52, married=True, area=0),
                 dict(household=2 * k + 1, role=CHILD, sex=0, age=25, area=0)]
    state = _state(rows, 2 * n)
    state.next_household_id = 500
    men, women = np.arange(1, 4 * n, 4), np.arange(3, 4 * n, 4)
    created = demography.move_in_together(state, men, women, _with(), np.random.default_rng(0))
    assert created.id.tolist() == list(range(500, 500 + n))
    assert sorted(state.persons.household[men].tolist()) == list(range(2 * n, 3 * n))
    assert (state.persons.household[men] == state.persons.household[women]).all()
    assert 0 < (created.tenure == OWN).sum() < n
    assert len(np.unique(created.landlord_draw)) == n
    assert ((created.landlord_draw >= 0) & (created.landlord_draw < 1)).all()

    state = _state([dict(household=0, role=HEAD, sex=1, age=30, area=3, place=1),
                    dict(household=1, role=HEAD, sex=0, age=28, area=3, place=1,
                         residence_years=6),
                    dict(household=2, role=HEAD, sex=1, age=30, area=3, place=1),
                    dict(household=3, role=HEAD, sex=0, age=28, area=3, place=0,
                         residence_years=6)], 4)
    demography.move_in_together(state, np.array([0, 2]), np.array([1, 3]), _with(),
                                np.random.default_rng(0))
    assert state.persons.household.tolist() == [0, 0, 2, 2]
    assert state.persons.residence_years.tolist() == [0, 6, 0, 0]


def test_pairs_by_age_rank_and_drops_distant_pairs():
    d = NS(partnering=NS(age_gap=2, max_age_difference=5))
    men, women = demography.pair_by_age(np.array([40., 25., 31., 33.]), np.array([29., 23.]), d)
    assert sorted(zip(men.tolist(), women.tolist(), strict=True)) == [(1, 1), (2, 0)]
    men, women = demography.pair_by_age(np.array([60.]), np.array([25.]), d)
    assert len(men) == 0


def test_married_share_of_young_women_holds_over_15_years():
    """The old model's married share of women 25–34 fell from 0.62 to 0.43 by 2030:
    young movers became heads who never partnered."""
    model = UrbanizationModel(small_scenario(**{"run.scale": 0.004, "run.end_year": 2030}))

    def married_share() -> float:
        persons = model.state.persons
        women = (persons.sex == 0) & (persons.age >= 25) & (persons.age < 35) & \
            (persons.area >= 0)
        return float(persons.married[women].mean())

    base = married_share()
    model.run()
    assert married_share() > 0.85 * base


# ------------------------------------------------------------------ newborns, households

def _family(mother_hukou: int, father_hukou: int) -> Persons:
    persons = Persons.empty(2)
    persons.household[:] = 0
    persons.role[:] = [HEAD, SPOUSE]
    persons.sex[:] = [1, 0]
    persons.married[:] = True
    persons.hukou_area[:] = [father_hukou, mother_hukou]
    persons.hukou_urban[:] = [True, False]
    return persons


@pytest.mark.parametrize("mother,father,expected_area,expected_urban", [
    (2, 1, 2, False),    # mother's Panjin hukou first
    (-1, 1, 1, True),    # a migrant mother, Panjin father: the father's
    (-1, -1, -1, False),  # no Panjin parent: not Panjin hukou
    (0, 1, 0, False),    # a mother of area 0 is a Panjin parent
    (-1, 0, 0, True),    # so is a father of area 0
])
def test_newborn_takes_a_panjin_parents_hukou(mother, father, expected_area, expected_urban):
    state = State(_family(mother, father), Households.empty(1), 2016, 2, 1)
    child = demography.newborns(state, np.array([1]), D, np.random.default_rng(0))
    assert child.hukou_area[0] == expected_area
    assert child.hukou_urban[0] == expected_urban
    assert child.role[0] == CHILD and child.age[0] == 0 and child.household[0] == 0


def test_spouse_index_pairs_head_and_spouse():
    assert demography.spouse_index(_family(1, 1)).tolist() == [1, 0]


def test_spouse_index_is_minus_one_without_a_partner_in_the_household():
    """A married head living apart from his wife, a widowed mother, the couple's married
    child (a child is nobody's partner here), then a couple: only the couple pairs."""
    persons = Persons.empty(5)
    persons.household[:] = [0, 1, 1, 2, 2]
    persons.role[:] = [HEAD, HEAD, CHILD, SPOUSE, HEAD]
    persons.married[:] = [True, False, True, True, True]
    assert demography.spouse_index(persons).tolist() == [-1, -1, -1, 4, 3]
    assert demography.spouse_index(Persons.empty(0)).tolist() == []


def test_each_newborns_sex_is_drawn_on_its_own():
    """Forty mothers: the 40 children are not all of one sex (a single draw for all would
    make them so), and boys are about the share at birth."""
    persons = Persons.empty(40)
    persons.household[:] = np.arange(40)
    persons.sex[:] = 0
    state = State(persons, Households.empty(40), 2016, 40, 40)
    child = demography.newborns(state, np.arange(40), D, np.random.default_rng(0))
    assert 0.25 < child.sex.mean() < 0.8
    assert child.id.tolist() == list(range(40, 80))


def test_a_household_that_lost_its_head_gets_its_oldest_member():
    state = _state([dict(household=0, role=CHILD, age=20), dict(household=0, role=CHILD, age=50),
                    dict(household=1, role=HEAD, age=30)], 2)
    demography.promote_heads(state)
    assert state.persons.role.tolist() == [CHILD, HEAD, HEAD]


def test_step_flows_are_the_persons_it_removes_and_adds():
    """One year of `demography.step` on a small synthetic city, its flows checked against the
    persons themselves: the dead are the ids that disappear, counted by area of residence
    (``deaths``) and by hukou area (``registered_deaths``); the surviving newborns are the
    new ids, aged 0; what ``births`` counts beyond them are infants who died, and exactly
    those are the rest of ``deaths`` (area) and ``registered_deaths`` (hukou area).
    Everyone else is a year older. Infant mortality is raised to its bound, one in ten, so that some
    infants die."""
    from sim.areas import load_areas
    from sim.synthesis import synthesize

    state, _ = synthesize(0.003, np.random.default_rng(5))
    before = state.persons
    ids, age = before.id.copy(), before.age.copy()
    area, hukou_area, w = before.area.copy(), before.hukou_area.copy(), before.weight.copy()
    p = load_defaults().with_overrides({"demography.mortality.infant": 0.1}).at(2016)
    flows = demography.step(state, p, np.random.default_rng(7))
    after = state.persons
    n = len(load_areas())

    def by(where: np.ndarray, mask: np.ndarray, weight: np.ndarray) -> np.ndarray:
        inside = mask & (where >= 0)
        return np.bincount(where[inside], weight[inside].astype(float), minlength=n)

    died = ~np.isin(ids, after.id)
    born = ~np.isin(after.id, ids)
    # some die away from their hukou area, so the two death flows must differ (the last
    # assert); a draw without such a death would leave it untested
    assert born.any() and (area[died] != hukou_area[died]).any()
    assert (after.age[born] == 0).all()
    old = np.searchsorted(ids, after.id[~born]) if (np.diff(ids) > 0).all() else None
    assert old is not None  # ids are increasing, so a search finds each survivor's row
    assert (after.age[~born] == age[old] + 1).all()
    infant_by_area = flows["births", ""] - by(after.area, born, after.weight)
    infant_by_hukou = flows["registered_births", ""] - by(after.hukou_area, born, after.weight)
    assert (infant_by_area >= 0).all() and 0 < infant_by_area.sum() < flows["births", ""].sum()
    np.testing.assert_allclose(flows["deaths", ""], by(area, died, w) + infant_by_area)
    np.testing.assert_allclose(flows["registered_deaths", ""],
                               by(hukou_area, died, w) + infant_by_hukou)
    assert not np.allclose(flows["deaths", ""], flows["registered_deaths", ""])


# ------------------------------------------------------------------ the yearly step

FEMALE, MALE = 0, 1
# births certain at 25–29 and impossible elsewhere: the whole schedule in one group and a
# TFR of 5 give 5 × 1/1 / 5 = 1 birth per woman-year (`fertility_rates`)
BIRTHS_AT_25_29 = {"fertility.age_shape": [0, 0, 1, 0, 0, 0, 0],
                   "fertility.total_fertility_rate": 5.0}


def _year(**changes: object):
    """The parameters of 2016 with no births and no partnering unless ``changes`` (dotted
    names under ``demography.``) say otherwise: each test turns on the rule it checks."""
    quiet = {"fertility.total_fertility_rate": 0.0, "partnering.rate_female": [0.0],
             "partnering.rate_male": [0.0]}
    return load_defaults().with_overrides(
        {f"demography.{k}": v for k, v in {**quiet, **changes}.items()}).at(2016)


def _deaths_at(monkeypatch, doomed: set[tuple[int, int]]) -> None:
    """Death within the year certain for the (sex, age) pairs in ``doomed`` (the age after
    the step's ageing; 0 = a newborn) and impossible otherwise. The life table is still
    computed from what the step passes, so passing the wrong arguments fails."""
    table = demography.death_probability

    def forced(age: np.ndarray, sex: np.ndarray, d) -> np.ndarray:
        table(age, sex, d)
        pairs = zip(np.asarray(sex).tolist(), np.asarray(age).tolist(), strict=True)
        return np.array([pair in doomed for pair in pairs], float)

    monkeypatch.setattr(demography, "death_probability", forced)


def test_step_ages_everyone_and_counts_the_dead_by_residence_and_by_hukou_area(monkeypatch):
    """Everyone reaching 80 dies, nobody else. Deaths by area of residence: area 1 the head
    of household 0 (weight 2), area 2 the migrant (weight 3), area 4 the grandfather (1); the
    woman living outside is no resident's death. Registered deaths by hukou area: area 1: 2,
    area 3 the woman living outside (1), area 4: 1; the migrant has no Panjin hukou.
    The widow of household 0 is no longer married and, its oldest member, heads it; in
    household 3 (first rows: the head's partner is row 0) the grandmother is widowed while
    the couple stays married; a married man living without his wife stays married."""
    _deaths_at(monkeypatch, {(MALE, 80), (FEMALE, 80)})
    state = _state([
        dict(household=3, role=HEAD, sex=1, age=60, married=True, area=4, hukou_area=4),
        dict(household=3, role=SPOUSE, sex=0, age=58, married=True, area=4, hukou_area=4),
        dict(household=3, role=PARENT, sex=1, age=79, married=True, area=4, hukou_area=4),
        dict(household=3, role=PARENT, sex=0, age=77, married=True, area=4, hukou_area=4),
        dict(household=0, role=HEAD, sex=1, age=79, married=True, area=1, hukou_area=1, weight=2),
        dict(household=0, role=SPOUSE, sex=0, age=75, married=True, area=1, hukou_area=1,
             weight=2),
        dict(household=0, role=CHILD, sex=1, age=45, area=1, hukou_area=1, weight=2),
        dict(household=1, role=HEAD, sex=0, age=79, area=-1, hukou_area=3),
        dict(household=2, role=HEAD, sex=1, age=79, area=2, hukou_area=-1, weight=3),
        dict(household=4, role=HEAD, sex=1, age=40, married=True, area=0, hukou_area=-1),
    ], 5)
    flows = demography.step(state, _year(), np.random.default_rng(0))
    persons = state.persons
    assert persons.id.tolist() == [0, 1, 3, 5, 6, 9]
    assert persons.age.tolist() == [61, 59, 78, 76, 46, 41]
    assert persons.married.tolist() == [True, True, False, False, False, True]
    assert persons.role.tolist() == [HEAD, SPOUSE, PARENT, HEAD, CHILD, HEAD]
    assert sorted(flows) == [("births", ""), ("deaths", ""), ("registered_births", ""),
                             ("registered_deaths", "")]
    assert flows["deaths", ""].tolist() == [0, 2, 3, 0, 1]
    assert flows["registered_deaths", ""].tolist() == [0, 2, 0, 1, 1]
    assert flows["births", ""].tolist() == flows["registered_births", ""].tolist() == [0] * 5
    assert (len(state.households), state.next_person_id, state.next_household_id) == (5, 10, 5)


def test_step_of_an_empty_population_has_no_events():
    state = State(Persons.empty(0), Households.empty(0), 2016, 0, 0)
    flows = demography.step(state, _year(**BIRTHS_AT_25_29), np.random.default_rng(0))
    assert all(v.tolist() == [0] * 5 for v in flows.values()) and len(flows) == 4
    assert len(state.persons) == len(state.households) == 0


def _couples_and_women() -> State:
    """Women of every case of the birth rule, ages before the step's ageing: row 1 (26,
    married, weight 2, Panjin rural hukou of area 2 in village 7, a migrant husband) and
    row 3 (24, a migrant married to a Panjin urban man of area 3) reach 25–29; row 4 (26)
    is single; rows 6 and 8 reach 30 and 24; row 10 lives outside Panjin; row 12 reaches 28;
    row 13 is a married man of 27 (living apart from his wife).
    The married share of the women of 25–29 living in Panjin is (2 + 1 + 1) / 5 = 0.8."""
    origin_other = 2
    return _state([
        dict(household=0, role=HEAD, sex=1, age=30, married=True, area=0, hukou_area=-1,
             origin=origin_other),
        dict(household=0, role=SPOUSE, sex=0, age=26, married=True, area=0, place=2,
             hukou_area=2, village=7, weight=2),
        dict(household=1, role=HEAD, sex=1, age=32, married=True, area=3, hukou_area=3,
             hukou_urban=True),
        dict(household=1, role=SPOUSE, sex=0, age=24, married=True, area=3, place=1,
             hukou_area=-1, origin=origin_other),
        dict(household=2, role=HEAD, sex=0, age=26, area=2, hukou_area=2, village=5),
        dict(household=3, role=HEAD, sex=1, age=40, married=True, area=1, hukou_area=1),
        dict(household=3, role=SPOUSE, sex=0, age=29, married=True, area=1, hukou_area=1),
        dict(household=4, role=HEAD, sex=1, age=30, married=True, area=1, hukou_area=1),
        dict(household=4, role=SPOUSE, sex=0, age=23, married=True, area=1, hukou_area=1),
        dict(household=5, role=HEAD, sex=1, age=33, married=True, area=-1, hukou_area=1),
        dict(household=5, role=SPOUSE, sex=0, age=26, married=True, area=-1, hukou_area=1),
        dict(household=6, role=HEAD, sex=1, age=35, married=True, area=4, hukou_area=4),
        dict(household=6, role=SPOUSE, sex=0, age=27, married=True, area=4, hukou_area=4),
        dict(household=7, role=HEAD, sex=1, age=26, married=True, area=0, hukou_area=0),
    ], 8)


@pytest.mark.parametrize("infants_die", [False, True])
def test_births_go_to_married_women_of_fertile_age_living_in_panjin(monkeypatch, infants_die):
    """Births certain at 25–29 (a married woman's rate 1 / 0.8, capped at 1), the woman
    reaching 28 dies. Children of rows 1 and 3 only: ids 14 and 15, in their mothers'
    household, area and place, weight and hukou (row 1's own; row 3's from her Panjin
    husband). Births by area: 2 in area 0, 1 in area 3; registered: 2 in area 2, 1 in area
    3. When every newborn dies in its first year, both still count as births, their deaths
    add to the deaths by area and by hukou area, and their ids are not reused."""
    _deaths_at(monkeypatch, {(FEMALE, 28)} | ({(FEMALE, 0), (MALE, 0)} if infants_die else set()))
    state = _couples_and_women()
    flows = demography.step(state, _year(**BIRTHS_AT_25_29), np.random.default_rng(0))
    assert flows["births", ""].tolist() == [2, 0, 0, 1, 0]
    assert flows["registered_births", ""].tolist() == [0, 0, 2, 1, 0]
    infants = np.array([2, 0, 0, 1, 0]) if infants_die else np.zeros(5)
    registered_infants = np.array([0, 0, 2, 1, 0]) if infants_die else np.zeros(5)
    assert flows["deaths", ""].tolist() == (infants + [0, 0, 0, 0, 1]).tolist()
    assert flows["registered_deaths", ""].tolist() == (registered_infants + [0, 0, 0, 0, 1]
                                                       ).tolist()
    assert state.next_person_id == 16
    persons = state.persons
    assert 12 not in persons.id and not persons.married[persons.id == 11].any()  # widowed
    new = persons.id >= 14
    if infants_die:
        assert not new.any()
        return
    child = persons.take(new)
    assert child.id.tolist() == [14, 15]
    assert child.age.tolist() == [0, 0] and (child.role == CHILD).all()
    assert not child.married.any()
    assert child.household.tolist() == [0, 1]
    assert child.weight.tolist() == [2, 1]
    assert child.area.tolist() == [0, 3] and child.place.tolist() == [2, 1]
    assert child.hukou_area.tolist() == [2, 3] and child.hukou_urban.tolist() == [False, True]
    assert child.village.tolist() == [7, -1] and child.origin.tolist() == [0, 0]


def test_without_married_only_every_woman_of_fertile_age_in_panjin_gives_birth(monkeypatch):
    """`fertility.married_only` off: the single woman of row 4 (27) has a child too, in her
    household, with her hukou (area 2, village 5); still none outside the ages, outside
    Panjin, or to the woman who dies."""
    _deaths_at(monkeypatch, {(FEMALE, 28)})
    state = _couples_and_women()
    flows = demography.step(state, _year(**BIRTHS_AT_25_29, **{"fertility.married_only": False}),
                            np.random.default_rng(0))
    assert flows["births", ""].tolist() == [2, 0, 1, 1, 0]
    assert flows["registered_births", ""].tolist() == [0, 0, 3, 1, 0]
    child = state.persons.take(state.persons.id >= 14)
    assert child.household.tolist() == [0, 1, 2]
    assert child.village.tolist() == [7, -1, 5]


def test_a_married_womans_birth_rate_divides_by_the_weighted_married_share(monkeypatch):
    """Rate 0.5 a year at 45–49 (TFR 2.5); six married women of 46 (weight 1 each) and one
    single woman of 46 (weight 6): the weighted married share 0.5 makes a married woman's
    rate 1, so all six have a child. An older married woman (60, weight 100) is outside the
    age groups: counting her in the last group (share 106/112) would leave the rate near 0.53
    and most of the six childless."""
    _deaths_at(monkeypatch, set())
    rows = []
    for k in range(6):
        rows += [dict(household=k, role=HEAD, sex=1, age=50, married=True, area=0),
                 dict(household=k, role=SPOUSE, sex=0, age=46, married=True, area=0)]
    rows += [dict(household=6, role=HEAD, sex=0, age=46, area=0, weight=6),
             dict(household=7, role=HEAD, sex=0, age=60, married=True, area=0, weight=100)]
    state = _state(rows, 8)
    p = _year(**{"fertility.age_shape": [0, 0, 0, 0, 0, 0, 1],
                 "fertility.total_fertility_rate": 2.5})
    flows = demography.step(state, p, np.random.default_rng(1))
    child = state.persons.take(state.persons.age == 0)
    assert flows["births", ""].tolist() == [6, 0, 0, 0, 0]
    assert sorted(child.household.tolist()) == list(range(6))


def test_married_share_by_group_is_weighted_and_counts_the_fertile_ages_only():
    """Groups 15–19, 20–24, …, 45–49. Women in the mask: 17 married (weight 2) and 18 single
    (1): 2/3; 26 and 27 married: 1; 32 married, alone in her group with weight 1 (a whole
    city's weight): 1; 47 single (weight 3) and 49 married (1): 1/4; nobody in 20–24 or
    35–44: 0. A girl of 10, a married woman of 60, a married man of 26 and a married woman of
    26 outside the mask count nowhere."""
    state = _state([dict(sex=0, age=17, married=True, weight=2), dict(sex=0, age=18),
                    dict(sex=0, age=26, married=True), dict(sex=0, age=27, married=True),
                    dict(sex=0, age=32, married=True),
                    dict(sex=0, age=47, weight=3), dict(sex=0, age=49, married=True),
                    dict(sex=0, age=10), dict(sex=0, age=60, married=True),
                    dict(sex=1, age=26, married=True), dict(sex=0, age=26, married=True)], 1)
    persons = state.persons
    mask = (persons.sex == 0) & (np.arange(len(persons)) != 10)
    share = demography.married_share_by_group(persons, mask, D)
    np.testing.assert_allclose(share, [2 / 3, 0, 1, 1, 0, 0, 1 / 4])
    share = demography.married_share_by_group(persons, mask & (persons.age < 30), D)
    np.testing.assert_allclose(share, [2 / 3, 0, 1, 0, 0, 0, 0])


def test_a_married_womans_rate_is_zero_where_no_woman_is_married_and_at_most_one():
    """A married woman's rate is the group's rate over the married share: a share of 0
    leaves it 0 (no married woman there to have it), a tiny share caps it at 1."""
    ages = np.array([17, 22, 27, 32])
    share = np.array([0.0, 1e-9, 0.5, 1.0, 1.0, 1.0, 1.0])
    rate = demography.fertility_rates(D)
    np.testing.assert_allclose(demography.birth_probability(ages, D, share),
                               [0.0, 1.0, rate[2] / 0.5, rate[3]])


def test_step_pairs_single_adults_into_new_and_existing_households(monkeypatch):
    """Partnering certain at 20–34 (after ageing), impossible from 35; nobody dies, no
    births. In area 0 two adult children living with their parents marry into a new
    household (row 4 of the table, id 4), headed by him, with his family's contracted land
    and owning its home (share 1). In area 2 a single head living with his mother marries a
    single mother heading her household: he moves into hers as her spouse, and his mother
    heads the household he left."""
    _deaths_at(monkeypatch, set())
    state = _state([
        dict(household=0, role=HEAD, sex=1, age=55, married=True, area=0),
        dict(household=0, role=SPOUSE, sex=0, age=53, married=True, area=0),
        dict(household=0, role=CHILD, sex=1, age=25, area=0),
        dict(household=1, role=HEAD, sex=1, age=52, married=True, area=0),
        dict(household=1, role=SPOUSE, sex=0, age=50, married=True, area=0),
        dict(household=1, role=CHILD, sex=0, age=23, area=0),
        dict(household=2, role=HEAD, sex=1, age=30, area=2, place=0),
        dict(household=2, role=PARENT, sex=0, age=60, area=2, place=0),
        dict(household=3, role=HEAD, sex=0, age=29, area=2, place=1),
        dict(household=3, role=CHILD, sex=1, age=4, area=2, place=1),
    ], 4)
    state.households.contract_land[:] = [True, False, False, False]
    looks = [1.0, 1.0, 1.0, 0.0]
    p = _year(**{"partnering.rate_female": looks, "partnering.rate_male": looks,
                 "households.new_household_owns_share": 1.0})
    demography.step(state, p, np.random.default_rng(0))
    persons = state.persons
    assert persons.household.tolist() == [0, 0, 4, 1, 1, 4, 3, 2, 3, 3]
    assert persons.role.tolist() == [HEAD, SPOUSE, HEAD, HEAD, SPOUSE, SPOUSE, SPOUSE, HEAD,
                                     HEAD, CHILD]
    assert persons.married.tolist() == [True] * 7 + [False, True, False]
    assert persons.place[6] == 1
    assert (len(state.households), state.next_household_id) == (5, 5)
    new = state.households.take(np.array([4]))
    assert new.id.tolist() == [4] and new.contract_land.tolist() == [True]
    assert new.tenure.tolist() == [OWN]
