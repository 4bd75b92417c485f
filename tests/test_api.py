"""The analyst's Python API: `import sim`, results, readable agents, explain and trace."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.population import (
    AREA,
    NONE,
    OUTSIDE,
    Channel,
    CodeTable,
    Persons,
    Place,
    Table,
    categorical,
    coded,
)

SMALL = {"scale": 0.002, "end": 2017}


def _model() -> sim.UrbanizationModel:
    s = sim.load_scenario("scenarios/reform_2015.toml").with_overrides(
        {"run.scale": 0.005, "run.end_year": 2019})
    return sim.UrbanizationModel(s, seed=4)


@pytest.fixture(scope="module")
def untraced():
    m = _model()
    m.run()
    return m


@pytest.fixture(scope="module")
def model(untraced):
    """The same run, tracing persons who settle in it and migrants who do not."""
    m = _model()
    start, end = m.persons_frame(), untraced.persons_frame()
    settlers = end.id[end.settled_year.notna()]
    stayed = end.id[(end.hukou_area == "outside") & (end.area != "outside")]
    m.trace_persons([*settlers[settlers.isin(start.id)][:15], *stayed[stayed.isin(start.id)][:15]])
    m.run()
    return m


def test_tracing_changes_nothing(model, untraced):
    pd.testing.assert_frame_equal(model.indicators(), untraced.indicators())
    assert untraced._tracer is None


def test_import_sim_is_cheap_and_lists_its_api():
    code = "import sim, sys; print(sorted(m for m in sys.modules if m.startswith('sim')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['sim']"  # nothing but the package itself until a name is used
    for name in sim.__all__:
        obj = getattr(sim, name)
        assert obj.__doc__ and ">>>" in (obj.__doc__ + (sys.modules[obj.__module__].__doc__
                                                        or "")), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sim.nope  # noqa: B018


def test_run_equals_the_command_line_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.output.write_outputs", lambda *a, **k: None)  # charts: not compared
    argv = ["run", "scenarios/reform_2015.toml", "--scale", "0.002", "--end", "2017",
            "--seed", "11", "--replicates", "2", "--out", str(tmp_path / "cli"), "--quiet"]
    assert main(argv) == 0
    res = sim.run("scenarios/reform_2015.toml", seed=11, replicates=2, **SMALL)
    folder = res.to_folder(tmp_path / "api")
    assert ((folder / "indicators.csv").read_bytes()
            == (tmp_path / "cli" / "indicators.csv").read_bytes())
    assert ((folder / "validation.csv").read_bytes()
            == (tmp_path / "cli" / "validation.csv").read_bytes())
    other = sim.run("scenarios/reform_2015.toml", seed=12, replicates=2, **SMALL)
    assert not other.indicators.equals(res.indicators)  # the seed matters


def test_results_round_trip_keeps_types_and_the_empty_category(tmp_path):
    res = sim.run("scenarios/reform_2015.toml", seed=2, **SMALL)
    back = sim.Results.from_folder(res.to_folder(tmp_path / "run"))
    for r in (res, back):
        ind = r.indicators
        assert ind.category.dtype == "category" and "" in ind.category.cat.categories
        assert not ind.category.isna().any()
        assert ind.area.cat.ordered and ind.area.cat.categories[-1] == "panjin"
        assert ind.year.dtype == np.int64 and ind.value.dtype == np.float64
    pd.testing.assert_frame_equal(res.indicators, back.indicators)
    assert back.manifest["seed"] == 2 and back.folder == tmp_path / "run"
    assert set(back.validation.columns) >= {"indicator", "observed", "model"}
    summary = res.summary
    assert (summary.runs == 1).all() and (summary["mean"] == summary["max"]).all()
    pop = res.city("resident_population")
    assert list(pop.columns) == [""] and pop.index.tolist() == [2015, 2016, 2017]
    with pytest.raises(KeyError, match="no indicator 'nope'"):
        res.city("nope")
    by_channel = res.total("settlements")
    ind = res.indicators
    city = ind[(ind.indicator == "settlements") & (ind.area == "panjin") & (ind.year > 2015)]
    assert by_channel.to_dict() == city.groupby("category", observed=True).value.sum().to_dict()
    by_area = res.total("settlements", by="area", years=(2017, 2017))
    assert by_area["panjin"] == pytest.approx(by_area.drop("panjin").sum())
    assert by_area["panjin"] == pytest.approx(city[city.year == 2017].value.sum())
    fig = res.plot("settlements")
    assert fig is not None and fig.axes
    with pytest.raises(ValueError, match="unknown chart"):
        res.plot("nope")


def test_compare_takes_differences_from_the_first_run():
    a = sim.run("scenarios/reform_2015.toml", seed=1, **SMALL)
    b = sim.run("scenarios/pre_reform.toml", seed=1, **SMALL)
    table = sim.compare(a, b).set_index(["scenario", "indicator", "year"]).sort_index()
    settled = table.xs("settlements", level="indicator")
    diff = settled.loc["pre_reform", "mean"] - settled.loc["reform_2015", "mean"]
    pd.testing.assert_series_equal(settled.loc["pre_reform", "difference"], diff,
                                   check_names=False)
    assert (table.loc["reform_2015", "difference"] == 0).all()
    assert (table["low"] <= table["high"]).all()
    with pytest.raises(ValueError, match="without a folder"):
        sim.compare(a, b, out="unused")


def test_decoding_is_generic_over_the_schema():
    class Little(Table):
        schema = {"where": coded(AREA), "place": coded(Place), "n": np.dtype(np.int16),
                  "channel": coded(Channel)}

    t = Little(where=[OUTSIDE, 1], place=[0, 3], n=[NONE, 5], channel=[NONE, 2])
    f = t.frame()
    assert f["where"].tolist() == ["outside", "xinglongtai"]  # OUTSIDE is a place
    assert f["place"].tolist() == ["urban_district", "village"]
    assert f["channel"].isna().tolist() == [True, False]       # NONE is no value
    assert f["channel"].iloc[1] == "talent"
    assert f["n"].tolist() == [NONE, 5]                         # not coded: raw
    assert t.frame(decode=False)["place"].tolist() == [0, 3]
    # every coded column of the agent tables decodes to its table's labels
    for dtype in Persons.schema.values():
        table = (dtype.metadata or {}).get("codes")
        if table is not None and table is not AREA:
            assert issubclass(table, CodeTable)
            assert list(categorical(np.arange(len(table)), table)) == list(table.labels())


def test_agent_frames_have_labels_and_agree_with_the_state(model):
    persons, households = model.persons_frame(), model.households_frame()
    state = model.state
    assert len(persons) == len(state.persons)
    assert set(persons.place.cat.categories) == set(Place.labels())
    outside = state.persons.area == OUTSIDE
    assert (persons.area[outside] == "outside").all()
    assert (persons.area[~outside] != "outside").all()
    not_settled = state.persons.settled_channel == NONE
    assert persons.settled_channel[not_settled].isna().all()
    assert persons.settled_year[not_settled].isna().all()
    assert households.members.sum() == len(persons)
    assert set(persons.household) == set(households.id)
    assert persons.settled_channel.notna().any()  # the run settled someone


def test_trace_records_each_year_and_agrees_with_explain(model):
    trace = model.trace()
    assert trace.person_id.nunique() > 1
    for _, rows in trace.groupby("person_id"):
        assert rows.year.diff().dropna().eq(1).all()    # consecutive years while present
        assert rows.year.iloc[0] == 2015
    settled = trace[trace.settled_this_year]
    assert len(settled) and (settled.settled_channel != "").all()
    moved = settled[settled.settled_channel != "urban_village"]  # villagers: hukou area
    assert (moved.hukou_area == moved.area).all()   # the hukou moved to where they live
    last = trace[trace.year == model.year].iloc[0]
    e = model.explain(int(last.person_id))
    assert last.channels_passed == ", ".join(e["channels_passed"])
    for name, verdict in e["channels"].items():
        assert (last[f"fails_{name}"] == "") == verdict["passed"]
    assert "behaviour: chance of intending to settle" in str(e)
    with pytest.raises(KeyError, match="not traced"):
        model.trace(-5)


def test_an_untraced_model_says_how_to_trace(untraced):
    with pytest.raises(KeyError, match="no person is traced"):
        untraced.trace()
    with pytest.raises(KeyError, match="no person with id -3"):
        untraced.trace_persons([-3])


def test_explain_is_the_command_line_s_explain(capsys):
    e = sim.explain("scenarios/reform_2015.toml", 2016, scale=0.002, seed=3)
    assert e["year"] == 2016 and set(e["channels"]) == {"town", "urban_district", "talent",
                                                         "investment"}
    argv = ["explain", "scenarios/reform_2015.toml", "--year", "2016", "--scale", "0.002",
            "--seed", "3"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(e).strip()
    assert main([*argv, "--agent", "-7"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress line
    assert last.startswith("hukou-sim explain: no agent -7 in 2016 at this scale and seed")


def test_an_unfinished_run_folder_is_refused(tmp_path):
    """`Results.from_folder` reads only complete runs, as ``compare`` and ``explain`` do."""
    from sim.runner import COMPLETE_MARKER, RunFolderError

    folder = sim.run("scenarios/reform_2015.toml", seed=2, **SMALL).to_folder(tmp_path / "run")
    (folder / COMPLETE_MARKER).unlink()
    with pytest.raises(RunFolderError, match="not a complete run"):
        sim.Results.from_folder(folder)
