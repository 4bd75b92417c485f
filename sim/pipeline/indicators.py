"""Step 11, data collection: stocks and the year's flows as tidy indicator rows.

Stocks (populations, permit holders) are read off the state; flows (births,
settlements, costs …) come from the earlier steps. The city row (`panjin`) is
the sum of the areas, except for rates, which are recomputed from the summed
numerator and denominator.

Example
-------
>>> import numpy as np
>>> rows = city_rows({("births", ""): np.array([1.0, 2.0])})
>>> rows[("births", "")]
3.0
"""

from __future__ import annotations

import numpy as np

from sim.pipeline import (
    ByArea,
    Flows,
    area_index,
    counts_by_area,
    per_area,
    sum_by_area,
    uniform_weight,
)
from sim.population import URBAN_PLACES, Persons, State, one_of

COLUMNS = ("scenario", "replicate", "year", "area", "indicator", "category", "value")

# The statistical bulletins' "60 岁及以上" (aged 60 and over): a definition of the figures
# the model is checked against, not a behaviour.
BULLETIN_OLD_AGE = 60

# rate indicator -> (numerator, denominator), each an indicator with category ""
RATES = {
    "resident_urbanization_rate": ("resident_urban_population", "resident_population"),
    "registered_urbanization_rate": ("registered_urban_population", "registered_population"),
}


def stocks(state: State, n_areas: int) -> ByArea:
    """Population stocks at the end of the year, by area."""
    p = state.persons
    weight = uniform_weight(p.weight)
    out = None if weight is None else _counted_stocks(p, n_areas, weight)
    out = _weighted_stocks(p, n_areas) if out is None else out
    for rate, (num, den) in RATES.items():
        out[(rate, "")] = _ratio(out[(num, "")], out[(den, "")])
    return out


def _weighted_stocks(p: Persons, n_areas: int) -> ByArea:
    """The stocks as sums of the persons' weights (agents of unequal weight)."""
    w = p.weight.astype(float)
    here, registered = area_index(p.area, n_areas), area_index(p.hukou_area, n_areas)

    def total(index: np.ndarray, area: np.ndarray, where: np.ndarray | None = None
              ) -> np.ndarray:  # a rare ``where`` (permits, the old) sums its rows only
        return (sum_by_area(index, w, n_areas) if where is None
                else per_area(where, area, n_areas, w, index))

    return {
        ("resident_population", ""): total(here, p.area),
        ("resident_urban_population", ""): total(here, p.area, one_of(p.place, URBAN_PLACES)),
        ("registered_population", ""): total(registered, p.hukou_area),
        ("registered_urban_population", ""): total(registered, p.hukou_area, p.hukou_urban),
        ("registered_population_aged_60_plus", ""): total(registered, p.hukou_area,
                                                          p.age >= BULLETIN_OLD_AGE),
        ("residence_permit_holders", ""): total(here, p.area, p.permit),
    }


def _counted_stocks(p: Persons, n_areas: int, weight: float) -> ByArea | None:
    """`stocks` when every agent carries ``weight`` (`uniform_weight`): persons counted per
    area and two yes/no attributes (`counts_by_area`, two counts instead of six weighted
    sums), times the weight: the same bits. None if the areas are too many to count so."""
    def counts(area: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray | None:
        return counts_by_area(area, first.view(np.uint8) * np.uint8(2) | second.view(np.uint8),
                              4, n_areas)

    here = counts(p.area, one_of(p.place, URBAN_PLACES), p.permit)
    registered = counts(p.hukou_area, p.hukou_urban, p.age >= BULLETIN_OLD_AGE)
    if here is None or registered is None:
        return None

    def total(table: np.ndarray, columns: list[int]) -> np.ndarray:
        return table[:, columns].sum(axis=1) * weight

    return {
        ("resident_population", ""): total(here, [0, 1, 2, 3]),
        ("resident_urban_population", ""): total(here, [2, 3]),
        ("registered_population", ""): total(registered, [0, 1, 2, 3]),
        ("registered_urban_population", ""): total(registered, [2, 3]),
        ("registered_population_aged_60_plus", ""): total(registered, [1, 3]),
        ("residence_permit_holders", ""): total(here, [1, 3]),
    }


def add_flows(total: Flows, new: Flows) -> Flows:
    """Add ``new`` into ``total`` in place, summing flows two steps both report.

    >>> add_flows({("births", ""): np.ones(2)}, {("births", ""): np.ones(2)})[("births", "")]
    array([2., 2.])
    """
    for key, value in new.items():
        total[key] = total[key] + value if key in total else value
    return total


def hukou_moves(hukou_area_before: np.ndarray, persons: Persons, n_areas: int) -> Flows:
    """Hukou moves into and out of each area since ``hukou_area_before`` (same rows).

    A migrant who settles moves a hukou in; a Panjin hukou settling in another
    area moves out of one area and into the other.
    """
    moved = hukou_area_before != persons.hukou_area
    w = persons.weight
    return {("hukou_moves_in", ""): per_area(moved, persons.hukou_area, n_areas, w),
            ("hukou_moves_out", ""): per_area(moved, hukou_area_before, n_areas, w)}


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray | float:
    return np.divide(num, den, out=np.zeros_like(np.asarray(num, float)),
                     where=np.asarray(den) > 0) if np.ndim(num) else (num / den if den else 0.0)


def city_rows(values: Flows) -> dict[tuple[str, str], float]:
    """City totals: sums of the areas, rates recomputed from their parts."""
    city = {key: float(v.sum()) for key, v in values.items() if key[0] not in RATES}
    for rate, (num, den) in RATES.items():
        if (num, "") in city and (den, "") in city:
            city[(rate, "")] = float(_ratio(city[(num, "")], city[(den, "")]))
    return city


def rows(values: Flows, year: int, area_ids: tuple[str, ...], city_id: str,
         scenario: str, replicate: int) -> list[tuple]:
    """Tidy rows (see `COLUMNS`) for every area and the city, sorted by key."""
    out = []
    city = city_rows(values)
    for (indicator, category) in sorted(values):
        v = values[(indicator, category)]
        for i, area in enumerate(area_ids):
            out.append((scenario, replicate, year, area, indicator, category, float(v[i])))
        out.append((scenario, replicate, year, city_id, indicator, category,
                    city[(indicator, category)]))
    return out
