"""Calibration: a posterior sample of the free behavioural parameters.

Two stages:

1. **Survey share** — the intention intercept is solved exactly (Brent's method) so that the
   mean intention of migrant household heads in the first reform year equals the CMDS 2016
   share willing to move their hukou (29.7%). One equation, one unknown: no freedom is used.
2. **Population figures** — the free parameters of ``sim/data/calibration.toml`` (five, each
   with a uniform prior over a range from the literature) are estimated by approximate
   Bayesian computation with sequential Monte Carlo (ABC-SMC, Del Moral et al. 2012, as
   implemented by pyabc) against the observations of ``sim/data/observations.toml`` up to
   the ``through`` year of the calibration set (`sim.scenario.calibrated`): every figure to
   2023 for ``forecast``, the eight to 2020 for ``backtest``. The distance of a simulation is

       d(θ) = sqrt( Σ_k ((model_k(θ) − observed_k) / tolerance_k)² )

   and each SMC generation keeps the particles below a shrinking quantile of it.
3. **Point estimate** — the values a single run uses (the calibrated overlay) are one
   posterior member chosen by fit: each member is run again at ten times the ABC scale
   with common seeds (``[point]`` of ``calibration.toml``) and ranked by the distance of
   its mean (`rank_members`). Marginal medians were used before; with correlated
   parameters their combination is no member and can fall off the posterior's ridge (the
   backtest set's medians missed its own 2020 census figure). Among the best-fitting tenth,
   the one nearest the posterior's medians is kept (`pick_point`), so that parameters the
   figures do not inform sit near the middle of their posterior, not where a near-tie puts
   them.

Why ABC-SMC rather than history matching or a point fit: the model is stochastic and its
likelihood has no closed form; ABC needs only simulations, gives a weighted sample of
parameter sets (the posterior) that runs can draw from (``run --posterior N``), so forecasts
carry parameter uncertainty as well as sampling noise; and pyabc is the maintained library
of the field. A parameter the figures do not inform keeps a posterior close to its prior —
which is the honest answer (the settlement action rate before 2021 is such a parameter).

Figures after the set's ``through`` are never used: for the ``backtest`` set they are the
out-of-sample test of its forecast (`sim.validation`).

Example
-------
>>> [f["parameter"] for f in load_config()["free"]][:1]
['migration.arrival_rate']
"""

from __future__ import annotations

import json
import logging
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
from sim.scenario import Scenario
from sim.synthesis import synthesize
from sim.validation import load_observations, observation_value, role, totals_by_run


def load_config() -> dict[str, Any]:
    """The survey, free parameters (with prior ranges) and ABC settings."""
    text = resources.files("sim.data").joinpath("calibration.toml").read_text("utf-8")
    return tomllib.loads(text)


def calibration_observations(through: int) -> list[dict[str, Any]]:
    """The observed figures a calibration set fitted to the figures up to ``through`` uses.

    >>> len(calibration_observations(2020))
    8
    """
    return [o for o in load_observations() if role(o, through) == "calibration"]


def survey_intention(scenario: Scenario, seed: int, scale: float) -> tuple[float, float]:
    """Intercept giving the survey's mean intention of migrant heads, and that mean."""
    cfg = load_config()["survey"]
    year = cfg["year"]
    state, _ = synthesize(scale, np.random.default_rng(seed))
    heads = np.flatnonzero(state.migrant_heads())

    def mean_at(alpha: float) -> float:
        p = scenario.with_overrides({"behaviour.intention.intercept": alpha}).at(year)
        return float(intention.probability(state, p, heads).mean())

    alpha = optimize.brentq(lambda a: mean_at(a) - cfg["observed"], -15.0, 15.0, xtol=1e-6)
    return alpha, mean_at(alpha)


def simulate(scenario: Scenario, values: dict[str, float], seed: int,
             observations: list[dict[str, Any]]) -> np.ndarray:
    """The model's value of each observation in one run with parameters ``values``."""
    model = UrbanizationModel(scenario.with_overrides(values), seed=seed)
    model.run()
    totals = totals_by_run(model.indicators()).iloc[:, 0]
    return np.array([observation_value(totals, o) for o in observations], float)


