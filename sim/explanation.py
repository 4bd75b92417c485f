"""Why can (or can't) this person settle? Plain-word answers citing the clause.

`explain` runs every channel's rule and the residence-permit rule on one person and returns a
JSON-able dict; `format_explanation` prints it. Behind ``hukou-sim explain SCENARIO --agent ID
--year Y``. Passing a rule makes a person *eligible*; whether they settle this year is a
household choice (`sim.pipeline.settlement`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.areas import load_areas
from sim.pipeline.eligibility import RULES
from sim.pipeline.residence_permit import may_hold
from sim.population import CHANNELS, NONE, ORIGINS, OUTSIDE, PLACES, State

CLAUSE = {"town": "四", "urban_district": "五", "talent": "六", "investment": "七"}

# Plain words for a failed condition; "{…}" fields are filled from the year's parameters.
_WHY = {
    "lives_in_panjin": "does not live in Panjin",
    "not_urban_hukou_here": "already holds an urban hukou of the area where they live",
    "lives_in_town": "does not live in a county-seat town or designated town (建制镇)",
    "lives_in_urban_district": "does not live in the urban districts (城区)",
    "stable_residence": "housing is not a legal stable residence here (counted: {tenures})",
    "residence_years": "has lived here too few years (needs {ud.residence_years})",
    "registration_place": ("rents, the landlord refuses registration at the address, and no "
                           "community collective household (社区集体户, clause 九) exists"),
    "stable_job": ("has no legal stable job (an employee with a labour contract, or "
                   "self-employed)"),
    "job_years": "has held a stable job too few years (needs {ud.job_years})",
    "social_insurance": ("does not contribute to urban social insurance now or has too few "
                         "cumulative contribution years (needs {ud.insurance_years})"),
    "education": "is not a graduate of a qualifying school ({talent_education})",
    "vocational_cert": ("graduated from a technical or vocational school (技校/职高) without a "
                        "primary vocational qualification"),
    "labour_contract": "is not hired on a labour contract filed with the HR bureau",
    "legal_person_employer": ("the employer is not a legal-person unit (法人单位; an individual "
                              "business 个体工商户 is not one)"),
    "enterprise_rep": "is not the legal representative (法定代表人) of an enterprise",
    "business_premises": "the enterprise has no fixed business premises",
    "business_licence": "the enterprise has no business licence",
    "tax_record": ("has neither {inv.tax_years} year(s) of tax receipts nor proof of tax "
                   "relief"),
    "min_investment": "the investment is below the minimum of {inv.min_investment:,.0f} yuan",
    "permits_issued": "no residence permits are issued this year",
    "no_panjin_hukou": "holds a Panjin hukou (a permit is for people registered elsewhere)",
    "residence_half_year": ("has lived in Panjin too short a time (the statute's 6 months: "
                            "{rp.min_residence_years} yearly steps)"),
    "job_residence_or_study": "has neither a stable job, a stable residence nor local schooling",
}


def _reason(condition: str, channel: str, p: Any) -> str:
    pol = p.policy
    tenures = (pol.town.residence_tenures if channel == "town"
               else pol.urban_district.residence_tenures)
    return _WHY[condition].format(
        ud=pol.urban_district, inv=pol.investment, rp=pol.residence_permit,
        tenures=", ".join(tenures), talent_education=", ".join(
            list(pol.talent.education)
            + (["technical_school with certificate"]
               if pol.talent.technical_school_with_certificate else [])))


def _household_state(state: State, row: int) -> tuple[State, int]:
    """The person's household alone (the rules are per person, so this is exact and cheap)."""
    persons = state.persons
    rows = np.flatnonzero(persons.household == persons.household[row])
    sub = State(persons.take(rows), state.households, state.year, state.next_person_id,
                state.next_household_id)
    return sub, int(np.flatnonzero(rows == row)[0])


