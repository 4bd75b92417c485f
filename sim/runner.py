"""Running a scenario: replicates, worker processes, and the run folder.

A run folder holds ``indicators.csv``, ``validation.csv``, ``manifest.json``,
``charts/`` and ``budget.xlsx``. It is never written over: a new run gets a
new folder, and an explicit ``--out`` that already holds files is refused.

Replicates draw independent random streams from the root seed
(`numpy.random.SeedSequence.spawn`), so the output is the same whatever the
number of worker processes.

Example
-------
>>> from sim.scenario import load_defaults
>>> s = load_defaults().with_overrides({"run.scale": 0.002, "run.end_year": 2016})
>>> frame, population_fits = run_replicates(s)
>>> sorted(frame.year.unique().tolist())
[2015, 2016]
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.experiments import (
    Experiment,
    concat_experiments,
    executor_name,
    read_fit,
    replicate_experiments,
    replicate_seed,
    run_experiments,
)
from sim.scenario import Scenario
from sim.study.posterior import PosteriorDraws
from sim.study.summary import summarize
from sim.validation import validation_table


class RunFolderError(Exception):
    """The output folder cannot be used (it holds an earlier run, or cannot be made)."""


def replicate_seeds(root_seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replicate (`sim.experiments.replicate_seed`)."""
    return [replicate_seed(root_seed, r) for r in range(replicates)]


def run_replicates(scenario: Scenario, workers: int = 1, progress: bool = False,
                   dask: str | None = None, experiments: list[Experiment] | None = None,
                   work: Path | None = None) -> tuple[pd.DataFrame, list[list[dict]]]:
    """Run every replicate (or the given experiments, e.g. posterior draws); returns the
    indicator table and each run's fit report.

    Runs go through `sim.experiments.run_experiments` (``workers`` processes or a Dask
    cluster, see there); each is stored in ``work`` (default: a temporary folder) as
    it finishes, so the table never depends on the executor.
    """
    if experiments is None:
        experiments = replicate_experiments(scenario.run.replicates)
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hukou-sim-")))
        paths = run_experiments(scenario, experiments, work, workers=workers, dask=dask,
                                progress=progress, label=scenario.name)
        frame = sort_indicators(concat_experiments(paths))
        fits = [read_fit(p) for p in paths]
    return frame, fits


def sort_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order: replicate, year, area (file order, city last), indicator, category."""
    areas = load_areas()
    order = {a: i for i, a in enumerate((*areas.ids, areas.city_id))}
    key = frame.area.map(order)
    frame = frame.assign(_area=key).sort_values(
        ["replicate", "year", "_area", "indicator", "category"], kind="stable")
    return frame.drop(columns="_area").reset_index(drop=True)


def new_run_folder(scenario_name: str, out: Path | None, root: Path = Path("results")) -> Path:
    """The folder for a new run; refuses one that already holds files."""
    if out is not None:
        if out.exists() and any(out.iterdir()):
            raise RunFolderError(f"{out}: folder already holds files; give a new --out folder "
                                 "(earlier runs are never overwritten)")
        folder = out
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = root / scenario_name / stamp
        n = 1
        while folder.exists():
            n += 1
            folder = root / scenario_name / f"{stamp}-{n}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunFolderError(f"{folder}: cannot create the run folder ({e.strerror})") from None
    return folder


def git_commit() -> str | None:
    """The commit of the source tree this package runs from, when it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_version() -> str:
    try:
        return metadata.version("hukou-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def write_run(scenario: Scenario, folder: Path, workers: int = 1, progress: bool = True,
              lang: str | None = None, extras: Callable[[pd.DataFrame, dict, Path], None]
              | None = None, dask: str | None = None,
              posterior: PosteriorDraws | None = None) -> dict[str, Any]:
    """Run the scenario and write its run folder; returns the manifest.

    With several runs (replicates, or ``posterior`` draws × replicates) it also writes
    ``indicators_summary.csv`` (`sim.study.summary.summarize`).
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    experiments = (posterior.experiments if posterior is not None
                   else replicate_experiments(scenario.run.replicates))
    frame, population_fits = run_replicates(scenario, workers=workers, progress=progress,
                                            dask=dask, experiments=experiments)
    wall = time.perf_counter() - t0
    frame.to_csv(folder / "indicators.csv", index=False)
    if len(experiments) > 1:
        summarize(frame).to_csv(folder / "indicators_summary.csv", index=False)
    validation = validation_table(frame)
    validation.to_csv(folder / "validation.csv", index=False)
    manifest = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "extends_chain": list(scenario.chain),
        "version": package_version(),
        "git_commit": git_commit(),
        "seed": scenario.run.seed,
        "seeds": [{"replicate": e.replicate, "entropy": seed.entropy,
                   "spawn_key": list(seed.spawn_key)}
                  for e in experiments
                  for seed in [replicate_seed(scenario.run.seed, e.stream)]],
        "runs": len(experiments),
        "posterior": None if posterior is None else posterior.record,
        "executor": executor_name(workers, dask),
        "replicates": scenario.run.replicates,
        "scale": scenario.run.scale,
        "start_year": scenario.run.start_year,
        "end_year": scenario.run.end_year,
        "workers": workers,
        "lang": lang or scenario.lang,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_seconds": round(wall, 3),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "population_fit": population_fits[0],
        "validation": validation.astype(object).where(validation.notna(), None)
                                .to_dict(orient="records"),
        "parameters": scenario.resolved(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                                     default=_json_default), encoding="utf-8")
    if extras is not None:
        extras(frame, manifest, folder)
    return manifest


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serializable: {type(v).__name__}")
