"""Benchmark: our column pipeline against the same rules written the idiomatic Mesa way.

The reference (`ReferenceModel`) keeps one ``mesa.Agent`` per person and per household
and calls each rule per agent through ``AgentSet.shuffle_do`` / ``do``, as Mesa users
write models. Both start from the same synthetic population (`sim.synthesis.synthesize`,
default scale 0.032 ≈ 50,000 persons) and run 5 years (2016–2020, default scenario).

**Stages the reference covers** (a representative subset of the yearly pipeline):

- demography: ageing, deaths, births, widowhood, new heads — with the model's own
  parameter functions (`demography.death_probability`, `birth_probability`, the
  married share by age group), evaluated once a year as lookup tables by age;
- life course: residence and schooling counters, retirement and pensions, job loss,
  leaving farming, job finding, self-employment, contracts, insurance enrolment
  (`life_course.work_transitions` without school leaving and enterprises);
- residence permits: Art. 2 conditions, take-up, endorsement and lapse;
- settlement through clauses 四 (towns) and 五 (urban districts): eligibility per person,
  one applicant per household, intention × awareness × action, the family rule; the
intention's hukou-gain term re-evaluated each year per member and service, as ours does
(`intention.hukou_gain` with `services.entitled`: a permit's value changes as members
gain years of residence and insurance).

**Not covered**: partnering, migration, school leaving, enterprises, the talent and
investment channels, urban villages, service costs, fiscal, indicators.

Ours is timed twice: the same four stages (`demography`, `life_course`,
`residence_permit`, `settlement` steps — the fair comparison; ours still does more,
e.g. partnering and the talent and investment channels) and the full model year (all
eleven steps). Random streams differ, so the indicators are compared with their
sampling noise: a z-score per indicator, |z| < 3 passes (settled persons come in
households, so their variance is the sum of squared household sizes).

Times are CPU seconds of this process (``time.process_time``): on a shared machine the
wall time of the same work varies tenfold with the other jobs' load; wall seconds are
printed too.

Run:  python benchmarks/mesa_agents_reference.py [--scale 0.032] [--years 5] [--seed 1]
Target (issue 10): ours ≥ 100× faster per agent-year.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from typing import Any

import mesa
import numpy as np

from sim.model import UrbanizationModel
from sim.pipeline import demography, intention, life_course, residence_permit, settlement
from sim.pipeline.eligibility import _BRINGS
from sim.pipeline.services import SERVICES
from sim.population import (
    CHILD,
    COUNTY_SEAT_TOWN,
    DESIGNATED_TOWN,
    EMPLOYED,
    FARMING,
    HEAD,
    LIAONING,
    LOCAL_RURAL,
    LOCAL_URBAN,
    NO_PERMIT,
    NONE,
    NOT_WORKING,
    OUTSIDE,
    OWN,
    PANJIN,
    PERMIT,
    RENT,
    SELF_EMPLOYED,
    SPOUSE,
    TENURE,
    TOWN,
    URBAN_DISTRICT,
    URBAN_DISTRICT_CHANNEL,
    URBAN_PLACES,
    State,
)
from sim.scenario import load_defaults
from sim.synthesis import synthesize

PERSON_COLUMNS = ("sex", "age", "role", "married", "area", "place", "residence_years",
                  "hukou_area", "hukou_urban", "origin", "village", "settled_year",
                  "settled_channel", "education", "employment", "labour_contract",
                  "legal_person_employer", "job_years", "insured", "insurance_years",
                  "employee_pension", "school_years_local", "permit", "permit_years")
MAX_AGE = 130


class Household(mesa.Agent):
    """A household agent: its members (person agents) and its home."""

    def __init__(self, model: ReferenceModel, tenure: int, landlord_draw: float,
                 homestead: bool, income: float, intention_draw: float,
                 awareness_draw: float) -> None:
        super().__init__(model)
        self.members: list[Person] = []
        self.tenure, self.landlord_draw = tenure, landlord_draw
        self.homestead, self.income = homestead, income
        # the persistent latent draws of `intention.intends` and `intention.aware`
        self.intention_draw = self.random.random() if math.isnan(intention_draw) \
            else intention_draw
        self.awareness_draw = self.random.random() if math.isnan(awareness_draw) \
            else awareness_draw

    def head(self) -> Person | None:
        return next((m for m in self.members if m.role == HEAD), None)

    def permit_conditions_met(self) -> bool:
        """`services.permit_conditions_met`: the best-placed member's years of residence
        and of insurance (counted while insured)."""
        rp = self.model.permit_policy
        return (max(x.residence_years for x in self.members) >= rp.conditional_residence_years
                and max(x.insurance_years if x.insured else 0 for x in self.members)
                >= rp.conditional_insurance_years)

    def hukou_gain(self) -> float:
        """`intention.hukou_gain`: the members' mean share of the services a local urban
        resident gets that they do not."""
        conditions = self.permit_conditions_met()
        return sum(x.gain_share(conditions) for x in self.members) / len(self.members)

    def promote_head(self) -> None:
        """A household whose head died gets its oldest member as head."""
        if self.members and self.head() is None:
            max(self.members, key=lambda m: m.age).role = HEAD

    def decide_settlement(self) -> None:
        """Clauses 四/五: the head (else the first eligible member) applies; the household
        settles when it intends (P(intend) above its fixed draw), is aware (its fixed draw
        below the share aware) and acts this year; the family comes along."""
        m = self.model
        eligible = [x for x in self.members if x.settlement_channel() != NONE]
        if not eligible:
            return
        applicant = next((x for x in eligible if x.role == HEAD), eligible[0])
        if not (self.awareness_draw < m.awareness and self.random.random() < m.action_rate
                and self.intention_draw < applicant.intention()):
            return
        channel = applicant.settlement_channel()
        movers = [applicant] + [x for x in self.members if x is not applicant and (
            x.area == applicant.area and x.place == applicant.place
            and _BRINGS[applicant.role, x.role] and not x.urban_hukou_here())]
        for x in movers:
            x.settle(channel)
        m.settled_households.append(len(movers))


class Person(mesa.Agent):
    """A person agent: the columns of `sim.population.Persons` as attributes."""

    def __init__(self, model: ReferenceModel, household: Household, **attrs: Any) -> None:
        super().__init__(model)
        self.__dict__.update(attrs)
        self.household = household
        household.members.append(self)

    # --- demography -------------------------------------------------------------------
    def age_and_maybe_die(self) -> None:
        m = self.model
        self.age += 1
        if self.random.random() < m.death_q[self.sex][min(self.age, MAX_AGE)]:
            m.deaths += self.area >= 0  # the deaths indicator counts residents
            self.die()

    def die(self) -> None:
        members = self.household.members
        members.remove(self)
        if self.married and self.role in (HEAD, SPOUSE):
            for x in members:
                if x.role in (HEAD, SPOUSE) and x.married:
                    x.married = False
        self.remove()

    def maybe_give_birth(self) -> None:
        m = self.model
        if self.sex != 0 or self.area < 0 or not self.married:
            return
        if self.random.random() >= m.birth_p[min(self.age, MAX_AGE)]:
            return
        m.births += 1
        partner = next((x for x in self.household.members if x is not self
                        and x.role in (HEAD, SPOUSE) and x.married), self)
        parent = self if self.hukou_area >= 0 or partner.hukou_area < 0 else partner
        sex = int(self.random.random() < m.male_share_at_birth)
        if self.random.random() < m.death_q[sex][0]:
            m.deaths += 1
            return
        Person(m, self.household, **{**m.blank_person, "sex": sex, "age": 0, "role": CHILD,
                                      "area": self.area, "place": self.place,
                                      "hukou_area": parent.hukou_area,
                                      "hukou_urban": parent.hukou_urban,
                                      "origin": parent.origin, "village": parent.village})

    # --- life course --------------------------------------------------------------------
    def pupil(self) -> bool:
        return self.model.school_first <= self.age < self.model.school_end

    def work_transition(self) -> None:
        m, w, rnd = self.model, self.model.work, self.random.random
        if self.area >= 0:
            self.residence_years += 1
            if self.pupil():
                self.school_years_local += 1
        else:
            self.school_years_local = 0
        retirement = w.retirement_age_men if self.sex == 1 else w.retirement_age_women
        working_age = (m.school_end <= self.age < retirement) and not self.employee_pension
        past_age = self.age >= retirement
        if past_age:
            self.insured = False
            if self.insurance_years >= m.pension_years:
                self.employee_pension = True
        non_farm = self.employment in (EMPLOYED, SELF_EMPLOYED)
        stops = (non_farm and past_age) or (self.employment == FARMING
                                            and self.age >= w.farming_stop_age)
        stops = stops or (non_farm and rnd() < w.job_loss_rate)
        if stops:
            self.end_job()
        finds = False
        if self.employment == FARMING and working_age:
            exit_rate = (w.farming_exit_rate_in_town if self.place in URBAN_PLACES
                         else w.farming_exit_rate)
            finds = rnd() < exit_rate
            if finds:
                self.end_job()
        elif self.employment == NOT_WORKING and working_age and not stops:
            finds = rnd() < w.entry_rate
        if finds:
            if rnd() < w.self_employed_share:
                self.employment = SELF_EMPLOYED
            else:
                self.employment = EMPLOYED
                self.labour_contract = rnd() < w.contract_share_new_jobs
                self.legal_person_employer = rnd() < w.legal_person_employer_share
        elif self.employment == EMPLOYED and not self.labour_contract:
            self.labour_contract = rnd() < w.contract_rate
        if self.employment in (EMPLOYED, SELF_EMPLOYED):
            if not self.insured:
                rate = (w.insurance_enrolment_rate if self.labour_contract
                        else w.flexible_enrolment_rate)
                self.insured = rnd() < rate
            if not finds:
                self.job_years += 1
        if self.insured:
            self.insurance_years += 1

    def end_job(self) -> None:
        self.employment = NOT_WORKING
        self.job_years = 0
        self.labour_contract = self.legal_person_employer = self.insured = False

    def stable_job(self) -> bool:
        return ((self.employment == EMPLOYED and self.labour_contract)
                or self.employment == SELF_EMPLOYED)

    # --- residence permit ---------------------------------------------------------------
    def renew_permit(self) -> None:
        m, rp = self.model, self.model.permit_policy
        home = self.household
        ok = (bool(rp.available) and self.area >= 0 and self.hukou_area == OUTSIDE
              and self.residence_years >= rp.min_residence_years
              and (self.stable_job() or home.tenure in (OWN, RENT)
                   or (self.age < m.school_end and self.school_years_local >= 1)))
        if self.permit:
            if ok:
                self.permit_years += 1
            else:
                self.permit, self.permit_years = False, 0
            return
        factor = m.school_children_factor if any(x.pupil() for x in home.members) else 1.0
        if ok and self.random.random() < min(m.permit_take_up * factor, 1.0):
            self.permit, self.permit_years = True, 1
            m.permits_issued += 1

    # --- services (clause 十一) -------------------------------------------------------------
    def status(self) -> int:
        """`services.status_of`."""
        if self.hukou_area != OUTSIDE:
            return LOCAL_URBAN if self.hukou_urban else LOCAL_RURAL
        return PERMIT if self.permit else NO_PERMIT

    def entitled(self, service: str, status: int, conditions: bool) -> bool:
        """`services.entitled` for this person under ``status``."""
        m = self.model
        if self.area == OUTSIDE or service not in m.enabled_services:
            return False
        if service in m.outright[status]:
            return True
        if status != PERMIT:
            return False
        return ((service in m.conditional_only and conditions)
                or (service == "senior_secondary"
                    and self.school_years_local >= m.permit_policy.exam_schooling_years))

    def gain_share(self, conditions: bool) -> float:
        """Share of the services open to a local urban resident that this person lacks."""
        now = self.status()
        possible = gained = 0
        for service in SERVICES:
            if self.entitled(service, LOCAL_URBAN, conditions):
                possible += 1
                gained += not self.entitled(service, now, conditions)
        return gained / possible if possible else 0.0

    # --- settlement (clauses 四, 五) -------------------------------------------------------
    def urban_hukou_here(self) -> bool:
        return self.hukou_urban and self.hukou_area == self.area

    def settlement_channel(self) -> int:
        """TOWN or URBAN_DISTRICT_CHANNEL if the person passes clause 四 or 五, else NONE."""
        m, home = self.model, self.household
        if self.area < 0 or self.urban_hukou_here():
            return NONE
        consent = home.tenure == RENT and home.landlord_draw < m.consent_share
        if not (home.tenure != RENT or consent or m.collective_household):
            return NONE
        if self.place in (COUNTY_SEAT_TOWN, DESIGNATED_TOWN):
            return TOWN if home.tenure in m.town_tenures else NONE
        ud = m.ud_policy
        if (self.place != URBAN_DISTRICT or home.tenure not in m.ud_tenures
                or self.residence_years < ud.residence_years):
            return NONE
        if ud.requires_stable_job and not (self.stable_job()
                                           and self.job_years >= ud.job_years):
            return NONE
        if ud.insurance_years > 0 and not (self.insured
                                           and self.insurance_years >= ud.insurance_years):
            return NONE
        return URBAN_DISTRICT_CHANNEL

    def intention(self) -> float:
        """`sim.pipeline.intention.intention` for this applicant, term by term."""
        m, b, home = self.model, self.model.intention_coef, self.household
        exam_years = m.permit_policy.exam_schooling_years
        children = any(x.pupil() and x.hukou_area == OUTSIDE
                       and x.school_years_local < exam_years for x in home.members)
        income = home.income / max(len(home.members), 1)
        u = (b.intercept
             + b.education * (b.school_years_by_education[self.education] - 9)
             + b.log_income * math.log(max(income, b.income_floor) / b.income_reference)
             + b.intra_province * (self.origin in (PANJIN, LIAONING))
             + b.insured * (self.insurance_years > 0)
             + b.married * self.married
             + b.years_here * min(self.residence_years, b.years_here_cap)
             + b.age_over_39 * max(self.age - 39, 0) * (1 + b.homestead_age_boost
                                                        * home.homestead)
             + b.female * (self.sex == 0)
             + b.rural_hukou * (not self.hukou_urban)
             + b.owns_home * (home.tenure == OWN)
             + b.labour_contract * self.labour_contract * (1 - b.homestead_contract_damping
                                                           * home.homestead)
             + b.school_children * children
             + b.hukou_gain * home.hukou_gain()
             + b.peers * m.peer_share(self))
        return 1.0 / (1.0 + math.exp(-u)) * (1 - b.homestead_effect * home.homestead)

    def settle(self, channel: int) -> None:
        self.hukou_area, self.hukou_urban = self.area, True
        self.settled_year, self.settled_channel = self.model.year, channel
        self.permit, self.permit_years = False, 0


class ReferenceModel(mesa.Model):
    """The covered stages of the yearly pipeline with one Mesa agent per person and household."""

    def __init__(self, state: State, scenario: Any, seed: int) -> None:
        super().__init__(rng=seed)
        self.scenario, self.year = scenario, state.year
        h = state.households
        homes = [Household(self, int(h.tenure[i]), float(h.landlord_draw[i]),
                           bool(h.homestead[i]), float(h.income[i]),
                           float(h.intention_draw[i]), float(h.awareness_draw[i]))
                 for i in range(len(h))]
        cols = {c: getattr(state.persons, c).tolist() for c in PERSON_COLUMNS}
        for i, home in enumerate(state.persons.household.tolist()):
            Person(self, homes[home], **{c: cols[c][i] for c in PERSON_COLUMNS})
        self.blank_person = {c: 0 for c in PERSON_COLUMNS} | {
            "married": False, "hukou_urban": False, "labour_contract": False,
            "legal_person_employer": False, "insured": False, "employee_pension": False,
            "permit": False, "settled_year": NONE, "settled_channel": NONE, "village": NONE}
        self.deaths = self.births = self.permits_issued = 0
        self.settled_households: list[int] = []

    def _parameters(self, p: Any) -> None:
        """The year's parameters and lookup tables from the model's own functions."""
        d, lc = p.demography, p.life_course
        ages = np.arange(MAX_AGE + 1)
        self.death_q = [demography.death_probability(ages, np.full(ages.size, s), d).tolist()
                        for s in (0, 1)]
        n = len(d.fertility.age_shape)
        groups = demography.group_of(ages, d.fertility.first_age, n)
        total, married = np.zeros(n), np.zeros(n)
        # ageing happens before births: a woman's group and table age are her age after
        # this year's ageing, as in `demography.step` (by the age before ageing, the
        # reference's births were 4–11% below ours over seeds 1–3)
        for x in self.agents_by_type[Person]:
            if x.sex == 0 and x.area >= 0:
                total[groups[min(x.age + 1, MAX_AGE)]] += 1
                married[groups[min(x.age + 1, MAX_AGE)]] += x.married
        share = np.divide(married, total, out=np.zeros(n), where=total > 0)
        self.birth_p = demography.birth_probability(ages, d, share).tolist()
        self.male_share_at_birth = d.fertility.male_share_at_birth
        self.school_first, self.school_end = lc.schooling.ages
        self.work, self.pension_years = lc.work, lc.pension.minimum_contribution_years
        self.permit_policy = p.policy.residence_permit
        self.permit_take_up = p.behaviour.permit.take_up
        self.school_children_factor = p.behaviour.permit.school_children_factor
        pol = p.policy
        self.consent_share = pol.landlord_consent_share
        self.collective_household = bool(pol.community_collective_household)
        self.town_tenures = {TENURE.index(t) for t in pol.town.residence_tenures}
        self.ud_policy = pol.urban_district
        self.ud_tenures = {TENURE.index(t) for t in pol.urban_district.residence_tenures}
        self.intention_coef = p.behaviour.intention
        ent, rp = p.services.entitlement, p.policy.residence_permit
        self.outright = {LOCAL_URBAN: set(ent.local_urban), LOCAL_RURAL: set(ent.local_rural),
                         NO_PERMIT: set(ent.no_permit), PERMIT: set(rp.immediate_services)}
        self.conditional_only = set(rp.conditional_services) - set(rp.immediate_services)
        self.enabled_services = {s for s in SERVICES if "enabled" not in getattr(
            p.services, s) or getattr(p.services, s).enabled}
        self.awareness = intention.awareness(p.year, p.behaviour)
        self.action_rate = p.behaviour.settlement.action_rate

    def _peer_counts(self) -> None:
        members: dict[tuple, int] = {}
        done: dict[tuple, int] = {}
        for x in self.agents_by_type[Person]:
            keys = []
            if x.village >= 0:
                keys.append(("v", x.village))
            if x.origin != PANJIN and x.area >= 0:
                keys.append(("o", x.area, x.origin))
            for k in keys:
                members[k] = members.get(k, 0) + 1
                done[k] = done.get(k, 0) + (x.settled_channel != NONE)
        self._peers = {k: done[k] / members[k] for k in members}

    def peer_share(self, x: Person) -> float:
        """`intention.peer_share`: same-origin migrants in the area, else the village."""
        if x.origin != PANJIN and x.area >= 0:
            return self._peers[("o", x.area, x.origin)]
        return self._peers.get(("v", x.village), 0.0) if x.village >= 0 else 0.0

    def step(self) -> None:
        """One year: demography, life course, residence permits, settlement (四/五)."""
        self.year += 1
        p = self.scenario.at(self.year)
        persons = self.agents_by_type[Person]
        self._parameters(p)  # married shares before this year's deaths, as ours
        persons.shuffle_do("age_and_maybe_die")
        self.agents_by_type[Person].shuffle_do("maybe_give_birth")
        self.agents_by_type[Household].do("promote_head")
        self.agents_by_type[Person].shuffle_do("work_transition")
        self.agents_by_type[Person].shuffle_do("renew_permit")
        self._peer_counts()
        self.agents_by_type[Household].shuffle_do("decide_settlement")


def four_stages(state: State, scenario: Any, rng: np.random.Generator) -> dict:
    """Our vectorized year restricted to the stages the reference covers; the year's flows."""
    p = scenario.at(state.year + 1)
    flows = demography.step(state, p, rng)
    life_course.step(state, p, rng)
    residence_permit.step(state, p, rng)
    settlement.step(state, p, rng)
    state.year += 1
    return flows


