"""Reading the agents: why one person can or cannot settle now, and their history.

`explain_person` wraps the rule-by-rule explanation of `sim.explanation` with the
household's behaviour (intention to settle, awareness of the reform) for the year the
state describes, as an `Explanation`: a dict that prints as plain text.

`Tracer` records the yearly history of chosen persons while a model runs. It is opt-in
(`sim.model.UrbanizationModel.trace_persons`): an ordinary run has no tracer and pays
nothing. Each row describes a person **at the end of a year**, under that year's rules:
where they live, their hukou and entitlement status, the residence permit, each
channel's verdict with the conditions failed (then the clause), the chance that the
household intends to settle, whether it intends and knows of the reform, and whether they
settled that year. A person's rows end when
they leave the model (die, or leave Panjin for good).

Example
-------
>>> from sim.scenario import load_defaults
>>> from sim.model import UrbanizationModel
>>> model = UrbanizationModel(load_defaults().with_overrides(
...     {"run.scale": 0.002, "run.end_year": 2017}))
>>> person = int(model.persons_frame().query("area != 'outside'").id.iloc[0])
>>> model.trace_persons([person])
>>> model.run()
>>> model.trace(person).year.tolist()
[2015, 2016, 2017]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from sim.explanation import explain, format_explanation
from sim.pipeline import intention, services
from sim.population import STATUSES, State


class Explanation(dict):
    """`sim.explanation.explain`'s answer plus ``behaviour``; ``print`` shows it as text."""

    def __str__(self) -> str:
        b = self["behaviour"]
        return (format_explanation(self) + "\n"
                f"behaviour: chance of intending to settle {b['intention']:.1%} (this household "
                f"{'intends' if b['intends'] else 'does not intend'}; it "
                f"{'knows' if b['aware'] else 'does not yet know'} of the reform); if "
                f"eligible, aware and intending, it acts with a yearly chance of "
                f"{b['action_rate']:.0%}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display
        printer.text(str(self))


def behaviour(state: State, p: Any, rows: np.ndarray) -> dict[str, np.ndarray | float]:
    """For the persons ``rows`` (`sim.pipeline.intention`): the chance that their household
    intends to settle, whether it does (its fixed draw against that chance), whether it knows
    of the reform, and the yearly chance with which an eligible, aware and intending
    household acts."""
    return {"intention": intention.probability(state, p, rows),
            "intends": intention.intends(state, p, rows),
            "aware": intention.aware(state, p, rows),
            "action_rate": float(p.behaviour.settlement.action_rate)}


def explain_person(state: State, p: Any, person_id: int) -> Explanation:
    """Why ``person_id`` can or cannot settle under ``p`` (the parameters of the state's
    year), with the household's behaviour. Raises ``KeyError`` for an unknown id."""
    out = Explanation(explain(state, p, person_id))
    row = np.flatnonzero(state.persons.id == person_id)
    b = behaviour(state, p, row)
    out["behaviour"] = {k: np.asarray(v).ravel()[0].item() for k, v in b.items()}
    return out


def _failed(e: dict[str, Any]) -> str:
    """A channel's verdict in one cell: empty when it passes, else the failed conditions."""
    if e["passed"]:
        return ""
    return "; ".join(f["reason"] for f in e["failed"]) + f" ({e['clause']})"


class Tracer:
    """The yearly history of some persons (`sim.model.UrbanizationModel.trace_persons`)."""

    def __init__(self) -> None:
        self.person_ids: set[int] = set()
        self.rows: list[dict[str, Any]] = []

    def follow(self, person_ids: Iterable[int], state: State, p: Any) -> None:
        """Trace these persons from the state's year on (their row of that year is recorded
        now). Raises ``KeyError`` naming ids that are not in the state."""
        new = {int(i) for i in person_ids} - self.person_ids
        missing = new - set(state.persons.id[np.isin(state.persons.id, list(new))].tolist())
        if missing:
            raise KeyError(f"no person with id {', '.join(map(str, sorted(missing)))} in "
                           f"{state.year}")
        self.person_ids |= new
        self.record(state, p, new)

    def record(self, state: State, p: Any, person_ids: Iterable[int] | None = None) -> None:
        """One row per traced person (or per one of ``person_ids``) still in the state: the
        person at the end of the year."""
        ids = list(self.person_ids if person_ids is None else person_ids)
        rows = np.flatnonzero(np.isin(state.persons.id, ids))
        if not rows.size:
            return
        persons = state.persons
        status = services.status_of(state)[rows]
        b = behaviour(state, p, rows)
        for k, row in enumerate(rows):
            d = explain(state, p, int(persons.id[row]))
            lives, hukou, permit = d["lives"], d["hukou"], d["residence_permit"]
            self.rows.append({
                "person_id": d["person_id"], "year": state.year, "age": d["age"],
                "area": lives["area"], "place": lives["place"],
                "residence_years": lives["residence_years"],
                "hukou_area": hukou["area"], "hukou_urban": hukou["urban"],
                "status": STATUSES[status[k]],
                "permit": permit["holds"], "permit_years": permit["years"],
                "channels_passed": ", ".join(d["channels_passed"]),
                **{f"fails_{name}": _failed(c) for name, c in d["channels"].items()},
                "intention": float(b["intention"][k]),
                "intends": bool(b["intends"][k]), "aware": bool(b["aware"][k]),
                "settled_this_year": hukou["settled_year"] == state.year,
                "settled_channel": hukou["settled_channel"] or "",
            })

    def frame(self, person_id: int | None = None) -> pd.DataFrame:
        """The rows recorded so far, of one person or of all (ordered by person, year)."""
        frame = pd.DataFrame(self.rows)
        if frame.empty:
            return frame
        if person_id is not None:
            if int(person_id) not in self.person_ids:
                raise KeyError(f"person {person_id} is not traced; call "
                               f"model.trace_persons([{person_id}]) before model.run()")
            frame = frame[frame.person_id == int(person_id)]
        return frame.sort_values(["person_id", "year"], kind="stable").reset_index(drop=True)
