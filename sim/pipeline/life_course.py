"""Step 3, life-course transitions: school, work, contracts, insurance, enterprises.

Counters that the settlement rules read (years in a job, of social insurance
参保年限, of tax records, of local schooling) advance here.

Social insurance has two parts, as in the pension record: ``insured`` says
whether a person contributes now (在保, ended by job loss and retirement), and
``insurance_years`` counts contribution years cumulatively (累计缴费年限: not reset
on job loss, frozen at retirement). At retirement age 15 cumulative years
(``pension.minimum_contribution_years``) give an employee pension (职工养老金).
Employees with a labour contract are enrolled by their employer; the
self-employed and informal workers may enrol as flexibly employed persons
(灵活就业人员参保). Farmers leave farming for non-farm jobs (much faster once they
live in a town) and stop farming at ``work.farming_stop_age``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.pipeline import Flows
from sim.population import (
    EMPLOYED,
    FARMING,
    NOT_WORKING,
    SELF_EMPLOYED,
    TECHNICAL_SCHOOL,
    URBAN_PLACES,
    Persons,
    State,
    one_of,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters


def pupils(persons: Persons, p: YearParameters, rows: np.ndarray | None = None) -> np.ndarray:
    """School-age persons (在校年龄): compulsory and senior-secondary ages; of the persons
    ``rows`` only, if given."""
    first, end = p.life_course.schooling.ages
    age = persons.age if rows is None else persons.age[rows]
    return (age >= first) & (age < end)


def past_retirement_age(persons: Persons, w: Any) -> np.ndarray:
    """Who is at or past the age at which work stops, by sex (``w`` = life_course.work
    parameters): the ages compared in their own dtype, not with a column of retirement
    ages."""
    return np.where(persons.sex == 1, persons.age >= w.retirement_age_men,
                    persons.age >= w.retirement_age_women)


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


def retire(persons: Persons, lc: Any, past_age: np.ndarray) -> np.ndarray:
    """Workers past retirement age (``past_age``: `past_retirement_age`) stop work
    (farmers at ``farming_stop_age``); everyone past retirement age stops contributing, and
    those with enough cumulative contribution years draw an employee pension. Returns who
    stopped working this year."""
    w = lc.work
    stops = (one_of(persons.employment, (EMPLOYED, SELF_EMPLOYED)) & past_age
             | (persons.employment == FARMING) & (persons.age >= w.farming_stop_age))
    persons.insured[past_age] = False
    persons.employee_pension |= past_age & (
        persons.insurance_years >= lc.pension.minimum_contribution_years)
    return stops


def end_jobs(persons: Persons, stops: np.ndarray) -> None:
    """Job, contract and enterprise of the persons in ``stops`` end; so do their
    contributions (``insured``), but not their cumulative contribution years."""
    stops = np.flatnonzero(stops)  # the mask read once, not once per column
    persons.employment[stops] = NOT_WORKING
    persons.job_years[stops] = 0
    persons.labour_contract[stops] = persons.legal_person_employer[stops] = False
    persons.insured[stops] = False
    persons.enterprise_rep[stops] = False
    persons.business_premises[stops] = persons.business_licence[stops] = False
    persons.tax_years[stops] = 0
    persons.tax_relief[stops] = False
    persons.investment[stops] = 0.0


def work_transitions(state: State, lc: Any, rng: np.random.Generator) -> None:
    """Jobs found, left and lost, contracts, insurance enrolment, retirement, enterprises."""
    persons, w, e = state.persons, lc.work, lc.enterprise
    n = len(persons)
    in_town = one_of(persons.place, URBAN_PLACES)
    # eleven uniform draws per person, in this order, each compared with its rate at once:
    # eleven yes/no columns in memory instead of eleven float columns (11 × 8 bytes per
    # person, the peak of a full-city year)
    (job_loss, job_entry, self_employed, contract_at_hire, contract_later, legal_person,
     employer_enrolment, flexible_enrolment, farm_exit, founding, tax_relief,
     ) = (rng.random(n) < rate for rate in (
         w.job_loss_rate, w.entry_rate, w.self_employed_share, w.contract_share_new_jobs,
         w.contract_rate, w.legal_person_employer_share, w.insurance_enrolment_rate,
         w.flexible_enrolment_rate,
         np.where(in_town, w.farming_exit_rate_in_town, w.farming_exit_rate),
         e.founding_rate, e.tax_relief_share))
    past_age = past_retirement_age(persons, w)
    of_working_age = ((persons.age >= lc.schooling.ages[1]) & ~past_age
                      & ~persons.employee_pension)  # early retirees do not seek work

    retires = retire(persons, lc, past_age)
    non_farm = one_of(persons.employment, (EMPLOYED, SELF_EMPLOYED))
    loses = non_farm & ~retires & job_loss
    stops = retires | loses
    end_jobs(persons, stops)

    leaves_farm = ((persons.employment == FARMING) & ~stops & of_working_age & farm_exit)
    end_jobs(persons, leaves_farm)
    finds = (leaves_farm | (persons.employment == NOT_WORKING) & of_working_age & ~stops
             & job_entry)
    found = np.flatnonzero(finds)  # few a year: rows, not masks over everyone
    persons.employment[found] = np.where(self_employed[found], SELF_EMPLOYED, EMPLOYED)
    hired = found[~self_employed[found]]
    persons.labour_contract[hired] = contract_at_hire[hired]
    persons.legal_person_employer[hired] = legal_person[hired]

    employee = persons.employment == EMPLOYED
    persons.labour_contract |= employee & ~finds & contract_later
    working = employee | (persons.employment == SELF_EMPLOYED)
    uninsured = working & ~persons.insured
    persons.insured |= uninsured & np.where(
        persons.labour_contract, employer_enrolment, flexible_enrolment)
    # counters advance by adding a yes/no column: one pass, not a masked gather and scatter
    persons.insurance_years += persons.insured
    persons.job_years += working & ~finds

    founds = (persons.employment == SELF_EMPLOYED) & ~persons.enterprise_rep & founding
    new_firms = np.flatnonzero(founds)
    persons.enterprise_rep[new_firms] = True
    persons.business_premises[new_firms] = persons.business_licence[new_firms] = True
    persons.tax_relief[new_firms] = tax_relief[new_firms]
    persons.investment[new_firms] = rng.lognormal(np.log(e.investment_median),
                                                  e.investment_sigma, new_firms.size)
    persons.tax_years += persons.business_licence & ~founds


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """Advance every person's life course by one year."""
    lc = p.life_course
    persons = state.persons
    inside = persons.area >= 0
    persons.residence_years += inside  # a yes/no column added: one pass
    persons.school_years_local += pupils(persons, p) & inside
    persons.school_years_local[~inside] = 0
    leave_school(state, lc, rng)
    work_transitions(state, lc, rng)
    return {}
