"""Sweep files (``SWEEP.toml``), their designs, model outputs named on the command line,
and study folders that resume.

A sweep file names a base scenario, the parameters to vary with their ranges, a
design and the replicates per point::

    name = "settlement_levers"                 # default: the file's stem
    scenario = "../scenarios/reform_2015.toml" # relative to this file
    design = "latin_hypercube"                 # or "full_factorial"
    points = 20                                # latin_hypercube: number of points
    levels = 3                                 # full_factorial: levels per numeric parameter
    replicates = 2                             # runs per point (common random numbers)

    [run]                                      # optional: seed, scale, start_year, end_year
    scale = 0.01
    end_year = 2030

    [parameters]                               # dotted names, quoted
    "behaviour.settlement.action_rate" = {}               # bounds: the parameter file's min/max
    "policy.urban_district.insurance_years" = { min = 0, max = 3 }
    "policy.town.enabled" = { values = [false, true] }    # a list of values (any type)

Every parameter is mapped from the unit interval: a float ``lo + u (hi − lo)``, an
int the ``floor``-th integer of ``lo..hi``, a list its ``floor(u k)``-th value; the
same map serves the Latin hypercube (`scipy.stats.qmc.LatinHypercube`, seeded by the
run seed), the factorial grid and SALib's designs (`sim.study.sensitivity`).

Example
-------
>>> p = Parameter("x", "float", lo=0.0, hi=2.0)
>>> p.value(0.25), p.grid(3)
(0.5, [0.0, 1.0, 2.0])
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.areas import load_areas
from sim.experiments import Experiment, concat_experiments, read_experiment, run_experiments
from sim.runner import git_commit, package_version
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.study import StudyError

DESIGNS = ("latin_hypercube", "full_factorial")
RUN_KEYS = ("seed", "scale", "start_year", "end_year")
TOP_KEYS = ("name", "description", "scenario", "design", "points", "levels", "replicates",
            "run", "parameters")
RANGE_KEYS = ("min", "max", "levels", "values")


@dataclass(frozen=True)
class Parameter:
    """A varied parameter: its dotted name, kind (``float``, ``int`` or ``values``) and range."""

    name: str
    kind: str
    lo: float = 0.0
    hi: float = 1.0
    values: tuple[Any, ...] = ()
    levels: int | None = None

    def value(self, u: float) -> Any:
        """The parameter's value at ``u`` in [0, 1] of its range."""
        if self.kind == "float":
            return float(self.lo + u * (self.hi - self.lo))
        if self.kind == "int":
            return int(min(self.lo + math.floor(u * (self.hi - self.lo + 1)), self.hi))
        return self.values[min(math.floor(u * len(self.values)), len(self.values) - 1)]

    def grid(self, levels: int) -> list[Any]:
        """The factorial levels: evenly spaced (floats), every integer when there are at most
        ``levels`` of them, or every listed value."""
        levels = self.levels or levels
        if self.kind == "values":
            return list(self.values)
        if self.kind == "int" and self.hi - self.lo + 1 <= levels:
            return list(range(int(self.lo), int(self.hi) + 1))
        points = np.linspace(self.lo, self.hi, levels)
        if self.kind == "int":
            return sorted({int(round(v)) for v in points})
        return [float(v) for v in points]

    def describe(self) -> str:
        """The range in words, for tables and messages."""
        if self.kind == "values":
            return "one of " + ", ".join(map(str, self.values))
        return f"{self.lo:g} to {self.hi:g}" + (" (integers)" if self.kind == "int" else "")


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the base scenario (run settings applied) and what to vary."""

    name: str
    path: Path
    scenario: Scenario
    parameters: tuple[Parameter, ...]
    design: str = "latin_hypercube"
    points: int = 10
    levels: int = 3
    replicates: int = 1
    description: str = ""
    text: str = field(default="", repr=False)

    def unit_points(self) -> np.ndarray:
        """The Latin hypercube's points in the unit hypercube, one row per point (seeded by
        the run seed, so the design is the same on every call)."""
        sampler = qmc.LatinHypercube(d=len(self.parameters), rng=self.scenario.run.seed)
        return sampler.random(self.points)

    def points_values(self) -> list[dict[str, Any]]:
        """The parameter values of every point of the design, in order."""
        if self.design == "full_factorial":
            grids = [p.grid(self.levels) for p in self.parameters]
            mesh = np.array(np.meshgrid(*[np.arange(len(g)) for g in grids], indexing="ij"))
            index = mesh.reshape(len(grids), -1).T
            return [{p.name: g[i] for p, g, i in zip(self.parameters, grids, row, strict=True)}
                    for row in index.tolist()]
        return values_at(self.parameters, self.unit_points())


def values_at(parameters: tuple[Parameter, ...], unit: np.ndarray) -> list[dict[str, Any]]:
    """Parameter values of each row of a unit-hypercube design."""
    return [{p.name: p.value(u) for p, u in zip(parameters, row, strict=True)}
            for row in unit.tolist()]


def point_experiments(points: list[dict[str, Any]], replicates: int) -> list[Experiment]:
    """Every point × replicate; replicate ``r`` of every point uses stream ``r``."""
    return [Experiment(f"p{i:06d}-r{r:04d}", r, r, tuple(values.items()))
            for i, values in enumerate(points) for r in range(replicates)]


def _spec(scenario: Scenario, name: str) -> Any:
    """A parameter's metadata (type, min, max, choices) from the parameter files."""
    return scenario._specs[name]  # noqa: SLF001 - the scenario module exposes no accessor


