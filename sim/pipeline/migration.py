"""Step 4, migration (人口迁移): moves within Panjin, arrivals, departures, returns.

Not modelled yet: the behaviour issue fills this stage with rural-to-town
moves, arrivals from Liaoning and other provinces, departures and returns.
Until then nobody moves, and the flows are reported as zero so that the
population identity (change = births − deaths + arrivals − departures) is
checked on every run from the first one.
"""

from __future__ import annotations

import numpy as np

from sim.areas import load_areas
from sim.pipeline import Flows
from sim.population import State


def step(state: State, p, rng: np.random.Generator) -> Flows:
    """No moves yet: zero arrivals and departures in every area."""
    zeros = np.zeros(len(load_areas()))
    return {("arrivals", ""): zeros, ("departures", ""): zeros.copy(),
            ("hukou_moves_in", ""): zeros.copy(), ("hukou_moves_out", ""): zeros.copy()}
