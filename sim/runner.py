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

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.areas import load_areas
from sim.model import UrbanizationModel
from sim.pipeline.indicators import COLUMNS
from sim.scenario import Scenario
from sim.validation import validation_table


class RunFolderError(Exception):
    """The output folder cannot be used (it holds an earlier run, or cannot be made)."""


def replicate_seeds(root_seed: int, replicates: int) -> list[np.random.SeedSequence]:
    """One independent seed sequence per replicate, spawned from the root seed."""
    return np.random.SeedSequence(root_seed).spawn(replicates)


def _run_one(scenario: Scenario, replicate: int, seed: np.random.SeedSequence,
             progress: bool) -> tuple[list[tuple], list[dict]]:
    model = UrbanizationModel(scenario, replicate=replicate, seed=seed)
    total = scenario.run.end_year - model.year
    started = time.perf_counter()

    def report(m: UrbanizationModel) -> None:
        done = total - (scenario.run.end_year - m.year)
        print(f"  replicate {replicate + 1}/{scenario.run.replicates}  year {m.year}  "
              f"[{done}/{total}]  {time.perf_counter() - started:5.1f} s",
              file=sys.stderr, flush=True)

    model.run(progress=report if progress else None)
    frame = model.indicators()
    return list(frame.itertuples(index=False, name=None)), model.population_fit.rows


def run_replicates(scenario: Scenario, workers: int = 1,
                   progress: bool = False) -> tuple[pd.DataFrame, list[list[dict]]]:
    """Run every replicate; returns the indicator table and each replicate's fit report."""
    seeds = replicate_seeds(scenario.run.seed, scenario.run.replicates)
    jobs = [(scenario, r, seed, progress) for r, seed in enumerate(seeds)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            results = list(pool.map(_run_one, *zip(*jobs, strict=True)))
    else:
        results = [_run_one(*job) for job in jobs]
    rows = [row for rep_rows, _ in results for row in rep_rows]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return sort_indicators(frame), [fit for _, fit in results]


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


def execute(scenario: Scenario, workers: int = 1, progress: bool = True,
            lang: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run every replicate of the scenario; returns the indicator table and the manifest
    (`sim.run` and ``hukou-sim run`` both start here; `write_folder` writes them)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    frame, population_fits = run_replicates(scenario, workers=workers, progress=progress)
    wall = time.perf_counter() - t0
    validation = validation_table(frame)
    manifest = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "extends_chain": list(scenario.chain),
        "version": package_version(),
        "git_commit": git_commit(),
        "seed": scenario.run.seed,
        "seeds": [{"replicate": r, "entropy": s.entropy, "spawn_key": list(s.spawn_key)}
                  for r, s in enumerate(replicate_seeds(scenario.run.seed,
                                                        scenario.run.replicates))],
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
    return frame, manifest


def write_folder(folder: Path, frame: pd.DataFrame, manifest: dict[str, Any],
                 extras: Callable[[pd.DataFrame, dict, Path], None] | None = None) -> None:
    """Write a run folder from a finished run: ``indicators.csv``, ``validation.csv``,
    ``manifest.json``, then ``extras(frame, manifest, folder)`` (charts, workbook)."""
    frame.to_csv(folder / "indicators.csv", index=False)
    validation_table(frame).to_csv(folder / "validation.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                                     default=_json_default), encoding="utf-8")
    if extras is not None:
        extras(frame, manifest, folder)


def write_run(scenario: Scenario, folder: Path, workers: int = 1, progress: bool = True,
              lang: str | None = None, extras: Callable[[pd.DataFrame, dict, Path], None]
              | None = None) -> dict[str, Any]:
    """Run the scenario and write its run folder; returns the manifest."""
    frame, manifest = execute(scenario, workers=workers, progress=progress, lang=lang)
    write_folder(folder, frame, manifest, extras)
    return manifest


def _json_default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serializable: {type(v).__name__}")
