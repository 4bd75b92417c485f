"""The explorer's levers, model and saved scenarios, without a browser (see
test_explore_browser.py for the page itself)."""

from __future__ import annotations

import math
import socket
from datetime import datetime

import pandas as pd
import pytest
from mesa.visualization import Slider
from mesa.visualization.solara_viz import _check_model_params, split_model_params

from sim.cli import main
from sim.explore import levers as lv
from sim.explore.model import FIGURES, ExplorerModel, summarize
from sim.explore.server import is_loopback
from sim.scenario import load_defaults, load_scenario

SCALE = 0.005
REFORM = "scenarios/reform_2015.toml"


@pytest.fixture(scope="module")
def stepped() -> ExplorerModel:
    model = ExplorerModel(scale=SCALE, insurance_years=2, pool_per_settler="1500")
    model.step()
    model.step()
    return model


def test_every_lever_is_a_parameter_with_its_files_unit_and_range():
    names = set(load_defaults().parameter_names())
    for lever in lv.LEVERS:
        assert lever.name in names
        spec = lv.parameter_spec(lever.name)
        label = lv.widget_label(lever, "en")
        assert lever.text("en") in label and lever.text("zh") in lv.widget_label(lever, "zh")
        if spec.get("unit"):
            assert spec["unit"] in label
        widget = lv.user_param(lever, spec["value"] if not isinstance(spec["value"], dict)
                               else next(iter(spec["value"].values())), "en")
        if isinstance(widget, Slider):   # a slider spans exactly the allowed range
            step = widget.step
            assert widget.min == pytest.approx(spec["min"] + (step if spec.get(
                "min_exclusive") else 0))
            assert widget.max == pytest.approx(spec["max"])
        elif spec["type"] == "bool":
            assert widget["type"] == "Checkbox"
        elif spec.get("choices"):
            assert widget["type"] == "Select" and widget["values"] == spec["choices"]
        else:   # no upper bound: typed in
            assert widget["type"] == "InputText" and spec.get("max") is None


def test_range_text():
    assert lv.range_text({"type": "int", "min": 0, "max": 3}) == "0–3"
    assert lv.range_text({"type": "float", "min": 0.0}) == "≥ 0"
    assert lv.range_text({"type": "float", "min": 0.0, "min_exclusive": True,
                          "max": 1.0}) == "> 0, ≤ 1"
    assert lv.range_text({"type": "str", "choices": ["a", "b"]}) == "a / b"
    assert lv.range_text({"type": "bool"}) == ""


def test_parse_widget_values():
    lever = lv.LEVERS_BY_ARG
    assert lv.parse(lever["pool_amount"], "50,000,000") == 50_000_000.0
    assert lv.parse(lever["landlord_consent_share"], 0.35000000000000003) == 0.35
    assert lv.parse(lever["seed"], "7") == 7
    with pytest.raises(ValueError, match="not a whole number"):
        lv.parse(lever["seed"], "7.5")
    with pytest.raises(ValueError, match="not a number"):
        lv.parse(lever["pool_amount"], "lots")


def test_solaraviz_accepts_the_model_params():
    scenario = load_scenario(REFORM)
    params = lv.model_params(scenario, REFORM, "en", SCALE, 1) | {"save_dir": "x"}
    _check_model_params(ExplorerModel.__init__, params)   # what SolaraViz runs
    adjustable, fixed = split_model_params(params)
    assert set(adjustable) == set(lv.LEVERS_BY_ARG)
    assert fixed == {"scenario_file": REFORM, "lang": "en", "save_dir": "x"}


def test_levers_show_the_scenarios_values():
    strict = load_scenario("scenarios/strict_insurance.toml")
    params = lv.model_params(strict, "scenarios/strict_insurance.toml", "en", SCALE, 1)
    assert params["insurance_years"].value == 3
    assert params["community_collective"]["value"] is True   # its 2016 value, not 2015's


def test_only_moved_levers_override_the_scenario():
    base = load_scenario(REFORM)
    same = lv.lever_values(base, 2016)
    model = ExplorerModel(**same | {"scale": SCALE, "job_years": 2,
                                    "landlord_consent_share": 0.5})
    assert model.moved == {"policy.urban_district.job_years": 2,
                           "policy.landlord_consent_share": 0.5}
    assert model.scenario.run.scale == SCALE and model.problems == []
    # the dated community-collective switch stays as written (off in 2015, on from 2016)
    assert model.scenario.at(2015).policy.community_collective_household is False


def test_refused_lever_values_are_reported_not_applied():
    model = ExplorerModel(scale=SCALE, insurance_years=7, pool_amount="much")
    assert model.moved == {}
    assert len(model.problems) == 2
    assert "insurance" in model.problems[0] and "kept 1" in model.problems[0]
    assert "not a number" in model.problems[1]
    with pytest.raises(TypeError, match="unknown lever"):
        ExplorerModel(scale=SCALE, insurance=3)


