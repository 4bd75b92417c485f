"""Life-course transitions (step 3): sim.pipeline.life_course.

Every chance is set to 0 or 1 so that each test follows one rule on a hand-built state:
schooling and school leaving, residence years, jobs found and lost, contracts, insurance
contributions (``insured``, ended by job loss and retirement) and cumulative contribution
years (``insurance_years``, kept on job loss, frozen at retirement), retirement and the
employee pension, farming, enterprises.
"""

from __future__ import annotations

import numpy as np

from sim.pipeline import life_course as lc
from sim.population import (
    COLLEGE,
    EMPLOYED,
    FARMING,
    NOT_WORKING,
    OUTSIDE,
    SELF_EMPLOYED,
    TECHNICAL_SCHOOL,
    VILLAGE,
)
from tests.factories import make_state, params

WORK = "life_course.work."
NOTHING = {WORK + k: 0.0 for k in (
    "entry_rate", "job_loss_rate", "self_employed_share", "contract_rate",
    "contract_share_new_jobs", "insurance_enrolment_rate", "flexible_enrolment_rate",
    "farming_exit_rate", "farming_exit_rate_in_town", "legal_person_employer_share")} | {
    "life_course.enterprise.founding_rate": 0.0, "life_course.enterprise.tax_relief_share": 0.0}


def year(state, **chances):
    """One life-course step with every chance 0 unless given."""
    lc.step(state, params(2016, **{**NOTHING, **chances}), np.random.default_rng(0))


def test_pupils_are_of_school_age_from_the_first_age_to_the_end_age_of_rows_if_given():
    """School ages [6, 18): of persons 5, 6, 17 and 18 the middle two are pupils; asked for
    the rows 3 and 1 only, the answer is for those two, in that order."""
    state = make_state(4, age=[5, 6, 17, 18])
    p = params(2016, **{"life_course.schooling.ages": [6, 18]})
    assert lc.pupils(state.persons, p).tolist() == [False, True, True, False]
    assert lc.pupils(state.persons, p, np.array([3, 1])).tolist() == [False, True]


def test_schooling_years_count_for_pupils_in_panjin():
    """Pupils are aged 6 to 17; a pupil living outside Panjin loses the local count; the
    residence count grows only in Panjin."""
    s = make_state(5, age=[5, 6, 17, 18, 10], area=[0, 0, 0, 0, OUTSIDE],
                   school_years_local=[0, 0, 11, 12, 3], residence_years=[5, 6, 17, 18, 2])
    year(s)
    assert s.persons.school_years_local.tolist() == [0, 1, 12, 12, 0]
    assert s.persons.residence_years.tolist() == [6, 7, 18, 19, 2]


def test_school_leavers_get_their_final_education():
    """At 18 (the end of the school ages) the final education is drawn from the shares; a
    technical-school leaver may get the vocational certificate, others never."""
    s = make_state(2, age=[18, 17], education=0)
    year(s, **{"life_course.education.final_shares": [0, 0, 0, 0, 1, 0],
               "life_course.education.vocational_cert_share": 1.0})
    assert s.persons.education.tolist() == [TECHNICAL_SCHOOL, 0]
    assert s.persons.vocational_cert.tolist() == [True, False]
    s = make_state(1, age=18)
    year(s, **{"life_course.education.final_shares": [0, 0, 0, 0, 0, 1],
               "life_course.education.vocational_cert_share": 1.0})
    assert s.persons.education[0] == COLLEGE and not s.persons.vocational_cert[0]


def test_job_loss_ends_job_contract_enterprise_and_contributions_not_the_years():
    """An insured employee and an enterprise owner lose their work: the job, contract,
    enterprise and tax record end, contributions stop, the cumulative years stay."""
    s = make_state(2, employment=[EMPLOYED, SELF_EMPLOYED], labour_contract=[True, False],
                   legal_person_employer=[True, False], insured=True, insurance_years=[6, 2],
                   job_years=[4, 9], enterprise_rep=[False, True],
                   business_premises=[False, True], business_licence=[False, True],
                   tax_years=[0, 3], tax_relief=[False, True], investment=[0.0, 5e5])
    year(s, **{WORK + "job_loss_rate": 1.0})
    t = s.persons
    assert (t.employment == NOT_WORKING).all() and not t.insured.any()
    assert t.insurance_years.tolist() == [6, 2]
    assert t.job_years.tolist() == [0, 0] and t.tax_years.tolist() == [0, 0]
    assert not (t.labour_contract | t.legal_person_employer | t.enterprise_rep
                | t.business_premises | t.business_licence | t.tax_relief).any()
    assert t.investment.tolist() == [0, 0]


