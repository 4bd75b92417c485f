"""The experiment runner: executors agree byte for byte, one seed rule, honest summaries,
posterior draws, and no worker outlives its parent."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments import (
    Experiment,
    experiment_path,
    read_experiment,
    replicate_experiments,
    run_experiments,
)
from sim.output.common import BAND_MIN_RUNS
from sim.scenario import load_defaults
from sim.study.posterior import PosteriorError, draw_posterior
from sim.study.summary import TOTAL, band_limits, summarize

TINY = {"run.scale": 0.002, "run.end_year": 2017}


def tiny(**overrides):
    return load_defaults().with_overrides({**TINY, **overrides})


def test_workers_and_dask_give_identical_files(tmp_path):
    """In-process, 2 local processes and a Dask LocalCluster write the same bytes."""
    s = tiny()
    exps = [*replicate_experiments(2),
            Experiment("x", 2, 2, (("behaviour.settlement.action_rate", 0.5),))]
    runs = {"one": dict(workers=1), "two": dict(workers=2),
            "dask": dict(workers=2, dask="local")}
    for name, how in runs.items():
        run_experiments(s, exps, tmp_path / name, **how)
    for e in exps:
        files = {name: experiment_path(tmp_path / name, e).read_bytes() for name in runs}
        assert files["one"] == files["two"] == files["dask"], e.key
    # the override reached the model: the action rate changes the settlements
    a = read_experiment(experiment_path(tmp_path / "one", exps[0]))
    x = read_experiment(experiment_path(tmp_path / "one", exps[2]))
    assert not a.value.equals(x.value)


def test_stored_runs_are_skipped(tmp_path, simulated):
    s = tiny()
    exps = replicate_experiments(3)
    run_experiments(s, exps[:2], tmp_path)
    del simulated[:]
    run_experiments(s, exps, tmp_path)
    assert simulated == [exps[2].key]


def test_progress_bar_ends_at_the_run_count_without_overshoot(tmp_path, capsys):
    """The bar advances by each year's share and ends on exactly the runs done: twenty
    additions of 1/20 sum to more than 1.0, which tqdm clamps with a warning on screen."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")   # tqdm's TqdmWarning "clamping frac" fails the test
        run_experiments(tiny(**{"run.end_year": 2035}), replicate_experiments(1),
                        tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "clamping" not in err
    assert re.search(r"100%\|[^|]*\| 1/1 runs", err), err[-300:]


def _frame(runs: int) -> pd.DataFrame:
    """Hand-built runs: two areas and the city, one indicator with categories."""
    rng = np.random.default_rng(0)
    rows = []
    for r in range(runs):
        a = {"x": rng.uniform(0, 10), "y": rng.uniform(0, 10)}
        b = {"x": rng.uniform(0, 10), "y": rng.uniform(0, 10)}
        for area, v in (("dawa", a), ("panshan", b),
                        ("panjin", {k: a[k] + b[k] for k in a})):
            for cat, value in v.items():
                rows.append(("s", r, 2020, area, "public_service_cost", cat, value))
            rows.append(("s", r, 2020, area, "births", "", sum(v.values())))
    return pd.DataFrame(rows, columns=["scenario", "replicate", "year", "area", "indicator",
                                       "category", "value"])


def test_summary_totals_add_up_and_bands_say_what_they_are():
    few = summarize(_frame(3)).set_index(["area", "indicator", "category"])
    # the mean of the city is the sum of the areas' means; the total's mean the categories'
    city = few.loc[("panjin", "public_service_cost", TOTAL), "mean"]
    areas = few.loc[(["dawa", "panshan"], "public_service_cost", ["x", "y"]), "mean"].sum()
    assert city == pytest.approx(areas, rel=1e-12)
    assert few.loc[("dawa", "public_service_cost", TOTAL), "mean"] == pytest.approx(
        few.loc[("dawa", "births", ""), "mean"], rel=1e-12)
    # with 3 runs there is no 5-95% band: p5/p95 are empty and the band is min-max
    assert few.p5.isna().all() and few.p95.isna().all()
    assert set(few.band) == {"min-max"} and set(few.runs) == {3}
    limits = band_limits(few.reset_index())
    assert (limits.low.to_numpy() == few["min"].to_numpy()).all()
    many = summarize(_frame(BAND_MIN_RUNS))
    assert set(many.band) == {"p5-p95"} and many.p5.notna().all()
    assert ((many["min"] <= many.p5) & (many.p5 <= many.p50) & (many.p50 <= many.p95)
            & (many.p95 <= many["max"])).all()
    # the band of a total is the band of each run's total, not a sum of bands
    total = many[(many.area == "dawa") & (many.category == TOTAL)].iloc[0]
    parts = many[(many.area == "dawa") & many.category.isin(["x", "y"])]
    assert total.p95 < parts.p95.sum()


def _posterior(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "posterior.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_posterior_draws_are_recorded_and_weighted(tmp_path):
    path = _posterior(tmp_path, "behaviour.settlement.action_rate,behaviour.permit.take_up,"
                                "weight\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n")
    draws = draw_posterior(tiny(**{"run.replicates": 2}), 3, path)
    assert [e.replicate for e in draws.experiments] == list(range(6))
    assert len({e.stream for e in draws.experiments}) == 6
    # only the row with weight can be drawn
    assert {r["posterior_row"] for r in draws.record["runs"]} == {1}
    assert all(dict(e.overrides) == {"behaviour.settlement.action_rate": 0.3,
                                     "behaviour.permit.take_up": 0.4}
               for e in draws.experiments)
    assert draws.record["weighted"] and draws.record["draws"] == 3


@pytest.mark.parametrize("text, problem", [
    ("behaviour.settlement.nope\n0.1\n", "not a parameter"),
    ("behaviour.settlement.action_rate\n7\n", "line 2"),
    ("behaviour.settlement.action_rate,weight\n0.1,-1\n", "weight"),
])
def test_bad_posterior_files_are_refused(tmp_path, text, problem):
    with pytest.raises(PosteriorError, match=problem):
        draw_posterior(tiny(), 1, _posterior(tmp_path, text))


def test_run_posterior_cli(tmp_path, capsys):
    path = _posterior(tmp_path, "behaviour.settlement.action_rate\n0.05\n0.6\n")
    scenario = tmp_path / "tiny.toml"
    scenario.write_text('name = "tiny"\n[run]\nscale = 0.002\nend_year = 2016\n',
                        encoding="utf-8")
    missing = ["run", str(scenario), "--posterior", "2", "--posterior-file",
               str(tmp_path / "none.csv"), "--out", str(tmp_path / "x")]
    assert main(missing) == 2
    assert "no posterior sample" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--posterior", "2", "--replicates", "2",
                 "--posterior-file", str(path), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["runs"] == 4 and manifest["posterior"]["draws"] == 2
    assert len(manifest["seeds"]) == 4
    frame = pd.read_csv(out / "indicators.csv", keep_default_na=False)
    assert sorted(frame.replicate.unique()) == [0, 1, 2, 3]
    summary = pd.read_csv(out / "indicators_summary.csv", keep_default_na=False)
    assert set(summary.runs) == {4}


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path):
    """Kill the main process of a `--workers 2` run: its workers are gone soon after."""
    scenario = tmp_path / "long.toml"
    scenario.write_text('name = "long"\n[run]\nscale = 0.002\nend_year = 2035\n',
                        encoding="utf-8")
    # TMPDIR: the killed run cannot remove its temporary folder; keep it in tmp_path
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "TMPDIR": str(tmp_path)}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        main_proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "run", str(scenario), "--replicates", "8",
             "--workers", "2", "--out", str(tmp_path / "run")],
            env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        # wait until a run has finished: both workers are then past their start-up
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not re.search(r"\b[1-7]/8 runs", log.read_text()):
            time.sleep(0.2)
        workers = {c for c in _children(main_proc.pid) if b"spawn_main" in _cmdline(c)}
        assert len(workers) == 2, "the workers did not start"
        main_proc.send_signal(signal.SIGKILL)
        main_proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers)
    finally:
        main_proc.kill()


