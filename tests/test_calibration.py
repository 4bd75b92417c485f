"""The point estimate of a calibration set (`sim.calibration.pick_point`): a posterior
member among the best-fitting, the one nearest the posterior's medians."""

import numpy as np
import pandas as pd
import pytest

from sim.calibration import load_config, pick_point

FREE = {f["parameter"]: f for f in load_config()["free"]}
ACTION = "behaviour.settlement.action_rate"
ARRIVAL = "migration.arrival_rate"


def _ranking(n: int, action: list[float], arrival: list[float]) -> pd.DataFrame:
    return pd.DataFrame({ARRIVAL: arrival, ACTION: action, "member": np.arange(n),
                         "distance": np.linspace(1.0, 2.0, n), "weight": 1.0 / n})


def test_the_point_is_the_member_nearest_the_medians_among_the_best_tenth():
    """20 members ranked by distance; the best tenth is the first 2. The medians of the
    sample are action 0.5 (7 members below, 8 at it, 5 above) and arrival 0.01. Member 0
    fits best but has action 0.05; member 1 has 0.45: 0.05 from the median against 0.45, so
    member 1 is kept, although members 2–9 (exactly at the medians) are nearer: they are
    not among the best."""
    action = [0.05, 0.45] + [0.5] * 8 + [0.3] * 5 + [0.7] * 5
    arrival = [0.01] * 20
    chosen = pick_point(_ranking(20, action, arrival), _ranking(20, action, arrival))
    assert chosen.point.tolist() == [False, True] + [False] * 18
    width = FREE[ACTION]["max"] - FREE[ACTION]["min"]
    assert chosen.centrality[1] == pytest.approx(0.05 / width)


def test_centrality_weighs_each_parameter_by_its_prior_range():
    """Two best members, each off the medians in one parameter by the same absolute 0.01:
    the arrival rate's prior range (0–0.04) is far narrower than the action rate's
    (0.05–0.8), so the member off in the arrival rate is the less central."""
    n = 20
    action = [0.5, 0.51] + [0.5] * 18
    arrival = [0.02, 0.01] + [0.01] * 18
    chosen = pick_point(_ranking(n, action, arrival), _ranking(n, action, arrival))
    assert chosen.point.tolist()[:2] == [False, True]


def test_a_single_best_member_is_the_point_when_the_share_rounds_down_to_it():
    ranked = _ranking(4, [0.7, 0.5, 0.5, 0.5], [0.01] * 4)
    assert pick_point(ranked, ranked).point.tolist() == [True, False, False, False]
