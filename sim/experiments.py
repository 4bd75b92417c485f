"""Experiments: model runs of (scenario, parameter values, seed), executed in this process,
by local worker processes or on a Dask cluster, each written to disk as it finishes.

One runner serves ``hukou-sim run --replicates/--posterior``, ``sweep``,
``sensitivity`` and ``discover``. What it guarantees:

- **Results never depend on the executor or the number of workers.** An
  experiment's random stream is fixed by the root seed and its stream number
  (`replicate_seed`), and every experiment goes through the same file, so
  the in-process, process-pool and Dask paths give byte-identical tables.
- **Nothing is lost.** Each finished experiment is written (atomically: a
  temporary file renamed into place) to ``<work>/<key>.csv`` as soon as it
  completes, and the parent keeps only a bounded window of experiments in
  flight, so memory stays flat. A study started again on the same folder skips
  the experiments whose file exists.
- **No orphans.** Local workers are started with the ``spawn`` context (safe
  from Jupyter and from threads) and watch their parent: when it dies, they exit
  (`_exit_with_parent`). Dask's own workers do the same.

Seeds: replicate ``r`` of root seed ``S`` uses
``numpy.random.SeedSequence(S, spawn_key=(r,))`` — the ``r``-th child of
``SeedSequence(S).spawn(n)`` for any ``n``. Points of a sweep share the replicate
streams (common random numbers: the difference between two points is the
parameters', not the dice's).

Example
-------
>>> import tempfile
>>> from sim.scenario import load_defaults
>>> s = load_defaults().with_overrides({"run.scale": 0.002, "run.end_year": 2016})
>>> with tempfile.TemporaryDirectory() as work:
...     paths = run_experiments(s, replicate_experiments(2), Path(work))
...     sorted(read_experiment(paths[1]).replicate.unique().tolist())
[1]
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.model import UrbanizationModel, replicate_seed
from sim.pipeline.indicators import COLUMNS
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.registry import ImportedPopulation

DASK_LOCAL = "local"


@dataclass(frozen=True)
class Experiment:
    """One model run: parameter overrides (dotted name → value) on the study's scenario.

    ``key`` names its file (unique in a study), ``replicate`` is written to the
    ``replicate`` column, ``stream`` picks its random stream (`replicate_seed`).
    """

    key: str
    replicate: int
    stream: int
    overrides: tuple[tuple[str, Any], ...] = field(default=())

    def scenario(self, base: Scenario) -> Scenario:
        """The base scenario with this experiment's overrides."""
        return base.with_overrides(dict(self.overrides)) if self.overrides else base


def replicate_experiments(replicates: int) -> list[Experiment]:
    """Replicates ``0 .. replicates-1`` of the scenario as it is (``hukou-sim run``)."""
    return [Experiment(f"r{r:05d}", r, r) for r in range(replicates)]


