"""The studies as Python functions — `sweep`, `sensitivity`, `discover` (``sim.sweep`` and
so on) — which the command line's verbs call and print (`sim.study.commands`).

Each runs (or resumes) its experiments in a study folder (default under ``results/``):
finished runs are skipped, so a second call with the same sweep file only reads.

Example
-------
>>> import sim
>>> table = sim.sweep("sweeps/settlement_levers.toml", out=tmp)  # doctest: +SKIP
>>> indices = sim.sensitivity("sweeps/settlement_levers.toml",
...                           ["registered_population:panjin:2030"])  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments import Experiment
from sim.study import StudyError
from sim.study.design import Sweep, load_sweep

DEFAULT_ROOT = Path("results")


def _loaded(sweep: Sweep | str | Path) -> Sweep:
    return sweep if isinstance(sweep, Sweep) else load_sweep(sweep)


def study_folder_of(sweep: Sweep, kind: str, out: str | Path | None = None) -> Path:
    """The study's folder: ``out``, or ``results/sweeps/<name>/`` for a sweep and
    ``results/sensitivity/<name>-<method>/`` for a sensitivity analysis."""
    if out:
        return Path(out)
    return (DEFAULT_ROOT / "sweeps" / sweep.name if kind == "sweep"
            else DEFAULT_ROOT / "sensitivity" / f"{sweep.name}-{kind}")


def _announce(sweep: Sweep, what: str, runs: int, folder: Path) -> None:
    r = sweep.scenario.run
    print(f"hukou-sim: {sweep.name}: {what} x {sweep.replicates} replicate(s) = {runs} model "
          f"runs of {sweep.scenario.name} {r.start_year}-{r.end_year}, scale {r.scale} -> "
          f"{folder}", file=sys.stderr)
    for p in sweep.parameters:
        print(f"  {p.name:<50} {p.describe()}", file=sys.stderr)


def sweep_runs(sweep: Sweep, out: str | Path | None = None, workers: int = 1,
               dask: str | None = None, progress: bool = False
               ) -> tuple[Path, list[Experiment], list[Path]]:
    """Run (or resume) every point × replicate of a sweep; returns the study folder (with
    ``results.csv``), the experiments and their stored files."""
    from sim.study.design import run_points, sweep_table

    folder = study_folder_of(sweep, "sweep", out)
    points = sweep.points_values()
    _announce(sweep, f"{sweep.design.replace('_', ' ')}, {len(points)} point(s)",
              len(points) * sweep.replicates, folder)
    experiments, paths = run_points(sweep, "sweep", points, folder, workers=workers,
                                    dask=dask, progress=progress)
    table = folder / "results.csv"
    if not table.exists():
        sweep_table(sweep, experiments, paths, table)
    return folder, experiments, paths


def sweep(sweep: Sweep | str | Path, *, out: str | Path | None = None, workers: int = 1,
          dask: str | None = None, progress: bool = False) -> pd.DataFrame:
    """Run a sweep file (full factorial or Latin hypercube, `sim.study.design`) and return
    its tidy table: ``point``, one column per varied parameter, then the indicator columns
    of every run (``results.csv`` in the study folder ``out``, default
    ``results/sweeps/<name>/``; ``workers`` processes or ``dask`` as in `sim.run`).

    >>> table = sweep("sweeps/settlement_levers.toml", out=tmp)  # doctest: +SKIP
    >>> table.groupby("behaviour.settlement.action_rate").value.sum()  # doctest: +SKIP
    """
    folder, _, _ = sweep_runs(_loaded(sweep), out, workers, dask, progress)
    return pd.read_csv(folder / "results.csv", keep_default_na=False,
                       na_values={"value": [""]})


def sensitivity(sweep: Sweep | str | Path, outputs: Sequence[str], *,
                method: str = "morris", trajectories: int = 10, levels: int = 4,
                samples: int = 64, out: str | Path | None = None, workers: int = 1,
                dask: str | None = None, progress: bool = False) -> pd.DataFrame:
    """Morris (``trajectories``, ``levels``) or Sobol' (base ``samples``) sensitivity indices
    with confidence intervals (SALib) of ``outputs`` (``indicator[/category]:area:year``,
    e.g. ``"registered_population:panjin:2030"``) to the sweep file's parameters, over
    their ranges; each design point is the mean of the sweep's replicates. Refuses designs
    SALib would compute wrongly. Writes ``outputs.csv``, ``indices.csv`` and a chart to
    ``out`` (default ``results/sensitivity/<name>-<method>/``); returns the indices,
    most influential parameter first for each output.

    >>> indices = sensitivity("sweeps/settlement_levers.toml",
    ...                       ["registered_population:panjin:2030"])  # doctest: +SKIP
    >>> indices[["parameter", "mu_star", "mu_star_conf"]].head()  # doctest: +SKIP
    """
    from sim.study import sensitivity as sa
    from sim.study.design import output_values, parse_output, run_points, values_at

    if method not in ("morris", "sobol"):
        raise StudyError(f"method {method!r}: allowed: morris, sobol")
    sweep = _loaded(sweep)
    parsed = [parse_output(o, sweep.scenario) for o in outputs]
    names = [p.name for p in sweep.parameters]
    size = trajectories if method == "morris" else samples
    sa.check_design(method, size, levels)
    problem = sa.problem_of(names)
    seed = sweep.scenario.run.seed
    unit = sa.design(method, problem, size, levels, seed=seed)
    points = values_at(sweep.parameters, unit)
    folder = study_folder_of(sweep, method, out)
    how = (f"Morris, {size} trajectories x {len(names) + 1} points, {levels} levels"
           if method == "morris" else
           f"Sobol', N = {size} x (d + 2 = {len(names) + 2}) points")
    _announce(sweep, how, len(points) * sweep.replicates, folder)
    experiments, paths = run_points(sweep, method, points, folder, workers=workers,
                                    dask=dask, progress=progress)
    values = output_values(paths, parsed)
    values.insert(0, "point", [int(e.key[1:e.key.index("-")]) for e in experiments])
    values.insert(1, "replicate", [e.replicate for e in experiments])
    values.to_csv(folder / "outputs.csv", index=False)
    means = values.groupby("point").mean().drop(columns="replicate")
    tables = []
    for o in parsed:
        t = sa.analyze(method, problem, unit, means[str(o)].to_numpy(), levels, seed=seed)
        tables.append(sa.ranked(t, method).assign(output=str(o)))
    indices = pd.concat(tables, ignore_index=True)
    indices = indices[["output", *[c for c in indices.columns if c != "output"]]]
    indices.to_csv(folder / "indices.csv", index=False)
    sa.chart(indices, method, str(folder / "indices"))
    return indices


@dataclass(frozen=True)
class Discovery:
    """What `discover` found: the condition, how many runs meet it, the PRIM boxes, and the
    table written (``discovery-<n>.csv`` in the sweep's folder)."""

    condition: str
    cases: int
    runs: int
    output_range: tuple[float, float]
    boxes: list
    table: Path

    def describe(self) -> str:
        """The discovery as ``hukou-sim discover`` prints it."""
        lines = [f"{self.condition}: {self.cases} of {self.runs} runs (output from "
                 f"{self.output_range[0]:.4g} to {self.output_range[1]:.4g})"]
        lines += [f"box {i}: {b.describe()}" for i, b in enumerate(self.boxes, start=1)]
        return "\n".join(lines)


def discover(sweep: Sweep | str | Path, where: str, *, boxes: int = 1, density: float = 0.8,
             out: str | Path | None = None, workers: int = 1, dask: str | None = None,
             progress: bool = False) -> Discovery:
    """Scenario discovery: PRIM boxes (parameter ranges) over the sweep's runs where
    ``where`` holds (``"fiscal_gap:panjin:2030 > 5e8"``), each with coverage and density
    of at least ``density``; runs the sweep first if it is not done.

    >>> found = discover("sweeps/settlement_levers.toml",
    ...                  "fiscal_gap:panjin:2030 > 5e8")  # doctest: +SKIP
    >>> print(found.describe())  # doctest: +SKIP
    """
    from sim.study.design import output_values, parse_output
    from sim.study.discovery import find_boxes, parse_condition

    if not 0 < density <= 1:
        raise StudyError(f"density {density}: allowed: a share in (0, 1]")
    condition = parse_condition(where)
    sweep = _loaded(sweep)
    output = parse_output(condition.output, sweep.scenario)
    folder, experiments, paths = sweep_runs(sweep, out, workers, dask, progress)
    values = output_values(paths, [output])[str(output)].to_numpy()
    x = pd.DataFrame([dict(e.overrides) for e in experiments])
    cases = condition(values)
    found = find_boxes(x, cases, boxes=boxes, min_density=density)
    rows = [{"box": i, "coverage": b.coverage, "density": b.density, "mass": b.mass, **r}
            for i, b in enumerate(found, start=1) for r in b.limits.to_dict("records")]
    n = 1
    while (folder / f"discovery-{n}.csv").exists():
        n += 1
    table = folder / f"discovery-{n}.csv"
    pd.DataFrame(rows).assign(condition=str(condition)).to_csv(table, index=False)
    return Discovery(str(condition), int(np.sum(cases)), len(cases),
                     (float(values.min()), float(values.max())), found, table)
