"""`Results`: one finished run (all its replicates), in memory or read from a run folder.

`sim.run` returns it; `Results.from_folder` reads what ``hukou-sim run`` wrote, and
`Results.to_folder` writes the same folder the command line writes (the same writer,
`sim.runner.write_folder`, with the charts and the workbook).

Example
-------
>>> import sim, tempfile
>>> res = sim.run("scenarios/reform_2015.toml", scale=0.002, end=2016)
>>> res.indicators.query("indicator == 'settlements' and area == 'panjin'").category.tolist()
['investment', 'talent', 'town', 'urban_district', 'urban_village']
>>> with tempfile.TemporaryDirectory() as d:
...     again = sim.Results.from_folder(res.to_folder(f"{d}/run"))
>>> again.indicators.equals(res.indicators)
True
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.areas import load_areas
from sim.pipeline.indicators import COLUMNS


def typed_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """The tidy indicator table with typed columns: ``area`` an ordered categorical (the
    areas of ``areas.toml``, then the city), ``scenario``, ``indicator`` and ``category``
    categoricals — a row without a breakdown has the category ``""``, never a missing
    value, also after a CSV round trip — ``replicate`` and ``year`` integers, ``value`` a
    float."""
    areas = load_areas()
    frame = frame[list(COLUMNS)]
    return pd.DataFrame({
        "scenario": frame.scenario.astype(str).astype("category"),
        "replicate": frame.replicate.astype("int64"),
        "year": frame.year.astype("int64"),
        "area": pd.Categorical(frame.area, categories=[*areas.ids, areas.city_id],
                               ordered=True),
        "indicator": frame.indicator.astype("category"),
        "category": frame.category.fillna("").astype(str).astype("category"),
        "value": frame.value.astype("float64"),
    })


def _show_figures_in_jupyter() -> None:
    """In a Jupyter kernel, show a figure that a cell returns as a PNG image, as
    ``%matplotlib inline`` does: the charts are drawn without pyplot, whose import would
    otherwise set this up."""
    if "ipykernel" not in sys.modules:
        return
    from IPython import get_ipython
    from IPython.core.pylabtools import select_figure_formats

    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"})


class Results:
    """The indicators, validation and manifest of a run, with its charts.

    Attributes
    ----------
    indicators : the tidy table of ``indicators.csv`` (`typed_indicators`).
    manifest : what ``manifest.json`` holds: scenario, seeds, every resolved parameter ...
    folder : the run folder it was read from or written to, else None.
    """

    def __init__(self, indicators: pd.DataFrame, manifest: dict[str, Any],
                 folder: Path | None = None) -> None:
        self._raw = indicators  # as the runner made it: to_folder writes exactly this
        self.indicators = typed_indicators(indicators)
        self.manifest = manifest
        self.folder = folder

    def __repr__(self) -> str:
        m = self.manifest
        years = self.indicators.year
        where = f", folder {self.folder}" if self.folder else ""
        return (f"<Results {m.get('scenario')}: {years.min()}–{years.max()}, scale "
                f"{m.get('scale')}, {self.indicators.replicate.nunique()} replicate(s), "
                f"seed {m.get('seed')}{where}>")

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return str(self.manifest.get("scenario"))

    @property
    def summary(self) -> pd.DataFrame:
        """Across runs, per scenario × year × area × indicator × category: the number of
        ``runs``, ``mean``, ``p5``/``p50``/``p95`` (left empty below 20 runs), ``min``,
        ``max`` and what the ``band`` is (`sim.study.summary.summarize`; the run folder's
        ``indicators_summary.csv``). Means add up; the ``total`` category summarizes each
        run's own total."""
        from sim.study.summary import summarize

        return summarize(self._raw)

    @property
    def validation(self) -> pd.DataFrame:
        """Model vs observed figures (`sim.validation.validation_table`, ``validation.csv``)."""
        from sim.validation import fitted_through, validation_table

        return validation_table(self._raw, fitted_through(self.manifest))

    def city(self, indicator: str) -> pd.DataFrame:
        """One indicator for the whole city: a year × category table of the mean over
        replicates (one column ``""`` when it has no breakdown; means add up, so the
        categories sum to the total)."""
        sel = self.indicators[(self.indicators.indicator == indicator)
                              & (self.indicators.area == load_areas().city_id)]
        if sel.empty:
            raise KeyError(f"no indicator {indicator!r} in this run; indicators: "
                           f"{', '.join(sorted(self.indicators.indicator.unique()))}")
        return (sel.groupby(["year", "category"], observed=True).value.mean()
                .unstack("category"))

    def total(self, indicator: str, by: str = "category", category: str | None = None,
              years: tuple[int, int] | None = None, by_replicate: bool = False
              ) -> pd.Series | pd.DataFrame:
        """A flow (settlements, cost, transfers …) summed over ``years`` (first, last;
        default: every year after the base year, which has no flows): for the city by
        category (``by="category"``), or by area (``by="area"``: the categories summed, or
        only ``category``). The mean over replicates of each replicate's sum, or with
        ``by_replicate=True`` the sums, one row per replicate."""
        if by not in ("category", "area"):
            raise ValueError(f"by must be 'category' or 'area', got {by!r}")
        ind = self.indicators
        first, last = years or (int(ind.year.min()) + 1, int(ind.year.max()))
        rows = ind[(ind.indicator == indicator) & ind.year.between(first, last)]
        if rows.empty:
            raise KeyError(f"no indicator {indicator!r} in {first}–{last} in this run")
        if by == "category":
            rows = rows[rows.area == load_areas().city_id]
        elif category is not None:
            rows = rows[rows.category == category]
        sums = rows.groupby(["replicate", by], observed=True).value.sum().unstack(by)
        return sums if by_replicate else sums.mean()

    def plot(self, chart: str = "population", lang: str | None = None) -> Figure | None:
        """One of the run's budget-planning charts (`sim.output.charts.draw_chart`):
        ``population``, ``urbanization``, ``settlements``, ``residence_permits``,
        ``cost_by_service``, ``cost_by_payer`` or ``fiscal_gap``; None when the run lacks
        its indicators. ``lang`` is ``en`` or ``zh`` (default: the run's). In Jupyter the
        figure shows as the cell's result; elsewhere ``fig.savefig(path)`` writes it."""
        from sim.output.charts import draw_chart

        _show_figures_in_jupyter()
        return draw_chart(self._raw, self.manifest, chart,
                          lang or self.manifest.get("lang") or "en")

    def to_folder(self, path: str | Path | None = None, money: str = "wan",
                  svg: bool = False) -> Path:
        """Write the run folder ``hukou-sim run`` writes (charts and workbook included;
        ``money`` and ``svg`` as the command's options) and return it: ``path`` (created;
        refused if it holds files) or a new ``results/<scenario>/<time>/``. The folder
        appears complete or not at all (`sim.runner.claim_run_folder`)."""
        from functools import partial

        from sim import output
        from sim.runner import claim_run_folder, write_folder

        extras = partial(output.write_outputs, money=money, svg=svg, quiet=True)
        with claim_run_folder(self.scenario, Path(path) if path is not None else None) as run:
            write_folder(run.path, self._raw, self.manifest, extras)
            run.complete()
        self.folder = run.final
        return run.final

    @classmethod
    def from_folder(cls, path: str | Path) -> Results:
        """Read a finished run folder (``indicators.csv`` and ``manifest.json``); an
        interrupted or incomplete one is refused (`sim.runner.read_manifest`)."""
        from sim.runner import read_manifest

        folder = Path(path)
        manifest = read_manifest(folder)
        frame = pd.read_csv(folder / "indicators.csv", keep_default_na=False,
                            na_values={"value": [""]},
                            dtype={c: str for c in ("scenario", "area", "indicator", "category")})
        return cls(frame, manifest, folder)
