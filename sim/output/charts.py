"""Budget-planning charts of a run: PNG for slides (SVG for print on request).

`write_charts` draws every chart whose indicators the run holds and skips the
others. Each chart stands on its own: a title, units on the value axis, a legend
outside the plotting area, the 2016 start of the reform marked, and a source
note naming the scenario, the scale, the number of runs and the price base
(2015). With several replicates a line is the mean and the shaded band spans
the lowest to highest run (5th–95th percentile from 20 runs on); stacked bars
stack the means. Below scale 0.2 every area panel carries a warning: an agent
stands for 1/scale persons, so small changes are noise. The population and
urbanization charts show the observed figures of the validation table as
points.

Example
-------
>>> from sim.output.charts import write_charts
>>> paths = write_charts(indicators, manifest, run_dir / "charts", lang="zh")  # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.areas import load_areas
from sim.output import labels
from sim.output.common import (
    PRICE_BASE_YEAR,
    REFORM_START_YEAR,
    RunContext,
    area_order,
    category_order,
    gap_payers,
    summarize,
    tidy,
)
from sim.output.plotting import (
    PALETTE,
    Scale,
    add_legend,
    chart_style,
    colors,
    finish_axis,
    frame,
    mark_year,
    plot_band,
    save,
    scale_for,
    stacked_bar,
    warn_panel,
)


def source_line(context: RunContext, lang: str, stacked: bool = False,
                money: bool = False) -> str:
    """The source note under a chart: model version, scenario, scale, runs, prices.

    Two lines: where the numbers come from; then the scenario, its scale, the
    runs and how they are summarized (lines with bands, or stacked means), and
    for money the price base.
    """
    runs = context.runs_text(lang)
    if stacked and context.replicates > 1:
        runs = labels.text("runs_stacked", lang, n=context.replicates, seeds=context.seeds)
    text = labels.text("source", lang, version=context.version,
                       scenario=context.scenario_label(lang),
                       scale=context.scale_text(lang), runs=runs)
    return text + (" " + labels.text("prices", lang, year=PRICE_BASE_YEAR) if money else "")


@dataclass(frozen=True)
class Run:
    """What every chart of one run needs besides the data: its context, language and
    observed figures (indicator, area) -> [(year, value)]."""

    context: RunContext
    lang: str
    observed: dict[tuple[str, str], list[tuple[int, float]]]

    def frame(self, n_panels: int, title: str, scale: Scale, kind: str,
              stacked: bool = False) -> tuple[Figure, list[Axes]]:
        """`frame` with the unit in the title and this run's source line."""
        source = source_line(self.context, self.lang, stacked, money=kind == "money")
        return frame(n_panels, scale.titled(title, self.lang), source, self.lang)

    def finish(self, ax: Axes, scale: Scale, area: str, n: int) -> None:
        """Panel title, axes, the reform's start, and the small-scale warning on areas."""
        # The reform is in force from 1 January: the line falls between the end-2015
        # state (or the 2015 bar) and the first year under the reform.
        low, high = ax.get_xlim()
        if low <= REFORM_START_YEAR - 0.5 <= high:
            mark_year(ax, REFORM_START_YEAR - 0.5, labels.text("reform_start", self.lang,
                                                               year=REFORM_START_YEAR))
        finish_axis(ax, scale, self.lang, labels.area(area, self.lang), ylabel=n % 3 == 0)
        if self.context.small_scale() and area != load_areas().city_id:
            warn_panel(ax, labels.text("small_scale_panel", self.lang,
                                       scale=f"{self.context.scale:g}"))


def observed_points(manifest: dict) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """The observed figures of the manifest's validation rows, by (indicator, area).

    Rows for a statistical unit that is not one area (``dawa_district``) have no
    panel of their own and are left out.
    """
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for row in manifest.get("validation") or []:
        if row.get("observed") is not None:
            out.setdefault((row["indicator"], row["area"]), []).append(
                (int(row["year"]), float(row["observed"])))
    return out


@dataclass(frozen=True)
class _Series:
    indicator: str
    label: str
    color: str
    linestyle: str = "-"
    categories: tuple[str, ...] | None = None    # these breakdowns only; None: all

    def rows(self, df: pd.DataFrame) -> pd.DataFrame:
        return df if self.categories is None else df[df["category"].isin(self.categories)]


