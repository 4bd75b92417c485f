"""Calibration of the free behavioural parameters to Panjin's observed figures.

Two stages:

1. **Survey share** — the intention intercept is solved exactly (Brent's
   method) so that the mean intention of migrant household heads in the first
   reform year equals the CMDS 2016 share willing to move their hukou (29.7%).
   No simulation is needed: intention is a function of the synthetic population.
2. **Population targets** — each remaining free parameter is paired with the
   target it mainly moves (arrivals ↔ resident population, rural–urban moves ↔
   resident urbanization, action rate ↔ registered urbanization, hukou moves out
   ↔ registered population) and solved by Brent's method on whole runs
   (2015 to the last target year, common random numbers: the same seeds at
   every evaluation), in Gauss–Seidel sweeps until every target is within its
   tolerance. The reported objective is the sum of squared errors, each
   divided by its tolerance::

       J(θ) = Σ_k ((model_k(θ) − observed_k) / tolerance_k)²

   Root-finding per pair is used rather than a joint minimizer because the
   objective of a finite agent population is a step function of the rates:
   simplex methods stall on its flat steps, bracketing does not.

Targets, their tolerances and the free parameters with their bounds are in
``sim/data/calibration_targets.toml``. The result is written as
``sim/data/calibrated.toml`` (used by every scenario by default) with a fit
report (CSV and Markdown) and a chart of model vs observed.

Example
-------
>>> targets = load_targets()
>>> [f["parameter"] for f in targets["free"]][:1]
['migration.arrival_rate']
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from sim.model import UrbanizationModel
from sim.pipeline import intention
from sim.runner import validation_table
from sim.scenario import Scenario
from sim.synthesis import synthesize


def load_targets() -> dict[str, Any]:
    """The calibration targets and free parameters (``calibration_targets.toml``)."""
    text = resources.files("sim.data").joinpath("calibration_targets.toml").read_text("utf-8")
    return tomllib.loads(text)


def survey_intention(scenario: Scenario, seed: int, scale: float) -> tuple[float, float]:
    """Intercept giving the survey's mean intention of migrant heads, and that mean."""
    cfg = load_targets()["survey"]
    year = cfg["year"]
    state, _ = synthesize(scale, np.random.default_rng(seed))
    heads = np.flatnonzero(state.migrant_heads())

    def mean_at(alpha: float) -> float:
        p = scenario.with_overrides({"behaviour.intention.intercept": alpha}).at(year)
        return float(intention.probability(state, p, heads).mean())

    alpha = optimize.brentq(lambda a: mean_at(a) - cfg["observed"], -15.0, 15.0, xtol=1e-6)
    return alpha, mean_at(alpha)


def _model_values(scenario: Scenario, seeds: list[int], targets: list[dict]) -> np.ndarray:
    """Each target's model value, averaged over the seeds."""
    out = []
    for seed in seeds:
        model = UrbanizationModel(scenario, seed=seed)
        model.run()
        table = validation_table(model.indicators(), targets)
        out.append(table.model.to_numpy(float))
    return np.mean(out, axis=0)


def fit(scenario: Scenario, scale: float = 0.02, seeds: tuple[int, ...] = (1, 2, 3),
        sweeps: int = 3, progress: bool = True) -> dict[str, Any]:
    """Calibrate ``scenario``'s free parameters; returns values, fit table and history."""
    cfg = load_targets()
    targets = cfg["target"]
    free = cfg["free"]
    last_year = max(t["year"] for t in targets)
    base = scenario.with_overrides({"run.scale": scale, "run.end_year": last_year,
                                    "run.start_year": 2015})
    alpha, achieved = survey_intention(base, seeds[0], scale)
    values = {f["parameter"]: float(base.at(2016)[f["parameter"]]) for f in free}
    values["behaviour.intention.intercept"] = alpha
    observed = np.array([t["observed"] for t in targets], float)
    tolerance = np.array([t["tolerance"] for t in targets], float)
    index = {(t["indicator"], t["area"], t["year"]): k for k, t in enumerate(targets)}
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def evaluate(trial: dict[str, float]) -> np.ndarray:
        model = _model_values(base.with_overrides(trial), list(seeds), targets)
        errors = (model - observed) / tolerance
        history.append({"evaluation": len(history) + 1,
                        "objective": float(np.sum(errors ** 2)), **trial})
        if progress:
            print(f"  evaluation {len(history):3d}  objective {history[-1]['objective']:8.3f}  "
                  f"{time.perf_counter() - t0:6.1f} s", file=sys.stderr, flush=True)
        return errors

    for _ in range(sweeps):
        for f in free:
            k = index[tuple(f["target"])]
            name = f["parameter"]

            def error_at(x: float, name: str = name, k: int = k) -> float:
                return float(evaluate({**values, name: x})[k])

            lo, hi = f["min"], f["max"]
            e_lo, e_hi = error_at(lo), error_at(hi)
            if e_lo * e_hi > 0:  # no root inside the bounds: the closer bound
                values[name] = lo if abs(e_lo) < abs(e_hi) else hi
                continue
            values[name] = optimize.brentq(error_at, lo, hi, xtol=(hi - lo) * 1e-3,
                                           rtol=1e-3, maxiter=30)
        if np.all(np.abs(evaluate(values)) <= 1):
            break
    final = observed + evaluate(values) * tolerance
    table = pd.DataFrame([{
        "indicator": t["indicator"], "area": t["area"], "year": t["year"],
        "observed": t["observed"], "model": m, "error": m - t["observed"],
        "tolerance": t["tolerance"], "within_tolerance": abs(m - t["observed"]) <= t["tolerance"],
        "source": t["source"]} for t, m in zip(targets, final, strict=True)])
    survey = {"indicator": "mean settlement intention of migrant household heads",
              "observed": cfg["survey"]["observed"], "model": achieved,
              "source": cfg["survey"]["source"]}
    return {"values": values, "fit": table, "survey": survey, "history": pd.DataFrame(history),
            "objective": history[-1]["objective"], "evaluations": len(history),
            "scale": scale, "seeds": list(seeds), "scenario": scenario.name}


