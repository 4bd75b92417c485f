"""Model vs observed (sim.validation): roles, changes, naive baseline, statistical units."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.scenario import ScenarioError
from sim.validation import (
    load_observations,
    naive_forecast,
    observation_value,
    out_of_sample_score,
    role,
    validation_table,
)


def frame(values: dict[tuple[int, str, str], float], replicates: int = 1) -> pd.DataFrame:
    rows = [{"scenario": "s", "replicate": r, "year": y, "area": a, "indicator": i,
             "category": "", "value": v * (1 + 0.01 * r)}
            for r in range(replicates) for (y, a, i), v in values.items()]
    return pd.DataFrame(rows)


def test_the_backtest_set_fits_nothing_after_2020_and_the_forecast_set_everything():
    """The backtest calibration's targets are the figures to 2020 (more of them than free
    parameters); every later figure is out of sample for it. The forecast set uses all."""
    from sim.calibration import calibration_observations, load_config
    from sim.scenario.calibrated import calibration_set

    obs = load_observations()
    backtest, forecast = calibration_set("backtest"), calibration_set("forecast")
    assert backtest.through == 2020
    assert all((role(o, 2020) == "calibration") == (o["year"] <= 2020 and not o.get("held_out"))
               for o in obs)
    assert {role(o, 2020) for o in obs} == {"calibration", "out_of_sample"}
    assert all((role(o, forecast.through) == "calibration") == (not o.get("held_out"))
               for o in obs)
    assert all(role(o, None) == "out_of_sample" for o in obs)
    free = len(load_config()["free"])
    assert free < len(calibration_observations(2020)) < len(calibration_observations(2023))


def test_held_out_figures_are_out_of_sample_for_every_set_and_never_fitted():
    """Dawa District's 2023 bulletin and Liaoning's 2021 and 2023 crude rates were added after
    both sets were fitted: they are tested, never fitted, even by the forecast set whose
    ``through`` covers 2023."""
    from sim.calibration import calibration_observations

    obs = load_observations()
    held = [o for o in obs if o.get("held_out")]
    assert {(o["area"], o["year"]) for o in held} == {("dawa_district", 2023), ("panjin", 2021),
                                                      ("panjin", 2023)}
    assert all(role(o, through) == "out_of_sample" for o in held for through in (2020, 2023))
    fitted = calibration_observations(2023)
    assert not any(o.get("held_out") for o in fitted)
    assert len(fitted) == len(obs) - len(held)
    # the table of a run shows them with the naive trend beside them
    f = frame({(y, a, "resident_population"): 400.0 for y in (2021, 2022, 2023)
               for a in ("dawa", "liaodongwan")})
    table = validation_table(f, 2023)
    row = table[(table.indicator == "resident_population") & (table.year == 2023)].iloc[0]
    assert row.role == "out_of_sample"
    assert row.naive_forecast == 422000   # 426,000 (2021), 424,000 (2022): −2,000 a year


def test_the_run_setting_chooses_the_calibrated_values_and_a_scenario_value_wins(tmp_path):
    """``run.calibration`` swaps the overlay of calibrated values; a value the scenario sets
    itself stays whatever the set."""
    from sim.scenario import load_defaults
    from sim.scenario.calibrated import calibration_set, overlay

    name = "behaviour.settlement.action_rate"
    s = load_defaults()
    fitted = {k: overlay(calibration_set(k), s._specs)[name].at(2020)
              for k in ("forecast", "backtest")}
    for k in ("forecast", "backtest"):
        chosen = s.with_overrides({"run.calibration": k})
        assert chosen.calibration.name == k
        assert chosen.at(2020)[name] == fitted[k]
        assert chosen.resolved()[name]["overridden_by"] == calibration_set(k).label
    own = s.with_overrides({name: 0.123}).with_overrides({"run.calibration": "backtest"})
    assert own.at(2020)[name] == 0.123
    with pytest.raises(ScenarioError, match="run.calibration.*allowed|backtest"):
        s.with_overrides({"run.calibration": "nowcast"})


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


def test_naive_forecast_knows_only_what_the_calibration_set_was_fitted_to():
    """A backtest fitted to the figures to 2020 is judged against a trend drawn through
    those same figures, not through the 2021 figure it never saw; a held-out figure is
    never known to the trend either."""
    obs = [{"indicator": "x", "area": "a", "year": 2019, "observed": 104.0},
           {"indicator": "x", "area": "a", "year": 2020, "observed": 100.0},
           {"indicator": "x", "area": "a", "year": 2021, "observed": 98.0},
           {"indicator": "x", "area": "a", "year": 2022, "observed": 80.0, "held_out": True},
           {"indicator": "x", "area": "a", "year": 2023, "observed": 90.0}]
    assert naive_forecast(obs[4], obs) == pytest.approx(62.0)              # 80 − 18
    assert naive_forecast(obs[4], obs, through=2020) == pytest.approx(88.0)  # 100 − 3 × 4
    assert naive_forecast(obs[4], obs, through=2023) == pytest.approx(94.0)  # 98 − 2 × 2
    assert naive_forecast(obs[0], obs, through=2020) is None


def test_out_of_sample_score_counts_figures_with_both_forecasts():
    t = pd.DataFrame({"role": ["calibration", "out_of_sample", "out_of_sample",
                               "out_of_sample"],
                      "model": [1.0, 10.0, 30.0, 5.0], "naive_forecast": [None, 12.0, 20.0, None],
                      "observed": [1.0, 10.5, 21.0, 5.0], "tolerance": [1.0, 1.0, 2.0, 1.0]})
    assert out_of_sample_score(t) == {"figures": 2, "model_within": 1, "naive_within": 1,
                                      "model_nearer": 1}


def test_table_has_roles_means_over_replicates_and_bands():
    obs = [{"indicator": "resident_population", "area": "panjin",
            "year": 2021, "observed": 100.0, "source": "x"},
           {"indicator": "resident_population", "area": "panjin",
            "year": 2020, "observed": 100.0, "source": "x"}]
    f = frame({(2020, "panjin", "resident_population"): 100.0,
               (2021, "panjin", "resident_population"): 110.0}, replicates=3)
    t = validation_table(f, 2020, obs)
    assert t.role.tolist() == ["out_of_sample", "calibration"]
    assert validation_table(f, 2021, obs).role.tolist() == ["calibration"] * 2
    assert t.model[0] == pytest.approx(110 * 1.01)  # mean of 110, 111.1, 112.2
    assert t.runs[0] == 3 and t.model_p5[0] < t.model[0] < t.model_p95[0]
    assert t.naive_forecast[0] == pytest.approx(100.0) and pd.isna(t.naive_forecast[1])


def test_a_run_scores_figures_after_its_calibration_set_out_of_sample():
    """The manifest names the set; validation roles follow the set's last year: with the
    backtest set the 2021 figures are out of sample (with a naive forecast where there is
    an earlier figure), with the forecast set every figure but the held-out ones is a
    calibration target."""
    import sim

    backtest = sim.run("scenarios/reform_2015.toml", scale=0.002, end=2021, seed=1,
                       calibration="backtest")
    assert backtest.manifest["calibration"]["set"] == "backtest"
    v = backtest.validation
    assert set(v[v.year <= 2020].role) == {"calibration"}
    assert set(v[v.year > 2020].role) == {"out_of_sample"}
    assert v[v.role == "calibration"].naive_forecast.isna().all()
    forecast = sim.run("scenarios/reform_2015.toml", scale=0.002, end=2021, seed=1)
    assert forecast.manifest["calibration"] == {**backtest.manifest["calibration"],
                                                "set": "forecast", "through": 2023,
                                                "doc": forecast.manifest["calibration"]["doc"]}
    fv = forecast.validation
    held = {(o["indicator"], o["area"], o["year"], o.get("change_from"))
            for o in load_observations() if o.get("held_out")}
    is_held = [(r.indicator, r.area, r.year,
                None if pd.isna(r.change_from) else int(r.change_from)) in held
               for r in fv.itertuples()]
    assert sum(is_held) == len(held)
    assert ((fv.role == "out_of_sample") == is_held).all()


def test_the_run_settings_choices_are_the_calibration_sets():
    """``run.calibration`` lists its allowed values in run.toml (so a scenario file is checked
    like any other); they must be the sets of calibration.toml, no more, no fewer."""
    from sim.scenario import load_defaults
    from sim.scenario.calibrated import SETTING, calibration_sets

    assert set(load_defaults()._specs[SETTING].choices) == set(calibration_sets())