def simulate(base: Scenario, experiment: Experiment,
             progress: Callable[[float], None] | None = None,
             population: ImportedPopulation | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Run one experiment (from ``population``, a registry extract, when given); returns
    its indicator table and the synthesis fit report.

    ``progress(share)`` is called after each simulated year with the share of the run
    done so far (1.0 after the last year).
    """
    scenario = experiment.scenario(base)
    model = UrbanizationModel(scenario, replicate=experiment.replicate,
                              seed=replicate_seed(scenario.run.seed, experiment.stream),
                              population=population)
    first, last = model.year, scenario.run.end_year
    report = None
    if progress is not None and last > first:
        def report(m: UrbanizationModel) -> None:
            progress((m.year - first) / (last - first))
    model.run(progress=report)
    return model.indicators(), model.population_fit.rows


# ------------------------------------------------------------------- storage

def experiment_path(work: Path, experiment: Experiment) -> Path:
    """Where an experiment's indicator table is stored."""
    return work / f"{experiment.key}.csv"


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def store_experiment(work: Path, experiment: Experiment, frame: pd.DataFrame,
                     fit: list[dict]) -> Path:
    """Write a finished experiment: its fit report, then its table (whose presence marks it
    done); each file is complete or absent."""
    path = experiment_path(work, experiment)
    _write_atomic(path.with_suffix(".fit.json"),
                  lambda p: p.write_text(json.dumps(fit, default=_plain), encoding="utf-8"))
    _write_atomic(path, lambda p: frame.to_csv(p, index=False))
    return path


def read_experiment(path: Path) -> pd.DataFrame:
    """An experiment's indicator table, exactly as computed (pandas 3 reads floats
    round-trip)."""
    return pd.read_csv(path, dtype={"scenario": str, "area": str, "indicator": str,
                                    "category": str, "replicate": "int64", "year": "int64"},
                       keep_default_na=False, na_values={"value": [""]})


def read_fit(path: Path) -> list[dict]:
    """The synthesis fit report stored beside an experiment's table."""
    return json.loads(path.with_suffix(".fit.json").read_text(encoding="utf-8"))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON-serializable: {type(v).__name__}")


# ----------------------------------------------------------------- executors

def _exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: exit as soon as the process that started the pool is gone.

    A killed parent (SIGKILL, a crashed notebook kernel) cannot tell its pool to stop,
    and the workers would wait for work forever; a daemon thread polls the parent id.
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _local_pool(base: Scenario, todo: list[Experiment], workers: int, window: int,
                population: ImportedPopulation | None = None
                ) -> Iterator[tuple[Experiment, tuple[pd.DataFrame, list[dict]]]]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        pending: dict[Future, Experiment] = {}
        queue = iter(todo)
        try:
            while True:
                for exp in queue:
                    pending[pool.submit(simulate, base, exp, None, population)] = exp
                    if len(pending) >= window:
                        break
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _dask(base: Scenario, todo: list[Experiment], workers: int, window: int, address: str,
          population: ImportedPopulation | None = None
          ) -> Iterator[tuple[Experiment, tuple[pd.DataFrame, list[dict]]]]:
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == DASK_LOCAL:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = Client(address, timeout="20s")
    try:
        scenario = client.scatter(base, broadcast=True)
        imported = None if population is None else client.scatter(population, broadcast=True)
        queue = iter(todo)
        futures = {client.submit(simulate, scenario, exp, None, imported, pure=False): exp
                   for exp in itertools.islice(queue, window)}
        completed = as_completed(list(futures))
        for future in completed:
            exp = futures.pop(future)
            result = future.result()
            future.release()
            nxt = next(queue, None)
            if nxt is not None:
                new = client.submit(simulate, scenario, nxt, None, imported, pure=False)
                futures[new] = nxt
                completed.add(new)
            yield exp, result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def executor_name(workers: int, dask: str | None) -> str:
    """How a study's experiments were executed, for its manifest."""
    if dask is not None:
        return f"dask {dask}" + (f", {workers} worker(s)" if dask == DASK_LOCAL else "")
    return "this process" if workers <= 1 else f"{workers} local processes"


def run_experiments(base: Scenario, experiments: Sequence[Experiment], work: Path,
                    workers: int = 1, dask: str | None = None, progress: bool = False,
                    label: str = "runs", population: ImportedPopulation | None = None
                    ) -> list[Path]:
    """Run every experiment not yet stored in ``work``; returns the stored paths in order.

    ``workers`` processes (1: in this process) or, with ``dask``, a Dask cluster:
    ``"local"`` starts a `LocalCluster` of ``workers`` processes, ``"tcp://host:port"``
    uses a running scheduler. A progress bar (stderr) shows runs done and time left.
    """
    work.mkdir(parents=True, exist_ok=True)
    keys = [e.key for e in experiments]
    if len(set(keys)) != len(keys):
        raise ValueError("experiment keys must be unique")
    for stale in work.glob(".*.tmp"):  # a write cut short by a killed study
        stale.unlink(missing_ok=True)
    todo = [e for e in experiments if not experiment_path(work, e).exists()]
    bar = tqdm(total=len(experiments), initial=len(experiments) - len(todo), unit="run",
               desc=label, file=sys.stderr, disable=not progress, dynamic_ncols=True,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total} runs "
                          "[{elapsed}<{remaining}]")
    try:
        if dask is None and (workers <= 1 or len(todo) <= 1) or not todo:
            for done, exp in enumerate(todo, start=bar.n):
                # Set, not add, the year's share: sums of 1/years overshoot 1.0 and tqdm
                # then warns that it clamps the bar.
                def advance(share: float, done: int = done) -> None:
                    bar.n = done + share
                    bar.refresh()

                frame, fit = simulate(base, exp, progress=advance if progress else None,
                                      population=population)
                store_experiment(work, exp, frame, fit)
                advance(1.0)
        else:
            window = 2 * max(workers, 1)
            results = (_dask(base, todo, workers, window, dask, population) if dask is not None
                       else _local_pool(base, todo, min(workers, len(todo)), window, population))
            for exp, (frame, fit) in results:
                store_experiment(work, exp, frame, fit)
                bar.update(1)
    finally:
        bar.close()
    return [experiment_path(work, e) for e in experiments]


def concat_experiments(paths: Sequence[Path]) -> pd.DataFrame:
    """The stored tables of several experiments, in the given order."""
    return pd.concat([read_experiment(p) for p in paths], ignore_index=True)[list(COLUMNS)]
