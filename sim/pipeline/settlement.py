"""Settlement decisions (落户, pipeline step 7): who settles, through which channel, where.

1. Every channel's rule runs on every person (`sim.pipeline.eligibility`).
2. One applicant per household: the head if eligible, else the first eligible member.
3. Whether the household settles this year: intention, awareness and action
   (`sim.pipeline.intention`).
4. The applicant's channel is the first they pass in `CHANNEL_ORDER`: channels that bring the
   family first (四, 五 — residence-based, the fewest papers — then 七), talent (六) last as it
   brings nobody.
5. The registration place (落户地址) follows the channel and the housing (`registration_place`).
6. The hukou moves to the area of residence as an urban hukou, for the applicant and the
   family the channel allows; the origin is kept. Principle 二.2: land rights are kept unless
   ``policy.land_rights_kept_on_settling`` is false (then the household surrenders them).

`decide` returns a `Decision` that records who passed which rule, so `check` can verify that
nobody settles without passing a channel's rule and that talent brings no family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows, intention, per_area_by
from sim.pipeline.eligibility import (
    BRINGS_FAMILY,
    Eligibility,
    evaluate,
    family,
    landlord_consents,
)
from sim.population import (
    CHANNELS,
    DORMITORY,
    HEAD,
    INVESTMENT,
    NONE,
    OWN,
    RELATIVES,
    RENT,
    TALENT,
    TOWN,
    URBAN_DISTRICT_CHANNEL,
    URBAN_PLACES,
    State,
    one_of,
)

if TYPE_CHECKING:
    from sim.scenario import YearParameters

CHANNEL_ORDER = (TOWN, URBAN_DISTRICT_CHANNEL, INVESTMENT, TALENT)

# Where a settler's hukou is registered (category of ``settlements_by_registration_place``).
REGISTRATION_PLACES = ("own_home", "rented_home", "community_collective", "employer_collective",
                       "talent_centre", "relative")
OWN_HOME, RENTED_HOME, COMMUNITY_COLLECTIVE, EMPLOYER_COLLECTIVE, TALENT_CENTRE, RELATIVE = range(6)


@dataclass(frozen=True)
class Decision:
    """One year's settlement decisions. Per-person arrays; ``NONE`` where nobody settles."""

    eligibility: dict[int, Eligibility]  # channel code -> rule result (before any move)
    applicant: np.ndarray                # bool: applies and settles this year
    channel: np.ndarray                  # int8: channel the person settles through
    registration: np.ndarray             # int8: REGISTRATION_PLACES index
    intending: np.ndarray                # bool: candidate applicant whose household intends

    @property
    def movers(self) -> np.ndarray:
        return self.channel != NONE


def first_channel(eligibility: dict[int, Eligibility]) -> np.ndarray:
    """Per person, the first channel of `CHANNEL_ORDER` they pass, or ``NONE``."""
    n = len(next(iter(eligibility.values())).passed)
    out = np.full(n, NONE, np.int8)
    for code in reversed(CHANNEL_ORDER):
        out[eligibility[code].passed] = code
    return out


def choose_applicants(state: State, eligible: np.ndarray) -> np.ndarray:
    """One applicant per household with an eligible member: the head, else the first member."""
    persons = state.persons
    rows = np.flatnonzero(eligible)
    # per household the smallest (not head, row): a head first, then the first in row order
    n = len(persons)
    rank = np.where(persons.role[rows] == HEAD, 0, n) + rows
    best = np.full(len(state.households), 2 * n)
    np.minimum.at(best, persons.household[rows], rank)
    out = np.zeros(n, bool)
    out[best[best < 2 * n] % n] = True
    return out


def registration_place(state: State, p: YearParameters, channel: np.ndarray) -> np.ndarray:
    """Where each applicant registers (NONE for non-applicants).

    - 四/五: own home; rented home if the landlord consents, else the community collective
      household (九: the rule already required it to exist); employer collective for a
      dormitory, a relative's household for those living with relatives (when a scenario
      admits these tenures).
    - 七: as 四/五 when living in a town or the districts and the home can take the hukou,
      otherwise the enterprise's own collective household.
    - 六: a relative's family household when a co-resident member already holds urban hukou
      here, the employer's collective household for dormitory dwellers, else the talent
      centre (人才中心) — the three places clause 六 names.
    """
    persons = state.persons
    rows = np.flatnonzero(channel != NONE)  # only the applicants: a few a year
    hh = persons.household[rows]
    tenure = state.households.tenure[hh]
    consent = landlord_consents(state, p, rows)
    collective = bool(p.policy.community_collective_household)
    home = np.select(
        [tenure == OWN, (tenure == RENT) & consent, (tenure == RENT) & collective,
         tenure == DORMITORY, tenure == RELATIVES],
        [OWN_HOME, RENTED_HOME, COMMUNITY_COLLECTIVE, EMPLOYER_COLLECTIVE, RELATIVE],
        EMPLOYER_COLLECTIVE)
    local_urban = persons.hukou_urban & (persons.hukou_area == persons.area)
    # which (household, area) pairs hold a local urban hukou: a dense table, O(persons)
    # where np.isin would sort every key
    width = int(persons.area.max(initial=0)) + 2
    key = persons.household.astype(np.int64) * width + persons.area + 1
    urban_here = np.zeros(len(state.households) * width, bool)
    urban_here[key[local_urban]] = True
    has_urban_relative = urban_here[key[rows]]
    talent_place = np.select([has_urban_relative, tenure == DORMITORY],
                             [RELATIVE, EMPLOYER_COLLECTIVE], TALENT_CENTRE)
    in_town = one_of(persons.place[rows], URBAN_PLACES)
    investor_place = np.where(in_town, home, EMPLOYER_COLLECTIVE)
    place = np.full(len(persons), NONE, np.int8)
    place[rows] = np.select([channel[rows] == TALENT, channel[rows] == INVESTMENT],
                            [talent_place, investor_place], home)
    return place