def _parameter(file: str, scenario: Scenario, name: str, table: Any) -> Parameter:
    where = f"{file}: parameters.{name}"
    if name not in scenario.parameter_names():
        try:
            scenario.with_overrides({name: 0})
        except ScenarioError as e:
            raise StudyError(f"{where}: {e.problem}") from None
    if not isinstance(table, dict) or set(table) - set(RANGE_KEYS):
        raise StudyError(f"{where}: expected a table with keys among {', '.join(RANGE_KEYS)} "
                         f"(e.g. {{}} or {{ min = 0, max = 1 }}), got {table!r}")
    spec = _spec(scenario, name)
    levels = table.get("levels")
    if levels is not None and (not isinstance(levels, int) or levels < 2):
        raise StudyError(f"{where}: levels: allowed: a whole number >= 2, got {levels!r}")
    if "values" in table:
        values = table["values"]
        if not isinstance(values, list) or not values or set(table) - {"values"}:
            raise StudyError(f"{where}: values: allowed: a non-empty list (alone, without "
                             "min/max/levels)")
        return Parameter(name, "values", values=tuple(values))
    if spec.type not in ("float", "int"):
        raise StudyError(f"{where}: a {spec.type} parameter is swept by listing its values: "
                         "{ values = [...] }")
    lo, hi = table.get("min", spec.min), table.get("max", spec.max)
    for key, v in (("min", lo), ("max", hi)):
        if v is None:
            raise StudyError(f"{where}: {key}: the parameter file gives no bound; give one "
                             f"in the sweep file ({{ min = ..., max = ... }})")
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise StudyError(f"{where}: {key}: allowed: a number, got {v!r}")
    if not lo < hi:
        raise StudyError(f"{where}: allowed: min < max, got min {lo}, max {hi}")
    return Parameter(name, spec.type, lo=lo, hi=hi, levels=levels)