def test_model_seed_is_replicate_zero_of_the_cli(tmp_path):
    """One seed rule: ``UrbanizationModel(s, seed=S)`` is replicate 0 of ``run --seed S``,
    and ``replicate=1`` is the CLI's second replicate."""
    from sim.model import UrbanizationModel
    from sim.runner import sort_indicators

    scenario = tmp_path / "tiny.toml"
    scenario.write_text('name = "tiny"\n[run]\nscale = 0.002\nend_year = 2017\n',
                        encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--seed", "11", "--replicates", "2", "--out", str(out),
                 "--quiet"]) == 0
    cli = pd.read_csv(out / "indicators.csv", keep_default_na=False)
    s = load_defaults().with_overrides({"run.scale": 0.002, "run.end_year": 2017})
    for replicate in (0, 1):
        model = UrbanizationModel(s, replicate=replicate, seed=11)
        model.run()
        ours = sort_indicators(model.indicators().assign(scenario="tiny"))
        theirs = cli[cli.replicate == replicate].reset_index(drop=True)
        assert np.allclose(ours.value.to_numpy(), theirs.value.to_numpy(), rtol=1e-12), replicate
        assert ours[["year", "area", "indicator", "category"]].equals(
            theirs[["year", "area", "indicator", "category"]])
    other = UrbanizationModel(s, seed=12)
    other.run()
    other_values = sort_indicators(other.indicators().assign(scenario="tiny")).value.to_numpy()
    assert not np.allclose(other_values, cli[cli.replicate == 0].value.to_numpy())
