"""Settlement intention and action (落户意愿 → 申请 → 落户), used by step 7.

The household decision follows the stepwise structure the migration-ABM
literature recommends (Klabunde & Willekens 2016; Kley 2017): an
**intention** from a random-utility (logit) model, then **action** in a given
year only when the household knows of the reform (clause 十九 publicity) and
acts on its intention. Only households with a member who passes a channel's
rule get this far (`sim.pipeline.eligibility`).

Intention of a household, evaluated on its applicant::

    U = α + β_edu (years of schooling − 9) + β_income ln(income per person / 20,000)
          + β_intra [hukou in Liaoning] + β_insured [urban social insurance]
          + β_married [married] + β_years min(years here, cap)
          + β_age max(age − 39, 0) (1 + κ_age [homestead])
          + β_female [woman] + β_rural [rural hukou] + β_own [owns home here]
          + β_contract [labour contract] (1 − κ_contract [homestead])
          + β_children [children 6–17 without local exam access]
          + β_gain gain + β_peer peer
    P(intend) = logistic(U) × (1 − h [homestead]) × (1 − s [land to surrender])

``gain`` is the value of hukou over what the household already has: the share
of the public services a local urban resident gets that its members do not
(so a generous residence permit lowers it). ``peer`` is the share of the origin
village (Panjin rural hukou) or of same-origin migrants in the area already
settled. ``h`` = 12% (Gu et al. 2020). ``s`` applies only when a scenario
makes land surrender a condition of settling (principle 二.2 off).

Memory. A household's intention is persistent: each household holds a fixed latent draw
(``intention_draw``, uniform) and intends to settle in a year when P(intend) of its applicant
exceeds it. The share intending in a population is still the mean of P(intend) (so the survey
calibration holds), but a household's intention changes only when its circumstances change
(a child reaching school age, years in the city, a job, insurance, a settled neighbour),
not by a new coin toss each year. Awareness is persistent the same way (``awareness_draw``
against the share aware, which only grows). An aware, intending, eligible household then acts
with a yearly hazard ``action_rate`` (the time it takes to gather papers and apply)::

    settles this year = aware ∧ intends ∧ (u < action_rate)

so cumulative settlement is bounded by intention: a household that does not intend never
settles, however many years it stays eligible.

Every coefficient is in ``sim/data/parameters/behaviour.toml`` with its source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sim.pipeline import rows_of, services
from sim.pipeline.life_course import pupils
from sim.population import (
    LIAONING,
    NONE,
    OUTSIDE,
    OWN,
    PANJIN,
    State,
    one_of,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters

COMPULSORY_YEARS = 9  # the centre of the education term: nine years of compulsory schooling


def logistic(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-u))


def hukou_gain(state: State, p: YearParameters, rows: np.ndarray | None = None) -> np.ndarray:
    """Per person in ``rows`` (default all): the household's mean share of services it
    would gain with urban hukou.

    Only the members of the households of ``rows`` are evaluated (settlement asks for the
    candidate applicants only).
    """
    persons = state.persons
    groups = state.by_household
    members = None if rows is None else groups.members(rows)
    # the share depends on a member's status, permit conditions, local schooling and living
    # in Panjin only: computed for each of these 32 kinds, then looked up per member
    kind = np.indices((len(services.STATUSES), 2, 2, 2)).reshape(4, -1)
    status, met, schooled, inside = kind[0], kind[1] > 0, kind[2] > 0, kind[3] > 0
    urban = np.full(status.size, services.LOCAL_URBAN)
    gained, possible = np.zeros(status.size), np.zeros(status.size)
    for s in services.SERVICES:
        as_urban = services.entitled_of(p, s, urban, lambda: met, lambda: schooled, inside)
        gained += as_urban & ~services.entitled_of(p, s, status, lambda: met,
                                                   lambda: schooled, inside)
        possible += as_urban
    of_kind = np.divide(gained, possible, out=np.zeros_like(gained), where=possible > 0)
    rows_of = slice(None) if members is None else members
    rp = p.policy.residence_permit
    key = np.ravel_multi_index(
        (services.status_of(state, members), services.permit_conditions_met(state, p, members),
         persons.school_years_local[rows_of] >= rp.exam_schooling_years,
         persons.area[rows_of] != OUTSIDE), (len(services.STATUSES), 2, 2, 2))
    # every member of the households of ``rows`` is in ``members``: their means are whole
    return groups.project(groups.mean(of_kind[key], rows=members), rows)


def peer_share(state: State, rows: np.ndarray | None = None) -> np.ndarray:
    """Per person (of ``rows`` only, if given): share already settled among their peers.

    Peers of a Panjin rural hukou holder are the registered members of the same
    village; peers of a migrant are residents of the same area with the same origin.
    """
    persons = state.persons
    settled = persons.settled_channel != NONE
    village, area, origin = (rows_of(c, rows) for c in (persons.village, persons.area,
                                                     persons.origin))
    out = np.zeros(len(village))
    in_village = np.flatnonzero(persons.village >= 0)
    if in_village.size:
        of_village = persons.village[in_village]
        n_v = of_village.max() + 1
        members = np.bincount(of_village, minlength=n_v)
        done = np.bincount(of_village[settled[in_village]], minlength=n_v)
        has_village = village >= 0
        out[has_village] = (done / np.maximum(members, 1))[village[has_village]]
    migrants = np.flatnonzero((persons.origin != PANJIN) & (persons.area >= 0))
    key = persons.area[migrants].astype(int) * 3 + persons.origin[migrants]
    members = np.bincount(key, minlength=3 * (persons.area.max() + 1))
    done = np.bincount(key[settled[migrants]], minlength=len(members))
    sel = (origin != PANJIN) & (area >= 0)
    out[sel] = (done / np.maximum(members, 1))[area[sel].astype(int) * 3 + origin[sel]]
    return out


def awareness(year: int, b: Any) -> float:
    """Share of households that know the reform's channels (clause 十九 publicity)."""
    years = year - b.awareness.start_year + 1
    return float(1.0 - np.exp(-b.awareness.rate * years)) if years > 0 else 0.0