def _int(file: str, data: dict, key: str, default: int, least: int) -> int:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise StudyError(f"{file}: {key}: allowed: a whole number >= {least}, got {v!r}")
    return v


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file: the base scenario, run settings and parameter ranges.

    Every point of the design is validated as a scenario before anything runs.
    """
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as e:
        raise StudyError(f"{file}: cannot read the sweep file ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise StudyError(f"{file}: not a valid TOML file saved as UTF-8 ({e})") from None
    for key in data:
        if key not in TOP_KEYS:
            raise StudyError(f"{file}: unknown key {key!r} (allowed: {', '.join(TOP_KEYS)})")
    if not isinstance(data.get("scenario"), str):
        raise StudyError(f"{file}: scenario: required: the base scenario file, relative to "
                         "the sweep file (e.g. \"../scenarios/reform_2015.toml\")")
    scenario = load_scenario(path.parent / data["scenario"])
    run = data.get("run", {})
    if not isinstance(run, dict) or set(run) - set(RUN_KEYS):
        raise StudyError(f"{file}: run: allowed keys: {', '.join(RUN_KEYS)}")
    try:
        scenario = scenario.with_overrides({f"run.{k}": v for k, v in run.items()})
    except ScenarioError as e:
        raise StudyError(f"{file}: {e.field}: {e.problem}") from None
    design = data.get("design", "latin_hypercube")
    if design not in DESIGNS:
        raise StudyError(f"{file}: design: allowed: {', '.join(DESIGNS)}; got {design!r}")
    table = data.get("parameters")
    if not isinstance(table, dict) or not table:
        raise StudyError(f"{file}: parameters: required: a table of the parameters to vary, "
                         "e.g. \"behaviour.settlement.action_rate\" = {}")
    parameters = tuple(_parameter(file, scenario, n, t) for n, t in table.items())
    sweep = Sweep(name=str(data.get("name", path.stem)), path=path, scenario=scenario,
                  parameters=parameters, design=design, points=_int(file, data, "points", 10, 1),
                  levels=_int(file, data, "levels", 3, 2),
                  replicates=_int(file, data, "replicates", 1, 1),
                  description=str(data.get("description", "")), text=text)
    check_points(sweep, sweep.points_values(), file)
    return sweep


def check_points(sweep: Sweep, points: list[dict[str, Any]], file: str) -> None:
    """Refuse a design with a point the scenario would not accept (before anything runs)."""
    for i, values in enumerate(points):
        try:
            sweep.scenario.with_overrides(values)
        except ScenarioError as e:
            raise StudyError(f"{file}: parameters.{e.field}: point {i} "
                             f"({_show(values)}): {e.problem}") from None


def _show(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v:g}" if isinstance(v, float) else
                     f"{k.rsplit('.', 1)[-1]}={v}" for k, v in values.items())


# ------------------------------------------------------------------ outputs

_OUTPUT = re.compile(r"^(?P<indicator>[a-z_]+)(?:/(?P<category>[a-z_]+))?:(?P<area>[a-z_]+)"
                     r":(?P<year>\d{4})$")


@dataclass(frozen=True)
class Output:
    """A scalar model output: ``indicator[/category]:area:year``; without a category the
    indicator's total over its categories."""

    indicator: str
    category: str | None
    area: str
    year: int

    def __str__(self) -> str:
        cat = f"/{self.category}" if self.category else ""
        return f"{self.indicator}{cat}:{self.area}:{self.year}"


def parse_output(text: str, scenario: Scenario) -> Output:
    """Parse and check an output name against the areas, the indicators and the years run.

    >>> from sim.scenario import load_defaults
    >>> str(parse_output("fiscal_gap:panjin:2030", load_defaults()))
    'fiscal_gap:panjin:2030'
    """
    from sim.output.labels import INDICATORS

    m = _OUTPUT.match(text.strip())
    if m is None:
        raise StudyError(f"output {text!r}: allowed form indicator[/category]:area:year, "
                         "e.g. registered_population:panjin:2030 or settlements/town:dawa:2025")
    out = Output(m["indicator"], m["category"], m["area"], int(m["year"]))
    areas = load_areas()
    if out.area not in (*areas.ids, areas.city_id):
        raise StudyError(f"output {text!r}: area {out.area!r}: allowed: "
                         f"{', '.join((*areas.ids, areas.city_id))}")
    if out.indicator not in INDICATORS:
        raise StudyError(f"output {text!r}: unknown indicator {out.indicator!r} (allowed: "
                         f"{', '.join(INDICATORS)})")
    r = scenario.run
    if not r.start_year <= out.year <= r.end_year:
        raise StudyError(f"output {text!r}: year {out.year}: allowed: {r.start_year} to "
                         f"{r.end_year} (the years the study runs)")
    return out