def _line_multiples(df: pd.DataFrame, run: Run, title: str, series: Sequence[_Series],
                    bars: _Series | None = None) -> Figure | None:
    """One panel per area (city first) with a line per series and optional bars."""
    drawn = [*series, *([bars] if bars else [])]
    sub = pd.concat([s.rows(df[df["indicator"] == s.indicator]) for s in drawn])
    if sub.empty:
        return None
    areas = area_order(sub["area"].unique())
    kind = labels.kind(drawn[0].indicator)
    per_rep = sub.groupby(["replicate", "year", "area", "indicator"])["value"].sum()
    scale = scale_for(kind, per_rep.to_numpy())
    fig, axes = run.frame(len(areas), title, scale, kind)
    for n, (ax, area) in enumerate(zip(axes, areas, strict=True)):
        if bars is not None:
            stats = summarize(bars.rows(sub), bars.indicator, area)
            years = stats["year"].to_numpy(float)
            # One collection, not `Axes.bar`'s patch per bar (a fifth of the chart's
            # time); the same pixels: rising from 0 with no margin below, as bars do.
            stacked_bar(ax, years, stats["mean"].to_numpy() / scale.factor,
                        np.zeros(len(years)), bars.color, bars.label, width=0.7,
                        alpha=0.45).sticky_edges.y.append(0)
            ax.axhline(0, color="0.3", lw=0.6)
        for s in series:
            stats = summarize(s.rows(sub), s.indicator, area)
            if not stats.empty:
                plot_band(ax, stats, scale, s.label, s.color, s.linestyle)
            points = run.observed.get((s.indicator, area), [])
            if points:
                years, values = zip(*points, strict=True)
                ax.scatter(years, np.array(values) / scale.factor, s=22, marker="D",
                           facecolor="white", edgecolor=s.color, lw=1.3, zorder=5,
                           label=labels.text("observed", run.lang))
        run.finish(ax, scale, area, n)
    add_legend(fig, axes, last=bars.label if bars else None)  # where Axes.bar put them
    return fig


def _stacked_multiples(df: pd.DataFrame, run: Run, title: str,
                       indicator: str) -> Figure | None:
    """One panel per area (city first): yearly bars stacked by category (means)."""
    sub = df[(df["indicator"] == indicator) & (df["category"] != "")]
    if sub.empty:
        return None
    areas = area_order(sub["area"].unique())
    cats = category_order(indicator, sub["category"].unique())
    kind = labels.kind(indicator)
    totals = sub.groupby(["replicate", "year", "area"])["value"].sum()
    scale = scale_for(kind, totals.to_numpy())
    fig, axes = run.frame(len(areas), title, scale, kind, stacked=True)
    for n, (ax, area) in enumerate(zip(axes, areas, strict=True)):
        stats = summarize(sub, indicator, area, by_category=True)
        table = stats.pivot(index="year", columns="category", values="mean")
        table = table.reindex(columns=cats).fillna(0.0) / scale.factor
        bottom = np.zeros(len(table))
        for cat, color in zip(cats, colors(len(cats)), strict=True):
            stacked_bar(ax, table.index.to_numpy(float), table[cat].to_numpy(), bottom.copy(),
                        color, labels.category(indicator, cat, run.lang))
            bottom += table[cat].to_numpy()
        # Zero-height segments on top of a stack would pin the axis to the tallest bar.
        if len(bottom) and bottom.max() > 0:
            ax.set_ylim(0, bottom.max() * 1.05)
        run.finish(ax, scale, area, n)
    add_legend(fig, axes, reverse=True)
    return fig


CHARTS = ("population", "urbanization", "settlements", "residence_permits",
          "cost_by_service", "cost_by_payer", "fiscal_gap")
# The order the workers take the charts in: longest first, so that two workers finish
# together (CPU s per chart at scale 1.0 and 0.1, one and five replicates, 20:03–20:05 UTC
# 28 Nov: fiscal gap 1.15–1.25, cost by service 1.20–1.31, population 1.07–1.24, the
# others 0.72–0.89); saves ~0.2 s of the seven charts' ~3.8 s on two workers.
_LONGEST_FIRST = ("cost_by_service", "fiscal_gap", "population", "settlements",
                  "cost_by_payer", "urbanization", "residence_permits")


def write_charts(indicators: pd.DataFrame, manifest: dict, out_dir: Path,
                 lang: str = "en", formats: Sequence[str] = ("png",),
                 progress: Callable[[Path], None] | None = None,
                 workers: int | None = None,
                 meanwhile: Callable[[], object] | None = None) -> list[Path]:
    """Write the budget-planning charts of one run; return the paths, in chart order.

    ``formats`` are file types matplotlib writes (``"png"``, ``"svg"``); PNG only by
    default, since SVG takes as long again. ``progress`` is called with each file
    as it is written. Charts are drawn in ``workers`` processes (default: one per
    CPU, at most one per chart; 1 draws in this process); ``meanwhile`` is work for
    this process while they draw (the command line writes the workbook). Charts
    whose indicators the run lacks are skipped. ``lang`` is ``"en"`` or ``"zh"``.

    >>> write_charts(pd.read_csv(run / "indicators.csv"), manifest,
    ...              run / "charts", formats=("png", "svg"))  # doctest: +SKIP
    [PosixPath('.../charts/population.png'), PosixPath('.../charts/population.svg'), ...]
    """
    labels.check_lang(lang)
    df = tidy(indicators)
    workers = min(workers or os.cpu_count() or 1, len(CHARTS))
    jobs = [(df, manifest, Path(out_dir), lang, tuple(formats), stem) for stem in CHARTS]
    done: dict[str, list[Path]] = {}
    if workers == 1:
        if meanwhile is not None:
            meanwhile()
        for job in jobs:
            done[job[-1]] = _draw_one(*job)
            for path in done[job[-1]]:
                if progress is not None:
                    progress(path)
    else:
        # Fork where the platform has it: a worker starts at once with everything
        # imported (Mesa makes "spawn" the default, which re-imports the package in
        # every worker, seconds of CPU each).
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_draw_one, *job): job[-1]
                       for job in sorted(jobs, key=lambda job: _LONGEST_FIRST.index(job[-1]))}
            if meanwhile is not None:
                meanwhile()
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                for path in done[futures[future]]:
                    if progress is not None:
                        progress(path)
    return [path for stem in CHARTS for path in done[stem]]