def test_insurance_years_accumulate_while_contributing():
    """An employee on contract is enrolled by the employer and counts a year every year; an
    employee without a contract (flexible enrolment 0) and a person without work count
    nothing."""
    s = make_state(3, employment=[EMPLOYED, EMPLOYED, NOT_WORKING],
                   labour_contract=[True, False, False])
    for _ in range(3):
        year(s, **{WORK + "insurance_enrolment_rate": 1.0})
    assert s.persons.insured.tolist() == [True, False, False]
    assert s.persons.insurance_years.tolist() == [3, 0, 0]
    assert s.persons.job_years.tolist() == [3, 3, 0]


def test_retirement_by_sex_stops_work_and_contributions_and_freezes_the_years():
    """Men retire at retirement_age_men, women at retirement_age_women; the year before,
    they work and contribute on. With 15 cumulative years a retiree draws an employee
    pension, with 14 not; a non-working person past the age with enough years too."""
    w = params(2016).life_course.work
    men, women = w.retirement_age_men, w.retirement_age_women
    s = make_state(7, sex=[1, 1, 0, 0, 1, 1, 0],
                   age=[men - 1, men, women - 1, women, men, men + 5, women - 5],
                   employment=[EMPLOYED] * 5 + [NOT_WORKING] * 2, labour_contract=True,
                   insured=[True] * 5 + [False] * 2,
                   insurance_years=[20, 20, 20, 20, 14, 15, 10],
                   employee_pension=[False] * 6 + [True])  # an early pensioner keeps hers
    year(s)
    t = s.persons
    assert t.employment.tolist() == [EMPLOYED, NOT_WORKING, EMPLOYED, NOT_WORKING,
                                     NOT_WORKING, NOT_WORKING, NOT_WORKING]
    assert t.insured.tolist() == [True, False, True, False, False, False, False]
    assert t.insurance_years.tolist() == [21, 20, 21, 20, 14, 15, 10]
    assert t.employee_pension.tolist() == [False, True, False, True, False, True, True]


def test_new_jobs_for_adults_of_working_age_only():
    """With every chance of a job: the 18-year-old and the 30-year-old find one (an
    employee's job with a contract at a legal-person employer), the 17-year-old and the
    retired man do not. A new job counts no job year yet."""
    w = params(2016).life_course.work
    men, women = w.retirement_age_men, w.retirement_age_women
    s = make_state(5, age=[17, 18, 30, men, women], sex=[1, 1, 1, 1, 1])  # a man past
    year(s, **{WORK + "entry_rate": 1.0, WORK + "contract_share_new_jobs": 1.0,  # women's age
               WORK + "legal_person_employer_share": 1.0})
    t = s.persons
    assert t.employment.tolist() == [NOT_WORKING, EMPLOYED, EMPLOYED, NOT_WORKING, EMPLOYED]
    assert t.labour_contract.tolist() == [False, True, True, False, True]
    assert t.legal_person_employer.tolist() == [False, True, True, False, True]
    assert t.job_years.tolist() == [0, 0, 0, 0, 0]
    s = make_state(1)
    year(s, **{WORK + "entry_rate": 1.0, WORK + "self_employed_share": 1.0,
               WORK + "contract_share_new_jobs": 1.0})
    assert s.persons.employment[0] == SELF_EMPLOYED and not s.persons.labour_contract[0]


def test_employees_get_contracts_later():
    s = make_state(2, employment=[EMPLOYED, SELF_EMPLOYED], job_years=2)
    year(s, **{WORK + "contract_rate": 1.0})
    assert s.persons.labour_contract.tolist() == [True, False]
    assert s.persons.job_years.tolist() == [3, 3]