def output_values(paths: list[Path], outputs: list[Output]) -> pd.DataFrame:
    """One row per experiment file, one column per output (read one file at a time)."""
    rows = []
    for path in paths:
        frame = read_experiment(path)
        row = {}
        for out in outputs:
            sel = frame[(frame.indicator == out.indicator) & (frame.area == out.area)
                        & (frame.year == out.year)]
            if out.category is not None:
                sel = sel[sel.category == out.category]
            if sel.empty:
                raise StudyError(f"output {out}: the runs have no such row (check the "
                                 "category)")
            row[str(out)] = float(sel.value.sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=[str(o) for o in outputs])


# ------------------------------------------------------------------- folders

def study_folder(folder: Path, description: dict[str, Any]) -> Path:
    """Create a study folder, or reopen one that holds the same study (to resume it).

    ``description`` (the design, the experiments, the base scenario's parameters and the
    code version) is written to ``study.json``; a folder holding another study, or the
    same study run by other code, is refused.
    """
    record = {**description, "version": package_version(), "git_commit": git_commit()}
    text = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    marker = folder / "study.json"
    if marker.exists():
        old = json.loads(marker.read_text(encoding="utf-8"))
        if old.get("fingerprint") != digest:
            raise StudyError(f"{folder}: holds a different study (another design, scenario "
                             "or code version); give a new --out folder (earlier results "
                             "are never overwritten)")
        return folder
    if folder.exists() and any(folder.iterdir()):
        raise StudyError(f"{folder}: folder already holds files that are not a study; give a "
                         "new --out folder")
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"fingerprint": digest, **json.loads(text)},
                                 ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def sweep_table(sweep: Sweep, experiments: list[Experiment], paths: list[Path],
                out: Path) -> Path:
    """The tidy sweep table: ``point``, one column per varied parameter, then the indicator
    columns; written one experiment at a time."""
    tmp = out.with_name(f".{out.name}.tmp")
    names = [p.name for p in sweep.parameters]
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        for i, (exp, path) in enumerate(zip(experiments, paths, strict=True)):
            frame = concat_experiments([path])
            values = dict(exp.overrides)
            point = int(exp.key[1:exp.key.index("-")])
            head = pd.DataFrame({"point": point, **{n: [values[n]] * len(frame)
                                                    for n in names}})
            pd.concat([head, frame], axis=1).to_csv(f, index=False, header=i == 0)
    tmp.replace(out)
    return out


def run_points(sweep: Sweep, kind: str, points: list[dict[str, Any]], folder: Path,
               workers: int = 1, dask: str | None = None, progress: bool = False
               ) -> tuple[list[Experiment], list[Path]]:
    """Run every point × replicate of a design in a study folder, resuming what is there.

    The folder gets ``study.json`` (the design), a copy of the sweep file, ``points.csv``
    (each point's parameter values) and ``runs/`` (one file per run).
    """
    experiments = point_experiments(points, sweep.replicates)
    study_folder(folder, {"kind": kind, "sweep_file": str(sweep.path), "sweep": sweep.text,
                          "parameters": sweep.scenario.resolved(),
                          "experiments": [[e.key, e.stream, [list(o) for o in e.overrides]]
                                          for e in experiments]})
    copy = folder / "sweep.toml"
    if not copy.exists():
        copy.write_text(sweep.text, encoding="utf-8")
    table = pd.DataFrame(points).rename_axis("point").reset_index()
    table.to_csv(folder / "points.csv", index=False)
    paths = run_experiments(sweep.scenario, experiments, folder / "runs", workers=workers,
                            dask=dask, progress=progress, label=f"{sweep.name} ({kind})")
    return experiments, paths