def z_score(a: float, b: float, var_a: float, var_b: float) -> float:
    """(a − b) / sampling standard error."""
    return (a - b) / math.sqrt(max(var_a + var_b, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.032)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = load_defaults().with_overrides(
        {"run.scale": args.scale, "run.end_year": 2015 + args.years, "run.seed": args.seed})
    base, _ = synthesize(args.scale, np.random.default_rng(args.seed))
    n0 = len(base.persons)
    print(f"population      {n0:,} persons, {len(base.households):,} households "
          f"(scale {args.scale}), {args.years} years from {base.year}")

    # ours, the four covered stages
    state, rng = copy.deepcopy(base), np.random.default_rng(args.seed + 1)
    agent_years, deaths, births = 0, 0.0, 0.0
    t0, w0 = time.process_time(), time.perf_counter()
    for _ in range(args.years):
        agent_years += len(state.persons)
        flows = four_stages(state, scenario, rng)
        deaths += flows[("deaths", "")].sum()
        births += flows[("births", "")].sum()
    t_ours, w_ours = time.process_time() - t0, time.perf_counter() - w0
    weight = float(base.persons.weight[0])  # every agent stands for 1/scale persons
    deaths, births = round(deaths / weight), round(births / weight)
    settled = state.persons.settled_channel
    ours = {"settled persons (四+五)": int(np.isin(settled, (TOWN, URBAN_DISTRICT_CHANNEL)).sum()),
            "persons at end": len(state.persons)}

    # ours, the full model year (all eleven steps), same population
    model = UrbanizationModel(scenario)
    full_years = 0
    t0, w0 = time.process_time(), time.perf_counter()
    while model.running and model.year < scenario.run.end_year:
        full_years += len(model.state.persons)
        model.step()
    t_full, w_full = time.process_time() - t0, time.perf_counter() - w0

    # the idiomatic Mesa reference
    t0 = time.process_time()
    ref = ReferenceModel(copy.deepcopy(base), scenario, args.seed + 2)
    t_setup = time.process_time() - t0
    ref_years = 0
    t0, w0 = time.process_time(), time.perf_counter()
    for _ in range(args.years):
        ref_years += len(ref.agents_by_type[Person])
        ref.step()
        print(f"  reference year {ref.year} done ({time.process_time() - t0:.1f} CPU s)",
              file=sys.stderr, flush=True)
    t_ref, w_ref = time.process_time() - t0, time.perf_counter() - w0
    ref_settled = sum(1 for x in ref.agents_by_type[Person]
                      if x.settled_channel in (TOWN, URBAN_DISTRICT_CHANNEL))
    ref_sizes = np.asarray(ref.settled_households, float)

    per_ours, per_full, per_ref = (t_ours / agent_years, t_full / full_years,
                                   t_ref / ref_years)
    print(f"ours, 4 stages  {t_ours:8.2f} CPU s  {per_ours * 1e6:8.3f} µs per person-year  "
          f"({w_ours:.2f} s wall)")
    print(f"ours, full year {t_full:8.2f} CPU s  {per_full * 1e6:8.3f} µs per person-year  "
          f"({w_full:.2f} s wall; all 11 steps)")
    print(f"Mesa reference  {t_ref:8.2f} CPU s  {per_ref * 1e6:8.3f} µs per person-year  "
          f"({w_ref:.2f} s wall; + {t_setup:.1f} CPU s creating agents)")
    print(f"ratio           {per_ref / per_ours:8.1f}× (same stages)   "
          f"{per_ref / per_full:.1f}× (ours doing the full year)   target ≥ 100×")

    base_settled = int(np.isin(base.persons.settled_channel,
                               (TOWN, URBAN_DISTRICT_CHANNEL)).sum())
    mean_size = ref_sizes.mean() if ref_sizes.size else 1.0
    rows = [  # name, ours, reference, variance of ours, variance of the reference
        ("deaths", deaths, ref.deaths, deaths, ref.deaths),
        ("births", births, ref.births, births, ref.births),
        ("settled persons (四+五)", ours["settled persons (四+五)"] - base_settled,
         ref_settled - base_settled,
         (ours["settled persons (四+五)"] - base_settled) * mean_size,
         float((ref_sizes ** 2).sum())),
    ]
    print(f"{'indicator (agents, ' + str(args.years) + ' years)':32} {'ours':>8} "
          f"{'Mesa':>8} {'z':>6}")
    ok = True
    for name, a, b, va, vb in rows:
        z = z_score(a, b, va, vb)
        ok &= abs(z) < 3
        print(f"{name:32} {a:8,} {b:8,} {z:6.2f}{'' if abs(z) < 3 else '  DIFFERS'}")
    print(f"agreement       {'all |z| < 3' if ok else 'NOT within sampling noise'}")
    print(f"persons at end  ours {ours['persons at end']:,}, Mesa "
          f"{len(ref.agents_by_type[Person]):,}")


if __name__ == "__main__":
    main()
