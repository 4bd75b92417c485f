"""Step 3, life-course transitions: school, work, contracts, insurance, enterprises.

Counters that the settlement rules read (years in a job, of social insurance
参保年限, of tax records, of local schooling) advance here. A lost job restarts
the job and insurance counts (contributions stop, so the continuous years the
rules ask for start again); at retirement the insurance years are kept, frozen,
as the record a pension is based on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.pipeline import Flows
from sim.population import (
    EMPLOYED,
    NOT_WORKING,
    SELF_EMPLOYED,
    TECHNICAL_SCHOOL,
    Persons,
    State,
)


def pupils(persons: Persons, p: Any) -> np.ndarray:
    """School-age persons (在校年龄): compulsory and senior-secondary ages."""
    first, end = p.life_course.schooling.ages
    return (persons.age >= first) & (persons.age < end)


def retirement_age(sex: np.ndarray, w) -> np.ndarray:
    """Age at which work stops, by sex (``w`` = life_course.work parameters)."""
    return np.where(sex == 1, w.retirement_age_men, w.retirement_age_women)


def leave_school(state: State, lc: Any, rng: np.random.Generator) -> None:
    """Young people reaching school-leaving age get their final education."""
    persons = state.persons
    leaving = persons.age == lc.schooling.ages[1]
    shares = np.asarray(lc.education.final_shares, float)
    cum = np.cumsum(shares / shares.sum())
    level = np.searchsorted(cum, rng.random(leaving.sum()), side="right")
    persons.education[leaving] = np.minimum(level, len(shares) - 1)
    certified = rng.random(leaving.sum()) < lc.education.vocational_cert_share
    persons.vocational_cert[leaving] = (persons.education[leaving] == TECHNICAL_SCHOOL) & certified


def work_transitions(state: State, lc, rng: np.random.Generator) -> None:
    """Jobs found and lost, contracts, insurance enrolment, retirement."""
    p, w = state.persons, lc.work
    n = len(p)
    u = rng.random((7, n))  # one independent draw per decision
    working = np.isin(p.employment, (EMPLOYED, SELF_EMPLOYED))
    retired = p.age >= retirement_age(p.sex, w)
    of_age = (p.age >= lc.schooling.ages[1]) & ~retired

    loses = working & (u[0] < w.job_loss_rate) & ~retired
    retires = working & retired
    stops = loses | retires
    p.employment[stops] = NOT_WORKING
    p.job_years[stops] = 0
    p.labour_contract[stops] = False
    p.enterprise_rep[stops] = p.business_premises[stops] = p.business_licence[stops] = False
    p.tax_years[stops] = 0
    p.insurance_years[loses] = 0  # contributions stop: continuity is broken

    finds = (p.employment == NOT_WORKING) & of_age & ~stops & (u[1] < w.entry_rate)
    self_emp = u[2] < w.self_employed_share
    p.employment[finds] = np.where(self_emp[finds], SELF_EMPLOYED, EMPLOYED)
    p.labour_contract[finds] = ~self_emp[finds] & (u[3][finds] < w.contract_share_new_jobs)

    employee = p.employment == EMPLOYED
    p.labour_contract |= employee & ~finds & (u[4] < w.contract_rate)
    enrol = p.labour_contract & (p.insurance_years == 0) & (u[5] < w.insurance_enrolment_rate)
    insured = (p.insurance_years > 0) | enrol
    still_working = np.isin(p.employment, (EMPLOYED, SELF_EMPLOYED))
    p.insurance_years[insured & still_working] += 1
    p.job_years[still_working & ~finds] += 1

    founds = ((p.employment == SELF_EMPLOYED) & ~p.enterprise_rep
              & (u[6] < lc.enterprise.founding_rate))
    p.enterprise_rep[founds] = p.business_premises[founds] = p.business_licence[founds] = True
    p.tax_years[p.business_licence & ~founds] += 1


def step(state: State, p, rng: np.random.Generator) -> Flows:
    """Advance every person's life course by one year."""
    lc = p.life_course
    persons = state.persons
    persons.residence_years[persons.area >= 0] += 1
    persons.school_years_local[pupils(persons, p) & (persons.area >= 0)] += 1
    persons.school_years_local[persons.area < 0] = 0
    leave_school(state, lc, rng)
    work_transitions(state, lc, rng)
    return {}