def distance(model: np.ndarray, observations: list[dict[str, Any]]) -> float:
    """ABC's distance of model values from the observations: the root of the summed squared
    errors, each in units of its figure's tolerance (a missing value counts 0).

    >>> distance(np.array([110.0, 5.0]), [{"observed": 100, "tolerance": 10},
    ...                                    {"observed": 5, "tolerance": 1}])
    1.0
    """
    observed = np.array([o["observed"] for o in observations], float)
    tolerance = np.array([o["tolerance"] for o in observations], float)
    return float(np.sqrt(np.nansum(((model - observed) / tolerance) ** 2)))


def choose_point(base: Scenario, posterior: pd.DataFrame, observations: list[dict[str, Any]],
                 scale: float, progress: bool = True) -> pd.DataFrame:
    """The point estimate among the posterior members: `rank_members` by fit, then
    `pick_point`. Returns the ranking with the chosen member flagged in ``point``."""
    return pick_point(rank_members(base, posterior, observations, scale, progress), posterior)


def rank_members(base: Scenario, posterior: pd.DataFrame, observations: list[dict[str, Any]],
                 scale: float, progress: bool = True) -> pd.DataFrame:
    """The posterior members ranked by fit: each run at ``scale`` with the seeds of
    ``[point]`` in calibration.toml (the same seeds for every member, so that the ranking
    compares parameters, not random streams), and the `distance` of its mean.

    ``base`` is the scenario with the survey intercept set; the returned frame has the free
    parameters, ``weight``, ``member`` (the row of the posterior sample, from 0),
    ``distance`` and ``missed`` (figures outside their tolerance), best first."""
    cfg = load_config()
    names, seeds = [f["parameter"] for f in cfg["free"]], cfg["point"]["seeds"]
    base = base.with_overrides({"run.scale": scale,
                                "run.end_year": max(o["year"] for o in observations)})
    tolerance = np.array([o["tolerance"] for o in observations], float)
    observed = np.array([o["observed"] for o in observations], float)
    started = time.perf_counter()
    rows = []
    for member, (_, r) in enumerate(posterior.iterrows()):
        values = {n: float(r[n]) for n in names}
        mean = np.mean([simulate(base, values, seed, observations) for seed in seeds], axis=0)
        rows.append({**values, "weight": float(r["weight"]), "member": member,
                     "distance": distance(mean, observations),
                     "missed": int((np.abs(mean - observed) > tolerance).sum())})
        if progress:
            print(f"  point: member {member + 1:3d} of {len(posterior)}  "
                  f"{time.perf_counter() - started:6.0f} s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows).sort_values(["distance", "member"], ignore_index=True)


def pick_point(ranked: pd.DataFrame, posterior: pd.DataFrame) -> pd.DataFrame:
    """Flag the point estimate in a ranking (`rank_members`): among the best-fitting share
    (``best_share`` of ``[point]``), the member nearest the posterior's medians, with each
    parameter measured in units of its prior range (column ``centrality``).

    Why two steps: the best member alone is a near-tie among members that differ widely in
    the parameters the figures do not inform (the backtest's action rate spans 0.15–0.65
    among its five best), so it would pick those by noise; the medians alone combine
    correlated parameters into a set that is no member and can fit worse than any.

    >>> ranked = pd.DataFrame({"migration.arrival_rate": [0.01, 0.02, 0.03],
    ...                        "distance": [1.0, 2.0, 3.0], "member": [0, 1, 2]})
    >>> pick_point(ranked, ranked.assign(weight=1.0)).point.tolist()
    [True, False, False]
    """
    cfg = load_config()
    free = [f for f in cfg["free"] if f["parameter"] in ranked]
    medians = posterior_summary(posterior, free).set_index("parameter")["median"]
    scaled = [(ranked[f["parameter"]] - medians[f["parameter"]]) / (f["max"] - f["min"])
              for f in free]
    centrality = np.sqrt(sum(d ** 2 for d in scaled))
    best = np.arange(len(ranked)) < max(1, int(np.ceil(cfg["point"]["best_share"] * len(ranked))))
    point = np.zeros(len(ranked), bool)
    point[np.flatnonzero(best)[np.argmin(centrality.to_numpy()[best])]] = True
    return ranked.assign(centrality=centrality, point=point)


def _safe(name: str) -> str:
    return name.replace(".", "__")


def estimate_posterior(scenario: Scenario, folder: Path, scale: float | None = None,
        population_size: int | None = None, generations: int | None = None,
        max_simulations: int | None = None, seed: int | None = None,
        progress: bool = True) -> dict[str, Any]:
    """Estimate the posterior of the free parameters by ABC-SMC, fitted to the figures up to
    the ``through`` year of the scenario's calibration set; pyabc's database is kept in
    ``folder``. Returns the posterior sample, its summary, the fit and the history."""
    import pyabc

    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)
    cfg = load_config()
    abc_cfg = cfg["abc"]
    scale = abc_cfg["scale"] if scale is None else scale
    population_size = abc_cfg["population_size"] if population_size is None else population_size
    generations = abc_cfg["generations"] if generations is None else generations
    max_simulations = abc_cfg["max_simulations"] if max_simulations is None else max_simulations
    seed = abc_cfg["seed"] if seed is None else seed
    calibration = scenario.calibration
    if calibration is None:
        raise ValueError("the scenario has no run.calibration setting (custom defaults "
                         "folder?): nothing says which figures to fit")
    observations = calibration_observations(calibration.through)
    free = cfg["free"]
    names = [f["parameter"] for f in free]
    last_year = max(o["year"] for o in observations)
    base = scenario.with_overrides({"run.scale": scale, "run.end_year": last_year,
                                    "run.start_year": 2015})
    alpha, achieved = survey_intention(base, seed, scale)
    base = base.with_overrides({"behaviour.intention.intercept": alpha})
    observed = np.array([o["observed"] for o in observations], float)
    seeds = np.random.default_rng(seed)
    started = time.perf_counter()
    count = [0]

    def model(parameter: dict[str, float]) -> dict[str, np.ndarray]:
        values = {name: float(parameter[_safe(name)]) for name in names}
        count[0] += 1
        out = simulate(base, values, int(seeds.integers(2**31)), observations)
        if progress and count[0] % 10 == 0:
            print(f"  simulation {count[0]:4d}  {time.perf_counter() - started:6.0f} s",
                  file=sys.stderr, flush=True)
        return {"values": out}

    def abc_distance(x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
        return distance(x["values"], observations)

    prior = pyabc.Distribution(**{_safe(f["parameter"]): pyabc.RV("uniform", f["min"],
                                                                  f["max"] - f["min"])
                                  for f in free})
    np.random.seed(seed)  # noqa: NPY002 — pyabc draws from numpy's global generator
    abc = pyabc.ABCSMC(model, prior, abc_distance, population_size=population_size,
                       sampler=pyabc.sampler.SingleCoreSampler())
    folder.mkdir(parents=True, exist_ok=True)
    abc.new("sqlite:///" + str((folder / "abc.db").resolve()), {"values": observed})
    history = abc.run(max_nr_populations=generations, max_total_nr_simulations=max_simulations)
    particles, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({name: particles[_safe(name)].to_numpy() for name in names})
    posterior["behaviour.intention.intercept"] = alpha
    posterior["weight"] = weights / weights.sum()
    populations = history.get_all_populations()
    generations_table = populations[populations.t >= 0][["t", "epsilon", "samples"]].rename(
        columns={"t": "generation", "samples": "simulations"})
    # the fit: posterior-predictive mean of each calibration figure over the posterior draws
    draws = posterior.sample(n=min(20, len(posterior)), weights="weight", replace=True,
                             random_state=seed)
    predictive = np.array([simulate(base, {n: float(r[n]) for n in names},
                                    1000 + k, observations)
                           for k, (_, r) in enumerate(draws.iterrows())])
    fit_table = pd.DataFrame([{
        "indicator": o["indicator"], "area": o["area"], "year": o["year"],
        "observed": o["observed"], "model": float(np.mean(predictive[:, k])),
        "model_p5": float(np.percentile(predictive[:, k], 5)),
        "model_p95": float(np.percentile(predictive[:, k], 95)),
        "tolerance": o["tolerance"],
        "within_tolerance": abs(float(np.mean(predictive[:, k])) - o["observed"])
        <= o["tolerance"], "source": o["source"]} for k, o in enumerate(observations)])
    ranked = choose_point(base, posterior, observations,
                          scale * cfg["point"]["scale_factor"], progress)
    return {
        "posterior": posterior, "summary": posterior_summary(posterior, free),
        "point": ranked,
        "fit": fit_table, "generations": generations_table,
        "survey": {"indicator": "mean settlement intention of migrant household heads",
                   "observed": cfg["survey"]["observed"], "model": achieved,
                   "source": cfg["survey"]["source"]},
        "intercept": alpha, "simulations": count[0], "scale": scale, "seed": seed,
        "scenario": scenario.name, "population_size": population_size,
        "calibration": calibration,
        "wall_seconds": time.perf_counter() - started,
    }


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` of a weighted sample (weights need not sum to 1)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cum, q, side="left").clip(0, len(values) - 1)])


def posterior_summary(posterior: pd.DataFrame, free: list[dict[str, Any]]) -> pd.DataFrame:
    """Each free parameter: prior range, posterior median and 90% interval."""
    w = posterior["weight"].to_numpy()
    return pd.DataFrame([{
        "parameter": f["parameter"], "prior_min": f["min"], "prior_max": f["max"],
        "median": weighted_quantile(posterior[f["parameter"]].to_numpy(), w, 0.5),
        "p5": weighted_quantile(posterior[f["parameter"]].to_numpy(), w, 0.05),
        "p95": weighted_quantile(posterior[f["parameter"]].to_numpy(), w, 0.95),
    } for f in free])


def load_posterior(path: Path) -> pd.DataFrame:
    """The posterior sample: one row per parameter set (dotted parameter names) and a
    ``weight`` column summing to 1."""
    return pd.read_csv(path)


def write_calibrated(result: dict[str, Any], path: Path) -> Path:
    """The calibrated parameter file: the point estimate (`choose_point`: a posterior member
    among the best-fitting) and the survey intercept as a scenario-format overlay, the values a
    single run of the calibration set uses."""
    best = result["point"][result["point"].point].iloc[0]
    values = {r.parameter: float(best[r.parameter]) for r in result["summary"].itertuples()}
    values["behaviour.intention.intercept"] = result["intercept"]
    groups: dict[str, dict[str, float]] = {}
    for name, value in sorted(values.items()):
        group, leaf = name.rsplit(".", 1)
        groups.setdefault(group, {})[leaf] = value
    now = datetime.now(UTC).isoformat(timespec="seconds")
    stamp = result.get("calibrated_at", now)  # the ABC run's time, when the point is re-chosen
    c = result["calibration"]
    lines = ["# Calibrated parameters, written by `hukou-sim calibrate` — do not edit by hand;",
             f"# rerun the calibration instead. Calibration set {c.name!r} (run.calibration),",
             f"# fitted to the observed figures up to {c.through}: member {int(best.member)} "
             f"(from 0) of sim/data/{c.posterior.name}",
             f"# (ABC-SMC), the most central of its best-fitting tenth (distance "
             f"{best.distance:.3f}; chosen {now}), and the survey intercept.",
             f"# Calibrated {stamp} on scenario {result['scenario']}, scale {result['scale']}, "
             f"seed {result['seed']}, {result['simulations']} simulations. "
             "Report: docs/calibration.md.",
             'name = "calibrated"', ""]
    for group, leaves in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{leaf} = {float(value)!r}" for leaf, value in leaves.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_posterior(result: dict[str, Any], path: Path) -> Path:
    """The posterior sample as CSV (see `load_posterior`)."""
    result["posterior"].to_csv(path, index=False, float_format="%.6g")
    return path


def write_report(result: dict[str, Any], folder: Path) -> list[Path]:
    """Fit report (CSV, Markdown), posterior sample and summary, and a chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fit_table = result["fit"]
    fit_table.to_csv(folder / "fit_report.csv", index=False)
    result["posterior"].to_csv(folder / "posterior.csv", index=False, float_format="%.6g")
    result["summary"].to_csv(folder / "posterior_summary.csv", index=False)
    result["point"].to_csv(folder / "point.csv", index=False, float_format="%.6g")
    result["generations"].to_csv(folder / "generations.csv", index=False)
    c = result["calibration"]
    md = ["# Calibration report", "",
          f"Calibration set `{c.name}` ({c.doc}). "
          f"Scenario `{result['scenario']}`, scale {result['scale']}, seed {result['seed']}: "
          f"ABC-SMC (pyabc), {result['population_size']} particles, "
          f"{len(result['generations'])} generations, {result['simulations']} simulations "
          f"in {result['wall_seconds'] / 60:.0f} min. Fitted to the {len(fit_table)} "
          f"observations up to {c.through}; the model column is the "
          "posterior-predictive mean of 20 runs drawn from the posterior (5–95% in brackets).",
          "", "| figure | area | year | observed | model (5–95%) | tolerance | within |",
          "|---|---|---|---:|---:|---:|---|"]
    for r in fit_table.itertuples():
        md.append(f"| {r.indicator} | {r.area} | {r.year} | {_fmt(r.observed)} | "
                  f"{_fmt(r.model)} ({_fmt(r.model_p5)}–{_fmt(r.model_p95)}) | "
                  f"{_fmt(r.tolerance)} | {'yes' if r.within_tolerance else 'NO'} |")
    s = result["survey"]
    md += ["", f"Survey share (solved exactly, not a test): {s['indicator']}: observed "
           f"{s['observed']:.3f}, model {s['model']:.3f} ({s['source']}).", "",
           "## Posterior", "", *point_lines(result["point"], result["summary"])]
    md += ["", "## Generations", "", "| generation | epsilon | simulations |", "|---:|---:|---:|"]
    md += [f"| {int(r.generation)} | {r.epsilon:.3f} | {int(r.simulations)} |"
           for r in result["generations"].itertuples()]
    (folder / "fit_report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (folder / "result.json").write_text(json.dumps(
        {"calibration": c.name, "through": c.through,
         "intercept": result["intercept"], "simulations": result["simulations"],
         "scale": result["scale"], "seed": result["seed"]}, indent=2), encoding="utf-8")

    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.55 * len(fit_table)))
    rel = (fit_table.model - fit_table.observed) / fit_table.observed.abs() * 100
    lo = (fit_table.model_p5 - fit_table.observed) / fit_table.observed.abs() * 100
    hi = (fit_table.model_p95 - fit_table.observed) / fit_table.observed.abs() * 100
    tol = fit_table.tolerance / fit_table.observed.abs() * 100
    labels = [f"{r.indicator} · {r.area} · {r.year}" for r in fit_table.itertuples()]
    y = np.arange(len(fit_table))
    ax.barh(y, 2 * tol, left=-tol, color="#dfe9f3", label="tolerance")
    ax.hlines(y, lo, hi, color="#1f4e79", lw=1.5, label="posterior predictive 5–95%")
    ax.scatter(rel, y, color="#1f4e79", zorder=3, label="posterior predictive mean")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("model − observed, % of observed")
    ax.set_title(f"Calibration set {c.name} (figures to {c.through}): model vs observed",
                 fontsize=11)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    fig.text(0.01, 0.005, f"hukou-sim calibrate · scenario {result['scenario']} · "
             f"scale {result['scale']} · ABC-SMC", fontsize=7, color="#555")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(folder / "fit.png", dpi=150)
    plt.close(fig)
    return [folder / n for n in ("fit_report.csv", "fit_report.md", "posterior.csv",
                                 "posterior_summary.csv", "point.csv", "generations.csv",
                                 "fit.png")]


def point_lines(ranked: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Markdown: each free parameter's prior range, posterior median and 90% interval, and
    the point estimate (`choose_point`) a single run uses, with how it was chosen."""
    chosen = ranked[ranked.point].iloc[0]
    rank = int(np.flatnonzero(ranked.point)[0]) + 1
    cfg = load_config()["point"]
    lines = ["| parameter | prior range | median | 90% interval | point |",
             "|---|---|---:|---|---:|"]
    lines += [f"| `{r.parameter}` | {r.prior_min:g}–{r.prior_max:g} | {r.median:.4g} | "
              f"{r.p5:.4g}–{r.p95:.4g} | {chosen[r.parameter]:.4g} |"
              for r in summary.itertuples()]
    return lines + ["", f"Point: member {int(chosen.member)} (from 0) of the {len(ranked)}, "
                    f"the nearest the medians among the best-fitting {cfg['best_share']:.0%} "
                    f"when each is run at {cfg['scale_factor']}× the ABC scale with seeds "
                    f"{', '.join(map(str, cfg['seeds']))}: rank {rank} by fit, distance "
                    f"{chosen.distance:.3f} ({int(chosen.missed)} figures outside their "
                    f"tolerance; the best member's {ranked.distance.iloc[0]:.3f}, the median "
                    f"member's {ranked.distance.median():.3f})."]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"