def probability(state: State, p: YearParameters, rows: np.ndarray | None = None) -> np.ndarray:
    """P(intend to settle) for the persons in ``rows`` (all persons by default)."""
    b = p.behaviour.intention
    persons = state.persons
    rows = np.arange(len(persons)) if rows is None else rows
    hh = persons.household[rows]
    homestead = state.households.homestead[hh]
    land = homestead | state.households.contract_land[hh] | \
        state.households.collective_income[hh]
    groups = state.by_household
    members = groups.members(rows)  # the households of ``rows``: their children only
    without_exam_access = (pupils(persons, p, members) & (persons.hukou_area[members] == OUTSIDE)
                           & (persons.school_years_local[members]
                              < p.policy.residence_permit.exam_schooling_years))
    children = groups.any(without_exam_access, rows=members)
    income = state.income_per_person(rows)
    u = (b.intercept
         + b.education * (np.asarray(b.school_years_by_education)[persons.education[rows]]
                          - COMPULSORY_YEARS)
         + b.log_income * np.log(np.maximum(income, b.income_floor) / b.income_reference)
         + b.intra_province * (one_of(persons.origin[rows], (PANJIN, LIAONING)))
         + b.insured * persons.insured[rows]
         + b.married * persons.married[rows]
         + b.years_here * np.minimum(persons.residence_years[rows], b.years_here_cap)
         + b.age_over_39 * np.maximum(persons.age[rows] - 39, 0)
         * (1 + b.homestead_age_boost * homestead)
         + b.female * (persons.sex[rows] == 0)
         + b.rural_hukou * ~persons.hukou_urban[rows]
         + b.owns_home * (state.households.tenure[hh] == OWN)
         + b.labour_contract * persons.labour_contract[rows]
         * (1 - b.homestead_contract_damping * homestead)
         + b.school_children * children[hh]
         + b.hukou_gain * hukou_gain(state, p, rows)
         + b.peers * peer_share(state, rows))
    prob = logistic(u) * (1 - b.homestead_effect * homestead)
    if not p.policy.land_rights_kept_on_settling:
        prob = prob * (1 - b.land_surrender_effect * land)
    return prob


def draw_missing(state: State, rng: np.random.Generator) -> None:
    """Give households created since the last year (NaN draws) their latent intention and
    awareness draws: one place for every way a household comes into being."""
    households = state.households
    for column in ("intention_draw", "awareness_draw"):
        draws = getattr(households, column)
        missing = np.isnan(draws)
        draws[missing] = rng.random(int(missing.sum()))


def intends(state: State, p: YearParameters, rows: np.ndarray) -> np.ndarray:
    """Whether the households of the persons ``rows`` intend to settle this year (persistent:
    P(intend) against the household's fixed draw)."""
    draw = state.households.intention_draw[state.persons.household[rows]]
    return draw < probability(state, p, rows)


def aware(state: State, p: YearParameters, rows: np.ndarray) -> np.ndarray:
    """Whether the households of the persons ``rows`` know of the reform this year."""
    draw = state.households.awareness_draw[state.persons.household[rows]]
    return draw < awareness(p.year, p.behaviour)


def settles(state: State, p: YearParameters, candidates: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """Which candidate applicants (bool per person) settle this year, and which intend."""
    rows = np.flatnonzero(candidates)
    intending = np.zeros(len(state.persons), bool)
    intending[rows] = intends(state, p, rows)
    acts = rng.random(rows.size) < p.behaviour.settlement.action_rate
    out = np.zeros(len(state.persons), bool)
    out[rows] = intending[rows] & aware(state, p, rows) & acts
    return out, intending
