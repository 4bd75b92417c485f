"""Model vs observed (sim.validation): roles, changes, naive baseline, statistical units."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.validation import (
    load_observations,
    naive_forecast,
    observation_value,
    validation_table,
)


def frame(values: dict[tuple[int, str, str], float], replicates: int = 1) -> pd.DataFrame:
    rows = [{"scenario": "s", "replicate": r, "year": y, "area": a, "indicator": i,
             "category": "", "value": v * (1 + 0.01 * r)}
            for r in range(replicates) for (y, a, i), v in values.items()]
    return pd.DataFrame(rows)


def test_calibration_and_out_of_sample_are_apart_and_nothing_after_2020_is_fitted():
    obs = load_observations()
    assert {o["role"] for o in obs} == {"calibration", "out_of_sample"}
    assert all(o["year"] <= 2020 for o in obs if o["role"] == "calibration")
    assert all(o["year"] > 2020 for o in obs if o["role"] == "out_of_sample")
    from sim.calibration import load_config
    free = len(load_config()["free"])
    assert sum(o["role"] == "calibration" for o in obs) > free


def test_statistical_unit_sums_members_and_rebuilds_rates():
    f = frame({(2021, "dawa", "registered_population"): 300.0,
               (2021, "liaodongwan", "registered_population"): 100.0,
               (2021, "dawa", "registered_urban_population"): 100.0,
               (2021, "liaodongwan", "registered_urban_population"): 100.0})
    totals = f.set_index(["year", "area", "indicator"]).value
    rate = {"indicator": "registered_urbanization_rate", "area": "dawa_district", "year": 2021}
    assert observation_value(totals, rate) == pytest.approx(0.5)  # not the mean of 1/3 and 1


def test_a_change_is_the_difference_between_two_years():
    f = frame({(2021, "panshan", "registered_population"): 1000.0,
               (2022, "panshan", "registered_population"): 990.0})
    totals = f.set_index(["year", "area", "indicator"]).value
    obs = {"indicator": "registered_population", "area": "panshan", "year": 2022,
           "change_from": 2021}
    assert observation_value(totals, obs) == pytest.approx(-10.0)


def test_crude_rates_per_thousand_residents():
    f = frame({(2019, "panjin", "births"): 65.0, (2019, "panjin", "resident_population"): 1e4})
    totals = f.set_index(["year", "area", "indicator"]).value
    obs = {"indicator": "crude_birth_rate", "area": "panjin", "year": 2019}
    assert observation_value(totals, obs) == pytest.approx(6.5)


def test_naive_forecast_extrapolates_the_trend_of_earlier_figures():
    obs = [{"indicator": "x", "area": "a", "year": 2020, "observed": 100.0},
           {"indicator": "x", "area": "a", "year": 2021, "observed": 98.0},
           {"indicator": "x", "area": "a", "year": 2023, "observed": 90.0}]
    assert naive_forecast(obs[2], obs) == pytest.approx(94.0)   # 98 − 2 × 2
    assert naive_forecast(obs[1], obs) == pytest.approx(100.0)  # one earlier figure: flat
    assert naive_forecast(obs[0], obs) is None
    assert naive_forecast({**obs[2], "change_from": 2021}, obs) == 0.0


def test_table_has_roles_means_over_replicates_and_bands():
    obs = [{"role": "out_of_sample", "indicator": "resident_population", "area": "panjin",
            "year": 2021, "observed": 100.0, "source": "x"},
           {"role": "calibration", "indicator": "resident_population", "area": "panjin",
            "year": 2020, "observed": 100.0, "source": "x"}]
    f = frame({(2020, "panjin", "resident_population"): 100.0,
               (2021, "panjin", "resident_population"): 110.0}, replicates=3)
    t = validation_table(f, obs)
    assert t.role.tolist() == ["out_of_sample", "calibration"]
    assert t.model[0] == pytest.approx(110 * 1.01)  # mean of 110, 111.1, 112.2
    assert t.runs[0] == 3 and t.model_p5[0] < t.model[0] < t.model_p95[0]
    assert t.naive_forecast[0] == pytest.approx(100.0) and pd.isna(t.naive_forecast[1])
