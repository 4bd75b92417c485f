"""Administrative divisions in force (行政区划, part of pipeline step 1).

When a county becomes a district (撤县设区) its county-seat town (县政府驻地镇) becomes
sub-districts (街道) of the city's urban districts (城区): from that year its residents live in
an urban district and settle under clause 五 instead of clause 四. The years come from
``sim/data/areas.toml`` (``county_seat_becomes_district``); Dawa: 2016 (国函〔2016〕53号).
Only the place is reclassified: nobody moves, hukou and residence years are unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows
from sim.population import COUNTY_SEAT_TOWN, URBAN_DISTRICT, State

if TYPE_CHECKING:
    from sim.scenario import YearParameters


def becoming_districts(year: int) -> np.ndarray:
    """Codes of the areas whose county seat joins the urban districts in ``year``."""
    years = load_areas().county_seat_becomes_district
    return np.array([i for i, y in enumerate(years) if y == year], dtype=np.int8)


def step(state: State, p: YearParameters, rng: np.random.Generator | None = None) -> Flows:
    """Reclassify the county-seat town of areas becoming districts this year."""
    areas = becoming_districts(p.year)
    if not areas.size:  # most years: no pass over the persons
        return {}
    persons = state.persons
    seat = np.isin(persons.area, areas) & (persons.place == COUNTY_SEAT_TOWN)
    persons.place[seat] = URBAN_DISTRICT
    return {}