def write_calibrated(result: dict[str, Any], path: Path) -> Path:
    """The calibrated parameter file: a scenario-format overlay of plain values."""
    groups: dict[str, dict[str, float]] = {}
    for name, value in sorted(result["values"].items()):
        group, leaf = name.rsplit(".", 1)
        groups.setdefault(group, {})[leaf] = value
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    lines = ["# Calibrated parameters, written by `hukou-sim calibrate` — do not edit by hand;",
             "# rerun the calibration instead. Every scenario uses these values by default.",
             f"# Calibrated {stamp} on scenario {result['scenario']}, scale {result['scale']}, "
             f"seeds {result['seeds']};",
             f"# objective {result['objective']:.3f} after {result['evaluations']} evaluations. "
             "Fit report: docs/calibration.md.",
             'name = "calibrated"', ""]
    for group, leaves in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{leaf} = {value!r}" for leaf, value in leaves.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_report(result: dict[str, Any], folder: Path) -> list[Path]:
    """Fit report (CSV, Markdown), history and a chart of model vs observed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fit_table = result["fit"]
    fit_table.to_csv(folder / "fit_report.csv", index=False)
    result["history"].to_csv(folder / "history.csv", index=False)
    md = ["# Calibration fit report", "",
          f"Scenario `{result['scenario']}`, scale {result['scale']}, seeds {result['seeds']}; "
          f"Brent root-finding in Gauss–Seidel sweeps, {result['evaluations']} evaluations, "
          "objective "
          f"{result['objective']:.3f} (sum of squared errors over tolerances).", "",
          "| target | area | year | observed | model | error | tolerance | within |",
          "|---|---|---|---:|---:|---:|---:|---|"]
    for r in fit_table.itertuples():
        md.append(f"| {r.indicator} | {r.area} | {r.year} | {_fmt(r.observed)} | "
                  f"{_fmt(r.model)} | {_fmt(r.error)} | {_fmt(r.tolerance)} | "
                  f"{'yes' if r.within_tolerance else 'NO'} |")
    s = result["survey"]
    md += ["", f"Survey share: {s['indicator']}: observed {s['observed']:.3f}, model "
           f"{s['model']:.3f} ({s['source']}).", "", "Calibrated values:", ""]
    md += [f"- `{k}` = {v:.6g}" for k, v in sorted(result["values"].items())]
    (folder / "fit_report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (folder / "calibrated_values.json").write_text(json.dumps(result["values"], indent=2),
                                                   encoding="utf-8")

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.55 * len(fit_table)))
    rel = (fit_table.model - fit_table.observed) / fit_table.observed * 100
    tol = fit_table.tolerance / fit_table.observed * 100
    labels = [f"{r.indicator} · {r.area} · {r.year}" for r in fit_table.itertuples()]
    y = np.arange(len(fit_table))
    ax.barh(y, tol, left=-tol, color="#dfe9f3", label="tolerance")
    ax.scatter(rel, y, color="#1f4e79", zorder=3, label="model")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("model − observed, % of observed")
    ax.set_title("Calibration: model vs observed targets", fontsize=11)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.text(0.01, 0.005, f"hukou-sim calibrate · scenario {result['scenario']} · "
             f"scale {result['scale']} · seeds {result['seeds']}", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(folder / "fit.png", dpi=150)
    plt.close(fig)
    return [folder / n for n in ("fit_report.csv", "fit_report.md", "history.csv",
                                 "calibrated_values.json", "fit.png")]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4f}"
