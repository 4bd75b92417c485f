"""The verbs of ``hukou-sim`` from Python: `run`, `compare`, `explain` (exposed as ``sim.run``
and so on; see `sim`).

Each takes the options of its command, under the same names (``seed``, ``scale``, ``start``,
``end``, ``replicates``, ``workers``, ``lang``), and gives the same numbers: ``sim.run`` and
``hukou-sim run`` with the same scenario and options write byte-identical
``indicators.csv`` files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.agents import Explanation
from sim.results import Results
from sim.scenario import Scenario, load_scenario

ScenarioLike = Scenario | str | Path


def _scenario(scenario: ScenarioLike, overrides: Mapping[str, Any] | None = None,
              **options: Any) -> Scenario:
    """The scenario (a `Scenario` or a file) with parameter ``overrides`` (dotted name →
    value) and the command line's run options (`sim.cli.RUN_OPTIONS`: seed, scale, start,
    end, replicates, calibration) applied; None leaves an option as the scenario has it."""
    from sim.cli import RUN_OPTIONS

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    unknown = set(options) - set(RUN_OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(sorted(unknown))}; run options: "
                        f"{', '.join(RUN_OPTIONS)}")
    changes = dict(overrides or {})
    changes |= {RUN_OPTIONS[k]: v for k, v in options.items() if v is not None}
    return scenario.with_overrides(changes) if changes else scenario


def run(scenario: ScenarioLike, *, seed: int | None = None, replicates: int | None = None,
        scale: float | None = None, start: int | None = None, end: int | None = None,
        calibration: str | None = None, overrides: Mapping[str, Any] | None = None,
        workers: int = 1,
        dask: str | None = None, posterior: int | None = None,
        posterior_file: str | Path | None = None, population: str | Path | None = None,
        id_key: str | Path | None = None, progress: bool = False,
        lang: str | None = None) -> Results:
    """Run a scenario (all its replicates) and return the `Results` — ``hukou-sim run``
    without writing a folder (``results.to_folder()`` writes it).

    ``scenario`` is a scenario file or a loaded `Scenario`; ``overrides`` sets parameters by
    dotted name (``{"policy.urban_district.insurance_years": 3}``); the other options are
    those of the command: ``calibration`` the calibration set (``"forecast"``, the
    default, or ``"backtest"``: its ``validation`` scores 2021–2023 out of sample),
    ``workers`` processes or ``dask`` (``"local"`` or a scheduler's
    ``"tcp://host:port"``), ``posterior`` draws from the calibration's posterior sample
    (or ``posterior_file``), each run with every replicate; ``population`` a registry
    extract to start from (`docs/population_import.md`; validated and pseudonymized with
    the key ``id_key`` or the default one, `sim.registry.load_population`; ``scale`` does
    not apply). ``progress`` shows a bar.

    >>> res = run("scenarios/reform_2015.toml", scale=0.002, end=2017, replicates=2, seed=3)
    >>> res.indicators.replicate.unique().tolist(), int(res.indicators.year.max())
    ([0, 1], 2017)
    """
    from sim.runner import execute
    from sim.study.posterior import draw_posterior

    s = _scenario(scenario, overrides, seed=seed, replicates=replicates, scale=scale,
                  start=start, end=end, calibration=calibration)
    draws = (None if posterior is None else
             draw_posterior(s, posterior, Path(posterior_file) if posterior_file else None))
    imported = None
    if population is not None:
        from sim.registry import load_population

        imported = load_population(Path(population), Path(id_key) if id_key else None)
    frame, manifest = execute(s, workers=workers, progress=progress, lang=lang, dask=dask,
                              posterior=draws, population=imported)
    return Results(frame, manifest)


def compare(*runs: Results | str | Path, out: str | Path | None = None,
            lang: str = "en") -> pd.DataFrame:
    """Scenarios side by side: for the key indicators of the run summaries
    (`sim.output.common.SUMMARY_INDICATORS`), the city's value per scenario and year — the
    mean over replicates (categories summed; means add up, as in the workbook), the band
    across replicates (``low``, ``high``: 5th–95th percentile, or min–max with fewer than
    20 runs, `sim.output.common.band_quantiles`) and the mean's difference from the first
    run (runs of the same scenario are told apart as ``name (2)``). ``runs`` are `Results` or
    run folders. With ``out`` it also writes the comparison report (HTML, Markdown,
    charts) there, as ``hukou-sim compare --out`` does; every run must then have a folder.

    >>> a = run("scenarios/reform_2015.toml", scale=0.002, end=2016)
    >>> b = run("scenarios/pre_reform.toml", scale=0.002, end=2016)
    >>> table = compare(a, b)
    >>> table.columns.tolist()
    ['scenario', 'indicator', 'year', 'mean', 'low', 'high', 'difference']
    >>> bool((table.query("scenario == 'reform_2015'").difference == 0).all())  # the base
    True
    """
    from sim.output.common import SUMMARY_INDICATORS, summarize
    from sim.output.compare import compare_runs

    loaded = [r if isinstance(r, Results) else Results.from_folder(r) for r in runs]
    if len(loaded) < 2:
        raise ValueError(f"compare needs at least two runs, got {len(loaded)}")
    names = [r.scenario for r in loaded]
    names = [f"{n} ({i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]
    city = _city_id()
    tables = []
    for r, name in zip(loaded, names, strict=True):
        raw = r.indicators.assign(area=r.indicators.area.astype(str),
                                  category=r.indicators.category.astype(str))
        for indicator in SUMMARY_INDICATORS:
            stats = summarize(raw, indicator, city)
            tables.append(stats.assign(scenario=name, indicator=indicator))
    table = pd.concat(tables, ignore_index=True).rename(columns={"lo": "low", "hi": "high"})
    base = table[table.scenario == names[0]].set_index(["indicator", "year"])["mean"]
    table["difference"] = table["mean"] - base.reindex(
        pd.MultiIndex.from_frame(table[["indicator", "year"]])).to_numpy()
    if out is not None:
        missing = [r.scenario for r in loaded if r.folder is None]
        if missing:
            raise ValueError(f"runs without a folder: {', '.join(missing)}; write them first "
                             "with results.to_folder()")
        compare_runs([r.folder for r in loaded], Path(out), lang=lang)
    return table[["scenario", "indicator", "year", "mean", "low", "high", "difference"]]


def _city_id() -> str:
    from sim.areas import load_areas

    return load_areas().city_id


def explain(scenario: ScenarioLike, year: int, person_id: int | None = None, *,
            seed: int | None = None, scale: float | None = None,
            replicate: int = 0) -> Explanation:
    """Why a person can or cannot settle in ``year`` — ``hukou-sim explain``: simulates the
    scenario to that year with the agents of replicate ``replicate`` of ``hukou-sim run``
    (same scale and seed) and explains the person (by default a migrant living in Panjin,
    drawn with the seed). ``print`` the answer for text; it is a dict too. An id that is not
    in the model that year raises ``KeyError`` naming some that are.

    >>> e = explain("scenarios/reform_2015.toml", 2016, scale=0.002)
    >>> e["year"], sorted(e["channels"])
    (2016, ['investment', 'talent', 'town', 'urban_district'])
    """
    from sim.model import UrbanizationModel

    s = _scenario(scenario, seed=seed, scale=scale, end=year)
    model = UrbanizationModel(s, replicate=replicate)  # that replicate's stream of the seed
    model.run()
    persons = model.state.persons
    if person_id is None:
        pool = persons.id[(persons.area >= 0) & (persons.hukou_area < 0)]
        person_id = int(np.random.default_rng(s.run.seed).choice(pool))
    if not (persons.id == person_id).any():
        sample = ", ".join(str(i) for i in persons.id[:: max(1, len(persons) // 5)][:5])
        raise KeyError(f"no agent {person_id} in {year} at this scale and seed (agents in "
                       f"this run include {sample})")
    return model.explain(person_id)