def test_step_updates_figures_governments_and_series(stepped):
    assert stepped.year == 2017 and stepped.step_seconds > 0
    city = stepped.current.loc["panjin"]
    areas = stepped.current.loc[list(stepped.areas.ids)]
    assert city["resident_population"] == pytest.approx(areas["resident_population"].sum())
    assert city["settlements"] > 0 and city["linkage_transfer"] > 0
    for government in stepped.agents:   # one Mesa agent per area, carrying its figures
        assert government.figures == pytest.approx(
            stepped.current.loc[government.area_id].to_dict(), nan_ok=True)
    assert sorted(g.area_id for g in stepped.agents) == sorted(stepped.areas.ids)
    reporters = stepped.datacollector.get_model_vars_dataframe()
    assert len(reporters) == 3   # the base year and two steps
    assert reporters["resident_population"].iloc[-1] == city["resident_population"]
    assert list(stepped.series("settlements")["year"]) == [2016, 2017]


def test_a_moved_linkage_lever_changes_the_transfer(stepped):
    plain = ExplorerModel(scale=SCALE, insurance_years=2)
    plain.step()
    plain.step()
    # same population and settlers (the pool does not feed back in two years) ...
    assert plain.figure("settlements") == stepped.figure("settlements")
    # ... and the per-settler pool is three times as large
    assert stepped.figure("linkage_transfer") == pytest.approx(
        3 * plain.figure("linkage_transfer"), rel=1e-9)


def test_explanation_of_the_followed_household(stepped):
    d = stepped.explanation()
    assert d["person_id"] == stepped.person_id and d["year"] == stepped.year
    assert set(d["channels"]) >= {"town", "urban_district", "talent", "investment"}
    assert d["household_size"] >= 1
    b = d["behaviour"]
    assert 0 <= b["intention"] <= 1 and 0 <= b["chance_to_act"] <= 1
    assert isinstance(b["intends"], bool) and isinstance(b["aware"], bool)


def test_summarize_keeps_channels_and_the_linkage_part():
    rows = pd.DataFrame({
        "year": [2016] * 5, "area": ["dawa"] * 5,
        "indicator": ["settlements", "settlements", "transfer_payment", "transfer_payment",
                      "public_service_cost"],
        "category": ["town", "talent", "linkage", "equalization", "compulsory_education"],
        "value": [3.0, 4.0, 10.0, 99.0, 5.0]})
    out = summarize(rows).set_index(["figure", "category"])["value"]
    assert out[("settlements", "town")] == 3.0 and out[("settlements", "talent")] == 4.0
    assert out[("linkage_transfer", "")] == 10.0     # the equalization transfer is left out
    assert out[("public_service_cost", "")] == 5.0
    assert set(out.index.get_level_values(0)) <= set(FIGURES)


def test_saved_scenario_round_trips(tmp_path, stepped):
    stepped.save_dir = tmp_path / "saved"
    path = stepped.save()
    again = stepped.save()
    assert path != again and path.exists() and again.exists()   # never overwritten
    assert main(["check", str(path)]) == 0
    loaded = load_scenario(path)
    assert lv.lever_values(loaded, 2016) | {"scale": SCALE, "seed": stepped.scenario.run.seed} \
        == stepped.levers
    assert loaded.run.scale == 1.0   # run settings are the user's choice at run time
    assert "policy.urban_district.insurance_years = 2" in loaded.description
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Saved by `hukou-sim explore`") and 'extends = "' in text


def test_save_names_are_unique_and_extend_by_relative_path(tmp_path):
    now = datetime(2026, 1, 2, 3, 4, 5)
    out = tmp_path / "deep" / "folder"
    first = lv.save_scenario(load_scenario(REFORM).path, out, {}, "d", "n", now)
    second = lv.save_scenario(load_scenario(REFORM).path, out, {}, "d", "n", now)
    assert first.name == "reform_2015-explored-20260102-030405.toml"
    assert second.name == "reform_2015-explored-20260102-030405-2.toml"
    assert load_scenario(second).name == second.stem


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.org")


def test_explore_refuses_a_taken_port(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["explore", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"127.0.0.1:{port}" in err and "--port" in err


def test_explore_refuses_a_broken_scenario(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nno_such_lever = 1\n", encoding="utf-8")
    assert main(["explore", str(bad), "--port", "0"]) == 2
    assert "no_such_lever" in capsys.readouterr().err


def test_figure_is_nan_for_the_base_years_flows():
    model = ExplorerModel(scale=SCALE)
    assert math.isnan(model.figure("settlements"))
    assert model.figure("resident_population") > 0