def explain(state: State, p: Any, person_id: int) -> dict[str, Any]:
    """Channels passed, each failed channel's failing conditions (in plain words, with the
    clause), and the residence permit: held, years, and whether its conditions hold."""
    persons = state.persons
    found = np.flatnonzero(persons.id == person_id)
    if not len(found):
        raise KeyError(f"no person with id {person_id} in {state.year}")
    sub, i = _household_state(state, int(found[0]))
    one = sub.persons
    areas = load_areas()
    area = int(one.area[i])
    hukou_area = int(one.hukou_area[i])
    channels = {}
    for code, rule in RULES.items():
        name = CHANNELS[code]
        e = rule(sub, p)
        channels[name] = {
            "clause": CLAUSE[name],
            "passed": bool(e.passed[i]),
            "failed": [{"condition": c, "reason": _reason(c, name, p)} for c in e.reasons(i)],
        }
    permit = may_hold(sub, p)
    settled_channel = int(one.settled_channel[i])
    return {
        "person_id": int(person_id),
        "year": int(getattr(p, "year", state.year)),
        "age": int(one.age[i]),
        "lives": {"area": areas.ids[area] if area != OUTSIDE else "outside",
                  "place": PLACES[int(one.place[i])],
                  "residence_years": int(one.residence_years[i])},
        "hukou": {"area": areas.ids[hukou_area] if hukou_area != OUTSIDE else "outside",
                  "urban": bool(one.hukou_urban[i]),
                  "origin": ORIGINS[int(one.origin[i])],
                  "settled_year": None if one.settled_year[i] == NONE
                  else int(one.settled_year[i]),
                  "settled_channel": None if settled_channel == NONE
                  else CHANNELS[settled_channel]},
        "channels_passed": [n for n, c in channels.items() if c["passed"]],
        "channels": channels,
        "residence_permit": {
            "clause": "十一; 居住证暂行条例 Art. 2, 10",
            "holds": bool(one.permit[i]),
            "years": int(one.permit_years[i]),
            "may_hold": bool(permit.passed[i]),
            "failed": [{"condition": c, "reason": _reason(c, "", p)} for c in permit.reasons(i)],
        },
    }


def behaviour(state: State, p: Any, person_id: int) -> dict[str, Any]:
    """The settlement decision of a person's household this year (`sim.pipeline.intention`):
    the chance of intending, whether the household intends (its fixed draw) and knows of the
    reform, the share of households aware, and the yearly chance to act once eligible,
    intending and aware."""
    from sim.pipeline import intention

    row = np.flatnonzero(state.persons.id == person_id)
    return {
        "intention": float(intention.probability(state, p, row)[0]),
        "intends": bool(intention.intends(state, p, row)[0]),
        "aware": bool(intention.aware(state, p, row)[0]),
        "awareness": intention.awareness(p.year, p.behaviour),
        "chance_to_act": float(p.behaviour.settlement.action_rate),
    }


def format_behaviour(b: dict[str, Any]) -> str:
    """One line for `behaviour`."""
    return (f"behaviour: chance of intending to settle {b['intention']:.1%} (this household "
            f"{'intends' if b['intends'] else 'does not intend'}; it "
            f"{'knows' if b['aware'] else 'does not yet know'} of the reform); if eligible, "
            f"aware and intending, it acts with a yearly chance of {b['chance_to_act']:.0%}")


def format_explanation(d: dict[str, Any]) -> str:
    """The explanation as text for the terminal."""
    h, lives = d["hukou"], d["lives"]
    where = "from outside Panjin" if h["area"] == "outside" else f"of {h['area']}"
    hukou = f"{'urban' if h['urban'] else 'rural'} hukou {where} (origin {h['origin']})"
    if h["settled_channel"]:
        hukou += f", settled {h['settled_year']} through {h['settled_channel']}"
    lines = [
        f"person {d['person_id']}, {d['year']}: age {d['age']}, lives in {lives['area']} "
        f"({lives['place']}, {lives['residence_years']} years), {hukou}",
        "channels passed: " + (", ".join(d["channels_passed"]) or "none"),
    ]
    for name, c in d["channels"].items():
        mark = "passes" if c["passed"] else "fails"
        lines.append(f"  {name} (clause {c['clause']}): {mark}")
        lines += [f"    - {f['reason']}" for f in c["failed"]]
    rp = d["residence_permit"]
    held = f"holds one, {rp['years']} years" if rp["holds"] else "holds none"
    lines.append(f"residence permit (clause {rp['clause']}): {held}; "
                 f"{'may hold one' if rp['may_hold'] else 'may not hold one'}")
    lines += [f"    - {f['reason']}" for f in rp["failed"]]
    return "\n".join(lines)
