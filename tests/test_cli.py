"""The command line end to end, as a planner uses it."""

import json
import subprocess
import sys
import tomllib

import pandas as pd
import pytest

from sim.cli import main

SMALL = """name = "tiny"
description = "1% of the city, 2015-2017"
[run]
end_year = 2017
scale = 0.005
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_run_writes_a_complete_run_folder(scenario, tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out / "indicators.csv", keep_default_na=False)
    assert list(df.columns) == ["scenario", "replicate", "year", "area", "indicator",
                                "category", "value"]
    assert set(df.scenario) == {"tiny"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for key in ("scenario", "parameters", "seeds", "version", "started", "finished",
                "wall_time_seconds", "population_fit", "validation", "git_commit"):
        assert key in manifest
    validation = pd.read_csv(out / "validation.csv")
    assert {"observed", "model", "source"} <= set(validation.columns)


def test_run_says_each_file_as_it_is_written(scenario, tmp_path, capsys):
    """Every file of the run folder, the tables too (written while the charts draw), is
    announced once on stderr, and each announced file exists."""
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    announced = [line.split()[1] for line in capsys.readouterr().err.splitlines()
                 if line.startswith("  wrote ")]
    expected = {"indicators.csv", "validation.csv", "manifest.json", "budget.xlsx"}
    assert expected <= set(announced) and len(announced) == len(set(announced))
    assert {a for a in announced if a.startswith("charts/")} == {
        f"charts/{p.name}" for p in (out / "charts").iterdir()}
    assert all((out / a).is_file() for a in announced)


def test_tables_written_once_whether_or_not_the_outputs_write_them(tmp_path):
    """`write_folder` writes the tables itself when its extras do not call ``tables``,
    and does not write them twice when they do."""
    from output_fixtures import make_indicators

    from sim.runner import write_folder

    frame = make_indicators(replicates=2)
    manifest = {"runs": 2, "calibration": None}
    calls: list[list] = []
    for name, extras in [("silent", lambda *a, **k: None),
                         ("calling", lambda *a, tables, **k: calls.append(tables()))]:
        folder = tmp_path / name
        folder.mkdir()
        write_folder(folder, frame, manifest, extras)
        assert sorted(p.name for p in folder.iterdir()) == [
            "indicators.csv", "indicators_summary.csv", "manifest.json", "validation.csv"]
    assert [p.name for p in calls[0]] == ["indicators.csv", "indicators_summary.csv",
                                          "validation.csv", "manifest.json"]


def test_never_overwrites_an_earlier_run(scenario, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 0
    before = (out / "indicators.csv").read_bytes()
    assert main(["run", str(scenario), "--out", str(out), "--quiet", "--seed", "9"]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert (out / "indicators.csv").read_bytes() == before


def test_default_folders_are_distinct(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario), "--quiet"]) == 0
    assert main(["run", str(scenario), "--quiet"]) == 0
    assert len(list((tmp_path / "results" / "tiny").iterdir())) == 2


@pytest.mark.parametrize("argv,expected", [
    (["run"], "required: scenario"),
    (["run", "x.toml", "--scale", "0"], "--scale: must be in (0, 1]"),
    (["run", "x.toml", "--scale", "abc"], "--scale: expected a number"),
    (["run", "x.toml", "--seed", "-3"], "--seed: must be 0 or more"),
    (["run", "x.toml", "--end", "1990"], "--end: must be a year"),
    (["run", "x.toml", "--workers", "0"], "--workers: must be at least 1"),
    (["run", "missing.toml"], "missing.toml"),
    (["frobnicate"], "invalid choice"),
    (["check", "missing.toml"], "cannot read scenario file"),
])
def test_bad_input_is_one_line_and_exit_2(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_check_prints_resolved_parameters(scenario, capsys):
    assert main(["check", str(scenario), "--show"]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "demography.fertility.total_fertility_rate" in out


def test_python_dash_m_sim_works(scenario):
    done = subprocess.run([sys.executable, "-m", "sim", "check", str(scenario)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_internal_error_is_one_line_and_leaves_no_empty_folder(scenario, tmp_path, capsys,
                                                               monkeypatch):
    import sim.runner

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.runner, "write_run", broken)
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("hukou-sim: internal error: RuntimeError: boom")
    assert not out.exists()


def test_calibrate_keeps_the_files_it_replaces(tmp_path, monkeypatch, capsys):
    """A short calibration of the backtest set (a few particles, tiny scale) writes its
    report, that set's posterior and calibrated medians, keeps the files it replaces, and
    leaves the other set's files alone."""
    import shutil

    import sim.calibration
    from sim.scenario import calibrated as sets

    for name in ("calibration.toml", "calibrated.toml", "calibrated_backtest.toml"):
        shutil.copy(sets.DATA_DIR / name, tmp_path / name)
    (tmp_path / "posterior_backtest.csv").write_text("old\n", encoding="utf-8")
    before = (tmp_path / "calibrated_backtest.toml").read_text(encoding="utf-8")
    forecast = (tmp_path / "calibrated.toml").read_text(encoding="utf-8")
    monkeypatch.setattr(sets, "DATA_DIR", tmp_path)
    out = tmp_path / "report"
    assert main(["calibrate", "--calibration", "backtest", "--scale", "0.003",
                 "--particles", "4", "--generations", "1", "--max-simulations", "8",
                 "--out", str(out), "--quiet"]) == 0
    assert (out / "previous_calibrated_backtest.toml").read_text(encoding="utf-8") == before
    assert (out / "previous_posterior_backtest.csv").read_text(encoding="utf-8") == "old\n"
    assert (out / "fit_report.md").exists() and (out / "fit.png").stat().st_size > 0
    assert "observations up to 2020" in (out / "fit_report.md").read_text(encoding="utf-8")
    written = (tmp_path / "calibrated_backtest.toml").read_text(encoding="utf-8")
    assert "[migration]" in written and written != before
    assert (tmp_path / "calibrated.toml").read_text(encoding="utf-8") == forecast
    sample = sim.calibration.load_posterior(tmp_path / "posterior_backtest.csv")
    assert len(sample) == 4 and sample.weight.sum() == pytest.approx(1.0)
    for f in sim.calibration.load_config()["free"]:
        assert sample[f["parameter"]].between(f["min"], f["max"]).all()
    # the point a run uses is the member of smallest distance, not a blend of members
    ranked = pd.read_csv(out / "point.csv")
    assert len(ranked) == 4 and ranked.distance.is_monotonic_increasing
    values = tomllib.loads(written)
    best = sample.iloc[int(ranked.member[0])]
    assert values["migration"]["arrival_rate"] == pytest.approx(
        best["migration.arrival_rate"], rel=1e-5)
    assert values["behaviour"]["settlement"]["action_rate"] == pytest.approx(
        best["behaviour.settlement.action_rate"], rel=1e-5)


def test_conflicting_run_options_name_the_option(scenario, capsys):
    assert main(["run", str(scenario), "--start", "2030", "--end", "2020"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hukou-sim: error: --end (with ") and "2020 is before" in err
