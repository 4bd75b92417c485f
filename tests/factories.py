"""Small hand-built states and parameters for the unit tests."""

from __future__ import annotations

import numpy as np

from sim.population import DESIGNATED_TOWN, OWN, PANJIN, Households, Persons, State
from sim.scenario import YearParameters, load_defaults


def make_state(n: int = 1, year: int = 2016, household: list[int] | None = None,
               tenure: int | list[int] = OWN, landlord_consent: bool | list[bool] = False,
               **columns) -> State:
    """``n`` adults (30) in area 0, each in their own household unless ``household`` says,
    with a Panjin rural hukou of area 0 (village 0), living in a designated town, weight 1;
    ``columns`` override any person column."""
    t = Persons.empty(n)
    t.id[:] = np.arange(n) + 100
    t.household[:] = np.arange(n) if household is None else household
    t.weight[:] = 1.0
    t.age[:] = 30
    t.area[:] = 0
    t.place[:] = DESIGNATED_TOWN
    t.hukou_area[:] = 0
    t.origin[:] = PANJIN
    t.village[:] = 0
    for name, value in columns.items():
        getattr(t, name)[:] = value
    h = Households.empty(int(t.household.max()) + 1 if n else 0)
    h.id[:] = np.arange(len(h))
    h.tenure[:] = tenure
    h.landlord_draw[:] = np.where(landlord_consent, 0.0, 1.0)  # below / above any share
    return State(t, h, year, n + 100, len(h))


def params(year: int = 2016, **overrides) -> YearParameters:
    """Default parameters in force in ``year``; overrides by dotted name."""
    s = load_defaults()
    return (s.with_overrides(overrides) if overrides else s).at(year)