def test_self_employed_enrol_flexibly():
    s = make_state(2, employment=[SELF_EMPLOYED, NOT_WORKING])
    year(s, **{WORK + "flexible_enrolment_rate": 1.0})
    assert s.persons.insured.tolist() == [True, False]
    assert s.persons.insurance_years.tolist() == [1, 0]


def test_farmers_leave_farming_for_town_work_and_stop_at_old_age():
    """With the village exit chance 1 and the town one 0, the village farmer takes a
    non-farm job, the town farmer keeps farming; at farming_stop_age farming stops."""
    stop = params(2016).life_course.work.farming_stop_age
    s = make_state(4, employment=FARMING, place=[VILLAGE, 0, 0, 0],
                   age=[30, 30, stop - 1, stop], sex=0)
    year(s, **{WORK + "farming_exit_rate": 1.0})
    assert s.persons.employment.tolist() == [EMPLOYED, FARMING, FARMING, NOT_WORKING]
    s = make_state(1, employment=FARMING)  # a designated town
    year(s, **{WORK + "farming_exit_rate_in_town": 1.0})
    assert s.persons.employment[0] == EMPLOYED


def test_enterprises_are_founded_and_count_tax_years():
    """A self-employed person founds an enterprise (licence, premises, an investment, tax
    relief at share 1); its tax years count from the next year."""
    s = make_state(2, employment=[SELF_EMPLOYED, EMPLOYED])
    chances = {"life_course.enterprise.founding_rate": 1.0,
               "life_course.enterprise.tax_relief_share": 1.0}
    year(s, **chances)
    t = s.persons
    assert t.enterprise_rep.tolist() == [True, False]
    assert t.business_licence.tolist() == [True, False] and t.business_premises[0]
    assert t.tax_relief.tolist() == [True, False]
    assert t.investment[0] > 0 and t.investment[1] == 0
    assert t.tax_years.tolist() == [0, 0]
    year(s, **chances)
    assert t.tax_years.tolist() == [1, 0]
    year(s, **chances)
    assert t.tax_years.tolist() == [2, 0]


def test_investments_are_drawn_per_founder_around_the_median():
    s = make_state(400, employment=SELF_EMPLOYED)
    year(s, **{"life_course.enterprise.founding_rate": 1.0})
    median = params(2016).life_course.enterprise.investment_median
    amounts = s.persons.investment
    assert len(np.unique(amounts)) == 400
    assert 0.8 < np.median(amounts) / median < 1.25


def test_final_education_follows_unnormalised_shares():
    """Shares 0.25 : 0.25 for technical school and college are half and half."""
    s = make_state(400, age=18)
    year(s, **{"life_course.education.final_shares": [0, 0, 0, 0, 0.25, 0.25]})
    share = (s.persons.education == TECHNICAL_SCHOOL).mean()
    assert 0.4 < share < 0.6 and set(s.persons.education.tolist()) == {TECHNICAL_SCHOOL,
                                                                       COLLEGE}


def test_vocational_certificate_is_drawn_per_technical_school_leaver():
    """400 leavers all from technical school, certificate share 0.5: about half certified
    (one draw each; a single draw for all would certify all or none). Binomial sd 0.025,
    so 0.4–0.6 is four sd either side."""
    s = make_state(400, age=18)
    year(s, **{"life_course.education.final_shares": [0, 0, 0, 0, 1, 0],
               "life_course.education.vocational_cert_share": 0.5})
    assert (s.persons.education == TECHNICAL_SCHOOL).all()
    assert 0.4 < s.persons.vocational_cert.mean() < 0.6


def test_a_farmer_leaving_the_farm_starts_the_new_job_afresh():
    """A village farmer with 7 farming years who contributed (flexibly) leaves the farm: the
    new job's years start at 0 (clause 五 counts years in the job held), contributions end
    with the old work (no enrolment chance this year) but the cumulative years stay."""
    s = make_state(1, place=VILLAGE, employment=FARMING, job_years=7, insured=True,
                   insurance_years=4)
    year(s, **{WORK + "farming_exit_rate": 1.0})
    p = s.persons
    assert p.employment[0] == EMPLOYED
    assert p.job_years[0] == 0 and not p.insured[0] and p.insurance_years[0] == 4