def decide(state: State, p: YearParameters, rng: np.random.Generator) -> Decision:
    """Who settles this year, through which channel and where; changes nothing."""
    persons = state.persons
    eligibility = evaluate(state, p)
    best = first_channel(eligibility)
    candidates = choose_applicants(state, best != NONE)
    intention.draw_missing(state, rng)
    applicant, intending = intention.settles(state, p, candidates, rng)
    own_channel = np.where(applicant, best, NONE).astype(np.int8)
    own_place = registration_place(state, p, own_channel)

    brings = np.array([BRINGS_FAMILY.get(c, False) for c in range(len(CHANNELS))])
    with_family = applicant & brings[np.maximum(own_channel, 0)]
    kin = family(state, with_family)
    applicant_row = np.zeros(len(state.households), np.int64)
    applicant_row[persons.household[with_family]] = np.flatnonzero(with_family)
    # the movers' channel and place, from their applicant (a few rows; NONE elsewhere)
    movers = np.flatnonzero(applicant | kin)
    source = np.where(kin[movers], applicant_row[persons.household[movers]], movers)
    channel = np.full(len(persons), NONE, np.int8)
    registration = np.full(len(persons), NONE, np.int8)
    channel[movers], registration[movers] = own_channel[source], own_place[source]
    return Decision(eligibility, applicant, channel, registration, intending)


def check(decision: Decision, state: State) -> None:
    """Hard rules: every applicant's household intends to settle; every applicant passed the
    rule of their channel; family members share an applicant's household; the talent channel
    brings nobody (六 本人落户)."""
    d = decision
    persons = state.persons
    applicants = np.flatnonzero(d.applicant)  # checked over the few movers' rows
    if not d.intending[applicants].all():
        raise AssertionError("a household settled without intending to")
    for code, e in d.eligibility.items():
        if not e.passed[applicants[d.channel[applicants] == code]].all():
            raise AssertionError(f"{CHANNELS[code]}: a settler did not pass its rule")
    kin = np.flatnonzero(d.movers & ~d.applicant)
    if (d.channel[kin] == TALENT).any():
        raise AssertionError("talent channel brought family members")
    if not np.isin(persons.household[kin], persons.household[applicants]).all():
        raise AssertionError("a family member settled without an applicant in the household")


def apply(state: State, p: YearParameters, decision: Decision) -> None:
    """The hukou move: urban hukou of the area of residence, year and channel recorded, origin
    kept; a settler no longer needs a residence permit. Land rights per principle 二.2."""
    persons = state.persons
    m = decision.movers
    persons.hukou_area[m] = persons.area[m]
    persons.hukou_urban[m] = True
    persons.settled_year[m] = p.year
    persons.settled_channel[m] = decision.channel[m]
    persons.permit[m] = False
    persons.permit_years[m] = 0
    if not p.policy.land_rights_kept_on_settling:
        hh = persons.household[decision.applicant]
        households = state.households
        households.contract_land[hh] = False
        households.homestead[hh] = False
        households.collective_income[hh] = False


def flows(state: State, decision: Decision) -> Flows:
    """Persons settled (weighted) by area of residence, per channel and per registration place."""
    persons = state.persons
    n_areas = len(load_areas())
    rows = np.flatnonzero(decision.movers)  # every other row has no channel nor place
    w, area = persons.weight[rows].astype(np.float64), persons.area[rows]
    by_channel = per_area_by(decision.channel[rows], len(CHANNELS), area, n_areas, w)
    by_place = per_area_by(decision.registration[rows], len(REGISTRATION_PLACES), area,
                           n_areas, w)
    return ({("settlements", CHANNELS[code]): by_channel[code] for code in CHANNEL_ORDER}
            | {("settlements_by_registration_place", name): by_place[code]
               for code, name in enumerate(REGISTRATION_PLACES)})


def step(state: State, p: YearParameters, rng: np.random.Generator) -> Flows:
    """Decide, check the hard rules, apply, and return the year's settlements."""
    decision = decide(state, p, rng)
    check(decision, state)
    apply(state, p, decision)
    return flows(state, decision)
