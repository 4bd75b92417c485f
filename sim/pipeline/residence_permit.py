"""Residence permits (居住证): take-up, yearly endorsement, lapse (pipeline step 5).

Clause 十一 of 盘政发〔2015〕53号 and the State Council's 居住证暂行条例 (in force 2016-01-01):

- Art. 2: a person who left the city of their hukou and has lived here 6+ months, with a
  stable job, a stable residence or continuous study, may hold a permit. "The city of their
  hukou" is Panjin as a whole, so Panjin hukou holders living in another district or county
  of Panjin do not need one: only ``hukou_area == OUTSIDE`` can hold a permit.
- Art. 10: the permit is endorsed (签注) every year; when the conditions fail it lapses and
  the count of years restarts (``permit_years`` back to 0).
- Take-up is behaviour (``behaviour.permit``): a yearly chance to apply, higher for
  households with school-age children, for whom the permit opens a public school place.

What the permit entitles to (immediate / conditional services, exam eligibility) is read from
``policy.residence_permit.*`` by the services step; this module only keeps the permit columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, per_area
from sim.pipeline.eligibility import Eligibility, stable_job
from sim.pipeline.life_course import pupils
from sim.population import OUTSIDE, OWN, RENT, State, one_of

if TYPE_CHECKING:
    from sim.scenario import YearParameters

# Art. 2's "legal stable residence" is national law: owned or rented, whatever the tenures
# a settlement scenario admits.
_PERMIT_TENURES = (OWN, RENT)


def studying(state: State, p: YearParameters) -> np.ndarray:
    """Continuous study (连续就读): a school-age child enrolled in a Panjin school."""
    persons = state.persons
    schooling_end = p.life_course.schooling.ages[1]
    return (persons.age < schooling_end) & (persons.school_years_local >= 1)


def may_hold(state: State, p: YearParameters) -> Eligibility:
    """居住证暂行条例 Art. 2 (clause 十一): who may hold a residence permit this year."""
    persons = state.persons
    rp = p.policy.residence_permit
    stable_residence = one_of(state.household_of("tenure"), _PERMIT_TENURES)
    return Eligibility.of({
        "permits_issued": np.full(len(persons), bool(rp.available)),
        "lives_in_panjin": persons.area >= 0,
        "no_panjin_hukou": persons.hukou_area == OUTSIDE,
        "residence_half_year": persons.residence_years >= rp.min_residence_years,
        "job_residence_or_study": stable_job(persons) | stable_residence | studying(state, p),
    })


def take_up_probability(state: State, p: YearParameters) -> np.ndarray:
    """Yearly chance of applying for a permit, per person."""
    b = p.behaviour.permit
    persons = state.persons
    groups = state.by_household
    has_pupils = groups.project(groups.any(pupils(persons, p)))
    # the two chances looked up per person (one pass, not three over float columns)
    chance = np.minimum(b.take_up * np.array([1.0, b.school_children_factor]), 1.0)
    return chance[has_pupils.view(np.uint8)]


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """Endorse holders who still qualify, lapse those who do not (Art. 10), issue new permits
    to a share ``take_up`` of those who qualify. Counts include the year of issue."""
    persons = state.persons
    ok = may_hold(state, p).passed
    holder = persons.permit.copy()
    applies = rng.random(len(persons)) < take_up_probability(state, p)
    issued = ~holder & ok & applies
    lapsed = holder & ~ok
    endorsed = holder & ok
    persons.permit_years += endorsed  # one pass, not a masked gather and scatter
    persons.permit_years[lapsed] = 0
    persons.permit_years[issued] = 1
    persons.permit[lapsed] = False
    persons.permit[issued] = True
    n_areas = len(load_areas())
    w = persons.weight
    return {
        ("residence_permits_issued", ""): per_area(issued, persons.area, n_areas, w),
        ("residence_permits_lapsed", ""): per_area(lapsed, persons.area, n_areas, w),
    }
