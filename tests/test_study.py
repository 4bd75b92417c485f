"""Sweeps, sensitivity analysis and scenario discovery: designs, resumed studies, SALib on a
function with known indices, PRIM on a planted box."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from sim.cli import main
from sim.experiments import read_experiment
from sim.study import StudyError
from sim.study import sensitivity as sa
from sim.study.design import load_sweep, parse_output
from sim.study.discovery import find_boxes, parse_condition

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = (ROOT / "scenarios" / "reform_2015.toml").as_posix()


def sweep_file(tmp_path: Path, parameters: str, head: str = "", end: int = 2016,
               name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'scenario = "{SCENARIO}"\n{head}\n[run]\nscale = 0.002\n'
                    f"end_year = {end}\n[parameters]\n{parameters}", encoding="utf-8")
    return path


def test_factorial_and_latin_hypercube_designs(tmp_path):
    f = sweep_file(tmp_path, '"policy.urban_district.insurance_years" = {}\n'
                             '"behaviour.settlement.action_rate" = '
                             '{ min = 0.1, max = 0.3, levels = 3 }\n'
                             '"policy.land_rights_kept_on_settling" = { values = [false, true] }',
                   'design = "full_factorial"\nlevels = 4')
    points = load_sweep(f).points_values()
    # 0..3 years (the parameter file's bounds: 4 integers) x 3 levels x 2 values
    assert len(points) == 4 * 3 * 2
    assert sorted({p["policy.urban_district.insurance_years"] for p in points}) == [0, 1, 2, 3]
    assert sorted({p["behaviour.settlement.action_rate"] for p in points}) == pytest.approx(
        [0.1, 0.2, 0.3])
    f = sweep_file(tmp_path, '"behaviour.settlement.action_rate" = { min = 0.1, max = 0.3 }\n'
                             '"policy.urban_district.insurance_years" = {}', "points = 8",
                   name="lhs.toml")
    points = load_sweep(f).points_values()
    rates = sorted(p["behaviour.settlement.action_rate"] for p in points)
    assert len(points) == 8 and 0.1 <= rates[0] and rates[-1] <= 0.3
    # a Latin hypercube has one point in each of the 8 strata of every parameter
    assert sorted(int((r - 0.1) / 0.2 * 8) for r in rates) == list(range(8))


@pytest.mark.parametrize("parameters, head, message", [
    ('"behaviour.settlement.action_rat" = {}', "", "did you mean"),
    ('"fiscal.linkage.pool_amount" = {}', "", "max: the parameter file gives no bound"),
    ('"policy.land_rights_kept_on_settling" = {}', "", "listing its values"),
    ('"behaviour.settlement.action_rate" = { min = 0.5, max = 2 }', "", "point"),
    ('"behaviour.settlement.action_rate" = {}', 'design = "grid"', "design: allowed"),
    ('"behaviour.settlement.action_rate" = { lo = 1 }', "", "expected a table with keys"),
])
def test_bad_sweep_files_name_the_field(tmp_path, parameters, head, message):
    with pytest.raises(StudyError, match=message):
        load_sweep(sweep_file(tmp_path, parameters, head))


def test_sweep_cli_tidy_table_and_refusals(tmp_path, capsys):
    f = sweep_file(tmp_path, '"policy.urban_district.insurance_years" = { min = 0, max = 1 }',
                   'design = "full_factorial"\nreplicates = 2')
    out = tmp_path / "sweep"
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert list(table.columns[:3]) == ["point", "policy.urban_district.insurance_years",
                                       "scenario"]
    assert set(zip(table.point, table["policy.urban_district.insurance_years"],
                   strict=True)) == {(0, 0), (1, 1)}
    assert sorted(table.replicate.unique()) == [0, 1]
    # the same sweep again reuses every run; another sweep in that folder is refused
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")}
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")} == before
    other = sweep_file(tmp_path, '"behaviour.permit.take_up" = {}', name="other.toml")
    capsys.readouterr()
    assert main(["sweep", str(other), "--out", str(out), "--quiet"]) == 2
    assert "holds a different study" in capsys.readouterr().err


def test_a_killed_sweep_resumes_and_reruns_only_what_is_missing(tmp_path, simulated):
    f = sweep_file(tmp_path, '"behaviour.settlement.action_rate" = { min = 0.1, max = 0.4 }',
                   "points = 8", end=2020)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(f), "--out", str(out),
                             "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((out / "runs").glob("*.csv")):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    done = {p.stem for p in (out / "runs").glob("*.csv")}
    assert 1 <= len(done) < 8, "the sweep was not caught part-way"
    for path in (out / "runs").glob("*.csv"):  # a run's file is complete or absent
        assert len(read_experiment(path)) == len(read_experiment(next(iter(
            (out / "runs").glob("*.csv")))))
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 0
    assert sorted(simulated) == sorted({f"p{i:06d}-r0000" for i in range(8)} - done)
    fresh = tmp_path / "fresh"
    assert main(["sweep", str(f), "--out", str(fresh), "--quiet"]) == 0
    assert (out / "results.csv").read_bytes() == (fresh / "results.csv").read_bytes()
    assert not list((out / "runs").glob(".*.tmp"))  # a killed write's leftovers are removed


def test_sensitivity_recovers_the_ishigami_ranking():
    """Ishigami (a = 7, b = 0.1): S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244)."""
    problem = sa.problem_of(["x1", "x2", "x3"])
    unit = sa.design("sobol", problem, 1024, seed=3)
    t = sa.analyze("sobol", problem, unit, Ishigami.evaluate(-np.pi + 2 * np.pi * unit),
                   seed=3)
    assert t.sort_values("ST", ascending=False).parameter.tolist() == ["x1", "x2", "x3"]
    for est, conf, known in (("S1", "S1_conf", [0.314, 0.442, 0.0]),
                             ("ST", "ST_conf", [0.558, 0.442, 0.244])):
        assert (np.abs(t[est] - known) <= 2 * t[conf] + 0.02).all(), t
    unit = sa.design("morris", problem, 300, seed=3)
    t = sa.analyze("morris", problem, unit, Ishigami.evaluate(-np.pi + 2 * np.pi * unit),
                   seed=3)
    # on the 4-level grid x2 jumps by 4π/3 between sin² = 0 and 3/4: every elementary effect
    # is 7 · 0.75 / (2/3) = 7.875 exactly; x3 (which acts only with x1) ranks last
    t = t.set_index("parameter")
    assert t.loc["x2", "mu_star"] == pytest.approx(7.875, abs=1e-9)
    assert sa.ranked(t.reset_index(), "morris").parameter.tolist()[-1] == "x3"
    assert t.loc["x3", "mu_star"] + t.loc["x3", "mu_star_conf"] < 7.875
    assert t.loc["x2", "mu_star_conf"] < 1e-9 < t.loc["x1", "mu_star_conf"]  # x2: all equal


@pytest.mark.parametrize("method, size, levels", [
    ("sobol", 100, 4), ("sobol", 8, 4), ("morris", 10, 3), ("morris", 2, 4)])
def test_designs_salib_would_compute_wrongly_are_refused(method, size, levels):
    with pytest.raises(StudyError):
        sa.check_design(method, size, levels)


def test_sensitivity_cli(tmp_path, capsys):
    f = sweep_file(tmp_path, '"behaviour.settlement.action_rate" = { min = 0.05, max = 0.6 }\n'
                             '"behaviour.permit.take_up" = { min = 0.1, max = 0.6 }')
    out = tmp_path / "morris"
    assert main(["sensitivity", str(f), "--method", "morris", "--trajectories", "4",
                 "--output", "settlements:panjin:2016", "residence_permit_holders:panjin:2016",
                 "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "= 12 model runs" in captured.err  # 4 trajectories x (2 + 1) points, announced
    indices = pd.read_csv(out / "indices.csv")
    assert len(indices) == 4 and {"mu_star", "mu_star_conf", "sigma"} <= set(indices.columns)
    assert (out / "indices.png").exists() and (out / "indices.svg").exists()
    assert main(["sensitivity", str(f), "--method", "sobol", "--samples", "10",
                 "--output", "settlements:panjin:2016", "--out", str(tmp_path / "x")]) == 2
    assert main(["sensitivity", str(f), "--method", "morris",
                 "--output", "settlements:panjin:2040", "--out", str(tmp_path / "y")]) == 2
    assert "allowed: 2015 to 2016" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.uniform(0, 1, (2000, 4)), columns=["a", "b", "c", "d"])
    cases = ((x.a > 0.6) & (x.b < 0.3)).to_numpy()
    noise = rng.uniform(0, 1, len(x)) < 0.03  # a few cases flipped
    boxes = find_boxes(x, cases ^ noise)
    box = boxes[0]
    limits = box.limits.set_index("parameter")
    assert set(limits.index) == {"a", "b"}
    low_a = float(limits.loc["a", "range"].split(" to ")[0])
    high_b = float(limits.loc["b", "range"].split(" to ")[1])
    assert low_a == pytest.approx(0.6, abs=0.05) and high_b == pytest.approx(0.3, abs=0.05)
    assert box.coverage > 0.8 and box.density > 0.8
    with pytest.raises(StudyError, match="no run meets"):
        find_boxes(x, np.zeros(len(x), bool))


@pytest.mark.parametrize("text", ["fiscal_gap:panjin:2030", "x ~ 3", "a:b:2030 > lots"])
def test_bad_conditions_are_refused(text):
    with pytest.raises(StudyError, match="allowed form"):
        parse_condition(text)


def test_outputs_are_checked_before_running():
    from sim.scenario import load_defaults

    base = load_defaults()
    assert str(parse_output("settlements/town:dawa:2025", base)) == "settlements/town:dawa:2025"
    for bad, message in (("registered_population:mars:2030", "area"),
                         ("registred_population:panjin:2030", "unknown indicator"),
                         ("registered_population-panjin-2030", "allowed form")):
        with pytest.raises(StudyError, match=message):
            parse_output(bad, base)


def test_discover_cli(tmp_path, capsys):
    f = sweep_file(tmp_path, '"behaviour.settlement.action_rate" = { min = 0.0, max = 0.8 }\n'
                             '"behaviour.permit.take_up" = { min = 0.1, max = 0.6 }',
                   "points = 20", end=2017)
    out = tmp_path / "d"
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "results.csv", keep_default_na=False)
    sel = table[(table.indicator == "settlements") & (table.area == "panjin")
                & (table.year == 2017)].groupby("point").value.sum()
    threshold = float(sel.median())
    capsys.readouterr()
    assert main(["discover", str(f), "--out", str(out), "--quiet",
                 "--where", f"settlements:panjin:2017 > {threshold}"]) == 0
    printed = capsys.readouterr().out
    assert "box 1: coverage" in printed and "density" in printed
    # settlements rise with the action rate: the box restricts it from below
    assert "behaviour.settlement.action_rate" in printed
    boxes = pd.read_csv(out / "discovery-1.csv")
    assert set(boxes.parameter) >= {"behaviour.settlement.action_rate"}


def test_python_studies_are_the_commands(tmp_path, capsys):
    """``sim.sweep``/``sim.sensitivity``/``sim.discover`` are what the verbs run: on the
    verbs' folder they rerun nothing and give the tables the verbs wrote."""
    import sim

    f = sweep_file(tmp_path, '"behaviour.settlement.action_rate" = { min = 0.05, max = 0.6 }\n'
                             '"behaviour.permit.take_up" = { min = 0.1, max = 0.6 }',
                   "points = 6")
    out = tmp_path / "sweep"
    assert main(["sweep", str(f), "--out", str(out), "--quiet"]) == 0
    written = pd.read_csv(out / "results.csv", keep_default_na=False, na_values={"value": [""]})
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")}
    pd.testing.assert_frame_equal(sim.sweep(f, out=out), written)
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")} == before
    morris = tmp_path / "morris"
    assert main(["sensitivity", str(f), "--method", "morris", "--trajectories", "4",
                 "--output", "settlements:panjin:2016", "--out", str(morris), "--quiet"]) == 0
    indices = sim.sensitivity(f, ["settlements:panjin:2016"], trajectories=4, out=morris)
    pd.testing.assert_frame_equal(indices, pd.read_csv(morris / "indices.csv"),
                                  check_dtype=False)
    sel = written[(written.indicator == "settlements") & (written.area == "panjin")
                  & (written.year == 2016)].groupby("point").value.sum()
    where = f"settlements:panjin:2016 > {float(sel.median())}"
    found = sim.discover(f, where, out=out, density=0.5)
    assert found.runs == len(before) == 6 and found.cases == int((sel > sel.median()).sum()) == 3
    assert found.table.exists() and found.describe().startswith(f"{found.condition}: 3 of 6")
