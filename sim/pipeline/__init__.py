"""The yearly pipeline, one module per step, in the order `sim.model` runs them.

Every step has the signature ``step(state, p, rng) -> Flows``: it updates the
state in place through the module's pure functions and returns the year's
flows (event counts, costs, transfers) per area.

``Flows`` maps ``(indicator, category)`` to an array with one value per area
(``category`` is ``""`` when there is no breakdown). City totals are added by
`sim.pipeline.indicators`, so steps never compute them.
"""

from __future__ import annotations

import numpy as np

Flows = dict[tuple[str, str], np.ndarray]


def per_area(values: np.ndarray, area: np.ndarray, n_areas: int,
             weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``weights`` (or of ``values`` where it is boolean) per area.

    Rows with an area outside ``0..n_areas-1`` (people living outside Panjin)
    are ignored.

    >>> per_area(np.array([True, True, False]), np.array([0, 1, 1]), 2).tolist()
    [1.0, 1.0]
    """
    inside = (area >= 0) & (area < n_areas)
    if values.dtype == np.bool_:
        w = np.ones(len(values)) if weights is None else weights
        mask = values & inside
        return np.bincount(area[mask], weights=w[mask], minlength=n_areas)
    w = values if weights is None else values * weights
    return np.bincount(area[inside], weights=w[inside], minlength=n_areas)