def _draw_one(df: pd.DataFrame, manifest: dict, out_dir: Path, lang: str,
              formats: tuple[str, ...], stem: str) -> list[Path]:
    """Draw and save one chart of `CHARTS` (in a worker process); [] if the run lacks it."""
    with chart_style(lang):
        fig = _chart_builders(df, manifest, lang)[stem]()
        return [] if fig is None else save(fig, out_dir, stem, formats)


def draw_chart(indicators: pd.DataFrame, manifest: dict, name: str,
               lang: str = "en") -> Figure | None:
    """One chart of `write_charts` as a matplotlib figure (for notebooks); None when the
    run lacks its indicators. ``name`` is one of `CHARTS`."""
    labels.check_lang(lang)
    if name not in CHARTS:
        raise ValueError(f"unknown chart {name!r}; charts: {', '.join(CHARTS)}")
    with chart_style(lang):
        return _chart_builders(tidy(indicators), manifest, lang)[name]()


def _chart_builders(df: pd.DataFrame, manifest: dict, lang: str
                    ) -> dict[str, Callable[[], Figure | None]]:
    """Each chart of `CHARTS` by name, as a function drawing it (None: no data), from the
    tidy indicators ``df``."""
    context = RunContext.of(manifest, int(df["replicate"].nunique()) if len(df) else 1, lang)
    run = Run(context, lang, observed_points(manifest))

    def s(indicator: str, color: int, linestyle: str = "-", label: str = "",
          categories: tuple[str, ...] | None = None) -> _Series:
        return _Series(indicator, label or labels.indicator(indicator, lang), PALETTE[color],
                       linestyle, categories)

    def has(indicator: str, category: str = "") -> bool:
        return bool(((df["indicator"] == indicator)
                     & (df["category"] == category if category else True)).any())

    # Clause 十六: the model's fiscal gap is the incremental cost borne by the payers
    # of `fiscal.gap_payers` minus the linkage transfer; draw those two lines when the
    # run has them, so that the gap bars are the distance between the lines.
    transfer = (s("transfer_payment", 2, label=labels.text("transfer_linkage", lang),
                  categories=("linkage",)) if has("transfer_payment", "linkage")
                else s("transfer_payment", 2, label=labels.text("transfer_total", lang)))
    payers = gap_payers(manifest)
    incremental = (
        s("incremental_cost_by_payer", 5, categories=tuple(payers),
          label=labels.text("incremental_borne", lang, payers=labels.text("and", lang).join(
              labels.category("incremental_cost_by_payer", p, lang) for p in payers)))
        if payers and has("incremental_cost_by_payer")
        else s("incremental_cost", 5, label=labels.text("incremental_total", lang)))

    def title(key: str) -> str:
        return labels.text(key, lang)

    charts = {
        "population": lambda: _line_multiples(
            df, run, title("title_population"),
            [s("resident_population", 0), s("registered_population", 1),
             s("resident_urban_population", 0, "--"), s("registered_urban_population", 1, "--")]),
        "urbanization": lambda: _line_multiples(
            df, run, title("title_urbanization"),
            [s("resident_urbanization_rate", 0, label=title("rate_resident")),
             s("registered_urbanization_rate", 1, label=title("rate_registered"))]),
        "settlements": lambda: _stacked_multiples(
            df, run, title("title_settlements"), "settlements"),
        "residence_permits": lambda: _line_multiples(
            df, run, title("title_permits"), [s("residence_permit_holders", 2)]),
        "cost_by_service": lambda: _stacked_multiples(
            df, run, title("title_cost_service"), "public_service_cost"),
        "cost_by_payer": lambda: _stacked_multiples(
            df, run, title("title_cost_payer"), "public_service_cost_by_payer"),
        "fiscal_gap": lambda: _line_multiples(
            df, run, title("title_fiscal_gap"), [transfer, incremental],
            bars=s("fiscal_gap", 7, label=labels.text("gap_legend", lang))),
    }
    return charts
