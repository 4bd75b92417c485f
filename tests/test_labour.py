"""Labour market, pensions and the cost counterfactual (issue 9, items 5–8).

Each test is one error the model made before: everyone aged 60+ drawing the residents'
pension; insurance years reset on job loss; the self-employed unable to enrol; farmers
farming for ever; a settler's newborn missing from the incremental cost; 低保 take-up set
by hukou instead of income; investment met by a hash of the person id.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.pipeline import life_course
from sim.pipeline import services as sv
from sim.population import (
    CHILD,
    EMPLOYED,
    FARMING,
    HEAD,
    LIAONING,
    NONE,
    NOT_WORKING,
    PANJIN,
    SELF_EMPLOYED,
    SPOUSE,
    URBAN_DISTRICT,
    VILLAGE,
)
from sim.synthesis import load_base, synthesize
from tests.factories import make_state, params

YEAR = 2020
NEVER = {"life_course.work.job_loss_rate": 0.0, "life_course.work.entry_rate": 0.0,
         "life_course.work.contract_rate": 0.0, "life_course.work.farming_exit_rate": 0.0,
         "life_course.work.farming_exit_rate_in_town": 0.0,
         "life_course.work.insurance_enrolment_rate": 0.0,
         "life_course.work.flexible_enrolment_rate": 0.0,
         "life_course.enterprise.founding_rate": 0.0}
"""Every yearly transition switched off: a test switches on the one it looks at."""


def year_of_work(state, **rates):
    life_course.work_transitions(state, params(YEAR, **{**NEVER, **rates}).life_course,
                                 np.random.default_rng(1))


@pytest.fixture(scope="module")
def population():
    state, _ = synthesize(scale=0.01, rng=np.random.default_rng(7))
    return state


# ------------------------------------------------------------------ pensions (item 5)

def test_share_of_60_plus_on_residents_pension_is_within_the_sourced_band(population):
    """Liaoning 2010: 4.727 million employee-pension retirees [nbs-yearbook-2011-pension]
    against 6.751 million aged 60+ [liaoning-census-2010]: 0.70 per person aged 60+. Some
    retirees are under 60 (women retire at 50–55), up to about 30% of them, so 49–70% of
    the 60+ hold an employee pension and at most 51% can draw the residents' pension; with
    take-up 0.95 at least (1 − 0.70) × 0.95 ≈ 0.28 of the locals do. Panjin (oil field,
    state farms) is more urban than Liaoning, so its share is not above the province's.
    Before this test the model had 92%."""
    s = population
    t = s.persons
    old = (t.area >= 0) & (t.age >= 60)
    use, _ = sv.use_and_unit_cost(s, params(2016), "residents_pension", sv.status_of(s))
    w = t.weight.astype(float)
    share = (use * w)[old].sum() / w[old].sum()
    assert 0.2 <= share <= 0.51


def test_pensioners_have_a_frozen_record_of_at_least_15_years(population):
    t = population.persons
    minimum = load_base()["pension"]["minimum_contribution_years"]
    assert t.employee_pension.any()
    assert (t.insurance_years[t.employee_pension] >= minimum).all()
    assert not t.insured[t.employee_pension].any()
    assert not t.employee_pension[t.age < 50].any()


def test_residents_pension_and_medical_subsidy_only_without_employee_insurance():
    s = make_state(4, age=[70, 70, 40, 40], employee_pension=[True, False, False, False],
                   insured=[False, False, True, False], insurance_years=[30, 0, 5, 5])
    p = params(YEAR)
    status = sv.status_of(s)
    pension = sv.use_and_unit_cost(s, p, "residents_pension", status)[0] > 0
    medical = sv.use_and_unit_cost(s, p, "medical_insurance", status)[0] > 0
    assert pension.tolist() == [False, True, False, False]
    # a retiree keeps the employees' medical insurance; a worker who lost the insured job
    # (years kept, not contributing) falls back on the residents' scheme
    assert medical.tolist() == [False, True, False, True]


def test_retirement_freezes_years_and_gives_a_pension_only_with_enough_of_them():
    s = make_state(3, age=60, sex=1, employment=EMPLOYED, labour_contract=True,
                   insured=True, insurance_years=[15, 14, 30])
    year_of_work(s)
    t = s.persons
    assert (t.employment == NOT_WORKING).all() and not t.insured.any()
    assert t.insurance_years.tolist() == [15, 14, 30]
    assert t.employee_pension.tolist() == [True, False, True]


# ------------------------------------------------------------- labour market (item 6)

def test_insurance_years_survive_job_loss_and_count_on_after_a_new_job():
    s = make_state(1, employment=EMPLOYED, labour_contract=True, insured=True,
                   insurance_years=6, job_years=6)
    year_of_work(s, **{"life_course.work.job_loss_rate": 1.0})
    t = s.persons
    assert t.employment[0] == NOT_WORKING and not t.insured[0]
    assert t.insurance_years[0] == 6 and t.job_years[0] == 0
    year_of_work(s, **{"life_course.work.entry_rate": 1.0,
                       "life_course.work.self_employed_share": 0.0,
                       "life_course.work.contract_share_new_jobs": 1.0,
                       "life_course.work.insurance_enrolment_rate": 1.0})
    assert t.insured[0] and t.insurance_years[0] == 7


def test_early_retirees_do_not_look_for_work():
    s = make_state(2, age=52, employee_pension=[True, False], insurance_years=[20, 0])
    year_of_work(s, **{"life_course.work.entry_rate": 1.0})
    assert s.persons.employment[0] == NOT_WORKING and s.persons.employment[1] != NOT_WORKING


def test_a_self_employed_person_can_become_insured():
    s = make_state(2, employment=SELF_EMPLOYED)
    year_of_work(s, **{"life_course.work.flexible_enrolment_rate": 1.0})
    assert s.persons.insured.all() and (s.persons.insurance_years == 1).all()


def test_self_employed_insured_share_does_not_collapse(population):
    """Before: 13% → 3% by 2030, because only contract employees could enrol."""
    s = population
    t = s.persons
    inside = t.area >= 0
    p = params(2016)
    rng = np.random.default_rng(3)
    before = t.insured[inside & (t.employment == SELF_EMPLOYED)].mean()
    for _ in range(10):
        life_course.work_transitions(s, p.life_course, rng)
        t.age[:] += 1
    after = t.insured[inside & (t.employment == SELF_EMPLOYED)].mean()
    assert after > 0.6 * before


def test_farmers_leave_farming_faster_in_town_and_stop_at_old_age():
    s = make_state(3, employment=FARMING, place=[VILLAGE, URBAN_DISTRICT, VILLAGE],
                   age=[40, 40, 65])
    year_of_work(s, **{"life_course.work.farming_exit_rate_in_town": 1.0})
    assert s.persons.employment.tolist() == [FARMING, s.persons.employment[1], NOT_WORKING]
    assert s.persons.employment[1] in (EMPLOYED, SELF_EMPLOYED)


def test_new_employers_are_sometimes_individual_businesses():
    s = make_state(4000, employment=NOT_WORKING)
    year_of_work(s, **{"life_course.work.entry_rate": 1.0})
    t = s.persons
    employee = t.employment == EMPLOYED
    share = params(YEAR).life_course.work.legal_person_employer_share
    assert t.legal_person_employer[employee].mean() == pytest.approx(share, abs=0.03)
    assert not t.legal_person_employer[~employee].any()


# ------------------------------------------------------- cost counterfactual (item 7)

def settler_family(child_age: int) -> object:
    """A migrant couple from Liaoning who settled in 2018 (urban hukou now) and their child
    aged ``child_age`` in 2020, who was never a settler."""
    s = make_state(3, year=YEAR, household=[0, 0, 0], role=[HEAD, SPOUSE, CHILD],
                   age=[30, 30, child_age], hukou_urban=True, village=NONE, origin=LIAONING,
                   settled_year=[2018, 2018, NONE], place=URBAN_DISTRICT)
    s.households.income[:] = 1e6
    return s


def test_a_settlers_newborn_counts_in_the_incremental_cost():
    born_after = settler_family(child_age=1)
    assert sv.born_to_settlers(born_after).tolist() == [False, False, True]
    assert sv.counterfactual_status(born_after)[2] == sv.NO_PERMIT
    flows = sv.step(born_after, params(YEAR))
    assert flows["incremental_cost", "medical_insurance"].sum() == pytest.approx(
        3 * sv.use_and_unit_cost(born_after, params(YEAR), "medical_insurance",
                                 sv.status_of(born_after))[1][0]
        * params(YEAR).services.medical_insurance.take_up)
    born_before = settler_family(child_age=5)  # older: was no settler, so a local before
    assert not sv.born_to_settlers(born_before).any()


def test_dibao_take_up_follows_income_not_hukou():
    """Same income, same place: urban and rural hukou holders take 低保 up alike; above the
    standard nobody does; so settling at equal income cannot lower the expected cost."""
    p = params(YEAR)
    ps = p.services.minimum_living_allowance
    s = make_state(4, year=YEAR, hukou_urban=[True, False, True, False])
    s.households.income[:] = [ps.income_standard - 1] * 2 + [ps.income_standard + 1] * 2
    use, _ = sv.use_and_unit_cost(s, p, "minimum_living_allowance", sv.status_of(s))
    assert use.tolist() == [ps.take_up, ps.take_up, 0.0, 0.0]


@pytest.mark.parametrize("income", [0.0, 1e6])
def test_dibao_cost_of_a_household_does_not_fall_by_settling(income):
    """A Panjin rural household in town that settled: before and after, at equal income."""
    s = make_state(2, year=YEAR, household=[0, 0], hukou_urban=True, village=NONE,
                   settled_year=2018, origin=PANJIN)
    s.households.income[:] = income
    flows = sv.step(s, params(YEAR))
    extra = flows["incremental_cost", "minimum_living_allowance"].sum()
    assert extra >= 0
    assert (extra > 0) == (income == 0.0)


# ------------------------------------------------------ clause 六/七 attributes (item 8)

def test_investment_amounts_are_drawn_per_representative(population):
    t = population.persons
    reps = t.enterprise_rep
    assert reps.any() and (t.investment[reps] > 0).all() and (t.investment[~reps] == 0).all()
    meets = (t.investment[reps] >= 500_000).mean()  # the pre-reform minimum
    assert 0.1 < meets < 0.5
    assert len(np.unique(t.investment[reps])) == reps.sum()


def test_a_new_enterprise_gets_an_investment_and_maybe_tax_relief():
    s = make_state(3000, employment=SELF_EMPLOYED)
    year_of_work(s, **{"life_course.enterprise.founding_rate": 1.0})
    t = s.persons
    assert t.enterprise_rep.all() and (t.investment > 0).all()
    share = params(YEAR).life_course.enterprise.tax_relief_share
    assert t.tax_relief.mean() == pytest.approx(share, abs=0.03)
    assert (t.tax_years == 0).all()
